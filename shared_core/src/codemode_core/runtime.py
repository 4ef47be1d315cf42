"""`CodeMode`: the public entry point that turns tools into one code tool and runs plans."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from types import TracebackType
from typing import Any, Literal

from codemode_core._jsonify import jsonify
from codemode_core._portal import Portal
from codemode_core.catalog import Catalog
from codemode_core.connectors.base import Connector
from codemode_core.description import namespace_index, render_description
from codemode_core.discovery import SearchIndex
from codemode_core.dispatch import (
    CallContext,
    Dispatcher,
    InvokeTool,
    RecordCalls,
    ToolCall,
)
from codemode_core.errors import ConfigurationError, ConnectorError, ToolError
from codemode_core.events import Observer, ProgressEvent, notify
from codemode_core.limits import Limits
from codemode_core.result import ExecutionError, ExecutionResult
from codemode_core.sandbox import (
    ExecutionOutcome,
    ExecutionRequest,
    Executor,
    resolve_executor,
)
from codemode_core.tools import Tool

__all__ = ["CodeMode"]

DiscoveryMode = Literal["full", "search", "auto"]


class _Session:
    """The host side of one execution: what the sandbox's `tools`/`codemode` calls reach."""

    def __init__(self, code_mode: CodeMode, ctx: CallContext) -> None:
        self._code_mode = code_mode
        self._ctx = ctx
        self.deliveries: list[asyncio.Future[None]] = []
        """Log events on their way to the observer; awaited before `run()` returns."""

    async def call_tool(
        self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any], line: int | None
    ) -> Any:
        if self.deliveries:  # lines printed before this call reach the observer before it
            pending, self.deliveries = self.deliveries, []
            await asyncio.gather(*pending)
        entry = self._code_mode.catalog.get(name)
        if entry is None:
            raise ToolError(f"there is no tool `{name}`", tool=name)
        mapping_error: ToolError | None = None
        try:
            arguments = entry.map_arguments(args, kwargs)
        except ToolError as exc:
            mapping_error = exc
            arguments = {**{str(i): a for i, a in enumerate(args)}, **kwargs}
        call = ToolCall(
            entry=entry, arguments=jsonify(arguments), line=line, mapping_error=mapping_error
        )
        return await self._code_mode._dispatcher.dispatch(call, self._ctx)

    async def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        return self._code_mode._index.search(query, limit)

    async def describe(self, name: str) -> str:
        return self._code_mode.describe(name)

    def log(self, text: str) -> None:
        observer = self._ctx.observer
        if observer is None:
            return
        event = ProgressEvent(kind="log", execution_id=self._ctx.execution_id, text=text)
        self.deliveries.append(asyncio.ensure_future(notify(observer, event)))


