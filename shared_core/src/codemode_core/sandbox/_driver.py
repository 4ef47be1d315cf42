"""Run a compiled plan function to an `ExecutionOutcome`: deadlines, and every failure mapped.

Shared by every executor backend (the in-process one runs it on the caller's loop; a worker
process runs it on its own), so plans behave the same wherever they run.
"""

from __future__ import annotations

import asyncio
import difflib
import traceback
from collections.abc import Awaitable, Callable, Collection
from dataclasses import replace
from types import TracebackType
from typing import Any

from codemode_core._jsonify import jsonify
from codemode_core.errors import ToolError
from codemode_core.result import ExecutionError
from codemode_core.sandbox._leftovers import PlanGate, end_leftovers
from codemode_core.sandbox._namespace import build_plan_globals
from codemode_core.sandbox._plan_api import raised_by_plan, unawaited_calls
from codemode_core.sandbox._provenance import describe_subject
from codemode_core.sandbox._report import exception_text, result_problem, value_text
from codemode_core.sandbox.compiler import PlanRejected, compile_plan
from codemode_core.sandbox.executor import Bridge, ExecutionOutcome, ExecutionRequest
from codemode_core.sandbox.guards import NotAwaitedError, PlanAbort, PlanRuntime
from codemode_core.sandbox.rewrite import PLAN_FILENAME, PLAN_FUNCTION

__all__ = ["drive", "run_plan"]


def _plan_line(tb: TracebackType | None) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == PLAN_FILENAME:
            line = lineno
    return line


def _describe_exception(
    exc: BaseException, tool_names: Collection[str], runtime: PlanRuntime
) -> str:
    message = exception_text(exc)  # measured first: the plan chose what it holds
    if isinstance(exc, (LookupError, TypeError, AttributeError)):
        seen = describe_subject(exc, runtime.results)  # what the value really is
        if seen.startswith(". ") and message.endswith((".", "?", "!")):
            seen = seen[1:]  # the message already ends a sentence
        if seen or isinstance(exc, KeyError):
            return message + (seen or " (a missing dict key)")
    if isinstance(exc, NameError) and getattr(exc, "name", None):
        missing = str(getattr(exc, "name", ""))
        if missing in tool_names:
            return f"{message}. Tools are called as `await tools.{missing}(...)`."
        close = difflib.get_close_matches(missing, list(tool_names), n=1)
        if close:
            return f"{message}. Did you mean `await tools.{close[0]}(...)`?"
    if isinstance(exc, RecursionError):
        return f"{message}. Recursion too deep; use a loop."
    return message


def _failed(runtime: PlanRuntime, failure: ExecutionError) -> ExecutionOutcome:
    if runtime.paused:
        return ExecutionOutcome(status="paused", logs=tuple(runtime.logs))
    return ExecutionOutcome(status="error", failure=failure, logs=tuple(runtime.logs))


async def _guarded(
    runtime: PlanRuntime, plan: Callable[[], Awaitable[Any]], tool_names: Collection[str]
) -> ExecutionOutcome:
    try:
        value = await plan()
    except PlanAbort as abort:
        return _failed(runtime, abort.failure)
    except asyncio.CancelledError as exc:
        if runtime.failure is not None:
            return _failed(runtime, runtime.failure)
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # the caller cancelled the run: theirs to handle
        # The plan raised `CancelledError` itself; nobody cancelled anything.
        return _failed(
            runtime,
            ExecutionError(
                kind="runtime",
                message=_describe_exception(exc, tool_names, runtime),
                line=_plan_line(exc.__traceback__),
            ),
        )
    except ToolError as exc:
        line = _plan_line(exc.__traceback__)
        if raised_by_plan(exc):  # the plan's own `raise ToolError(..., tool=...)`: no tool failed
            return _failed(
                runtime,
                ExecutionError(
                    kind="runtime",
                    message=f"the plan raised ToolError itself: {value_text(exc.message)}",
                    line=line,
                ),
            )
        tool = exc.tool or "a tool"
        said = value_text(exc.message, runtime.limits.max_output_chars)
        return _failed(
            runtime,
            ExecutionError(
                kind="tool",
                message=f"{tool} failed: {said}",
                line=line,
                tool=exc.tool,
            ),
        )
    except NotAwaitedError as exc:
        return _failed(
            runtime,
            ExecutionError(kind="runtime", message=str(exc), line=_plan_line(exc.__traceback__)),
        )
    except MemoryError as exc:
        return _failed(
            runtime,
            ExecutionError(
                kind="budget",
                message="the plan ran out of memory",
                line=_plan_line(exc.__traceback__),
            ),
        )
    except BaseException as exc:
        if runtime.failure is not None:
            return _failed(runtime, runtime.failure)
        return _failed(
            runtime,
            ExecutionError(
                kind="runtime",
                message=_describe_exception(exc, tool_names, runtime),
                line=_plan_line(exc.__traceback__),
            ),
        )
    if runtime.failure is not None:  # an abort swallowed by `finally: return ...`
        return _failed(runtime, runtime.failure)
    forgotten = unawaited_calls(runtime)
    if forgotten:
        return _failed(
            runtime,
            ExecutionError(
                kind="runtime",
                message=str(forgotten[0]._codemode_not_awaited()),
                line=forgotten[0]._line,
            ),
        )
    problem = result_problem(value, runtime.max_seq)  # before the host builds anything of it
    if problem is not None:
        return _failed(runtime, problem)
    return ExecutionOutcome(status="ok", value=jsonify(value), logs=tuple(runtime.logs))


