"""A private event loop on a background thread, for calling async code from sync code.

`CodeMode.run_sync` uses one per `CodeMode`, so every synchronous run lands on the same loop:
resources bound to a loop (isolated worker pipes, connector sessions) survive between calls,
and calling from inside another running loop's thread cannot deadlock it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["Portal", "submit"]

T = TypeVar("T")

_SHUTDOWN_SECONDS = 10.0


class Portal:
    """Runs coroutines on a dedicated loop thread; stopped by `stop()`, when garbage
    collected, or at interpreter exit, whichever comes first."""

    def __init__(self, name: str = "codemode-portal") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=_serve, args=(self._loop,), name=name, daemon=True)
        self._thread.start()
        self._finalizer = weakref.finalize(self, _shut_down, self._loop, self._thread)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the portal's loop and wait for its result (from any thread).

        The coroutine runs in a copy of the caller's context, so context variables an adapter
        set around the call (the outer tool call, its config) reach the tools a plan calls.
        """
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("Portal.call() cannot be used from the portal's own thread")
        return submit(self._loop, coroutine).result()

    def stop(self) -> None:
        """Shut the loop down as `asyncio.run` does: cancel its tasks (so resources they hold,
        such as worker processes, are released on the loop), then stop and close it."""
        self._finalizer()


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    """The portal thread: run until stopped, then cancel what is left (as `asyncio.run` does)
    so tasks release what they hold on the loop, and close it."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        with contextlib.suppress(Exception):
            loop.run_until_complete(_cancel_other_tasks())
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _shut_down(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    if loop.is_closed():
        return
    with contextlib.suppress(RuntimeError):  # closed meanwhile
        loop.call_soon_threadsafe(loop.stop)
    if threading.current_thread() is not thread:
        thread.join(timeout=_SHUTDOWN_SECONDS)


async def _cancel_other_tasks() -> None:
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def submit(
    loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]
) -> concurrent.futures.Future[T]:
    """`asyncio.run_coroutine_threadsafe`, but the coroutine runs in a copy of the caller's
    context (the standard one runs it in the loop thread's context, losing context variables)."""
    context = contextvars.copy_context()
    outcome: concurrent.futures.Future[T] = concurrent.futures.Future()

    def start() -> None:
        task = loop.create_task(coroutine, context=context)
        task.add_done_callback(lambda done: _settle(done, outcome))

    loop.call_soon_threadsafe(start)
    return outcome


def _settle(task: asyncio.Task[T], outcome: concurrent.futures.Future[T]) -> None:
    if task.cancelled():
        outcome.cancel()
    elif (error := task.exception()) is not None:
        outcome.set_exception(error)
    else:
        outcome.set_result(task.result())
