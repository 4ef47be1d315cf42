"""Concurrent pause/resume conversations against one store, as a web server would run them.

Imported by the load tests, and run as a script by them in a second process on the same store:
`python load_support.py sqlite PATH LOG SECONDS CONCURRENCY PREFIX` (or `postgres DSN:SCHEMA`).
It prints "ready" once its store is open, then one JSON line with its tally.

Every tool appends `tool key` to the side-effect log (one short `O_APPEND` write, so the lines
of both processes never interleave), which is what the tests check: each finished
conversation ran each of its five tools exactly once.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codemode_core import CodeMode, Tool
from codemode_core.durable import Store, approve

READS = ("read_profile", "read_orders", "read_limits", "read_total")
WRITE = "write_refund"

PLAN = """
profile = await tools.read_profile(key={key!r})
orders, limit = await asyncio.gather(
    tools.read_orders(key={key!r}), tools.read_limits(key={key!r})
)
total = await tools.read_total(key={key!r}, amounts=orders)
return await tools.write_refund(key={key!r}, amount=min(total, limit), who=profile)
"""
"""Four tools (two at once through `asyncio.gather`), then a fifth that needs approval."""


def conversation_tools(log: Path) -> list[Tool]:
    """The five tools of `PLAN`; each call leaves one line in `log`."""

    def effect(tool: str, key: str) -> None:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{tool} {key}\n".encode())
        finally:
            os.close(fd)

    def read_profile(key: str) -> str:
        """The customer of a conversation."""
        effect("read_profile", key)
        return f"customer-{key}"

    def read_orders(key: str) -> list[float]:
        """Order amounts."""
        effect("read_orders", key)
        return [12.5, 30.0]

    def read_limits(key: str) -> float:
        """The refund limit."""
        effect("read_limits", key)
        return 40.0

    def read_total(key: str, amounts: list[float]) -> float:
        """Sum of amounts."""
        effect("read_total", key)
        return sum(amounts)

    def write_refund(key: str, amount: float, who: str) -> str:
        """Refund (needs a human's approval)."""
        effect("write_refund", key)
        return f"refunded {amount} to {who}"

    reads = [read_profile, read_orders, read_limits, read_total]
    return [
        *(Tool.from_function(fn) for fn in reads),
        Tool.from_function(write_refund, requires_approval=True),
    ]


@dataclass
class Tally:
    """What one process's conversations did."""

    finished: list[str] = field(default_factory=list)
    """Keys of conversations that paused, were approved and returned the refund."""
    errors: list[str] = field(default_factory=list)
    """Anything else: exceptions raised, or results that were not the expected ones."""


async def converse(cm: CodeMode, prefix: str, concurrency: int, seconds: float) -> Tally:
    """`concurrency` conversations at a time for `seconds` (each one started is finished)."""
    tally = Tally()
    deadline = time.monotonic() + seconds

    async def one(key: str) -> None:
        try:
            paused = await cm.run(PLAN.format(key=key))
            if paused.status != "paused" or len(paused.pending) != 1:
                tally.errors.append(f"{key}: run gave {paused.status}: {paused.to_model()}")
                return
            request = paused.pending[0].request_id
            done = await cm.resume(paused.execution_id, {request: approve})
            if not done.ok or done.value != f"refunded 40.0 to customer-{key}":
                tally.errors.append(f"{key}: resume gave {done.status}: {done.to_model()}")
                return
            tally.finished.append(key)
        except Exception as exc:
            tally.errors.append(f"{key}: raised {exc!r}")

    async def worker(index: int) -> None:
        turn = 0
        while time.monotonic() < deadline:
            await one(f"{prefix}{index}.{turn}")
            turn += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return tally


def effects(log: Path) -> collections.Counter[tuple[str, str]]:
    """(tool, key) → how many times the tool ran for that conversation."""
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    for line in log.read_text().splitlines() if log.exists() else []:
        tool, _, key = line.partition(" ")
        counts[tool, key] += 1
    return counts


def open_store(kind: str, target: str) -> Store:
    """`sqlite PATH` or `postgres DSN:SCHEMA` (the schema after the last colon)."""
    if kind == "sqlite":
        from codemode_core.durable import SQLiteStore

        return SQLiteStore(target)
    from codemode_core.durable import PostgresStore

    dsn, _, schema = target.rpartition(":")
    return PostgresStore(dsn, schema=schema)


async def _main(argv: list[str]) -> dict[str, Any]:
    kind, target, log, seconds, concurrency, prefix = argv
    store = open_store(kind, target)
    cm = CodeMode(conversation_tools(Path(log)), store=store, executor="inprocess")
    await cm.store.load("warm-up")  # connected (and migrated) before saying ready
    print("ready", flush=True)
    tally = await converse(cm, prefix, int(concurrency), float(seconds))
    await cm.aclose()
    await store.aclose()
    return {"finished": tally.finished, "errors": tally.errors}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_main(sys.argv[1:]))), flush=True)
