"""Journal, approvals, pause and resume: no tool runs twice, whatever the executor."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from codemode_core import CodeMode, ResumeError, Tool
from codemode_core.durable import MemoryStore, approve, reject
from durable_support import REFUND_PLAN, Counter, shop_tools


@pytest.fixture
def counter() -> Counter:
    return Counter()


async def test_pause_then_approve_runs_each_call_once(
    make_cm: Callable[..., CodeMode], counter: Counter
) -> None:
    cm = make_cm(shop_tools(counter))
    paused = await cm.run(REFUND_PLAN)

    assert paused.status == "paused" and not paused.ok
    [request] = paused.pending
    assert request.tool == "tools.refund" and request.line == 6
    assert dict(request.arguments) == {"order_id": 103, "amount": 60.0}
    assert [c.tool for c in paused.tool_calls] == ["tools.find_customer", "tools.open_orders"]
    assert "Paused: waiting for approval of tools.refund (line 6)" in paused.to_model()
    assert "refund" not in counter.counts

    done = await cm.resume(paused.execution_id, {request.request_id: approve})

    assert done.ok and done.value == {"order_id": 103, "refunded": 60.0}
    assert done.execution_id == paused.execution_id
    assert counter.counts == {"find_customer": 1, "open_orders": 1, "refund": 1}


async def test_rejection_is_a_tool_error_the_plan_handles(
    make_cm: Callable[..., CodeMode], counter: Counter
) -> None:
    cm = make_cm(shop_tools(counter))
    paused = await cm.run(REFUND_PLAN)
    [request] = paused.pending
    done = await cm.resume(paused.execution_id, {request.request_id: reject("over budget")})
    assert done.ok and done.value == "no refund: not approved: over budget"
    assert counter.counts == {"find_customer": 1, "open_orders": 1}


@pytest.mark.parametrize("answer", [True, approve, False, reject("no")])
async def test_an_approver_decides_inline_sync_or_async(
    make_cm: Callable[..., CodeMode], counter: Counter, answer: Any
) -> None:
    asked: list[str] = []

    async def approver(request: Any) -> Any:
        asked.append(request.tool)
        return answer

    cm = make_cm(shop_tools(counter), approver=approver)
    result = await cm.run(REFUND_PLAN)
    assert result.ok and asked == ["tools.refund"]
    approved = answer is True or answer == approve
    assert (counter.counts.get("refund") == 1) is approved
    assert isinstance(result.value, dict if approved else str)


async def test_requests_from_one_gather_pause_together(
    make_cm: Callable[..., CodeMode], counter: Counter
) -> None:
    cm = make_cm(shop_tools(counter))
    plan = (
        "a, b = await asyncio.gather(tools.refund(order_id=1, amount=5.0),"
        " tools.refund(order_id=2, amount=6.0))\nreturn [a['order_id'], b['order_id']]"
    )
    paused = await cm.run(plan)
    assert paused.status == "paused"
    assert sorted(p.arguments["order_id"] for p in paused.pending) == [1, 2]
    first, second = paused.pending
    # One decided, one left open: the execution pauses again, the same request id waiting.
    again = await cm.resume(paused.execution_id, {first.request_id: approve})
    assert again.status == "paused" and [p.request_id for p in again.pending] == [second.request_id]
    done = await cm.resume(again.execution_id, {second.request_id: True})
    assert done.value == [1, 2] and counter.counts == {"refund": 2}


async def test_approval_predicate_asks_only_when_it_says_so(
    make_cm: Callable[..., CodeMode], counter: Counter
) -> None:
    def pay(amount: float) -> str:
        """Pay someone."""
        counter.hit("pay", amount=amount)
        return "paid"

    tool = Tool.from_function(pay, requires_approval=lambda args: args["amount"] > 100)
    cm = make_cm([tool])
    assert (await cm.run("return await tools.pay(amount=50)")).value == "paid"
    paused = await cm.run("return await tools.pay(amount=500)")
    assert paused.status == "paused" and paused.pending[0].arguments == {"amount": 500}


async def test_clock_random_and_ids_repeat_on_resume(
    make_cm: Callable[..., CodeMode], counter: Counter
) -> None:
    cm = make_cm(shop_tools(counter))
    plan = """
import time, random, uuid, datetime
seen = {"t": time.time(), "r": random.random(), "u": str(uuid.uuid4()),
        "d": datetime.datetime.now().isoformat()}
await tools.remember(**seen)
await tools.refund(order_id=1, amount=1.0)
return [seen, time.time() >= seen["t"]]
"""
    paused = await cm.run(plan)
    remembered = counter.seen[0][1]
    done = await cm.resume(paused.execution_id, {paused.pending[0].request_id: approve})
    assert done.ok, done.to_model()
    assert done.value == [remembered, True]
    assert counter.counts == {"remember": 1, "refund": 1}
    assert len(remembered["u"]) == 36 and 0 <= remembered["r"] < 1


async def test_a_plan_that_leaves_its_journal_stops_as_diverged(
    make_cm: Callable[..., CodeMode], counter: Counter
) -> None:
    store = MemoryStore()
    cm = make_cm(shop_tools(counter), store=store)
    paused = await cm.run(REFUND_PLAN)
    # Pretend the world changed under the journal: the recorded call had other arguments.
    journal = store._journals[paused.execution_id]
    journal[0] = dataclasses.replace(journal[0], arguments={"email": "someone@else"})
    result = await cm.resume(paused.execution_id, {paused.pending[0].request_id: approve})
    assert result.status == "error" and result.error is not None
    assert result.error.kind == "diverged" and result.error.line == 2
    assert "journal's next call is tools.find_customer" in result.error.message
    assert counter.counts == {"find_customer": 1, "open_orders": 1}  # nothing ran twice


async def test_resume_refuses_clearly(make_cm: Callable[..., CodeMode], counter: Counter) -> None:
    cm = make_cm(shop_tools(counter), pause_ttl=0.2)
    paused = await cm.run(REFUND_PLAN)
    request = paused.pending[0].request_id
    with pytest.raises(ResumeError, match="no pending request nope"):
        await cm.resume(paused.execution_id, {"nope": approve})
    with pytest.raises(ResumeError, match="no execution 'missing'"):
        await cm.resume("missing", {})
    done = await cm.resume(paused.execution_id, {request: approve})  # still resumable
    assert done.ok
    with pytest.raises(ResumeError, match="already finished"):
        await cm.resume(paused.execution_id, {request: approve})
    late = await cm.run(REFUND_PLAN)
    await asyncio.sleep(0.3)
    with pytest.raises(ResumeError, match="expired"):
        await cm.resume(late.execution_id, {late.pending[0].request_id: approve})
