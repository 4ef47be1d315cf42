"""`asyncio.Semaphore`, `Lock`, `Event` and `Queue` as plans see them: small proxies.

asyncio's own objects are gateways: a `Queue` holds its loop (`_loop`), its waiters are raw
futures, and `Event.wait()` can be driven by hand. Each proxy here keeps the real primitive in
a private slot and exposes only the documented, plan-level methods; its coroutines are opaque
to the guards (no `send`, no `throw`), so a plan can await them and nothing more.
"""

from __future__ import annotations

import asyncio
from typing import Any

from codemode_core.sandbox._plan_numbers import plan_count
from codemode_core.sandbox.guards import register_proxy_type

__all__ = ["PlanEvent", "PlanLock", "PlanQueue", "PlanSemaphore"]


class _Primitive:
    __slots__ = ()
    _label = "asyncio object"

    def __repr__(self) -> str:
        return f"<asyncio.{self._label}>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(f"asyncio.{self._label} objects cannot be copied")


@register_proxy_type
class PlanSemaphore(_Primitive):
    """`asyncio.Semaphore(n)`: `async with sem:` bounds concurrency (e.g. of tool calls)."""

    __slots__ = ("_real",)
    _label = "Semaphore"

    def __init__(self, value: int = 1) -> None:
        self._real = asyncio.Semaphore(plan_count(value, "asyncio.Semaphore()'s value"))

    async def acquire(self) -> bool:
        return await self._real.acquire()

    def release(self) -> None:
        self._real.release()

    def locked(self) -> bool:
        return self._real.locked()

    async def __aenter__(self) -> None:
        await self._real.acquire()

    async def __aexit__(self, *exc_info: Any) -> None:
        self._real.release()


@register_proxy_type
class PlanLock(PlanSemaphore):
    """`asyncio.Lock()`: a semaphore of one."""

    __slots__ = ()
    _label = "Lock"

    def __init__(self) -> None:
        self._real = asyncio.Lock()  # type: ignore[assignment]


@register_proxy_type
class PlanEvent(_Primitive):
    """`asyncio.Event()`: `set()`, `clear()`, `is_set()`, `await event.wait()`."""

    __slots__ = ("_real",)
    _label = "Event"

    def __init__(self) -> None:
        self._real = asyncio.Event()

    def set(self) -> None:
        self._real.set()

    def clear(self) -> None:
        self._real.clear()

    def is_set(self) -> bool:
        return self._real.is_set()

    async def wait(self) -> bool:
        return await self._real.wait()


@register_proxy_type
class PlanQueue(_Primitive):
    """`asyncio.Queue(maxsize)`: producer/consumer pipelines between a plan's own coroutines."""

    __slots__ = ("_real",)
    _label = "Queue"

    def __init__(self, maxsize: int = 0) -> None:
        self._real: asyncio.Queue[Any] = asyncio.Queue(
            plan_count(maxsize, "asyncio.Queue()'s maxsize")
        )

    @property
    def maxsize(self) -> int:
        return self._real.maxsize

    async def put(self, item: Any) -> None:
        await self._real.put(item)

    async def get(self) -> Any:
        return await self._real.get()

    def put_nowait(self, item: Any) -> None:
        self._real.put_nowait(item)

    def get_nowait(self) -> Any:
        return self._real.get_nowait()

    def qsize(self) -> int:
        return self._real.qsize()

    def empty(self) -> bool:
        return self._real.empty()

    def full(self) -> bool:
        return self._real.full()

    def task_done(self) -> None:
        self._real.task_done()

    async def join(self) -> None:
        await self._real.join()


for _cls, _name in (
    (PlanSemaphore, "Semaphore"),
    (PlanLock, "Lock"),
    (PlanEvent, "Event"),
    (PlanQueue, "Queue"),
):
    # Plans see `<class 'asyncio.Semaphore'>`, the name they wrote, not our module's.
    _cls.__module__, _cls.__name__, _cls.__qualname__ = "asyncio", _name, _name
