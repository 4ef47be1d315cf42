"""Red-team family "host-side amplification": a few bytes of plan code must not make the host
build or keep much more. Tool arguments and logs are bounded on both executors, and the host
checks arguments itself, so a compromised worker is held to the same bound."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from codemode_core import CodeMode, Limits, Tool
from codemode_core.sandbox import IsolatedExecutor


class _Received:
    def __init__(self) -> None:
        self.sizes: list[int] = []


def _tools(received: _Received) -> list[Tool]:
    def store(data: list) -> int:  # type: ignore[type-arg]
        """Keep some data; returns how many items arrived."""
        received.sizes.append(len(data))
        return len(data)

    return [Tool.from_function(store)]


async def test_a_huge_tool_argument_is_refused_before_the_host_builds_it(
    make_cm: Callable[..., CodeMode],
) -> None:
    received = _Received()
    cm = make_cm(_tools(received))
    started = time.perf_counter()
    result = await cm.run(
        "first = await tools.store(data=[1, 2])\n"
        "await tools.store(data=[[]] * 2_000_000)\n"
        "return first"
    )
    assert time.perf_counter() - started < 5.0
    assert result.error is not None and result.error.kind == "tool"
    assert result.error.tool == "tools.store" and result.error.line == 2
    assert "Limits.max_argument_chars" in result.error.message
    assert "not called" in result.error.message
    assert received.sizes == [2]  # the refused call was not made...
    assert [c.arguments for c in result.tool_calls] == [{"data": [1, 2]}]  # ...nor recorded


async def test_deep_or_cyclic_arguments_are_refused(make_cm: Callable[..., CodeMode]) -> None:
    received = _Received()
    cm = make_cm(_tools(received))
    deep = await cm.run("a = []\nfor i in range(1000):\n    a = [a]\nreturn await tools.store(a)")
    assert deep.error is not None and deep.error.line == 4
    assert "nested deeper than" in deep.error.message
    cyclic = await cm.run("a = []\na.append(a)\nreturn await tools.store(data=a)")
    assert cyclic.error is not None and "nested deeper than" in cyclic.error.message
    assert received.sizes == [] and deep.tool_calls == () and cyclic.tool_calls == ()


async def test_one_plans_calls_together_are_bounded(make_cm: Callable[..., CodeMode]) -> None:
    received = _Received()
    cm = make_cm(_tools(received), limits=Limits(max_argument_chars=1_000))
    result = await cm.run(
        "sent = 0\nwhile True:\n    sent += await tools.store(data=['x' * 90] * 9)\n"
    )
    assert result.error is not None and result.error.kind == "tool"
    assert "together" in result.error.message and result.error.line == 3
    assert 9 <= len(received.sizes) <= 11  # ten times max_argument_chars, then no more
    assert len(result.tool_calls) == len(received.sizes)


async def test_generators_as_arguments_are_drained_only_up_to_the_limit(
    make_cm: Callable[..., CodeMode],
) -> None:
    received = _Received()
    cm = make_cm(_tools(received), limits=Limits(max_argument_chars=10_000))
    small = await cm.run("return await tools.store(data=(i * 2 for i in range(10)))")
    assert small.value == 10 and small.tool_calls[0].arguments == {"data": list(range(0, 20, 2))}
    started = time.perf_counter()
    endless = await cm.run("import itertools\nreturn await tools.store(data=itertools.count())")
    assert time.perf_counter() - started < 5.0
    assert endless.error is not None and "max_argument_chars" in endless.error.message
    assert received.sizes == [10]


async def test_logs_stay_within_max_output_chars(make_cm: Callable[..., CodeMode]) -> None:
    cm = make_cm([], limits=Limits(max_output_chars=1_000, timeout=5.0))
    for code in (
        "print('x' * 5_000_000)",
        "for i in range(5000):\n    print(i, 'y' * 50)",
        "print('a' * 600, 'b' * 600, sep='-' * 600)",
        "print('\\n' * 100_000)",
    ):
        result = await cm.run(code)
        assert result.ok, result.error
        kept = sum(len(line) + 1 for line in result.logs)
        assert kept <= 1_000 + 60, (code, kept)  # + the truncation note
    # Once the logs are full, printing builds no more text: big values cost nothing.
    started = time.perf_counter()
    late = await cm.run(
        "big = list(range(1_000_000))\nprint('x' * 2_000)\nfor i in range(300):\n    print(big)"
    )
    assert late.ok, late.error
    assert time.perf_counter() - started < 3.0, "every late print was still formatted"


_FAKE_WORKER = r"""
import json, os, struct, sys
read_fd, write_fd = int(sys.argv[4]), int(sys.argv[5])  # after: -I -c <bootstrap>

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

def send(message):
    body = json.dumps(message).encode()
    os.write(write_fd, struct.pack(">I", len(body)) + body)

read_frame()  # init
send({"type": "ready", "report": {}})
while True:
    run = read_frame().get("run")  # frames of a run carry its id and the next number
    # A worker that skips its own check: 400,000 empty lists (1.2 MB of JSON).
    send({"type": "call", "id": 1, "op": "tool", "name": "tools.store", "run": run,
          "seq": 1, "args": [], "kwargs": {"data": [[]] * 400_000}, "line": 7})
    reply = read_frame()
    send({"type": "done", "outcome": {"status": "ok", "value": reply}, "run": run, "seq": 2})
"""


async def test_the_host_checks_arguments_a_compromised_worker_sends(tmp_path: Path) -> None:
    script = tmp_path / "fake_worker.py"
    script.write_text(_FAKE_WORKER)
    launcher = tmp_path / "python-fake"
    # `python -c ...` (the executor's version probe) reaches the real interpreter.
    launcher.write_text(
        f'#!/bin/sh\n[ "$1" = -c ] && exec {sys.executable} "$@"\n'
        f'exec {sys.executable} {script} "$@"\n'
    )
    launcher.chmod(0o755)
    received = _Received()
    cm = CodeMode(_tools(received), executor=IsolatedExecutor(pool_size=1, python=str(launcher)))
    try:
        result = await cm.run("anything")
    finally:
        await cm.aclose()
    reply = result.value
    assert reply is not None, result
    assert reply["ok"] is False and reply["tool"] == "tools.store"
    assert "Limits.max_argument_chars" in reply["error"]
    assert received.sizes == [] and result.tool_calls == ()
