"""Progress of a running plan as pydantic-ai custom events in the agent's event stream.

They reach `agent.run_stream_events()`, `agent.iter()` streaming, an `event_stream_handler` and
the UI adapters, stamped with the code tool call's `tool_call_id`. Their names use the
`codemode.` prefix (as the LangChain adapter's custom events do), so they never collide with an
application's own events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import CustomEvent

from codemode_core import ProgressEvent, event_payload

__all__ = [
    "CodeModeApprovalRequestedEvent",
    "CodeModeLogEvent",
    "CodeModeToolEndEvent",
    "CodeModeToolStartEvent",
    "to_custom_event",
]


@dataclass(kw_only=True)
class CodeModeToolStartEvent(CustomEvent, name="codemode.tool_start"):
    """A plan called one of the wrapped tools."""

    execution_id: str
    tool: str
    """As the plan calls it, e.g. `tools.get_order` (the same in every adapter)."""
    arguments: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = None
    """The plan line that made the call."""
    replayed: bool = False
    """True when a resumed run serves this call from its journal (it ran before the pause)."""


@dataclass(kw_only=True)
class CodeModeToolEndEvent(CustomEvent, name="codemode.tool_end"):
    """A wrapped tool call returned (`error` is None) or failed (`error` is what the plan saw)."""

    execution_id: str
    tool: str
    result: Any = None
    error: str | None = None
    duration: float = 0.0
    """Wall seconds on the host side."""
    line: int | None = None
    replayed: bool = False


@dataclass(kw_only=True)
class CodeModeLogEvent(CustomEvent, name="codemode.log"):
    """A line the plan printed, as it was printed."""

    execution_id: str
    text: str
    replayed: bool = False


@dataclass(kw_only=True)
class CodeModeApprovalRequestedEvent(CustomEvent, name="codemode.approval_requested"):
    """A call of the plan waits for a human: the run ends with a deferred approval."""

    execution_id: str
    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = None
    request_id: str | None = None
    replayed: bool = False


_EVENTS: dict[str, type[CustomEvent]] = {
    "tool_start": CodeModeToolStartEvent,
    "tool_end": CodeModeToolEndEvent,
    "log": CodeModeLogEvent,
    "approval_requested": CodeModeApprovalRequestedEvent,
}


def to_custom_event(event: ProgressEvent) -> CustomEvent:
    """The pydantic-ai event for one core progress event, with the core's field names."""
    data = event_payload(event)
    return _EVENTS[data.pop("kind")](**data)
