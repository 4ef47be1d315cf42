"""The objects a plan calls: `tools.*`, `codemode.*` and a safe `asyncio`.

They are thin proxies over a `Bridge`: calling a tool returns a `PendingCall`, which does
nothing until awaited, and which refuses every other use with an error that names the plan
line and the fix ("add `await`"). The proxies keep their state in private slots (the policy
forbids `_` attributes), expose no methods of their own, and cannot be copied; a plan never
receives a real asyncio task, future or loop.
"""

from __future__ import annotations

import asyncio
import difflib
import inspect
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any

from codemode_core.errors import BudgetExceeded, StopPlan, ToolError
from codemode_core.sandbox._plan_numbers import no_limit, plan_seconds
from codemode_core.sandbox._plan_sync import PlanEvent, PlanLock, PlanQueue, PlanSemaphore
from codemode_core.sandbox._snippet_limits import MAX_SNIPPET_CHARS
from codemode_core.sandbox.executor import Bridge, Manifest
from codemode_core.sandbox.guards import (
    NotAwaitedError,
    PlanAbort,
    PlanRuntime,
    plan_line,
    register_pending_type,
    register_proxy_type,
)
from codemode_core.sandbox.rewrite import PLAN_FILENAME

__all__ = [
    "BudgetExceeded",
    "DiscoveryProxy",
    "PendingCall",
    "StopPlan",
    "ToolFunction",
    "ToolNamespace",
    "build_asyncio",
    "build_tools",
    "raised_by_plan",
]


@register_pending_type
class PendingCall:
    """An unstarted tool or discovery call; `await` runs it, any other use is an error."""

    __slots__ = ("_args", "_awaited", "_label", "_line", "_runtime", "_start")

    def __init__(
        self,
        runtime: PlanRuntime,
        label: str,
        line: int | None,
        start: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
    ) -> None:
        self._runtime = runtime
        self._label = label
        self._line = line
        self._start = start
        self._args = args
        self._awaited = False
        runtime.pending_calls.append(self)

    def __await__(self) -> Generator[Any, None, Any]:
        self._awaited = True
        call = _bridged(self._runtime, self._line, self._start, self._args, self._label)
        return (yield from call.__await__())

    def _codemode_not_awaited(self) -> NotAwaitedError:
        self._awaited = True  # reported once, here
        return NotAwaitedError(
            f"line {self._line}: `{self._label}(...)` was used without `await`. "
            f"Write `await {self._label}(...)`."
        )

    def __repr__(self) -> str:
        return f"<not awaited: {self._label}(...) at line {self._line}>"

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise self._codemode_not_awaited()

    __bool__ = __iter__ = __len__ = __getitem__ = __contains__ = _refuse
    __str__ = __format__ = __add__ = __radd__ = __sub__ = __mul__ = __lt__ = __gt__ = _refuse
    __reduce_ex__ = _refuse


async def _bridged(
    runtime: PlanRuntime,
    line: int | None,
    start: Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    label: str,
) -> Any:
    """One call through the bridge: budget check first, host errors made plan-safe; the
    result is remembered with its tool and line (`_provenance`) for error messages."""
    runtime.check()
    try:
        value = await start(*args)
        runtime.results.append((value, label, line))
        return value
    except StopPlan as exc:
        if exc.kind == "paused":
            runtime.pause(str(exc), line=line)
        runtime.abort("diverged" if exc.kind == "diverged" else "budget", str(exc), line=line)
    except ToolError as exc:
        if raised_by_plan(exc):
            raise  # a snippet's own `raise ToolError(...)`: the plan's, not a tool's failure
        error = ToolError(exc.message, tool=exc.tool)
    # Raised outside the `except` block so the plan's exception carries no host context.
    raise error


def raised_by_plan(exc: BaseException) -> bool:
    """Whether plan code (a plan's or a snippet's own `raise`) raised `exc`, not the host.

    Plans may raise `ToolError` themselves, naming any tool they like; only errors that come
    out of the bridge are tool failures. The innermost frame of the traceback is where the
    exception was raised: re-raising a caught tool failure keeps it the host's.
    """
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename == PLAN_FILENAME


