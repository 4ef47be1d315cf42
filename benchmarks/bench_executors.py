"""Executor overhead, side by side in one run: codemode in-process (compile cold and cached),
codemode isolated (warm pool), plain `exec` of the same code, and smolagents'
`LocalPythonExecutor`.

Each contender runs the same plan shape: 20 tool calls in a loop with filtering and light data
work (what a Code Mode plan typically does), over the same Python functions. Reported: median
and p90 wall time per plan, and ratios against codemode in-process (cached).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from codemode_core import CodeMode, Limits, Tool
from codemode_core.sandbox import IsolatedExecutor
from codemode_core.sandbox.compiler import compile_plan

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


TOOLS = [Tool.from_function(get_order), Tool.from_function(get_customer)]

# 20 tool calls: 10 orders, 10 customers, with filtering and aggregation in between.
CODEMODE_PLAN = """
totals = {}
for i in range(10):
    order = await tools.get_order(order_id=i)
    customer = await tools.get_customer(name=order["customer"])
    if order["status"] == "pending" and order["total"] > 20:
        key = customer["tier"]
        totals[key] = round(totals.get(key, 0) + order["total"] * 1.1, 2)
return totals
"""
SYNC_PLAN = CODEMODE_PLAN.replace("await tools.", "").replace("return totals", "totals")


def _summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9)]


async def run(repeat: int = 300) -> list[dict[str, Any]]:
    """Measure every contender, interleaved round-robin so machine drift hits all equally.

    Returns rows of name, median and p90 in microseconds.
    """
    inprocess = CodeMode(TOOLS, executor="inprocess", limits=Limits())
    expected = (await inprocess.run(CODEMODE_PLAN)).value
    code = compile(SYNC_PLAN, "<plain>", "exec")

    def plain_exec() -> Any:
        namespace = {"get_order": get_order, "get_customer": get_customer}
        exec(code, namespace)
        return namespace["totals"]

    assert plain_exec() == expected
    contenders: dict[str, Callable[[], Awaitable[Any]] | Callable[[], Any]] = {}

    async def cold() -> Any:
        compile_plan.cache_clear()
        return await inprocess.run(CODEMODE_PLAN)

    async def cached() -> Any:
        return await inprocess.run(CODEMODE_PLAN)

    contenders["codemode in-process (compile cold)"] = cold
    contenders["codemode in-process (cached)"] = cached
    isolated = CodeMode(TOOLS, executor=IsolatedExecutor(pool_size=1))
    assert (await isolated.run(CODEMODE_PLAN)).value == expected

    async def isolated_run() -> Any:
        return await isolated.run(CODEMODE_PLAN)

    contenders["codemode isolated (warm pool)"] = isolated_run
    contenders["plain exec (no sandbox)"] = plain_exec
    notes: dict[str, str] = {}
    try:
        from smolagents.local_python_executor import LocalPythonExecutor
    except ImportError:
        notes["smolagents LocalPythonExecutor"] = "not installed (make bench installs it)"
    else:
        executor = LocalPythonExecutor(
            [],
            additional_functions={"get_order": get_order, "get_customer": get_customer},
            timeout_seconds=None,
        )
        executor.send_tools({})
        assert executor(SYNC_PLAN).output == expected
        contenders["smolagents LocalPythonExecutor"] = lambda: executor(SYNC_PLAN)

    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, contender in contenders.items():
            started = time.perf_counter()
            result = contender()
            if asyncio.iscoroutine(result):
                await result
            samples[name].append(time.perf_counter() - started)
    await isolated.aclose()

    rows: list[dict[str, Any]] = []
    for name, values in samples.items():
        median, p90 = _summary(values)
        rows.append({"name": name, "median_us": median * 1e6, "p90_us": p90 * 1e6})
    rows.extend({"name": name, "note": note} for name, note in notes.items())
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    base = next(r["median_us"] for r in rows if r["name"] == "codemode in-process (cached)")
    lines = [f"{'contender':40} {'median µs':>10} {'p90 µs':>10} {'× in-process':>13}"]
    for row in rows:
        if "median_us" not in row:
            lines.append(f"{row['name']:40} {row.get('note', '')}")
            continue
        ratio = row["median_us"] / base
        lines.append(
            f"{row['name']:40} {row['median_us']:10.0f} {row['p90_us']:10.0f} {ratio:12.2f}x"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(asyncio.run(run())))
