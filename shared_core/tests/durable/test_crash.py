"""A host process SIGKILLed mid-plan; its execution taken over by another process (#20 §1).

The killed process runs a plan under an explicit execution id on a durable store; after the
kill, this process runs the same id and code: refused while the dead process's lease holds,
then taken over. Calls completed before the kill return their journaled results and never run
again (checked in the tools' own side-effect log); the plan continues live.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import crash_support
import load_support
import pytest

from codemode_core import CodeMode, ResumeError, Tool
from codemode_core.durable import approve, reject


def _kill_while_holding(
    kind: str, target: str, execution_id: str, log: Path, plan: str = "hold"
) -> float:
    """Start the host, wait until its plan holds in `tools.hold()`, SIGKILL it; the time."""
    host = subprocess.Popen(
        [sys.executable, crash_support.__file__, kind, target, execution_id, str(log), plan],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert host.stdout is not None
        line = host.stdout.readline()
        assert line == "holding\n", host.communicate(timeout=30)
    finally:
        os.kill(host.pid, signal.SIGKILL)
        host.wait(timeout=30)
    assert host.returncode == -signal.SIGKILL
    return time.monotonic()


async def test_a_killed_hosts_execution_is_taken_over_and_nothing_runs_twice(
    shared_store: tuple[str, str], tmp_path: Path
) -> None:
    kind, target = shared_store
    log = tmp_path / "effects.log"
    killed_at = _kill_while_holding(kind, target, "exec-1", log)
    assert collections.Counter(log.read_text().splitlines()) == {
        "step 1": 1,
        "step 2": 1,
        "step 3": 1,
        "hold": 1,
    }

    cm = CodeMode(
        crash_support.crash_tools(log, holding=False),
        store=load_support.open_store(kind, target),
        executor="inprocess",
        lease=crash_support.LEASE,
    )
    with pytest.raises(ResumeError, match="'exec-1' is already running: its holder renews"):
        await cm.run(crash_support.PLANS["hold"], execution_id="exec-1")
    while True:  # the lease lapses LEASE seconds after the last heartbeat at the latest
        try:
            await cm.run("return 1", execution_id="exec-1")
        except ResumeError as exc:
            if "was started with another plan" in str(exc):
                break  # taken over, then let go at once: another plan never runs under it
            assert "already running" in str(exc)
            assert time.monotonic() - killed_at < crash_support.LEASE + 5
            await asyncio.sleep(0.1)
    result = await cm.run(crash_support.PLANS["hold"], execution_id="exec-1")

    assert result.ok and result.value == 60 and result.execution_id == "exec-1"
    assert [c.tool for c in result.tool_calls] == [
        f"tools.{t}" for t in ["step", "step", "step", "hold", "step"]
    ]
    assert collections.Counter(log.read_text().splitlines()) == {
        "step 1": 1,
        "step 2": 1,
        "step 3": 1,
        "hold": 2,  # in flight at the kill, and idempotent: run again
        "step 60": 1,
    }
    with pytest.raises(ResumeError, match=r"'exec-1' already finished \(ok\)"):
        await cm.run(crash_support.PLANS["hold"], execution_id="exec-1")
    await cm.aclose()
    await cm.store.aclose()


async def _take_over(cm: CodeMode, plan: str, execution_id: str, killed_at: float) -> Any:
    while True:  # refused until the dead host's lease lapses
        try:
            return await cm.run(plan, execution_id=execution_id)
        except ResumeError as exc:
            assert "already running" in str(exc)
            assert time.monotonic() - killed_at < crash_support.LEASE + 5
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_a_call_in_flight_at_the_kill_that_is_not_idempotent_waits_for_a_human(
    shared_store: tuple[str, str], tmp_path: Path, decision: str
) -> None:
    kind, target = shared_store
    log = tmp_path / "effects.log"
    killed_at = _kill_while_holding(kind, target, "exec-2", log, plan="charge")
    cm = CodeMode(
        crash_support.crash_tools(log, holding=False),
        store=load_support.open_store(kind, target),
        executor="inprocess",
        lease=crash_support.LEASE,
    )
    paused = await _take_over(cm, crash_support.PLANS["charge"], "exec-2", killed_at)

    assert paused.status == "paused", paused.to_model()
    [request] = paused.pending
    assert (request.tool, request.reason, request.line) == (
        "tools.charge",
        "in doubt after a crash",
        4,
    )
    assert dict(request.arguments) == {"total": 6}
    assert "waiting for approval of tools.charge (line 4, in doubt after a crash)" in (
        paused.to_model()
    )
    effects = collections.Counter(log.read_text().splitlines())
    assert effects == {"step 1": 1, "step 2": 1, "step 3": 1, "charge": 1}  # not run again

    answer = approve if decision == "approve" else reject("it went through before the crash")
    done = await cm.resume("exec-2", {request.request_id: answer})
    effects = collections.Counter(log.read_text().splitlines())
    if decision == "approve":  # a human said it had not gone through: it runs again
        assert done.ok and done.value == 60
        assert effects == {"step 1": 1, "step 2": 1, "step 3": 1, "charge": 2, "step 60": 1}
    else:
        assert done.error is not None and done.error.kind == "tool" and done.error.line == 4
        assert "not approved: it went through before the crash" in done.error.message
        assert effects == {"step 1": 1, "step 2": 1, "step 3": 1, "charge": 1}
    await cm.aclose()
    await cm.store.aclose()


async def test_a_live_run_renews_its_lease_so_no_one_takes_it_over(
    shared_store: tuple[str, str], tmp_path: Path
) -> None:
    """The run outlives its first lease several times over; a takeover attempted then is
    refused, because the heartbeat kept the lease."""
    kind, target = shared_store
    gate = asyncio.Event()

    async def slow(n: int) -> int:
        """Waits for the test."""
        await gate.wait()
        return n

    lease = 0.3
    tools = [Tool.from_function(slow)]
    first = CodeMode(tools, store=load_support.open_store(kind, target), lease=lease)
    second = CodeMode(tools, store=load_support.open_store(kind, target), lease=lease)
    plan = "return await tools.slow(n=5)"
    running = asyncio.ensure_future(first.run(plan, execution_id="live"))
    await asyncio.sleep(lease * 4)
    with pytest.raises(ResumeError, match="'live' is already running"):
        await second.run(plan, execution_id="live")
    gate.set()
    assert (await running).value == 5
    for cm in (first, second):
        await cm.aclose()
        await cm.store.aclose()


async def test_a_resume_whose_process_died_can_be_resumed_again_once_its_lease_lapses(
    shared_store: tuple[str, str], tmp_path: Path
) -> None:
    """A resumer that claimed the execution and died (or lost its store) holds it only for
    its lease: resuming again with the same decisions then works."""
    kind, target = shared_store
    log = tmp_path / "effects.log"
    tools = crash_support.crash_tools(log, holding=False)
    store = load_support.open_store(kind, target)
    cm = CodeMode(tools, store=store, executor="inprocess", lease=0.3)
    plan = "await tools.step(n=1)\nreturn await tools.charge(total=2)"
    marked = [dataclasses.replace(t, requires_approval=t.name == "charge") for t in tools]
    asking = CodeMode(marked, store=load_support.open_store(kind, target), executor="inprocess")
    paused = await asking.run(plan, execution_id="resumed")
    [request] = paused.pending
    now = time.time()
    await store.claim("resumed", now=now, lease_until=now + 0.3)  # a resumer, then it died
    with pytest.raises(ResumeError, match="'resumed' is already running"):
        await asking.resume("resumed", {request.request_id: approve})
    await asyncio.sleep(0.4)
    done = await asking.resume("resumed", {request.request_id: approve})
    assert done.ok and done.value == 2
    assert collections.Counter(log.read_text().splitlines()) == {"step 1": 1, "charge": 1}
    for each in (cm, asking):
        await each.aclose()
        await each.store.aclose()
