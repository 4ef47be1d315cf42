"""The progress-event convention every adapter maps: a pause is an approval request, and a
resumed run marks what it re-emits from its journal as `replayed`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from codemode_core import CodeMode, ProgressEvent, edit, event_payload
from durable_support import REFUND_PLAN, Counter, shop_tools

PLAN = 'print("looking")\n' + REFUND_PLAN.lstrip("\n")


async def test_pause_is_an_approval_request_and_resume_marks_replays(
    make_cm: Callable[..., CodeMode],
) -> None:
    counter = Counter()
    cm = make_cm(shop_tools(counter))
    first: list[ProgressEvent] = []
    paused = await cm.run(PLAN, observer=first.append)

    assert [(e.kind, e.tool) for e in first] == [
        ("log", None),
        ("tool_start", "tools.find_customer"),
        ("tool_end", "tools.find_customer"),
        ("tool_start", "tools.open_orders"),
        ("tool_end", "tools.open_orders"),
        ("approval_requested", "tools.refund"),
    ]
    assert not any(e.replayed for e in first)
    [request] = paused.pending
    assert first[-1].request_id == request.request_id and first[-1].line == 6
    assert event_payload(first[-1]) == {
        "kind": "approval_requested",
        "execution_id": paused.execution_id,
        "replayed": False,
        "tool": "tools.refund",
        "line": 6,
        "arguments": {"order_id": 103, "amount": 60.0},
        "request_id": request.request_id,
    }

    second: list[ProgressEvent] = []
    done = await cm.resume(
        paused.execution_id,
        {request.request_id: {"type": "approve"}},
        observer=second.append,
    )

    assert done.ok
    assert [(e.kind, e.tool, e.replayed) for e in second] == [
        ("log", None, True),
        ("tool_start", "tools.find_customer", True),
        ("tool_end", "tools.find_customer", True),
        ("tool_start", "tools.open_orders", True),
        ("tool_end", "tools.open_orders", True),
        ("tool_start", "tools.refund", False),
        ("tool_end", "tools.refund", False),
    ]
    real_starts = [e.tool for e in first + second if e.kind == "tool_start" and not e.replayed]
    assert len(real_starts) == len(set(real_starts)) == 3  # each call started for real once
    assert counter.counts == {"find_customer": 1, "open_orders": 1, "refund": 1}


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ({"type": "approve"}, {"order_id": 103, "refunded": 60.0}),
        (
            {
                "type": "edit",
                "edited_action": {"name": "refund", "args": {"order_id": 103, "amount": 5.0}},
            },
            {"order_id": 103, "refunded": 5.0},
        ),
        (edit({"order_id": 103, "amount": 7.0}), {"order_id": 103, "refunded": 7.0}),
        ({"type": "reject", "message": "too much"}, "no refund: not approved: too much"),
        (False, "no refund: not approved: a human rejected this call"),
    ],
)
async def test_resume_takes_every_decision_form(
    make_cm: Callable[..., CodeMode], answer: Any, value: Any
) -> None:
    cm = make_cm(shop_tools(Counter()))
    paused = await cm.run(REFUND_PLAN)
    done = await cm.resume(paused.execution_id, {paused.pending[0].request_id: answer})
    assert done.ok and done.value == value


@pytest.mark.parametrize("answer", [{"type": "maybe"}, {"type": "edit"}, "perhaps", 3])
async def test_a_malformed_decision_is_raised_and_the_plan_stays_paused(
    make_cm: Callable[..., CodeMode], answer: Any
) -> None:
    counter = Counter()
    cm = make_cm(shop_tools(counter))
    paused = await cm.run(REFUND_PLAN)
    request_id = paused.pending[0].request_id
    with pytest.raises(TypeError, match="decision for"):
        await cm.resume(paused.execution_id, {request_id: answer})
    done = await cm.resume(paused.execution_id, {request_id: True})  # answer again
    assert done.ok and counter.counts["refund"] == 1
