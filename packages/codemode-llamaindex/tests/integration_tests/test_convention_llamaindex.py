"""The adapters' convention in LlamaIndex agent workflows: `tools=` keeps tools direct, the
spec and tool show what the model reads, inner calls are child spans of the code tool's span
with their plan line, and the failure rows of the table in docs/adapters.md."""

# No `from __future__ import annotations`: LlamaIndex reads real annotation objects.

import inspect
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index_instrumentation.span.simple import SimpleSpan
from llama_index_instrumentation.span_handlers import SimpleSpanHandler

from codemode_core import ConfigurationError, ExecutionResult
from codemode_llamaindex import CodeModeToolSpec, create_codemode_tool

pytestmark = [
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
]

RAN: list[str] = []


@pytest.fixture(autouse=True)
def _reset() -> None:
    RAN.clear()


def find_customer(email: str) -> dict[str, Any]:
    """Find a customer by email."""
    RAN.append("find_customer")
    return {"id": 17, "email": email}


def list_orders(customer_id: int) -> list[int]:
    """A customer's order ids."""
    RAN.append("list_orders")
    return [101, 102]


def flaky_lookup(key: str) -> str:
    """A plain function whose backend is down."""
    raise RuntimeError(f"backend down for {key}")


class Script:
    """The model's side: fixed replies, and the tool names it was offered each turn."""

    def __init__(self, *replies: ChatMessage) -> None:
        self._replies = iter(replies)
        self.offered: list[list[str]] = []
        self.seen: list[list[ChatMessage]] = []

    def __call__(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        self.seen.append(list(messages))
        self.offered.append([t.metadata.name for t in kwargs.get("tools", [])])
        return next(self._replies)

    def llm(self) -> MockFunctionCallingLLM:
        return MockFunctionCallingLLM(response_generator=self)


def call(tool: str, kwargs: dict[str, Any], call_id: str) -> ChatMessage:
    block = ToolCallBlock(tool_call_id=call_id, tool_name=tool, tool_kwargs=kwargs)
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=[block])


def answer(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.ASSISTANT, content=text)


async def test_tools_selector_keeps_the_others_direct_and_wrapped_ones_plan_only() -> None:
    spec = CodeModeToolSpec([find_customer, list_orders], tools=["list_orders"])
    script = Script(
        call("find_customer", {"email": "ada@example.com"}, "d1"),
        call("run_code", {"code": "return await tools.list_orders(customer_id=17)"}, "c1"),
        call("list_orders", {"customer_id": 17}, "d2"),  # wrapped: not one of the agent's tools
        answer("done"),
    )
    handler = FunctionAgent(tools=spec.to_tool_list(), llm=script.llm()).run(user_msg="go")
    results = {
        e.tool_id: e.tool_output
        async for e in handler.stream_events()
        if isinstance(e, ToolCallResult)
    }
    await handler

    assert script.offered[0] == ["run_code", "find_customer"]
    assert "ada@example.com" in results["d1"].content and not results["d1"].is_error
    assert "[101, 102]" in results["c1"].content and not results["c1"].is_error
    assert results["d2"].is_error and "list_orders" in results["d2"].content
    assert RAN == ["find_customer", "list_orders"]  # the direct call of a wrapped tool never ran


def test_the_spec_and_the_tool_show_what_the_model_reads() -> None:
    spec = CodeModeToolSpec(
        [find_customer, list_orders], tools=lambda t: t.metadata.name == "list_orders"
    )
    assert "def list_orders(" in spec.stubs and "def find_customer(" not in spec.stubs
    code_tool = spec.to_tool_list()[0]
    assert code_tool.description == code_tool.metadata.description == spec.description
    assert spec.stubs in code_tool.description
    assert create_codemode_tool([find_customer]).stubs.count("def find_customer(") == 1


