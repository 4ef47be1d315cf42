"""Host-side dispatch of a plan's tool calls: one narrow async method and composable wrappers.

In the spirit of pydantic-ai's toolsets: `Dispatcher.dispatch(call, ctx)` is the whole
interface, and each concern (recording, approvals, journal replay, invoking the function) is a
small wrapper that overrides only `dispatch` and reaches the next layer through `wrapped`.
`CodeMode` assembles the chain; the per-execution state travels in an explicit `CallContext`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from codemode_core.events import Observer
from codemode_core.limits import Limits
from codemode_core.result import ToolCallRecord, UnexpectedResult

if TYPE_CHECKING:
    from codemode_core.catalog import CatalogEntry
    from codemode_core.dispatch.speculate import Speculator
    from codemode_core.durable.approvals import Approver
    from codemode_core.durable.journal import RunJournal
    from codemode_core.errors import ToolError

__all__ = ["CallContext", "Dispatcher", "ToolCall", "WrapperDispatcher"]


class ToolCall:
    """One call a plan made, with its arguments already mapped to the tool's own keys.

    A plain slotted class rather than a frozen dataclass: one is built per tool call, on the
    hot path, and layers never modify it.
    """

    __slots__ = ("arguments", "entry", "line", "mapping_error")

    def __init__(
        self,
        *,
        entry: CatalogEntry,
        arguments: dict[str, Any],
        line: int | None,
        mapping_error: ToolError | None = None,
    ) -> None:
        self.entry = entry
        self.arguments = arguments
        self.line = line
        self.mapping_error = mapping_error
        """Set when the plan's arguments could not be mapped (unknown name, too many)."""


@dataclass(kw_only=True, slots=True)
class CallContext:
    """What every layer may need about the execution a call belongs to."""

    execution_id: str
    limits: Limits
    records: list[ToolCallRecord | ToolCall | None] = field(default_factory=list)
    """Every call made so far, in start order: its record once it ended, the `ToolCall` while
    it runs (read with `RecordCalls.finished`), `None` for a call that became a pending
    approval request."""
    observer: Observer | None = None
    """Receives progress events for this execution (sent by `RecordCalls`)."""
    journal: RunJournal | None = None
    """This run's journal: what to replay, what to record, what waits for approval."""
    approver: Approver | None = None
    """Decides approval requests inline; None pauses the execution instead."""
    unexpected: list[UnexpectedResult] = field(default_factory=list)
    """Results that contradicted their tool's declared output type (one per tool)."""
    speculation: Speculator | None = None
    """The calls a streamed plan started early (`CodeMode.run_stream`), for the plan to claim."""


class Dispatcher(Protocol):
    """Performs (or refuses) one tool call; raises `ToolError` for the plan to see."""

    async def dispatch(self, call: ToolCall, ctx: CallContext) -> Any: ...


@dataclass(frozen=True, slots=True)
class WrapperDispatcher:
    """Forwards to `wrapped`; subclasses override `dispatch` to add one concern."""

    wrapped: Dispatcher

    async def dispatch(self, call: ToolCall, ctx: CallContext) -> Any:
        return await self.wrapped.dispatch(call, ctx)