class CodeMode:
    """Expose many tools as one code tool, and run the plans a model writes against them.

    Args:
        tools: Neutral tools (`Tool`, `Tool.from_function(fn)`, or an adapter's conversion).
        limits: Budgets for every plan (`Limits()` defaults suit an agent loop).
        executor: `"inprocess"` or an `Executor` instance.
        discovery: `"full"` puts every stub in the description; `"search"` only an index,
            with `codemode.search`/`describe` in plans; `"auto"` picks by size.
        discovery_token_budget: Above this many (estimated) stub tokens, `"auto"` searches.
        connectors: Sources of more tools (`MCPConnector`, `OpenAPIConnector`), each under its
            own namespace. `async with CodeMode(...)` (or `await open()`) connects them and
            `aclose()` closes them; each run reconnects one that has died.
    """

    def __init__(
        self,
        tools: Iterable[Tool] = (),
        *,
        limits: Limits | None = None,
        executor: str | Executor = "inprocess",
        discovery: DiscoveryMode = "auto",
        discovery_token_budget: int = 8_000,
        connectors: Sequence[Connector] = (),
    ) -> None:
        if limits is not None and not isinstance(limits, Limits):
            raise ConfigurationError(f"limits must be a codemode_core.Limits, got {limits!r}")
        if discovery not in ("full", "search", "auto"):
            raise ConfigurationError(
                f"discovery must be 'full', 'search' or 'auto', got {discovery!r}"
            )
        for connector in connectors:
            if not isinstance(connector, Connector):
                raise ConfigurationError(
                    f"connectors must be connector objects (MCPConnector, OpenAPIConnector), "
                    f"got {type(connector).__name__}"
                )
        self.limits = limits or Limits()
        self._tools = tuple(tools)
        self.catalog = Catalog(self._tools)
        self._connectors = tuple(connectors)
        self._connected: dict[int, Sequence[Tool]] = {}
        """Connector index → the tools it gave at its last successful connect (in the catalog)."""
        self._executor = resolve_executor(executor)
        self._discovery: DiscoveryMode = discovery
        self._token_budget = discovery_token_budget
        self._dispatcher: Dispatcher = RecordCalls(InvokeTool())
        self._index = SearchIndex(self.catalog)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._portal: Portal | None = None

    # What the model reads -------------------------------------------------------------

    @property
    def stubs(self) -> str:
        """The typed API as Python source (valid, type-checkable)."""
        self._require_connected()
        return self.catalog.stubs

    @cached_property
    def discovery_mode(self) -> Literal["full", "search"]:
        """The mode in effect (`"auto"` resolved against the token budget)."""
        if self._discovery != "auto":
            return self._discovery
        estimated_tokens = len(self.stubs) // 4
        return "search" if estimated_tokens > self._token_budget else "full"

    @cached_property
    def description(self) -> str:
        """The full text of the code tool's description: instructions plus the API."""
        if self.discovery_mode == "search":
            index = namespace_index(self.catalog.namespaces, self._namespace_summaries())
            return render_description(self.stubs, discovery=True, index=index)
        return render_description(self.stubs, discovery=False)

    def describe(self, name: str) -> str:
        """Stub text of a tool (`tools.x`), a namespace (`tools.ns`) or a type (`Order`)."""
        name = name.strip()
        if self.catalog.get(name) is not None or name.removeprefix("tools.") in (
            self.catalog.namespaces
        ):
            return self.catalog.render([name])
        type_text = self.catalog.render_type(name)
        if type_text is not None:
            return type_text
        hits = self._index.search(name, 3)
        hint = f" Close matches: {', '.join(h['name'] for h in hits)}." if hits else ""
        raise ToolError(f"nothing is named `{name}`.{hint}", tool="codemode.describe")

    # Connectors -----------------------------------------------------------------------

    async def open(self) -> None:
        """Connect every connector and add its tools (what `async with CodeMode(...)` does).

        Raises `ConnectorError` (after closing the ones that did connect) when one cannot.
        """
        failures = await self._connect()
        if failures:
            await self._close_connectors()
            raise ConnectorError("; ".join(failures))

    async def _connect(self) -> list[str]:
        """(Re)connect the connectors; rebuild the catalog if their tools changed."""
        failures: list[str] = []
        changed = False
        for index, connector in enumerate(self._connectors):
            try:
                tools = await connector.connect()
            except ConnectorError as exc:
                failures.append(str(exc))
                continue
            except Exception as exc:
                failures.append(f"{connector!r} failed to connect: {exc!r}")
                continue
            if self._connected.get(index) is not tools:
                self._connected[index] = tools
                changed = True
        if changed:
            connected = [t for i in sorted(self._connected) for t in self._connected[i]]
            self.catalog = Catalog([*self._tools, *connected])
            self._index = SearchIndex(self.catalog)
            for name in ("discovery_mode", "description"):
                self.__dict__.pop(name, None)
        return failures

    def _namespace_summaries(self) -> dict[str, str]:
        """Connector namespace → its one-line `description` (a server's or an API's title)."""
        summaries = {}
        for connector in self._connectors:
            text = getattr(connector, "description", None)
            namespace = self.catalog.namespace_identifier(getattr(connector, "namespace", None))
            if isinstance(text, str) and text and namespace:
                summaries[namespace] = text
        return summaries

    def _require_connected(self) -> None:
        if len(self._connected) < len(self._connectors):
            raise ConfigurationError(
                "the connectors are not connected yet, so their tools are unknown: use "
                "`async with CodeMode(...) as cm:` or `await cm.open()` first"
            )

    async def _close_connectors(self) -> None:
        for connector in self._connectors:
            try:
                await connector.aclose()
            except Exception:  # closing is best effort: one failure must not keep others open
                continue

    # Running plans --------------------------------------------------------------------

    async def run(self, code: str, *, observer: Observer | None = None) -> ExecutionResult:
        """Run one plan; never raises for anything the plan or its tools do.

        Args:
            code: The plan (Python source) the model wrote.
            observer: Receives a `ProgressEvent` as each tool call starts and ends and as each
                line is printed (sync or async callable).
        """
        execution_id = uuid.uuid4().hex
        started = time.perf_counter()
        ctx = CallContext(execution_id=execution_id, limits=self.limits, observer=observer)
        if not isinstance(code, str):
            outcome = ExecutionOutcome(
                status="error",
                failure=ExecutionError(
                    kind="syntax",
                    message=f"the plan must be a string of Python code, got {type(code).__name__}",
                ),
            )
        elif self._connectors and (failure := await self._connector_failure()):
            outcome = ExecutionOutcome(status="error", failure=failure)
        else:
            request = ExecutionRequest(code, self.catalog.manifest, self.limits, execution_id)
            session = _Session(self, ctx)
            try:
                outcome = await self._executor.execute(request, session)
            except Exception as exc:
                outcome = ExecutionOutcome(
                    status="error",
                    failure=ExecutionError(
                        kind="internal",
                        message=f"codemode internal error ({exc!r}); please report it",
                    ),
                )
            if session.deliveries:  # log lines were streamed as printed; let them arrive
                await asyncio.gather(*session.deliveries)
        return self._result(execution_id, outcome, ctx, time.perf_counter() - started)

    async def _connector_failure(self) -> ExecutionError | None:
        """Reconnect dead connectors; an error only if one has never connected.

        A connector that worked before and cannot reconnect keeps its tools in the catalog:
        their calls fail with the reason, and the rest of the plan still runs.
        """
        try:
            failures = await self._connect()
        except ConfigurationError as exc:  # e.g. a reconnected server now clashes by name
            return ExecutionError(kind="tool", message=str(exc))
        if len(self._connected) == len(self._connectors):
            return None
        return ExecutionError(kind="tool", message="; ".join(failures))

    def _result(
        self, execution_id: str, outcome: ExecutionOutcome, ctx: CallContext, duration: float
    ) -> ExecutionResult:
        return ExecutionResult(
            status=outcome.status,
            execution_id=execution_id,
            value=outcome.value,
            logs=outcome.logs,
            error=outcome.failure,
            tool_calls=tuple(record for record in ctx.records if record is not None),
            duration=duration,
            max_output_chars=self.limits.max_output_chars,
        )

    def run_sync(self, code: str) -> ExecutionResult:
        """Run a plan from synchronous code.

        Works with no event loop, from any thread, and from inside a running loop's thread. If
        this `CodeMode` was entered with `async with` on a loop that is still running in
        another thread, the plan runs on that loop, where its connections live; otherwise on a
        private background loop that persists between calls (so isolated workers stay warm).
        """
        home = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if home is not None and home.is_running() and home is not running:
            return asyncio.run_coroutine_threadsafe(self.run(code), home).result()
        if self._portal is None:
            self._portal = Portal()
        return self._portal.call(self.run(code))

    # Lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> CodeMode:
        self._loop = asyncio.get_running_loop()
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the executor (worker processes) and any open connections."""
        await self._release()
        self._loop = None
        if self._portal is not None:
            portal, self._portal = self._portal, None
            await asyncio.to_thread(portal.stop)

    def close(self) -> None:
        """`aclose()` for synchronous code."""
        if self._portal is not None:
            self._portal.call(self._release())
            self._portal.stop()
            self._portal = None
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self._release())
            return
        raise RuntimeError("inside a running event loop, use `await code_mode.aclose()`")

    async def _release(self) -> None:
        await self._executor.aclose()
        await self._close_connectors()
