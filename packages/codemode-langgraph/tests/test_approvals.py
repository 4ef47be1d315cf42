"""A plan that needs a human: LangGraph interrupt(), Command(resume=...), no tool run twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command

from approval_support import PLAN, TOOLS
from codemode_langgraph import create_codemode_agent
from langchain_fakes import ScriptedChatModel, code_call


@pytest.fixture
def call_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.jsonl"
    monkeypatch.setattr("approval_support.LOG", str(path))
    return path


def calls(path: Path) -> list[str]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def agent(model: ScriptedChatModel, checkpointer: Any) -> Any:
    return create_codemode_agent(
        model,
        TOOLS,
        checkpointer=checkpointer,
        require_approval={"refund": True},
        executor="inprocess",
    )


@pytest.mark.parametrize(
    ("decision", "answer"),
    [
        ("approve", "refunded 30.0 on 103"),
        ({"type": "reject", "message": "too much"}, "no refund: not approved: too much"),
    ],
)
async def test_pause_is_an_interrupt_and_resume_finishes_without_repeating_calls(
    call_log: Path, decision: Any, answer: str
) -> None:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "c1"), AIMessage("Done.")]))
    graph = agent(model, InMemorySaver())
    thread = {"configurable": {"thread_id": "t1"}}

    first = await graph.ainvoke({"messages": [HumanMessage("refund ada")]}, thread)
    [pending] = first["__interrupt__"]
    [request] = pending.value["requests"]
    assert (request["tool"], request["line"]) == ("tools.refund", 5)
    assert request["arguments"] == {"order_id": 103, "amount": 30.0}
    assert calls(call_log) == ["find_customer", "list_orders"]

    done = await graph.ainvoke(Command(resume={request["request_id"]: decision}), thread)
    reply = [m for m in done["messages"] if isinstance(m, ToolMessage)][-1]
    assert json.loads(reply.content) == answer
    assert done["messages"][-1].content == "Done."
    expected = ["find_customer", "list_orders"] + (["refund"] if decision == "approve" else [])
    assert calls(call_log) == expected  # the first two ran once, over both invocations


_RESUME_IN_A_NEW_PROCESS = """
import asyncio, json, sys
sys.path[:0] = json.loads(sys.argv[3])
from langchain_core.messages import AIMessage
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command
from approval_support import TOOLS
from codemode_langgraph import create_codemode_agent, resume_value
from langchain_fakes import ScriptedChatModel

async def main():
    async with AsyncSqliteSaver.from_conn_string(sys.argv[1]) as saver:
        graph = create_codemode_agent(
            ScriptedChatModel(messages=iter([AIMessage("Refunded.")])), TOOLS,
            checkpointer=saver, require_approval={"refund": True}, executor="inprocess")
        thread = {"configurable": {"thread_id": sys.argv[2]}}
        [pending] = (await graph.aget_state(thread)).interrupts
        decisions = {pending.value["requests"][0]["request_id"]: "approve"}
        done = await graph.ainvoke(Command(resume=resume_value(pending.value, decisions)), thread)
        print(json.dumps(done["messages"][-2].content))

asyncio.run(main())
"""


async def test_resume_after_a_process_restart_from_the_sqlite_checkpointer(
    call_log: Path, tmp_path: Path
) -> None:
    database = str(tmp_path / "threads.sqlite")
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "c1")]))
    async with AsyncSqliteSaver.from_conn_string(database) as saver:
        first = await agent(model, saver).ainvoke(
            {"messages": [HumanMessage("refund ada")]}, {"configurable": {"thread_id": "t9"}}
        )
    assert first["__interrupt__"]
    here = Path(__file__).resolve().parent
    search_path = [str(here), str(here.parents[2] / "integration_tests" / "support"), *sys.path]
    done = subprocess.run(
        [sys.executable, "-c", _RESUME_IN_A_NEW_PROCESS, database, "t9", json.dumps(search_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CODEMODE_CALL_LOG": str(call_log)},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == '"refunded 30.0 on 103"'
    assert calls(call_log) == ["find_customer", "list_orders", "refund"]  # once each, in total
