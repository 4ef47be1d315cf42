"""`create_agent` with a Code Mode tool whose plan needs a human: an interrupt naming the
inner call (HumanInTheLoopMiddleware's shape), resumed with its decision format; or decided
inline by an approver callback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from approval_support import PLAN, TOOLS
from codemode_langchain import create_codemode_tool
from langchain_fakes import ScriptedChatModel, code_call


@pytest.fixture
def call_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.jsonl"
    monkeypatch.setattr("approval_support.LOG", str(path))
    return path


def calls(path: Path) -> list[str]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def last_tool_reply(state: dict[str, Any]) -> Any:
    return json.loads([m for m in state["messages"] if isinstance(m, ToolMessage)][-1].content)


async def test_create_agent_interrupts_with_the_inner_call_and_resumes(call_log: Path) -> None:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "c1"), AIMessage("Done.")]))
    run_code = create_codemode_tool(TOOLS, require_approval={"refund": True}, executor="inprocess")
    agent = create_agent(model, tools=[run_code], checkpointer=InMemorySaver())
    thread = {"configurable": {"thread_id": "a"}}

    first = await agent.ainvoke({"messages": [HumanMessage("refund ada")]}, thread)
    [pending] = first["__interrupt__"]
    assert pending.value["action_requests"] == [
        {
            "name": "tools.refund",
            "args": {"order_id": 103, "amount": 30.0},
            "description": "tools.refund (plan line 5) needs approval",
        }
    ]
    done = await agent.ainvoke(Command(resume={"decisions": [{"type": "approve"}]}), thread)
    assert last_tool_reply(done) == "refunded 30.0 on 103"
    assert calls(call_log) == ["find_customer", "list_orders", "refund"]


async def test_an_approver_callback_decides_without_interrupting(call_log: Path) -> None:
    asked: list[str] = []

    def approver(request: Any) -> Any:
        asked.append(request.tool)
        return {"type": "reject", "message": "not today"}["type"] == "approve"

    model = ScriptedChatModel(messages=iter([code_call(PLAN, "c1"), AIMessage("Done.")]))
    run_code = create_codemode_tool(
        TOOLS,
        require_approval={"refund": lambda args: args["amount"] > 10},
        approver=approver,
        executor="inprocess",
    )
    state = await create_agent(model, tools=[run_code]).ainvoke(
        {"messages": [HumanMessage("refund ada")]}
    )
    assert asked == ["tools.refund"]
    assert last_tool_reply(state) == "no refund: not approved: a human rejected this call"
    assert calls(call_log) == ["find_customer", "list_orders"]


def test_require_approval_names_real_tools() -> None:
    with pytest.raises(Exception, match="require_approval names no tool 'refnd'"):
        create_codemode_tool(TOOLS, require_approval={"refnd": True})
