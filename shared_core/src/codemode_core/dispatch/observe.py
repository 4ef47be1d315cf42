"""Report each tool call's start and end to the execution's observer (progress streaming)."""

from __future__ import annotations

import inspect
import logging
import time
from dataclasses import dataclass
from typing import Any

from codemode_core.dispatch.base import CallContext, ToolCall, WrapperDispatcher
from codemode_core.errors import ToolError
from codemode_core.events import Observer, ProgressEvent

__all__ = ["ReportProgress", "notify"]

log = logging.getLogger("codemode")


async def notify(observer: Observer | None, event: ProgressEvent) -> None:
    """Deliver one event; an observer that fails is logged, never allowed to break the plan."""
    if observer is None:
        return
    try:
        outcome = observer(event)
        if inspect.isawaitable(outcome):
            await outcome
    except Exception:
        log.exception("codemode progress observer failed on %s", event.kind)


@dataclass(frozen=True, slots=True)
class ReportProgress(WrapperDispatcher):
    """Emits `tool_start` before and `tool_end` after the wrapped call (when observed)."""

    async def dispatch(self, call: ToolCall, ctx: CallContext) -> Any:
        observer = ctx.observer
        if observer is None:
            return await self.wrapped.dispatch(call, ctx)
        name = call.entry.qualified_name
        await notify(
            observer,
            ProgressEvent(
                kind="tool_start",
                execution_id=ctx.execution_id,
                tool=name,
                arguments=call.arguments,
                line=call.line,
            ),
        )
        started = time.perf_counter()
        result: Any = None
        error: str | None = None
        try:
            result = await self.wrapped.dispatch(call, ctx)
        except ToolError as exc:
            error = exc.message
            raise
        except BaseException as exc:
            error = f"interrupted: {type(exc).__name__}"
            raise
        finally:
            await notify(
                observer,
                ProgressEvent(
                    kind="tool_end",
                    execution_id=ctx.execution_id,
                    tool=name,
                    result=result,
                    error=error,
                    duration=time.perf_counter() - started,
                    line=call.line,
                ),
            )
        return result
