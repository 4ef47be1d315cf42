"""Approvals in LangGraph graphs: a paused plan becomes `interrupt()`, `Command(resume=...)`
continues it from the journal kept in the graph's checkpointer, and nothing runs twice."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import tools_condition
from langgraph.types import Command

from codemode_langgraph import CodeModeNode, create_codemode_agent
from langchain_fakes import ScriptedChatModel, code_call

HERE = Path(__file__).parent
CALLS: list[tuple[str, dict[str, Any]]] = []
THREAD = {"configurable": {"thread_id": "ada"}}


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


def counts() -> dict[str, int]:
    found: dict[str, int] = {}
    for name, _ in CALLS:
        found[name] = found.get(name, 0) + 1
    return found


@tool
def find_customer(email: str) -> dict[str, Any]:
    """Find a customer by email."""
    CALLS.append(("find_customer", {"email": email}))
    return {"id": 7}


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


def replies(state: dict[str, Any]) -> dict[str, str]:
    return {
        str(m.tool_call_id): str(m.content) for m in state["messages"] if isinstance(m, ToolMessage)
    }


def test_an_approval_survives_a_process_restart_with_the_sqlite_checkpointer(
    tmp_path: Path,
) -> None:
    """Process one runs until the plan waits and exits; process two, with nothing but the
    same checkpoint file, approves: the plan finishes, and each tool ran once in total."""
    checkpoints, call_log = tmp_path / "threads.sqlite", tmp_path / "calls.jsonl"
    search_path = json.dumps([p for p in sys.path if p])

    def run(*args: str) -> Any:
        done = subprocess.run(
            [sys.executable, str(HERE / "restart_agent.py"), *args],
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    interrupt = run("start", str(checkpoints), str(call_log), search_path)
    [request] = interrupt["codemode"]["requests"]
    assert (request["tool"], request["arguments"]) == (
        "tools.refund",
        {"order_id": 103, "amount": 60.0},
    )
    assert interrupt["action_requests"][0]["name"] == "refund"

    answer = json.dumps({request["request_id"]: {"type": "approve"}})
    finished = run("resume", str(checkpoints), str(call_log), search_path, answer)

    assert finished["replies"] == ['{"refunded": 60.0, "orders_seen": 3}']
    assert finished["last"] == "Refunded 60."
    made = [json.loads(line)[0] for line in call_log.read_text().splitlines()]
    assert made == ["find_customer", "open_orders", "refund"]  # across both processes


async def test_a_rejected_call_is_a_tool_error_the_plan_handles() -> None:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "c1"), AIMessage("Kept it.")]))
    agent = create_codemode_agent(
        model,
        TOOLS,
        checkpointer=InMemorySaver(),
        require_approval={"refund": True},
        executor="inprocess",
    )
    paused = await agent.ainvoke({"messages": [HumanMessage("Refund ada")]}, THREAD)
    [request] = paused["__interrupt__"][0].value["codemode"]["requests"]
    assert counts() == {"find_customer": 1, "open_orders": 1}

    answer = {request["request_id"]: {"type": "reject", "message": "ask finance first"}}
    done = await agent.ainvoke(Command(resume=answer), THREAD)

    assert replies(done) == {"c1": '"no refund: not approved: ask finance first"'}
    assert done["messages"][-1].content == "Kept it."
    assert counts() == {"find_customer": 1, "open_orders": 1}


def refund_plan(order_id: int) -> str:
    return (
        'customer = await tools.find_customer(email="ada@example.com")\n'
        f"done = await tools.refund(order_id={order_id}, amount=10.0)\n"
        'return done["order_id"]'
    )


async def test_code_calls_of_one_message_pause_together_one_interrupt_each() -> None:
    both = code_call(refund_plan(1), "a", (refund_plan(2), "b"))
    model = ScriptedChatModel(messages=iter([both, AIMessage("Both refunded.")]))
    agent = create_codemode_agent(
        model,
        TOOLS,
        checkpointer=InMemorySaver(),
        require_approval={"refund": True},
        executor="inprocess",
    )
    paused = await agent.ainvoke({"messages": [HumanMessage("Refund 1 and 2")]}, THREAD)

    interrupts = paused["__interrupt__"]
    assert sorted(i.value["codemode"]["tool_call_id"] for i in interrupts) == ["a", "b"]
    answers = {i.id: {"decisions": [{"type": "approve"}]} for i in interrupts}
    done = await agent.ainvoke(Command(resume=answers), THREAD)

    assert replies(done) == {"a": "1", "b": "2"}
    assert counts() == {"find_customer": 2, "refund": 2}  # one each per plan, in total


def order_graph(model: ScriptedChatModel, node: CodeModeNode) -> Any:
    """A hand-built graph routing with `tools_condition`: every code call in one task."""
    bound = model.bind_tools([node.code_tool])

    def agent(state: MessagesState) -> dict[str, list[AnyMessage]]:
        return {"messages": [bound.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", node)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize("mode", ["async", "sync"])
async def test_code_calls_in_one_node_task_are_asked_in_message_order(
    mode: Literal["async", "sync"],
) -> None:
    """One task, three code calls (two pause): LangGraph matches the re-run node's steps and
    interrupts by their order, which `CodeModeNode` keeps to the message's."""
    three = code_call(
        refund_plan(1),
        "a",
        ('return (await tools.find_customer(email="x"))["id"]', "b"),
        (refund_plan(3), "c"),
    )
    model = ScriptedChatModel(messages=iter([three, AIMessage("Done.")]))
    node = CodeModeNode(TOOLS, require_approval={"refund": True}, executor="inprocess")
    graph = order_graph(model, node)

    async def invoke(value: Any) -> dict[str, Any]:
        if mode == "sync":
            result: dict[str, Any] = graph.invoke(value, THREAD)
            return result
        return dict(await graph.ainvoke(value, THREAD))

    asked: list[str] = []
    state = await invoke({"messages": [HumanMessage("Refund 1 and 3")]})
    while "__interrupt__" in state:
        [interrupt] = state["__interrupt__"]
        asked.append(interrupt.value["codemode"]["tool_call_id"])
        state = await invoke(Command(resume={"decisions": [{"type": "approve"}]}))

    assert asked == ["a", "c"]
    assert replies(state) == {"a": "1", "b": "7", "c": "3"}
    assert counts() == {"find_customer": 3, "refund": 2}
    assert [args["order_id"] for name, args in CALLS if name == "refund"] == [1, 3]


