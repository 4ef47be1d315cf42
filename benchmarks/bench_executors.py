"""Executors side by side in one run: codemode in-process, codemode isolated (warm pool), plain
`exec`, smolagents' `LocalPythonExecutor`, and pydantic-monty's worker pool (`AsyncMonty`).

Three plans, each written once and run by every contender over the same Python functions:

- trivial: `1 + 1` (the fixed cost of running anything);
- 20 tool calls in a loop with filtering and aggregation (a typical Code Mode plan);
- CPU-heavy pure-Python work over 10,000 items (no tools).

Contenders are interleaved round-robin, so machine drift hits all of them alike; reported are
medians and p90 per plan, and ratios against codemode in-process. Also measured: the host <->
worker overhead of one tool call, and throughput with 50 plans in flight at once. Last, the
isolated executor's isolation modes side by side (reuse, recycling, single-use forked or
exec'd workers): `python benchmarks/bench_executors.py isolation` runs that section alone.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bare_worker import BareWorker

from codemode_core import CodeMode, Limits, Tool
from codemode_core.sandbox import IsolatedExecutor

ORDERS = [
    {
        "id": i,
        "customer": f"c{i % 7}",
        "total": round(10 + (i * 37) % 200, 2),
        "status": "pending" if i % 3 else "shipped",
    }
    for i in range(40)
]


def get_order(order_id: int) -> dict[str, Any]:
    """Fetch one order."""
    return ORDERS[order_id % len(ORDERS)]


def get_customer(name: str) -> dict[str, Any]:
    """Fetch one customer."""
    return {"name": name, "tier": "gold" if name in ("c1", "c3") else "basic"}


FUNCTIONS = {"get_order": get_order, "get_customer": get_customer}
TOOLS = [Tool.from_function(get_order), Tool.from_function(get_customer)]


@dataclass(frozen=True)
class Plan:
    """One plan, in the dialect each contender accepts: Code Mode awaits `tools.*`; the
    others call the functions by name; all end with the result as the last expression."""

    name: str
    codemode: str

    @property
    def plain(self) -> str:
        return self.codemode.replace("await tools.", "")


PLANS = [
    Plan("trivial", "1 + 1"),
    Plan(
        "20 tool calls + filtering",
        """
totals = {}
for i in range(10):
    order = await tools.get_order(order_id=i)
    customer = await tools.get_customer(name=order["customer"])
    if order["status"] == "pending" and order["total"] > 20:
        key = customer["tier"]
        totals[key] = round(totals.get(key, 0) + order["total"] * 1.1, 2)
totals
""",
    ),
    Plan(
        "CPU: 10k items, pure Python",
        """
items = [(i * 7919) % 10007 for i in range(10000)]
evens = [x for x in items if x % 2 == 0]
buckets = {}
for x in items:
    key = x % 17
    buckets[key] = buckets.get(key, 0) + 1
