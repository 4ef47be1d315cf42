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

__all__ = ["Observer", "ProgressEvent", "notify"]

log = logging.getLogger("codemode")


@dataclass(frozen=True, kw_only=True, slots=True)
class ProgressEvent:
    """Something a plan did: a tool call started or finished, or it printed a line."""

    kind: Literal["tool_start", "tool_end", "log"]
    execution_id: str
    tool: str | None = None
    arguments: Mapping[str, Any] | None = None
    result: Any = None
    error: str | None = None
    duration: float | None = None
    line: int | None = None
    text: str | None = None
    """The printed line, for `kind="log"`."""


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
