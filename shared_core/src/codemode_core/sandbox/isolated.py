"""The isolated executor: plans run in a pool of pre-started, confined worker processes.

Each worker applies the same RestrictedPython policy and budgets as the in-process executor,
plus what only a separate process can have: a memory cap, a CPU-time cap, a syscall filter (no
processes, sockets or file opening), an empty working directory and a scrubbed environment.
A worker that overruns its time, runs out of memory or dies is killed and replaced; the caller
still gets an `ExecutionOutcome` and the host-side record of every tool call made before.
Tool calls and results cross as JSON frames (`_wire.py`); nothing from a worker is unpickled.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from typing import IO, Any, Literal, Protocol, TypeVar

from codemode_core.errors import ConfigurationError, ToolError
from codemode_core.limits import Limits
from codemode_core.result import ExecutionError
from codemode_core.sandbox._eager import start_eagerly
from codemode_core.sandbox._interpreter import check_interpreter
from codemode_core.sandbox._plan_api import StopPlan
from codemode_core.sandbox._wire import (
    MAX_WORKER_FRAME_BYTES,
    MAX_WORKER_FRAME_DEPTH,
    FrameChannel,
    WireError,
    encode,
    limits_to_wire,
    outcome_from_wire,
)
from codemode_core.sandbox._zygote import Zygote, ZygoteFailed
from codemode_core.sandbox.executor import (
    Bridge,
    ExecutionOutcome,
    ExecutionRequest,
    Manifest,
)

__all__ = ["DEFAULT_PLANS_PER_WORKER", "IsolatedExecutor"]

log = logging.getLogger("codemode.sandbox")

DEFAULT_PLANS_PER_WORKER: int | None = 1
"""Single-use workers by default: see docs/security.md, "Isolation between plans"."""

_START_TIMEOUT_SECONDS = 30.0
_KILL_GRACE_SECONDS = 2.0
_STDERR_TAIL_BYTES = 4096


class _WorkerDied(Exception):
    pass


class _Worker:
    """One worker process and the host's end of its pipes."""

    def __init__(
        self,
        process: _Process,
        read_fd: int,
        transport: asyncio.WriteTransport,
        workdir: str,
    ) -> None:
        self.process = process
        self.transport = transport
        self.workdir = workdir
        self.report: dict[str, Any] = {}
        self.started = False
        self.healthy = True
        self.stderr_tail = deque[bytes](maxlen=64)
        self._stderr = _StderrTail(process, self.stderr_tail)
        self._inbox: asyncio.Future[dict[str, Any]] | None = None
        self._bridge: Bridge | None = None
        self._calls: set[asyncio.Future[None]] = set()
        self._calls_by_id: dict[int, asyncio.Future[None]] = {}
        """The running plan's calls still in flight, by the id the worker gave each (a
        `cancel` frame names one: the plan stopped waiting for it)."""
        self._context = contextvars.copy_context()
        """The running plan's context: its tool calls run in copies of it, as in-process."""
        self._log_room = 0
        """Characters of log lines the running plan may still send (`max_output_chars`)."""
        self._manifest_sent: Manifest | None = None
        self._limits_sent: Limits | None = None
        self._run_id: str | None = None
        self._seq = 0
        """The run in progress (a token the host chose) and the number of its last frame."""
        self._finished_runs = deque[str](maxlen=16)
        self.plans = 0
        """Plans this worker ran (for recycling)."""
        self.tainted = False
        """The last plan left something behind on the worker's loop: retire the worker."""
        self.fatal: tuple[str, str] | None = None
        """What the worker said just before dying: (cause, message)."""
        self.refused: str | None = None
        """Why the host stopped listening to this worker (a protocol violation), if it did."""
        self.channel = FrameChannel(
            read_fd,
            self._received,
            self._closed,
            max_bytes=MAX_WORKER_FRAME_BYTES,
            max_depth=MAX_WORKER_FRAME_DEPTH,
        )
        protocol = transport.get_protocol()
        if isinstance(protocol, _FlowControl):
            protocol.channel = self.channel

    def _admit(self, message: dict[str, Any]) -> bool:
        """Whether a frame belongs here: between runs only the start-up `ready` (or a dying
        word); during a run, only the run's own frames, each with the next number. Anything
        else is code that outlived its plan, or a compromised worker: stop it at once."""
        kind = message["type"]
        if kind == "fatal" and message.get("run") in (None, self._run_id):
            return True
        if self._run_id is None:
            if kind == "ready" and not self.started:
                return True
            run = message.get("run")
            finished = run in self._finished_runs
            where = "a finished run" if finished else "no run"
            return self._refuse(f"a {kind!r} frame for {where} arrived while no plan ran")
        run, seq = message.get("run"), message.get("seq")
        if run != self._run_id:
            where = "a finished run" if run in self._finished_runs else "an unknown run"
            return self._refuse(f"a {kind!r} frame for {where} arrived during another run")
        if seq != self._seq + 1:
            return self._refuse(
                f"a {kind!r} frame arrived out of sequence (number {seq!r}, expected "
                f"{self._seq + 1})"
            )
        self._seq += 1
        return True

    def _refuse(self, reason: str) -> bool:
        """Stop reading this worker and kill it now: no frame of it is trusted any more."""
        if self.refused is None:
            self.refused = reason
            log.warning("codemode: worker %s stopped: %s", self.process.pid, reason)
        self.healthy = False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.channel.close()
        if self._inbox is not None and not self._inbox.done():
            self._inbox.set_exception(WireError(f"refused: {reason}"))
        return False

    def _received(self, message: dict[str, Any]) -> None:
        """Tool calls start at once (concurrently); anything else answers the waiting step."""
        if not self._admit(message):
            return
        if message["type"] == "fatal":
            cause, text = message.get("cause"), message.get("message")
            self.fatal = (str(cause), str(text)[:500])
            self.healthy = False
            return
        if message["type"] == "done":
            self._finished_runs.append(str(self._run_id))
            self._run_id = None  # from now on, any frame of this run is refused
            self.tainted = bool(message.get("tainted"))
        if message["type"] == "call" and self._bridge is not None:
            context = self._context.copy()  # as a task of the run would: its own copy
            task = start_eagerly(self._serve_call(message, self._bridge), context, self._calls)
            call_id = message.get("id")
            if not task.done() and type(call_id) is int:
                self._calls_by_id[call_id] = task
                task.add_done_callback(functools.partial(self._call_ended, call_id))
        elif message["type"] == "cancel":
            # The plan stopped waiting for a call (`wait_for`, `asyncio.timeout`, its own
            # deadline): cancel the tool here too, as in-process, so it is recorded as
            # interrupted when it is, not left running unseen.
            call_id = message.get("id")
            cancelled = self._calls_by_id.get(call_id) if type(call_id) is int else None
            if cancelled is not None:
                cancelled.cancel()
        elif message["type"] == "log":
            text = message.get("text")
            if self._bridge is not None and isinstance(text, str) and self._log_room > 0:
                # An honest worker stops at max_output_chars; a compromised one is held to it
                # here, or a flood of lines would queue a delivery each for the observer.
                self._log_room -= len(text) + 1
                self._context.run(self._bridge.log, text)
        elif message["type"] == "clock":
            value = message.get("value")
            if self._bridge is not None and isinstance(value, (int, float)):
                self._bridge.clock(float(value))
        elif self._inbox is not None and not self._inbox.done():
            self._inbox.set_result(message)

    def _call_ended(self, call_id: int, _: object) -> None:
        self._calls_by_id.pop(call_id, None)

    def _closed(self, error: WireError) -> None:
        if not str(error).startswith(_PIPE_GONE):  # malformed, too large, too deep
            self._refuse(str(error))
            return
        self.healthy = False
        if self._inbox is not None and not self._inbox.done():
            self._inbox.set_exception(error)

    async def _next(self, timeout: float | None = None) -> dict[str, Any]:
        if not self.healthy:
            raise WireError("the worker is gone")
        self._inbox = asyncio.get_running_loop().create_future()
        if timeout is None:
            return await self._inbox
        return await asyncio.wait_for(self._inbox, timeout)

    @classmethod
    async def start(
        cls, *, max_memory_mb: int, seccomp: bool, python: str, zygote: Zygote | None = None
    ) -> _Worker:
        workdir = tempfile.mkdtemp(prefix="codemode-worker-")
        process: _Process
        if zygote is not None:
            try:
                process, to_host_r, to_worker_w = await zygote.fork(workdir)
            except BaseException:
                shutil.rmtree(workdir, ignore_errors=True)
                raise
        else:
            process, to_host_r, to_worker_w = _exec_worker(python, workdir)
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.connect_write_pipe(
                _FlowControl, os.fdopen(to_worker_w, "wb", buffering=0)
            )
        except BaseException:  # e.g. cancelled: the process and our ends must not outlive it
            os.close(to_host_r)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=_KILL_GRACE_SECONDS)
            if process.stderr is not None:
                process.stderr.close()
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        worker = cls(process, to_host_r, transport, workdir)
        worker.send({"type": "init", "max_memory_mb": max_memory_mb, "seccomp": seccomp})
        try:
            ready = await worker._next(_START_TIMEOUT_SECONDS)
        except (WireError, TimeoutError) as exc:
            await worker.kill()
            raise _WorkerDied(f"the worker did not start: {exc}. {worker.stderr()}") from None
        except BaseException:  # cancelled while it started: nobody else would stop it
            worker.kill_now()
            raise
        report = ready.get("report")
        worker.report = report if isinstance(report, dict) else {}
        worker.started = True
        return worker

    def stderr(self) -> str:
        tail = b"".join(self.stderr_tail)[-_STDERR_TAIL_BYTES:]
        return tail.decode(errors="replace").strip()

    def send(self, message: dict[str, Any]) -> None:
        if not self.transport.is_closing():
            self.transport.write(encode(message))

    def exited(self) -> bool:
        return self.process.poll() is not None

    async def kill(self) -> None:
        """Kill the worker's process group and reap it; never leaves a zombie behind, even
        when cancelled (the last wait is blocking, and short: the process was SIGKILLed)."""
        self._signal_and_release()
        try:
            deadline = time.monotonic() + _KILL_GRACE_SECONDS
            while self.process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
        finally:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=_KILL_GRACE_SECONDS)

    def kill_now(self) -> None:
        """`kill()` without an event loop (the loop is closed or in another thread)."""
        self._signal_and_release()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=_KILL_GRACE_SECONDS)

    def _signal_and_release(self) -> None:
        self.healthy = False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        if _loop_closed(self.transport):
            _close_without_loop(self.transport)
        else:
            self.transport.close()
        self.channel.close()
        self._stderr.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    async def run(self, request: ExecutionRequest, bridge: Bridge) -> ExecutionOutcome:
        run_id = secrets.token_hex(8)  # unguessable: a plan cannot stamp a later run's frames
        message: dict[str, Any] = {
            "type": "run",
            "run": run_id,
            "code": request.code,
            "execution_id": request.execution_id,
            "seed": request.seed,
            "clock": list(request.clock),
        }
        # The worker keeps the last manifest and limits it was sent: an agent's plans share
        # both, and a large catalog's manifest would otherwise cross the pipe every plan.
        if request.manifest is not self._manifest_sent:
            message["manifest"] = request.manifest.to_wire()
        if request.limits != self._limits_sent:
            message["limits"] = limits_to_wire(request.limits)
        self.send(message)  # may raise (a plan over the frame size limit): nothing was sent
        self._run_id, self._seq = run_id, 0
        self._manifest_sent, self._limits_sent = request.manifest, request.limits
        self._bridge = bridge
        self._log_room = request.limits.max_output_chars + 1_000  # + the truncation note
        self._context = contextvars.copy_context()
        self.plans += 1
        try:
            message = await self._next()
            if message["type"] != "done":
                raise WireError(f"unexpected message type {message['type']!r}")
            outcome = outcome_from_wire(message.get("outcome"))
            if outcome.failure is not None and outcome.failure.kind == "internal":
                self._manifest_sent = self._limits_sent = None  # refused: send both again
            return outcome
        except WireError as exc:
            self.healthy = False
            raise _WorkerDied(str(exc)) from None
        finally:
            if self._run_id is not None:  # ended without its `done`: no later frame is its
                self._finished_runs.append(self._run_id)
                self._run_id = None
            self._bridge = None
            await self._end_calls()

    async def _end_calls(self) -> None:
        """Cancel the calls still in flight and wait (briefly) until they have ended: each
        call's record is written as it ends (`RecordCalls`), and a call that ran must be in
        the result built next, as it is in-process. A tool that ignores its cancellation for
        longer is still in the result, as "still running when the plan ended"."""
        calls = [task for task in self._calls if not task.done()]
        self._calls_by_id.clear()
        for task in calls:
            task.cancel()
        if calls:
            await asyncio.wait(calls, timeout=_KILL_GRACE_SECONDS)

    async def _serve_call(self, message: dict[str, Any], bridge: Bridge) -> None:
        call_id = message.get("id")
        reply: dict[str, Any] = {"type": "reply", "id": call_id}
        try:
            op = message.get("op")
            if op == "tool":
                args = message.get("args")
                kwargs = message.get("kwargs")
                line = message.get("line")
                value = await bridge.call_tool(
                    str(message.get("name")),
                    args if isinstance(args, list) else [],
                    kwargs if isinstance(kwargs, dict) else {},
                    line if isinstance(line, int) else None,
                )
            elif op == "search":
                value = await bridge.search(
                    str(message.get("query")), int(message.get("limit", 10))
                )
            elif op == "describe":
                value = await bridge.describe(str(message.get("name")))
            elif op == "save_snippet":
                parameters = message.get("parameters")
                value = await bridge.save_snippet(
                    str(message.get("name")),
                    str(message.get("code")),
                    str(message.get("description") or ""),
                    parameters if isinstance(parameters, dict) else {},
                )
            else:
                raise ToolError(f"unknown operation {op!r}")
            reply.update(ok=True, value=value)
        except StopPlan as exc:
            reply.update(ok=False, error=str(exc), stop=exc.kind)
        except ToolError as exc:
            reply.update(ok=False, error=exc.message, tool=exc.tool)
        except (TypeError, ValueError) as exc:
            reply.update(ok=False, error=f"malformed call: {exc}")
        except Exception as exc:  # a bug of ours: answer, or the plan would wait until timeout
            log.exception("codemode: serving a worker's call failed")
            reply.update(ok=False, error=f"codemode internal error ({type(exc).__name__})")
        try:
            self.send(reply)
        except (WireError, ValueError) as exc:  # too large for a frame, or not encodable at
            # all: answer anyway, or the plan would wait until its timeout
            self.send(
                {
                    "type": "reply",
                    "id": call_id,
                    "ok": False,
                    "error": f"the tool result cannot be returned to the plan: {exc}",
                }
            )


