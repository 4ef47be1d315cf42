"""Real LangGraph graphs with a `CodeModeNode`, driven by a scripted LangChain chat model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import InjectedState, InjectedStore, tools_condition
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from codemode_core import Limits
from codemode_langgraph import CodeModeArtifact, CodeModeNode, create_codemode_agent
from langchain_fakes import ScriptedChatModel, code_call

CALLS: list[str] = []


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


@tool
def find_customer(email: str) -> dict[str, Any]:
    """Find a customer by email."""
    CALLS.append("find_customer")
    return {"id": 17, "email": email, "tier": "gold"}


@tool
def list_orders(customer_id: int) -> list[dict[str, Any]]:
    """A customer's orders."""
    CALLS.append("list_orders")
    return [{"id": 100 + i, "customer_id": customer_id, "total": 10.0 * i} for i in range(1, 6)]


@tool
async def get_refund_policy(tier: str) -> dict[str, Any]:
    """The refund policy of a customer tier."""
    CALLS.append("get_refund_policy")
    return {"tier": tier, "max_refund": 25.0}


TOOLS = [find_customer, list_orders, get_refund_policy]

PLAN = """
customer = await tools.find_customer(email="ada@example.com")
orders, policy = await asyncio.gather(
    tools.list_orders(customer_id=customer["id"]),
    tools.get_refund_policy(tier=customer["tier"]),
)
print(f"{len(orders)} orders")
return [o["id"] for o in orders if o["total"] <= policy["max_refund"]]
"""


def answer(text: str) -> AIMessage:
    return AIMessage(content=text)


def tool_messages(messages: list[AnyMessage]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


# A hand-built graph: the user replaces ToolNode with CodeModeNode -------------------------


class SupportState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    user_id: str


@tool
def my_tickets(user_id: Annotated[str, InjectedState("user_id")]) -> list[str]:
    """The signed-in user's open tickets."""
    CALLS.append("my_tickets")
    return [f"{user_id}-1", f"{user_id}-2"]


def support_graph(model: ScriptedChatModel, node: CodeModeNode) -> Any:
    bound = model.bind_tools([node.code_tool])

    async def agent(state: SupportState) -> dict[str, Any]:
        return {"messages": [await bound.ainvoke(state["messages"])]}

    graph = StateGraph(SupportState)
    graph.add_node("agent", agent)
    graph.add_node("tools", node)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile()


async def test_code_node_replaces_tool_node_in_a_custom_state_graph() -> None:
    plan = PLAN.replace("return ", "tickets = await tools.my_tickets()\nreturn tickets, ")
    model = ScriptedChatModel(messages=iter([code_call(plan, "call-1"), answer("Done.")]))
    node = CodeModeNode([*TOOLS, my_tickets])
    assert "def my_tickets() -> list[str]" in node.code_mode.stubs  # injected: hidden

    state = await support_graph(model, node).ainvoke(
        {"messages": [HumanMessage("Refund what you can for ada")], "user_id": "u42"}
    )

    assert model.offered == [["run_code"]]
    [reply] = tool_messages(state["messages"])
    assert reply.tool_call_id == "call-1" and reply.status == "success"
    assert '[["u42-1", "u42-2"], [101, 102]]' in str(reply.content)
    assert "5 orders" in str(reply.content)
    assert isinstance(reply.artifact, CodeModeArtifact)
    assert sorted(CALLS) == sorted([*(t.name for t in TOOLS), "my_tickets"])  # each once
    assert state["messages"][-1].content == "Done."


async def test_several_code_calls_in_one_message_run_concurrently() -> None:
    signal = asyncio.Event()

    @tool
    async def wait_for_signal() -> str:
        """Wait until `send_signal` is called."""
        await signal.wait()
        return "received"

    @tool
    def send_signal() -> str:
        """Release whoever waits."""
        signal.set()
        return "sent"

    # Run one after the other, the first plan would wait until its time limit.
    both = code_call(
        "return await tools.wait_for_signal()",
        "wait",
        ("return await tools.send_signal()", "send"),
    )
    model = ScriptedChatModel(messages=iter([both, answer("ok")]))
    agent = create_codemode_agent(model, [wait_for_signal, send_signal], limits=Limits(timeout=5.0))
    state = await asyncio.wait_for(agent.ainvoke({"messages": [HumanMessage("go")]}), 4.0)
    replies = {m.tool_call_id: str(m.content) for m in tool_messages(state["messages"])}
    assert "received" in replies["wait"] and "sent" in replies["send"]


# The ready-made agent: checkpointers, threads, failures, streams -------------------------


@pytest.mark.parametrize("saver", ["memory", "sqlite"])
async def test_two_turn_conversation_resumes_from_a_checkpointer(
    saver: str, tmp_path: Path
) -> None:
    script = [
        code_call(PLAN, "turn1"),
        answer("Orders 101 and 102 are refundable."),
        code_call('return await tools.get_refund_policy(tier="gold")', "turn2"),
        answer("Gold customers get up to 25."),
    ]
    model = ScriptedChatModel(messages=iter(script))
    thread = {"configurable": {"thread_id": "ada"}}
    async with _checkpointer(saver, tmp_path) as first_saver:
        first = create_codemode_agent(model, TOOLS, checkpointer=first_saver)
        await first.ainvoke({"messages": [HumanMessage("Which orders can be refunded?")]}, thread)
    # A new agent over the same storage (for SQLite: a new connection) continues the thread.
    async with _checkpointer(saver, tmp_path, reuse=first_saver) as second_saver:
        second = create_codemode_agent(model, TOOLS, checkpointer=second_saver)
        state = await second.ainvoke({"messages": [HumanMessage("And the limit?")]}, thread)
        other = await second.aget_state({"configurable": {"thread_id": "someone-else"}})

    history = model.seen[2]  # what the model read at the start of turn two
    assert [type(m).__name__ for m in history] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
        "HumanMessage",
    ]
    assert "[101, 102]" in str(history[2].content)
    assert state["messages"][-1].content == "Gold customers get up to 25."
    assert len(state["messages"]) == 8
    assert CALLS.count("get_refund_policy") == 2 and CALLS.count("find_customer") == 1
    assert other.values == {}  # threads are separate


