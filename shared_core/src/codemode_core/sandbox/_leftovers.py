"""What a plan leaves behind when it ends, and how the executor ends it.

A plan's code can outlive the plan: a generator (sync or async) left suspended in a reference
cycle runs its `finally` or `except` block when the garbage collector finalizes it, at any later
moment (during another plan, or in the host's own code); a coroutine runs its `finally` when
its cancelled task next steps; code that reached the event loop can leave tasks and callbacks.
Three defences, in every executor:

- `refuse_from_now_on` turns every guard of the plan (`_cm_tick_`, `_getattr_`, `_cm_check_`,
  `_cm_final_` ...) into a refusal that raises `PlanEnded`. The compiler
  puts a guard at the top of every function body, `except` handler and `finally` block, so
  code left behind stops at its first line, whenever it is resumed: a finalizer runs nothing.

- `PlanGate` stands between the plan and its `Bridge`. When the plan ends, the gate shuts:
  any tool call, search, snippet save, log line or clock reading made afterwards is refused
  without reaching the host, so it is never executed and never recorded (into this plan's
  record, which is final, or into another's).
- `end_leftovers` finds what belongs to the plan on the loop (by its globals: every plan
  function's frame has the execution's own globals dict) and cancels tasks and callbacks
  and closes async generators at once, so nothing of the plan runs later.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

from codemode_core.errors import ToolError
from codemode_core.sandbox.executor import Bridge

__all__ = ["PlanEnded", "PlanGate", "end_leftovers", "refuse_from_now_on"]

log = logging.getLogger("codemode.sandbox")

_MAX_AWAIT_CHAIN = 64
_AGEN_STEPS = frozenset({"async_generator_athrow", "async_generator_asend"})


class PlanEnded(GeneratorExit):
    """Raised by every guard of a plan that has ended, so code it left behind stops at once.

    A `GeneratorExit`, so a generator finalized by the garbage collector closes quietly (no
    "Exception ignored" report on the host); a `BaseException` the plan cannot name, and every
    `except` handler that catches it starts with a guard that raises it again.
    """


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise PlanEnded("the plan has ended; code it left behind is not run")


def refuse_from_now_on(namespace: dict[str, Any]) -> None:
    """Replace the plan's guards (its `_`-named globals) by refusals, so that any plan code
    resumed after the plan ended raises `PlanEnded` at its first guard.

    The plan's functions keep their globals and builtins dicts; the driver clears the globals
    afterwards, and a global then missing falls back to the builtins: the refusals go there too.
    """
    refusals = {name: _refuse for name in namespace if name[:1] == "_" and name[:2] != "__"}
    namespace.update(refusals)
    builtins = namespace.get("__builtins__")
    if type(builtins) is dict:
        # The builtins themselves stay: code left behind reaches them only past a guard.
        builtins.update(refusals)


class PlanGate:
    """The plan's `Bridge` for as long as the plan runs; refuses everything afterwards."""

    __slots__ = ("_bridge", "open", "refused")

    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge
        self.open = True
        self.refused = 0
        """Calls refused after the plan ended (each is also logged for the developer)."""

    def shut(self) -> None:
        self.open = False

    def _refuse(self, what: str) -> ToolError:
        self.refused += 1
        log.warning(
            "codemode: code a plan left behind called %s after the plan ended; refused", what
        )
        return ToolError(f"{what} was called after the plan ended and was refused", tool=None)

    async def call_tool(
        self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any], line: int | None
    ) -> Any:
        if not self.open:
            raise self._refuse(str(name))
        return await self._bridge.call_tool(name, args, kwargs, line)

    async def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        if not self.open:
            raise self._refuse("codemode.search")
        return await self._bridge.search(query, limit)

    async def describe(self, name: str) -> str:
        if not self.open:
            raise self._refuse("codemode.describe")
        return await self._bridge.describe(name)

    async def save_snippet(
        self, name: str, code: str, description: str, parameters: Mapping[str, Any]
    ) -> str:
        if not self.open:
            raise self._refuse("codemode.save_snippet")
        return await self._bridge.save_snippet(name, code, description, parameters)

    def log(self, text: str) -> None:
        if self.open:
            self._bridge.log(text)

    def clock(self, value: float) -> None:
        if self.open:
            self._bridge.clock(value)


def end_leftovers(namespace: dict[str, Any]) -> int:
    """Cancel the plan's tasks and callbacks still on the running loop and close its
    suspended async generators; returns how many were found (0 for an honest plan).

    Synchronous, so it also runs when the plan's task is being cancelled. What the loop does
    not expose (another loop implementation than asyncio's own) is left to the gate.
    """
    refuse_from_now_on(namespace)
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    found = 0
    for task in asyncio.all_tasks(loop):
        if task is not current and _awaits_plan_code(task.get_coro(), namespace):
            task.cancel()
            task.add_done_callback(_retrieved)
            found += 1
    for handle in (*getattr(loop, "_ready", ()), *getattr(loop, "_scheduled", ())):
        if not handle.cancelled() and _plan_callback(handle, namespace):
            args = getattr(handle, "_args", None) or ()
            handle.cancel()
            found += 1
            for item in args:  # a coroutine it was to start: closed, not left unawaited
                if _frame_of(item) is not None and hasattr(item, "close"):
                    with contextlib.suppress(Exception):
                        item.close()
    for agen in list(getattr(loop, "_asyncgens", ())):
        frame = agen.ag_frame
        if frame is not None and frame.f_globals is namespace:
            found += 1
            _close_now(agen.aclose())
    return found


def _retrieved(task: asyncio.Task[Any]) -> None:
    """A cancelled leftover ends with `PlanEnded` when its `finally` is refused: retrieved
    here, so the host's log gets no "exception was never retrieved" for it."""
    if not task.cancelled():
        task.exception()


def _frame_of(obj: Any) -> FrameType | None:
    frame = getattr(obj, "cr_frame", None) or getattr(obj, "ag_frame", None)
    if frame is None and type(obj).__name__ in _AGEN_STEPS:
        # `agen.aclose()`/`asend()` objects (what the loop's finalizer hook runs as a task)
        # do not expose their generator, but the collector sees it among their referents.
        for referent in gc.get_referents(obj):
            frame = getattr(referent, "ag_frame", None) or frame
    return frame or getattr(obj, "gi_frame", None)


def _awaits_plan_code(coro: Any, namespace: dict[str, Any]) -> bool:
    """Whether plan code runs anywhere along the chain of awaits from `coro`."""
    for _ in range(_MAX_AWAIT_CHAIN):
        if coro is None:
            return False
        frame = _frame_of(coro)
        if frame is not None and frame.f_globals is namespace:
            return True
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return False


def _plan_callback(handle: asyncio.Handle, namespace: dict[str, Any]) -> bool:
    callback = getattr(handle, "_callback", None)
    args = getattr(handle, "_args", None) or ()
    for item in (callback, getattr(callback, "__self__", None), *args):
        if getattr(item, "__globals__", None) is namespace:
            return True
        frame = _frame_of(item)
        if frame is not None and frame.f_globals is namespace:
            return True
        if item is not None and any(item is value for value in namespace.values()):
            return True  # a method of the plan's `tools`, `codemode`, ... proxies
    return False


def _close_now(closing: Any) -> None:
    """Run an async generator's `aclose()` to its end or first suspension, right here; what
    its `finally` attempts is refused by the gate and the plan's exhausted budget."""
    try:
        closing.send(None)
    except (StopIteration, StopAsyncIteration):
        return
    except BaseException as exc:  # whatever the plan's `finally` raised: it is over
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return
    closing.close()  # it awaited something: abandon it
