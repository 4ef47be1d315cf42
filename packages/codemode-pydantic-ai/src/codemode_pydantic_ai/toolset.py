"""`CodeModeToolset`: any pydantic-ai toolset in, one Code Mode tool out."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.exceptions import ApprovalRequired, ModelRetry, UserError
from pydantic_ai.messages import ToolReturn
from pydantic_ai.models.test import TestModel
from pydantic_ai.tools import AgentDepsT, Tool, ToolDefinition, ToolSelector, matches_tool_selector
from pydantic_ai.toolsets import (
    AbstractToolset,
    CombinedToolset,
    FunctionToolset,
    ToolsetTool,
    WrapperToolset,
)
from pydantic_ai.usage import RunUsage

from codemode_core import CodeMode, ExecutionResult, Observer, ProgressEvent, ResumeError
from codemode_core.integration import (
    ApprovalPredicate,
    MemoryStore,
    check_approval_rules,
    check_options,
    check_tool_choice,
    require_approval,
    resolve_executor,
)
from codemode_pydantic_ai._approvals import deferred_metadata, execution_id_for, resume_decisions
from codemode_pydantic_ai._convert import (
    CODE_ARGS_VALIDATOR,
    code_tool_definition,
    fingerprint,
    to_codemode_tool,
)
from codemode_pydantic_ai._dispatch import NestedCalls, active_calls, inline_approver
from codemode_pydantic_ai.events import to_custom_event

__all__ = ["TOOLSET_OPTIONS", "CodeModeToolset", "ToolsetOrTools", "options_checked_as"]

ToolsetOrTools = (
    AbstractToolset[AgentDepsT]
    | Sequence[AbstractToolset[AgentDepsT] | Tool[AgentDepsT] | Callable[..., Any]]
)
"""A toolset, or a list of toolsets, `Tool`s and plain functions (combined into one)."""

_CACHED_CATALOGS = 8

TOOLSET_OPTIONS = ("tools", "name", "max_retries", "options", "require_approval")
"""`CodeModeToolset`'s own options (and `CodeModeCapability`'s); the rest are `CodeMode`'s."""

