"""Real LlamaIndex agent workflows (FunctionAgent, ReActAgent, AgentWorkflow) running one code
tool, driven by LlamaIndex's own scripted function-calling mock LLM."""

# No `from __future__ import annotations`: LlamaIndex finds `ctx: Context` parameters by their
# real annotation objects.

import json
from collections.abc import Sequence
from typing import Any

import pytest
from llama_index.core.agent.workflow import (
    AgentWorkflow,
    FunctionAgent,
    ReActAgent,
    ToolCall,
    ToolCallResult,
)
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.tools import FunctionTool
from llama_index.core.workflow import Context

from codemode_core import ExecutionResult
from codemode_llamaindex import (
    CodeModeLog,
    CodeModeToolCall,
    CodeModeToolCallResult,
    CodeModeToolSpec,
    create_codemode_tool,
)

# LlamaIndex's own workflow internals warn on every agent built (pydantic v1-style attribute
# access while collecting steps; ReActAgent's `ctx.is_running`); nothing this package controls.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
    pytest.mark.filterwarnings("ignore:is_running called from within a step:DeprecationWarning"),
]

CALLS: dict[str, int] = {}


def _hit(name: str) -> None:
    CALLS[name] = CALLS.get(name, 0) + 1


def find_customer(email: str) -> dict[str, Any]:
    """Find a customer by email."""
    _hit("find_customer")
    return {"id": 17, "email": email, "tier": "gold"}


def list_orders(customer_id: int) -> list[dict[str, Any]]:
    """A customer's orders."""
    _hit("list_orders")
    return [{"id": 100 + i, "customer_id": customer_id, "total": 10.0 * i} for i in range(1, 6)]


async def get_refund_policy(tier: str) -> dict[str, Any]:
    """The refund policy of a customer tier."""
    _hit("get_refund_policy")
    return {"tier": tier, "max_refund": 25.0}


SHOP = [
    FunctionTool.from_defaults(fn=find_customer),
    FunctionTool.from_defaults(fn=list_orders),
    FunctionTool.from_defaults(async_fn=get_refund_policy),
]

PLAN = """
customer = await tools.find_customer(email="ada@example.com")
orders, policy = await asyncio.gather(
    tools.list_orders(customer_id=customer["id"]),
    tools.get_refund_policy(tier=customer["tier"]),
)
refundable = [o["id"] for o in orders if o["total"] <= policy["max_refund"]]
return {"customer": customer["id"], "refundable": refundable}
"""


class Script:
    """The model's side of a conversation: fixed replies, and a record of what it was shown."""

    def __init__(self, *replies: ChatMessage) -> None:
        self._replies = iter(replies)
        self.offered: list[list[dict[str, Any]]] = []
        self.seen: list[list[ChatMessage]] = []

    def __call__(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        self.seen.append(list(messages))
        # What a provider would be sent: LlamaIndex's OpenAI-format tool specs.
        self.offered.append(
            [t.metadata.to_openai_tool(skip_length_check=True) for t in kwargs.get("tools", [])]
        )
        return next(self._replies)

    def llm(self) -> MockFunctionCallingLLM:
        return MockFunctionCallingLLM(response_generator=self)


def code_call(code: str, call_id: str, tool: str = "run_code") -> ChatMessage:
    block = ToolCallBlock(tool_call_id=call_id, tool_name=tool, tool_kwargs={"code": code})
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=[block])


def answer(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.ASSISTANT, content=text)


def tool_messages(script: Script) -> list[str]:
    """The tool results the model was shown on its last turn."""
    return [m.content or "" for m in script.seen[-1] if m.role == MessageRole.TOOL]


async def test_function_agent_runs_one_plan_over_three_dependent_tools() -> None:
    CALLS.clear()
    script = Script(code_call(PLAN, "call_1"), answer("Orders 101 and 102 are refundable."))
    agent = FunctionAgent(tools=[create_codemode_tool(SHOP)], llm=script.llm())
    response = await agent.run(user_msg="Which of ada's orders are refundable?")
    assert str(response) == "Orders 101 and 102 are refundable."
    assert len(script.seen) == 2  # one round trip for three tool calls
    (offered,) = script.offered[0]
    assert offered["function"]["name"] == "run_code"
    assert (
        "async def list_orders(customer_id: int) -> list[dict[str, Any]]:"
        in (offered["function"]["description"])
    )
    assert list(offered["function"]["parameters"]["properties"]) == ["code"]
    assert tool_messages(script) == ['{"customer": 17, "refundable": [101, 102]}']
    assert CALLS == {"find_customer": 1, "list_orders": 1, "get_refund_policy": 1}
    (call,) = response.tool_calls
    result = call.tool_output.raw_output
    assert isinstance(result, ExecutionResult) and not call.tool_output.is_error
    assert [c.tool for c in result.tool_calls] == [
        "tools.find_customer",
        "tools.list_orders",
        "tools.get_refund_policy",
    ]


