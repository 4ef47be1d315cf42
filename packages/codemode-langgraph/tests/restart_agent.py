"""One process of the restart test: `start` runs the agent until the plan waits for approval and
prints the interrupt; `resume` (a new process, same SQLite checkpoint file) answers it.

Usage: python restart_agent.py start|resume CHECKPOINTS CALL_LOG SYS_PATH_JSON [ANSWER_JSON]
Every tool call is appended to CALL_LOG, so the test counts calls across both processes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path[:0] = json.loads(sys.argv[4])

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver  # noqa: E402
from langgraph.types import Command  # noqa: E402

from codemode_langgraph import create_codemode_agent  # noqa: E402
from langchain_fakes import ScriptedChatModel, code_call  # noqa: E402

PHASE, CHECKPOINTS, CALL_LOG = sys.argv[1:4]

PLAN = """
customer = await tools.find_customer(email="ada@example.com")
orders = await tools.open_orders(customer_id=customer["id"])
biggest = max(orders, key=lambda o: o["total"])
done = await tools.refund(order_id=biggest["id"], amount=biggest["total"])
return {"refunded": done["refunded"], "orders_seen": len(orders)}
"""


def log(name: str, **arguments: Any) -> None:
    with Path(CALL_LOG).open("a") as calls:
        calls.write(json.dumps([name, arguments]) + "\n")


@tool
def find_customer(email: str) -> dict[str, Any]:
    """Find a customer by email."""
    log("find_customer", email=email)
    return {"id": 7}


@tool
def open_orders(customer_id: int) -> list[dict[str, Any]]:
    """A customer's open orders."""
    log("open_orders", customer_id=customer_id)
    return [{"id": 100 + i, "total": 20.0 * i} for i in range(1, 4)]


@tool
def refund(order_id: int, amount: float) -> dict[str, Any]:
    """Refund an order."""
    log("refund", order_id=order_id, amount=amount)
    return {"order_id": order_id, "refunded": amount}


async def main() -> None:
    script = [code_call(PLAN, "call_1"), AIMessage("Refunded 60.")]
    model = ScriptedChatModel(messages=iter(script if PHASE == "start" else script[1:]))
    thread = {"configurable": {"thread_id": "ada"}}
    async with AsyncSqliteSaver.from_conn_string(CHECKPOINTS) as saver:
        agent = create_codemode_agent(
            model,
            [find_customer, open_orders, refund],
            checkpointer=saver,
            require_approval={"refund": True},
        )
        if PHASE == "start":
            state = await agent.ainvoke({"messages": [HumanMessage("Refund ada")]}, thread)
            [interrupt] = state["__interrupt__"]
            print(json.dumps(interrupt.value))
        else:
            answer = json.loads(sys.argv[5])
            state = await agent.ainvoke(Command(resume=answer), thread)
            replies = [m.content for m in state["messages"] if isinstance(m, ToolMessage)]
            print(json.dumps({"replies": replies, "last": state["messages"][-1].content}))
        agent_node = agent.nodes["tools"].bound
        await agent_node.code_mode.aclose()


asyncio.run(main())
