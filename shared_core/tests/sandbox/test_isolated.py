"""What only the isolated executor can do: memory caps, C-level hangs, crashes, confinement."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest

from codemode_core import CodeMode, Limits, ProgressEvent, Tool
from codemode_core.sandbox import IsolatedExecutor
from core_support import Calls, make_tools


@pytest.fixture
async def iso(calls: Calls) -> AsyncIterator[CodeMode]:
    executor = IsolatedExecutor(pool_size=1)
    cm = CodeMode(
        make_tools(calls), executor=executor, limits=Limits(timeout=3.0, max_memory_mb=400)
    )
    async with cm:
        yield cm


async def test_worker_reports_its_confinement(iso: CodeMode) -> None:
    assert (await iso.run("return 1")).value == 1
    executor = iso._executor
    assert isinstance(executor, IsolatedExecutor)
    report = executor.last_report
    assert any(item.startswith("RLIMIT_AS=") for item in report["rlimits"])
    assert "RLIMIT_FSIZE=0" in report["rlimits"]
    if os.uname().sysname == "Linux":
        assert report["seccomp"] is True, report


async def test_memory_bomb_is_contained_and_worker_replaced(iso: CodeMode) -> None:
    result = await iso.run("x = ['a' * 1_000_000 + str(i) for i in range(2000)]\nlen(x)")
    assert result.status == "error"
    assert result.error is not None
    assert result.error.kind in {"budget", "crashed"}
    assert (await iso.run("return await tools.add(1, 2)")).value == 3


async def test_c_level_hang_is_killed_at_the_deadline(calls: Calls) -> None:
    cm = CodeMode(
        make_tools(calls), executor=IsolatedExecutor(pool_size=1), limits=Limits(timeout=0.5)
    )
    async with cm:
        started = time.perf_counter()
        result = await cm.run("import re\nre.match('(a+)+$', 'a' * 64 + 'b')")
        elapsed = time.perf_counter() - started
        assert result.error is not None
        assert result.error.kind == "timeout"
        assert elapsed < 4.0
        assert (await cm.run("return await tools.add(2, 2)")).value == 4


async def test_tool_calls_before_a_crash_are_recorded(iso: CodeMode) -> None:
    result = await iso.run(
        "await tools.add(1, 1)\nawait tools.list_orders()\n"
        "import re\nre.match('(a+)+$', 'a' * 64 + 'b')"
    )
    assert result.status == "error"
    assert [c.tool for c in result.tool_calls] == ["tools.add", "tools.list_orders"]


async def test_host_environment_is_not_visible(
    iso: CodeMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEMODE_TEST_SECRET", "sk-secret")
    result = await iso.run("return str(dir(tools))")
    assert "sk-secret" not in str(result.value)


async def test_concurrent_plans_share_the_pool(calls: Calls) -> None:
    cm = CodeMode(make_tools(calls), executor=IsolatedExecutor(pool_size=2))
    async with cm:
        results = await asyncio.gather(
            *[cm.run(f"return await tools.add({i}, 1)") for i in range(6)]
        )
    assert [r.value for r in results] == [i + 1 for i in range(6)]


_FORGETFUL_USER = """
import asyncio, os, time
from codemode_core import CodeMode

def pids(executor):  # its fork server and its warm workers
    found = [w.process.pid for w in executor._idle] + [z.process.pid for z in executor._servers]
    assert len(found) >= 2, found
    return " ".join(map(str, found))

async def main():
    cm = CodeMode([])  # never closed
    assert (await cm.run("return 1")).value == 1
    await asyncio.sleep(0.5)  # the used worker's successors are warm
    print(pids(cm._executor))

