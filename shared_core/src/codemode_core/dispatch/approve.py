"""`ApproveCalls`: calls that need a human's approval get it, or pause the execution."""

from __future__ import annotations

import inspect
import uuid
from dataclasses import dataclass
from typing import Any

from codemode_core._jsonify import jsonify
from codemode_core.dispatch.base import CallContext, ToolCall, WrapperDispatcher
from codemode_core.durable.approvals import Decision, as_decision
from codemode_core.durable.journal import call_key
from codemode_core.errors import StopPlan, ToolError
from codemode_core.events import ProgressEvent, notify
from codemode_core.result import PendingApproval

__all__ = ["IN_DOUBT", "ApproveCalls", "waits_for_human"]

IN_DOUBT = "in doubt after a crash"
"""The reason of a request for a call that was in flight when its host process died (it may
or may not have run); `Tool.idempotent` calls are run again instead."""


@dataclass(frozen=True, slots=True)
class ApproveCalls(WrapperDispatcher):
    """A decision comes from `resume(..., decisions)`, else from the approver callback, else
    the call waits: once every running call of the plan waits for a human, the execution
    pauses and returns all the requests together."""

    async def dispatch(self, call: ToolCall, ctx: CallContext) -> Any:
        tool = call.entry.tool
        name = call.entry.qualified_name
        journal = ctx.journal
        doubted = journal is not None and call_key(name, call.arguments) in journal.doubted
        needed = tool.requires_approval
        if callable(needed) and not doubted:
            needed = bool(needed(dict(call.arguments)))
        if not (needed or doubted):
            return await self.wrapped.dispatch(call, ctx)
        decision = journal.decision_for(name, call.arguments) if journal else None
        request = journal.undecided.pop(call_key(name, call.arguments), None) if journal else None
        if request is None:
            request = PendingApproval(
                request_id=uuid.uuid4().hex[:12],
                tool=name,
                arguments=call.arguments,
                line=call.line,
                reason=IN_DOUBT if doubted else None,
            )
        if decision is None and ctx.approver is not None:
            answer = ctx.approver(request)
            if inspect.isawaitable(answer):
                answer = await answer
            decision = as_decision(answer, "the approver's answer")
        if decision is None:
            if journal is None:
                raise ToolError(f"{name} needs a human's approval and none can be asked")
            journal.new_pending.append(request)
            await journal.wait_to_pause()
            raise StopPlan(f"waiting for approval of {name} (line {call.line})", "paused")
        return await self._decided(decision, call, ctx)

    async def _decided(self, decision: Decision, call: ToolCall, ctx: CallContext) -> Any:
        if decision.approved and decision.arguments is not None:  # edited: run that instead
            call = ToolCall(
                entry=call.entry, arguments=jsonify(dict(decision.arguments)), line=call.line
            )
        if ctx.observer is not None:  # RecordCalls held the start back (waits_for_human)
            start = ProgressEvent(
                kind="tool_start",
                execution_id=ctx.execution_id,
                tool=call.entry.qualified_name,
                arguments=call.arguments,
                line=call.line,
            )
            await notify(ctx.observer, start)
        if decision.approved:
            return await self.wrapped.dispatch(call, ctx)
        raise ToolError(
            f"not approved: {decision.reason or 'a human rejected this call'}",
            tool=call.entry.qualified_name,
        )


def waits_for_human(call: ToolCall, ctx: CallContext) -> bool:
    """Whether this call goes through a decision (from `resume`, the approver or a human).

    `RecordCalls` then leaves announcing the call to `ApproveCalls`: a call that pauses is
    reported once, as an approval request, and a decided one starts with the arguments it
    runs with (an edit's, not the plan's).
    """
    needed = call.entry.tool.requires_approval
    if ctx.journal is None or not needed:
        return False
    return bool(needed(dict(call.arguments))) if callable(needed) else True
