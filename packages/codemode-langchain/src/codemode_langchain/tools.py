"""`create_codemode_tool`: many LangChain tools in, one Code Mode tool out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForToolRun,
    CallbackManagerForToolRun,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import patch_config
from langchain_core.tools import BaseTool, InjectedToolArg
from pydantic import BaseModel, ConfigDict, Field, create_model

from codemode_core import CodeMode, ExecutionResult, ProgressEvent
from codemode_core.durable.approvals import apply_approval_rules
from codemode_langchain._approvals import run_or_resume
from codemode_langchain._convert import OuterCall, current_call, to_codemode_tools

__all__ = ["CodeModeArtifact", "CodeModeTool", "create_codemode_tool", "stream_payload"]

EVENT_PREFIX = "codemode"
"""Custom events are named `codemode.tool_start`, `codemode.tool_end`, `codemode.log`."""


def _input_model() -> type[BaseModel]:
    """The code tool's input: the plan, and LangGraph's `ToolRuntime` (hidden from the model).

    A tool node injects its runtime into any argument named `runtime`; receiving it lets inner
    tools that ask for state, store or runtime get the agent's own. It is typed `Any` so that
    pydantic neither needs LangGraph installed nor validates the graph's state shape.
    """
    model: type[BaseModel] = create_model(
        "CodeModeInput",
        code=(str, Field(description="The plan: the body of an async Python function.")),
        runtime=(Annotated[Any, InjectedToolArg()], None),
    )
    return model


class CodeModeArtifact(BaseModel):
    """What the caller (not the model) gets besides the text: the full result and artifacts."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    result: ExecutionResult
    tool_artifacts: list[dict[str, Any]] = Field(default_factory=list)


class CodeModeTool(BaseTool):
    """A LangChain tool that runs Code Mode plans against the wrapped tools."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = "run_code"
    description: str = ""
    args_schema: type[BaseModel] = Field(default_factory=_input_model)
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    code_mode: CodeMode

    def _run(
        self,
        code: str,
        runtime: Any = None,
        run_manager: CallbackManagerForToolRun | None = None,
        config: RunnableConfig | None = None,
    ) -> tuple[str, CodeModeArtifact]:
        child = _child_config(config, run_manager)
        outer = OuterCall(config=child, runtime=runtime)
        writer = _stream_writer(runtime)

        def report(event: ProgressEvent) -> None:
            if writer is not None:
                writer(stream_payload(event))
            if child is not None and child.get("callbacks"):
                dispatch_custom_event(
                    f"{EVENT_PREFIX}.{event.kind}", _event_data(event), config=child
                )

        token = current_call.set(outer)
        try:
            call_id = getattr(runtime, "tool_call_id", None)
            result = self.code_mode._wait(run_or_resume(self.code_mode, code, call_id, report))
        finally:
            current_call.reset(token)
        return result.to_model(), CodeModeArtifact(result=result, tool_artifacts=outer.artifacts)

    async def _arun(
        self,
        code: str,
        runtime: Any = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
        config: RunnableConfig | None = None,
    ) -> tuple[str, CodeModeArtifact]:
        child = _child_config(config, run_manager)
        outer = OuterCall(config=child, runtime=runtime)
        writer = _stream_writer(runtime)

        async def report(event: ProgressEvent) -> None:
            if writer is not None:
                writer(stream_payload(event))
            if child is not None and child.get("callbacks"):
                await adispatch_custom_event(
                    f"{EVENT_PREFIX}.{event.kind}", _event_data(event), config=child
                )

        token = current_call.set(outer)
        try:
            call_id = getattr(runtime, "tool_call_id", None)
            result = await run_or_resume(self.code_mode, code, call_id, report)
        finally:
            current_call.reset(token)
        return result.to_model(), CodeModeArtifact(result=result, tool_artifacts=outer.artifacts)


def _stream_writer(runtime: Any) -> Callable[[Any], None] | None:
    """LangGraph's stream writer for this call (`stream_mode="custom"`), when run in a graph."""
    writer = getattr(runtime, "stream_writer", None)
    return writer if callable(writer) else None


def stream_payload(event: ProgressEvent) -> dict[str, Any]:
    """A progress event as written to LangGraph's custom stream: `{"event": "codemode.…", …}`."""
    return {"event": f"{EVENT_PREFIX}.{event.kind}", **_event_data(event)}


def _child_config(config: RunnableConfig | None, run_manager: Any) -> RunnableConfig | None:
    if run_manager is None:
        return config
    return patch_config(config, callbacks=run_manager.get_child())


def _event_data(event: ProgressEvent) -> dict[str, Any]:
    data: dict[str, Any] = {
        "execution_id": event.execution_id,
        "tool": event.tool,
        "line": event.line,
    }
    if event.kind == "tool_start":
        data["arguments"] = dict(event.arguments or {})
    elif event.kind == "tool_end":
        data.update(result=event.result, error=event.error, duration=event.duration)
    else:
        data["text"] = event.text
    return data


def create_codemode_tool(
    tools: Sequence[BaseTool | Callable[..., Any]],
    *,
    name: str = "run_code",
    require_approval: Mapping[str, bool | Callable[[Mapping[str, Any]], bool]] | None = None,
    **options: Any,
) -> CodeModeTool:
    """One LangChain tool that runs Code Mode plans over `tools`.

    Args:
        tools: `@tool` functions, `StructuredTool`s, `BaseTool` subclasses (pydantic or JSON
            Schema `args_schema`), or plain callables; sync or async.
        name: The code tool's name.
        require_approval: `{tool_name: True | predicate(arguments)}`: calls that need a
            human. In a LangGraph graph a plan reaching one pauses as an `interrupt()`; resume
            with `Command(resume={request_id: "approve" | "reject" | ...})`.
        **options: Passed to `codemode_core.CodeMode` (`limits`, `executor`, `discovery`, ...).
    """
    code_mode = CodeMode(
        apply_approval_rules(to_codemode_tools(tools), require_approval), **options
    )
    return CodeModeTool(name=name, description=code_mode.description, code_mode=code_mode)
