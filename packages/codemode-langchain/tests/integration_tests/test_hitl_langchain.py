"""Approvals in a real `langchain.agents.create_agent` loop: the plan's inner calls interrupt the
agent with LangChain's human-in-the-loop request, and `Command(resume=...)` finishes the plan
without running the calls made before the pause again."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import ValidationError

from codemode_core import PendingApproval
from codemode_core.durable import reject
from codemode_langchain import CodeModeArtifact, CodeModeMiddleware, create_codemode_tool
from langchain_fakes import ScriptedChatModel, code_call

CALLS: list[tuple[str, dict[str, Any]]] = []


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


@tool
def find_customer(email: str) -> dict[str, Any]:
    """Find a customer by email."""
    CALLS.append(("find_customer", {"email": email}))
    return {"id": 7, "email": email}


@tool
def open_orders(customer_id: int) -> list[dict[str, Any]]:
    """A customer's open orders."""
    CALLS.append(("open_orders", {"customer_id": customer_id}))
    return [{"id": 100 + i, "total": 20.0 * i} for i in range(1, 4)]


@tool
async def refund(order_id: int, amount: float) -> dict[str, Any]:
    """Refund an order."""
    CALLS.append(("refund", {"order_id": order_id, "amount": amount}))
    return {"order_id": order_id, "refunded": amount}


TOOLS = [find_customer, open_orders, refund]

PLAN = """
customer = await tools.find_customer(email="ada@example.com")
orders = await tools.open_orders(customer_id=customer["id"])
biggest = max(orders, key=lambda o: o["total"])
try:
    done = await tools.refund(order_id=biggest["id"], amount=biggest["total"])
except ToolError as e:
    return f"no refund: {e}"
return done
"""

THREAD = {"configurable": {"thread_id": "ada"}}


def counts() -> dict[str, int]:
    found: dict[str, int] = {}
    for name, _ in CALLS:
        found[name] = found.get(name, 0) + 1
    return found


def agent_with(model: ScriptedChatModel, **options: Any) -> Any:
    code_tool = create_codemode_tool(
        TOOLS, require_approval={"refund": True}, executor="inprocess", **options
    )
    return create_agent(model, tools=[code_tool], checkpointer=InMemorySaver())


def code_reply(state: dict[str, Any]) -> ToolMessage:
    [reply] = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    return reply


async def test_a_paused_plan_interrupts_the_agent_and_approval_finishes_it() -> None:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "call_1"), AIMessage("Refunded.")]))
    agent = agent_with(model)

    paused = await agent.ainvoke({"messages": [("user", "Refund ada's biggest order")]}, THREAD)

    [interrupt] = paused["__interrupt__"]
    [action] = interrupt.value["action_requests"]
    assert action["name"] == "refund" and action["args"] == {"order_id": 103, "amount": 60.0}
    assert interrupt.value["review_configs"] == [
        {"action_name": "refund", "allowed_decisions": ["approve", "edit", "reject"]}
    ]
    [request] = interrupt.value["codemode"]["requests"]
    assert (request["tool"], request["line"]) == ("tools.refund", 6)
    assert interrupt.value["codemode"]["tool_call_id"] == "call_1"
    assert counts() == {"find_customer": 1, "open_orders": 1}
    assert not any(isinstance(m, ToolMessage) for m in paused["messages"])  # still running

    done = await agent.ainvoke(Command(resume={"decisions": [{"type": "approve"}]}), THREAD)

    reply = code_reply(done)
    assert reply.tool_call_id == "call_1"
    assert reply.content == '{"order_id": 103, "refunded": 60.0}'
    assert isinstance(reply.artifact, CodeModeArtifact)
    assert [c.tool for c in reply.artifact.result.tool_calls][-1] == "tools.refund"
    assert done["messages"][-1].content == "Refunded."
    assert counts() == {"find_customer": 1, "open_orders": 1, "refund": 1}  # once in total


async def test_a_rejection_reaches_the_plan_as_a_tool_error_it_handles() -> None:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "call_1"), AIMessage("Not done.")]))
    agent = agent_with(model)
    await agent.ainvoke({"messages": [("user", "Refund ada's biggest order")]}, THREAD)

    answer = {"decisions": [{"type": "reject", "message": "over the limit"}]}
    done = await agent.ainvoke(Command(resume=answer), THREAD)

    assert code_reply(done).content == '"no refund: not approved: over the limit"'
    assert counts() == {"find_customer": 1, "open_orders": 1}
    assert done["messages"][-1].content == "Not done."


async def test_an_edit_runs_the_call_with_the_reviewers_arguments() -> None:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "call_1"), AIMessage("Partly.")]))
    agent = agent_with(model)
    await agent.ainvoke({"messages": [("user", "Refund")]}, THREAD)

    edited = {"name": "refund", "args": {"order_id": 103, "amount": 25.0}}
    done = await agent.ainvoke(
        Command(resume={"decisions": [{"type": "edit", "edited_action": edited}]}), THREAD
    )

    assert code_reply(done).content == '{"order_id": 103, "refunded": 25.0}'
    assert CALLS[-1] == ("refund", {"order_id": 103, "amount": 25.0})
    assert counts() == {"find_customer": 1, "open_orders": 1, "refund": 1}


