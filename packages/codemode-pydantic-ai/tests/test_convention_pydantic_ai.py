"""The adapters' convention in pydantic-ai: `tools=` keeps tools direct (and a wrapped tool is
not callable directly), the toolset and capability show what the model reads, how to test with
pydantic-ai's test models, and inner calls as child spans of the code tool's span."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags
from opentelemetry.util.types import Attributes
from pydantic_ai import Agent
from pydantic_ai.capabilities.instrumentation import Instrumentation
from pydantic_ai.exceptions import UserError
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.models.test import TestModel

from codemode_core import ConfigurationError
from codemode_pydantic_ai import CodeModeCapability, CodeModeToolset
from pydantic_ai_fakes import ScriptedModel, answer, code_call, last_tool_output

RAN: list[str] = []


@pytest.fixture(autouse=True)
def _reset() -> None:
    RAN.clear()


def find_order(order_id: int) -> dict[str, Any]:
    """An order by id."""
    RAN.append("find_order")
    return {"id": order_id, "total": 60.0}


def render_chart(points: list[int]) -> str:
    """Render a chart for the user."""
    RAN.append("render_chart")
    return "chart"


def direct(name: str, args: dict[str, Any]) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(name, args)])


async def test_a_direct_tool_is_called_directly_and_a_wrapped_one_only_from_plans() -> None:
    scripted = ScriptedModel(
        [
            direct("render_chart", {"points": [1, 2]}),
            direct("find_order", {"order_id": 7}),  # wrapped: not one of the model's tools
            lambda messages, info: answer(last_tool_output(messages)),
        ]
    )
    toolset = CodeModeToolset(
        [find_order, render_chart], tools=["find_order"], executor="inprocess"
    )
    result = await Agent(scripted.model, toolsets=[toolset]).run("?")

    assert sorted(scripted.tool_names()) == ["render_chart", "run_code"]
    assert "Unknown tool name: 'find_order'" in result.output
    assert RAN == ["render_chart"]


def test_a_selector_that_is_none_of_the_forms_fails_at_construction() -> None:
    with pytest.raises(ConfigurationError, match=r"CodeModeToolset\(tools=\.\.\.\)"):
        CodeModeToolset([find_order], tools="find_order")
    with pytest.raises(ConfigurationError, match=r"CodeModeCapability\(tools=\.\.\.\)"):
        CodeModeCapability(tools=3)  # type: ignore[arg-type]


async def test_the_toolset_and_the_capability_show_what_the_model_reads() -> None:
    toolset = CodeModeToolset(
        [find_order, render_chart], tools=["find_order"], executor="inprocess"
    )
    assert "def find_order(order_id: int)" in toolset.stubs  # before any run
    assert "render_chart" not in toolset.stubs and toolset.stubs in toolset.description

    scripted = ScriptedModel([answer("done")])
    await Agent(scripted.model, toolsets=[toolset]).run("?")
    assert toolset.description == scripted.description()

    capability: CodeModeCapability[None] = CodeModeCapability(executor="inprocess")
    with pytest.raises(UserError, match="after a run"):
        _ = capability.stubs
    scripted = ScriptedModel([answer("done")])
    await Agent(scripted.model, tools=[find_order], capabilities=[capability]).run("?")
    assert "def find_order(order_id: int)" in capability.stubs
    assert capability.toolset.description == scripted.description()


async def test_testing_with_pydantic_ais_test_models() -> None:
    """`TestModel()` would write `a` as the plan (it fills a `str` argument with `"a"`), so it
    is for checking what the model is offered (`call_tools=[]`); a `FunctionModel` writes the
    plans (the way docs/pydantic-ai.md shows)."""
    offered = TestModel(call_tools=[])
    agent = Agent(offered, toolsets=[CodeModeToolset([find_order], executor="inprocess")])
    await agent.run("?")
    parameters = offered.last_model_request_parameters
    assert parameters is not None
    [code_tool] = parameters.function_tools
    assert "def find_order(order_id: int)" in (code_tool.description or "")

    def writes_plans(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if len(messages) == 1:
            plan = 'order = await tools.find_order(order_id=7)\nreturn order["total"]'
            return ModelResponse(parts=[ToolCallPart("run_code", {"code": plan})])
        return answer(last_tool_output(messages))

    result = await Agent(FunctionModel(writes_plans), toolsets=[CodeModeToolset([find_order])]).run(
        "?"
    )
    assert result.output == "60.0" and RAN == ["find_order"]


# A minimal in-memory OpenTelemetry tracer (opentelemetry-sdk is not a dependency) ----------


class RecordedSpan(trace.Span):
    _ids = itertools.count(1)

    def __init__(self, name: str, parent: int | None, attributes: Attributes) -> None:
        self.name = name
        self.parent = parent
        self.span_id = next(self._ids)
        self.attributes: dict[str, Any] = dict(attributes or {})

    def get_span_context(self) -> SpanContext:
        return SpanContext(1, self.span_id, is_remote=False, trace_flags=TraceFlags(1))

    def set_attributes(self, attributes: Any) -> None:
        self.attributes.update(attributes)

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def add_event(self, *args: Any, **kwargs: Any) -> None:
        pass

    def update_name(self, name: str) -> None:
        self.name = name

    def is_recording(self) -> bool:
        return True

    def set_status(self, *args: Any, **kwargs: Any) -> None:
        pass

    def record_exception(self, *args: Any, **kwargs: Any) -> None:
        pass

    def end(self, end_time: int | None = None) -> None:
        pass


class RecordingTracer(trace.Tracer):
    def __init__(self) -> None:
        self.spans: list[RecordedSpan] = []

    def start_span(  # type: ignore[override]
        self,
        name: str,
        context: Any = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        *args: Any,
        **kwargs: Any,
    ) -> RecordedSpan:
        parent = trace.get_current_span(context).get_span_context()
        span = RecordedSpan(name, parent.span_id if parent.is_valid else None, attributes)
        self.spans.append(span)
        return span

    @contextmanager  # type: ignore[override]
    def start_as_current_span(
        self,
        name: str,
        context: Any = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        *args: Any,
        end_on_exit: bool = True,
        **kwargs: Any,
    ) -> Iterator[RecordedSpan]:
        span = self.start_span(name, context, kind, attributes)
        with trace.use_span(span, end_on_exit=end_on_exit):
            yield span


class RecordingProvider(trace.TracerProvider):
    def __init__(self) -> None:
        self.tracer = RecordingTracer()

    def get_tracer(self, *args: Any, **kwargs: Any) -> RecordingTracer:
        return self.tracer


def tool_spans(spans: Sequence[RecordedSpan], tool: str) -> list[RecordedSpan]:
    return [s for s in spans if s.attributes.get("gen_ai.tool.name") == tool]


async def test_inner_calls_are_child_spans_of_the_code_tools_span_with_their_line() -> None:
    provider = RecordingProvider()
    plan = (
        "a = await tools.find_order(order_id=1)\nb = await tools.find_order(order_id=2)\nreturn 1"
    )
    scripted = ScriptedModel([code_call(plan), answer("done")])
    agent = Agent(
        scripted.model,
        toolsets=[CodeModeToolset([find_order], executor="inprocess")],
        capabilities=[Instrumentation(settings=InstrumentationSettings(tracer_provider=provider))],
    )
    await agent.run("?")

    [code_span] = tool_spans(provider.tracer.spans, "run_code")
    inner = tool_spans(provider.tracer.spans, "find_order")
    assert [s.parent for s in inner] == [code_span.span_id, code_span.span_id]
    assert [s.attributes["codemode.line"] for s in inner] == [1, 2]
    assert {s.attributes["codemode.tool"] for s in inner} == {"tools.find_order"}
    assert "codemode.line" not in code_span.attributes
    assert isinstance(scripted.seen[-1][1][-1], ModelRequest)
