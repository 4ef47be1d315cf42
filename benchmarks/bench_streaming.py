"""Time to answer with and without early reads (`CodeMode.run_stream`, docs/streaming.md).

A scripted model streams a 12-line plan, one o200k_base token at a time at a fixed rate: five
reads (`read_only`, 200 ms each, one after another as a model writes them), some arithmetic,
then one write (200 ms). Without speculation the plan runs once its last token has arrived
(what every framework does today: `run(plan)` on the finished tool call); with it, the same
stream goes to `run_stream`, which starts each read as soon as its line is complete.

Two times per run, each the median of several interleaved runs:
- from the first token to the answer (what the user waits for);
- from the last token to the answer (what codemode adds after the model is done).

Every run asserts that the write started only after the whole plan had arrived, and, with
speculation, that all five reads started before it had. `python benchmarks/bench_streaming.py
[--runs N]` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import bpe_openai

from codemode_core import CodeMode, Tool

PLAN = """order = await tools.get_order(order_id=7)
customer = await tools.get_customer(customer_id=42)
stock = await tools.get_stock(sku="A-100")
rates = await tools.get_rates(country="NO")
history = await tools.get_history(customer_id=42)
loyal = len(history) >= 3
discount = 0.1 if loyal or customer["tier"] == "gold" else 0.0
if stock < order["quantity"]:
    return {"ok": False, "reason": "out of stock"}
amount = round(order["total"] * (1 - discount) + rates["express"], 2)
invoice = await tools.create_invoice(order_id=7, amount=amount)
return {"ok": True, "invoice": invoice["id"], "amount": amount}
"""
ANSWER = {"ok": True, "invoice": "inv-7", "amount": 116.0}
CALL_SECONDS = 0.2
READS = ("get_order", "get_customer", "get_stock", "get_rates", "get_history")
SETTINGS = (("inprocess", 50), ("isolated", 50), ("inprocess", 100))
"""(executor, tokens per second): the issue's 50 tokens/s on both executors, and a faster
model, whose shorter stream makes the reads a larger share of the wait."""

_ENCODING = bpe_openai.get_encoding("o200k_base")
TOKENS = [_ENCODING.decode([token]) for token in _ENCODING.encode(PLAN)]


@dataclass
class Clock:
    """When the stream started and ended, and when each tool call started (perf_counter)."""

    stream_start: float = 0.0
    stream_end: float = float("inf")
    calls: dict[str, float] = field(default_factory=dict)


def make_tools(clock: Clock) -> list[Tool]:
    async def call(name: str, result: Any) -> Any:
        clock.calls[name] = time.perf_counter()
        await asyncio.sleep(CALL_SECONDS)
        return result

    async def get_order(order_id: int) -> dict[str, Any]:
        """Fetch one order."""
        return dict(await call("get_order", {"id": order_id, "total": 120.0, "quantity": 2}))

    async def get_customer(customer_id: int) -> dict[str, Any]:
        """Fetch one customer."""
        return dict(await call("get_customer", {"id": customer_id, "tier": "gold"}))

    async def get_stock(sku: str) -> int:
        """Units of a product in stock."""
        return int(await call("get_stock", 5))

    async def get_rates(country: str) -> dict[str, float]:
        """Shipping rates to a country."""
        return dict(await call("get_rates", {"standard": 4.0, "express": 8.0}))

    async def get_history(customer_id: int) -> list[int]:
        """A customer's earlier order ids."""
        return list(await call("get_history", [1, 2, 3, 4]))

    async def create_invoice(order_id: int, amount: float) -> dict[str, Any]:
        """Invoice an order (a write)."""
        return dict(await call("create_invoice", {"id": f"inv-{order_id}", "amount": amount}))

    reads: list[Callable[..., Any]] = [get_order, get_customer, get_stock, get_rates, get_history]
    return [Tool.from_function(fn, read_only=True) for fn in reads] + [
        Tool.from_function(create_invoice)
    ]


async def model_stream(clock: Clock, tokens_per_second: float) -> AsyncIterator[str]:
    """The plan, token by token, each at its due time (no drift from sleeping per token)."""
    clock.stream_start = start = time.perf_counter()
    for index, token in enumerate(TOKENS):
        await asyncio.sleep(max(0.0, start + (index + 1) / tokens_per_second - time.perf_counter()))
        yield token
    clock.stream_end = time.perf_counter()


async def once(cm: CodeMode, clock: Clock, rate: float, speculate: bool) -> tuple[float, float]:
    """One answer: (seconds from the first token, seconds from the last token)."""
    clock.calls.clear()
    if speculate:
        result = await cm.run_stream(model_stream(clock, rate))
    else:
        plan = "".join([delta async for delta in model_stream(clock, rate)])
        result = await cm.run(plan)
    done = time.perf_counter()
    assert result.ok and result.value == ANSWER, result.error
    assert clock.calls["create_invoice"] > clock.stream_end, "the write started too early"
    if speculate:
        assert all(clock.calls[name] < clock.stream_end for name in READS), clock.calls
        assert result.speculation is not None and result.speculation.claimed == len(READS)
    return done - clock.stream_start, done - clock.stream_end


async def run(runs: int = 5) -> list[dict[str, Any]]:
    rows = []
    for executor, rate in SETTINGS:
        clock = Clock()
        async with CodeMode(make_tools(clock), executor=executor) as cm:
            await cm.run("return 1")  # a warm executor, as in a long-lived agent
            times: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
            for _ in range(runs):  # interleaved: a noisy neighbour hurts both alike
                for speculate in (False, True):
                    times[speculate].append(await once(cm, clock, rate, speculate))
        row: dict[str, Any] = {"executor": executor, "rate": rate, "tokens": len(TOKENS)}
        for speculate, key in ((False, "plain"), (True, "speculative")):
            row[key] = tuple(statistics.median(t[i] for t in times[speculate]) for i in (0, 1))
        rows.append(row)
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"12-line plan, {rows[0]['tokens']} tokens; 5 reads then 1 write, "
        f"{CALL_SECONDS * 1000:.0f} ms each; medians",
        f"{'executor':10} {'tok/s':>5}  {'first token → answer':>26} {'less':>5}  "
        f"{'last token → answer':>24} {'less':>5}",
    ]
    for row in rows:
        (plain_all, plain_tail), (spec_all, spec_tail) = row["plain"], row["speculative"]
        lines.append(
            f"{row['executor']:10} {row['rate']:>5}  {plain_all:10.2f} s → {spec_all:5.2f} s"
            f"{' ' * 7}{1 - spec_all / plain_all:5.0%}  {plain_tail:9.2f} s → {spec_tail:5.2f} s"
            f"{' ' * 5}{1 - spec_tail / plain_tail:5.0%}"
        )
    lines.append(
        f"at most the reads' {len(READS) * CALL_SECONDS:.1f} s can be saved (the write waits for "
        f"the whole plan): at 50 tok/s the plan alone takes {len(TOKENS) / 50:.1f} s to arrive"
    )
    lines.append("every run: the write started after the last token; with speculation, all five")
    lines.append("reads started before it")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per setting and mode")
    print(render(asyncio.run(run(parser.parse_args().runs))))