def direct_call(line: int, fn: Any, /, *args: Any, **kwargs: Any) -> Awaitable[Any]:
    """`await tools.x(...)` as compiled: a tool call starts at once, with its line known."""
    if type(fn) is ToolFunction:
        qualified = fn._qualified
        return _bridged(
            fn._runtime, line, fn._bridge.call_tool, (qualified, args, kwargs, line), qualified
        )
    result = fn(*args, **kwargs)
    if type(result) is PendingCall:
        result._awaited = True
    return awaitable(result)


def unawaited_calls(runtime: PlanRuntime) -> list[PendingCall]:
    return [call for call in runtime.pending_calls if not call._awaited]


class ToolFunction:
    """`tools.x` (or `tools.ns.x`): calling it starts nothing until awaited."""

    __slots__ = ("_bridge", "_qualified", "_runtime")

    def __init__(self, runtime: PlanRuntime, bridge: Bridge, qualified: str) -> None:
        self._runtime = runtime
        self._bridge = bridge
        self._qualified = qualified

    def __call__(self, *args: Any, **kwargs: Any) -> PendingCall:
        line = plan_line(2)
        return PendingCall(
            self._runtime,
            self._qualified,
            line,
            self._bridge.call_tool,
            (self._qualified, args, kwargs, line),
        )

    def __repr__(self) -> str:
        return f"<tool {self._qualified}>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("tools cannot be copied")


@register_proxy_type
class ToolNamespace:
    """`tools` and `tools.<namespace>`: attribute access yields tools and sub-namespaces."""

    __slots__ = ("_members", "_path")

    def __init__(self, path: str, members: Mapping[str, ToolFunction | ToolNamespace]) -> None:
        self._path = path
        self._members = dict(members)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._members[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._members), n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise AttributeError(
                f"`{self._path}` has no tool or namespace `{name}`.{hint} "
                "Use `await codemode.search(...)` to find tools."
            ) from None

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)

    def __dir__(self) -> list[str]:
        return sorted(self._members)

    def __repr__(self) -> str:
        return f"<{self._path}: {', '.join(sorted(self._members))}>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("tools cannot be copied")


def build_tools(runtime: PlanRuntime, bridge: Bridge, manifest: Manifest) -> ToolNamespace:
    """The `tools` proxy tree, built from plain manifest data."""
    children: dict[str, ToolFunction | ToolNamespace] = {}
    for namespace, identifiers in sorted(manifest.namespaces.items()):
        prefix = f"tools.{namespace}" if namespace else "tools"
        members = {i: ToolFunction(runtime, bridge, f"{prefix}.{i}") for i in identifiers}
        if namespace:
            children[namespace] = ToolNamespace(prefix, members)
        else:
            children.update(members)
    return ToolNamespace("tools", children)


@register_proxy_type
class DiscoveryProxy:
    """`codemode.search(query)` and `codemode.describe(name)` inside plans."""

    __slots__ = ("_bridge", "_runtime")

    def __init__(self, runtime: PlanRuntime, bridge: Bridge) -> None:
        self._runtime = runtime
        self._bridge = bridge

    def search(self, query: str, limit: int = 10) -> PendingCall:
        """Ranked tools for a natural-language query: [{name, summary, signature}, ...]."""
        return PendingCall(
            self._runtime,
            "codemode.search",
            plan_line(2),
            self._bridge.search,
            (str(query), int(limit)),
        )

    def describe(self, name: Any) -> PendingCall:
        """The stub text of a tool, namespace or type, e.g. `"tools.github.create_issue"`."""
        if isinstance(name, ToolFunction):
            name = name._qualified
        elif isinstance(name, ToolNamespace):
            name = name._path
        return PendingCall(
            self._runtime, "codemode.describe", plan_line(2), self._bridge.describe, (str(name),)
        )

    def save_snippet(
        self,
        name: str,
        code: str,
        description: str = "",
        parameters: dict[str, Any] | None = None,
    ) -> PendingCall:
        """Save `code` as `snippets.plans.<name>(**parameters)` for later plans (validated
        first, on the host). Too long a snippet is refused here, before it is sent."""
        code = str(code)
        if len(code) > MAX_SNIPPET_CHARS:
            raise ToolError(
                f"the snippet's code is {len(code):,} characters; the limit is "
                f"{MAX_SNIPPET_CHARS:,}. Save a shorter plan.",
                tool="codemode.save_snippet",
            )
        return PendingCall(
            self._runtime,
            "codemode.save_snippet",
            plan_line(2),
            self._bridge.save_snippet,
            (str(name), code, str(description), dict(parameters or {})),
        )

    def __repr__(self) -> str:
        return "<codemode: search(query, limit=10), describe(name), save_snippet(...)>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("codemode cannot be copied")


