"""Code Mode inside a LangGraph graph: a plan that waits for a human interrupts the graph.

LangGraph resumes an interrupted graph by running the interrupted node again from its start,
possibly in another process. So each run of a plan (and each resume) is a LangGraph *task*:
its outcome, for a paused run the execution record with its journal, is saved in the graph's
checkpointer, and when the node runs again the task hands back that saved outcome instead of
calling the plan's tools again. The pause becomes `interrupt()` with an `ApprovalInterrupt`;
the human's answer comes back from it, and the next task resumes the execution (adopted from
the saved record into this process's store when the store does not have it), replaying its
journal, so no tool the plan called before the pause runs twice.

LangGraph tells a node's tasks and interrupts apart by the order they happen in. When a node
runs several code calls at once, `CallOrder` (which `CodeModeNode` installs) makes that order
the message's: each call starts its first task after the call before it did, and asks a human
only after the call before it has finished. Needs `langgraph`; imported only inside a graph.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langgraph.config import get_config
from langgraph.errors import GraphBubbleUp
from langgraph.func import task
from langgraph.types import interrupt

from codemode_core import (
    CodeMode,
    Decision,
    ExecutionError,
    ExecutionResult,
    Observer,
    ResumeError,
)
from codemode_core.integration import (
    ExecutionRecord,
    adopt,
    record_from_data,
    record_to_data,
    result_from_data,
    result_to_data,
)
from codemode_langchain.approvals import answer_schema, approval_interrupt, to_decisions

if TYPE_CHECKING:
    from codemode_langchain.tools import CodeModeTool

__all__ = ["STEP_NAME", "CallOrder", "PlanStep", "arun_in_graph", "call_order", "run_in_graph"]

STEP_NAME = "codemode"
"""The LangGraph task name of plan runs (it shows in `stream_mode="updates"`)."""


@dataclass
class PlanStep:
    """One durable step of a code call: run the plan, or resume its execution."""

    code_mode: CodeMode
    observer: Observer | None
    call_id: str | None
    """The model's tool call id: kept with the outcome, checked when it is read back."""
    code: str = ""
    record: Mapping[str, Any] | None = None
    """The paused execution to resume (as saved by the previous step); None runs `code`."""
    decisions: Mapping[str, Decision] = field(default_factory=dict)
    execution_id: str | None = None
    """The id to run `code` under (`scoped_execution_id`); None: a new random one."""

    async def outcome(self) -> dict[str, Any]:
        """What the checkpointer keeps: the result, and the record if the run paused."""
        code_mode = self.code_mode
        if self.record is None:
            result = await code_mode.run(
                self.code, observer=self.observer, execution_id=self.execution_id
            )
        else:
            record = record_from_data(self.record)
            if record.expires_at is not None and record.expires_at <= time.time():
                return self._expired(record)
            await adopt(code_mode.store, record)
            result = await code_mode.resume(
                record.execution_id, dict(self.decisions), observer=self.observer
            )
        saved = None
        if result.status == "paused":
            kept = await code_mode.store.load(result.execution_id)
            if kept is None:
                raise ResumeError(f"execution {result.execution_id!r} paused but is not stored")
            saved = record_to_data(kept)
        return {"call_id": self.call_id, "result": result_to_data(result), "record": saved}

    def _expired(self, record: ExecutionRecord) -> dict[str, Any]:
        """An answer that came after `pause_ttl`: the model is told, the thread goes on."""
        waiting = ", ".join(f"{p.tool} (line {p.line})" for p in record.pending)
        result = ExecutionResult(
            status="error",
            execution_id=record.execution_id,
            error=ExecutionError(
                kind="timeout",
                message=(
                    f"the approval of {waiting} came after the pause expired "
                    "(CodeMode(pause_ttl=...)); nothing after the pause ran. Run the plan "
                    "again if it is still wanted."
                ),
                line=record.pending[0].line if record.pending else None,
            ),
            max_output_chars=self.code_mode.limits.max_output_chars,
        )
        return {"call_id": self.call_id, "result": result_to_data(result), "record": None}


def scoped_execution_id(step: PlanStep) -> str | None:
    """The execution id of a plan run on a durable store: the same when LangGraph runs this
    task again from the same checkpoint (after the process running it died: the new run
    takes the execution over, and nothing journaled runs twice), different for any other
    task, thread or plan. Called inside the task, whose checkpoint namespace names it.

    A memory store gets a random id: it keeps no execution across a crash, and a fixed id
    would clash with the finished execution when a node is retried in the same process."""
    if step.record is not None or not getattr(step.code_mode.store, "durable", False):
        return None
    configurable = get_config().get("configurable", {})
    key = "\0".join(
        (
            str(configurable.get("thread_id", "")),
            str(configurable.get("checkpoint_ns", "")),
            step.call_id or "",
            step.code,
        )
    )
    return "langgraph-" + hashlib.sha256(key.encode()).hexdigest()[:32]


async def codemode(step: PlanStep) -> dict[str, Any]:
    step.execution_id = scoped_execution_id(step)
    return await step.outcome()


def codemode_sync(step: PlanStep) -> dict[str, Any]:
    step.execution_id = scoped_execution_id(step)
    return step.code_mode.wait(step.outcome())


# One name for both, so a graph paused by `invoke` can be resumed by `ainvoke` and back.
codemode_sync.__name__ = codemode.__name__ = STEP_NAME
_astep = task(codemode)
_step = task(codemode_sync)


