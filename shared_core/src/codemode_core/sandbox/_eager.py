"""Start a coroutine as a task that runs its first step at once (asyncio's eager start).

The isolated executor serves each tool call a worker sends as a task of its own. Most calls
finish without ever suspending (a plain function, a cached value), and a task that is only
scheduled costs two more event-loop turns per call: one to run its first step, one for its
done-callback. Eagerly started, such a call replies to the worker from inside the pipe's
reader callback, and a loop turn is the largest single cost of a call on a busy host.

It is always a real task, current while it runs: libraries a tool uses (anyio and sniffio
under httpx and pydantic-ai, `asyncio.timeout`) look for one. Python 3.12+ has this built in
(`eager_start=True`); on 3.11 a subclass of asyncio's pure-Python `Task` does the same thing
its 3.12 version does: run `__step` at once instead of scheduling it.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Coroutine
from typing import Any

__all__ = ["start_eagerly"]


def start_eagerly(
    coroutine: Coroutine[Any, Any, None],
    context: contextvars.Context,
    running: set[asyncio.Future[None]],
) -> asyncio.Future[None]:
    """Run `coroutine`'s first step now, as a task in `context`, and return the task; a task
    that suspended is kept in `running` (a strong reference) until it finishes. Must be called
    from a loop callback, not from inside a task (as asyncio's own eager start)."""
    loop = asyncio.get_running_loop()
    task: asyncio.Future[None]
    if sys.version_info >= (3, 12):
        task = asyncio.Task(coroutine, loop=loop, context=context, eager_start=True)
    else:
        task = _EagerTask311(coroutine, loop, context)
    if not task.done():
        running.add(task)
        task.add_done_callback(running.discard)
    return task


if sys.version_info < (3, 12):
    from asyncio import futures as _futures
    from asyncio import tasks as _tasks

    class _EagerTask311(_tasks._PyTask):  # type: ignore[name-defined,misc]  # stdlib, untyped
        """3.11's pure-Python `Task`, started the way 3.12 starts an eager task.

        `Task.__init__` would schedule `__step`; this sets the same fields and runs `__step`
        in the task's context at once (it enters and leaves the task itself). A task left
        pending is registered, so `asyncio.all_tasks()` sees it, as a scheduled task is.
        """

        def __init__(
            self,
            coroutine: Coroutine[Any, Any, None],
            loop: asyncio.AbstractEventLoop,
            context: contextvars.Context,
        ) -> None:
            _futures._PyFuture.__init__(self, loop=loop)  # type: ignore[attr-defined]
            self._name = "codemode-tool-call"
            self._num_cancels_requested = 0
            self._must_cancel = False
            self._fut_waiter = None
            self._coro = coroutine
            self._context = context
            context.run(self._Task__step)
            if not self.done():
                _tasks._register_task(self)
