"""Approvals inside plans, mapped onto pydantic-ai's deferred tools.

A plan that reaches a call needing a human pauses: codemode's journal keeps what it did. The
code tool call then raises pydantic-ai's `ApprovalRequired`, so the run ends with
`DeferredToolRequests` naming the code call, its metadata listing the inner requests. The next
run, given `DeferredToolResults`, calls the code tool again; the toolset finds the paused
execution by an id derived from the conversation, the call and the plan (all three in the
message history), and resumes it from its journal, so no call before the pause runs twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.exceptions import UserError
from pydantic_ai.tools import ToolApproved, ToolDenied

from codemode_core import Decision, ExecutionResult, PendingApproval, approve, reject
from codemode_core.integration import decision_from, edit

__all__ = ["deferred_metadata", "execution_id_for", "from_pydantic_ai", "resume_decisions"]


def execution_id_for(ctx: RunContext[Any], code: str) -> str | None:
    """The id a code tool call's execution is kept under: the same in the run that paused and
    in the follow-up run that resumes it, and different for another conversation, another call,
    or a plan a human edited (`ToolApproved(override_args=...)`), which then runs as a new one.
    """
    if ctx.tool_call_id is None:
        return None  # called outside an agent run: nothing could resume it
    key = "\0".join((ctx.conversation_id or "", ctx.tool_call_id, code))
    return "pydantic-ai-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def deferred_metadata(result: ExecutionResult) -> dict[str, Any]:
    """`DeferredToolRequests.metadata[tool_call_id]` for a paused plan: what a reviewer reads."""
    return {
        "codemode": {
            "execution_id": result.execution_id,
            "requests": [
                {
                    "request_id": p.request_id,
                    "tool": p.tool,
                    "arguments": dict(p.arguments),
                    "line": p.line,
                }
                for p in result.pending
            ],
        }
    }


def resume_decisions(
    pending: Sequence[PendingApproval], metadata: object
) -> dict[str, Decision | bool]:
    """Approving the code call approves each of its requests, unless
    `DeferredToolResults.metadata[tool_call_id]["decisions"][request_id]` says otherwise:
    `ToolApproved()`, `ToolApproved(override_args={...})`, `ToolDenied("why")`, `True`/`False`,
    "approve"/"reject", or `{"type": "reject", "message": "why"}`."""
    given = metadata.get("decisions") if isinstance(metadata, Mapping) else None
    if given is not None and not isinstance(given, Mapping):
        raise TypeError(
            'DeferredToolResults.metadata[tool_call_id]["decisions"] must map request ids to '
            f"decisions, got {given!r}"
        )
    asked = {request.request_id for request in pending}
    stray = sorted(str(key) for key in (given or {}) if key not in asked)
    if stray:  # a mistyped denial must not turn into the blanket approval
        raise UserError(
            'DeferredToolResults.metadata[tool_call_id]["decisions"] names request '
            f"{', '.join(map(repr, stray))}, which this plan did not ask about; its requests: "
            f"{', '.join(map(repr, sorted(asked))) or 'none'}. Nothing was run or decided."
        )
    decisions: dict[str, Decision | bool] = {}
    for request in pending:
        value = (given or {}).get(request.request_id, True)
        decision = _decision(value, f"the decision for request {request.request_id!r}")
        if decision is not None:
            decisions[request.request_id] = decision
    return decisions


def _decision(value: object, where: str) -> Decision | None:
    """pydantic-ai's own approval results, or any form codemode's `decision_from` accepts."""
    if isinstance(value, (ToolApproved, ToolDenied)):
        return from_pydantic_ai(value)
    return decision_from(value, where)


def from_pydantic_ai(answer: object) -> Decision | None:
    """codemode's decision for pydantic-ai's answer to an approval (`None`: no decision)."""
    if isinstance(answer, ToolDenied):
        return reject(answer.message)
    if isinstance(answer, ToolApproved):
        return approve if answer.override_args is None else edit(answer.override_args)
    return None
