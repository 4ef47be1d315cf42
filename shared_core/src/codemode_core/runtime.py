"""`CodeMode`: the public entry point that turns tools into one code tool and runs plans."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterable, Coroutine, Iterable, Mapping, Sequence
from functools import cached_property
from types import TracebackType
from typing import Any, Literal, TypeVar

from codemode_core._argument_bounds import ArgumentBudget, json_size
from codemode_core._jsonify import jsonify
from codemode_core._plan_stream import PlanWatcher
from codemode_core._portal import Portal, submit
from codemode_core._preflight import preflight_error
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
from codemode_core.dispatch.approve import ApproveCalls
from codemode_core.dispatch.journal import JournalCalls, StartCalls
from codemode_core.dispatch.speculate import ClaimSpeculated, Speculator
from codemode_core.durable.approvals import Approver, Decision, decision_from
from codemode_core.durable.failures import Stage, store_failure
from codemode_core.durable.journal import ExecutionRecord, ExecutionState, RunJournal, call_key
from codemode_core.durable.store import MemoryStore, Store
from codemode_core.errors import (
    ConfigurationError,
    ConnectorError,
    ResumeError,
    StoreError,
    ToolError,
)
from codemode_core.events import Observer, ProgressEvent, log, notify
from codemode_core.limits import Limits
from codemode_core.result import ExecutionError, ExecutionResult, PendingApproval
from codemode_core.sandbox import (
    ExecutionOutcome,
    ExecutionRequest,
    Executor,
    Manifest,
    resolve_executor,
)
from codemode_core.sandbox.rewrite import MAX_PLAN_CHARS
from codemode_core.snippets import (
    MAX_PLAN_SNIPPETS,
    MAX_SNIPPET_CHARS,
    MAX_SNIPPETS,
    Snippet,
    SnippetError,
    new_snippet,
    render_snippet_stubs,
    search_snippets,
    size_problem,
    usable_snippets,
    validate_snippet,
)
from codemode_core.tools import Tool

__all__ = ["CodeMode"]

T = TypeVar("T")

DiscoveryMode = Literal["full", "search", "auto"]

_SCALARS = frozenset({str, int, float, bool, type(None)})
"""Immutable results: handed to the plan as they are (nothing to copy)."""
_PREFLIGHT_CACHE_SIZE = 256
_MAX_NAME_CHARS = 300
"""The longest name `describe` looks up (tool paths and type names are far shorter)."""
_MAX_QUERY_CHARS = 500
"""What of a search query is searched (a query is a few words)."""
"""Plans whose pre-flight verdict is remembered (cleared when the catalog or snippets change)."""

_PRUNE_INTERVAL_SECONDS = 5.0
"""Expired and excess executions are dropped at most this often (not on every run)."""


class _Session:
    """The host side of one execution: what the sandbox's `tools`/`codemode` calls reach."""

    def __init__(self, code_mode: CodeMode, ctx: CallContext, dispatcher: Dispatcher) -> None:
        self._code_mode = code_mode
        self._ctx = ctx
        self._dispatcher = dispatcher
        self._arguments = ArgumentBudget(code_mode.limits)
        self.deliveries: list[asyncio.Future[None]] = []
        """Log events on their way to the observer; awaited before `run()` returns."""
        pending = ctx.journal.record.pending if ctx.journal is not None else ()
        self._paused_at = frozenset(call_key(p.tool, p.arguments) for p in pending)
        """A resumed run's paused calls: until it reaches one, what it prints was printed
        before the pause too (plans are deterministic), so those lines are `replayed`."""

    async def call_tool(
        self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any], line: int | None
    ) -> Any:
        if self.deliveries:  # lines printed before this call reach the observer before it
            pending, self.deliveries = self.deliveries, []
            await asyncio.gather(*pending)
        entry = self._code_mode.catalog.get(name)
        if entry is None:
            raise ToolError(f"there is no tool `{name}`", tool=name)
        args, kwargs = self._arguments.admit(name, args, kwargs)  # before anything is built
        mapping_error: ToolError | None = None
        try:
            arguments = entry.map_arguments(args, kwargs)
        except ToolError as exc:
            mapping_error = exc
            arguments = {**{str(i): a for i, a in enumerate(args)}, **kwargs}
        call = ToolCall(
            entry=entry, arguments=jsonify(arguments), line=line, mapping_error=mapping_error
        )
        if call_key(entry.qualified_name, call.arguments) in self._paused_at:
            self._paused_at = frozenset()  # past the pause point: new lines are new
        result = await self._dispatcher.dispatch(call, self._ctx)
        # The record and the journal keep the object the dispatch chain returned; the plan
        # gets its own copy, so what it does with the value cannot rewrite the host's record
        # of what the tool returned (in-process the plan would otherwise hold that very object).
        return result if type(result) in _SCALARS else jsonify(result)

    async def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        return self._code_mode._search(query, limit)

    async def save_snippet(
        self, name: str, code: str, description: str, parameters: Mapping[str, Any]
    ) -> str:
        # Measured before anything is built from it (a plan's snippet is bounded like its
        # tool calls' arguments); the size, then the code, are checked again when it is saved.
        if json_size([name, code, description, parameters], MAX_SNIPPET_CHARS) > MAX_SNIPPET_CHARS:
            raise ToolError(
                f"the snippet is over {MAX_SNIPPET_CHARS:,} characters (code, description and "
                "parameters), so it was not saved. Save a shorter plan.",
                tool="codemode.save_snippet",
            )
        try:
            snippet = await self._code_mode._save_snippet(
                name, code, description, parameters, by_plan=True
            )
        except (SnippetError, StoreError) as exc:  # the plan may handle it, like a tool's
            raise ToolError(str(exc), tool="codemode.save_snippet") from None
        return f"saved: later plans call it as `await snippets.{snippet.name}(...)`"

    async def describe(self, name: str) -> str:
        return self._code_mode.describe(name)

    def clock(self, value: float) -> None:
        if self._ctx.journal is not None:
            self._ctx.journal.record_clock(value, time.time())

    def log(self, text: str) -> None:
        observer = self._ctx.observer
        if observer is None:
            return
        event = ProgressEvent(
            kind="log",
            execution_id=self._ctx.execution_id,
            text=text,
            replayed=bool(self._paused_at),
        )
        self.deliveries.append(asyncio.ensure_future(notify(observer, event)))


