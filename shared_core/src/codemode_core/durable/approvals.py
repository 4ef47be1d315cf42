"""Human decisions on tool calls: `approve`, `edit(arguments)`, `reject(reason)`, the approver
callback, and `require_approval`, which marks tools that need a decision."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from codemode_core.errors import ConfigurationError
from codemode_core.result import PendingApproval
from codemode_core.tools import ApprovalPredicate, Tool

__all__ = [
    "Approver",
    "Decision",
    "approve",
    "as_decision",
    "decision_from",
    "edit",
    "reject",
    "require_approval",
]


@dataclass(frozen=True, slots=True)
class Decision:
    """A human's answer to one approval request."""

    approved: bool
    reason: str | None = None
    """Why it was rejected; the plan sees it in the `ToolError` message."""
    arguments: Mapping[str, Any] | None = None
    """For an approval: the arguments a human changed the call to (the tool runs with these,
    the plan gets that result); None runs the call as the plan made it."""


approve = Decision(True)
"""Let the call run."""


def reject(reason: str = "a human rejected this call") -> Decision:
    """Refuse the call: the plan gets a `ToolError` carrying `reason`, and may handle it."""
    return Decision(False, reason)


def edit(arguments: Mapping[str, Any]) -> Decision:
    """Let the call run with `arguments` instead of the plan's (keyed as in the request)."""
    return Decision(True, arguments=dict(arguments))


Approver = Callable[[PendingApproval], "bool | Decision | Awaitable[bool | Decision | None] | None"]
"""Decides approval requests inline (sync or async): `True`/`approve` runs the call,
`False`/`reject(reason)` refuses it, `None` leaves it to a human (the execution pauses)."""


def as_decision(value: object, where: str) -> Decision | None:
    """Accept `approve`, `reject(...)`, `edit(...)`, `True`/`False` (`None`: no decision yet)."""
    if value is None or isinstance(value, Decision):
        return value
    if isinstance(value, bool):
        return approve if value else reject()
    raise TypeError(
        f"{where} must be `approve`, `edit(arguments)`, `reject(reason)`, True, False or a "
        f'decision dict ({{"type": "approve" | "edit" | "reject", ...}}), got {value!r}'
    )


def require_approval(
    tools: Iterable[Tool], rules: Mapping[str, bool | ApprovalPredicate] | None
) -> list[Tool]:
    """`tools`, with `requires_approval` set from `rules` (`{tool name: True | predicate}`).

    Adapters take this as their `require_approval=` option, so that tools converted from a
    framework's own (which have no such flag) can still ask a human. A predicate receives the
    call's arguments; `False` turns approval off for that tool. A name that is not one of
    `tools` is a `ConfigurationError`: a typo must not silently skip an approval.
    """
    tools = list(tools)
    if not rules:
        return tools
    names = {t.name for t in tools}
    unknown = sorted(set(rules) - names)
    if unknown:
        raise ConfigurationError(
            f"require_approval names {', '.join(map(repr, unknown))}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not among the tools "
            f"({', '.join(sorted(names)) or 'none'})"
        )
    for name, rule in rules.items():
        if not isinstance(rule, bool) and not callable(rule):
            raise ConfigurationError(
                f"require_approval[{name!r}] must be True, False or a predicate over the "
                f"call's arguments, got {rule!r}"
            )
    return [
        dataclasses.replace(t, requires_approval=rules[t.name]) if t.name in rules else t
        for t in tools
    ]


def decision_from(value: object, where: str) -> Decision | None:
    """The one parser of human answers, used by every adapter.

    Accepts `as_decision`'s forms (`approve`, `reject(...)`, `edit(...)`, True/False, None),
    LangChain `HumanInTheLoopMiddleware` decisions (`{"type": "approve"}`,
    `{"type": "edit", "edited_action": {"name": ..., "args": {...}}}`,
    `{"type": "reject", "message": ...}`) and the words "approve"/"reject". Anything else is
    a `TypeError` naming `where`: a developer's mistake, raised to the caller (who can answer
    again), never turned into a rejection the model would read.
    """
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
            message = value.get("message") or value.get("reason")
            return reject(str(message)) if message else reject()
        if kind == "edit":
            return edit(_edited_arguments(value, where))
        if "reject" in value and len(value) == 1:
            return reject(str(value["reject"]))
    return as_decision(value, where)


def _edited_arguments(value: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    action = value.get("edited_action", value.get("args"))
    if isinstance(action, Mapping):
        args = action.get("args", action.get("arguments")) if "name" in action else action
        if isinstance(args, Mapping):
            return args
    raise TypeError(
        f"{where} is an edit without arguments: give "
        f'{{"type": "edit", "edited_action": {{"name": tool, "args": {{...}}}}}}, got {value!r}'
    )
