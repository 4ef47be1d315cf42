"""Journal, approvals, pause and resume: no tool runs twice, whatever the executor."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codemode_core import CodeMode, ResumeError, Tool
from codemode_core.durable import MemoryStore, approve, reject
from codemode_core.durable.sqlite import SQLiteStore
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


async def test_sqlite_store_resumes_in_a_new_code_mode(
    make_cm: Callable[..., CodeMode], counter: Counter, tmp_path: Path
) -> None:
    path = tmp_path / "executions.sqlite"
    first = make_cm(shop_tools(counter), store=path)
    paused = await first.run(REFUND_PLAN)
    record = await first.store.load(paused.execution_id)
    assert record is not None and [e.tool for e in record.journal if e.kind == "call"] == [
        "tools.find_customer",
        "tools.open_orders",
    ]
    await first.store.aclose()

    second = make_cm(shop_tools(counter), store=SQLiteStore(path))
    done = await second.resume(paused.execution_id, {paused.pending[0].request_id: approve})
    assert done.ok and counter.counts == {"find_customer": 1, "open_orders": 1, "refund": 1}
    await second.store.aclose()


_RESUMER = """
import asyncio, json, sys, time
sys.path[:0] = json.loads(sys.argv[5])
from codemode_core import CodeMode, ResumeError
from codemode_core.durable import approve
from durable_support import Counter, shop_tools

path, execution_id, request_id, start_at, _ = sys.argv[1:6]

async def main():
    cm = CodeMode(shop_tools(Counter(sys.argv[6])), store=path, executor="inprocess")
    time.sleep(max(0.0, float(start_at) - time.time()))  # both processes start together
    try:
        result = await cm.resume(execution_id, {request_id: approve})
        print(json.dumps({"ok": result.ok, "value": result.value}))
    except ResumeError as exc:
        print(json.dumps({"error": str(exc)}))

asyncio.run(main())
"""


def test_two_processes_resume_at_once_and_exactly_one_wins(tmp_path: Path) -> None:
    """A paused execution in SQLite, resumed by two processes at the same moment."""
    path = tmp_path / "shared.sqlite"
    calls = tmp_path / "calls.jsonl"
    counter = Counter(str(calls))
    cm = CodeMode(shop_tools(counter), store=path, executor="inprocess")
    paused = cm.run_sync(REFUND_PLAN)
    cm.close()
    start_at = str(time.time() + 2.0)
    search_path = json.dumps([p for p in sys.path if p])
    args = [str(path), paused.execution_id, paused.pending[0].request_id, start_at, search_path]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _RESUMER, *args, str(calls)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [json.loads(p.communicate(timeout=60)[0]) for p in processes]

    winners = [o for o in outputs if o.get("ok")]
    losers = [o for o in outputs if "error" in o]
    assert len(winners) == 1 and len(losers) == 1, outputs
    assert winners[0]["value"] == {"order_id": 103, "refunded": 60.0}
    assert "already running" in losers[0]["error"] or "already finished" in losers[0]["error"]
    made = [json.loads(line)[0] for line in calls.read_text().splitlines()]
    assert sorted(made) == ["find_customer", "open_orders", "refund"]  # each exactly once
