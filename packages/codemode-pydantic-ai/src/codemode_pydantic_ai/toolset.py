"""`CodeModeToolset`: any pydantic-ai toolset in, one Code Mode tool out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.exceptions import ApprovalRequired, ModelRetry, UserError
from pydantic_ai.messages import ToolReturn
from pydantic_ai.tools import AgentDepsT, Tool, ToolDefinition, ToolSelector, matches_tool_selector
from pydantic_ai.toolsets import (
    AbstractToolset,
    CombinedToolset,
    FunctionToolset,
    ToolsetTool,
    WrapperToolset,
)

from codemode_core import (
    CodeMode,
    Decision,
    ExecutionResult,
    Observer,
    PendingApproval,
    ProgressEvent,
)
from codemode_core.durable.approvals import decision_from, require_approval
from codemode_core.sandbox import resolve_executor
from codemode_pydantic_ai._convert import (
    CODE_ARGS_VALIDATOR,
    code_tool_definition,
    fingerprint,
    to_codemode_tool,
)
from codemode_pydantic_ai._dispatch import NestedCalls, active_calls
from codemode_pydantic_ai.events import to_custom_event

__all__ = ["CodeModeToolset", "ToolsetOrTools"]

ToolsetOrTools = (
    AbstractToolset[AgentDepsT]
    | Sequence[AbstractToolset[AgentDepsT] | Tool[AgentDepsT] | Callable[..., Any]]
)
"""A toolset, or a list of toolsets, `Tool`s and plain functions (combined into one)."""

_CACHED_CATALOGS = 8


@dataclass(kw_only=True)
class _CodeTool(ToolsetTool[AgentDepsT]):
    """The code tool as listed for one step, with the tools its plans may call in that step."""

    code_mode: CodeMode
    inner: dict[str, ToolsetTool[AgentDepsT]]


@dataclass(init=False)
class CodeModeToolset(WrapperToolset[AgentDepsT]):
    """Shows the model one code tool whose plans call the wrapped toolset's tools.

    The wrapped tools are listed again at every step with the step's `RunContext`, so `prepare`
    functions, filtered and dynamic toolsets, and MCP servers whose tools change keep working.
    A plan's calls go through pydantic-ai's `ToolManager` with the run's context: the tools get
    `deps`, their own argument validation and retries count as they would for a direct call,
    `ctx.usage` counts them, and capability hooks (tracing, guards) see them. A `ModelRetry`
    raised by a wrapped tool is an error the plan sees, with its message. A plan that fails is
    a `ModelRetry` of the code tool, so the model gets the error (with the plan's line) and the
    code tool's `max_retries` bounds how often it may try again.

    Tools that need approval (`requires_approval`), external tools, deferred-loading tools and
    framework tools (those with a `tool_kind`, like tool search) stay direct tools beside the
    code tool, so pydantic-ai's own flows for them are unchanged; so do tools `tools` does not
    select.

    Progress (each inner call's start and end, printed lines) goes to the agent's event stream
    as `CodeModeToolStartEvent`, `CodeModeToolEndEvent` and `CodeModeLogEvent`. The code tool's
    `ToolReturnPart.metadata` is the plan's `ExecutionResult` (every call, its arguments,
    result, duration and line).

    Args:
        wrapped: A toolset (function toolset, MCP server, combined, prefixed, ...), or a list of
            toolsets, `Tool`s and plain functions.
        tools: Which wrapped tools plans call (a pydantic-ai `ToolSelector`: `'all'`, names,
            a metadata dict, or a predicate); the others stay direct tools.
        name: The code tool's name.
        max_retries: How often the model may retry after a failed plan (pydantic-ai's per-tool
            retry budget for the code tool).
        options: `CodeMode` options as a mapping (merged with `**code_mode_options`).
        require_approval: `{tool_name: True | predicate(arguments)}`: calls inside plans that
            need a human. A plan reaching one ends the run with `DeferredToolRequests` (the code
            tool's call, its `metadata["codemode"]` listing the inner requests); the next run
            with `DeferredToolResults(approvals={call_id: True}, metadata={call_id:
            {"decisions": {request_id: ...}}})` resumes the plan from its journal.
        **code_mode_options: Passed to `codemode_core.CodeMode` (`limits`, `executor`,
            `discovery`, `discovery_token_budget`).
    """

    wrapped: AbstractToolset[AgentDepsT]
    tools: ToolSelector[AgentDepsT]
    name: str
    max_retries: int
    options: dict[str, Any]
    require_approval: dict[str, bool | Callable[[Mapping[str, Any]], bool]]
    _code_modes: dict[tuple[Any, ...], CodeMode] = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        wrapped: ToolsetOrTools[AgentDepsT],
        *,
        tools: ToolSelector[AgentDepsT] = "all",
        name: str = "run_code",
        max_retries: int = 3,
        options: dict[str, Any] | None = None,
        require_approval: Mapping[str, bool | Callable[[Mapping[str, Any]], bool]] | None = None,
        **code_mode_options: Any,
    ) -> None:
        merged = {**(options or {}), **code_mode_options}
        # One executor for every catalog this toolset builds (and every copy pydantic-ai makes
        # of it per run or step): an isolated executor's warm workers are shared, not per step.
        merged["executor"] = resolve_executor(merged.get("executor"))
        CodeMode((), **merged)  # unknown or invalid options fail here, not at the first plan
        self.wrapped = as_toolset(wrapped)
        self.tools = tools
        self.name = name
        self.max_retries = max_retries
        self.options = merged
        self.require_approval = dict(require_approval or {})
        self._code_modes = {}

    async def get_tools(self, ctx: RunContext[AgentDepsT]) -> dict[str, ToolsetTool[AgentDepsT]]:
        inner: dict[str, ToolsetTool[AgentDepsT]] = {}
        direct: dict[str, ToolsetTool[AgentDepsT]] = {}
        for tool_name, tool in (await self.wrapped.get_tools(ctx)).items():
            if await self._plans_call(ctx, tool.tool_def):
                inner[tool_name] = tool
            else:
                direct[tool_name] = tool
        if self.name in direct:
            raise UserError(
                f"{self.wrapped.label} has a direct tool named {self.name!r}, the code tool's "
                "name: pass CodeModeToolset(..., name=...) another name."
            )
        code_mode = self._code_mode_for(inner)
        code_tool = _CodeTool(
            toolset=self,
            tool_def=code_tool_definition(self.name, code_mode.description),
            max_retries=self.max_retries,
            args_validator=CODE_ARGS_VALIDATOR,
            code_mode=code_mode,
            inner=inner,
        )
        return {self.name: code_tool, **direct}

    async def call_tool(
        self,
        name: str,
        tool_args: dict[str, Any],
        ctx: RunContext[AgentDepsT],
        tool: ToolsetTool[AgentDepsT],
    ) -> Any:
        if not isinstance(tool, _CodeTool):
            return await super().call_tool(name, tool_args, ctx, tool)
        calls = NestedCalls(ctx=ctx, toolset=self.wrapped, tools=tool.inner)
        token = active_calls.set(calls)
        code_mode, observer = tool.code_mode, _stream_to(ctx, tool.code_mode)
        # Named after the model's call, so the follow-up run (with DeferredToolResults) that
        # calls this tool again finds the paused execution and resumes it from its journal.
        execution_id = f"pa-{ctx.tool_call_id}" if ctx.tool_call_id else None
        try:
            paused = (
                await code_mode.paused_record(execution_id)
                if execution_id and ctx.tool_call_approved
                else None
            )
            if paused is not None and execution_id is not None:
                decisions = _decisions(paused.pending, ctx.tool_call_metadata)
                result = await code_mode.resume(execution_id, decisions, observer=observer)
            else:
                result = await code_mode.run(
                    tool_args["code"], observer=observer, execution_id=execution_id
                )
        finally:
            active_calls.reset(token)
        if calls.fatal is not None:
            raise calls.fatal
        if result.status == "paused":
            raise ApprovalRequired(metadata={"codemode": _requests(result)})
        if not result.ok:
            raise ModelRetry(result.to_model())
        return ToolReturn(return_value=result.to_model(), metadata=result)

    async def _plans_call(self, ctx: RunContext[AgentDepsT], tool_def: ToolDefinition) -> bool:
        if tool_def.kind != "function" or tool_def.defer_loading or tool_def.tool_kind is not None:
            return False
        return await matches_tool_selector(self.tools, ctx, tool_def)

    def _code_mode_for(self, inner: dict[str, ToolsetTool[AgentDepsT]]) -> CodeMode:
        """The `CodeMode` for this set of tools, rebuilt only when their definitions change."""
        tool_defs = {tool_name: tool.tool_def for tool_name, tool in inner.items()}
        key = fingerprint(tool_defs)
        code_mode = self._code_modes.get(key)
        if code_mode is None:
            converted = [to_codemode_tool(tool_def) for tool_def in tool_defs.values()]
            rules = {n: r for n, r in self.require_approval.items() if n in tool_defs}
            code_mode = CodeMode(require_approval(converted, rules), **self.options)
            if len(self._code_modes) >= _CACHED_CATALOGS:
                self._code_modes.pop(next(iter(self._code_modes)))
            self._code_modes[key] = code_mode
        return code_mode


def _requests(result: ExecutionResult) -> dict[str, Any]:
    """What `DeferredToolRequests.metadata[tool_call_id]["codemode"]` tells the reviewer."""
    return {
        "execution_id": result.execution_id,
        "requests": [
            {
                "request_id": p.request_id,
                "tool": p.tool,
                "arguments": dict(p.arguments),
                "line": p.line,
            }
            for p in result.pending
        ],
    }


def _decisions(pending: Sequence[PendingApproval], metadata: Any) -> dict[str, Decision]:
    """Approving the code tool's call approves every request in it, unless
    `DeferredToolResults.metadata[tool_call_id]` says `{"decisions": {request_id: ...}}`
    ("approve", "reject", {"type": "reject", "message": ...}, True, False)."""
    given = metadata.get("decisions", {}) if isinstance(metadata, Mapping) else {}
    decisions: dict[str, Decision] = {}
    for request in pending:
        value = given.get(request.request_id, "approve")
        decision = decision_from(value, f"the decision for {request.request_id!r}")
        if decision is not None:
            decisions[request.request_id] = decision
    return decisions


def as_toolset(wrapped: ToolsetOrTools[AgentDepsT]) -> AbstractToolset[AgentDepsT]:
    """One toolset for what `CodeModeToolset` was given (tools and functions become one
    `FunctionToolset`, placed after the toolsets)."""
    if isinstance(wrapped, AbstractToolset):
        return wrapped
    toolsets: list[AbstractToolset[AgentDepsT]] = []
    functions: list[Tool[AgentDepsT] | Callable[..., Any]] = []
    for item in wrapped:
        if isinstance(item, AbstractToolset):
            toolsets.append(item)
        elif isinstance(item, Tool) or callable(item):
            functions.append(item)
        else:
            raise UserError(
                f"CodeModeToolset takes toolsets, pydantic-ai Tools and functions, got {item!r}"
            )
    if functions:
        toolsets.append(FunctionToolset(functions))
    if len(toolsets) == 1:
        return toolsets[0]
    return CombinedToolset(toolsets)


def _stream_to(ctx: RunContext[Any], code_mode: CodeMode) -> Observer:
    """An observer that emits a plan's progress into the run's event stream.

    A `RunContext` not backed by a running agent (a toolset called directly) has no stream:
    then events are dropped, once `emit` has said so.
    """
    streaming = True

    async def emit(event: ProgressEvent) -> None:
        nonlocal streaming
        if not streaming:
            return
        entry = code_mode.catalog.get(event.tool) if event.tool else None
        try:
            await ctx.emit(to_custom_event(event, entry.tool.name if entry else None))
        except UserError:
            streaming = False

    return emit
