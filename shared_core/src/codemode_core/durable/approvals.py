"""Human decisions on tool calls: `approve`, `reject(reason)`, and the approver callback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from codemode_core.errors import ConfigurationError
from codemode_core.result import PendingApproval
from codemode_core.tools import ApprovalPredicate, Tool

__all__ = [
    "Approver",
    "Decision",
    "apply_approval_rules",
    "approve",
    "as_decision",
    "decision_from",
    "reject",
]


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


def apply_approval_rules(
    tools: Sequence[Tool], rules: Mapping[str, bool | ApprovalPredicate] | None
) -> list[Tool]:
    """`require_approval={"tool_name": True | predicate}` of every adapter: the same tools,
    with `requires_approval` set on the ones named (an unknown name is an error, not a no-op).
    """
    if not rules:
        return list(tools)
    names = {tool.name for tool in tools}
    unknown = sorted(set(rules) - names)
    if unknown:
        raise ConfigurationError(
            f"require_approval names no tool {', '.join(map(repr, unknown))}; "
            f"the tools are {', '.join(sorted(names))}"
        )
    return [
        replace(tool, requires_approval=rules[tool.name]) if tool.name in rules else tool
        for tool in tools
    ]


def decision_from(value: object, where: str) -> Decision | None:
    """Also accepts the plain forms humans and UIs send: "approve", "reject",
    {"type": "approve"}, {"type": "reject", "message": ...}, {"reject": reason}."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("approve", "approved", "yes", "accept"):
            return approve
        if word in ("reject", "rejected", "no", "deny", "denied"):
            return reject()
    if isinstance(value, Mapping):
        kind = str(value.get("type", "")).lower()
        if kind in ("approve", "accept"):
            return approve
        if kind in ("reject", "deny"):
            return reject(str(value.get("message") or value.get("reason") or "rejected"))
        if "reject" in value:
            return reject(str(value["reject"]))
    return as_decision(value, where)