asyncio.run(main())
sync = CodeMode([])  # never closed either; runs on its portal loop
assert sync.run_sync("return 2").value == 2
time.sleep(0.5)
print(pids(sync._executor))
dropped = "d = CodeMode([])\\nassert d.run_sync('return 3').value == 3\\ndel d"
exec(dropped, {"CodeMode": CodeMode})  # dropped by reference counting, mid-module
"""


def test_default_is_isolated_and_unclosed_code_modes_leave_no_worker_behind() -> None:
    assert isinstance(CodeMode([])._executor, IsolatedExecutor)
    done = subprocess.run(
        [sys.executable, "-c", _FORGETFUL_USER], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no "Task was destroyed", no "Loop ... that handles pid"
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) >= 4 and not any(map(_running, pids))


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan may wait for a reaper that never comes)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


_caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="none")


async def test_tools_and_observers_run_in_the_callers_context() -> None:
    """A warm worker serves each plan's calls in that plan's caller's context (adapters pass the
    agent's run context this way), not in the context of the caller that started the worker."""

    def whoami() -> str:
        """The caller, as the host sees it."""
        return _caller.get()

    seen_by_observer: list[str] = []

    def observe(event: ProgressEvent) -> None:
        if event.kind == "log":
            seen_by_observer.append(_caller.get())

    cm = CodeMode([Tool.from_function(whoami)], executor=IsolatedExecutor(pool_size=1))
    async with cm:

        async def run_as(name: str) -> object:
            _caller.set(name)
            result = await cm.run("print('x')\nreturn await tools.whoami()", observer=observe)
            return result.value

        assert await run_as("first") == "first"
        assert await run_as("second") == "second"  # same warm worker, new caller
        assert await asyncio.gather(run_as("a"), run_as("b")) == ["a", "b"]
    assert seen_by_observer[:2] == ["first", "second"]
    assert sorted(seen_by_observer[2:]) == ["a", "b"]


async def test_async_tools_run_as_tasks() -> None:
    """Tools see a current task, as libraries they use expect (anyio, sniffio, httpx,
    pydantic-ai, `asyncio.timeout`), whether they finish at once or wait."""

    async def guarded(wait: bool) -> str:
        """Uses asyncio.timeout, which needs a current task."""
        async with asyncio.timeout(5):
            if wait:
                await asyncio.sleep(0.01)
            return "task" if asyncio.current_task() is not None else "no task"

    async def times_out() -> str:
        """The deadline cancels the task that waits, the one that entered the timeout."""
        before = asyncio.current_task()
        try:
            async with asyncio.timeout(0.05):
                await asyncio.sleep(5)
        except TimeoutError:
            return "timed out" if asyncio.current_task() is before else "another task"
        return "not cancelled"

    tools = [Tool.from_function(guarded), Tool.from_function(times_out)]
    cm = CodeMode(tools, executor=IsolatedExecutor(pool_size=1))
    async with cm:
        result = await cm.run(
            "return [await tools.guarded(False), await tools.guarded(True),"
            " await tools.times_out()]"
        )
    assert result.value == ["task", "task", "timed out"], result.to_model()


async def test_tool_calls_that_suspend_many_times_fail_late_or_are_cancelled() -> None:
    """Calls start eagerly (their first step runs inside the pipe's reader callback); one
    that suspends keeps running as a task: it can fail later, or be cancelled when the plan
    runs out of time, and then its cleanup runs."""
    cleaned_up: list[str] = []

    async def fails_late(steps: int) -> str:
        """Suspends `steps` times, then fails."""
        for _ in range(steps):
            await asyncio.sleep(0)
        raise ValueError(f"failed after {steps} steps")

    async def hangs() -> str:
        """Never finishes on its own."""
        try:
            await asyncio.sleep(60)
        finally:
            cleaned_up.append("hangs")
        return "unreachable"

    tools = [Tool.from_function(fails_late), Tool.from_function(hangs)]
    cm = CodeMode(tools, executor=IsolatedExecutor(pool_size=1), limits=Limits(timeout=1.0))
    async with cm:
        failed = await cm.run(
            "try:\n    await tools.fails_late(steps=3)\nexcept ToolError as e:\n    return str(e)"
        )
        assert failed.value == "ValueError: failed after 3 steps", failed.to_model()
        started = time.monotonic()
        timed_out = await cm.run("return await tools.hangs()")
        assert timed_out.status == "error" and timed_out.error is not None
        assert timed_out.error.kind == "timeout", timed_out.to_model()
        assert time.monotonic() - started < 5
        await asyncio.sleep(0.05)
        assert cleaned_up == ["hangs"]
        assert (await cm.run("return await tools.fails_late(steps=0)")).status == "error"