[sum(x * x for x in evens), max(buckets.values()), sorted(items)[5000]]
""",
    ),
]

Contender = Callable[[Plan], Awaitable[Any]]
FLOOR = "floor: plain exec in a worker (bare)"
"""No sandbox, no checks: one frame out and back per call. What process switches and two
Python processes cost on this machine, which any Python-worker design pays."""


@dataclass
class Field:
    """Contenders by name, and what stopped the ones that could not run."""

    contenders: dict[str, Contender] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


async def _field() -> Field:
    found = Field()
    limits = Limits(timeout=30.0)
    inprocess = CodeMode(TOOLS, executor="inprocess", limits=limits)
    isolated = CodeMode(
        TOOLS, executor=IsolatedExecutor(pool_size=2, plans_per_worker=None), limits=limits
    )
    found.closers += [inprocess.aclose, isolated.aclose]

    async def run_inprocess(plan: Plan) -> Any:
        return _value(await inprocess.run(plan.codemode))

    async def run_isolated(plan: Plan) -> Any:
        return _value(await isolated.run(plan.codemode))

    compiled: dict[str, tuple[Any, Any]] = {}

    async def run_exec(plan: Plan) -> Any:
        if plan.name not in compiled:  # compiled once, as codemode caches its compilation
            *body, last = plan.plain.strip().splitlines()
            compiled[plan.name] = (
                compile("\n".join(body), "<plain>", "exec"),
                compile(last, "<plain>", "eval"),
            )
        body_code, last_code = compiled[plan.name]
        namespace: dict[str, Any] = dict(FUNCTIONS)
        exec(body_code, namespace)
        return eval(last_code, namespace)

    bare = BareWorker(dict(FUNCTIONS))

    async def close_bare() -> None:
        bare.close()

    found.closers.append(close_bare)

    async def run_bare(plan: Plan) -> Any:
        return await bare.run(plan.plain)

    found.contenders["codemode in-process"] = run_inprocess
    found.contenders["codemode isolated (warm pool)"] = run_isolated
    found.contenders["plain exec (no sandbox)"] = run_exec
    found.contenders[FLOOR] = run_bare
    try:
        from smolagents.local_python_executor import LocalPythonExecutor
    except ImportError:
        found.notes["smolagents LocalPythonExecutor"] = "not installed (make bench installs it)"
    else:
        smol = LocalPythonExecutor([], additional_functions=dict(FUNCTIONS), timeout_seconds=None)
        smol.send_tools({})

        async def run_smolagents(plan: Plan) -> Any:
            return smol(plan.plain).output

        found.contenders["smolagents LocalPythonExecutor"] = run_smolagents
    try:
        from pydantic_monty import AsyncMonty
    except ImportError:
        found.notes["pydantic-monty AsyncMonty"] = "not installed (make bench installs it)"
    else:
        pool = AsyncMonty(min_processes=2, max_processes=2)
        await pool.__aenter__()

        async def close_pool() -> None:
            await pool.__aexit__(None, None, None)

        found.closers.append(close_pool)

        async def run_monty(plan: Plan) -> Any:
            async with pool.checkout() as session:  # a fresh session per plan, as ours
                return await session.feed_run(plan.plain, external_lookup=dict(FUNCTIONS))

        found.contenders["pydantic-monty AsyncMonty (pool)"] = run_monty
    return found


def _value(result: Any) -> Any:
    if result.status != "ok":
        raise RuntimeError(f"plan failed: {result.to_model()}")
    return result.value


def _summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9)]


async def run(repeat: int = 200) -> dict[str, Any]:
    """Every plan × contender, interleaved; then per-call overhead and concurrency."""
    found = await _field()
    try:
        rows: list[dict[str, Any]] = []
        for plan in PLANS:
            expected = await found.contenders["codemode in-process"](plan)
            for name, contender in found.contenders.items():
                got = await contender(plan)
                assert got == expected, f"{name} on {plan.name}: {got!r} != {expected!r}"
            rounds = repeat if plan.name != "CPU: 10k items, pure Python" else max(1, repeat // 4)
            samples: dict[str, list[float]] = {name: [] for name in found.contenders}
            for _ in range(rounds):
                for name, contender in found.contenders.items():
                    started = time.perf_counter()
                    await contender(plan)
                    samples[name].append(time.perf_counter() - started)
            for name, values in samples.items():
                median, p90 = _summary(values)
                rows.append({"plan": plan.name, "name": name, "median": median, "p90": p90})
        smoke = repeat < 20  # the test suite's run: every path once, figures not meaningful
        return {
            "plans": rows,
            "notes": found.notes,
            "per_call": await per_call_overhead(repeat=3 if smoke else 30),
            "concurrency": await concurrent_throughput(found, rounds=1 if smoke else 5),
            "isolation": (
                await isolation_modes(repeat=2, plans=10, rounds=1)
                if smoke
                else await isolation_modes(repeat=max(20, repeat // 4))
            ),
        }
    finally:
        for close in found.closers:
            await close()


async def per_call_overhead(calls: int = 200, repeat: int = 30) -> dict[str, float]:
    """Cost of one tool call: (plan with `calls` calls - the same loop without) / calls,
    per executor; the difference is what crossing the process boundary adds."""

    def ping(x: int) -> int:
        """Echo."""
        return x

    with_calls = f"t = 0\nfor i in range({calls}):\n    t += await tools.ping(x=i)\nreturn t"
    without = f"t = 0\nfor i in range({calls}):\n    t += i\nreturn t"
    per_call: dict[str, float] = {}
    # Workers reused: a call's crossing, without the per-plan cost of the isolation mode.
    reused = IsolatedExecutor(plans_per_worker=None)
    for name, executor in (("inprocess", "inprocess"), ("isolated", reused)):
        cm = CodeMode([Tool.from_function(ping)], executor=executor)
        await cm.run(with_calls)
        a: list[float] = []
        b: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            await cm.run(with_calls)
            a.append(time.perf_counter() - started)
            started = time.perf_counter()
            await cm.run(without)
            b.append(time.perf_counter() - started)
        per_call[name] = (statistics.median(a) - statistics.median(b)) / calls
        await cm.aclose()
    per_call["overhead"] = per_call["isolated"] - per_call["inprocess"]
    return per_call


async def concurrent_throughput(found: Field, plans: int = 50, rounds: int = 5) -> list[Any]:
    """50 copies of the 20-call plan in flight at once: wall time and plans per second."""
    plan = PLANS[1]
    rows = []
    for name, contender in found.contenders.items():
        if name.startswith(("plain exec", "smolagents", "floor")):
            continue  # synchronous: nothing runs concurrently
        walls = []
        for _ in range(rounds):
            started = time.perf_counter()
            await asyncio.gather(*(contender(plan) for _ in range(plans)))
            walls.append(time.perf_counter() - started)
        wall = statistics.median(walls)
        rows.append({"name": name, "wall": wall, "per_second": plans / wall})
    return rows


ISOLATION_MODES: dict[str, dict[str, Any]] = {
    "reuse (plans_per_worker=None)": {"plans_per_worker": None},
    "recycle every 20 plans": {"plans_per_worker": 20},
    "single-use, forked (default)": {"plans_per_worker": 1, "spawn": "fork"},
    "single-use, exec": {"plans_per_worker": 1, "spawn": "exec"},
}
"""How an isolated worker is kept from carrying one plan's state into the next, and how
workers start: what each costs (docs/security.md, "Isolation between plans")."""


async def isolation_modes(repeat: int = 50, plans: int = 50, rounds: int = 3) -> dict[str, Any]:
    """Each isolation mode: latency of the trivial and the 20-call plan (issued back to back:
    the worst case for modes that replace workers, whose successors start in the background),
    and 50 of the 20-call plan at once.

    Modes run in blocks, not interleaved: a mode's background worker starts would otherwise
    load the CPU during another's runs. Two passes (in order, then reversed) share the
    machine's drift between them; medians are over both passes."""
    latency: dict[tuple[str, str], list[float]] = {}
    walls: dict[str, list[float]] = {}
    order = list(ISOLATION_MODES)
    for names in (order, order[::-1]):
        for name in names:
            executor = IsolatedExecutor(pool_size=2, **ISOLATION_MODES[name])
            cm = CodeMode(TOOLS, executor=executor, limits=Limits(timeout=60.0))
            try:
                for plan in PLANS[:2]:
                    _value(await cm.run(plan.codemode))  # fork server and pool started
                    await asyncio.sleep(0.5)  # and warm
                    for _ in range(repeat):
                        started = time.perf_counter()
                        _value(await cm.run(plan.codemode))
                        latency.setdefault((plan.name, name), []).append(
                            time.perf_counter() - started
                        )
                for _ in range(rounds):
                    await asyncio.sleep(0.5)
                    started = time.perf_counter()
                    for result in await asyncio.gather(
                        *(cm.run(PLANS[1].codemode) for _ in range(plans))
                    ):
                        _value(result)
                    walls.setdefault(name, []).append(time.perf_counter() - started)
            finally:
                await cm.aclose()
    return {
        "latency": {key: statistics.median(values) for key, values in latency.items()},
        "throughput": {name: plans / statistics.median(w) for name, w in walls.items()},
    }


