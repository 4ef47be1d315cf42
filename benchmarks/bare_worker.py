"""The floor of any Python-worker design: plain `exec` in a worker process, tool calls as JSON
frames over a private pipe pair to an asyncio host, nothing else.

No sandbox, no budgets, no validation, no record, no journal: each tool call is one frame out,
a dict lookup and a function call on the host, one frame back. Whatever this costs per call on
a machine is what process switches and two Python processes cost there; codemode's isolated
executor can approach it, not beat it. `bench_executors.py` runs it beside the others.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
import subprocess
import sys
from collections.abc import Callable
from typing import Any

_HEADER = struct.Struct(">I")

_WORKER = r"""
import json, os, struct, sys
HEADER = struct.Struct(">I")
r, w = int(sys.argv[1]), int(sys.argv[2])
buffer = b""

def read_frame():
    global buffer
    while True:
        if len(buffer) >= 4:
            (size,) = HEADER.unpack_from(buffer)
            if len(buffer) >= 4 + size:
                body, buffer = buffer[4 : 4 + size], buffer[4 + size :]
                return json.loads(body)
        chunk = os.read(r, 1 << 16)
        if not chunk:
            sys.exit(0)
        buffer += chunk

def send(message):
    body = json.dumps(message).encode()
    os.write(w, HEADER.pack(len(body)) + body)

def proxy(name):
    def call(**kwargs):
        send({"name": name, "kwargs": kwargs})
        return read_frame()["value"]
    return call

while True:
    run = read_frame()
    *body, last = run["code"].strip().splitlines()
    namespace = {name: proxy(name) for name in run["names"]}
    exec("\n".join(body), namespace)
    send({"done": eval(last, namespace)})
"""


class BareWorker:
    """One worker process running plans with plain `exec`; tools stay on the host."""

    def __init__(self, functions: dict[str, Callable[..., Any]]) -> None:
        self._functions = functions
        self._buffer = bytearray()
        self._done: asyncio.Future[Any] | None = None
        to_worker_r, self._to_worker = os.pipe()
        self._from_worker, from_worker_w = os.pipe()
        self._process = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(to_worker_r), str(from_worker_w)],
            pass_fds=(to_worker_r, from_worker_w),
        )
        os.close(to_worker_r)
        os.close(from_worker_w)
        os.set_blocking(self._from_worker, False)
        asyncio.get_running_loop().add_reader(self._from_worker, self._readable)

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        os.write(self._to_worker, _HEADER.pack(len(body)) + body)

    def _readable(self) -> None:
        self._buffer += os.read(self._from_worker, 1 << 16)
        while len(self._buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer)
            end = _HEADER.size + size
            if len(self._buffer) < end:
                return
            message = json.loads(bytes(self._buffer[_HEADER.size : end]))
            del self._buffer[:end]
            if "done" in message:
                assert self._done is not None
                self._done.set_result(message["done"])
            else:
                value = self._functions[message["name"]](**message["kwargs"])
                self._send({"value": value})

    async def run(self, code: str) -> Any:
        self._done = asyncio.get_running_loop().create_future()
        self._send({"code": code, "names": list(self._functions)})
        return await self._done

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self._from_worker)
        os.close(self._to_worker)
        os.close(self._from_worker)
        self._process.wait(timeout=5)