async def test_one_pool_serves_code_modes_with_different_tools_and_limits() -> None:
    """Workers keep the last manifest and limits they were sent; a plan from another
    `CodeMode` on the same pool still sees exactly its own tools and budgets."""

    def alpha() -> str:
        """A."""
        return "a"

    def beta() -> str:
        """B."""
        return "b"

    executor = IsolatedExecutor(pool_size=1)
    first = CodeMode([Tool.from_function(alpha)], executor=executor)
    second = CodeMode(
        [Tool.from_function(beta)], executor=executor, limits=Limits(max_tool_calls=1)
    )
    plan = "names = dir(tools)\nreturn [names, await tools.{0}(), await tools.{0}()]"
    for _ in range(2):
        one = await first.run(plan.format("alpha"))
        assert one.value == [["alpha"], "a", "a"], one.to_model()
        two = await second.run(plan.format("beta"))
        assert two.status == "error" and two.error is not None
        assert "max_tool_calls=1" in two.error.message, two.to_model()
        missing = await second.run("return await tools.alpha()")
        assert missing.status == "error", missing.to_model()
    await executor.aclose()


async def test_a_cancelled_wait_for_a_worker_does_not_stall_the_pool() -> None:
    """Plans beyond the pool size wait their turn. One cancelled just as it was given the
    worker (in the same step that released it) must pass its turn on to the plans behind."""
    gate = asyncio.Event()

    async def wait_gate() -> str:
        """Blocks until the test opens the gate."""
        await gate.wait()
        return "through"

    cm = CodeMode([Tool.from_function(wait_gate)], executor=IsolatedExecutor(pool_size=1))
    waiting: list[asyncio.Task[object]] = []

    async def hold_then_cancel_next() -> object:
        result = await cm.run("return await tools.wait_gate()")
        waiting[0].cancel()  # same step as the release that woke it: its turn is taken
        return result.value

    async with cm:
        await cm.run("return 1")  # a warm worker
        holder = asyncio.create_task(hold_then_cancel_next())
        await asyncio.sleep(0.2)
        waiting.append(asyncio.create_task(cm.run("return 2")))
        behind = asyncio.create_task(cm.run("return 3"))
        await asyncio.sleep(0.05)
        gate.set()
        assert await holder == "through"
        assert (await asyncio.wait_for(behind, 10)).value == 3
        with pytest.raises(asyncio.CancelledError):
            await waiting[0]
        assert (await cm.run("return 4")).value == 4


def _children() -> set[int]:
    """This process's live children (workers are started from the loop's thread)."""
    found: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as children:
            found.update(int(pid) for pid in children.read().split())
    return {pid for pid in found if _running(pid)}


async def test_a_plan_cancelled_again_while_its_worker_is_killed_frees_its_slot() -> None:
    """anyio re-delivers a cancellation until the task ends: a second cancel that lands while
    the cancelled plan's worker is being killed must still give its place in the pool back."""
    cm = CodeMode([], executor=IsolatedExecutor(pool_size=1), limits=Limits(timeout=5.0))
    async with cm:
        assert (await cm.run("return 1")).value == 1
        plan = asyncio.create_task(cm.run("import re\nre.match('(a+)+$', 'a' * 64 + 'b')"))
        await asyncio.sleep(0.3)
        while not plan.done():  # as a cancelled anyio scope does
            plan.cancel()
            await asyncio.sleep(0)
        assert (await asyncio.wait_for(cm.run("return 2"), 10)).value == 2


async def test_a_plan_cancelled_while_its_worker_starts_leaves_no_process() -> None:
    before = _children()
    executor = IsolatedExecutor(pool_size=1, spawn="exec", plans_per_worker=None)
    cm = CodeMode([], executor=executor)
    async with cm:
        plan = asyncio.create_task(cm.run("return 1"))
        for _ in range(1000):  # until the worker process exists (it then warms up)
            await asyncio.sleep(0.001)
            if _children() - before:
                break
        plan.cancel()
        with pytest.raises(asyncio.CancelledError):
            await plan
        assert _children() - before == set()
        assert (await cm.run("return 2")).value == 2