class _checkpointer:
    """An in-memory saver (reused as is), or an async SQLite saver on a file (reopened)."""

    def __init__(self, kind: str, tmp_path: Path, reuse: Any = None) -> None:
        self.kind, self.path, self.reuse = kind, tmp_path / "threads.sqlite", reuse
        self._cm: Any = None

    async def __aenter__(self) -> Any:
        if self.kind == "memory":
            return self.reuse or InMemorySaver()
        self._cm = AsyncSqliteSaver.from_conn_string(str(self.path))
        return await self._cm.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        if self._cm is not None:
            await self._cm.__aexit__(*exc)


async def test_failing_plan_then_corrected_plan() -> None:
    bad = 'customer = await tools.find_customer(mail="ada@example.com")\nreturn customer'
    good = 'return (await tools.find_customer(email="ada@example.com"))["tier"]'
    script = [code_call(bad, "bad"), code_call(good, "good"), answer("Ada is gold.")]
    model = ScriptedChatModel(messages=iter(script))
    agent = create_codemode_agent(model, TOOLS)

    state = await agent.ainvoke({"messages": [HumanMessage("Ada's tier?")]})

    failed, fixed = tool_messages(state["messages"])
    assert "line 1" in str(failed.content) and "mail" in str(failed.content)
    # As a native tool's handled failure: status "error", the full result still attached.
    assert (failed.status, fixed.status) == ("error", "success")
    assert isinstance(failed.artifact, CodeModeArtifact)
    assert failed.artifact.result.error is not None
    assert "gold" in str(fixed.content)
    assert state["messages"][-1].content == "Ada is gold."
    assert CALLS == ["find_customer"]  # the bad call never reached the tool


async def test_progress_and_messages_stream_with_langgraph_stream_modes() -> None:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "c1"), answer("Two orders.")]))
    agent = create_codemode_agent(model, TOOLS)

    custom: list[dict[str, Any]] = []
    updates: list[str] = []
    tokens: list[Any] = []
    async for mode, chunk in agent.astream(
        {"messages": [HumanMessage("refunds?")]}, stream_mode=["updates", "messages", "custom"]
    ):
        if mode == "custom":
            custom.append(chunk)
        elif mode == "updates":
            updates.extend(chunk)
        else:
            tokens.append(chunk[0])

    assert updates == ["agent", "tools", "agent"]
    assert any(isinstance(t, AIMessageChunk) and t.tool_call_chunks for t in tokens)
    kinds = [(e["event"], e.get("tool")) for e in custom]
    assert kinds[0] == ("codemode.tool_start", "tools.find_customer")
    assert kinds[1] == ("codemode.tool_end", "tools.find_customer")
    assert ("codemode.log", None) in kinds
    ends = [e for e in custom if e["event"] == "codemode.tool_end"]
    assert sorted(e["tool"] for e in ends) == sorted(f"tools.{t.name}" for t in TOOLS)
    assert all(e["error"] is None and e["duration"] >= 0 for e in ends)
    assert next(e["text"] for e in custom if e["event"] == "codemode.log") == "5 orders"


def test_sync_graph_streams_progress_and_reaches_the_store() -> None:
    @tool
    def preferred_currency(user: str, store: Annotated[Any, InjectedStore()]) -> str:
        """A user's preferred currency."""
        item = store.get(("prefs",), user)
        return "USD" if item is None else str(item.value["currency"])

    memory = InMemoryStore()
    memory.put(("prefs",), "ada", {"currency": "EUR"})
    plan = 'return await tools.preferred_currency(user="ada")'
    model = ScriptedChatModel(messages=iter([code_call(plan, "c1"), answer("EUR")]))
    agent = create_codemode_agent(model, [preferred_currency], store=memory)

    seen = list(agent.stream({"messages": [HumanMessage("currency?")]}, stream_mode="custom"))

    assert [e["event"] for e in seen] == ["codemode.tool_start", "codemode.tool_end"]
    assert seen[1]["result"] == "EUR"
    assert isinstance(memory, BaseStore)


async def test_code_node_in_a_graph_whose_state_is_a_message_list() -> None:
    node = CodeModeNode(TOOLS)
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "c1"), answer("Two.")]))
    bound = model.bind_tools([node.code_tool])

    async def agent(messages: list[AnyMessage]) -> list[AnyMessage]:
        return [await bound.ainvoke(messages)]

    graph = StateGraph(Annotated[list[AnyMessage], add_messages])  # type: ignore[arg-type]
    graph.add_node("agent", agent)
    graph.add_node("tools", node)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    messages = await graph.compile().ainvoke([HumanMessage("refunds?")])

    [reply] = tool_messages(messages)
    assert reply.tool_call_id == "c1" and str(reply.content).startswith("[101, 102]")
    assert messages[-1].content == "Two."
