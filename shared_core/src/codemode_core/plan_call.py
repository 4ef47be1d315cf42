"""The plan call a tool function is running for: its name as the plan wrote it, and its line.

A tool's function receives only its arguments. An adapter that reports inner calls to its
framework's tracing (a LangChain child run, a pydantic-ai span, a LlamaIndex span) needs to
label each with the plan line that made it, so the innermost dispatch layer sets this context
variable around the call and `current_plan_call()` reads it from inside the tool function.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["PlanCall", "current_plan_call"]


@dataclass(frozen=True, slots=True)
class PlanCall:
    """One tool call a plan is making, seen from inside the tool function."""

    tool: str
    """As the plan calls it (`tools.refund`), as in progress events."""
    line: int | None
    """The plan line making the call."""
    execution_id: str


_current: ContextVar[PlanCall | None] = ContextVar("codemode_plan_call", default=None)


def current_plan_call() -> PlanCall | None:
    """The plan call being run, or None outside a plan (a tool called directly)."""
    return _current.get()
