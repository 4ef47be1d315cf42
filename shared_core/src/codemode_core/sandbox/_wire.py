"""The host↔worker wire format: length-prefixed JSON frames over a private pipe pair.

JSON and nothing else: the host never unpickles or evaluates anything a worker sends, so a
compromised worker can at worst send wrong data, never code. Frames are capped in size, and
every decode failure is a `WireError` that the host maps to a crashed-worker outcome (the way
httpx maps transport errors at one boundary). Encoding and parsing use pydantic-core's JSON
(Rust, already a dependency): a tool call crosses the wire four times, and the stdlib's
encoder and decoder cost about four times as much per small frame.

Messages (all JSON objects with a "type"):
  host → worker  {"type": "run", "code", "execution_id", "seed", "clock",
                  "manifest"?, "limits"?}  (the last two only when they changed)
  worker → host  {"type": "call", "id", "op": "tool"|"search"|"describe", ...}
  host → worker  {"type": "reply", "id", "ok", "value" | "error", "budget"}
  worker → host  {"type": "done", "outcome"}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import select
import struct
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any, get_args

from pydantic_core import PydanticSerializationError, from_json, to_json

from codemode_core.errors import ErrorKind
from codemode_core.limits import Limits
from codemode_core.result import ExecutionError
from codemode_core.sandbox.executor import ExecutionOutcome

__all__ = [
    "MAX_FRAME_BYTES",
    "FrameChannel",
    "WireError",
    "encode",
    "limits_from_wire",
    "outcome_from_wire",
    "outcome_to_wire",
]

MAX_FRAME_BYTES = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")
_SURROGATE = re.compile("[\ud800-\udfff]")


class WireError(Exception):
    """A frame could not be read: the peer closed the pipe, or sent something malformed."""


def encode(message: dict[str, Any]) -> bytes:
    try:
        body = to_json(message, fallback=str, inf_nan_mode="constants")
    except (PydanticSerializationError, ValueError):
        # What pydantic-core refuses: bytes that are not UTF-8, and lone surrogates ("\udc80",
        # text no UTF-8 can carry, which a plan can build): sent as U+FFFD, never a crash.
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)
        body = _SURROGATE.sub("\ufffd", text).encode()
    if len(body) > MAX_FRAME_BYTES:
        raise WireError(f"message of {len(body):,} bytes exceeds the {MAX_FRAME_BYTES:,} limit")
    return _HEADER.pack(len(body)) + body


def _decode(body: bytes) -> dict[str, Any]:
    try:
        message = from_json(body)  # bounded nesting: a deep frame is a ValueError
    except (ValueError, RecursionError) as exc:
        raise WireError(f"malformed frame: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise WireError("malformed frame: not a typed JSON object")
    return message


class FrameChannel:
    """Reads frames from a pipe with a loop reader callback, delivering each as it completes.

    A callback on the raw file descriptor (rather than a stream reader and a task per frame)
    keeps a tool call's round trip close to the pipe's own latency.
    """

    def __init__(
        self,
        fd: int,
        on_message: Callable[[dict[str, Any]], None],
        on_close: Callable[[WireError], None],
    ) -> None:
        self._fd = fd
        self._on_message = on_message
        self._on_close = on_close
        self._buffer = bytearray()
        self._closed = False
        self._paused = False
        self._loop = asyncio.get_running_loop()
        os.set_blocking(fd, False)
        self._loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            chunk = os.read(self._fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError as exc:
            self._fail(WireError(f"the pipe failed: {exc}"))
            return
        if not chunk:
            self._fail(WireError("the peer closed the pipe"))
            return
        self._buffer += chunk
        self._deliver()

    def _deliver(self) -> None:
        buffer = self._buffer
        while len(buffer) >= _HEADER.size and not self._paused and not self._closed:
            (size,) = _HEADER.unpack_from(buffer)
            if size > MAX_FRAME_BYTES:
                self._fail(WireError(f"frame of {size:,} bytes exceeds the limit"))
                return
            end = _HEADER.size + size
            if len(buffer) < end:
                break
            body = bytes(buffer[_HEADER.size : end])
            del buffer[:end]
            try:
                message = _decode(body)
            except WireError as exc:
                self._fail(exc)
                return
            self._on_message(message)
            if self._closed:
                return

    def pause(self) -> None:
        """Deliver no more frames until `resume()` (the peer is not reading ours)."""
        if not self._paused and not self._closed:
            self._paused = True
            self._loop.remove_reader(self._fd)

    def resume(self) -> None:
        if self._paused and not self._closed:
            self._paused = False
            self._loop.add_reader(self._fd, self._readable)
            self._loop.call_soon(self._deliver)  # frames already read, from a loop callback

    def pump(self, done: Callable[[], bool], timeout: float) -> None:
        """Read frames synchronously until `done()` or `timeout` seconds pass, bypassing the
        event loop. For a caller that knows nothing else could run meanwhile: it saves a loop
        turn and a task wake-up per round trip."""
        if not self._closed:
            self._readable()  # the reply is often in already (the peer ran while we wrote)
        deadline = time.monotonic() + timeout
        while not done() and not self._closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            readable, _, _ = select.select([self._fd], [], [], remaining)
            if readable:
                self._readable()

    def _fail(self, error: WireError) -> None:
        if not self._closed:
            self.close()
            self._on_close(error)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._loop.is_closed():
            self._loop.remove_reader(self._fd)
        with contextlib.suppress(OSError):
            os.close(self._fd)


def outcome_to_wire(outcome: ExecutionOutcome) -> dict[str, Any]:
    return {
        "status": outcome.status,
        "value": outcome.value,
        "logs": list(outcome.logs),
        "failure": asdict(outcome.failure) if outcome.failure else None,
    }


def outcome_from_wire(data: Any) -> ExecutionOutcome:
    """Rebuild an outcome from untrusted data, checking every field's type."""
    if not isinstance(data, dict) or data.get("status") not in ("ok", "error", "paused"):
        raise WireError("malformed outcome")
    logs = data.get("logs") or []
    if not isinstance(logs, list) or not all(isinstance(line, str) for line in logs):
        raise WireError("malformed outcome logs")
    failure = None
    raw = data.get("failure")
    if raw is not None:
        if not isinstance(raw, dict) or not isinstance(raw.get("message"), str):
            raise WireError("malformed outcome failure")
        kind: ErrorKind = "crashed"
        for known in get_args(ErrorKind):
            if raw.get("kind") == known:
                kind = known
        line = raw.get("line")
        tool = raw.get("tool")
        failure = ExecutionError(
            kind=kind,
            message=raw["message"],
            line=line if isinstance(line, int) else None,
            tool=tool if isinstance(tool, str) else None,
        )
    return ExecutionOutcome(
        status=data["status"], value=data.get("value"), logs=tuple(logs), failure=failure
    )


def limits_to_wire(limits: Limits) -> dict[str, Any]:
    return {field.name: getattr(limits, field.name) for field in fields(limits)}


def limits_from_wire(data: Any) -> Limits:
    return Limits(**data)
