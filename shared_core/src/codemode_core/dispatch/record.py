"""Record every tool call (arguments, result or error, duration, line), cap their number, and
tell the execution's observer (progress streaming) as each call starts and ends."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from codemode_core._output_check import contradiction
from codemode_core._shape import shape
from codemode_core.dispatch.approve import waits_for_human
from codemode_core.dispatch.base import CallContext, ToolCall, WrapperDispatcher
from codemode_core.durable.journal import call_key
from codemode_core.errors import BudgetExceeded, StopPlan, ToolError
from codemode_core.events import ProgressEvent, notify
from codemode_core.result import ToolCallRecord, UnexpectedResult

__all__ = ["RecordCalls"]


def _note_contradiction(
    ctx: CallContext, tool: str, line: int | None, result: Any, declared: Any
) -> None:
    """Remember (once per tool) a result that contradicts the tool's declared output type."""
    contradicted = contradiction(result, declared)
    if contradicted is not None and all(u.tool != tool for u in ctx.unexpected):
        ctx.unexpected.append(
            UnexpectedResult(tool=tool, line=line, declared=contradicted, observed=shape(result))
        )


_UNFINISHED = "interrupted: still running when the plan ended"


@dataclass(frozen=True, slots=True)
class RecordCalls(WrapperDispatcher):
    """Outermost layer: nothing a plan does escapes the record, successful or not.

    The record lives on the host, so it survives a plan that crashes, times out, or (with the
    isolated executor) a worker process that is killed mid-plan.
    """

    @staticmethod
    def finished(ctx: CallContext) -> tuple[ToolCallRecord, ...]:
        """Every call's record, in start order, with a call whose end was never seen (a tool
        that ignored its cancellation) as interrupted: a call that started is never left out."""
        return tuple(
            slot
            if isinstance(slot, ToolCallRecord)
            else ToolCallRecord(
                tool=slot.entry.qualified_name,
                arguments=slot.arguments,
                error=_UNFINISHED,
                line=slot.line,
            )
            for slot in ctx.records
            if slot is not None
        )

    async def dispatch(self, call: ToolCall, ctx: CallContext) -> Any:
        records = ctx.records
        limit = ctx.limits.max_tool_calls
        if len(records) >= limit:
            raise BudgetExceeded(
                f"the plan exceeded max_tool_calls={limit}. Make fewer calls per plan (filter "
                "first, use bulk tools), or return partial results."
            )
        name = call.entry.qualified_name
        observer = ctx.observer
        journal = ctx.journal
        replayed = (
            journal is not None and journal.replaying and journal.will_replay(name, call.arguments)
        )
        held = observer is not None and not replayed and waits_for_human(call, ctx)
        if observer is not None and not held:
            await notify(
                observer,
                ProgressEvent(
                    kind="tool_start",
                    execution_id=ctx.execution_id,
                    tool=name,
                    arguments=call.arguments,
                    line=call.line,
                    replayed=replayed,
                ),
            )
        index = len(records)
        # Reserve the slot (records keep the order calls started in) with the call itself: a
        # call that started is in the result even if its end is never seen (`finished`).
        records.append(call)
        started = time.perf_counter()
        error: str | None = None
        result: Any = None
        waiting = False
        try:
            result = await self.wrapped.dispatch(call, ctx)
            declared = call.entry.tool.output_schema
            if declared:
                _note_contradiction(ctx, name, call.line, result, declared)
        except ToolError as exc:
            error = exc.message
            raise
        except StopPlan as exc:
            error = f"stopped: {exc}"
            waiting = exc.kind == "paused"
            raise
        except BaseException as exc:
            error = f"interrupted: {type(exc).__name__}"
            raise
        finally:
            duration = time.perf_counter() - started
            # A call waiting for approval did not run: it is a pending request, not a record.
            records[index] = (
                None
                if waiting
                else ToolCallRecord(
                    tool=name,
                    arguments=call.arguments,
                    result=result,
                    error=error,
                    line=call.line,
                    duration=duration,
                    speculated=ctx.speculation is not None and ctx.speculation.took(call),
                )
            )
            if observer is not None:
                await notify(
                    observer, _end_event(call, ctx, result, error, duration, replayed, waiting)
                )
        return result


def _end_event(
    call: ToolCall,
    ctx: CallContext,
    result: Any,
    error: str | None,
    duration: float,
    replayed: bool,
    waiting: bool,
) -> ProgressEvent:
    """How a call's end is reported: a call that waits for a human ends as a request."""
    name = call.entry.qualified_name
    if waiting:  # the start was held back (waits_for_human): the request replaces it
        key = call_key(name, call.arguments)
        pending = ctx.journal.new_pending if ctx.journal is not None else []
        request = next((p for p in pending if call_key(p.tool, p.arguments) == key), None)
        return ProgressEvent(
            kind="approval_requested",
            execution_id=ctx.execution_id,
            tool=name,
            arguments=call.arguments,
            line=call.line,
            request_id=request.request_id if request is not None else None,
        )
    return ProgressEvent(
        kind="tool_end",
        execution_id=ctx.execution_id,
        tool=name,
        result=result,
        error=error,
        duration=duration,
        line=call.line,
        replayed=replayed,
    )