async def _read_stream(deltas: AsyncIterable[str], watcher: PlanWatcher) -> str | None:
    """Feed every delta to the watcher; why the stream broke off, or None when it ended."""
    iterator = aiter(deltas)
    while True:
        try:
            delta = await anext(iterator)
        except StopAsyncIteration:
            return None
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if not isinstance(delta, str):
            close = getattr(iterator, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
            return f"a delta was {type(delta).__name__}, not str"
        try:
            watcher.feed(delta)
        except Exception:  # speculation only saves time: a bug in it must not cost the run
            log.exception("codemode: watching the streamed plan failed; no more early calls")
            watcher.stop()


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()


def _resolve_store(store: Store | str | os.PathLike[str] | None) -> Store:
    if store is None:
        return MemoryStore()
    if isinstance(store, str) and store.startswith(("postgresql://", "postgres://")):
        from codemode_core.durable.postgres import PostgresStore

        return PostgresStore(store)
    if isinstance(store, (str, os.PathLike)):
        from codemode_core.durable.sqlite import SQLiteStore

        return SQLiteStore(store)
    if not isinstance(store, Store):
        raise ConfigurationError(
            f"store must be a Store (MemoryStore, SQLiteStore, PostgresStore) or a path to a "
            f"SQLite file, got {store!r}"
        )
    return store


class CodeMode:
    """Expose many tools as one code tool, and run the plans a model writes against them.

    Args:
        tools: Neutral tools (`Tool`, `Tool.from_function(fn)`, or an adapter's conversion).
        limits: Budgets for every plan (`Limits()` defaults suit an agent loop).
        executor: Where plans run. Default: `"isolated"` (a warm pool of confined worker
            processes: memory and CPU caps, syscall filter) wherever the platform allows it;
            `"inprocess"` runs them on the caller's loop (faster, for trusted plans); or an
            `Executor` instance, e.g. `IsolatedExecutor(pool_size=8)`.
        discovery: `"full"` puts every stub in the description; `"search"` only an index,
            with `codemode.search`/`describe` in plans; `"auto"` picks by size.
        discovery_token_budget: Above this many (estimated) stub tokens, `"auto"` searches.
        store: Where executions and their journals are kept between a pause and `resume`:
            a `Store` (`MemoryStore`, `SQLiteStore`, `PostgresStore`), a file path for
            SQLite, or a `postgresql://` URL. Default: in memory (resumable within this process).
        approver: Decides calls to tools that `requires_approval` (sync or async; `True`,
            `approve`, `False`, `reject(reason)`, or `None` to leave it to a human). Without
            one, such a call pauses the execution (`status="paused"`) until `resume`.
        pause_ttl: Seconds a paused execution can be resumed (default 24 hours).
        max_executions: Finished executions kept in the store (the oldest are dropped).
        lease: Seconds a running execution stays claimed on a durable store without a
            heartbeat (sent every third of it while it runs). If its process dies, running
            the same `execution_id` and code again takes it over once the lease lapses.
        connectors: Sources of more tools (`MCPConnector`, `OpenAPIConnector`), each under its
            own namespace. `async with CodeMode(...)` (or `await open()`) connects them and
            `aclose()` closes them; each run reconnects one that has died.
    """

    def __init__(
        self,
        tools: Iterable[Tool] = (),
        *,
        limits: Limits | None = None,
        executor: str | Executor | None = None,
        discovery: DiscoveryMode = "auto",
        discovery_token_budget: int = 8_000,
        connectors: Sequence[Connector] = (),
        store: Store | str | os.PathLike[str] | None = None,
        approver: Approver | None = None,
        pause_ttl: float = 24 * 3600.0,
        max_executions: int = 1_000,
        lease: float = 30.0,
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
        if not lease > 0:
            raise ConfigurationError(f"lease must be a positive number of seconds, got {lease!r}")
        self.limits = limits or Limits()
        self._lease = lease
        self._tools = tuple(tools)
        self.catalog = Catalog(self._tools)
        self._connectors = tuple(connectors)
        self._connected: dict[int, Sequence[Tool]] = {}
        self._opened = False
        """`open()` succeeded (with `tolerate_failures`, possibly without every connector)."""
        self._tolerant = False
        """Opened with `tolerate_failures=True`: unreachable connectors do not fail runs."""
        """Connector index → the tools it gave at its last successful connect (in the catalog)."""
        self._executor = resolve_executor(executor)
        self._discovery: DiscoveryMode = discovery
        self._token_budget = discovery_token_budget
        self._durable_chain: Dispatcher = RecordCalls(
            JournalCalls(ApproveCalls(StartCalls(InvokeTool())))
        )
        self._plain_chain: Dispatcher = RecordCalls(InvokeTool())
        # A streamed plan's calls may be answered by calls started early (`run_stream`).
        self._streamed_chains: tuple[Dispatcher, Dispatcher] = (
            RecordCalls(JournalCalls(ApproveCalls(StartCalls(ClaimSpeculated(InvokeTool()))))),
            RecordCalls(ClaimSpeculated(InvokeTool())),
        )
        self.store: Store = _resolve_store(store)
        self._owns_store = not isinstance(store, Store)  # made here from a path: closed here
        self._journal_live = bool(getattr(self.store, "durable", True))
        self._approver = approver
        self._pause_ttl = pause_ttl
        self._max_executions = max_executions
        self._snippets: dict[str, Snippet] = {}
        self._snippets_loaded = False
        self._pruned_at = 0.0
        self._index = SearchIndex(self.catalog)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._portal: Portal | None = None
        self._preflight_key: tuple[Any, ...] = ()
        self._preflight_cache: dict[str | bytes, ExecutionError | None] = {}

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
        """Stub text of a tool (`tools.x`), a namespace (`tools.ns`), a type (`Order`), or a
        snippet (`snippets.x`, or `snippets` for all)."""
        if len(name) > _MAX_NAME_CHARS:  # no name is this long: nothing is searched or echoed
            raise ToolError(
                f"nothing is named `{name[:60]}…` (a name of {len(name):,} characters; names "
                f"are at most {_MAX_NAME_CHARS}).",
                tool="codemode.describe",
            )
        name = name.strip()
        if name == "snippets" and self._snippets:
            return render_snippet_stubs(self._snippets)
        snippet = self._snippets.get(name.removeprefix("snippets."))
        if snippet is not None and name.startswith("snippets."):
            return render_snippet_stubs({snippet.name: snippet})
        if self.catalog.get(name) is not None or name.removeprefix("tools.") in (
            self.catalog.namespaces
        ):
            return self.catalog.render([name])
        type_text = self.catalog.render_type(name)
        if type_text is not None:
            return type_text
        hits = self._search(name, 3)
        hint = f" Close matches: {', '.join(h['name'] for h in hits)}." if hits else ""
        raise ToolError(f"nothing is named `{name}`.{hint}", tool="codemode.describe")

    # Connectors -----------------------------------------------------------------------

    async def open(self, *, tolerate_failures: bool = False) -> list[str]:
        """Connect every connector and add its tools (what `async with CodeMode(...)` does).

        Raises `ConnectorError` (after closing the ones that did connect) when one cannot.
        With `tolerate_failures=True` (a server that must keep serving the healthy upstreams)
        it starts with the connectors that did connect and returns why the others did not;
        each run tries those again, and their tools appear once they connect. That stays so
        for later `open()` calls (`async with`) until `aclose()`.
        """
        self._tolerant = self._tolerant or tolerate_failures
        failures = await self._connect()
        if failures and not self._tolerant:
            await self._close_connectors()
            raise ConnectorError("; ".join(failures))
        self._opened = True
        return failures

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
        if len(self._connected) < len(self._connectors) and not self._opened:
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

    def _search(self, query: str, limit: int) -> list[dict[str, Any]]:
        """Catalog matches, with matching snippets first (they are few, and made for reuse).

        A query is a few words: only its first `_MAX_QUERY_CHARS` characters are searched
        (ranking costs time in proportion to the query, and plans choose the query)."""
        query = query[:_MAX_QUERY_CHARS]
        found = search_snippets(self._snippets, query, limit)
        return (found + self._index.search(query, limit))[:limit]

    # Snippets -------------------------------------------------------------------------

    async def save_snippet(
        self,
        name: str,
        code: str,
        *,
        description: str = "",
        parameters: Mapping[str, Any] | None = None,
    ) -> Snippet:
        """Save a plan as `snippets.<name>(...)` for later plans (and other processes sharing
        the store). It must compile under the sandbox policy and call existing tools with
        arguments they accept; otherwise `SnippetError` lists every problem.

        Args:
            name: A lower-case identifier.
            code: The plan body; parameters are plain names in it.
            description: What it does (shown in stubs and search results).
            parameters: `{"month": "str"}`, `{"month": {JSON Schema}}` or an object schema.
        """
        return await self._save_snippet(name, code, description, parameters, by_plan=False)

    async def _save_snippet(
        self,
        name: str,
        code: str,
        description: str,
        parameters: Mapping[str, Any] | None,
        *,
        by_plan: bool,
    ) -> Snippet:
        """Validate and store a snippet; a plan's (`by_plan`) goes to `snippets.plans`, so it
        can never replace one the developer saved."""
        snippet = new_snippet(name, code, description, parameters, by_plan=by_plan)
        problems = [problem] if (problem := size_problem(snippet)) else []
        if not problems:  # compiling takes time: never on the event loop
            problems = await asyncio.to_thread(validate_snippet, snippet, self.catalog)
        if not problems:
            await self._refresh_snippets()
            others = [s for s in self._snippets.values() if s.name != snippet.name]
            if by_plan and sum(s.by_plan for s in others) >= MAX_PLAN_SNIPPETS:
                problems.append(
                    f"plans have saved {MAX_PLAN_SNIPPETS} snippets, the most they may; "
                    "reuse one, or ask the developer to delete some"
                )
            elif len(others) >= MAX_SNIPPETS:
                problems.append(
                    f"there are {MAX_SNIPPETS} snippets, the most plans can see; delete some first"
                )
        if problems:
            raise SnippetError(f"snippet {name!r} was not saved:\n- " + "\n- ".join(problems))
        await self.store.save_snippet(snippet)
        self._snippets[snippet.name] = snippet
        return snippet

    async def snippets(self) -> list[Snippet]:
        """The saved snippets (as the store has them now)."""
        await self._refresh_snippets()
        return sorted(self._snippets.values(), key=lambda s: s.name)

    async def delete_snippet(self, name: str) -> None:
        await self.store.delete_snippet(name)
        self._snippets.pop(name, None)

    async def _refresh_snippets(self) -> None:
        """A durable store is shared with other processes: read what they saved. A memory
        store is this process's: `save_snippet`/`delete_snippet` keep the copy current."""
        if self._journal_live or not self._snippets_loaded:
            self._snippets = usable_snippets(await self.store.load_snippets())
            self._snippets_loaded = True

    def _manifest(self) -> Manifest:
        manifest = self.catalog.manifest
        if not self._snippets:
            return manifest
        wire = {name: s.to_wire() for name, s in sorted(self._snippets.items())}
        return dataclasses.replace(manifest, snippets=wire)

    # Running plans --------------------------------------------------------------------

    async def run(
        self, code: str, *, observer: Observer | None = None, execution_id: str | None = None
    ) -> ExecutionResult:
        """Run one plan; never raises for anything the plan or its tools do.

        Args:
            code: The plan (Python source) the model wrote.
            observer: Receives a `ProgressEvent` as each tool call starts and ends and as each
                line is printed (sync or async callable).
            execution_id: Names the execution (default: a new random id), e.g. after the
                framework's own tool-call id, so that a re-run step can find it again. On a
                durable store, running an id whose process died (its lease lapsed) takes the
                execution over: calls journaled before the crash return their results without
                running again, and the plan continues live from there.

        Raises:
            ResumeError: `execution_id` names an execution that is still running elsewhere
                (its lease holds), paused (use `resume`), finished, or of another plan.
        """
        return await self._run(code, observer, execution_id, None)

    async def run_stream(
        self,
        deltas: AsyncIterable[str],
        *,
        observer: Observer | None = None,
        execution_id: str | None = None,
    ) -> ExecutionResult:
        """Run a plan the model is still writing, given as its stream of text deltas.

        While the text arrives, every complete call to a tool declared `read_only` (that needs
        no approval) with literal arguments starts at once; nothing else does. When the stream
        ends, the whole plan runs exactly as `run` runs it (pre-flight check, sandbox,
        approvals, journal), and each call it makes that was started early takes that call's
        result: one entry in `tool_calls`, marked `speculated`. `result.speculation` counts
        the early calls, and keeps those nobody claimed. See docs/streaming.md.

        Args:
            deltas: The plan's text in pieces, in order (e.g. a model's streamed tool-call
                argument deltas, already decoded to the code text).
            observer: As in `run`.
            execution_id: As in `run`.

        Returns:
            The `ExecutionResult` `run` would return, with `speculation` filled in. A stream
            that raises before it ends runs no plan: the result is an error of kind `stream`,
            and only read-only calls ran.

        Raises:
            ResumeError: as `run` does.
        """
        execution_id = execution_id or uuid.uuid4().hex
        speculator = Speculator(self.limits, execution_id)
        watcher = PlanWatcher(self.catalog, speculator)
        try:
            broken = await _read_stream(deltas, watcher)
            speculator.stop()  # the whole plan is known (or never will be): nothing more starts
            if broken is None:
                result = await self._run(watcher.text, observer, execution_id, speculator)
            else:  # the stream's failure, not the plan's: no plan runs, only reads ran
                failure = ExecutionError(
                    kind="stream",
                    message=f"the plan's stream broke off after {watcher.lines} line(s) "
                    f"({broken}); nothing ran but reads. Send the whole plan again.",
                )
                result = ExecutionResult(status="error", execution_id=execution_id, error=failure)
        finally:
            stats = await speculator.close()
        return dataclasses.replace(result, speculation=stats)

    async def _run(
        self,
        code: str,
        observer: Observer | None,
        execution_id: str | None,
        speculation: Speculator | None,
    ) -> ExecutionResult:
        if not isinstance(code, str):
            return ExecutionResult(
                status="error",
                execution_id=uuid.uuid4().hex,
                error=ExecutionError(
                    kind="syntax",
                    message=f"the plan must be a string of Python code, got {type(code).__name__}",
                ),
            )
        now = time.time()
        record = ExecutionRecord(
            execution_id=execution_id or uuid.uuid4().hex,
            code=code,
            seed=secrets.randbits(63),
            created_at=now,
            updated_at=now,
        )
        try:
            await self._refresh_snippets()
            if self._journal_live:
                record = await self.store.start(
                    record, now=now, lease_until=now + self._lease
                )  # a new execution, or one whose process died: taken over
        except StoreError as exc:
            return self._store_failed(record.execution_id, exc, "start")
        if record.code != code:
            with contextlib.suppress(StoreError):  # let it go: the lease lapses at once
                await self.store.heartbeat(record.execution_id, lease_until=now)
            raise ResumeError(
                f"execution {record.execution_id!r} was started with another plan; taking it "
                "over needs the same code (or use a new execution_id)"
            )
        return await self._execute(RunJournal(record), observer, speculation)

    async def resume(
        self,
        execution_id: str,
        decisions: Mapping[str, Decision | bool] | None = None,
        *,
        observer: Observer | None = None,
        record: ExecutionRecord | None = None,
    ) -> ExecutionResult:
        """Continue a paused execution with the humans' decisions on its pending requests.

        The plan runs again from the top; every call it made before the pause returns its
        journaled result (no tool runs twice), clock readings and random numbers repeat, and
        from the pause on it runs live. A rejected call raises `ToolError` in the plan.

        Args:
            execution_id: `ExecutionResult.execution_id` of the paused run.
            decisions: `{request_id: approve | reject(reason) | True | False}` for requests in
                `ExecutionResult.pending`; requests left out stay pending.
            record: The paused execution itself (`paused_record`), when it was kept outside
                this store, e.g. in a LangGraph checkpoint; it is put in the store first.

        Raises:
            ResumeError: unknown, expired, finished or already-resumed executions, and
                decisions for requests the execution does not have.
        """
        try:
            await self._refresh_snippets()
            journal = await self._claim(execution_id, dict(decisions or {}), record)
        except StoreError as exc:
            return self._store_failed(execution_id, exc, "resume")
        return await self._execute(journal, observer)

    async def _claim(
        self,
        execution_id: str,
        given: dict[str, Decision | bool],
        record: ExecutionRecord | None,
    ) -> RunJournal:
        """Claim the paused execution and build the journal its resumed run replays."""
        # Parsed before the claim: a malformed answer (a TypeError for the caller) must leave
        # the execution paused, so it can be answered again.
        parsed = {rid: decision_from(v, f"the decision for {rid!r}") for rid, v in given.items()}
        if record is not None:  # carried by the caller (e.g. in a framework's checkpoint)
            if record.execution_id != execution_id or record.state != "paused":
                raise ResumeError(
                    f"the record given is of execution {record.execution_id!r} "
                    f"({record.state}), not a paused {execution_id!r}"
                )
            if await self.store.load(execution_id) is None:
                await self.store.create(record)
        now = time.time()
        record = await self.store.claim(execution_id, now=now, lease_until=now + self._lease)
        by_id = {p.request_id: p for p in record.pending}
        unknown = sorted(set(given) - set(by_id))
        if unknown:
            await self.store.finish(
                execution_id,
                "paused",
                pending=record.pending,
                expires_at=record.expires_at,
                now=time.time(),
            )
            raise ResumeError(
                f"execution {execution_id!r} has no pending request {', '.join(unknown)}; "
                f"its pending requests are {', '.join(by_id) or 'none'}"
            )
        resolved: dict[str, Decision] = {}
        for request_id, decision in parsed.items():
            if decision is not None:
                pending = by_id[request_id]
                resolved[call_key(pending.tool, pending.arguments)] = decision
        journal = RunJournal(record, decisions=resolved)
        for pending in record.pending:  # undecided: asked again under the same id
            key = call_key(pending.tool, pending.arguments)
            if key not in resolved:
                journal.undecided[key] = pending
        return journal

    async def paused_record(self, execution_id: str) -> ExecutionRecord | None:
        """The stored record of a paused execution (to keep it elsewhere, e.g. in a
        framework's checkpoint, and `resume(..., record=...)` from it in another process)."""
        record = await self.store.load(execution_id)
        return record if record is not None and record.state == "paused" else None

    async def _execute(
        self, journal: RunJournal, observer: Observer | None, speculation: Speculator | None = None
    ) -> ExecutionResult:
        record = journal.record
        started = time.perf_counter()
        failure = await self._connector_failure() if self._connectors else None
        # A journal matters when something can read it: a durable store, a tool that may
        # pause, or a resumed run replaying one. Otherwise calls skip those layers entirely.
        journaled = self._journal_live or self.catalog.needs_approval or journal.replaying
        ctx = CallContext(
            execution_id=record.execution_id,
            limits=self.limits,
            observer=observer,
            journal=journal if journaled else None,
            approver=self._approver,
            speculation=speculation,
        )
        durable, plain = (
            (self._durable_chain, self._plain_chain)
            if speculation is None
            else self._streamed_chains
        )
        session = _Session(self, ctx, durable if journaled else plain)
        if self._journal_live:  # entries are durable before the plan sees them
            journal.sink = functools.partial(self.store.append, record.execution_id)
        if failure is None:  # calls that cannot succeed: say so before any of them runs
            failure = self._preflight(record.code)
        if failure is not None:  # a connector that never connected: say why, run nothing
            outcome = ExecutionOutcome(status="error", failure=failure)
        else:
            request = ExecutionRequest(
                record.code,
                self._manifest(),
                self.limits,
                record.execution_id,
                seed=record.seed,
                clock=journal.clock_readings,
            )
            heartbeat = (  # the lease is renewed while the plan runs, and only then
                asyncio.ensure_future(self._heartbeat(record.execution_id))
                if self._journal_live
                else None
            )
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
            finally:
                if heartbeat is not None:
                    heartbeat.cancel()
        if journal.store_error is not None:  # a call's entry could not be written: stopped
            outcome = dataclasses.replace(
                outcome,
                status="error",
                value=None,
                failure=store_failure(journal.store_error, "running"),
            )
        if session.deliveries:  # log lines were streamed as printed; let them arrive
            await asyncio.gather(*session.deliveries)
        pending = tuple(journal.new_pending)
        try:
            await self._keep(journal, outcome.status, pending)
        except StoreError as exc:  # the calls that ran stay in the result
            stage: Stage = outcome.status
            if journal.store_error is None:
                outcome = dataclasses.replace(
                    outcome, status="error", value=None, failure=store_failure(exc, stage)
                )
        result = self._result(record.execution_id, outcome, ctx, time.perf_counter() - started)
        if outcome.status == "paused":
            return dataclasses.replace(result, pending=pending)
        return result

    def _preflight(self, code: str) -> ExecutionError | None:
        """`_preflight.preflight_error`, remembered per plan text while the catalog and the
        snippets' signatures stay the same (models re-send plans; parsing costs per run)."""
        key = (
            self.catalog,
            *((n, tuple(s.parameter_names), tuple(s.required)) for n, s in self._snippets.items()),
        )
        if len(code) > MAX_PLAN_CHARS:  # refused unparsed, and never kept as a cache key
            return preflight_error(code, self.catalog, {})
        cache = self._preflight_cache
        if key != self._preflight_key or len(cache) >= _PREFLIGHT_CACHE_SIZE:
            cache.clear()
            self._preflight_key = key
        # A long plan is remembered by its digest: the cache holds 256 plans, not 256 copies
        # of up to 200,000 characters each.
        text: str | bytes = code if len(code) <= 4_096 else _digest(code)
        try:
            return cache[text]
        except KeyError:
            wire = {name: s.to_wire() for name, s in self._snippets.items()}
            found = cache[text] = preflight_error(code, self.catalog, wire)
            return found

    async def _keep(
        self, journal: RunJournal, status: str, pending: tuple[PendingApproval, ...]
    ) -> None:
        """Store what resuming needs. A durable store (SQLite, PostgreSQL) gets every entry as
        it happens, so a crash loses nothing; a memory store, which a crash loses anyway, only
        gets executions that pause, so plain runs cost nothing extra."""
        record, now = journal.record, time.time()
        added = journal.take_added()
        if status == "paused":
            expires_at = now + self._pause_ttl
            if self._journal_live:
                await self.store.append(record.execution_id, added)
                await self.store.finish(
                    record.execution_id, "paused", pending=pending, expires_at=expires_at, now=now
                )
            else:
                await self.store.create(
                    record.with_(
                        state="paused",
                        pending=pending,
                        expires_at=expires_at,
                        updated_at=now,
                        journal=(*record.journal, *added),
                    )
                )
            return
        state: ExecutionState = "ok" if status == "ok" else "error"
        if self._journal_live:
            await self.store.append(record.execution_id, added)
            await self.store.finish(record.execution_id, state, now=now)
        elif record.pending:  # a resumed execution finishing: resuming it again must refuse
            await self.store.finish(record.execution_id, state, now=now)
        if now - self._pruned_at > _PRUNE_INTERVAL_SECONDS:
            self._pruned_at = now
            try:
                await self.store.prune(now=now, keep=self._max_executions)
            except StoreError as exc:  # housekeeping: this run is recorded; the next prunes
                log.warning("codemode: pruning old executions failed: %s", exc)

    async def _heartbeat(self, execution_id: str) -> None:
        """Renew the lease while the run goes on, so no other process takes it over."""
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self.store.heartbeat(execution_id, lease_until=time.time() + self._lease)
            except StoreError as exc:  # the journal writes will report a lasting failure
                log.warning("codemode: renewing the lease of %s failed: %s", execution_id, exc)

    async def _connector_failure(self) -> ExecutionError | None:
        """Reconnect dead connectors; an error only if one has never connected.

        A connector that worked before and cannot reconnect keeps its tools in the catalog:
        their calls fail with the reason, and the rest of the plan still runs.
        """
        try:
            failures = await self._connect()
        except ConfigurationError as exc:  # e.g. a reconnected server now clashes by name
            return ExecutionError(kind="tool", message=str(exc))
        if len(self._connected) == len(self._connectors) or self._tolerant:
            return None  # tolerant: plans run against the connectors that are up
        return ExecutionError(kind="tool", message="; ".join(failures))

    def _store_failed(self, execution_id: str, exc: StoreError, stage: Stage) -> ExecutionResult:
        """A run or resume the store stopped before the plan started (nothing ran)."""
        failure = store_failure(exc, stage)
        return ExecutionResult(status="error", execution_id=execution_id, error=failure)

    def _result(
        self, execution_id: str, outcome: ExecutionOutcome, ctx: CallContext, duration: float
    ) -> ExecutionResult:
        return ExecutionResult(
            status=outcome.status,
            execution_id=execution_id,
            value=outcome.value,
            logs=outcome.logs,
            error=outcome.failure,
            tool_calls=RecordCalls.finished(ctx),
            duration=duration,
            max_output_chars=self.limits.max_output_chars,
            unexpected_results=tuple(ctx.unexpected),
        )

    def run_sync(self, code: str, *, observer: Observer | None = None) -> ExecutionResult:
        """Run a plan from synchronous code (`observer` as in `run`; called on the loop thread).

        Works with no event loop, from any thread, and from inside a running loop's thread. If
        this `CodeMode` was entered with `async with` on a loop that is still running in
        another thread, the plan runs on that loop, where its connections live; otherwise on a
        private background loop that persists between calls (so isolated workers stay warm).
        """
        return self._wait(self.run(code, observer=observer))

    def resume_sync(
        self,
        execution_id: str,
        decisions: Mapping[str, Decision | bool] | None = None,
        *,
        observer: Observer | None = None,
    ) -> ExecutionResult:
        """`resume` from synchronous code (on the same loop `run_sync` uses)."""
        return self._wait(self.resume(execution_id, decisions, observer=observer))

    def wait(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await `coroutine` from synchronous code, on the loop `run_sync` uses.

        For adapters whose synchronous path does more than one `run`: resume an execution
        kept elsewhere, then read the store, on the loop where the store and workers live.
        """
        return self._wait(coroutine)

    def _wait(self, coroutine: Coroutine[Any, Any, T]) -> T:
        home = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if home is not None and home.is_running() and home is not running:
            return submit(home, coroutine).result()
        if self._portal is None:
            self._portal = Portal()
        return self._portal.call(coroutine)

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

    async def _release(self) -> None:
        await self._executor.aclose()
        await self._close_connectors()
        self._opened = self._tolerant = False
        if self._owns_store:  # made here from a path; it reopens if used again
            await self.store.aclose()

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
