"""The isolated worker process: receives plans over a pipe, runs them, asks the host for tools.

Started by `IsolatedExecutor` with a private pipe pair (its only file descriptors besides
/dev/null and a stderr pipe), a scrubbed environment and an empty working directory. It imports
everything plans can reach *before* confining itself (rlimits, seccomp), because a confined
worker can no longer open files. It never sees a host object: tool calls go out as JSON
frames, results come back as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import os
import select
import signal
import socket
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from codemode_core._argument_bounds import ArgumentBudget
from codemode_core._jsonify import jsonify
from codemode_core.errors import ToolError
from codemode_core.limits import Limits
from codemode_core.result import ExecutionError
from codemode_core.sandbox._driver import run_plan
from codemode_core.sandbox._os_limits import apply_confinement, set_cpu_budget
from codemode_core.sandbox._plan_api import StopPlan
from codemode_core.sandbox._report import exception_text
from codemode_core.sandbox._wire import (
    MAX_WORKER_FRAME_BYTES,
    MAX_WORKER_FRAME_DEPTH,
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
        self.own_fds: set[int] = set()
        """What the loop watched before any plan ran (its wake-up pipe, our pipe ends)."""
        self.run_id: str | None = None
        self._seq = 0
        """The run in progress and the number of its last frame: every frame is stamped."""
        self._channel = FrameChannel(read_fd, self._received, self._closed)
        self._loop = asyncio.get_running_loop()

    def begin(self, run_id: str | None) -> None:
        self.run_id, self._seq = run_id, 0

    def send(self, message: dict[str, Any]) -> None:
        """Stamp `message` with the run and its next sequence number, and write it; a message
        the host would refuse (too large, too deep) raises `WireError` and uses no number."""
        if self.run_id is not None:
            message = {**message, "run": self.run_id, "seq": self._seq + 1}
        frame = encode(message, max_bytes=MAX_WORKER_FRAME_BYTES, max_depth=MAX_WORKER_FRAME_DEPTH)
        if self.run_id is not None:
            self._seq += 1
        self._transport.write(frame)

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

    def fatal(self, exc: BaseException) -> None:
        """Tell the host why this worker is about to die (best effort: it may not get out)."""
        cause = "memory" if isinstance(exc, MemoryError) else "exception"
        with contextlib.suppress(Exception):
            self.send({"type": "fatal", "cause": cause, "message": exception_text(exc, 500)})

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
        try:
            self.send({"type": "call", "id": call_id, **payload})
        except WireError as exc:
            del self._waiting[call_id]
            what = payload.get("name") or payload.get("op")
            raise ValueError(f"the call to {what} cannot be sent to the host: {exc}") from None
        quiet = self._quiet_for()
        if quiet > 0:
            self._channel.pump(future.done, quiet)
        try:
            reply = await future  # already done after a successful pump: no suspension
        except asyncio.CancelledError:
            # The plan stopped waiting (`wait_for`, `asyncio.timeout`, its deadline): the host
            # cancels the call too, as in-process, and records it as interrupted.
            if self._waiting.pop(call_id, None) is not None:
                with contextlib.suppress(Exception):
                    self.send({"type": "cancel", "id": call_id})
            raise
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

    def __init__(self, connection: _Connection, limits: Limits) -> None:
        self._connection = connection
        self._arguments = ArgumentBudget(limits)

    async def call_tool(
        self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any], line: int | None
    ) -> Any:
        # Refused here, before anything is built or sent (the host checks again on arrival).
        args, kwargs = self._arguments.admit(name, args, kwargs)
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
    outcome = await run_plan(request, _WorkerBridge(connection, limits))
    if outcome.extras.get("leftovers") or _left_behind(
        asyncio.get_running_loop(), connection.own_fds
    ):
        outcome = replace(outcome, extras={**outcome.extras, "tainted": True})
    return outcome


def _left_behind(loop: asyncio.AbstractEventLoop, own_fds: set[int]) -> bool:
    """Whether anything of the plan may still run on this worker's loop after the plan's own
    leftovers were cancelled: other tasks, timers, callbacks, watched file descriptors or
    suspended async generators. Nothing of ours is scheduled between plans, so anything found
    is the plan's, and the host retires the worker rather than run the next plan beside it."""
    current = asyncio.current_task()
    if any(task is not current and not task.done() for task in asyncio.all_tasks(loop)):
        return True
    scheduled = getattr(loop, "_scheduled", ())
    ready = getattr(loop, "_ready", ())
    if any(not handle.cancelled() for handle in (*scheduled, *ready)):
        return True
    agens = getattr(loop, "_asyncgens", ())
    if any(agen.ag_frame is not None for agen in list(agens)):
        return True
    selector = getattr(loop, "_selector", None)
    return bool(selector is not None and set(selector.get_map()) - own_fds)


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
    selector = getattr(loop, "_selector", None)
    connection.own_fds = set(selector.get_map()) if selector is not None else set()
    try:
        while True:
            message = await connection.runs.get()
            if message is None:
                break
            run_id = message.get("run")
            connection.begin(run_id if isinstance(run_id, str) else None)
            try:
                outcome = await _run_one(message, connection)
            except MemoryError:
                outcome = ExecutionOutcome(
                    status="error",
                    failure=ExecutionError(kind="budget", message="the plan ran out of memory"),
                )
            _send_done(connection, outcome)
            connection.begin(None)
    except BaseException as exc:  # say why before dying: the host reports it as the cause
        if not isinstance(exc, asyncio.CancelledError):
            connection.fatal(exc)
        raise


