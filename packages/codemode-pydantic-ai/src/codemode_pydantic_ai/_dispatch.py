"""A plan's tool calls, dispatched through pydantic-ai's own `ToolManager`.

Each code tool call gets a `NestedCalls`: a `ToolManager` over the wrapped toolset, built from
the code tool's own `RunContext`. Going through `ToolManager.handle_call` (the path pydantic-ai
provides for sandboxes) means every inner call is validated by the tool's validator, runs with
the run's `deps`, is counted in `ctx.usage`, passes the agent's capability hooks (tracing,
guards), and resolves approvals with a `HandleDeferredToolCalls` capability when there is one.
A tool with pydantic-ai's `requires_approval=True` is called as approved: codemode's approval
layer asked for the decision before the call got here (see `_approvals.py`).

What a plan may see and what ends the run follows pydantic-ai's own rules for a direct call:
`ModelRetry`, invalid arguments and `ToolFailed` reach the plan as a `ToolError` carrying the
message (the model would have read it too); an unexpected exception or an exhausted usage
limit ends the run, re-raised once the plan has stopped.
"""

from __future__ import annotations

import contextvars
import inspect
import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from opentelemetry.trace import get_current_span
from pydantic import ValidationError
from pydantic_ai import RunContext
from pydantic_ai.exceptions import (
    ApprovalRequired,
    CallDeferred,
    ModelRetry,
    ToolFailed,
    UsageLimitExceeded,
)
from pydantic_ai.messages import ToolCallPart, ToolReturn
from pydantic_ai.tool_manager import ToolManager
from pydantic_ai.tools import DeferredToolRequests, ToolDenied
from pydantic_ai.toolsets import AbstractToolset, ToolsetTool, WrapperToolset

from codemode_core import Decision, PendingApproval, ToolError
from codemode_core.integration import (
    Approver,
    Catalog,
    current_plan_call,
    describe_validation_error,
)
from codemode_pydantic_ai._approvals import from_pydantic_ai
from codemode_pydantic_ai._barrier import Barrier

__all__ = ["NestedCalls", "active_calls", "call_wrapped_tool", "inline_approver"]

active_calls: contextvars.ContextVar[NestedCalls | None] = contextvars.ContextVar(
    "codemode_pydantic_ai_calls", default=None
)
"""The code tool call whose plan is running (set around `CodeMode.run`)."""


async def call_wrapped_tool(name: str, arguments: dict[str, Any]) -> Any:
    """What every neutral tool's function does: hand the call to the running code tool call."""
    calls = active_calls.get()
    if calls is None:
        raise ToolError(f"{name} can only be called from a plan run by CodeModeToolset")
    return await calls.call(name, arguments)


def inline_approver(approver: Approver | None) -> Approver:
    """Decides a request before the plan pauses: the `approver` option first, then the agent's
    `HandleDeferredToolCalls` capability; `None` from both pauses the plan."""

    async def decide(request: PendingApproval) -> Decision | bool | None:
        if approver is not None:
            answer = approver(request)
            if inspect.isawaitable(answer):
                answer = await answer
            if answer is not None:
                return answer
        calls = active_calls.get()
        return await calls.ask_handler(request) if calls is not None else None

    return decide


