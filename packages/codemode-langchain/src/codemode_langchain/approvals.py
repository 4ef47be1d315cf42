"""A paused plan as a LangChain human-in-the-loop request, and the human's answer to it.

Inside a graph, a plan that waits for approval interrupts the graph with the value that
LangChain's `HumanInTheLoopMiddleware` uses (`action_requests` and `review_configs`, one per
inner tool call waiting, named by the tool's own name), so any reviewer UI built for that
middleware shows it. A `codemode` key adds what only Code Mode knows: the request ids, the
qualified tool names and the plan lines.

The graph is resumed with `Command(resume=answer)`, where `answer` is either the middleware's
`{"decisions": [...]}` (one per action request, in order) or `{request_id: decision}` (any
subset; undecided requests are asked again). A decision is `{"type": "approve"}`,
`{"type": "edit", "edited_action": {"name": ..., "args": {...}}}`, `{"type": "reject",
"message": ...}`, `"approve"`, `"reject"`, `True` or `False`. An answer that does not fit fails
the resume before anything runs, so the same interrupt can be answered again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal, NotRequired

from pydantic import AfterValidator, Discriminator, StrictBool
from typing_extensions import TypedDict

from codemode_core import CodeMode, Decision, ExecutionResult, PendingApproval
from codemode_core.integration import decision_from

__all__ = [
    "ActionRequest",
    "Answer",
    "ApprovalInterrupt",
    "ApproveDecision",
    "CodeModeDetails",
    "CodeModeRequest",
    "EditDecision",
    "EditedAction",
    "RejectDecision",
    "ReviewConfig",
    "answer_schema",
    "approval_interrupt",
    "to_decisions",
]

ALLOWED_DECISIONS: list[Literal["approve", "edit", "reject"]] = ["approve", "edit", "reject"]

# The human-in-the-loop middleware's shapes (`langchain.agents.middleware.human_in_the_loop`),
# written out here because this package depends on langchain-core only.


class ActionRequest(TypedDict):
    """One tool call for a human to review (the middleware's `ActionRequest`)."""

    name: str
    args: dict[str, Any]
    description: NotRequired[str]


class ReviewConfig(TypedDict):
    """What the reviewer may answer for one action (the middleware's `ReviewConfig`)."""

    action_name: str
    allowed_decisions: list[Literal["approve", "edit", "reject"]]


class CodeModeRequest(TypedDict):
    """One call of the plan waiting for approval, as Code Mode identifies it."""

    request_id: str
    tool: str
    """The qualified name the plan used (`tools.refund`)."""
    arguments: dict[str, Any]
    line: int | None
    reason: NotRequired[str]
    """Why a human is asked when it is not the tool's own rule ("in doubt after a crash")."""


class CodeModeDetails(TypedDict):
    """Which code call and execution the requests belong to."""

    tool_call_id: str | None
    code_tool: str
    execution_id: str
    requests: list[CodeModeRequest]


class ApprovalInterrupt(TypedDict):
    """The interrupt value: the middleware's `HITLRequest`, plus Code Mode's details."""

    action_requests: list[ActionRequest]
    review_configs: list[ReviewConfig]
    codemode: CodeModeDetails


class ApproveDecision(TypedDict):
    type: Literal["approve"]


class EditedAction(TypedDict):
    name: str
    args: dict[str, Any]


class EditDecision(TypedDict):
    type: Literal["edit"]
    edited_action: EditedAction


class RejectDecision(TypedDict):
    type: Literal["reject"]
    message: NotRequired[str]


HumanDecision = Annotated[ApproveDecision | EditDecision | RejectDecision, Discriminator("type")]
Shorthand = StrictBool | Literal["approve", "reject"]


class DecisionList(TypedDict):
    """The middleware's `HITLResponse`: one decision per action request, in order."""

    decisions: list[HumanDecision]


Answer = DecisionList | dict[str, HumanDecision | Shorthand]
"""What `Command(resume=...)` may carry for an `ApprovalInterrupt`."""


def approval_interrupt(
    result: ExecutionResult, code_mode: CodeMode, *, code_tool: str, tool_call_id: str | None
) -> ApprovalInterrupt:
    """The interrupt value for a paused `result` of a plan run by the code tool `code_tool`."""
    actions: list[ActionRequest] = []
    for pending in result.pending:
        name = _native_name(code_mode, pending)
        arguments = dict(pending.arguments)
        actions.append(
            ActionRequest(
                name=name,
                args=arguments,
                description=(
                    f"Tool execution requires approval{_because(pending)}\n\nTool: {name}\n"
                    f"Args: {json.dumps(arguments, ensure_ascii=False, default=str)}\n"
                    f"Called by the {code_tool} plan at line {pending.line}"
                ),
            )
        )
    return ApprovalInterrupt(
        action_requests=actions,
        review_configs=[
            ReviewConfig(action_name=a["name"], allowed_decisions=list(ALLOWED_DECISIONS))
            for a in actions
        ],
        codemode=CodeModeDetails(
            tool_call_id=tool_call_id,
            code_tool=code_tool,
            execution_id=result.execution_id,
            requests=[_request(p) for p in result.pending],
        ),
    )


def _request(pending: PendingApproval) -> CodeModeRequest:
    request = CodeModeRequest(
        request_id=pending.request_id,
        tool=pending.tool,
        arguments=dict(pending.arguments),
        line=pending.line,
    )
    if pending.reason:
        request["reason"] = pending.reason
    return request


def _because(pending: PendingApproval) -> str:
    return f" ({pending.reason})" if pending.reason else ""


def _native_name(code_mode: CodeMode, pending: PendingApproval) -> str:
    entry = code_mode.catalog.get(pending.tool)
    return entry.tool.name if entry is not None else pending.tool


def answer_schema(interrupt: ApprovalInterrupt) -> Any:
    """The `response_schema` for `interrupt()`: the shapes above, checked against the requests
    (count, request ids, edited tool names), so a bad answer fails before anything runs."""

    def check(answer: Any) -> Any:
        to_decisions(answer, interrupt)
        return answer

    return Annotated[Answer, AfterValidator(check)]


def to_decisions(answer: Any, interrupt: ApprovalInterrupt) -> dict[str, Decision]:
    """The answer as `{request_id: Decision}` for `CodeMode.resume`.

    Raises:
        ValueError: the answer does not fit the requests (saying what would).
    """
    requests = interrupt["codemode"]["requests"]
    names = [a["name"] for a in interrupt["action_requests"]]
    if isinstance(answer, Mapping) and "decisions" in answer:
        given = list(answer["decisions"])
        if len(given) != len(requests):
            raise ValueError(
                f"{len(given)} decision(s) for {len(requests)} action request(s) "
                f"({', '.join(names)}): give one per action request, in order"
            )
        pairs = zip(requests, names, given, strict=True)
        return {r["request_id"]: _decision(d, name) for r, name, d in pairs}
    if not isinstance(answer, Mapping):
        raise ValueError(
            "answer with {'decisions': [...]} (one per action request) or "
            f"{{request_id: decision}}, got {answer!r}"
        )
    by_id = {r["request_id"]: name for r, name in zip(requests, names, strict=True)}
    unknown = [key for key in answer if key not in by_id]
    if unknown:
        pending = ", ".join(f"{r['request_id']} ({r['tool']}, line {r['line']})" for r in requests)
        raise ValueError(
            f"no pending request {', '.join(map(repr, unknown))}; pending: {pending or 'none'}"
        )
    return {key: _decision(value, by_id[key]) for key, value in answer.items()}


def _decision(value: Any, name: str) -> Decision:
    """The core's one parser (`decision_from`), plus LangChain's rule that an edit keeps the
    tool: a malformed answer is a `ValueError` for the caller, never a rejection."""
    action = value.get("edited_action") if isinstance(value, Mapping) else None
    if isinstance(action, Mapping) and action.get("name", name) != name:
        raise ValueError(
            f"an edit of {name!r} named {action['name']!r}: an edit can change the "
            "arguments, not the tool"
        )
    try:
        decision = decision_from(value, f"the decision for {name!r}")
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    if decision is None:
        raise ValueError(f"the decision for {name!r} is missing (None): approve, edit or reject")
    return decision
