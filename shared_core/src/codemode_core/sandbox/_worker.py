"""The isolated worker process: receives plans over a pipe, runs them, asks the host for tools.

Started by `IsolatedExecutor` with a private pipe pair (its only file descriptors besides
/dev/null and a stderr pipe), a scrubbed environment and an empty working directory. It imports
everything plans can reach *before* confining itself (rlimits, seccomp), because a confined
worker can no longer open files. It never sees a host object: tool calls go out as JSON
frames, results come back as JSON.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from codemode_core._jsonify import jsonify
from codemode_core.errors import ToolError
from codemode_core.limits import Limits
from codemode_core.result import ExecutionError
from codemode_core.sandbox._driver import run_plan
from codemode_core.sandbox._os_limits import apply_confinement, set_cpu_budget
from codemode_core.sandbox._plan_api import StopPlan
from codemode_core.sandbox._wire import (
    FrameChannel,
    WireError,
    encode,
    limits_from_wire,
    outcome_to_wire,
)
from codemode_core.sandbox.executor import ExecutionOutcome, ExecutionRequest, Manifest

__all__ = ["main"]

_WARM_UP = """
import collections, copy, datetime, functools, itertools, json, math, random, re, statistics
import string, time, typing, uuid
datetime.datetime.strptime("2024-01-02", "%Y-%m-%d")
statistics.mean([1, 2]); statistics.median([1.5]); random.random(); str(uuid.uuid4())
re.compile("a+").findall("aa"); json.loads(json.dumps({"a": [1]}))
f"{3.5:>8.2f}"; "{:x}".format(255); sorted(collections.Counter("ab").elements())
"""


_BLOCKING_WAIT_SECONDS = 1.0
"""How long a lone call waits for its reply outside the event loop before falling back to it
(slow tools then cost one loop turn more, nothing else)."""


class _Connection:
    """Routes incoming frames: replies to waiting calls, run requests to the run loop."""

    def __init__(self, read_fd: int, transport: asyncio.WriteTransport) -> None:
        self._transport = transport
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.runs: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.limits: Limits | None = None
        self.manifest: Manifest | None = None
        """The last limits and manifest the host sent (it sends them again only changed)."""
        self._channel = FrameChannel(read_fd, self._received, self._closed)
        self._loop = asyncio.get_running_loop()

    def send(self, message: dict[str, Any]) -> None:
        self._transport.write(encode(message))

    def _quiet_for(self) -> float:
        """How long the plan can wait on this call alone, outside the event loop: > 0 when no
        other call is outstanding, no task is ready, the request is fully written, and no
        timer (e.g. the plan's deadline) falls due sooner. Then the reply is read with a
        plain blocking read instead of a loop turn and a task wake-up."""
        loop = self._loop
        if (
            len(self._waiting) != 1
            or loop._ready  # type: ignore[attr-defined]  # the stdlib loop's run queue
            or self._transport.get_write_buffer_size()
        ):
            return 0.0
        timers = loop._scheduled  # type: ignore[attr-defined]  # a heap: earliest first
        until_timer = timers[0].when() - loop.time() if timers else _BLOCKING_WAIT_SECONDS
        return min(_BLOCKING_WAIT_SECONDS, until_timer)

    def _received(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "reply":
            future = self._waiting.pop(int(message["id"]), None)
            if future is not None and not future.done():
                future.set_result(message)
        elif kind in ("init", "run"):
            self.runs.put_nowait(message)

    def _closed(self, error: WireError) -> None:
        # The host went away, or sent a frame we cannot read (e.g. an int JSON parsers refuse):
        # calls waiting for a reply fail now, rather than hold the plan until its deadline.
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ToolError(f"the reply could not be read: {error}"))
        self.runs.put_nowait(None)  # stop

    async def request(self, payload: dict[str, Any]) -> Any:
        call_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        self.send({"type": "call", "id": call_id, **payload})
        quiet = self._quiet_for()
        if quiet > 0:
            self._channel.pump(future.done, quiet)
        try:
            reply = await future  # already done after a successful pump: no suspension
        finally:
            self._waiting.pop(call_id, None)
        if reply.get("ok"):
            return reply.get("value")
        message = str(reply.get("error") or "the host refused the call")
        stop = reply.get("stop")
        if stop in ("budget", "diverged", "paused"):
            raise StopPlan(message, stop)
        tool = reply.get("tool")
        raise ToolError(message, tool=tool if isinstance(tool, str) else None)


class _WorkerBridge:
    """The plan's `Bridge` inside the worker: every call is a round trip to the host."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    async def call_tool(
        self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any], line: int | None
    ) -> Any:
        return await self._connection.request(
            {
                "op": "tool",
                "name": name,
                "args": jsonify(list(args)),
                "kwargs": jsonify(dict(kwargs)),
                "line": line,
            }
        )

    async def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        result = await self._connection.request({"op": "search", "query": query, "limit": limit})
        return result if isinstance(result, list) else []

    async def describe(self, name: str) -> str:
        return str(await self._connection.request({"op": "describe", "name": name}))

    async def save_snippet(
        self, name: str, code: str, description: str, parameters: Mapping[str, Any]
    ) -> str:
        return str(
            await self._connection.request(
                {
                    "op": "save_snippet",
                    "name": name,
                    "code": code,
                    "description": description,
                    "parameters": jsonify(dict(parameters)),
                }
            )
        )

    def log(self, text: str) -> None:
        self._connection.send({"type": "log", "text": text})

    def clock(self, value: float) -> None:
        self._connection.send({"type": "clock", "value": value})


