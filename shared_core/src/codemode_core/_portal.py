"""A private event loop on a background thread, for calling async code from sync code.

`CodeMode.run_sync` uses one per `CodeMode`, so every synchronous run lands on the same loop:
resources bound to a loop (isolated worker pipes, connector sessions) survive between calls,
and calling from inside another running loop's thread cannot deadlock it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["Portal", "submit"]

T = TypeVar("T")


class Portal:
    """Runs coroutines on a dedicated loop thread; started lazily, stopped by `stop()`."""

    def __init__(self, name: str = "codemode-portal") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

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
        if not self._loop.is_running():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
            self._loop.close()


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
