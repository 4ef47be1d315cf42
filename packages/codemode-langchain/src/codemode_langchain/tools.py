"""`create_codemode_tool`: many LangChain tools in, one Code Mode tool out."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForToolRun,
    CallbackManagerForToolRun,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import patch_config
from langchain_core.tools import BaseTool, InjectedToolArg
from pydantic import BaseModel, ConfigDict, Field, create_model

from codemode_core import CodeMode, ExecutionResult, ProgressEvent, event_payload
from codemode_core.integration import ApprovalPredicate, check_approval_rules, check_options
from codemode_core.integration import require_approval as mark_approvals
from codemode_langchain._convert import OuterCall, current_call, to_codemode_tools

__all__ = ["CodeModeArtifact", "CodeModeTool", "create_codemode_tool", "stream_payload"]

_tool_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "codemode_langchain_tool_call_id", default=None
)
"""The id of the tool call being run (`BaseTool` passes it to `run`, not to `_run`)."""

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

    @property
    def stubs(self) -> str:
        """The typed stubs of the tools plans call: the part of `description` that is the API."""
        return self.code_mode.stubs

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
            if self._pauses_in_graph(runtime):
                from codemode_langchain.graph import run_in_graph

                result = run_in_graph(self, code, runtime.tool_call_id, report)
            else:
                result = self.code_mode.run_sync(code, observer=report)
        finally:
            current_call.reset(token)
        return self._output(result, outer)

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
            if self._pauses_in_graph(runtime):
                from codemode_langchain.graph import arun_in_graph

                result = await arun_in_graph(self, code, runtime.tool_call_id, report)
            else:
                result = await self.code_mode.run(code, observer=report)
        finally:
            current_call.reset(token)
        return self._output(result, outer)

    def run(self, tool_input: Any, *args: Any, **kwargs: Any) -> Any:
        token = _tool_call_id.set(kwargs.get("tool_call_id"))
        try:
            return super().run(tool_input, *args, **kwargs)
        finally:
            _tool_call_id.reset(token)

    async def arun(self, tool_input: Any, *args: Any, **kwargs: Any) -> Any:
        token = _tool_call_id.set(kwargs.get("tool_call_id"))
        try:
            return await super().arun(tool_input, *args, **kwargs)
        finally:
            _tool_call_id.reset(token)

    def _output(self, result: ExecutionResult, outer: OuterCall) -> tuple[Any, CodeModeArtifact]:
        """The text for the model and the artifact; a failed plan, called with a tool call,
        is a `ToolMessage` with `status="error"`, as a native tool's handled failure is.

        `BaseTool` sets the status only for a `ToolException`, which would lose the artifact
        (the full result, with the record of the calls that did run); a `ToolMessage` given as
        the content is passed through as it is, artifact and status included.
        """
        artifact = CodeModeArtifact(result=result, tool_artifacts=outer.artifacts)
        call_id = _tool_call_id.get()
        if result.status != "error" or call_id is None:
            return result.to_model(), artifact
        message = ToolMessage(
            result.to_model(),
            artifact=artifact,
            tool_call_id=call_id,
            name=self.name,
            status="error",
        )
        return message, artifact

    def _pauses_in_graph(self, runtime: Any) -> bool:
        """Inside a LangGraph tool node, a plan that may wait for a human interrupts the graph
        (see `codemode_langchain.graph`); elsewhere a pause is returned as the result. On a
        durable store any plan may: a call in doubt after a crash waits for a human."""
        code_mode = self.code_mode
        return getattr(runtime, "execution_info", None) is not None and (
            code_mode.catalog.needs_approval or getattr(code_mode.store, "durable", False)
        )


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
    """The core's field names (`event_payload`), the same in every adapter."""
    return event_payload(event)


def create_codemode_tool(
    tools: Sequence[BaseTool | Callable[..., Any]],
    *,
    name: str = "run_code",
    require_approval: Mapping[str, bool | ApprovalPredicate] | None = None,
    **options: Any,
) -> CodeModeTool:
    """One LangChain tool that runs Code Mode plans over `tools`.

    Args:
        tools: `@tool` functions, `StructuredTool`s, `BaseTool` subclasses (pydantic or JSON
            Schema `args_schema`), or plain callables; sync or async.
        name: The code tool's name.
        require_approval: `{tool name: True | predicate(arguments)}`: calls a human approves
            first. In a graph (`create_agent`, LangGraph) the plan interrupts the graph with a
            human-in-the-loop request; elsewhere, or with an `approver=`, see `CodeMode`.
        **options: Passed to `codemode_core.CodeMode` (`limits`, `executor`, `approver`, ...).
    """
    check_options("create_codemode_tool", options, own=("name", "require_approval"))
    check_approval_rules("create_codemode_tool", require_approval)
    code_mode = CodeMode(mark_approvals(to_codemode_tools(tools), require_approval), **options)
    return CodeModeTool(name=name, description=code_mode.description, code_mode=code_mode)