async def test_undecided_requests_are_asked_again_under_the_same_id() -> None:
    plan = (
        "a, b = await asyncio.gather(tools.refund(order_id=1, amount=5.0),"
        " tools.refund(order_id=2, amount=6.0))\n"
        "return [a['order_id'], b['order_id']]"
    )
    model = ScriptedChatModel(messages=iter([code_call(plan, "c1"), AIMessage("ok")]))
    agent = create_codemode_agent(
        model,
        TOOLS,
        checkpointer=InMemorySaver(),
        require_approval={"refund": lambda args: args["amount"] > 1},
        executor="inprocess",
    )
    paused = await agent.ainvoke({"messages": [HumanMessage("Refund both")]}, THREAD)
    first, second = paused["__interrupt__"][0].value["codemode"]["requests"]

    again = await agent.ainvoke(Command(resume={first["request_id"]: "approve"}), THREAD)
    [still] = again["__interrupt__"][0].value["codemode"]["requests"]
    assert still["request_id"] == second["request_id"]
    done = await agent.ainvoke(Command(resume={second["request_id"]: True}), THREAD)

    assert replies(done) == {"c1": "[1, 2]"}
    assert counts() == {"refund": 2}


async def test_an_answer_after_the_pause_expired_tells_the_model_and_runs_nothing() -> None:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "c1"), AIMessage("Too late.")]))
    agent = create_codemode_agent(
        model,
        TOOLS,
        checkpointer=InMemorySaver(),
        require_approval={"refund": True},
        executor="inprocess",
        pause_ttl=0.2,
    )
    await agent.ainvoke({"messages": [HumanMessage("Refund ada")]}, THREAD)
    await asyncio.sleep(0.3)

    done = await agent.ainvoke(Command(resume={"decisions": [{"type": "approve"}]}), THREAD)

    reply = replies(done)["c1"]
    assert reply.startswith("timeout error at line 6: the approval of tools.refund (line 6)")
    assert "came after the pause expired" in reply
    assert done["messages"][-1].content == "Too late."
    assert counts() == {"find_customer": 1, "open_orders": 1}


async def test_a_graph_paused_by_invoke_resumes_with_ainvoke() -> None:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "c1"), AIMessage("Refunded.")]))
    agent = create_codemode_agent(
        model,
        TOOLS,
        checkpointer=InMemorySaver(),
        require_approval={"refund": True},
        executor="inprocess",
    )
    paused = await asyncio.to_thread(
        agent.invoke, {"messages": [HumanMessage("Refund ada")]}, THREAD
    )
    assert "__interrupt__" in paused and counts() == {"find_customer": 1, "open_orders": 1}

    done = await agent.ainvoke(Command(resume={"decisions": [{"type": "approve"}]}), THREAD)

    assert replies(done) == {"c1": '{"order_id": 103, "refunded": 60.0}'}
    assert counts() == {"find_customer": 1, "open_orders": 1, "refund": 1}