def render_isolation(report: dict[str, Any]) -> str:
    latency, throughput = report["latency"], report["throughput"]
    base = next(iter(ISOLATION_MODES))
    lines = [
        f"{'mode':32} {'trivial':>10} {'20 calls':>10} {'× reuse':>8} "
        f"{'50 at once':>11} {'× reuse':>8}"
    ]
    for name in ISOLATION_MODES:
        if (PLANS[0].name, name) not in latency:
            continue
        trivial = latency[(PLANS[0].name, name)]
        calls = latency[(PLANS[1].name, name)]
        lines.append(
            f"{name:32} {_time(trivial):>10} {_time(calls):>10} "
            f"{calls / latency[(PLANS[1].name, base)]:7.2f}x "
            f"{throughput[name]:7.0f} p/s {throughput[name] / throughput[base]:7.2f}x"
        )
    return "\n".join(lines)


def render(report: dict[str, Any]) -> str:
    lines: list[str] = []
    for plan in PLANS:
        rows = [r for r in report["plans"] if r["plan"] == plan.name]
        base = next(r["median"] for r in rows if r["name"] == "codemode in-process")
        lines.append(f"\n-- {plan.name} --")
        lines.append(f"{'contender':36} {'median':>10} {'p90':>10} {'× in-process':>13}")
        for row in rows:
            lines.append(
                f"{row['name']:36} {_time(row['median']):>10} {_time(row['p90']):>10} "
                f"{row['median'] / base:12.2f}x"
            )
    by_plan = {(r["plan"], r["name"]): r["median"] for r in report["plans"]}
    monty = by_plan.get((PLANS[1].name, "pydantic-monty AsyncMonty (pool)"))
    ours = by_plan[(PLANS[1].name, "codemode isolated (warm pool)")]
    if monty:
        lines.append(f"\nisolated / monty, 20-call plan: {ours / monty:.2f} (target: at most 0.50)")
        floor = by_plan[(PLANS[1].name, FLOOR)]
        lines.append(
            f"bare Python worker / monty, 20-call plan: {floor / monty:.2f} "
            "(the floor of a Python worker on this machine)"
        )
    for name, note in report["notes"].items():
        lines.append(f"{name}: {note}")
    per_call = report["per_call"]
    lines.append(
        f"\n-- one tool call --\nin-process {per_call['inprocess'] * 1e6:.1f} µs, isolated "
        f"{per_call['isolated'] * 1e6:.1f} µs: host<->worker overhead "
        f"{per_call['overhead'] * 1e6:.1f} µs per call (target: under 100 µs)"
    )
    lines.append("\n-- 50 concurrent 20-call plans --")
    lines.append(f"{'contender':36} {'wall':>10} {'plans/s':>10}")
    for row in report["concurrency"]:
        lines.append(f"{row['name']:36} {_time(row['wall']):>10} {row['per_second']:10.0f}")
    if "isolation" in report:
        lines.append("\n-- isolation between plans (medians; 20-call plan; 50 at once) --")
        lines.append(render_isolation(report["isolation"]))
    return "\n".join(lines)


def _time(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"


if __name__ == "__main__":
    if sys.argv[1:] == ["isolation"]:  # this section alone
        print(render_isolation(asyncio.run(isolation_modes())))
    else:
        print(render(asyncio.run(run())))
