"""One process of the crash test: `start` runs the agent until its plan is inside `charge`,
prints "holding" and waits there to be SIGKILLed; `recover` (a new process, same checkpoint
file, store and thread id) runs the graph on from its checkpoint, answers the interrupt of
the call in doubt with ANSWER_JSON (`{"type": "reject", ...}` or `{"type": "approve"}`), and
prints what it saw.

Usage: python crash_agent.py start|recover CHECKPOINTS STORE EFFECTS SYS_PATH_JSON [ANSWER_JSON]
Each side effect of the tools is one line appended to EFFECTS (`O_APPEND`, one `write`), so the
test counts them across both processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

sys.path[:0] = json.loads(sys.argv[5])

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage  # noqa: E402
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver  # noqa: E402
from langgraph.graph import START, MessagesState, StateGraph  # noqa: E402
from langgraph.prebuilt import tools_condition  # noqa: E402
from langgraph.types import Command  # noqa: E402

from codemode_core import ResumeError  # noqa: E402
from codemode_core.durable import SQLiteStore  # noqa: E402
from codemode_langgraph import CodeModeNode  # noqa: E402
from langchain_fakes import ScriptedChatModel, code_call  # noqa: E402

PHASE, CHECKPOINTS, STORE, EFFECTS = sys.argv[1:5]
LEASE = 1.0
"""Seconds: the killed process's claim lapses at most this long after the kill."""

PLAN = """
a = await tools.step(n=1)
b, c = await asyncio.gather(tools.step(n=2), tools.step(n=3))
try:
    charged = await tools.charge(total=a + b + c)
except ToolError as e:
    charged = f"not again: {e}"
d = await tools.step(n=4)
return {"charged": charged, "last": d}
"""


def effect(line: str) -> None:
    fd = os.open(EFFECTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


def step(n: int) -> int:
    """A step with a side effect."""
    effect(f"step {n}")
    return n


async def charge(total: int) -> str:
    """Charge a card (a side effect that is not idempotent)."""
    effect(f"charge {total}")
    if PHASE == "start":
        print("holding", flush=True)
        await asyncio.Event().wait()  # until SIGKILL
    return f"charged {total}"


async def main() -> None:
    script = [code_call(PLAN, "call_1"), AIMessage("Done.")]
    model = ScriptedChatModel(messages=iter(script if PHASE == "start" else script[1:]))
    thread = {"configurable": {"thread_id": "crash"}}
    async with AsyncSqliteSaver.from_conn_string(CHECKPOINTS) as saver:
        node = CodeModeNode(
            [step, charge], store=SQLiteStore(STORE), executor="inprocess", lease=LEASE
        )
        bound = model.bind_tools([node.code_tool])

        async def call_model(state: MessagesState) -> dict[str, list[AnyMessage]]:
            return {"messages": [await bound.ainvoke(state["messages"])]}

        graph = StateGraph(MessagesState)
        graph.add_node("agent", call_model)
        graph.add_node("tools", node)
        graph.add_edge(START, "agent")
        graph.add_conditional_edges("agent", tools_condition)
        graph.add_edge("tools", "agent")
        agent = graph.compile(checkpointer=saver)
        if PHASE == "start":
            # "sync": each step's checkpoint is written before the next step starts (LangGraph's
            # default, "async", writes it while the next step runs, so a crash can lose it).
            await agent.ainvoke(
                {"messages": [HumanMessage("Charge it")]}, thread, durability="sync"
            )
            print("finished (it should have been killed)", flush=True)
            return
        refused = 0
        deadline = time.monotonic() + 10 * LEASE
        while True:  # the dead process's lease lapses LEASE seconds after its last heartbeat
            try:
                state = await agent.ainvoke(None, thread, durability="sync")
                break
            except ResumeError as exc:
                assert "already running" in str(exc) and time.monotonic() < deadline, exc
                refused += 1
                await asyncio.sleep(0.1)
        [interrupt] = state["__interrupt__"]
        answer = {interrupt.value["codemode"]["requests"][0]["request_id"]: json.loads(sys.argv[6])}
        done = await agent.ainvoke(Command(resume=answer), thread, durability="sync")
        replies = [m.content for m in done["messages"] if isinstance(m, ToolMessage)]
        report: dict[str, Any] = {
            "refused": refused,
            "interrupt": interrupt.value,
            "replies": replies,
            "last": done["messages"][-1].content,
        }
        print(json.dumps(report), flush=True)
        await node.code_mode.aclose()


asyncio.run(main())
