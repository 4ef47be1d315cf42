"""`JournalCalls`: serve a resumed plan's calls from its journal; record every live call.
`StartCalls`: on a durable store, journal that a call which is not idempotent is about to run,
so that a crash leaves it "in doubt" instead of silently running it again on takeover."""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from codemode_core.dispatch.base import CallContext, ToolCall, WrapperDispatcher
from codemode_core.durable.journal import RunJournal, call_key
from codemode_core.errors import StopPlan, StoreError, ToolError
from codemode_core.result import to_json_text, truncate_text

__all__ = ["JournalCalls", "StartCalls"]


class _Ticket:
    """One live call's link between `JournalCalls` and `StartCalls` (which may see another
    `ToolCall` object: a human can edit the arguments in between)."""

    __slots__ = ("started",)

    def __init__(self, started: int | None) -> None:
        self.started = started
        """The seq of the call's `start` entry, once written (or its in-doubt one)."""


_ticket: ContextVar[_Ticket | None] = ContextVar("codemode_call_ticket", default=None)
"""Set by `JournalCalls` around one call; each concurrent call runs in a task of its own."""


@dataclass(frozen=True, slots=True)
class JournalCalls(WrapperDispatcher):
    """Replay first, then live. A journaled call returns its recorded result (or raises its
    recorded error) without reaching the tool; a call the journal does not have, while
    journaled calls remain unreplayed, stops the plan as diverged, so no tool runs twice."""

    async def dispatch(self, call: ToolCall, ctx: CallContext) -> Any:
        journal = ctx.journal
        if journal is None:
            return await self.wrapped.dispatch(call, ctx)
        name = call.entry.qualified_name
        if journal.replaying:
            entry = journal.replayed(name, call.arguments)
            if entry is not None:
                if entry.error is not None:
                    raise ToolError(entry.error, tool=name)
                return entry.result
            if journal.in_doubt(name, call.arguments):  # in flight at the crash: decided live
                return await self._live(call, ctx, journal, name)
            expected = journal.next_unused()
            assert expected is not None
            raise StopPlan(
                f"the resumed plan called {_show(name, call.arguments)} (line {call.line}), "
                f"but its journal's next call is {_show(expected.tool, expected.arguments)} "
                f"(line {expected.line}). A resumed plan must take the same path; nothing was "
                "called twice. Start a new run instead.",
                "diverged",
            )
        return await self._live(call, ctx, journal, name)

    async def _live(self, call: ToolCall, ctx: CallContext, journal: RunJournal, name: str) -> Any:
        doubt = journal.take_in_doubt(name, call.arguments)
        ticket = _Ticket(doubt.seq if doubt is not None else None)
        key = call_key(name, call.arguments)
        if doubt is not None and not call.entry.tool.idempotent:
            journal.doubted.add(key)  # `ApproveCalls` asks a human before it runs again
        token = _ticket.set(ticket)
        journal.inflight += 1
        at = time.time()
        try:
            result = await self.wrapped.dispatch(call, ctx)
        except ToolError as exc:
            journal.record_call(
                name,
                call.arguments,
                result=None,
                error=exc.message,
                line=call.line,
                at=at,
                started=ticket.started,
            )
            await _persist(journal)
            raise
        finally:
            journal.inflight -= 1
            journal.doubted.discard(key)
            _ticket.reset(token)
        journal.record_call(
            name,
            call.arguments,
            result=result,
            error=None,
            line=call.line,
            at=at,
            started=ticket.started,
        )
        await _persist(journal)
        return result


@dataclass(frozen=True, slots=True)
class StartCalls(WrapperDispatcher):
    """Just before a tool that is not idempotent runs (after any approval), its `start`
    entry is made durable; the call's own entry later points to it. Memory stores skip it."""

    async def dispatch(self, call: ToolCall, ctx: CallContext) -> Any:
        journal, ticket = ctx.journal, _ticket.get()
        if (
            journal is not None
            and journal.sink is not None
            and ticket is not None
            and ticket.started is None
            and not call.entry.tool.idempotent
        ):
            ticket.started = journal.record_start(
                call.entry.qualified_name, call.arguments, line=call.line, at=time.time()
            )
            await _persist(journal)
        return await self.wrapped.dispatch(call, ctx)


async def _persist(journal: RunJournal) -> None:
    """The entry is durable before the plan sees the outcome; a store that fails stops the
    plan (the runtime reports it as a `store` error, keeping the calls that ran)."""
    try:
        await journal.persist()
    except StoreError as exc:
        journal.store_error = exc
        raise StopPlan(f"the execution store failed: {exc}", "budget") from None


def _show(tool: str | None, arguments: Any) -> str:
    return f"{tool}({truncate_text(to_json_text(arguments), 120)})"
