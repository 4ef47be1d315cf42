"""A host process to kill mid-plan:
`python crash_support.py KIND TARGET EXECUTION_ID LOG PLAN_NAME`.

It runs `PLANS[PLAN_NAME]` under `EXECUTION_ID` on the store (`load_support.open_store` KIND
TARGET) with a short lease, prints "holding" when the plan reaches `tools.hold()` (idempotent)
or `tools.charge()` (not), and waits there to be killed. The test process then takes the
execution over with the same tools, which log each side effect (one `O_APPEND` line per call)
to LOG; `hold` and `charge` only wait in the killed process.
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

PLANS = {
    name: f"""
a = await tools.step(n=1)
b, c = await asyncio.gather(tools.step(n=2), tools.step(n=3))
seen = await tools.{name}(total=a + b + c)
return await tools.step(n=seen * 10)
"""
    for name in ("hold", "charge")
}


def crash_tools(log: Path, *, holding: bool) -> list[Tool]:
    """`step` (a side effect, logged), `hold` (an idempotent read) and `charge` (a side
    effect); both of these log, then wait forever in the process to be killed (`holding`)."""

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

    async def charge(total: int) -> int:
        """Charge a card."""
        effect("charge")
        if holding:
            print("holding", flush=True)
            await asyncio.Event().wait()  # until SIGKILL
        return total

    return [
        Tool.from_function(step),
        Tool.from_function(hold, idempotent=True),
        Tool.from_function(charge),
    ]


async def _main(kind: str, target: str, execution_id: str, log: str, plan: str) -> None:
    cm = CodeMode(
        crash_tools(Path(log), holding=True),
        store=open_store(kind, target),
        executor="inprocess",
        lease=LEASE,
    )
    await cm.run(PLANS[plan], execution_id=execution_id)
    print("finished (it should have been killed)", flush=True)


if __name__ == "__main__":
    asyncio.run(_main(*sys.argv[1:]))