async def drive(
    runtime: PlanRuntime,
    plan: Callable[[], Awaitable[Any]],
    *,
    tool_names: Collection[str] = (),
) -> ExecutionOutcome:
    """Run `plan` under `runtime`'s deadline; never raises for anything the plan does.

    The plan runs in the caller's task (no task hop: a plan whose tools never suspend runs
    without a trip through the event loop). At the deadline the runtime records a timeout and
    the task is cancelled. Nothing the plan does afterwards can undo that: every later tick,
    check and `except` handler raises the recorded timeout, and a plan that returns anyway
    (`finally: return`) or finishes after its deadline without being interrupted is reported
    as `timeout` all the same.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    cancelling = task.cancelling() if task is not None else 0
    cancelled = False

    def expire() -> None:
        nonlocal cancelled
        runtime.expire()
        if task is not None:
            task.cancel()
            cancelled = True

    timer = loop.call_later(max(0.0, runtime.remaining()), expire)
    try:
        outcome = await _guarded(runtime, plan, tool_names)
    except asyncio.CancelledError:
        if not cancelled or task is None or task.uncancel() > cancelling:
            raise  # the caller cancelled the run (too): theirs to handle
        return _failed(runtime, runtime.failure or _timeout(runtime))
    finally:
        timer.cancel()
    if task is not None:
        if cancelled:
            task.uncancel()
        if task.cancelling() > cancelling:
            raise asyncio.CancelledError  # the plan swallowed the caller's cancellation
    if outcome.status == "ok" and runtime.clock() > runtime.deadline:
        runtime.expire()  # it returned, but after its deadline: a timeout all the same
        return _failed(runtime, runtime.failure or _timeout(runtime))
    return outcome


def _timeout(runtime: PlanRuntime) -> ExecutionError:
    return ExecutionError(kind="timeout", message=runtime.timeout_message())


async def run_plan(request: ExecutionRequest, bridge: Bridge) -> ExecutionOutcome:
    """Compile (cached), build the plan's globals, and drive it: what every backend runs.

    The deadline starts before compiling: compile time (bounded by the compiler's size and
    nesting caps) counts against the plan's timeout like everything else it costs.
    """
    runtime = PlanRuntime(request.limits)
    compiled = compile_plan(request.code)
    if isinstance(compiled, PlanRejected):
        return ExecutionOutcome(
            status="error",
            failure=ExecutionError(
                kind=compiled.kind, message=compiled.message, line=compiled.line
            ),
        )
    if runtime.remaining() <= 0:
        return ExecutionOutcome(status="error", failure=_timeout(runtime))
    runtime.seed = request.seed
    runtime.replay_clock = list(request.clock)
    gate = PlanGate(bridge)
    namespace = build_plan_globals(runtime, gate, request.manifest)
    leftovers = 0
    try:
        exec(compiled.code, namespace)  # defines the plan's async function; runs nothing yet
        tool_names = [name for names in request.manifest.namespaces.values() for name in names]
        outcome = await drive(runtime, namespace[PLAN_FUNCTION], tool_names=tool_names)
    finally:
        # The plan is over: nothing it left behind may reach the host (the gate), run plan
        # code (no budget left), or stay scheduled on the loop (cancelled, closed).
        gate.shut()
        runtime.exhaust()
        leftovers = end_leftovers(namespace)
        # Plan functions reference these globals and the globals reference them: break the
        # cycles now, so an execution's objects are freed at once instead of feeding the
        # cyclic garbage collector (whose pauses showed up as latency spikes).
        namespace.clear()
        runtime.release()
    if leftovers:
        return replace(outcome, extras={**outcome.extras, "leftovers": leftovers})
    return outcome
