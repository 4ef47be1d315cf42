"""The host↔worker wire format: length-prefixed JSON frames over a private pipe pair.

JSON and nothing else: the host never unpickles or evaluates anything a worker sends, so a
compromised worker can at worst send wrong data, never code. Frames are capped in size, and
every decode failure is a `WireError` that the host maps to a crashed-worker outcome (the way
httpx maps transport errors at one boundary).

Messages (all JSON objects with a "type"):
  host → worker  {"type": "run", "code", "manifest", "limits"}
  worker → host  {"type": "call", "id", "op": "tool"|"search"|"describe", ...}
  host → worker  {"type": "reply", "id", "ok", "value" | "error", "budget"}
  worker → host  {"type": "done", "outcome"}
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
from dataclasses import asdict
from typing import Any

from codemode_core.errors import ErrorKind
from codemode_core.limits import Limits
from codemode_core.sandbox.executor import ExecutionOutcome, PlanFailure

__all__ = [
    "MAX_FRAME_BYTES",
    "FrameReader",
    "WireError",
    "encode",
    "limits_from_wire",
    "outcome_from_wire",
    "outcome_to_wire",
]

MAX_FRAME_BYTES = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")


class WireError(Exception):
    """A frame could not be read: the peer closed the pipe, or sent something malformed."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    if len(body) > MAX_FRAME_BYTES:
        raise WireError(f"message of {len(body):,} bytes exceeds the {MAX_FRAME_BYTES:,} limit")
    return _HEADER.pack(len(body)) + body


def _decode(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"malformed frame: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise WireError("malformed frame: not a typed JSON object")
    return message


class FrameReader:
    """Reads frames from a pipe file descriptor on the running event loop."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    @classmethod
    async def open(cls, fd: int) -> FrameReader:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=MAX_FRAME_BYTES + _HEADER.size)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
        )
        return cls(reader)

    async def read(self) -> dict[str, Any]:
        try:
            header = await self._reader.readexactly(_HEADER.size)
            (size,) = _HEADER.unpack(header)
            if size > MAX_FRAME_BYTES:
                raise WireError(f"frame of {size:,} bytes exceeds the limit")
            body = await self._reader.readexactly(size)
        except asyncio.IncompleteReadError:
            raise WireError("the peer closed the pipe") from None
        return _decode(body)


def outcome_to_wire(outcome: ExecutionOutcome) -> dict[str, Any]:
    return {
        "status": outcome.status,
        "value": outcome.value,
        "logs": list(outcome.logs),
        "failure": asdict(outcome.failure) if outcome.failure else None,
    }


def outcome_from_wire(data: Any) -> ExecutionOutcome:
    """Rebuild an outcome from untrusted data, checking every field's type."""
    if not isinstance(data, dict) or data.get("status") not in ("ok", "error"):
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
        for known in ("syntax", "policy", "runtime", "tool", "timeout", "budget", "internal"):
            if raw.get("kind") == known:
                kind = known
        line = raw.get("line")
        tool = raw.get("tool")
        failure = PlanFailure(
            kind=kind,
            message=raw["message"],
            line=line if isinstance(line, int) else None,
            tool=tool if isinstance(tool, str) else None,
        )
    return ExecutionOutcome(
        status=data["status"], value=data.get("value"), logs=tuple(logs), failure=failure
    )


def limits_to_wire(limits: Limits) -> dict[str, Any]:
    return asdict(limits)


def limits_from_wire(data: Any) -> Limits:
    return Limits(**data)
