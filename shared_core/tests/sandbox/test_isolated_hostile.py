"""The host against a compromised worker: a fake worker program, passed as the executor's
`python`, ignores the bootstrap and speaks hostile frames on the pipes it is given."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from codemode_core import CodeMode, ExecutionResult, Limits, ProgressEvent, Tool
from codemode_core.sandbox import IsolatedExecutor

_FAKE_WORKER = r"""
import json, os, struct, sys, time
mode = sys.argv[1]
read_fd, write_fd = int(sys.argv[5]), int(sys.argv[6])  # after: -I -c <bootstrap>

def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = os.read(read_fd, n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data

def read_frame():
    (size,) = struct.unpack(">I", read_exact(4))
    return json.loads(read_exact(size))

def raw(body):
    os.write(write_fd, struct.pack(">I", len(body)) + body)

stamp = {"run": None, "seq": 0}

def send(message, run=None, seq=None):
    # stamped as an honest worker stamps: the run id and the next number
    if stamp["run"] is not None:
        stamp["seq"] += 1
        message = {**message, "run": stamp["run"] if run is None else run}
        message["seq"] = stamp["seq"] if seq is None else seq
    raw(json.dumps(message).encode())

def nest(depth):
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value

read_frame()  # init
send({"type": "ready", "report": {}})
previous = None
while True:
    run = read_frame()
    previous, stamp["run"], stamp["seq"] = stamp["run"], run.get("run"), 0
    if mode == "honest":
        send({"type": "done", "outcome": {"status": "ok", "value": run["code"]}})
    elif mode == "forge_for_next":  # what code a plan left behind did: speak in the next run
        if previous is not None:
            send({"type": "done", "outcome": {"status": "ok", "value": "forged"}}, run=previous)
        send({"type": "done", "outcome": {"status": "ok", "value": run["code"]}})
    elif mode == "forge_between_runs":  # a done, then a forged frame while the host is idle
        send({"type": "done", "outcome": {"status": "ok", "value": run["code"]}})
        time.sleep(0.05)
        send({"type": "done", "outcome": {"status": "ok", "value": "forged"}})
    elif mode == "unknown_run":
        send({"type": "log", "text": "hi"}, run="0123456789abcdef")
        send({"type": "done", "outcome": {"status": "ok", "value": 1}})
    elif mode == "unstamped":  # as every frame was before run ids
        stamp["run"] = None
        send({"type": "done", "outcome": {"status": "ok", "value": 1}})
    elif mode == "stale_seq":
        send({"type": "log", "text": "one"})
        send({"type": "log", "text": "one again"}, seq=1)
        send({"type": "done", "outcome": {"status": "ok", "value": 1}})
    elif mode == "skipped_seq":
        send({"type": "log", "text": "one"}, seq=2)
        send({"type": "done", "outcome": {"status": "ok", "value": 1}})
    elif mode == "oversized":  # 5 MB: fine under the old 64 MB cap
        send({"type": "done", "outcome": {"status": "ok", "value": "x" * 5_000_000}})
    elif mode == "nested_150":  # under the parser's own ~200 levels
        send({"type": "done", "outcome": {"status": "ok", "value": nest(150)}})
    elif mode == "amplifier":  # 4 MB of `[], ` (~17x once parsed): within the bounds
        send({"type": "done", "outcome": {"status": "ok", "value": [[]] * 1_000_000}})
    elif mode == "dies_slowly":  # says why on stderr, closes its pipes, exits a little later
        sys.stderr.write("Traceback (most recent call last):\nRuntimeError: boom\n")
        sys.stderr.flush()
        os.close(write_fd)
        os.close(read_fd)
        time.sleep(0.3)
        sys.exit(1)
    elif mode == "deep":
        raw(b'{"type":"done","outcome":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    elif mode == "huge_int":
        raw(b'{"type":"done","outcome":' + b"9" * 100_000 + b"}")
    elif mode == "bad_utf8":
        raw(b'{"type":"\xff\xfe"}')
    elif mode == "huge_header":
        os.write(write_fd, b"\xff\xff\xff\xff" + b"x" * 100)
    elif mode == "partial_then_exit":
        os.write(write_fd, struct.pack(">I", 100) + b'{"type"')
        sys.exit(0)
    elif mode == "not_an_object":
        raw(b"[1, 2, 3]")
    elif mode == "untyped":
        raw(b'{"outcome": {"status": "ok"}}')
    elif mode == "odd_calls":
        calls = [
            {"op": "tool", "name": "tools.not_in_catalog"},
            {"op": "tool", "name": "__class__"},
            {"op": "tool", "name": "tools.echo", "args": "x", "kwargs": [1], "line": "l"},
            {"op": "search", "query": {"q": 1}, "limit": "many"},
            {"op": "describe", "name": None},
            {"op": "no_such_op"},
            {"op": "tool", "name": "tools.echo", "kwargs": {"text": "ok"}},
        ]
        for number, call in enumerate(calls):
            send({"type": "call", "id": [number, {"odd": True}], **call})
        send({"type": "log", "text": 5})
        send({"type": "clock", "value": "noon"})
        replies = [read_frame() for _ in calls]
        send({"type": "done", "outcome": {"status": "ok", "value": replies}})
    elif mode == "log_flood":  # far more printed text than max_output_chars allows
        for number in range(int(run["code"])):
            send({"type": "log", "text": "line %d" % number})
        send({"type": "done", "outcome": {"status": "ok", "value": 1}})
    elif mode == "flood":  # calls as fast as the pipe takes them; never reads a reply
        for number in range(int(run["code"])):
            send({"type": "call", "id": number, "op": "tool", "name": "tools.big"})
        time.sleep(60)
"""


def _fake_python(tmp_path: Path, mode: str) -> str:
    script = tmp_path / "fake_worker.py"
    script.write_text(_FAKE_WORKER)
    launcher = tmp_path / f"python-{mode}"
    # `python -c ...` (the executor's version probe) reaches the real interpreter.
    launcher.write_text(
        f'#!/bin/sh\n[ "$1" = -c ] && exec {sys.executable} "$@"\n'
        f'exec {sys.executable} {script} {mode} "$@"\n'
    )
    launcher.chmod(0o755)
    return str(launcher)


def echo(text: str) -> str:
    """Echo."""
    return text


@pytest.mark.parametrize(
    "mode",
    [
        "deep",
        "huge_int",
        "bad_utf8",
        "huge_header",
        "partial_then_exit",
        "not_an_object",
        "untyped",
    ],
)
async def test_malformed_frames_are_a_crashed_worker(tmp_path: Path, mode: str) -> None:
    executor = IsolatedExecutor(pool_size=1, python=_fake_python(tmp_path, mode))
    cm = CodeMode([Tool.from_function(echo)], executor=executor, limits=Limits(timeout=5.0))
    async with cm:
        started = time.monotonic()
        result = await cm.run("return 1")
        assert result.status == "error" and result.error is not None
        assert result.error.kind == "crashed", result.to_model()
        assert time.monotonic() - started < 3
        if mode != "partial_then_exit":  # the others the host refused and stopped
            assert "refused" in result.error.message, result.to_model()
            assert "out of memory" not in result.error.message


async def test_odd_calls_are_answered_only_from_the_runs_catalog(tmp_path: Path) -> None:
    executor = IsolatedExecutor(pool_size=1, python=_fake_python(tmp_path, "odd_calls"))
    cm = CodeMode([Tool.from_function(echo)], executor=executor, limits=Limits(timeout=5.0))
    async with cm:
        result = await cm.run("return 1")
    assert result.status == "ok", result.to_model()
    replies = result.value
    assert [r["id"] for r in replies] == [[n, {"odd": True}] for n in range(7)]
    assert [r["ok"] for r in replies] == [False] * 6 + [True]
    assert "no tool `tools.not_in_catalog`" in replies[0]["error"]
    assert "no tool `__class__`" in replies[1]["error"]
    assert replies[-1]["value"] == "ok"


async def test_a_flood_of_calls_never_read_does_not_fill_the_hosts_memory(
    tmp_path: Path,
) -> None:
    """While a worker reads none of the replies, the host stops reading its calls (the pipe
    fills, then the transport's buffer): it serves a bounded number, not all it is sent."""
    served: list[int] = []

    def big() -> str:
        """100 kB of text."""
        served.append(1)
        return "x" * 100_000

    executor = IsolatedExecutor(pool_size=1, python=_fake_python(tmp_path, "flood"))
    limits = Limits(timeout=1.0, max_tool_calls=1_000_000)
    cm = CodeMode([Tool.from_function(big)], executor=executor, limits=limits)
    async with cm:
        result = await cm.run("20000")  # the number of calls to send
    assert result.error is not None and result.error.kind == "timeout", result.to_model()
    assert len(served) < 100, len(served)  # ~ (pipe + high-water mark) / 100 kB, not 20000


async def test_a_flood_of_log_lines_reaches_the_observer_only_up_to_the_output_cap(
    tmp_path: Path,
) -> None:
    """An honest worker stops sending printed lines at `max_output_chars`; the host holds a
    compromised one to the same cap, so a flood cannot queue a delivery per line."""
    seen: list[str] = []

    def observe(event: ProgressEvent) -> None:
        if event.kind == "log":
            seen.append(event.text or "")

    executor = IsolatedExecutor(pool_size=1, python=_fake_python(tmp_path, "log_flood"))
    cm = CodeMode([], executor=executor, limits=Limits(max_output_chars=1_000))
    async with cm:
        result = await cm.run("100000", observer=observe)  # the number of lines to send
    assert result.status == "ok", result.to_model()
    assert 100 < len(seen) < 300, len(seen)  # ~2,000 characters' worth of "line N"


def _refused(result: ExecutionResult) -> str:
    error = result.error
    assert error is not None and error.kind == "crashed", result.to_model()
    assert "refused" in error.message, error.message
    return str(error.message)


async def test_a_frame_left_for_the_next_run_never_speaks_for_it(tmp_path: Path) -> None:
    """The reproduced attack: code plan A left on its worker wrote a `done` while plan B ran;
    B returned A's forged value and C got B's. Now the frame carries A's finished run id: the
    worker is killed, B fails as crashed, and C runs on a fresh worker with its own result.
    (Workers are reused here: single-use workers, the default, never see a second run.)"""
    executor = IsolatedExecutor(
        pool_size=1, python=_fake_python(tmp_path, "forge_for_next"), plans_per_worker=None
    )
    cm = CodeMode([], executor=executor, limits=Limits(timeout=5.0))
    async with cm:
        first = await cm.run("first")
        assert first.value == "first", first.to_model()
        assert "finished run" in _refused(await cm.run("second"))
        third = await cm.run("third")  # a new worker: its first run forges nothing
        assert (third.status, third.value) == ("ok", "third"), third.to_model()


async def test_a_frame_sent_between_runs_retires_the_worker(tmp_path: Path) -> None:
    executor = IsolatedExecutor(
        pool_size=1, python=_fake_python(tmp_path, "forge_between_runs"), plans_per_worker=None
    )
    cm = CodeMode([], executor=executor, limits=Limits(timeout=5.0))
    async with cm:
        assert (await cm.run("first")).value == "first"
        (worker,) = executor._idle
        await asyncio.sleep(0.3)  # the forged frame arrives while no plan runs
        assert worker.refused is not None and "no plan ran" in worker.refused
        second = await cm.run("second")  # on a new worker, not the one that spoke out of turn
        assert (second.status, second.value) == ("ok", "second"), second.to_model()
        assert executor._idle[0] is not worker


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("unknown_run", "unknown run"),
        ("unstamped", "unknown run"),
        ("stale_seq", "out of sequence"),
        ("skipped_seq", "out of sequence"),
        ("oversized", "exceeds the 4,194,304-byte limit"),
        ("nested_150", "nested deeper than 100 levels"),
    ],
)
async def test_frames_out_of_place_or_bounds_kill_the_worker(
    tmp_path: Path, mode: str, reason: str
) -> None:
    executor = IsolatedExecutor(pool_size=1, python=_fake_python(tmp_path, mode))
    cm = CodeMode([Tool.from_function(echo)], executor=executor, limits=Limits(timeout=5.0))
    async with cm:
        assert reason in _refused(await cm.run("return 1"))


async def test_a_frame_within_the_bounds_is_accepted(tmp_path: Path) -> None:
    """The bounds are not a refusal of large honest results: 4 MB of a million lists passes."""
    executor = IsolatedExecutor(pool_size=1, python=_fake_python(tmp_path, "amplifier"))
    cm = CodeMode([], executor=executor, limits=Limits(timeout=10.0))
    async with cm:
        result = await cm.run("return 1")
    assert result.status == "ok" and len(result.value) == 1_000_000, result.to_model()


async def test_a_worker_dying_of_an_exception_is_reported_with_it(tmp_path: Path) -> None:
    """A worker that closes its pipes and exits a moment later (an interpreter tearing down
    after a traceback) was SIGKILLed by the host first and reported as "most likely out of
    memory"; now the host waits for its exit status and quotes its last line."""
    executor = IsolatedExecutor(pool_size=1, python=_fake_python(tmp_path, "dies_slowly"))
    cm = CodeMode([], executor=executor, limits=Limits(timeout=5.0))
    async with cm:
        result = await cm.run("return 1")
    assert result.error is not None and result.error.kind == "crashed", result.to_model()
    assert "exited with status 1: RuntimeError: boom" in result.error.message
    assert "memory" not in result.error.message


_PATCHED_WORKER = r"""
import ctypes, sys
sys.argv = [sys.argv[0], sys.argv[-3], sys.argv[-2]]  # after: -I -c <bootstrap> R W PATHS
from codemode_core.sandbox import _worker
mode = "%s"

async def run_one(message, connection):
    if mode == "exception":
        raise RuntimeError("the worker's own bug")
    if mode == "segfault":
        ctypes.string_at(0)  # a null read: SIGSEGV (raise() itself is filtered)
    return await real_run_one(message, connection)

def send_done(connection, outcome):
    raise MemoryError()

real_run_one = _worker._run_one
_worker._run_one = run_one
if mode == "memory":
    _worker._send_done = send_done
_worker.main()
"""


def _patched_python(tmp_path: Path, mode: str) -> str:
    """The real worker, with one fault injected where no plan could put it."""
    script = tmp_path / f"patched_worker_{mode}.py"
    script.write_text(_PATCHED_WORKER % mode)
    launcher = tmp_path / f"python-patched-{mode}"
    # `python -c ...` (the executor's version probe) reaches the real interpreter.
    launcher.write_text(
        f'#!/bin/sh\n[ "$1" = -c ] && exec {sys.executable} "$@"\n'
        f'exec {sys.executable} {script} "$@"\n'
    )
    launcher.chmod(0o755)
    return str(launcher)


@pytest.mark.parametrize(
    ("mode", "kind", "says"),
    [
        ("exception", "crashed", "the worker process failed: RuntimeError: the worker's own bug"),
        ("memory", "budget", "ran out of memory (the cap is 400 MB) outside the plan's own code"),
        ("segfault", "crashed", "crashed (SIGSEGV"),
    ],
)
async def test_a_workers_death_is_reported_with_its_real_cause(
    tmp_path: Path, mode: str, kind: str, says: str
) -> None:
    executor = IsolatedExecutor(pool_size=1, python=_patched_python(tmp_path, mode))
    limits = Limits(timeout=5.0, max_memory_mb=400)
    cm = CodeMode([], executor=executor, limits=limits)
    async with cm:
        result = await cm.run("return 1")
    assert result.error is not None, result.to_model()
    assert (result.error.kind, says in result.error.message) == (kind, True), result.to_model()
    assert "most likely" not in result.error.message


async def test_a_worker_killed_from_outside_is_reported_as_such() -> None:
    """SIGKILL says nothing about memory here (RLIMIT_AS makes allocations fail instead)."""
    executor = IsolatedExecutor(pool_size=1)
    cm = CodeMode([], executor=executor, limits=Limits(timeout=20.0))
    async with cm:
        plan = asyncio.create_task(cm.run("import re\nre.match('(a+)+$', 'a' * 64 + 'b')"))
        busy: list[Any] = []
        for _ in range(200):  # until its worker runs it (a loaded machine may take a while)
            await asyncio.sleep(0.05)
            busy = [w for w in _all_workers(executor) if w._bridge is not None]
            if busy:
                break
        assert len(busy) == 1, busy
        await asyncio.sleep(0.3)
        os.kill(busy[0].process.pid, signal.SIGKILL)
        result = await plan
    assert result.error is not None and result.error.kind == "crashed", result.to_model()
    assert "killed (SIGKILL) from outside" in result.error.message
    assert "most likely" not in result.error.message


def _all_workers(executor: IsolatedExecutor) -> list[Any]:
    import gc

    from codemode_core.sandbox.isolated import _Worker

    return [o for o in gc.get_objects() if isinstance(o, _Worker) and o.healthy]
