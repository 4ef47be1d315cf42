"""The interrupt value and the answers to it, against LangChain's own human-in-the-loop types."""

from __future__ import annotations

import re
import typing
from typing import Any

import pytest
from langchain.agents.middleware import human_in_the_loop as hitl
from langchain_core.tools import tool
from pydantic import TypeAdapter, ValidationError

from codemode_core.durable import approve, edit, reject
from codemode_langchain import create_codemode_tool
from codemode_langchain.approvals import (
    ActionRequest,
    ApprovalInterrupt,
    ReviewConfig,
    answer_schema,
    approval_interrupt,
    to_decisions,
)


@tool
def refund(order_id: int, amount: float) -> str:
    """Refund an order."""
    return f"refunded {amount}"


@tool
def notify(text: str) -> str:
    """Tell the customer."""
    return "sent"


PLAN = """
a, b = await asyncio.gather(
    tools.refund(order_id=1, amount=5.0),
    tools.notify(text="hello"),
)
return [a, b]
"""


@pytest.fixture
def paused_interrupt() -> ApprovalInterrupt:
    code_tool = create_codemode_tool(
        [refund, notify],
        require_approval={"refund": True, "notify": True},
        executor="inprocess",
    )
    result = code_tool.code_mode.run_sync(PLAN)
    assert result.status == "paused"
    code_tool.code_mode.close()
    return approval_interrupt(
        result, code_tool.code_mode, code_tool="run_code", tool_call_id="call_1"
    )


def test_the_interrupt_is_the_middlewares_request_naming_the_inner_calls(
    paused_interrupt: ApprovalInterrupt,
) -> None:
    value = paused_interrupt
    assert sorted(a["name"] for a in value["action_requests"]) == ["notify", "refund"]
    by_name = {a["name"]: a for a in value["action_requests"]}
    assert by_name["refund"]["args"] == {"order_id": 1, "amount": 5.0}
    assert "Tool: refund" in by_name["refund"]["description"]
    assert "run_code plan at line 3" in by_name["refund"]["description"]
    assert [c["action_name"] for c in value["review_configs"]] == [
        a["name"] for a in value["action_requests"]
    ]
    assert all(
        c["allowed_decisions"] == ["approve", "edit", "reject"] for c in value["review_configs"]
    )
    details = value["codemode"]
    assert details["tool_call_id"] == "call_1" and details["code_tool"] == "run_code"
    assert sorted(r["tool"] for r in details["requests"]) == ["tools.notify", "tools.refund"]
    assert all(len(r["request_id"]) == 12 and r["line"] in (3, 4) for r in details["requests"])
    # The same keys (and a subset of the decision types) as LangChain's middleware uses.
    assert set(value) - {"codemode"} == set(typing.get_type_hints(hitl.HITLRequest))
    assert set(ActionRequest.__annotations__) == set(typing.get_type_hints(hitl.ActionRequest))
    assert set(ReviewConfig.__annotations__) <= set(typing.get_type_hints(hitl.ReviewConfig))
    assert {"approve", "edit", "reject"} <= set(typing.get_args(hitl.DecisionType))


def test_answers_in_the_middlewares_form_map_to_decisions_by_position(
    paused_interrupt: ApprovalInterrupt,
) -> None:
    first, second = (r["request_id"] for r in paused_interrupt["codemode"]["requests"])
    names = [a["name"] for a in paused_interrupt["action_requests"]]
    answer = {
        "decisions": [
            {"type": "edit", "edited_action": {"name": names[0], "args": {"x": 1}}},
            {"type": "reject", "message": "not today"},
        ]
    }
    assert to_decisions(answer, paused_interrupt) == {
        first: edit({"x": 1}),
        second: reject("not today"),
    }
    plain = {"decisions": [{"type": "approve"}, {"type": "reject"}]}
    assert to_decisions(plain, paused_interrupt) == {first: approve, second: reject()}


def test_answers_by_request_id_may_decide_some(paused_interrupt: ApprovalInterrupt) -> None:
    first, second = (r["request_id"] for r in paused_interrupt["codemode"]["requests"])
    assert to_decisions({first: "approve"}, paused_interrupt) == {first: approve}
    assert to_decisions({first: True, second: False}, paused_interrupt) == {
        first: approve,
        second: reject(),
    }
    assert to_decisions({second: {"type": "approve"}}, paused_interrupt) == {second: approve}


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"decisions": [{"type": "approve"}]}, "1 decision(s) for 2 action request(s)"),
        ({"nope": "approve"}, "no pending request 'nope'; pending: "),
        ({"decisions": [{"type": "respond", "message": "hi"}] * 2}, "respond"),
        ("approve", "dict"),
    ],
)
def test_answers_that_do_not_fit_fail_validation(
    paused_interrupt: ApprovalInterrupt, answer: Any, message: str
) -> None:
    """`interrupt()` validates with this schema, so a bad answer fails before anything runs."""
    adapter: TypeAdapter[Any] = TypeAdapter(answer_schema(paused_interrupt))
    with pytest.raises(ValidationError, match=re.escape(message)):
        adapter.validate_python(answer)
    assert adapter.json_schema()["anyOf"]  # published to clients as JSON Schema


def test_an_edit_cannot_switch_tools(paused_interrupt: ApprovalInterrupt) -> None:
    other = {"type": "edit", "edited_action": {"name": "delete_everything", "args": {}}}
    first = paused_interrupt["codemode"]["requests"][0]["request_id"]
    with pytest.raises(ValueError, match="an edit can change the arguments, not the tool"):
        to_decisions({first: other}, paused_interrupt)
