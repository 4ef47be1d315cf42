"""The host↔worker wire format: length-prefixed JSON frames over a private pipe pair.

JSON and nothing else: the host never unpickles or evaluates anything a worker sends, so a
compromised worker can at worst send wrong data, never code. Frames are capped in size, and
every decode failure is a `WireError` that the host maps to a crashed-worker outcome (the way
httpx maps transport errors at one boundary). Encoding and parsing use pydantic-core's JSON
(Rust, already a dependency): a tool call crosses the wire four times, and the stdlib's
encoder and decoder cost about four times as much per small frame.

Messages (all JSON objects with a "type"):
  host → worker  {"type": "run", "run", "code", "execution_id", "seed", "clock",
                  "manifest"?, "limits"?}  (the last two only when they changed)
  worker → host  {"type": "call", "run", "seq", "id", "op": "tool"|"search"|"describe", ...}
  host → worker  {"type": "reply", "id", "ok", "value" | "error", "budget"}
  worker → host  {"type": "log"|"clock", "run", "seq", ...}
  worker → host  {"type": "cancel", "run", "seq", "id"}  (the plan stopped waiting for a call)
  worker → host  {"type": "done", "run", "seq", "outcome", "tainted"?}
  worker → host  {"type": "fatal", "run"?, "seq"?, "cause", "message"}  (just before it exits)

Every frame a worker sends during a run carries that run's id (a random token the host chose)
and the next number of the run's sequence (1, 2, ...). The host accepts a frame only for the
run in progress and in sequence: anything else (a frame for a finished or unknown run, a
replayed or skipped number, any frame between runs) is a compromised worker, which the host
kills, so code a plan left behind can never speak for another plan.

Frames from a worker are held to tighter bounds than the host's own: `MAX_WORKER_FRAME_BYTES`
(read from the length header, before the body is buffered) and `MAX_WORKER_FRAME_DEPTH`
(scanned in C-speed passes over the raw bytes, before the parser allocates anything).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import operator
import os
import re
import select
import struct
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from itertools import accumulate
from typing import Any, get_args

from pydantic_core import PydanticSerializationError, from_json, to_json

from codemode_core.errors import ErrorKind
from codemode_core.limits import Limits
from codemode_core.result import ExecutionError
from codemode_core.sandbox.executor import ExecutionOutcome

__all__ = [
    "MAX_FRAME_BYTES",
    "MAX_WORKER_FRAME_BYTES",
    "MAX_WORKER_FRAME_DEPTH",
    "FrameChannel",
    "WireError",
    "encode",
    "limits_from_wire",
    "nesting_exceeds",
    "outcome_from_wire",
    "outcome_to_wire",
]

MAX_FRAME_BYTES = 64 * 1024 * 1024
"""Host → worker frames: tool results and manifests. The host trusts its own data; the
worker's memory cap bounds what it holds."""

MAX_WORKER_FRAME_BYTES = 4 * 1024 * 1024
"""Worker → host frames: a plan's result, its tool arguments, a log line. 4 MiB is 200x the
20,000 characters the model is shown of a result (`Limits.max_output_chars`), and keeps the
host's worst case bounded: JSON built to amplify (`[[],[],…]`, ~23x once parsed) costs the
host under 100 MB for one frame, where 64 MiB cost it 1.5 GB."""

MAX_WORKER_FRAME_DEPTH = 100
"""Nesting levels of a worker → host frame, envelope included (a plan's value or tool
argument gets ~97). The parser itself stops near 200; the host's own code (the record's
copies, the tools' validation) then walks the data recursively, so the host sets the bound."""

_HEADER = struct.Struct(">I")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SQUARE = bytes.maketrans(b"{}", b"[]")  # for depth, `{` nests like `[`
_RUNS = re.compile(rb"\[+|\]+")
_OPEN = ord("[")
_PEEL_PASSES = 4
"""Peeling removes the shallow clutter (`[[],[],…]`) cheaply; after four peels a run of
brackets spans 10+ bytes, so the list of runs stays short. Worst case measured: ~0.1 s for a
4 MiB frame."""


class WireError(Exception):
    """A frame could not be read: the peer closed the pipe, or sent something malformed."""


def nesting_exceeds(body: bytes, limit: int) -> bool:
    """Whether the JSON text `body` nests deeper than `limit` levels, without parsing it.

    Instant when there are no more brackets than levels (most frames). Otherwise string
    contents are cut out (their brackets do not nest; escapes go first, so `\\"` cannot end a
    string early), a few innermost levels are peeled off, and the depth of the rest is the
    largest running sum of its bracket runs. Every step is C-level work over bytes or ints.
    Malformed text may pass here; the parser refuses it next.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(text.split(b'"')[::2]).translate(_SQUARE, _NOT_BRACKETS)
    peeled = 0
    while brackets and peeled < _PEEL_PASSES:
        shorter = brackets.replace(b"[]", b"")  # every innermost pair: one level
        if len(shorter) == len(brackets):
            break
        brackets, peeled = shorter, peeled + 1
    runs = list(map(len, _RUNS.findall(brackets)))  # runs of "[" and "]" alternate
    if not runs:
        return peeled > limit
    closing = 1 if brackets[0] == _OPEN else 0
    runs[closing::2] = map(operator.neg, runs[closing::2])
    return peeled + max(accumulate(runs)) > limit


def encode(
    message: dict[str, Any], *, max_bytes: int | None = None, max_depth: int | None = None
) -> bytes:
    """A frame for `message`; `WireError` when it is larger (or deeper) than allowed, so a
    sender learns it before the peer refuses it."""
    try:
        body = to_json(message, fallback=str, inf_nan_mode="constants")
    except (PydanticSerializationError, ValueError):
        # What pydantic-core refuses: bytes that are not UTF-8, and lone surrogates ("\udc80",
        # text no UTF-8 can carry, which a plan can build): sent as U+FFFD, never a crash.
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)
        body = _SURROGATE.sub("\ufffd", text).encode()
    limit = MAX_FRAME_BYTES if max_bytes is None else max_bytes
    if len(body) > limit:
        raise WireError(f"message of {len(body):,} bytes exceeds the {limit:,} limit")
    if max_depth is not None and nesting_exceeds(body, max_depth):
        raise WireError(f"message nested deeper than {max_depth} levels")
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
        *,
        max_bytes: int | None = None,
        max_depth: int | None = None,
    ) -> None:
        self.fd = fd
        self._fd = fd
        self._max_bytes = max_bytes
        self._max_depth = max_depth
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
            limit = MAX_FRAME_BYTES if self._max_bytes is None else self._max_bytes
            if size > limit:  # refused from the header alone: the body is never buffered
                self._fail(WireError(f"frame of {size:,} bytes exceeds the {limit:,}-byte limit"))
                return
            end = _HEADER.size + size
            if len(buffer) < end:
                break
            body = bytes(buffer[_HEADER.size : end])
            del buffer[:end]
            try:
                if self._max_depth is not None and nesting_exceeds(body, self._max_depth):
                    raise WireError(f"frame nested deeper than {self._max_depth} levels")
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
