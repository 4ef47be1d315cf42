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

from codemode_core import ProgressEvent

__all__ = ["CodeModeLogEvent", "CodeModeToolEndEvent", "CodeModeToolStartEvent", "to_custom_event"]


@dataclass(kw_only=True)
class CodeModeToolStartEvent(CustomEvent, name="codemode.tool_start"):
    """A plan called one of the wrapped tools."""

    execution_id: str
    tool: str
    """The tool's name (as the wrapped toolset lists it)."""
    arguments: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = None
    """The plan line that made the call."""


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


@dataclass(kw_only=True)
class CodeModeLogEvent(CustomEvent, name="codemode.log"):
    """A line the plan printed, as it was printed."""

    execution_id: str
    text: str


def to_custom_event(event: ProgressEvent, tool_name: str | None = None) -> CustomEvent:
    """The pydantic-ai event for one core progress event (`tool_name`: the wrapped tool's own
    name, which the event otherwise gives as the plan wrote it, e.g. `tools.get_order`)."""
    if event.kind == "tool_start":
        return CodeModeToolStartEvent(
            execution_id=event.execution_id,
            tool=tool_name or event.tool or "",
            arguments=dict(event.arguments or {}),
            line=event.line,
        )
    if event.kind == "tool_end":
        return CodeModeToolEndEvent(
            execution_id=event.execution_id,
            tool=tool_name or event.tool or "",
            result=event.result,
            error=event.error,
            duration=event.duration or 0.0,
            line=event.line,
        )
    return CodeModeLogEvent(execution_id=event.execution_id, text=event.text or "")