async def _run_one(message: dict[str, Any], connection: _Connection) -> ExecutionOutcome:
    try:
        # Sent when they differ from the previous plan's (the host keeps track).
        if "limits" in message:
            connection.limits = limits_from_wire(message["limits"])
        if "manifest" in message:
            connection.manifest = Manifest.from_wire(message["manifest"])
        limits, manifest = connection.limits, connection.manifest
        if limits is None or manifest is None:
            raise ValueError("the first run request must carry limits and a manifest")
        request = ExecutionRequest(
            code=str(message["code"]),
            manifest=manifest,
            limits=limits,
            execution_id=str(message.get("execution_id", "")),
            seed=int(message.get("seed", 0)),
            clock=tuple(float(t) for t in message.get("clock", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        return ExecutionOutcome(
            status="error",
            failure=ExecutionError(kind="internal", message=f"bad run request: {exc}"),
        )
    set_cpu_budget(limits.timeout + 1.0)
    return await run_plan(request, _WorkerBridge(connection))


async def _serve(read_fd: int, write_fd: int) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_write_pipe(
        asyncio.Protocol, os.fdopen(write_fd, "wb", buffering=0)
    )
    connection = _Connection(read_fd, transport)
    init = await connection.runs.get()
    if init is None:
        return
    report = apply_confinement(
        max_memory_mb=int(init.get("max_memory_mb", 512)), seccomp=bool(init.get("seccomp", True))
    )
    connection.send({"type": "ready", "report": report, "pid": os.getpid()})
    while True:
        message = await connection.runs.get()
        if message is None:
            break
        try:
            outcome = await _run_one(message, connection)
        except MemoryError:
            outcome = ExecutionOutcome(
                status="error",
                failure=ExecutionError(kind="budget", message="the plan ran out of memory"),
            )
        connection.send({"type": "done", "outcome": outcome_to_wire(outcome)})


def main() -> None:
    """Entry point: `python -c '...; main()' READ_FD WRITE_FD`."""
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    exec(compile(_WARM_UP, "<warm-up>", "exec"), {})  # import lazily-loaded modules now
    # Everything imported so far lives as long as the worker: out of the collector's sight,
    # its passes during plans only walk what plans allocate.
    gc.collect()
    gc.freeze()
    asyncio.run(_serve(read_fd, write_fd))
