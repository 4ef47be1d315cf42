"""`sequential=True` tools run alone, inside plans too.

pydantic-ai runs a tool marked `sequential` as a barrier: no other tool call overlaps it. A
plan's calls overlap only through `asyncio.gather`, so the same rule is a readers-writer lock
over one plan's calls: ordinary calls share it, a sequential call holds it alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["Barrier"]


class Barrier:
    """Ordinary calls run together; an exclusive call waits for them and runs alone."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._running = 0
        self._exclusive = False

    @asynccontextmanager
    async def hold(self, *, exclusive: bool) -> AsyncIterator[None]:
        async with self._changed:
            if exclusive:
                await self._changed.wait_for(lambda: not self._exclusive and not self._running)
                self._exclusive = True
            else:
                await self._changed.wait_for(lambda: not self._exclusive)
                self._running += 1
        try:
            yield
        finally:
            async with self._changed:
                if exclusive:
                    self._exclusive = False
                else:
                    self._running -= 1
                self._changed.notify_all()
