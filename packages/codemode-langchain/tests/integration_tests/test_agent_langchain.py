"""A real `langchain.agents.create_agent` loop, driven by LangChain's own fake chat model."""

from __future__ import annotations

from typing import Annotated, Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.prebuilt import InjectedState, ToolRuntime

from codemode_langchain import CodeModeMiddleware, create_codemode_tool
from langchain_fakes import ScriptedChatModel, code_call

CALLS: dict[str, int] = {}


def _hit(name: str) -> None:
    CALLS[name] = CALLS.get(name, 0) + 1


@tool
def find_customer(email: str) -> dict[str, Any]:
    """Find a customer by email."""
    _hit("find_customer")
    return {"id": 17, "email": email, "tier": "gold"}


@tool
def list_orders(customer_id: int) -> list[dict[str, Any]]:
    """A customer's orders."""
    _hit("list_orders")
    return [{"id": 100 + i, "customer_id": customer_id, "total": 10.0 * i} for i in range(1, 6)]


@tool
async def get_refund_policy(tier: str) -> dict[str, Any]:
    """The refund policy of a customer tier."""
    _hit("get_refund_policy")
    return {"tier": tier, "max_refund": 25.0}


PLAN = """
customer = await tools.find_customer(email="ada@example.com")
orders, policy = await asyncio.gather(
    tools.list_orders(customer_id=customer["id"]),
    tools.get_refund_policy(tier=customer["tier"]),
)
refundable = [o["id"] for o in orders if o["total"] <= policy["max_refund"]]
return {"customer": customer["id"], "refundable": refundable}
"""


async def test_agent_runs_one_plan_over_three_dependent_tools() -> None:
    CALLS.clear()
    model = ScriptedChatModel(
        messages=iter([code_call(PLAN, "call_1"), AIMessage(content="Orders 101 and 102.")])
    )
    agent = create_agent(
        model, tools=[create_codemode_tool([find_customer, list_orders, get_refund_policy])]
    )
    state = await agent.ainvoke({"messages": [("user", "Which of ada's orders are refundable?")]})
    assert model.offered and all(names == ["run_code"] for names in model.offered)
    tool_messages = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert len(tool_messages) == 1
    assert '"refundable": [101, 102]' in tool_messages[0].content
    assert state["messages"][-1].content == "Orders 101 and 102."
    assert CALLS == {"find_customer": 1, "list_orders": 1, "get_refund_policy": 1}


async def test_failing_plan_is_shown_to_the_model_which_then_fixes_it() -> None:
    broken = 'customer = await tools.find_customer(mail="ada@example.com")\nreturn customer'
    fixed = 'return (await tools.find_customer(email="ada@example.com"))["tier"]'
    model = ScriptedChatModel(
        messages=iter(
            [code_call(broken, "call_1"), code_call(fixed, "call_2"), AIMessage(content="gold")]
        )
    )
    agent = create_agent(model, tools=[create_codemode_tool([find_customer])])
    state = await agent.ainvoke({"messages": [("user", "Ada's tier?")]})
    first, second = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert "tool error at line 1" in first.content
    assert "tools.find_customer has no parameter 'mail'; did you mean 'email'?" in first.content
    assert second.content == '"gold"'
    assert state["messages"][-1].content == "gold"


async def test_astream_events_show_per_tool_progress() -> None:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "call_1"), AIMessage(content="ok")]))
    agent = create_agent(
        model, tools=[create_codemode_tool([find_customer, list_orders, get_refund_policy])]
    )
    custom = []
    async for event in agent.astream_events({"messages": [("user", "go")]}, version="v2"):
        if event["event"] == "on_custom_event":
            custom.append((event["name"], event["data"].get("tool")))
    assert ("codemode.tool_start", "tools.find_customer") in custom
    assert ("codemode.tool_end", "tools.get_refund_policy") in custom
    assert len([name for name, _ in custom if name == "codemode.tool_end"]) == 3


async def test_middleware_shows_one_code_tool_in_place_of_the_agents_tools() -> None:
    CALLS.clear()
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "call_1"), AIMessage(content="ok")]))
    agent = create_agent(
        model,
        tools=[find_customer, list_orders, get_refund_policy],
        middleware=[CodeModeMiddleware()],
    )
    state = await agent.ainvoke({"messages": [("user", "Which orders are refundable?")]})
    assert model.offered and all(names == ["run_code"] for names in model.offered)
    tool_message = next(m for m in state["messages"] if isinstance(m, ToolMessage))
    assert '"refundable": [101, 102]' in tool_message.content
    assert CALLS == {"find_customer": 1, "list_orders": 1, "get_refund_policy": 1}


@tool
def count_messages(messages: Annotated[list[Any], InjectedState("messages")]) -> int:
    """How many messages the conversation has (reads the agent's state)."""
    return len(messages)


@tool
def caller_id(tag: str, runtime: ToolRuntime) -> str:
    """Echo the tag with the id of the tool call that is running."""
    return f"{tag}:{runtime.tool_call_id}"


async def test_injected_state_and_runtime_come_from_the_outer_call() -> None:
    plan = "n = await tools.count_messages()\nwho = await tools.caller_id('x')\nreturn [n, who]"
    model = ScriptedChatModel(messages=iter([code_call(plan, "call_42"), AIMessage("done")]))
    code_tool = create_codemode_tool([count_messages, caller_id])
    stubs = code_tool.code_mode.stubs
    assert "async def count_messages() -> int:" in stubs
    assert "async def caller_id(tag: str) -> str:" in stubs
    agent = create_agent(model, tools=[code_tool])
    state = await agent.ainvoke({"messages": [("user", "count")]})
    tool_message = next(m for m in state["messages"] if isinstance(m, ToolMessage))
    assert tool_message.content == '[2, "x:call_42"]'


async def test_injected_tools_outside_a_graph_say_why_they_cannot_run() -> None:
    code_tool = create_codemode_tool([count_messages])
    _, artifact = await code_tool._arun("return await tools.count_messages()")
    assert artifact.result.error is not None
    assert "exist only when the code tool runs inside a LangGraph tool node" in (
        artifact.result.error.message
    )


async def test_printed_lines_stream_as_custom_events_in_order() -> None:
    plan = (
        'print("looking up")\nc = await tools.find_customer(email="a@b.c")\nprint("found")\nc["id"]'
    )
    model = ScriptedChatModel(messages=iter([code_call(plan, "call_1"), AIMessage(content="ok")]))
    agent = create_agent(model, tools=[create_codemode_tool([find_customer])])
    seen = []
    async for event in agent.astream_events({"messages": [("user", "go")]}, version="v2"):
        if event["event"] == "on_custom_event":
            data = event["data"]
            seen.append((event["name"], data.get("text") or data.get("tool")))
    assert seen == [
        ("codemode.log", "looking up"),
        ("codemode.tool_start", "tools.find_customer"),
        ("codemode.tool_end", "tools.find_customer"),
        ("codemode.log", "found"),
    ]
