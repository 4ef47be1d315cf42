"""A host process SIGKILLed mid-plan; its execution taken over by another process (#20 §1).

The killed process runs a plan under an explicit execution id on a durable store; after the
kill, this process runs the same id and code: refused while the dead process's lease holds,
then taken over. Calls completed before the kill return their journaled results and never run
again (checked in the tools' own side-effect log); the plan continues live.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import crash_support
import load_support
import pytest

from codemode_core import CodeMode, ResumeError


def _kill_while_holding(kind: str, target: str, execution_id: str, log: Path) -> float:
    """Start the host, wait until its plan holds in `tools.hold()`, SIGKILL it; the time."""
    host = subprocess.Popen(
        [sys.executable, crash_support.__file__, kind, target, execution_id, str(log)],
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
        await cm.run(crash_support.PLAN, execution_id="exec-1")
    while True:  # the lease lapses LEASE seconds after the last heartbeat at the latest
        try:
            await cm.run("return 1", execution_id="exec-1")
        except ResumeError as exc:
            if "was started with another plan" in str(exc):
                break  # taken over, then let go at once: another plan never runs under it
            assert "already running" in str(exc)
            assert time.monotonic() - killed_at < crash_support.LEASE + 5
            await asyncio.sleep(0.1)
    result = await cm.run(crash_support.PLAN, execution_id="exec-1")

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
        await cm.run(crash_support.PLAN, execution_id="exec-1")
    await cm.aclose()
    await cm.store.aclose()
