"""A plan that needs a human under pydantic-ai: the run ends with DeferredToolRequests; the
next run with DeferredToolResults resumes the plan, and no tool runs twice."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic_ai import Agent, DeferredToolRequests, DeferredToolResults

from codemode_pydantic_ai import CodeModeToolset
from pydantic_ai_fakes import ScriptedModel, answer, code_call, last_tool_output

MADE: list[str] = []


def find_customer(email: str) -> dict[str, Any]:
    """Find a customer by email."""
    MADE.append("find_customer")
    return {"id": 17, "email": email}


def list_orders(customer_id: int) -> list[dict[str, Any]]:
    """A customer's orders."""
    MADE.append("list_orders")
    return [{"id": 100 + i, "total": 10.0 * i} for i in range(1, 4)]


def refund(order_id: int, amount: float) -> str:
    """Refund an order (a human approves refunds)."""
    MADE.append("refund")
    return f"refunded {amount} on {order_id}"


PLAN = """customer = await tools.find_customer(email="ada@example.com")
orders = await tools.list_orders(customer_id=customer["id"])
biggest = max(orders, key=lambda o: o["total"])
try:
    return await tools.refund(order_id=biggest["id"], amount=biggest["total"])
except ToolError as e:
    return f"no refund: {e}"
"""


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        ("approve", "refunded 30.0 on 103"),
        ({"type": "reject", "message": "too much"}, "no refund: not approved: too much"),
    ],
)
async def test_deferred_tool_requests_then_results_resume_the_plan(
    decision: Any, expected: str
) -> None:
    MADE.clear()
    script = ScriptedModel([code_call(PLAN), answer("Done.")])
    toolset = CodeModeToolset(
        [find_customer, list_orders, refund],
        require_approval={"refund": True},
        executor="inprocess",
    )
    agent = Agent(script.model, toolsets=[toolset], output_type=[str, DeferredToolRequests])

    first = await agent.run("refund ada")
    assert isinstance(first.output, DeferredToolRequests)
    [call] = first.output.approvals
    codemode = first.output.metadata[call.tool_call_id]["codemode"]
    [request] = codemode["requests"]
    assert (request["tool"], request["line"]) == ("tools.refund", 5)
    assert MADE == ["find_customer", "list_orders"]

    results = DeferredToolResults(
        approvals={call.tool_call_id: True},
        metadata={call.tool_call_id: {"decisions": {request["request_id"]: decision}}},
    )
    second = await agent.run(message_history=first.all_messages(), deferred_tool_results=results)
    assert second.output == "Done."
    assert expected in last_tool_output(script.seen[-1][1])
    assert ["find_customer", "list_orders"] + (["refund"] if decision == "approve" else []) == MADE
