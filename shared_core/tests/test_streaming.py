"""`CodeMode.run_stream`: read-only calls start while the plan is still being written; the
plan then runs as `run` runs it, taking their results. Against every executor backend."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from codemode_core import CodeMode, ExecutionResult, Limits, Tool, ToolError, approve
from codemode_core.integration import result_from_data, result_to_data

_GATE_SECONDS = 10.0
"""How long the scripted stream waits for an early call before it gives up (a failure)."""


class Shop:
    """Reads (`get_order`, `get_stock`, declared read-only) and a write (`charge`) that note
    whether the plan's stream had ended when they started."""

    def __init__(self) -> None:
        self.stream_done = False
        self.started: list[tuple[str, Any, bool]] = []
        """(tool, its main argument, whether the stream had ended) per call, in start order."""
        self.in_flight = 0
        self.most_in_flight = 0
        self.read_started = asyncio.Event()
        self.fail_stock_once = False

    def _start(self, tool: str, argument: Any) -> None:
        self.started.append((tool, argument, self.stream_done))
        self.read_started.set()

    def early(self, tool: str) -> list[Any]:
        return [arg for name, arg, done in self.started if name == tool and not done]

    def tools(self, **options: Any) -> list[Tool]:
        async def get_order(order_id: int) -> dict[str, Any]:
            """Fetch one order."""
            self._start("get_order", order_id)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await asyncio.sleep(0.05)
            finally:
                self.in_flight -= 1
            return {"id": order_id, "total": 10.0 * order_id}

        async def get_stock(sku: str, warehouses: list[str] | None = None) -> int:
            """Units of a product in stock."""
            self._start("get_stock", sku)
            if self.fail_stock_once:
                self.fail_stock_once = False
                raise ToolError("the stock service is warming up")
            return 3

        async def charge(order_id: int, amount: float) -> str:
            """Charge an order (a write)."""
            self._start("charge", order_id)
            return f"charged {amount}"

        return [
            Tool.from_function(get_order, read_only=True, **options),
            Tool.from_function(get_stock, read_only=True),
            Tool.from_function(charge),
        ]


async def _stream(
    plan: str, shop: Shop, *, gate: int = 0, breaks: Exception | None = None
) -> AsyncIterator[str]:
    """The plan in small deltas (lines cut in two). Before its last line it waits until
    `gate` reads have started, so "started while the plan was being written" does not depend
    on the machine's speed; `breaks` is raised there instead of sending the rest."""
    lines = plan.splitlines(keepends=True)
    for number, line in enumerate(lines, 1):
        if number == len(lines):
            waited = 0.0
            while len(shop.started) < gate and waited < _GATE_SECONDS:
                await asyncio.sleep(0.01)
                waited += 0.01
            if breaks is not None:
                raise breaks
        half = len(line) // 2
        for piece in (line[:half], line[half:]):
            await asyncio.sleep(0)
            yield piece
    shop.stream_done = True


def test_a_read_only_tool_is_idempotent() -> None:
    def get(key: str) -> str:
        """Read one value."""
        return key

    assert Tool.from_function(get, read_only=True).idempotent
    assert Tool("get", "", {"type": "object"}, get, read_only=True).idempotent
    assert not Tool.from_function(get, idempotent=True).read_only  # a keyed write is no read


PLAN = """order = await tools.get_order(order_id=7)
other = await tools.get_order(8)
stock = await tools.get_stock(sku="A-1", warehouses=("oslo", "bergen"))
total = order["total"] + other["total"]
receipt = await tools.charge(order_id=7, amount=total)
return {"receipt": receipt, "stock": stock}
"""


async def test_reads_start_while_the_plan_is_written_and_writes_only_after(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools())
    result = await cm.run_stream(_stream(PLAN, shop, gate=3))
    assert result.ok, result.error
    assert result.value == {"receipt": "charged 150.0", "stock": 3}
    assert shop.early("get_order") == [7, 8] and shop.early("get_stock") == ["A-1"]
    assert [(t, done) for t, _, done in shop.started if t == "charge"] == [("charge", True)]
    assert len(shop.started) == 4  # each read ran once: the plan took the early results
    assert [(c.tool, c.speculated) for c in result.tool_calls] == [
        ("tools.get_order", True),
        ("tools.get_order", True),
        ("tools.get_stock", True),
        ("tools.charge", False),
    ]
    assert result.tool_calls[2].arguments == {"sku": "A-1", "warehouses": ["oslo", "bergen"]}
    assert result.speculation is not None
    assert (result.speculation.started, result.speculation.claimed) == (3, 3)
    assert result.speculation.unclaimed == 0