async def test_a_bad_answer_fails_the_resume_and_can_be_answered_again() -> None:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "call_1"), AIMessage("Refunded.")]))
    agent = agent_with(model)
    paused = await agent.ainvoke({"messages": [("user", "Refund")]}, THREAD)
    [request] = paused["__interrupt__"][0].value["codemode"]["requests"]

    with pytest.raises(ValidationError, match="no pending request 'wrong-id'"):
        await agent.ainvoke(Command(resume={"wrong-id": "approve"}), THREAD)
    state = await agent.aget_state(THREAD)
    assert state.interrupts and counts() == {"find_customer": 1, "open_orders": 1}

    done = await agent.ainvoke(Command(resume={request["request_id"]: "approve"}), THREAD)
    assert code_reply(done).content == '{"order_id": 103, "refunded": 60.0}'
    assert counts() == {"find_customer": 1, "open_orders": 1, "refund": 1}


@pytest.mark.parametrize("verdict", ["approve", "reject"])
async def test_an_approver_callback_decides_without_interrupting(verdict: str) -> None:
    asked: list[PendingApproval] = []

    def approver(request: PendingApproval) -> Any:
        asked.append(request)
        return True if verdict == "approve" else reject("policy says no")

    model = ScriptedChatModel(messages=iter([code_call(PLAN, "call_1"), AIMessage("Done.")]))
    agent = agent_with(model, approver=approver)

    state = await agent.ainvoke({"messages": [("user", "Refund")]}, THREAD)

    assert "__interrupt__" not in state
    assert [(r.tool, dict(r.arguments)) for r in asked] == [
        ("tools.refund", {"order_id": 103, "amount": 60.0})
    ]
    expected = (
        '{"order_id": 103, "refunded": 60.0}'
        if verdict == "approve"
        else '"no refund: not approved: policy says no"'
    )
    assert code_reply(state).content == expected
    assert counts().get("refund", 0) == (1 if verdict == "approve" else 0)


async def test_middleware_approvals_resume_in_a_fresh_agent_on_the_same_checkpointer() -> None:
    """The resuming agent's middleware has seen no model call: it takes the plans' tools from
    the tool node, and the paused execution from the checkpointer."""
    saver = InMemorySaver()
    script = [code_call(PLAN, "call_1"), AIMessage("Refunded.")]

    def build(model: ScriptedChatModel) -> Any:
        middleware = CodeModeMiddleware(require_approval={"refund": True}, executor="inprocess")
        return create_agent(model, tools=TOOLS, middleware=[middleware], checkpointer=saver)

    first = build(ScriptedChatModel(messages=iter(script)))
    paused = await first.ainvoke({"messages": [("user", "Refund")]}, THREAD)
    assert paused["__interrupt__"][0].value["action_requests"][0]["name"] == "refund"

    model = ScriptedChatModel(messages=iter(script[1:]))
    second = build(model)
    done = await second.ainvoke(Command(resume={"decisions": [{"type": "approve"}]}), THREAD)

    assert code_reply(done).content == '{"order_id": 103, "refunded": 60.0}'
    assert model.offered == [["run_code"]]
    assert counts() == {"find_customer": 1, "open_orders": 1, "refund": 1}


async def test_stream_shows_the_pause_as_a_request_and_the_resume_marks_replays() -> None:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "call_1"), AIMessage("Refunded.")]))
    agent = agent_with(model)

    async def custom(payload: Any) -> list[tuple[str, str, bool]]:
        seen = []
        async for chunk in agent.astream(payload, THREAD, stream_mode="custom"):
            assert chunk["event"] == f"codemode.{chunk['kind']}"
            seen.append((chunk["kind"], chunk["tool"], chunk["replayed"]))
        return seen

    first = await custom({"messages": [("user", "Refund ada's biggest order")]})
    assert first == [
        ("tool_start", "tools.find_customer", False),
        ("tool_end", "tools.find_customer", False),
        ("tool_start", "tools.open_orders", False),
        ("tool_end", "tools.open_orders", False),
        ("approval_requested", "tools.refund", False),
    ]
    edited = {
        "type": "edit",
        "edited_action": {"name": "refund", "args": {"order_id": 103, "amount": 1.0}},
    }
    second = await custom(Command(resume={"decisions": [edited]}))
    assert second == [
        ("tool_start", "tools.find_customer", True),
        ("tool_end", "tools.find_customer", True),
        ("tool_start", "tools.open_orders", True),
        ("tool_end", "tools.open_orders", True),
        ("tool_start", "tools.refund", False),
        ("tool_end", "tools.refund", False),
    ]
    assert counts() == {"find_customer": 1, "open_orders": 1, "refund": 1}
    assert CALLS[-1] == ("refund", {"order_id": 103, "amount": 1.0})