def _send_done(connection: _Connection, outcome: ExecutionOutcome) -> None:
    done: dict[str, Any] = {"type": "done", "outcome": outcome_to_wire(outcome)}
    if outcome.extras.get("tainted"):
        done["tainted"] = True
    try:
        connection.send(done)
    except WireError as exc:  # the value is over the frame limits: fail, keep the logs
        failure = ExecutionError(
            kind="runtime",
            message=f"the plan's result is too large to return ({exc}); return less, "
            "e.g. a summary or the first items",
        )
        logs = outcome.logs
        connection.send(
            {
                "type": "done",
                "outcome": outcome_to_wire(
                    ExecutionOutcome(status="error", failure=failure, logs=logs)
                ),
                "tainted": bool(outcome.extras.get("tainted")),
            }
        )


def _prepare() -> None:
    exec(compile(_WARM_UP, "<warm-up>", "exec"), {})  # import lazily-loaded modules now
    with contextlib.suppress(ImportError, OSError):  # the syscall filter's library (~15 ms)
        import pyseccomp  # noqa: F401
    # Everything imported so far lives as long as the worker: out of the collector's sight,
    # its passes during plans only walk what plans allocate.
    gc.collect()
    gc.freeze()


def main() -> None:
    """Entry point: `python -c '...; main()' READ_FD WRITE_FD`."""
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    _prepare()
    asyncio.run(_serve(read_fd, write_fd))


def zygote_main() -> None:
    """Entry point of the fork server: `python -c '...; zygote_main()' SOCKET_FD`.

    It imports and warms up what a worker needs once, then forks a worker per request: each
    child starts from this warm state in milliseconds (copy-on-write), runs one or more plans
    and exits. The zygote itself never runs plan code and never confines itself (a confined
    process could not fork); it only reads requests from its host over a private socket,
    each carrying the child's three pipe ends, and reports every child's exit status (the
    host is not the children's parent, so it cannot wait for them itself).
    """
    control = socket.socket(fileno=int(sys.argv[1]))
    _prepare()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    control.send(json.dumps({"type": "ready", "pid": os.getpid()}).encode())
    while True:
        readable, _, _ = select.select([control.fileno(), wake_r], [], [])
        if wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 4096)
            _report_exits(control)
        if control.fileno() in readable:
            message, fds, _, _ = socket.recv_fds(control, 65536, 3)
            if not message:  # the host is gone; its workers see their pipes close and exit
                return
            request = json.loads(message)
            pid = os.fork()
            if pid == 0:
                _forked_child(request, fds, control, (wake_r, wake_w))
            for fd in fds:
                os.close(fd)
            control.send(json.dumps({"type": "forked", "id": request["id"], "pid": pid}).encode())
            _report_exits(control)


def _report_exits(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)
        control.send(json.dumps({"type": "exited", "pid": pid, "code": code}).encode())


def _forked_child(
    request: dict[str, Any], fds: list[int], control: socket.socket, zygote_fds: tuple[int, ...]
) -> None:
    """In a fresh child of the zygote: drop the zygote's ends, take the host's pipes, serve."""
    code = 0
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        control.close()
        for fd in zygote_fds:
            os.close(fd)
        os.setsid()  # its own process group: the host kills it (and anything it made) as one
        read_fd, write_fd, stderr_fd = fds
        os.dup2(stderr_fd, 2)
        os.close(stderr_fd)
        os.chdir(str(request["workdir"]))
        asyncio.run(_serve(read_fd, write_fd))
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(code)
