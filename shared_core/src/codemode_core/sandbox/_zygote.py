"""The host's end of the fork server: a warm, unconfined process that forks workers on request.

Starting a worker with fork+exec costs a Python start-up and every import (~0.3-0.9 s of CPU
here); forking a process that has done both costs milliseconds. That is what makes
single-use workers affordable: each plan gets a process no earlier plan ever ran in.

The zygote runs no plan code. Requests go over a private Unix socket, each carrying the three
pipe ends of the new worker (`SCM_RIGHTS`), so the host talks to the worker directly, exactly
as to one it started itself. The zygote is the workers' parent, so it reaps them and reports
each exit status back; `ForkedProcess` turns those reports into the `Popen` methods the pool
uses (`poll`, `wait`, `kill`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import IO, Any

__all__ = ["ForkedProcess", "Zygote", "ZygoteFailed"]

_START_TIMEOUT_SECONDS = 30.0
_FORK_TIMEOUT_SECONDS = 10.0


class ZygoteFailed(Exception):
    """The fork server could not be started or stopped answering."""


class ForkedProcess:
    """A worker forked by the zygote, with the subset of `subprocess.Popen` the pool uses."""

    def __init__(self, zygote: Zygote, pid: int, stderr: IO[bytes]) -> None:
        self._zygote = zygote
        self.pid = pid
        self.stderr: IO[bytes] | None = stderr
        self.returncode: int | None = None
        self.orphaned = False
        """Its fork server died first: it ended with no one to report its exit status."""

    def poll(self) -> int | None:
        if self.returncode is None:
            self._zygote.drain()
        if self.returncode is None and self._zygote.closed:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:  # gone, reaped by init: its status is lost
                self.orphaned = True
                self.returncode = -signal.SIGKILL
            except PermissionError:
                pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired("worker", timeout or 0.0)
            time.sleep(0.002)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)


class Zygote:
    """One fork server per executor and event loop."""

    def __init__(self, process: subprocess.Popen[bytes], control: socket.socket, workdir: str):
        self.process = process
        self._control = control
        self._workdir = workdir
        self._ids = itertools.count(1)
        self._forks: dict[int, asyncio.Future[int]] = {}
        self._children: dict[int, ForkedProcess] = {}
        self._exited: dict[int, int] = {}
        """Exit codes reported before the fork's reply was read (a child that died at once)."""
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(control.fileno(), self.drain)

    @classmethod
    async def start(cls, python: str) -> Zygote:
        host_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        workdir = tempfile.mkdtemp(prefix="codemode-zygote-")
        bootstrap = (
            "import sys; sys.path[:0] = __import__('json').loads(sys.argv[2]); "
            "from codemode_core.sandbox._worker import zygote_main; zygote_main()"
        )
        try:
            process = subprocess.Popen(
                [
                    python,
                    "-I",
                    "-c",
                    bootstrap,
                    str(zygote_end.fileno()),
                    json.dumps([p for p in sys.path if p]),
                ],
                pass_fds=(zygote_end.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={"PATH": os.defpath, "LANG": "C.UTF-8"},
                cwd=workdir,
                start_new_session=True,
            )
        except BaseException:
            host_end.close()
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        finally:
            zygote_end.close()
        host_end.setblocking(False)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(_START_TIMEOUT_SECONDS):
                ready = await loop.sock_recv(host_end, 4096)
            if not ready or json.loads(ready).get("type") != "ready":
                raise ZygoteFailed("the fork server exited while starting")
        except BaseException as exc:
            host_end.close()
            _kill(process)
            shutil.rmtree(workdir, ignore_errors=True)
            if isinstance(exc, (TimeoutError, ValueError)):
                raise ZygoteFailed(f"the fork server did not start: {exc!r}") from None
            raise
        return cls(process, host_end, workdir)

    async def fork(self, workdir: str) -> tuple[ForkedProcess, int, int]:
        """A new worker: its process, and the host's ends of its pipes (read, write)."""
        if self.closed:
            raise ZygoteFailed("the fork server is closed")
        to_worker_r, to_worker_w = os.pipe()
        to_host_r, to_host_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        request_id = next(self._ids)
        future: asyncio.Future[int] = self._loop.create_future()
        self._forks[request_id] = future
        try:
            socket.send_fds(
                self._control,
                [json.dumps({"id": request_id, "workdir": workdir}).encode()],
                [to_worker_r, to_host_w, stderr_w],
            )
        except OSError as exc:
            self._forks.pop(request_id, None)
            for fd in (to_worker_r, to_worker_w, to_host_r, to_host_w, stderr_r, stderr_w):
                os.close(fd)
            self.close()
            raise ZygoteFailed(f"the fork server is gone: {exc}") from None
        finally:
            for fd in (to_worker_r, to_host_w, stderr_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
        try:
            async with asyncio.timeout(_FORK_TIMEOUT_SECONDS):
                pid = await future
        except BaseException as exc:
            self._forks.pop(request_id, None)
            for fd in (to_worker_w, to_host_r, stderr_r):
                os.close(fd)
            if future.done() and not future.cancelled() and future.exception() is None:
                _kill_pid(future.result())  # it was forked after all: it must not linger
            if isinstance(exc, TimeoutError):
                self.close()
                raise ZygoteFailed("the fork server stopped answering") from None
            raise
        process = ForkedProcess(self, pid, os.fdopen(stderr_r, "rb", buffering=0))
        self._children[pid] = process
        if pid in self._exited:
            process.returncode = self._exited.pop(pid)
        return process, to_host_r, to_worker_w

    def drain(self) -> None:
        """Read every report waiting on the socket (a loop callback, or called by `poll`)."""
        while not self.closed:
            try:
                data = self._control.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self.close()
                return
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self._handle(json.loads(data))

    def _handle(self, message: dict[str, Any]) -> None:
        if message["type"] == "forked":
            future = self._forks.pop(int(message["id"]), None)
            if future is not None and not future.done():
                future.set_result(int(message["pid"]))
            elif future is None or future.cancelled():
                _kill_pid(int(message["pid"]))  # nobody waits for it any more
        elif message["type"] == "exited":
            pid, code = int(message["pid"]), int(message["code"])
            child = self._children.pop(pid, None)
            if child is None:
                self._exited[pid] = code
            else:
                child.returncode = code

    def close(self) -> None:
        """Stop the fork server (its workers are the pool's to stop)."""
        if self.closed:
            return
        self.closed = True
        if not self._loop.is_closed():
            with contextlib.suppress(ValueError, RuntimeError):
                self._loop.remove_reader(self._control.fileno())
        self._control.close()
        for future in self._forks.values():
            if not future.done():
                future.set_exception(ZygoteFailed("the fork server is gone"))
        self._forks.clear()
        _kill(self.process)
        shutil.rmtree(self._workdir, ignore_errors=True)


def _kill_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # its group: whatever it started too
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)  # before its `setsid()` it has no group of its own


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=2.0)
