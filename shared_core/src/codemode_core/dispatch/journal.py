"""`JournalCalls`: serve a resumed plan's calls from its journal; record every live call."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from codemode_core.dispatch.base import CallContext, ToolCall, WrapperDispatcher
from codemode_core.errors import StopPlan, ToolError
from codemode_core.result import to_json_text, truncate_text

__all__ = ["JournalCalls"]


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
            expected = journal.next_unused()
            assert expected is not None
            raise StopPlan(
                f"the resumed plan called {_show(name, call.arguments)} (line {call.line}), "
                f"but its journal's next call is {_show(expected.tool, expected.arguments)} "
                f"(line {expected.line}). A resumed plan must take the same path; nothing was "
                "called twice. Start a new run instead.",
                "diverged",
            )
        journal.inflight += 1
        started = time.time()
        try:
            result = await self.wrapped.dispatch(call, ctx)
        except ToolError as exc:
            journal.record_call(
                name, call.arguments, result=None, error=exc.message, line=call.line, at=started
            )
            raise
        finally:
            journal.inflight -= 1
        journal.record_call(
            name, call.arguments, result=result, error=None, line=call.line, at=started
        )
        return result


def _show(tool: str | None, arguments: Any) -> str:
    return f"{tool}({truncate_text(to_json_text(arguments), 120)})"