async def _ready(value: Any) -> Any:
    return value


def awaitable(value: Any) -> Awaitable[Any]:
    """`await x` on a plain value gives the value (auto-await may have resolved it already)."""
    if inspect.isawaitable(value):
        return value
    return _ready(value)


class _Timeout:
    """`async with asyncio.timeout(s):` without handing the plan asyncio's own object."""

    __slots__ = ("_cm", "_delay")

    def __init__(self, delay: Any) -> None:
        # Checked here, at the plan's line: asyncio would put a NaN deadline on the loop.
        self._delay = no_limit(plan_seconds(delay, "asyncio.timeout()'s delay", none_ok=True))
        self._cm: Any = None

    async def __aenter__(self) -> None:
        self._cm = asyncio.timeout(self._delay)
        await self._cm.__aenter__()

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        result: bool | None = await self._cm.__aexit__(*exc_info)
        return result

    def __repr__(self) -> str:
        return f"<asyncio.timeout({self._delay!r})>"


def build_asyncio(runtime: PlanRuntime) -> dict[str, Any]:
    """The plan's `asyncio`: gather/sleep/wait_for/timeout bound to the execution's budgets,
    and proxies of the synchronization primitives. Every object it returns is opaque or a
    proxy of ours: no loop, future or task is reachable (no `create_task`: a task could
    outlive the plan)."""

    async def boxed(aw: Awaitable[Any]) -> tuple[bool, Any]:
        try:
            return True, await aw
        except (Exception, asyncio.CancelledError, PlanAbort) as exc:
            return False, exc

    async def gather(*aws: Any, return_exceptions: bool = False) -> list[Any]:
        """Run awaitables concurrently; results in order. Plain values pass through."""
        runtime.check()
        slots: list[Any] = []
        tasks: list[asyncio.Task[tuple[bool, Any]]] = []
        for aw in aws:
            if inspect.isawaitable(aw):
                if isinstance(aw, PendingCall):
                    aw._awaited = True
                task = asyncio.ensure_future(boxed(aw))
                tasks.append(task)
                slots.append(task)
            else:
                slots.append(_Plain(aw))
        if tasks:
            try:
                await asyncio.wait(tasks)
            except asyncio.CancelledError:
                for task in tasks:
                    task.cancel()
                raise
        results: list[Any] = []
        for slot in slots:
            if isinstance(slot, _Plain):
                results.append(slot.value)
                continue
            ok, value = slot.result()
            if ok:
                results.append(value)
            elif isinstance(value, PlanAbort) or not return_exceptions:
                raise value
            else:
                results.append(value)
        return results

    async def sleep(delay: float, result: Any = None) -> Any:
        seconds = plan_seconds(delay, "asyncio.sleep()'s delay", none_ok=False)
        runtime.check()
        remaining = runtime.remaining()
        if seconds >= remaining:
            await asyncio.sleep(max(0.0, remaining))
            runtime.check()
        await asyncio.sleep(seconds)
        return result

    async def wait_for(aw: Any, timeout: float | None) -> Any:
        if isinstance(aw, PendingCall):
            aw._awaited = True
        try:
            seconds = plan_seconds(timeout, "asyncio.wait_for()'s timeout", none_ok=True)
        except (TypeError, ValueError):
            if inspect.iscoroutine(aw):
                aw.close()  # never started: no "never awaited" warning on the host
            raise
        runtime.check()
        return await asyncio.wait_for(_as_coroutine(aw), no_limit(seconds))

    def timeout(delay: float | None) -> _Timeout:
        return _Timeout(delay)

    for function in (gather, sleep, wait_for):
        # What an unawaited coroutine's warning and repr show: the name the plan called.
        function.__qualname__ = function.__name__
    return {
        "gather": gather,
        "sleep": sleep,
        "wait_for": wait_for,
        "timeout": timeout,
        "Semaphore": PlanSemaphore,
        "Lock": PlanLock,
        "Event": PlanEvent,
        "Queue": PlanQueue,
        "QueueEmpty": asyncio.QueueEmpty,
        "QueueFull": asyncio.QueueFull,
        "TimeoutError": TimeoutError,
        "CancelledError": asyncio.CancelledError,
    }


class _Plain:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


async def _as_coroutine(aw: Any) -> Any:
    return await aw
