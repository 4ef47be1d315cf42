"""A host process to kill mid-plan: `python crash_support.py KIND TARGET EXECUTION_ID LOG`.

It runs `PLAN` under `EXECUTION_ID` on the store (`load_support.open_store` KIND TARGET) with a
short lease, prints "holding" when the plan reaches `tools.hold()`, and waits there to be
killed. The test process then takes the execution over with the same tools, which log each
side effect (one `O_APPEND` line per call) to LOG; `hold` only waits in the killed process.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from load_support import open_store

from codemode_core import CodeMode, Tool

LEASE = 2.0
"""Seconds; a heartbeat every third of it, so it lapses 1.3-2 s after the kill."""

PLAN = """
a = await tools.step(n=1)
b, c = await asyncio.gather(tools.step(n=2), tools.step(n=3))
seen = await tools.hold(total=a + b + c)
return await tools.step(n=seen * 10)
"""


def crash_tools(log: Path, *, holding: bool) -> list[Tool]:
    """`step` (a side effect, logged) and `hold` (an idempotent read, logged; waits forever
    in the process to be killed when `holding`)."""

    def effect(line: str) -> None:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{line}\n".encode())
        finally:
            os.close(fd)

    def step(n: int) -> int:
        """A step with a side effect."""
        effect(f"step {n}")
        return n

    async def hold(total: int) -> int:
        """Read a total back."""
        effect("hold")
        if holding:
            print("holding", flush=True)
            await asyncio.Event().wait()  # until SIGKILL
        return total

    return [Tool.from_function(step), Tool.from_function(hold)]


async def _main(kind: str, target: str, execution_id: str, log: str) -> None:
    cm = CodeMode(
        crash_tools(Path(log), holding=True),
        store=open_store(kind, target),
        executor="inprocess",
        lease=LEASE,
    )
    await cm.run(PLAN, execution_id=execution_id)
    print("finished (it should have been killed)", flush=True)


if __name__ == "__main__":
    asyncio.run(_main(*sys.argv[1:]))
