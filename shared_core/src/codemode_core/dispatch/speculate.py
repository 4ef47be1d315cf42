"""Speculative calls: read-only calls started while the plan is still being written, and the
dispatch layer through which the plan, once it runs, takes their results.

Why: a streamed plan takes seconds to arrive, and most plans begin with reads whose arguments
are literals. `Speculator` runs such calls (found by `_plan_stream.PlanWatcher`) as soon as
they are written; `ClaimSpeculated`, just above `InvokeTool`, hands the plan a finished (or
still running) call's result instead of calling the tool again. Everything above it (the
record, the tool-call budget, progress events, approvals, the journal) sees an ordinary call,
so a streamed plan is recorded and journaled exactly as the same plan given to `run`.

What may start early is narrow on purpose: tools declared `read_only` that need no approval,
with arguments written out as literals; at most `Limits.max_speculative_calls` at once and
`Limits.max_tool_calls` in all; one call per distinct tool and arguments. A speculative call
that failed is never claimed: the plan makes that call itself and sees what a live call gives.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from codemode_core.dispatch.base import CallContext, ToolCall, WrapperDispatcher
from codemode_core.dispatch.invoke import InvokeTool
from codemode_core.durable.journal import call_key
from codemode_core.errors import ToolError
from codemode_core.limits import Limits
from codemode_core.result import SpeculationStats, ToolCallRecord

__all__ = ["MISS", "ClaimSpeculated", "Speculator"]

MISS: Any = object()
"""`Speculator.claim`'s answer when the plan must make the call itself."""

_NOT_CLAIMED = "cancelled: the plan had not claimed it when it ended"


class _Flight:
    """One speculative call: its task, and what it gave once it ran."""

    __slots__ = ("call", "duration", "error", "result", "started", "task")

    def __init__(self, call: ToolCall) -> None:
        self.call = call
        self.task: asyncio.Future[None] | None = None
        self.started = False
        """It got a slot and reached the tool (a call still queued has done nothing)."""
        self.result: Any = None
        self.error: str | None = None
        self.duration = 0.0

    def record(self) -> ToolCallRecord:
        return ToolCallRecord(
            tool=self.call.entry.qualified_name,
            arguments=self.call.arguments,
            result=self.result,
            error=self.error,
            duration=self.duration,
            line=self.call.line,
            speculated=True,
        )


class Speculator:
    """The speculative calls of one streamed plan, from the first offer to the last claim.

    Created per `CodeMode.run_stream`; the stream's watcher `offer`s calls, `stop` ends the
    offers (the stream ended or the plan failed a check), the run `claim`s, and `close`
    cancels what nobody claimed and says what happened.
    """

    def __init__(self, limits: Limits, execution_id: str) -> None:
        self._slots = asyncio.Semaphore(limits.max_speculative_calls)
        self._most = limits.max_tool_calls
        self._ctx = CallContext(execution_id=execution_id, limits=limits)
        self._flights: dict[str, _Flight] = {}
        """Unclaimed calls by `call_key`."""
        self._offered: set[str] = set()
        self._served: set[int] = set()
        """`id()`s of the plan's `ToolCall`s answered from a speculation, until recorded."""
        self._dropped: list[_Flight] = []
        self._open = True
        self._started = 0
        self._claimed = 0

    @property
    def open(self) -> bool:
        """Whether offers are still taken."""
        return self._open

    def is_new(self, tool: str, arguments: dict[str, Any]) -> bool:
        """Whether an offer of this call would start anything."""
        return self._open and call_key(tool, arguments) not in self._offered

    def offer(self, call: ToolCall) -> None:
        """Start `call` (after a free slot) unless the same call was offered already."""
        key = call_key(call.entry.qualified_name, call.arguments)
        if not self._open or key in self._offered or len(self._offered) >= self._most:
            return
        self._offered.add(key)
        flight = _Flight(call)
        flight.task = asyncio.ensure_future(self._fly(flight))
        self._flights[key] = flight

    async def _fly(self, flight: _Flight) -> None:
        async with self._slots:
            flight.started = True
            self._started += 1
            began = time.perf_counter()
            try:
                flight.result = await InvokeTool().dispatch(flight.call, self._ctx)
            except ToolError as exc:
                flight.error = exc.message
            except asyncio.CancelledError:
                flight.error = _NOT_CLAIMED
                raise
            finally:
                flight.duration = time.perf_counter() - began

    def stop(self) -> None:
        """No more offers; calls still waiting for a slot are dropped (they did nothing)."""
        self._open = False
        for key, flight in list(self._flights.items()):
            if not flight.started and flight.task is not None:
                flight.task.cancel()
                del self._flights[key]

    async def claim(self, call: ToolCall) -> Any:
        """The result of the same call made speculatively, waiting for it if it still runs;
        `MISS` when there is none, it never started, or it failed."""
        flight = self._flights.pop(call_key(call.entry.qualified_name, call.arguments), None)
        if flight is None or flight.task is None:
            return MISS
        if not flight.started:
            flight.task.cancel()
            return MISS
        try:
            await flight.task
        except asyncio.CancelledError:  # the plan stopped (timeout, a sibling's failure)
            flight.error = "cancelled: the plan stopped while waiting for it"
            self._dropped.append(flight)
            raise
        if flight.error is not None:
            self._dropped.append(flight)
            return MISS
        self._claimed += 1
        self._served.add(id(call))
        return flight.result

    def took(self, call: ToolCall) -> bool:
        """Whether `call` was answered by `claim` (asked once, when it is recorded)."""
        if id(call) in self._served:
            self._served.discard(id(call))
            return True
        return False

    async def close(self) -> SpeculationStats:
        """Cancel every unclaimed call and count it; safe to call more than once."""
        self.stop()
        flights, self._flights = list(self._flights.values()), {}
        tasks = [f.task for f in flights if f.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._dropped.extend(f for f in flights if f.started)
        return SpeculationStats(
            started=self._started,
            claimed=self._claimed,
            unclaimed_calls=tuple(f.record() for f in self._dropped),
        )


@dataclass(frozen=True, slots=True)
class ClaimSpeculated(WrapperDispatcher):
    """Innermost but one: a call made speculatively is answered from its flight, once."""

    async def dispatch(self, call: ToolCall, ctx: CallContext) -> Any:
        speculation = ctx.speculation
        if speculation is not None and call.mapping_error is None:
            result = await speculation.claim(call)
            if result is not MISS:
                return result
        return await self.wrapped.dispatch(call, ctx)