def _exec_worker(python: str, workdir: str) -> tuple[_Process, int, int]:
    """Start a worker with fork+exec: a fresh interpreter that imports everything itself."""
    to_worker_r, to_worker_w = os.pipe()
    to_host_r, to_host_w = os.pipe()
    bootstrap = (
        "import sys; sys.path[:0] = __import__('json').loads(sys.argv[3]); "
        "from codemode_core.sandbox._worker import main; main()"
    )
    try:
        # A plain Popen, not asyncio's subprocess API: the host reaps its own workers
        # (no child-watcher thread that outlives a closed loop), and start-up is a
        # fork+exec either way.
        process = subprocess.Popen(
            [
                python,
                "-I",
                "-c",
                bootstrap,
                str(to_worker_r),
                str(to_host_w),
                json.dumps([p for p in sys.path if p]),
            ],
            pass_fds=(to_worker_r, to_host_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={"PATH": os.defpath, "LANG": "C.UTF-8"},
            cwd=workdir,
            start_new_session=True,
        )
    except BaseException:
        for fd in (to_worker_w, to_host_r):
            os.close(fd)
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    finally:
        os.close(to_worker_r)
        os.close(to_host_w)
    return process, to_host_r, to_worker_w


class _Process(Protocol):
    """What the pool needs of a worker's process: a `subprocess.Popen`, or a `ForkedProcess`
    (a child of the zygote, whose exit status the zygote reports)."""

    pid: int
    stderr: IO[bytes] | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


class _FlowControl(asyncio.Protocol):
    """The host's end of the pipe to a worker: while the worker does not read what the host
    sends it (the pipe and the transport's buffer are full), the host reads no more of its
    frames, so a worker flooding calls cannot make the host buffer replies without bound."""

    channel: FrameChannel | None = None

    def pause_writing(self) -> None:
        if self.channel is not None:
            self.channel.pause()

    def resume_writing(self) -> None:
        if self.channel is not None:
            self.channel.resume()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.channel is not None:  # read on: the worker's end of frames says why
            self.channel.resume()


class IsolatedExecutor:
    """Runs each plan in a confined worker process taken from a warm pool.

    Args:
        pool_size: Workers kept warm (and the most plans run at once).
        max_memory_mb: Address-space cap per worker; default: the plan's `Limits.max_memory_mb`.
        seccomp: Install the syscall filter where available (Linux with libseccomp).
        python: Interpreter for workers (defaults to the host's).
        strict: Refuse to start (`ConfigurationError`) when the workers' Python version is not
            one the sandbox was verified on, instead of warning once.
        plans_per_worker: Plans a worker runs before it is replaced (in the background).
            `1` makes every worker single-use: nothing a plan does can reach the next plan.
            `None` reuses workers until they fail. Whatever the setting, a worker whose plan
            left anything behind on its loop is replaced. See docs/security.md, "Isolation
            between plans", for what each costs.
        spawn: How workers start. `"fork"`: forked from a warm fork server (a zygote that
            imported everything once; milliseconds per worker). `"exec"`: a fresh interpreter
            per worker (a Python start-up and every import each time). Default: `"fork"` for
            the host's own interpreter on Unix, else `"exec"`. A fork server that fails to
            start falls back to `"exec"`, with a warning.
    """

    def __init__(
        self,
        *,
        pool_size: int = 2,
        max_memory_mb: int | None = None,
        seccomp: bool = True,
        python: str | None = None,
        strict: bool = False,
        plans_per_worker: int | None = DEFAULT_PLANS_PER_WORKER,
        spawn: Literal["fork", "exec"] | None = None,
    ) -> None:
        if plans_per_worker is not None and plans_per_worker < 1:
            raise ConfigurationError(
                f"IsolatedExecutor(plans_per_worker=...) must be at least 1 or None, got "
                f"{plans_per_worker!r}."
            )
        if spawn not in (None, "fork", "exec"):
            raise ConfigurationError(
                f'IsolatedExecutor(spawn=...) must be "fork" or "exec", got {spawn!r}.'
            )
        if spawn is None:
            can_fork = python in (None, sys.executable) and hasattr(socket, "send_fds")
            spawn = "fork" if can_fork else "exec"
        self.spawn = spawn
        self.plans_per_worker = plans_per_worker
        self._servers: list[Zygote] = []
        """The fork server, when one runs (a list: the reaper shares it, as the idle list)."""
        self._zygote_starting: asyncio.Future[Zygote | None] | None = None
        self.pool_size = max(1, pool_size)
        self._memory_mb = 512
        self._spawning: set[asyncio.Task[None]] = set()
        self._max_memory_mb = max_memory_mb
        self._seccomp = seccomp
        self._python = python or sys.executable
        self._idle: list[_Worker] = []
        self._count = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reaper: asyncio.Task[None] | None = None
        self.last_report: dict[str, Any] = {}
        check_interpreter("IsolatedExecutor", strict=strict, python=python)

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # Pipes belong to one event loop: a new loop needs new workers.
            if self._loop is not None and self._loop.is_running():
                old = self._loop
                asyncio.run_coroutine_threadsafe(self.aclose(), old)
            self._abandon()
            self._loop = loop
            self._waiters.clear()
            self._reaper = _keep(
                loop.create_task(_stop_with_loop(self._idle, self._servers), name="codemode-reaper")
            )
        return loop

    def _close_zygote(self) -> None:
        for server in _take_all(self._servers):
            server.close()

    async def _acquire(self, memory_mb: int) -> _Worker:
        """An idle worker, a new one while the pool has room, or the next one released.

        The event loop runs one callback at a time, so checking and taking from the idle
        list without a lock is safe; only a caller that must wait gets a future."""
        loop = self._bind_loop()
        self._memory_mb = memory_mb
        if self.plans_per_worker is not None and not self._idle:
            self._fill()  # workers are used up: keep successors warming
        while True:
            while not self._idle and self._count >= self.pool_size:
                waiter = loop.create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                except asyncio.CancelledError:
                    if waiter.done() and not waiter.cancelled():
                        self._wake_one()  # woken and cancelled at once: pass the turn on
                    raise
            if not self._idle:
                break
            worker = self._idle.pop()
            if worker.healthy and not worker.exited():
                return worker
            await self._release(worker)  # it died while idle (killed, out of memory): replace it
        self._count += 1
        try:
            worker = await self._start_worker()
        except BaseException:
            self._count -= 1
            self._wake_one()
            raise
        self.last_report = worker.report
        return worker

    async def _release(self, worker: _Worker) -> None:
        self._bind_loop()
        if worker.healthy and not worker.exited():
            if not worker.tainted and (
                self.plans_per_worker is None or worker.plans < self.plans_per_worker
            ):
                self._idle.append(worker)
                self._wake_one()
                return
            worker.healthy = False  # retired: single-use, recycled, or its plan left traces
            self._count -= 1
            self._fill()
            _keep(asyncio.get_running_loop().create_task(worker.kill()))  # off the plan's path
            return
        try:
            await worker.kill()  # may be cancelled again (anyio re-cancels): still count it
        finally:
            self._count -= 1
            self._wake_one()

    def _fill(self) -> None:
        """Start workers in the background until the pool is full: a retired worker's
        successor warms up while the plan's result goes back to its caller, and the next
        plan finds it ready."""
        while self._count < self.pool_size and self._loop is not None:
            self._count += 1
            task = self._loop.create_task(self._spawn(), name="codemode-worker-spawn")
            self._spawning.add(task)
            task.add_done_callback(self._spawning.discard)

    async def _start_worker(self) -> _Worker:
        for attempt in range(2):
            zygote = await self._fork_server()
            try:
                return await _Worker.start(
                    max_memory_mb=self._max_memory_mb or self._memory_mb,
                    seccomp=self._seccomp,
                    python=self._python,
                    zygote=zygote,
                )
            except ZygoteFailed as exc:  # it died (killed, out of memory): start another
                log.warning("codemode: the fork server failed (%s); restarting it", exc)
                if zygote is not None:
                    zygote.close()
                if attempt:
                    self.spawn = "exec"
        return await _Worker.start(
            max_memory_mb=self._max_memory_mb or self._memory_mb,
            seccomp=self._seccomp,
            python=self._python,
        )

    async def _fork_server(self) -> Zygote | None:
        """The running fork server (started once, by whichever start needs it first), or
        None to start workers with exec."""
        if self.spawn != "fork":
            return None
        for server in _take_all(self._servers):
            if not server.closed:
                self._servers.append(server)
                return server
        if self._zygote_starting is None or self._zygote_starting.done():
            self._zygote_starting = asyncio.get_running_loop().create_future()
            starting = self._zygote_starting
            try:
                server = await Zygote.start(self._python)
            except ZygoteFailed as exc:
                log.warning("codemode: no fork server (%s); workers start with exec", exc)
                self.spawn = "exec"
                starting.set_result(None)
                return None
            except BaseException:
                starting.set_result(None)
                raise
            self._servers.append(server)
            starting.set_result(server)
            return server
        return await asyncio.shield(self._zygote_starting)

    async def _spawn(self) -> None:
        try:
            worker = await self._start_worker()
        except BaseException as exc:
            self._count -= 1
            self._wake_one()  # a waiter starts one itself, and reports what fails
            if isinstance(exc, Exception):
                log.warning("codemode: starting a worker in the background failed: %r", exc)
                return
            if not isinstance(exc, asyncio.CancelledError):
                raise
            return
        self.last_report = worker.report
        self._idle.append(worker)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def execute(self, request: ExecutionRequest, bridge: Bridge) -> ExecutionOutcome:
        try:
            worker = await self._acquire(request.limits.max_memory_mb)
        except _WorkerDied as exc:
            return _crashed(str(exc))
        started = time.monotonic()
        try:
            async with asyncio.timeout(request.limits.timeout + _KILL_GRACE_SECONDS):
                return await worker.run(request, bridge)  # in this task: no task to start
        except TimeoutError:
            worker.healthy = False
            return ExecutionOutcome(
                status="error",
                failure=ExecutionError(
                    kind="timeout",
                    message=f"the plan ran out of time (timeout={request.limits.timeout:g}s) and "
                    "did not stop; its worker process was killed. Do less per plan.",
                ),
            )
        except _WorkerDied as exc:
            worker.healthy = False
            elapsed = time.monotonic() - started
            if worker.refused is None:  # it is dying on its own: let it, to learn how
                await _exited(worker.process, _EXIT_WAIT_SECONDS)
            await worker.kill()
            return _death_outcome(worker, request, elapsed, str(exc))
        except asyncio.CancelledError:
            worker.healthy = False
            raise
        finally:
            await self._release(worker)

    async def aclose(self) -> None:
        """Stop every idle worker (busy ones stop when their plan ends), from any loop."""
        home = self._loop
        if home is None:
            return
        if home is asyncio.get_running_loop():
            if self._reaper is not None:
                self._reaper.cancel()
                self._reaper = None
            spawning = list(self._spawning)
            for task in spawning:
                task.cancel()
            await asyncio.gather(*spawning, return_exceptions=True)
            idle = _take_all(self._idle)
            for worker in idle:
                await worker.kill()
            self._count -= len(idle)
            self._close_zygote()
        elif home.is_running():
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.aclose(), home))
        else:
            self._abandon()

    def _abandon(self) -> None:
        """The workers' loop is gone: kill them without it."""
        for worker in _take_all(self._idle):
            worker.kill_now()
        self._count = 0
        for server in _take_all(self._servers):
            _abandon_zygote(server)

    def __del__(self) -> None:
        """Dropped without `aclose()`: the reaper stops the idle workers on their loop if it
        still runs (their pipes belong to it); otherwise they are killed at once."""
        loop, reaper = self._loop, self._reaper
        if reaper is not None and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(reaper.cancel)
                return
        for worker in _take_all(self._idle):
            worker.kill_now()
        for server in _take_all(self._servers):
            _abandon_zygote(server)


