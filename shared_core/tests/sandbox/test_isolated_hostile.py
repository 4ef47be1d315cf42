"""The host against a compromised worker: a fake worker program, passed as the executor's
`python`, ignores the bootstrap and speaks hostile frames on the pipes it is given."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from codemode_core import CodeMode, Limits, ProgressEvent, Tool
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

def send(message):
    raw(json.dumps(message).encode())

read_frame()  # init
send({"type": "ready", "report": {}})
while True:
    run = read_frame()
    if mode == "deep":
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