@dataclass
class NestedCalls:
    """The inner tool calls of one code tool call, and the run-ending error if one happened."""

    ctx: RunContext[Any]
    toolset: AbstractToolset[Any]
    tools: dict[str, ToolsetTool[Any]]
    catalog: Catalog
    """The plan's catalog: maps the names plans use (`tools.x`) back to the tools' own."""
    fatal: BaseException | None = None
    """An error pydantic-ai would end the run with; re-raised after the plan stops."""
    _manager: ToolManager[Any] = field(init=False)
    _ids: itertools.count[int] = field(default_factory=itertools.count, init=False)
    _pending: int = field(default=0, init=False)
    _barrier: Barrier = field(default_factory=Barrier, init=False)

    def __post_init__(self) -> None:
        parent = self.ctx.tool_manager
        self._manager = ToolManager(
            toolset=_LabelledCalls(self.toolset),
            root_capability=parent.root_capability if parent is not None else None,
            ctx=self.ctx,
            tools=self.tools,
        )

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        if self.fatal is not None:
            raise ToolError(f"not called: the run is ending ({self.fatal})")
        self._check_usage_limits(name)
        part = ToolCallPart(
            tool_name=name,
            args=arguments,
            tool_call_id=f"{self.ctx.tool_call_id or 'codemode'}:{next(self._ids)}",
        )
        self._pending += 1
        try:
            async with self._barrier.hold(exclusive=self.tools[name].tool_def.sequential):
                result = await self._manager.handle_call(
                    part,
                    approved=self.tools[name].tool_def.kind == "unapproved",
                    wrap_validation_errors=False,
                )
        except ModelRetry as exc:
            raise ToolError(exc.message) from None
        except ToolFailed as exc:
            raise ToolError(exc.message) from None
        except ValidationError as exc:
            properties = self.tools[name].tool_def.parameters_json_schema.get("properties", {})
            raise ToolError(describe_validation_error(exc, list(properties))) from None
        except (ApprovalRequired, CallDeferred) as exc:
            needs = "approval" if isinstance(exc, ApprovalRequired) else "an external result"
            raise ToolError(f"{name} needs {needs}, which a plan cannot wait for") from None
        except Exception as exc:
            self.fatal = exc
            raise ToolError(f"{name} failed and the run is ending: {type(exc).__name__}") from None
        finally:
            self._pending -= 1
        if isinstance(result, ToolDenied):
            raise ToolError(f"{name} was denied: {result.message}")
        if isinstance(result, ToolReturn):
            return result.return_value
        return result

    async def ask_handler(self, request: PendingApproval) -> Decision | None:
        """The agent's `HandleDeferredToolCalls` capability decides `request` inline, as it
        would a direct call's approval; `None` when there is none or it leaves the call open."""
        entry = self.catalog.get(request.tool)
        if entry is None:
            return None
        part = ToolCallPart(
            tool_name=entry.tool.name,
            args=dict(request.arguments),
            tool_call_id=f"{self.ctx.tool_call_id or 'codemode'}:{request.request_id}",
        )
        metadata = {"codemode": {"request_id": request.request_id, "line": request.line}}
        results = await self._manager.resolve_deferred_tool_calls(
            DeferredToolRequests(approvals=[part], metadata={part.tool_call_id: metadata})
        )
        if results is None:
            return None
        return from_pydantic_ai(results.to_tool_call_results().get(part.tool_call_id))

    def _check_usage_limits(self, name: str) -> None:
        """A plan's calls count toward `UsageLimits.tool_calls_limit` like direct calls.

        Calls still running (started together with `asyncio.gather`) count as made, and so does
        the code tool call itself, which pydantic-ai counts once it returns.
        """
        limits = self.ctx.usage_limits
        if limits is None or limits.tool_calls_limit is None:
            return
        usage = self.ctx.usage
        projected = replace(usage, tool_calls=usage.tool_calls + self._pending + 2)
        try:
            limits.check_before_tool_call(projected)
        except UsageLimitExceeded as exc:
            self.fatal = exc
            raise ToolError(f"{name} not called: {exc}") from None


class _LabelledCalls(WrapperToolset[Any]):
    """The wrapped toolset, labelling each call's tracing span with the plan call it is.

    pydantic-ai's instrumentation opens an `execute_tool` span around `call_tool` (a child of
    the code tool's own span, which is current while the plan runs), so the span current
    here is the inner call's: it gets `codemode.tool` (as the plan calls it), `codemode.line`
    and `codemode.execution_id`. Without instrumentation the span does not record: nothing.
    """

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        plan_call = current_plan_call()
        span = get_current_span()
        if plan_call is not None and span.is_recording():
            span.set_attributes(
                {
                    "codemode.tool": plan_call.tool,
                    "codemode.execution_id": plan_call.execution_id,
                    **({"codemode.line": plan_call.line} if plan_call.line is not None else {}),
                }
            )
        return await super().call_tool(name, tool_args, ctx, tool)