def _abandon_zygote(zygote: Zygote) -> None:
    """Stop a fork server whose loop is gone (its socket reader cannot be removed there)."""
    zygote.closed = True
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(zygote.process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        zygote.process.wait(timeout=_KILL_GRACE_SECONDS)


def _take_all(workers: list[_T]) -> list[_T]:
    """Empty the list in place (the reaper shares it) and return what it held."""
    taken = list(workers)
    workers.clear()
    return taken


_T = TypeVar("_T")

_kept: set[asyncio.Task[None]] = set()
"""Strong references to background tasks (the loop itself keeps only weak ones)."""


def _keep(task: asyncio.Task[None]) -> asyncio.Task[None]:
    _kept.add(task)
    task.add_done_callback(_kept.discard)
    return task


async def _stop_with_loop(idle: list[_Worker], servers: list[Zygote]) -> None:
    """Wait for the loop's shutdown (`asyncio.run` cancels every task), then stop the idle
    workers and the fork server while the loop still runs (their pipes belong to it), so none
    outlives it.

    It holds the pool's idle list, not the executor, so the executor can be garbage collected
    (its `__del__` cancels this task) and the workers still end on their own loop."""
    try:
        await asyncio.get_running_loop().create_future()
    except asyncio.CancelledError:
        for worker in _take_all(idle):
            worker.kill_now()  # synchronous: the loop may be cancelling us again meanwhile
        for server in _take_all(servers):
            server.close()
        raise


class _StderrTail:
    """Keeps the last lines a worker wrote to stderr (for crash reports), read by the loop."""

    def __init__(self, process: _Process, tail: deque[bytes]) -> None:
        assert process.stderr is not None
        self._file = process.stderr
        self._fd = self._file.fileno()
        self._tail = tail
        os.set_blocking(self._fd, False)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._fd, self._readable)
        self._open = True

    def _readable(self) -> None:
        try:
            chunk = os.read(self._fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            self._tail.append(chunk)
        else:
            self.close()

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        if not self._loop.is_closed():
            with contextlib.suppress(RuntimeError, ValueError):
                self._loop.remove_reader(self._fd)
        self._file.close()


def _loop_closed(transport: asyncio.WriteTransport) -> bool:
    loop = getattr(transport, "_loop", None)
    return loop is None or loop.is_closed()


def _close_without_loop(transport: asyncio.WriteTransport) -> None:
    """Close a pipe transport whose loop is gone: its file by hand, then mark it closed."""
    pipe = transport.get_extra_info("pipe")
    with contextlib.suppress(OSError, AttributeError):
        if pipe is not None:
            pipe.close()
    with contextlib.suppress(AttributeError):
        transport._closed = True  # type: ignore[attr-defined]  # no loop left to close it


_EXIT_WAIT_SECONDS = 0.5
_PIPE_GONE = ("the peer closed the pipe", "the pipe failed")


async def _exited(process: _Process, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


_FAULTS = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"}


def _death_outcome(
    worker: _Worker, request: ExecutionRequest, elapsed: float, reason: str
) -> ExecutionOutcome:
    """Translate how a worker died into the error kind and message the model reads, from what
    is known, never guessed: the host refused its frames; it said why it was dying (an
    exception, memory); the kernel stopped it for CPU time; it died of a signal (which); it
    exited (with which status and last line of stderr).

    A death at or after the plan's deadline counts as running out of time as well: the CPU
    limit and the host's deadline race, and either may stop the worker first.
    """
    limits = request.limits
    if worker.refused is not None:
        return _crashed(
            f"the worker process sent a message the host refused ({worker.refused[:200]}) and "
            "was stopped; the plan's calls so far are in the record"
        )
    if worker.fatal is not None:
        cause, text = worker.fatal
        if cause == "memory":
            return ExecutionOutcome(
                status="error",
                failure=ExecutionError(
                    kind="budget",
                    message=f"the worker process ran out of memory (the cap is "
                    f"{limits.max_memory_mb} MB) outside the plan's own code: {text}",
                ),
            )
        return _crashed(f"the worker process failed: {text}")
    code = worker.process.poll()
    if getattr(worker.process, "orphaned", False):
        return _crashed(
            "the worker process ended after the fork server that started it had died, so "
            "its exit status is unknown; the plan's calls so far are in the record"
        )
    if code == -signal.SIGXCPU or elapsed >= limits.timeout:
        return ExecutionOutcome(
            status="error",
            failure=ExecutionError(
                kind="timeout",
                message=f"the plan used more CPU time than its {limits.timeout:g}s budget "
                "and its worker process was stopped. Do less per plan.",
            ),
        )
    last = (worker.stderr().splitlines()[-1:] or [""])[0].strip()
    if code is not None and code < 0:
        name = _signal_name(-code)
        if name == "SIGKILL":
            return _crashed(
                "the worker process was killed (SIGKILL) from outside: by the kernel (e.g. its "
                "out-of-memory killer) or an operator"
            )
        if name in _FAULTS:
            return _crashed(
                f"the worker process crashed ({name}: a fault in C code, e.g. recursion too "
                "deep inside a builtin)"
            )
        return _crashed(f"the worker process was stopped by {name}")
    if last.startswith("MemoryError"):
        return ExecutionOutcome(
            status="error",
            failure=ExecutionError(
                kind="budget",
                message=f"the worker process ran out of memory (the cap is "
                f"{limits.max_memory_mb} MB)",
            ),
        )
    if code is None:
        return _crashed(f"the worker process stopped answering ({reason[:200]})")
    detail = f": {last[:300]}" if last else ""
    return _crashed(f"the worker process exited with status {code}{detail}")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _crashed(message: str) -> ExecutionOutcome:
    return ExecutionOutcome(status="error", failure=ExecutionError(kind="crashed", message=message))