_caller: contextvars.ContextVar[str] = contextvars.ContextVar(
    "codemode_pydantic_ai_caller", default="CodeModeToolset"
)
"""What the user called, for the errors about its options (`CodeModeCapability` sets it)."""


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

    Tools that need approval (pydantic-ai's `requires_approval=True`, or named in
    `require_approval`) are called from plans too. A plan reaching one asks the `approver`
    option, then the agent's `HandleDeferredToolCalls` capability; if neither decides, the plan
    pauses and the code tool call raises `ApprovalRequired`: the run ends with pydantic-ai's
    `DeferredToolRequests`, whose `metadata[tool_call_id]["codemode"]` has the execution id and
    the inner requests (`request_id`, `tool`, `arguments`, plan `line`). The follow-up run with
    `DeferredToolResults` resumes the plan from its journal: the calls made before the pause
    return their recorded results and do not run again. Approving the code call approves every
    request in it; `metadata={tool_call_id: {"decisions": {request_id: ToolDenied("why")}}}`
    (or `ToolApproved(override_args=...)`, `True`/`False`) decides them one by one, and a plan
    sees a denied call as a `ToolError` it may handle. Denying the code call itself ends the
    plan where it paused (the model reads the denial).

    External tools, deferred-loading tools and framework tools (those with a `tool_kind`, like
    tool search) stay direct tools beside the code tool, so pydantic-ai's own flows for them
    are unchanged; so do tools `tools` does not select (`require_approval` applies to them
    through pydantic-ai's approval flow).

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
        require_approval: `{tool_name: True | predicate(arguments)}`: calls that need a human,
            besides tools with pydantic-ai's own `requires_approval=True` (a rule here wins).
        **code_mode_options: Passed to `codemode_core.CodeMode` (`limits`, `executor`,
            `discovery`, `discovery_token_budget`, `approver`, `store`, `pause_ttl`). Paused
            plans are kept in `store` (default: in memory, shared by this toolset's runs); give
            a SQLite path or a `PostgresStore` to resume them in another process.
    """

    wrapped: AbstractToolset[AgentDepsT]
    tools: ToolSelector[AgentDepsT]
    name: str
    max_retries: int
    options: dict[str, Any]
    require_approval: dict[str, bool | ApprovalPredicate]
    _code_modes: dict[tuple[Any, ...], CodeMode] = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        wrapped: ToolsetOrTools[AgentDepsT],
        *,
        tools: ToolSelector[AgentDepsT] = "all",
        name: str = "run_code",
        max_retries: int = 3,
        options: dict[str, Any] | None = None,
        require_approval: Mapping[str, bool | ApprovalPredicate] | None = None,
        **code_mode_options: Any,
    ) -> None:
        merged = {**(options or {}), **code_mode_options}
        caller = _caller.get()
        check_options(caller, merged, own=TOOLSET_OPTIONS)
        check_approval_rules(caller, require_approval)
        if not isinstance(tools, dict):  # pydantic-ai's selector also takes a metadata dict
            check_tool_choice(caller, tools)
        # One executor for every catalog this toolset builds (and every copy pydantic-ai makes
        # of it per run or step): an isolated executor's warm workers are shared, not per step.
        merged["executor"] = resolve_executor(merged.get("executor"))
        if merged.get("store") is None:  # one store, so a follow-up run finds a paused plan
            merged["store"] = MemoryStore()
        self.wrapped = as_toolset(wrapped)
        self.tools = tools
        self.name = name
        self.max_retries = max_retries
        self.options = merged
        self.require_approval = dict(require_approval or {})
        self._code_modes = {}

    @property
    def description(self) -> str:
        """The code tool's description, as the model reads it (the stubs included)."""
        return self._latest_code_mode().description

    @property
    def stubs(self) -> str:
        """The typed stubs of the tools plans call."""
        return self._latest_code_mode().stubs

    def _latest_code_mode(self) -> CodeMode:
        """The catalog of the latest step this toolset listed its tools for; before any run,
        the wrapped tools listed with a bare `RunContext` (no deps, no run), which is what a
        static toolset shows every step. Listing that needs a run (deps a `prepare` function
        reads, an MCP server to enter) says so: read it after a run instead."""
        if self._code_modes:
            return next(reversed(self._code_modes.values()))
        bare: RunContext[Any] = RunContext(deps=None, model=TestModel(), usage=RunUsage())
        try:
            # A sync property may be read inside a running loop: list in a thread of its own.
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, self.get_tools(bare)).result()
        except Exception as exc:
            raise UserError(
                f"CodeModeToolset could not list {self.wrapped.label}'s tools outside a run "
                f"({type(exc).__name__}: {exc}); read description/stubs after a run"
            ) from exc
        return next(reversed(self._code_modes.values()))

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
        unknown = sorted(set(self.require_approval) - set(inner) - set(direct))
        if unknown:  # a typo would otherwise let the tool run without approval
            raise UserError(
                f"CodeModeToolset: require_approval names {', '.join(map(repr, unknown))}, "
                f"which is not among {self.wrapped.label}'s tools "
                f"({', '.join(map(repr, [*inner, *direct])) or 'none'}). Use the tools' own names."
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
            rule = self.require_approval.get(name, False)
            if rule and not ctx.tool_call_approved and (rule is True or rule(tool_args)):
                raise ApprovalRequired()  # a direct tool: pydantic-ai's own approval flow
            return await super().call_tool(name, tool_args, ctx, tool)
        code_mode, code = tool.code_mode, tool_args["code"]
        calls = NestedCalls(
            ctx=ctx, toolset=self.wrapped, tools=tool.inner, catalog=code_mode.catalog
        )
        token = active_calls.set(calls)
        try:
            result = await self._run_or_resume(ctx, code_mode, code)
        finally:
            active_calls.reset(token)
        if calls.fatal is not None:
            raise calls.fatal
        if result.status == "paused":
            raise ApprovalRequired(metadata=deferred_metadata(result))
        if not result.ok:
            raise ModelRetry(result.to_model())
        return ToolReturn(return_value=result.to_model(), metadata=result)

    async def _run_or_resume(
        self, ctx: RunContext[AgentDepsT], code_mode: CodeMode, code: str
    ) -> ExecutionResult:
        """Run the plan, or, when this call paused it in an earlier run, resume it from its
        journal with the decisions `DeferredToolResults` gave (without them, it pauses again
        with the same requests)."""
        observer = _stream_to(ctx)
        execution_id = execution_id_for(ctx, code)
        record = await code_mode.store.load(execution_id) if execution_id else None
        if execution_id is None or record is None:
            return await code_mode.run(code, observer=observer, execution_id=execution_id)
        if record.state != "paused":
            raise ModelRetry(
                f"This plan already ran in an earlier attempt ({record.state}); its tools were "
                "not called again. Write a new plan if something is still missing."
            )
        decisions = (
            resume_decisions(record.pending, ctx.tool_call_metadata)
            if ctx.tool_call_approved
            else {}
        )
        try:
            return await code_mode.resume(execution_id, decisions, observer=observer)
        except ResumeError as exc:  # expired, or resumed by another run meanwhile
            raise ModelRetry(f"The paused plan was not resumed: {exc}") from None

    async def _plans_call(self, ctx: RunContext[AgentDepsT], tool_def: ToolDefinition) -> bool:
        if tool_def.kind not in ("function", "unapproved"):
            return False
        if tool_def.defer_loading or tool_def.tool_kind is not None:
            return False
        return await matches_tool_selector(self.tools, ctx, tool_def)

    def _code_mode_for(self, inner: dict[str, ToolsetTool[AgentDepsT]]) -> CodeMode:
        """The `CodeMode` for this set of tools, rebuilt only when their definitions change."""
        tool_defs = {tool_name: tool.tool_def for tool_name, tool in inner.items()}
        key = fingerprint(tool_defs)
        code_mode = self._code_modes.pop(key, None)  # re-inserted last: the latest, kept longest
        if code_mode is None:
            converted = [to_codemode_tool(tool_def) for tool_def in tool_defs.values()]
            rules = {n: r for n, r in self.require_approval.items() if n in tool_defs}
            code_mode = CodeMode(
                require_approval(converted, rules),
                **{**self.options, "approver": inline_approver(self.options.get("approver"))},
            )
            if len(self._code_modes) >= _CACHED_CATALOGS:
                self._code_modes.pop(next(iter(self._code_modes)))
        self._code_modes[key] = code_mode
        return code_mode


@contextlib.contextmanager
def options_checked_as(caller: str) -> Iterator[None]:
    """Errors about options that `CodeModeToolset` raises meanwhile name `caller`."""
    token = _caller.set(caller)
    try:
        yield
    finally:
        _caller.reset(token)


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


def _stream_to(ctx: RunContext[Any]) -> Observer:
    """An observer that emits a plan's progress into the run's event stream.

    A `RunContext` not backed by a running agent (a toolset called directly) has no stream:
    then events are dropped, once `emit` has said so.
    """
    streaming = True

    async def emit(event: ProgressEvent) -> None:
        nonlocal streaming
        if not streaming:
            return
        try:
            await ctx.emit(to_custom_event(event))
        except UserError:
            streaming = False

    return emit
