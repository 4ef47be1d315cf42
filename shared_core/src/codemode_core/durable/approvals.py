"""Human decisions on tool calls: `approve`, `reject(reason)`, and the approver callback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from codemode_core.result import PendingApproval

__all__ = ["Approver", "Decision", "approve", "as_decision", "reject"]


@dataclass(frozen=True, slots=True)
class Decision:
    """A human's answer to one approval request."""

    approved: bool
    reason: str | None = None
    """Why it was rejected; the plan sees it in the `ToolError` message."""


approve = Decision(True)
"""Let the call run."""


def reject(reason: str = "a human rejected this call") -> Decision:
    """Refuse the call: the plan gets a `ToolError` carrying `reason`, and may handle it."""
    return Decision(False, reason)


Approver = Callable[[PendingApproval], "bool | Decision | Awaitable[bool | Decision | None] | None"]
"""Decides approval requests inline (sync or async): `True`/`approve` runs the call,
`False`/`reject(reason)` refuses it, `None` leaves it to a human (the execution pauses)."""


def as_decision(value: object, where: str) -> Decision | None:
    """Accept `approve`, `reject(...)`, `True`/`False` (and `None`: no decision yet)."""
    if value is None or isinstance(value, Decision):
        return value
    if isinstance(value, bool):
        return approve if value else reject()
    raise TypeError(f"{where} must be `approve`, `reject(reason)`, True or False, got {value!r}")