async def test_failing_plan_is_shown_to_the_model_which_then_fixes_it() -> None:
    broken = (
        'customer = await tools.find_customer(email="ada@example.com")\nreturn customer["tierr"]'
    )
    fixed = 'return (await tools.find_customer(email="ada@example.com"))["tier"]'
    script = Script(code_call(broken, "call_1"), code_call(fixed, "call_2"), answer("gold"))
    agent = FunctionAgent(tools=[create_codemode_tool(SHOP)], llm=script.llm())
    handler = agent.run(user_msg="Ada's tier?")
    results = [ev async for ev in handler.stream_events() if isinstance(ev, ToolCallResult)]
    assert str(await handler) == "gold"
    first, second = tool_messages(script)
    assert first.startswith("runtime error at line 2: KeyError: 'tierr'")
    assert "- tools.find_customer (line 1): ok" in first  # what already ran, so it is not redone
    assert second == '"gold"'
    assert [r.tool_output.is_error for r in results] == [True, False]


async def test_progress_streams_as_workflow_events_in_order() -> None:
    plan = (
        'print("looking up")\nc = await tools.find_customer(email="a@b.c")\nprint("found")\nc["id"]'
    )
    script = Script(code_call(plan, "call_1"), answer("17"))
    agent = FunctionAgent(tools=[create_codemode_tool(SHOP)], llm=script.llm())
    handler = agent.run(user_msg="go")
    seen: list[tuple[str, str]] = []
    async for event in handler.stream_events():
        if isinstance(event, CodeModeLog):
            seen.append(("log", event.text))
        elif isinstance(event, CodeModeToolCall):
            assert event.arguments == {"email": "a@b.c"} and event.line == 2
            seen.append(("start", event.tool))
        elif isinstance(event, CodeModeToolCallResult):
            assert event.result["id"] == 17 and event.error is None and event.duration >= 0
            seen.append(("end", event.tool))
        elif type(event) in (ToolCall, ToolCallResult):
            seen.append((type(event).__name__, event.tool_name))
    await handler
    assert seen == [
        ("ToolCall", "run_code"),
        ("log", "looking up"),
        ("start", "tools.find_customer"),
        ("end", "tools.find_customer"),
        ("log", "found"),
        ("ToolCallResult", "run_code"),
    ]


async def remember(ctx: Context, note: str) -> int:
    """Add a note to the conversation's state; returns how many notes there are."""
    async with ctx.store.edit_state() as state:
        state["notes"] = [*state.get("notes", []), note]
        return len(state["notes"])


async def test_tools_taking_a_context_get_the_agents_own() -> None:
    plan = "await tools.remember('a')\nreturn await tools.remember(note='b')"
    script = Script(code_call(plan, "call_1"), answer("noted"))
    code_tool = create_codemode_tool([FunctionTool.from_defaults(async_fn=remember)])
    assert "async def remember(note: str) -> int:" in code_tool.code_mode.stubs
    agent = FunctionAgent(tools=[code_tool], llm=script.llm())
    ctx = Context(agent)
    await agent.run(user_msg="note a and b", ctx=ctx)
    assert tool_messages(script) == ["2"]
    assert await ctx.store.get("notes") == ["a", "b"]


async def test_react_agent_runs_plans_from_text_actions() -> None:
    CALLS.clear()
    action = (
        "Thought: I need several lookups; one plan does them all.\n"
        "Action: run_code\n"
        f"Action Input: {json.dumps({'code': PLAN})}"
    )
    final = "Thought: I can answer without using any more tools.\nAnswer: Orders 101 and 102."
    script = Script(answer(action), answer(final))
    agent = ReActAgent(tools=[create_codemode_tool(SHOP)], llm=script.llm())
    response = await agent.run(user_msg="Which of ada's orders are refundable?")
    assert str(response) == "Orders 101 and 102."
    system_prompt = script.seen[0][0].content or ""
    assert "async def get_refund_policy(tier: str) -> dict[str, Any]:" in system_prompt
    observation = script.seen[1][-1].content or ""
    assert 'Observation: {"customer": 17, "refundable": [101, 102]}' in observation
    assert CALLS == {"find_customer": 1, "list_orders": 1, "get_refund_policy": 1}


async def test_tool_spec_form_in_a_multi_agent_workflow() -> None:
    script = Script(code_call(PLAN, "call_1", tool="shop_plan"), answer("done"))
    spec = CodeModeToolSpec(SHOP, name="shop_plan")
    agent = FunctionAgent(
        name="shop",
        description="Answers order questions.",
        tools=spec.to_tool_list(),
        llm=script.llm(),
    )
    handler = AgentWorkflow(agents=[agent]).run(user_msg="refundable?")
    progress = [
        ev async for ev in handler.stream_events() if isinstance(ev, CodeModeToolCallResult)
    ]
    assert str(await handler) == "done"
    first, *parallel = [ev.tool for ev in progress]
    assert first == "tools.find_customer"
    assert sorted(parallel) == ["tools.get_refund_policy", "tools.list_orders"]
    assert {ev.code_tool for ev in progress} == {"shop_plan"}