async def test_a_plan_run_from_a_stream_gives_what_run_gives(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools())
    streamed = await cm.run_stream(_stream(PLAN, shop))
    plain = await cm.run(PLAN)
    assert streamed.value == plain.value and plain.speculation is None
    unmarked = [dataclasses.replace(c, speculated=False, duration=0) for c in streamed.tool_calls]
    assert unmarked == [dataclasses.replace(c, duration=0) for c in plain.tool_calls]


async def test_a_broken_stream_runs_nothing_but_reads(make_cm: Callable[..., CodeMode]) -> None:
    shop = Shop()
    cm = make_cm(shop.tools())
    plan = PLAN.replace("return", "print('never sent')\nreturn")
    result = await cm.run_stream(_stream(plan, shop, gate=3, breaks=ConnectionError("reset")))
    assert result.status == "error" and result.error is not None
    assert result.error.kind == "stream"
    assert result.error.message.startswith(
        "the plan's stream broke off after 6 line(s) (ConnectionError: reset); nothing ran but "
        "reads."
    )
    assert [tool for tool, _, _ in shop.started] == ["get_order", "get_order", "get_stock"]
    assert result.tool_calls == ()
    assert result.speculation is not None and result.speculation.unclaimed == 3


async def test_a_broken_stream_says_how_far_it_got_after_speculation_stopped(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    plan = "a = await tools.nope(1)\nb = 2\nc = 3\nreturn a\n"
    result = await make_cm(shop.tools()).run_stream(_stream(plan, shop, breaks=OSError("gone")))
    assert result.error is not None and result.error.kind == "stream"
    assert "broke off after 3 line(s) (OSError: gone)" in result.error.message
    assert all(c.speculated for c in result.speculation.unclaimed_calls)


async def test_a_stream_that_yields_no_text_is_broken(make_cm: Callable[..., CodeMode]) -> None:
    async def stream() -> AsyncIterator[Any]:
        yield "return 1\n"
        yield b"bytes"

    result = await make_cm(Shop().tools()).run_stream(stream())
    assert result.error is not None and result.error.kind == "stream"
    assert "a delta was bytes, not str" in result.error.message


async def test_an_unclaimed_result_is_dropped_and_counted(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools())
    plan = 'if False:\n    await tools.get_order(order_id=99)\ns = await tools.get_stock("B")\n'
    plan += "return s\n"
    result = await cm.run_stream(_stream(plan, shop, gate=2))
    assert result.ok and result.value == 3
    assert [c.tool for c in result.tool_calls] == ["tools.get_stock"]
    stats = result.speculation
    assert stats is not None and stats.started == 2 and stats.claimed == 1
    assert [(c.tool, c.arguments) for c in stats.unclaimed_calls] == [
        ("tools.get_order", {"order_id": 99})
    ]


async def test_a_speculated_call_counts_once_against_max_tool_calls(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools(), limits=Limits(max_tool_calls=3))
    plan = (
        "a = await tools.get_order(1)\nb = await tools.get_order(2)\n"
        "c = await tools.get_order(3)\nreturn a['id'] + b['id'] + c['id']\n"
    )
    result = await cm.run_stream(_stream(plan, shop, gate=3))
    assert result.ok, result.error
    assert result.value == 6 and len(result.tool_calls) == 3
    assert all(c.speculated for c in result.tool_calls)


async def test_early_calls_are_bounded_by_max_speculative_calls(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools(), limits=Limits(max_speculative_calls=2))
    plan = "".join(f"o{i} = await tools.get_order({i})\n" for i in range(6)) + "return 1\n"
    result = await cm.run_stream(_stream(plan, shop, gate=6))
    assert result.ok, result.error
    assert shop.most_in_flight == 2
    assert result.speculation is not None and result.speculation.claimed == 6


async def test_a_failed_early_call_is_made_again_by_the_plan(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    shop.fail_stock_once = True
    cm = make_cm(shop.tools())
    result = await cm.run_stream(
        _stream('s = await tools.get_stock("A")\nreturn s\n', shop, gate=1)
    )
    assert result.ok and result.value == 3
    assert [c.speculated for c in result.tool_calls] == [False]
    assert result.speculation is not None
    [dropped] = result.speculation.unclaimed_calls
    assert dropped.error == "the stock service is warming up"


@pytest.mark.parametrize(
    "plan",
    [
        "n = 7\no = await tools.get_order(order_id=n)\nreturn o\n",  # computed argument
        "args = {'order_id': 7}\no = await tools.get_order(**args)\nreturn o\n",  # a splat
        "tools = 1\no = await tools.get_order(order_id=7)\nreturn o\n",  # not our `tools`
        "o = await tools.get_order(order_id=f'{7}')\nreturn o\n",  # an f-string
    ],
    ids=["computed", "splat", "shadowed", "f-string"],
)
async def test_only_calls_with_literal_arguments_start_early(
    make_cm: Callable[..., CodeMode], plan: str
) -> None:
    shop = Shop()
    result = await make_cm(shop.tools()).run_stream(_stream(plan, shop))
    assert result.speculation is not None and result.speculation.started == 0
    assert shop.early("get_order") == []


async def test_nothing_starts_after_the_plan_fails_the_preflight_check(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools())
    plan = (
        "a = await tools.get_order(1)\n"
        "b = await tools.get_ordr(2)\n"  # misspelt: the plan cannot run
        "c = await tools.get_order(3)\n"
        "return a\n"
    )
    result = await cm.run_stream(_stream(plan, shop))
    assert result.error is not None and result.error.kind == "tool" and result.error.line == 2
    assert [arg for tool, arg, _ in shop.started] == [1]
    assert result.tool_calls == ()
    assert result.speculation is not None and result.speculation.unclaimed == 1


async def test_nothing_starts_for_a_plan_the_sandbox_refuses(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools())
    plan = "k = ().__class__\na = await tools.get_order(1)\nreturn a\n"
    result = await cm.run_stream(_stream(plan, shop))
    assert result.error is not None and result.error.kind == "policy"
    assert shop.started == []


async def test_a_read_that_needs_approval_never_starts_early_and_pauses_as_usual(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools(requires_approval=True))
    plan = "a = await tools.get_order(order_id=5)\nreturn a['total']\n"
    result = await cm.run_stream(_stream(plan, shop))
    assert result.status == "paused" and shop.started == []
    assert [(p.tool, p.arguments) for p in result.pending] == [("tools.get_order", {"order_id": 5})]
    assert result.speculation is not None and result.speculation.started == 0
    resumed = await cm.resume(result.execution_id, {result.pending[0].request_id: approve})
    assert resumed.ok and resumed.value == 50.0
    assert [arg for tool, arg, _ in shop.started] == [5]


async def _journal(cm: CodeMode, result: ExecutionResult) -> list[tuple[Any, ...]]:
    record = await cm.store.load(result.execution_id)
    assert record is not None
    return [(e.kind, e.tool, e.arguments, e.result, e.error, e.line) for e in record.journal]


async def test_the_journal_is_the_one_run_writes(
    make_cm: Callable[..., CodeMode], tmp_path: Path
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools(), store=tmp_path / "runs.sqlite")
    streamed = await cm.run_stream(_stream(PLAN, shop, gate=3))
    plain = await cm.run(PLAN)
    assert streamed.ok and plain.ok
    assert await _journal(cm, streamed) == await _journal(cm, plain)
    assert [e[1] for e in await _journal(cm, streamed) if e[0] == "call"] == [
        "tools.get_order",
        "tools.get_order",
        "tools.get_stock",
        "tools.charge",
    ]


async def test_a_streamed_result_survives_the_trip_through_plain_data(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools())
    plan = "if False:\n    await tools.get_order(1)\no = await tools.get_order(2)\nreturn o\n"
    result = await cm.run_stream(_stream(plan, shop, gate=2))
    assert result.speculation is not None and result.speculation.unclaimed == 1
    assert result_from_data(result_to_data(result)) == result


async def test_reads_far_into_a_long_plan_still_start_early(
    make_cm: Callable[..., CodeMode],
) -> None:
    """Past the first lines the watcher looks less often (its cost stays near linear), yet
    reads written anywhere in a long plan start before its end."""
    shop = Shop()
    cm = make_cm(shop.tools(), limits=Limits(max_tool_calls=1_000, max_speculative_calls=50))
    plan = "".join(f"o{i} = await tools.get_stock(sku='S-{i}')  # item {i}\n" for i in range(150))
    plan += "x = 1\n" * 200 + "return o149\n"  # an eighth more text: the last look
    result = await cm.run_stream(_stream(plan, shop, gate=150))
    assert result.ok and result.value == 3
    assert len(shop.early("get_stock")) == 150
    assert result.speculation is not None and result.speculation.claimed == 150


async def test_the_approver_is_asked_only_once_the_whole_plan_is_known(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    asked: list[bool] = []

    def approver(request: Any) -> bool:
        asked.append(shop.stream_done)
        return True

    tools = [dataclasses.replace(t, requires_approval=t.name == "charge") for t in shop.tools()]
    result = await make_cm(tools, approver=approver).run_stream(_stream(PLAN, shop, gate=3))
    assert result.ok and asked == [True]
    assert [c.speculated for c in result.tool_calls] == [True, True, True, False]


async def test_no_more_calls_start_early_than_the_plan_may_make(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools(), limits=Limits(max_tool_calls=2))
    plan = "".join(f"o{i} = await tools.get_stock('S-{i}')\n" for i in range(4)) + "return 1\n"
    result = await cm.run_stream(_stream(plan, shop, gate=2))
    assert result.error is not None and result.error.kind == "budget"
    assert shop.early("get_stock") == ["S-0", "S-1"]
    assert result.speculation is not None and result.speculation.started == 2
    assert [c.speculated for c in result.tool_calls] == [True, True]


@pytest.mark.parametrize(
    "plan",
    [
        # A write first: the read must see what it did (red team: the stale read returned).
        "await tools.charge(order_id=7, amount=1.0)\n"
        "o = await tools.get_order(order_id=7)\nreturn o['id']\n",
        # The write hidden in a helper, a tool taken by reference, or on the read's line.
        "async def pay():\n    await tools.charge(order_id=7, amount=1.0)\nawait pay()\n"
        "o = await tools.get_order(order_id=7)\nreturn o['id']\n",
        "f = tools.charge\nawait f(order_id=7, amount=1.0)\n"
        "o = await tools.get_order(order_id=7)\nreturn o['id']\n",
        "a, o = await asyncio.gather(tools.charge(order_id=7, amount=1.0), "
        "tools.get_order(order_id=7))\nreturn o['id']\n",
    ],
)
async def test_a_read_after_a_possible_write_never_starts_early(
    make_cm: Callable[..., CodeMode], plan: str
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools())
    result = await cm.run_stream(_stream(plan, shop))
    assert result.ok, result.error
    assert shop.early("get_order") == []  # nothing ran before the whole plan was known
    assert not any(call.speculated for call in result.tool_calls)
    assert ("charge", 7, True) in shop.started


async def test_reads_above_the_first_write_still_start_early(
    make_cm: Callable[..., CodeMode],
) -> None:
    shop = Shop()
    cm = make_cm(shop.tools())
    plan = (
        "o = await tools.get_order(order_id=7)\n"
        "await tools.charge(order_id=7, amount=o['total'])\n"
        "p = await tools.get_order(order_id=8)\n"
        "return p['id']\n"
    )
    result = await cm.run_stream(_stream(plan, shop, gate=1))
    assert result.ok, result.error
    assert shop.early("get_order") == [7]  # the read above the write only
    assert [(c.tool, c.speculated) for c in result.tool_calls] == [
        ("tools.get_order", True),
        ("tools.charge", False),
        ("tools.get_order", False),
    ]