async def test_a_plan_that_cannot_be_sent_leaves_the_next_its_own_tools_and_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker keeps the last manifest and limits it was *sent*: a plan the host cannot
    send (here: larger than a frame may be) must not make the host believe the worker has
    another `CodeMode`'s, and so run that one's next plan with the first's."""

    def alpha() -> str:
        """A."""
        return "a"

    def beta() -> str:
        """B."""
        return "b"

    monkeypatch.setattr("codemode_core.sandbox._wire.MAX_FRAME_BYTES", 4096)  # host side
    executor = IsolatedExecutor(pool_size=1)
    first = CodeMode([Tool.from_function(alpha)], executor=executor)
    second = CodeMode(
        [Tool.from_function(beta)], executor=executor, limits=Limits(max_operations=1_000)
    )
    try:
        assert (await first.run("return dir(tools)")).value == ["alpha"]
        unsendable = await second.run(f"return '{'x' * 5000}'")
        assert unsendable.status == "error", unsendable.to_model()
        assert (await second.run("return dir(tools)")).value == ["beta"]
        loop = await second.run("for i in range(100_000):\n    pass\nreturn 'done'")
        assert loop.error is not None and loop.error.kind == "budget", loop.to_model()
    finally:
        await executor.aclose()


async def test_tool_results_the_wire_cannot_carry_fail_the_call_at_once() -> None:
    """A result JSON cannot carry (an int beyond the worker parser's 4300 digits) is a failed
    call the plan can handle, not a plan stalled until its deadline; text with lone
    surrogates (a file name decoded with surrogateescape) arrives with U+FFFD in their place."""

    def surrogate() -> str:
        """Text with a lone surrogate."""
        return b"caf\xe9".decode("utf-8", "surrogateescape")

    def huge() -> int:
        """An int of 5001 digits."""
        return 10**5000

    tools = [Tool.from_function(surrogate), Tool.from_function(huge)]
    cm = CodeMode(tools, executor=IsolatedExecutor(pool_size=1), limits=Limits(timeout=10.0))
    async with cm:
        assert (await cm.run("return await tools.surrogate()")).value == "caf\ufffd"
        started = time.monotonic()
        result = await cm.run(
            "try:\n    await tools.huge()\nexcept ToolError as e:\n    return str(e)"
        )
        assert result.status == "ok", result.to_model()
        assert "could not be read" in result.value or "cannot be returned" in result.value
        assert time.monotonic() - started < 5
        await asyncio.sleep(0.2)  # a worker that could not read a reply exits after its plan
        assert (await cm.run("return 3")).value == 3  # and is replaced


async def test_a_worker_that_died_while_idle_is_replaced_before_the_next_plan() -> None:
    executor = IsolatedExecutor(pool_size=1, plans_per_worker=None)
    cm = CodeMode([], executor=executor)
    async with cm:
        assert (await cm.run("return 1")).value == 1
        (worker,) = executor._idle
        os.kill(worker.process.pid, 9)  # e.g. the kernel's OOM killer, between plans
        await asyncio.sleep(0.1)
        result = await cm.run("return 2")
        assert result.value == 2, result.to_model()


async def test_text_no_utf8_can_carry_crosses_the_wire_as_replacement_characters() -> None:
    """A plan can build lone surrogates ("\\udc80"); returned, printed or passed to a tool
    they arrive as U+FFFD instead of killing the worker (which was reported as out of memory)."""

    def echo(text: str) -> str:
        """Echo."""
        return text

    cm = CodeMode([Tool.from_function(echo)], executor=IsolatedExecutor(pool_size=1))
    async with cm:
        returned = await cm.run("return 'a' + chr(0xDC80)")
        assert (returned.status, returned.value) == ("ok", "a\ufffd"), returned.to_model()
        printed = await cm.run("print(chr(0xD800))\nreturn await tools.echo(text=chr(0xDFFF))")
        assert (printed.status, printed.value) == ("ok", "\ufffd"), printed.to_model()
        assert list(printed.logs) == ["\ufffd"]


async def test_a_dead_fork_server_is_replaced_and_plans_go_on() -> None:
    """Single-use workers are forked from a fork server; if it dies (killed, out of memory),
    the next worker start brings up another, and no plan sees it."""
    executor = IsolatedExecutor(pool_size=1)
    assert executor.spawn == "fork" and executor.plans_per_worker == 1
    cm = CodeMode([], executor=executor)
    async with cm:
        assert (await cm.run("return 1")).value == 1
        (server,) = executor._servers
        os.kill(server.process.pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        results = [await cm.run(f"return {i}") for i in range(4)]
        assert [r.value for r in results] == [0, 1, 2, 3], [r.to_model() for r in results]
        assert executor._servers and executor._servers[0] is not server