def test_a_bad_selector_or_a_name_clash_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"CodeModeToolSpec\(tools=\.\.\.\)"):
        CodeModeToolSpec([find_customer], tools="find_customer")
    with pytest.raises(ConfigurationError, match=r"'find_custmer' \(did you mean 'find_customer'"):
        CodeModeToolSpec(
            [find_customer, list_orders], tools=["find_custmer"]
        )  # a typo: not left direct
    with pytest.raises(ConfigurationError, match="'list_orders', which tools= leaves direct"):
        CodeModeToolSpec(
            [find_customer, list_orders],
            tools=["find_customer"],
            require_approval={"list_orders": True},
        )
    with pytest.raises(ConfigurationError, match="code tool's name"):
        CodeModeToolSpec([find_customer], tools=[], name="find_customer")


class RecordingSpans(SimpleSpanHandler):
    """LlamaIndex's simple span handler, also keeping each span's bound arguments."""

    def new_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SimpleSpan:
        span = super().new_span(id_, bound_args, instance, parent_span_id, tags, **kwargs)
        span.metadata = dict(bound_args.arguments)
        return span


@pytest.fixture
def spans() -> Iterator[RecordingSpans]:
    root = get_dispatcher()
    handler = RecordingSpans()
    root.add_span_handler(handler)
    try:
        yield handler
    finally:
        root.span_handlers.remove(handler)


async def test_inner_calls_are_child_spans_of_the_code_call_with_their_line(
    spans: RecordingSpans,
) -> None:
    plan = (
        'c = await tools.find_customer(email="a@b.c")\n'
        'return await tools.list_orders(customer_id=c["id"])'
    )
    script = Script(call("run_code", {"code": plan}, "c1"), answer("done"))
    agent = FunctionAgent(
        tools=[create_codemode_tool([find_customer, list_orders])], llm=script.llm()
    )
    await agent.run(user_msg="go")

    by_id = {s.id_: s for s in spans.completed_spans}
    plan_calls = [s for s in spans.completed_spans if s.id_.startswith("plan_tool_call-")]
    assert [(s.metadata["tool"], s.metadata["line"]) for s in plan_calls] == [
        ("tools.find_customer", 1),
        ("tools.list_orders", 2),
    ]
    for span in plan_calls:
        assert span.tags["codemode.line"] == span.metadata["line"]
        assert by_id[span.parent_id].id_.startswith("CodeModeTool.acall-")
        # the wrapped tool's own span (FunctionTool.acall) is a child of the plan call's
        children = [s for s in spans.completed_spans if s.parent_id == span.id_]
        assert [c.id_.split("-")[0] for c in children] == ["FunctionTool.acall"]


async def test_failure_rows_a_failed_plan_and_a_plain_exception() -> None:
    """A failed plan: `ToolOutput.is_error`, `raw_output` the `ExecutionResult` with the calls
    that ran. A plain exception from an inner tool: a `ToolError` the plan can catch."""
    caught = (
        "try:\n    await tools.flaky_lookup(key='k')\nexcept ToolError as e:\n"
        "    return 'caught: ' + str(e)"
    )
    failing = "await tools.find_customer(email='a@b.c')\nreturn await tools.flaky_lookup(key='k')"
    script = Script(
        call("run_code", {"code": caught}, "c1"),
        call("run_code", {"code": failing}, "c2"),
        answer("x"),
    )
    code_tool = create_codemode_tool([find_customer, flaky_lookup])
    handler = FunctionAgent(tools=[code_tool], llm=script.llm()).run(user_msg="go")
    results = {
        e.tool_id: e.tool_output
        async for e in handler.stream_events()
        if isinstance(e, ToolCallResult)
    }
    await handler

    assert not results["c1"].is_error and "caught:" in results["c1"].content
    assert "backend down for k" in results["c1"].content
    failed = results["c2"]
    assert failed.is_error and "line 2" in failed.content
    assert isinstance(failed.raw_output, ExecutionResult)
    assert [c.tool for c in failed.raw_output.tool_calls] == [
        "tools.find_customer",
        "tools.flaky_lookup",
    ]
