"""Progress events of a running plan, for adapters to map onto their framework's streaming.

Every adapter needs the same thing (LangChain custom events, LangGraph's stream writer,
LlamaIndex workflow events, pydantic-ai's event stream), so the core emits one neutral event
type and each adapter translates it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["EventKind", "Observer", "ProgressEvent", "event_payload", "notify"]

log = logging.getLogger("codemode")


EventKind = Literal["tool_start", "tool_end", "log", "approval_requested"]
"""The one vocabulary every adapter streams (as `codemode.<kind>` where names are namespaced)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ProgressEvent:
    """Something a plan did: a tool call started or finished, it printed a line, or a call
    waits for a human (`approval_requested`; a pause is never reported as a failed call)."""

    kind: EventKind
    execution_id: str
    tool: str | None = None
    """As the plan calls it, e.g. `tools.get_order` (the same spelling in every adapter)."""
    arguments: Mapping[str, Any] | None = None
    result: Any = None
    error: str | None = None
    duration: float | None = None
    line: int | None = None
    text: str | None = None
    """The printed line, for `kind="log"`."""
    request_id: str | None = None
    """For `approval_requested`: the id to answer in `resume(..., decisions)`."""
    replayed: bool = False
    """True for what a resumed run re-emits from its journal (a call served from the journal,
    a line printed before the run reaches the call it paused at): it happened before, so a UI
    should not show it twice. A call that really runs is always `replayed=False`."""


def event_payload(event: ProgressEvent) -> dict[str, Any]:
    """The event as plain data with the field names every adapter uses.

    Always `kind`, `execution_id`, `replayed`; then `tool`, `arguments`, `line` (tool start and
    approval request, plus `request_id`), `tool`, `result`, `error`, `duration`, `line` (tool
    end) or `text` (log). One function, so LangChain, LangGraph, LlamaIndex and pydantic-ai
    carriers cannot drift apart.
    """
    data: dict[str, Any] = {
        "kind": event.kind,
        "execution_id": event.execution_id,
        "replayed": event.replayed,
    }
    if event.kind == "log":
        data["text"] = event.text or ""
        return data
    data.update(tool=event.tool or "", line=event.line)
    if event.kind == "tool_end":
        data.update(result=event.result, error=event.error, duration=event.duration or 0.0)
    else:
        data["arguments"] = dict(event.arguments or {})
        if event.kind == "approval_requested":
            data["request_id"] = event.request_id
    return data


Observer = Callable[[ProgressEvent], Awaitable[None] | None]
"""Receives progress events; sync or async. Its failures are logged, never fatal to the plan."""


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