def _read(
    outcome: Mapping[str, Any], call_id: str | None
) -> tuple[ExecutionResult, Mapping[str, Any] | None]:
    if outcome.get("call_id") != call_id:  # LangGraph matched saved steps up by their order
        raise RuntimeError(
            f"the checkpoint gave code call {call_id!r} the saved step of code call "
            f"{outcome.get('call_id')!r}: several code calls that may pause ran in one graph "
            "task in another order. Use CodeModeNode (it keeps their order), or run each "
            "call in its own task (as create_agent and create_codemode_agent do)."
        )
    return result_from_data(outcome["result"]), outcome.get("record")


async def arun_in_graph(
    tool: CodeModeTool, code: str, call_id: str | None, observer: Observer | None
) -> ExecutionResult:
    """Run `code` as the code call `call_id` of the current graph task; a pause interrupts."""
    order = call_order.get()
    code_mode = tool.code_mode
    if order is not None:
        await order.await_turn(call_id, "started")
    try:
        first = _astep(PlanStep(code_mode, observer, call_id, code=code))
    finally:
        if order is not None:
            order.mark(call_id, "started")
    result, record = _read(await first, call_id)
    if result.status == "paused" and order is not None:
        await order.await_turn(call_id, "finished")
    while result.status == "paused":
        decisions = _ask(tool, result, call_id)
        step = PlanStep(code_mode, observer, call_id, record=record, decisions=decisions)
        result, record = _read(await _astep(step), call_id)
    return result


def run_in_graph(
    tool: CodeModeTool, code: str, call_id: str | None, observer: Observer | None
) -> ExecutionResult:
    """`arun_in_graph` for synchronous graphs (`invoke`, `stream`)."""
    order = call_order.get()
    code_mode = tool.code_mode
    if order is not None:
        order.wait_turn(call_id, "started")
    try:
        first = _step(PlanStep(code_mode, observer, call_id, code=code))
    finally:
        if order is not None:
            order.mark(call_id, "started")
    result, record = _read(first.result(), call_id)
    if result.status == "paused" and order is not None:
        order.wait_turn(call_id, "finished")
    while result.status == "paused":
        decisions = _ask(tool, result, call_id)
        step = PlanStep(code_mode, observer, call_id, record=record, decisions=decisions)
        result, record = _read(_step(step).result(), call_id)
    return result


def _ask(tool: CodeModeTool, result: ExecutionResult, call_id: str | None) -> dict[str, Decision]:
    """Interrupt the graph with the pending requests; on resume, the human's decisions."""
    value = approval_interrupt(result, tool.code_mode, code_tool=tool.name, tool_call_id=call_id)
    answer = interrupt(value, response_schema=answer_schema(value))
    return to_decisions(answer, value)


class CallOrder:
    """The order in which the code calls of one graph task take their durable steps.

    Each call waits for every call before it in the message to have `"started"` (scheduled
    its first task) before it schedules its own. Before it asks a human (and so schedules
    more tasks), it waits for every other call to have started and every call before it to
    have `"finished"`. If one of those ended by raising (an interrupt), the graph stops
    there, and the waiting call gives up too (it is asked again when the graph resumes).
    """

    def __init__(self, call_ids: Sequence[str], *, asynchronous: bool) -> None:
        self._ids = list(call_ids)
        self._events: dict[tuple[str, str], asyncio.Event | threading.Event] = {
            (call_id, stage): asyncio.Event() if asynchronous else threading.Event()
            for call_id in self._ids
            for stage in ("started", "finished")
        }
        self._failed: set[str] = set()

    def _waits_for(self, call_id: str | None, stage: str) -> list[tuple[str, str]]:
        if call_id not in self._ids:
            return []
        before = self._ids[: self._ids.index(call_id)]
        if stage == "started":
            return [(earlier, "started") for earlier in before]
        others = [(other, "started") for other in self._ids if other != call_id]
        return others + [(earlier, "finished") for earlier in before]

    async def await_turn(self, call_id: str | None, stage: str) -> None:
        for other, other_stage in self._waits_for(call_id, stage):
            event = self._events[(other, other_stage)]
            assert isinstance(event, asyncio.Event)
            await event.wait()
            self._give_up_after(other, other_stage)

    def wait_turn(self, call_id: str | None, stage: str) -> None:
        for other, other_stage in self._waits_for(call_id, stage):
            event = self._events[(other, other_stage)]
            assert isinstance(event, threading.Event)
            event.wait()
            self._give_up_after(other, other_stage)

    def _give_up_after(self, earlier: str, stage: str) -> None:
        if stage == "finished" and earlier in self._failed:
            raise GraphBubbleUp()

    def mark(self, call_id: str | None, stage: str, *, failed: bool = False) -> None:
        """`call_id` reached `stage` (`"finished"` implies `"started"`)."""
        if call_id not in self._ids:
            return
        if failed:
            self._failed.add(call_id)
        stages = ("started", "finished") if stage == "finished" else (stage,)
        for name in stages:
            self._events[(call_id, name)].set()


call_order: contextvars.ContextVar[CallOrder | None] = contextvars.ContextVar(
    "codemode_call_order", default=None
)
"""The order of the code calls in the current graph task (set by `CodeModeNode`)."""
