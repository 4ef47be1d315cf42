"""Workflow events for a running plan's progress, streamed to `handler.stream_events()`.

Inside an agent workflow the code tool writes one of these for every inner tool call's start
and end and every line the plan prints, as it happens, next to LlamaIndex's own `ToolCall`
and `ToolCallResult` events, so a UI can show what a plan is doing before it returns.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.bridge.pydantic import Field, field_validator
from llama_index.core.workflow import Context, Event, HumanResponseEvent, InputRequiredEvent

from codemode_core import Observer, ProgressEvent, event_payload
from codemode_core.integration import decision_from

__all__ = [
    "CodeModeApprovalRequested",
    "CodeModeEvent",
    "CodeModeLog",
    "CodeModeToolCall",
    "CodeModeToolCallResult",
    "stream_progress",
    "to_workflow_event",
]


class CodeModeEvent(Event):
    """Base of every progress event a plan writes; `execution_id` ties them to one run.

    Field names are the core's (`codemode_core.event_payload`), as in every adapter; `replayed`
    is True for what a resumed run re-emits from its journal (it happened before the pause).
    """

    execution_id: str
    code_tool: str = Field(description="The name of the code tool that ran the plan.")
    replayed: bool = False


class CodeModeToolCall(CodeModeEvent):
    """A plan started calling one of the wrapped tools (`tool` as the plan calls it)."""

    tool: str
    arguments: dict[str, Any]
    line: int | None = Field(default=None, description="The plan line making the call.")


class CodeModeToolCallResult(CodeModeEvent):
    """A tool call of a plan finished, with its result (plain data) or its error message."""

    tool: str
    result: Any = None
    error: str | None = None
    duration: float = Field(description="Seconds the call took.")
    line: int | None = None


class CodeModeLog(CodeModeEvent):
    """A line the plan printed."""

    text: str


class CodeModeApprovalRequested(CodeModeEvent):
    """A call of the plan waits for a human (the plan pauses; it did not fail)."""

    tool: str
    arguments: dict[str, Any]
    line: int | None = None
    request_id: str | None = None


_EVENTS: dict[str, type[CodeModeEvent]] = {
    "tool_start": CodeModeToolCall,
    "tool_end": CodeModeToolCallResult,
    "log": CodeModeLog,
    "approval_requested": CodeModeApprovalRequested,
}


def to_workflow_event(event: ProgressEvent, code_tool: str) -> CodeModeEvent:
    """The workflow event for one of the core's neutral progress events."""
    data = event_payload(event)
    kind = data.pop("kind")
    return _EVENTS[kind](**data, code_tool=code_tool)


def stream_progress(ctx: Context, code_tool: str) -> Observer:
    """An observer writing each progress event to the workflow's event stream."""

    def write(event: ProgressEvent) -> None:
        ctx.write_event_to_stream(to_workflow_event(event, code_tool))

    return write


class CodeModeApprovalRequired(InputRequiredEvent):
    """A plan waits for a human: answer with `CodeModeApproval` (a `HumanResponseEvent`)
    carrying the same `execution_id` and a decision per request id."""

    prefix: str = ""
    """One line for a human: how many calls wait."""
    execution_id: str
    requests: list[dict[str, Any]] = Field(default_factory=list)
    """Each: request_id, tool (as the plan calls it), arguments, line (in the plan)."""


class CodeModeApproval(HumanResponseEvent):
    """The human's answer: `decisions={request_id: decision}`, a decision being any form the
    core's `decision_from` takes: `approve`/`reject(...)`/`edit(...)`, True/False, "approve",
    "reject", or a LangChain HITL dict (`{"type": "approve"}`, `{"type": "edit",
    "edited_action": {"name": ..., "args": {...}}}`, `{"type": "reject", "message": ...}`).
    A malformed decision is a `ValidationError` when the event is built."""

    response: str = ""
    execution_id: str
    decisions: dict[str, Any] = Field(default_factory=dict)

    @field_validator("decisions")
    @classmethod
    def _parseable(cls, decisions: dict[str, Any]) -> dict[str, Any]:
        """Check each decision with the core's parser here, where the caller builds the
        answer: a malformed one is their error to fix and send again, and must never end
        the waiting plan or reach the model."""
        for request_id, value in decisions.items():
            try:
                decision_from(value, f"the decision for {request_id!r}")
            except TypeError as exc:
                raise ValueError(str(exc)) from None
        return decisions
