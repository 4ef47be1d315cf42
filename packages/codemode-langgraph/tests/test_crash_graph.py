"""A LangGraph graph with a SQLite checkpointer and a SQLite Code Mode store, its process
SIGKILLed mid-plan and the thread run on in a new process (#20 §1): every side effect the
plan made before the kill happens exactly once in all, and the call in flight at the kill,
which is not idempotent, waits for a human instead of running again."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def _command(phase: str, tmp_path: Path, *extra: str) -> list[str]:
    search_path = json.dumps([p for p in sys.path if p])
    files = [str(tmp_path / name) for name in ("threads.sqlite", "runs.sqlite", "effects.log")]
    return [sys.executable, str(HERE / "crash_agent.py"), phase, *files, search_path, *extra]


def _kill_mid_plan(tmp_path: Path) -> None:
    """Run the graph until the plan is inside `charge` (its effect made), then SIGKILL it."""
    host = subprocess.Popen(
        _command("start", tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert host.stdout is not None
        line = host.stdout.readline()
        assert line == "holding\n", host.communicate(timeout=30)
    finally:
        os.kill(host.pid, signal.SIGKILL)
        host.wait(timeout=30)
    assert host.returncode == -signal.SIGKILL


def _recover(tmp_path: Path, answer: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        _command("recover", tmp_path, json.dumps(answer)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def _effects(tmp_path: Path) -> collections.Counter[str]:
    return collections.Counter((tmp_path / "effects.log").read_text().splitlines())


def test_a_graph_killed_mid_plan_is_taken_over_by_a_new_process(tmp_path: Path) -> None:
    _kill_mid_plan(tmp_path)
    before = {"step 1": 1, "step 2": 1, "step 3": 1, "charge 6": 1}
    assert _effects(tmp_path) == before

    # A human checks, finds the charge went through, and rejects running it again (approving
    # would run it again: the core's tests cover that decision).
    report = _recover(tmp_path, {"type": "reject", "message": "it was charged before the crash"})

    # The run was refused while the dead process's lease held, then taken over: the call in
    # flight at the kill is asked about, with why, instead of running again.
    [request] = report["interrupt"]["codemode"]["requests"]
    assert (request["tool"], request["arguments"], request["line"]) == (
        "tools.charge",
        {"total": 6},
        5,
    )
    assert request["reason"] == "in doubt after a crash"
    assert "in doubt after a crash" in report["interrupt"]["action_requests"][0]["description"]
    # Nothing the plan did before the kill ran again; the charge ran once in all.
    assert _effects(tmp_path) == {**before, "step 4": 1}
    [reply] = report["replies"]
    assert json.loads(reply) == {
        "charged": "not again: not approved: it was charged before the crash",
        "last": 4,
    }
    assert report["last"] == "Done."
