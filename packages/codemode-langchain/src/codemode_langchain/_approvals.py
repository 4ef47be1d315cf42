"""Paused executions as LangGraph interrupts (inside any LangGraph graph: `CodeModeNode`,
`create_codemode_agent`, `langchain.agents.create_agent`).

A plan that reaches a tool needing approval pauses. Inside a graph the code tool then calls
`interrupt()` with the pending requests and the paused execution's record (its journal: the
results of the calls already made), so the record lives in the graph's checkpointer. On
`Command(resume=decisions)` LangGraph runs the tool again from the top; it finds the resume
value(s) instead of running the plan afresh, and resumes the execution from the record: the
journal answers the calls made before the pause, and no tool runs twice, even in another
process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codemode_core import CodeMode, ExecutionResult, Observer
from codemode_core.durable.approvals import decision_from
from codemode_core.durable.journal import ExecutionRecord

__all__ = ["INTERRUPT_TYPE", "run_or_resume"]

INTERRUPT_TYPE = "codemode_approval"


async def run_or_resume(
    code_mode: CodeMode, code: str, call_id: str | None, observer: Observer | None
) -> ExecutionResult:
    """Run the plan, or (when the graph is resuming this step) resume it; pause as an
    interrupt while approvals are pending. Outside a graph, a paused result is returned."""
    if call_id is None or not _in_graph():
        return await code_mode.run(code, observer=observer)
    execution_id = f"lc-{call_id}"
    answers = _resume_values()
    if answers:
        known = await code_mode.paused_record(execution_id)
        record, decisions = _parse(answers[-1], known)
        result = await code_mode.resume(execution_id, decisions, observer=observer, record=record)
    else:
        result = await code_mode.run(code, observer=observer, execution_id=execution_id)
    if result.status == "paused":
        from langgraph.types import interrupt

        paused = await code_mode.paused_record(execution_id)
        interrupt(_payload(result, paused))  # raises: the graph stops here until resumed
    return result


def _payload(result: ExecutionResult, record: ExecutionRecord | None) -> dict[str, Any]:
    return {
        "type": INTERRUPT_TYPE,
        "execution_id": result.execution_id,
        "requests": [
            {
                "request_id": p.request_id,
                "tool": p.tool,
                "arguments": dict(p.arguments),
                "line": p.line,
                "description": f"{p.tool} (plan line {p.line}) needs approval",
            }
            for p in result.pending
        ],
        # The same requests in the shape of LangChain's HumanInTheLoopMiddleware (HITLRequest),
        # so UIs built for it can show them; answer with {"decisions": [{"type": ...}, ...]}.
        "action_requests": [
            {
                "name": p.tool,
                "args": dict(p.arguments),
                "description": f"{p.tool} (plan line {p.line}) needs approval",
            }
            for p in result.pending
        ],
        "review_configs": [
            {"action_name": p.tool, "allowed_decisions": ["approve", "reject"]}
            for p in result.pending
        ],
        "record": record.to_dict() if record is not None else None,
    }


def _parse(
    value: Any, known: ExecutionRecord | None
) -> tuple[ExecutionRecord | None, dict[str, Any]]:
    """Accepts `{request_id: decision}`, `resume_value(...)` (decisions plus the record), and
    LangChain's HITLResponse `{"decisions": [{"type": "approve"}, ...]}` (in request order)."""
    record = None
    decisions: Any = value
    if isinstance(value, Mapping) and "decisions" in value:
        decisions = value["decisions"]
        raw = value.get("record")
        record = ExecutionRecord.from_dict(raw) if isinstance(raw, Mapping) else None
    if isinstance(decisions, list):
        paused = record or known
        if paused is None or len(decisions) != len(paused.pending):
            raise ValueError(
                "a list of decisions needs one per pending request, in order "
                f"({0 if paused is None else len(paused.pending)} pending)"
            )
        decisions = {p.request_id: d for p, d in zip(paused.pending, decisions, strict=True)}
    if not isinstance(decisions, Mapping):
        raise ValueError(
            "resume a paused Code Mode plan with {request_id: 'approve' | 'reject' | "
            "{'type': 'reject', 'message': ...}}, {'decisions': [...]} in request order, or "
            "resume_value(interrupt, decisions)"
        )
    return record, {
        str(k): decision_from(v, f"the decision for {k!r}") for k, v in decisions.items()
    }


def resume_value(
    interrupt_value: Mapping[str, Any], decisions: Mapping[str, Any]
) -> dict[str, Any]:
    """What to pass as `Command(resume=...)`: the decisions and the paused record from the
    interrupt, so that any process (one that never saw the pause) can resume the plan."""
    return {"decisions": dict(decisions), "record": interrupt_value.get("record")}


def _in_graph() -> bool:
    try:
        from langgraph.config import get_config
    except ImportError:
        return False
    try:
        return "__pregel_scratchpad" in get_config().get("configurable", {})
    except RuntimeError:  # not called from inside a graph
        return False


def _resume_values() -> list[Any]:
    """Every resume value LangGraph holds for this step, in order (each `interrupt()` call
    returns the next; LangGraph keeps no public way to ask whether one is waiting)."""
    from langgraph.config import get_config
    from langgraph.types import interrupt

    scratchpad = get_config()["configurable"]["__pregel_scratchpad"]
    waiting = len(scratchpad.resume) + (scratchpad.get_null_resume(False) is not None)
    return [interrupt(None) for _ in range(waiting)]
