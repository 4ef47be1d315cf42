"""What a plan execution returns: plain, frozen data that adapters render for their framework."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from codemode_core.errors import ErrorKind

__all__ = [
    "ExecutionError",
    "ExecutionResult",
    "ExecutionStatus",
    "PendingApproval",
    "SpeculationStats",
    "ToolCallRecord",
    "UnexpectedResult",
]

ExecutionStatus = Literal["ok", "error", "paused"]

_TRUNCATION_MARKER = "… [truncated {n} more characters]"


def truncate_text(text: str, max_chars: int) -> str:
    """Cut `text` to at most about `max_chars`, with a visible marker saying how much went."""
    if len(text) <= max_chars:
        return text
    kept = max(0, max_chars - 40)
    return text[:kept] + _TRUNCATION_MARKER.format(n=len(text) - kept)


def to_json_text(value: Any) -> str:
    """Compact, readable JSON for the model (values are already JSON-friendly)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        try:
            return repr(value)
        except Exception:  # e.g. an integer too long to write: never raise while rendering
            return f"<{type(value).__name__} that cannot be shown>"


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionError:
    """Why a plan failed, written so that a model can fix its plan."""

    kind: ErrorKind
    """The category; a closed set (see `codemode_core.errors.ErrorKind`)."""
    message: str
    """Short and precise: what went wrong and what to do."""
    line: int | None = None
    """The plan's own line number, when the failure can be pinned to one."""
    tool: str | None = None
    """For `kind="tool"`: the qualified tool name (`tools.get_order`)."""

    def render(self) -> str:
        where = f" at line {self.line}" if self.line is not None else ""
        return f"{self.kind} error{where}: {self.message}"


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallRecord:
    """One tool call a plan made, successful or not, in the order it was started."""

    tool: str
    """Qualified tool name as the plan called it (`tools.orders.get_order`)."""
    arguments: Mapping[str, Any]
    """The arguments the tool received (original parameter names, after validation)."""
    result: Any = None
    """The JSON-friendly result when the call succeeded."""
    error: str | None = None
    """The error message when the call failed (`None` on success)."""
    duration: float = 0.0
    """Wall seconds the call took on the host side."""
    line: int | None = None
    """The plan line that made the call."""
    speculated: bool = False
    """The call was started while the plan was still being written (`CodeMode.run_stream`)
    and the plan took its result; `duration` is then how long the plan waited for it."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, kw_only=True, slots=True)
class SpeculationStats:
    """What starting read-only calls early did for one streamed plan (`CodeMode.run_stream`)."""

    started: int = 0
    """Calls started while the plan was still being written."""
    claimed: int = 0
    """Of those, the calls whose result the plan took (each is one entry in `tool_calls`)."""
    unclaimed_calls: tuple[ToolCallRecord, ...] = ()
    """The others, dropped: the plan never made the call, the call failed (the plan then made
    it itself), or the plan did not run. Kept here, not in `tool_calls`, so nothing that ran
    goes unrecorded; they count against no budget. A call still running at the end is
    cancelled (its `error` says so)."""

    @property
    def unclaimed(self) -> int:
        """How many speculative calls nobody claimed."""
        return len(self.unclaimed_calls)


@dataclass(frozen=True, kw_only=True, slots=True)
class PendingApproval:
    """A tool call waiting for a human decision (the execution is paused)."""

    request_id: str
    tool: str
    arguments: Mapping[str, Any]
    line: int | None = None
    reason: str | None = None
    """Why a human is asked when it is not the tool's own rule: "in doubt after a crash" (the
    call was in flight when its host process died; it may or may not have run)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class UnexpectedResult:
    """A tool result that contradicted the tool's declared output type (its stub).

    Real schemas are often wrong; the model is told (see `ExecutionResult.to_model`) so that
    it trusts the data it got rather than the stub the data contradicts.
    """

    tool: str
    """Qualified tool name (`tools.list_airports`)."""
    line: int | None
    """The plan line of the first call whose result contradicted the declaration."""
    declared: str
    """What the declaration says that the result contradicts, in stub words (`dict with key
    'airports'`, `list of dict`)."""
    observed: str
    """The shape the tool really returned (`list[str] (3 items)`, `{id: int, name: str}`)."""

    def render(self) -> str:
        at = f" (line {self.line})" if self.line is not None else ""
        return (
            f"Note: {self.tool}{at} returned {self.observed}, not the declared "
            f"{self.declared}; rely on the returned shape, not the stub."
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionResult:
    """The outcome of one plan: value or error, logs, and every tool call that ran."""

    status: ExecutionStatus
    execution_id: str
    value: Any = None
    """The plan's return value (or last expression), JSON-friendly."""
    logs: tuple[str, ...] = ()
    """Lines the plan printed, cut at `Limits.max_output_chars` with a marker."""
    error: ExecutionError | None = None
    tool_calls: tuple[ToolCallRecord, ...] = ()
    pending: tuple[PendingApproval, ...] = ()
    duration: float = 0.0
    """Wall seconds for the whole execution."""
    max_output_chars: int = field(default=20_000, repr=False)
    unexpected_results: tuple[UnexpectedResult, ...] = ()
    """Tools whose results contradicted their declared output type (first call of each),
    with the shape actually returned; `to_model()` says so whether the plan succeeded or not."""
    speculation: SpeculationStats | None = None
    """For a plan run from a stream (`CodeMode.run_stream`): the calls started early, and
    which of them the plan took. None for `run`."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_model(self) -> str:
        """A compact text for the model: the value (or error), logs, and calls on failure.

        Every part is bounded by `max_output_chars`, so a plan that returns a huge value cannot
        flood the model's context.
        """
        parts: list[str] = []
        limit = self.max_output_chars
        if self.status == "ok":
            # A multi-line string (a `describe` stub, a report the plan wrote) reaches the model
            # as the text it is: JSON would turn every newline into `\n`, every quote into `\"`.
            # One line stays JSON, so `"42"` and `42` still read differently.
            value = self.value
            multiline = isinstance(value, str) and "\n" in value
            text = value if multiline else to_json_text(value)
            parts.append(truncate_text(text, limit))
        elif self.status == "paused":
            waiting = ", ".join(
                f"{p.tool} (line {p.line}{f', {p.reason}' if p.reason else ''})"
                for p in self.pending
            )
            parts.append(f"Paused: waiting for approval of {waiting}.")
        else:
            assert self.error is not None
            parts.append(self.error.render())
            if self.tool_calls:
                lines = [
                    f"- {c.tool} (line {c.line}): " + ("ok" if c.ok else f"failed: {c.error}")
                    for c in self.tool_calls
                ]
                parts.append(f"Tool calls that already ran ({len(lines)}):\n" + "\n".join(lines))
        if self.unexpected_results:
            parts.append("\n".join(u.render() for u in self.unexpected_results))
        if self.logs:
            parts.append("Logs:\n" + "\n".join(self.logs))
        return truncate_text("\n\n".join(parts), limit)
