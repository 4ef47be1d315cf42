"""Red-team family "finalizers after the run" (issue #17, win W3): no plan code runs after the
plan's result, whatever it left behind.

A generator left suspended in a reference cycle runs its `finally` when the garbage collector
finalizes it: later, during another plan or the host's own code. A coroutine's `finally` runs
when its cancelled task next steps; an async generator's when it is closed. Tick-free C work
there (`deque(map(str.upper, big), 0)`) held the next plan past its deadline for seconds. Once
a run has ended, its guards refuse: the `finally`/`except` body stops at its first line.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest

from codemode_core import CodeMode, Limits
from codemode_core.sandbox import IsolatedExecutor
from codemode_core.sandbox.rewrite import PLAN_FILENAME

HEAVY = "dq(map(up, lst), 0)"
"""About 1.5 s of C work that no tick reaches (60 x 10 MB `str.upper`)."""
_SETUP = "    dq = collections.deque\n    up = str.upper\n    lst = ['a' * 10_000_000] * 60\n"
_CYCLE = "it = g()\nnext(it)\nbox = [it]\nbox.append(box)\nreturn 'A done'\n"

GENERATOR_FINALLY = (
    "import collections\n"
    "def g():\n"
    + _SETUP
    + "    try:\n        yield 1\n    finally:\n        "
    + HEAVY
    + "\n"
    + _CYCLE
)
GENERATOR_EXCEPT = (
    "import collections\n"
    "def g():\n" + _SETUP + "    try:\n        yield 1\n    except BaseException:\n"
    "        " + HEAVY + "\n        raise\n" + _CYCLE
)
LEFT_IN_A_CYCLE = {"generator finally": GENERATOR_FINALLY, "generator except": GENERATOR_EXCEPT}

TASK_FINALLY = (
    "import collections\n"
    "async def f():\n" + _SETUP + "    try:\n        await asyncio.sleep(10)\n    finally:\n"
    "        " + HEAVY + "\n"
    "await asyncio.gather(f(), f())\n"
    "return 'never'\n"
)
ASYNC_GENERATOR_FINALLY = (
    "import collections\n"
    "async def g():\n" + _SETUP + "    try:\n        yield 1\n    finally:\n        " + HEAVY + "\n"
    "it = g()\nawait anext(it)\nbox = [it]\nbox.append(box)\nreturn 'A done'\n"
)


@contextmanager
def _plan_code_watch() -> Iterator[list[str]]:
    """Records every C call made from a plan frame (on this thread) while active."""
    seen: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and frame.f_code.co_filename == PLAN_FILENAME:
            seen.append(f"line {frame.f_lineno}: {getattr(arg, '__name__', arg)}")

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(None)


@pytest.mark.parametrize("member", sorted(LEFT_IN_A_CYCLE))
async def test_a_generator_left_in_a_cycle_runs_nothing_when_collected_in_process(
    member: str,
) -> None:
    cm = CodeMode([], executor="inprocess", limits=Limits(timeout=1.0))
    try:
        result = await cm.run(LEFT_IN_A_CYCLE[member])
        assert result.status == "ok" and result.value == "A done"
        with _plan_code_watch() as ran:
            started = time.perf_counter()
            gc.collect()  # the host's own garbage collection, any time later
            collected_in = time.perf_counter() - started
        assert ran == [], f"plan code ran after the plan's result: {ran}"
        assert collected_in < 0.6, f"the collection ran the plan's code for {collected_in:.2f}s"
        after = await cm.run("rows = [{'i': i} for i in range(20000)]\nreturn len(rows)")
        assert after.status == "ok" and after.value == 20000
    finally:
        await cm.aclose()


async def test_a_cancelled_tasks_finally_runs_nothing_after_the_result() -> None:
    cm = CodeMode([], executor="inprocess", limits=Limits(timeout=0.3))
    try:
        result = await cm.run(TASK_FINALLY)
        assert result.status == "error" and result.error is not None
        assert result.error.kind == "timeout"
        with _plan_code_watch() as ran:
            started = time.perf_counter()
            for _ in range(5):  # the cancelled tasks take their step on the host's loop
                await asyncio.sleep(0)
            held = time.perf_counter() - started
        assert ran == [], f"plan code ran after the plan's result: {ran}"
        assert held < 0.6, f"the host's loop was held for {held:.2f}s"
    finally:
        await cm.aclose()


async def test_an_async_generator_closed_at_the_end_runs_nothing(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm([], limits=Limits(timeout=1.0))
    assert (await cm.run("return 1")).value == 1  # a worker is up: only the plan is timed
    started = time.perf_counter()
    result = await cm.run(ASYNC_GENERATOR_FINALLY)
    elapsed = time.perf_counter() - started
    assert result.status == "ok" and result.value == "A done"
    assert elapsed < 1.0, f"closing the plan's async generator took {elapsed:.2f}s"


@pytest.mark.parametrize("member", sorted(LEFT_IN_A_CYCLE))
async def test_a_reused_worker_runs_nothing_of_the_previous_plan(member: str) -> None:
    """Isolated with reuse: the worker's next plan is not held by the last one's garbage."""
    executor = IsolatedExecutor(pool_size=1, plans_per_worker=None)
    cm = CodeMode([], executor=executor, limits=Limits(timeout=1.0))
    try:
        first = await cm.run(LEFT_IN_A_CYCLE[member])
        assert first.status == "ok" and first.value == "A done"
        for _ in range(3):
            started = time.perf_counter()
            after = await cm.run("rows = [[{'i': i}] for i in range(30000)]\nreturn len(rows)")
            elapsed = time.perf_counter() - started
            assert after.status == "ok" and after.value == 30000, after.error
            assert elapsed < 0.9, f"the next plan took {elapsed:.2f}s"
    finally:
        await cm.aclose()
