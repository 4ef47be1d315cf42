"""Handing executions to other storage (transfer), edited approvals, and `require_approval`."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from codemode_core import CodeMode, ConfigurationError, ResumeError, Tool
from codemode_core.durable import MemoryStore, Store, approve, edit, require_approval
from codemode_core.durable.transfer import (
    adopt,
    record_from_data,
    record_to_data,
    result_from_data,
    result_to_data,
)
from durable_support import REFUND_PLAN, Counter, shop_tools

OpenStore = Callable[[], Store]


async def test_a_paused_execution_travels_as_json_and_resumes_in_another_store(
    open_store: OpenStore,
) -> None:
    """What a framework's own persistence does: keep the record as JSON, adopt it elsewhere."""
    counter = Counter()
    first = CodeMode(shop_tools(counter), executor="inprocess")  # memory: lost with the process
    paused = await first.run(REFUND_PLAN)
    record = await first.store.load(paused.execution_id)
    assert record is not None
    carried = json.loads(json.dumps({"record": record_to_data(record)}))  # e.g. a checkpoint
    assert record_from_data(carried["record"]) == record
    result = result_from_data(json.loads(json.dumps(result_to_data(paused))))
    assert result == paused and result.to_model() == paused.to_model()

    second = CodeMode(shop_tools(counter), store=open_store(), executor="inprocess")
    assert await adopt(second.store, record_from_data(carried["record"])) is True
    done = await second.resume(paused.execution_id, {paused.pending[0].request_id: approve})
    assert done.ok and done.value == {"order_id": 103, "refunded": 60.0}
    assert counter.counts == {"find_customer": 1, "open_orders": 1, "refund": 1}

    # Adopting it again (a replayed handoff) leaves the store's own state: no second resume.
    assert await adopt(second.store, record_from_data(carried["record"])) is False
    with pytest.raises(ResumeError, match="already finished"):
        await second.resume(paused.execution_id, {paused.pending[0].request_id: approve})
    assert counter.counts["refund"] == 1
    await first.aclose()
    await second.aclose()


async def test_a_finished_result_round_trips_with_its_error_and_calls() -> None:
    cm = CodeMode(shop_tools(Counter()), executor="inprocess")
    failed = await cm.run('await tools.find_customer(email="a@b")\nreturn 1 / 0')
    assert failed.error is not None and failed.tool_calls
    again = result_from_data(json.loads(json.dumps(result_to_data(failed))))
    assert again == failed and again.error == failed.error
    await cm.aclose()


async def test_an_edited_approval_runs_the_call_with_the_humans_arguments() -> None:
    counter = Counter()
    cm = CodeMode(shop_tools(counter), executor="inprocess")
    paused = await cm.run(REFUND_PLAN)
    [request] = paused.pending
    done = await cm.resume(
        paused.execution_id, {request.request_id: edit({"order_id": 103, "amount": 25.0})}
    )
    assert done.ok and done.value == {"order_id": 103, "refunded": 25.0}
    assert counter.seen[-1] == ("refund", {"order_id": 103, "amount": 25.0})
    assert counter.counts == {"find_customer": 1, "open_orders": 1, "refund": 1}
    await cm.aclose()


async def test_require_approval_marks_tools_by_name() -> None:
    counter = Counter()
    plain = [t for t in shop_tools(counter) if t.name != "refund"]  # none needs approval
    marked = require_approval(
        plain, {"open_orders": True, "find_customer": lambda args: "@vip" in args["email"]}
    )
    by_name = {t.name: t for t in marked}
    assert by_name["open_orders"].requires_approval is True
    assert by_name["remember"].requires_approval is False
    assert require_approval(plain, None) == plain

    cm = CodeMode(marked, executor="inprocess", store=MemoryStore())
    fine = await cm.run('return (await tools.find_customer(email="a@b"))["id"]')
    assert fine.value == 7
    paused = await cm.run('return await tools.find_customer(email="x@vip")')
    assert paused.status == "paused" and paused.pending[0].tool == "tools.find_customer"
    await cm.aclose()


def test_require_approval_refuses_names_it_does_not_know() -> None:
    tools = shop_tools(Counter())
    with pytest.raises(ConfigurationError, match=r"'refnud', which is not among the tools"):
        require_approval(tools, {"refnud": True})
    with pytest.raises(ConfigurationError, match=r"require_approval\['refund'\] must be True"):
        require_approval(tools, {"refund": "yes"})  # type: ignore[dict-item]


def test_a_rule_saying_false_turns_approval_off() -> None:
    tools: list[Tool] = shop_tools(Counter())
    [refund] = [t for t in require_approval(tools, {"refund": False}) if t.name == "refund"]
    assert refund.requires_approval is False


def test_wait_awaits_on_the_loop_run_sync_uses() -> None:
    """Synchronous adapters read the store (or adopt a record) on the CodeMode's own loop."""
    counter = Counter()
    cm = CodeMode(shop_tools(counter), executor="inprocess")
    paused = cm.run_sync(REFUND_PLAN)
    record = cm.wait(cm.store.load(paused.execution_id))
    assert record is not None and record.pending == paused.pending
    other = CodeMode(shop_tools(counter), executor="inprocess")
    assert other.wait(adopt(other.store, record)) is True
    done = other.resume_sync(paused.execution_id, {paused.pending[0].request_id: approve})
    assert done.ok and counter.counts == {"find_customer": 1, "open_orders": 1, "refund": 1}
    cm.close()
    other.close()
