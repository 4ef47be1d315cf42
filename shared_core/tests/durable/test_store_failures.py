"""A store that fails while a plan runs: the run ends with an error of kind `store` that keeps
the calls already made; nothing is raised out of `run()`/`resume()` (issue #24)."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from codemode_core import CodeMode, StoreError
from codemode_core.durable import (
    ExecutionRecord,
    JournalEntry,
    MemoryStore,
    SQLiteStore,
    Store,
    approve,
)
from codemode_core.durable.journal import ExecutionState
from codemode_core.result import PendingApproval
from codemode_core.snippets import Snippet
from durable_support import REFUND_PLAN, Counter, shop_tools

TWO_READS = """
customer = await tools.find_customer(email="ada@example.com")
orders = await tools.open_orders(customer_id=customer["id"])
return len(orders)
"""


class FaultyStore:
    """Another store, whose methods named in `failing` raise `StoreError` (as a full disk or a
    lost server would) until they are removed from it."""

    def __init__(self, inner: Store, *failing: str) -> None:
        self.inner = inner
        self.durable = bool(getattr(inner, "durable", True))
        self.failing = set(failing)

    def _check(self, method: str) -> None:
        if method in self.failing:
            raise StoreError(f"test store: {method} failed: disk I/O error")

    async def create(self, record: ExecutionRecord) -> None:
        self._check("create")
        await self.inner.create(record)

    async def start(
        self, record: ExecutionRecord, *, now: float, lease_until: float
    ) -> ExecutionRecord:
        self._check("start")
        return await self.inner.start(record, now=now, lease_until=lease_until)

    async def heartbeat(self, execution_id: str, *, lease_until: float) -> None:
        await self.inner.heartbeat(execution_id, lease_until=lease_until)

    async def append(self, execution_id: str, entries: Sequence[JournalEntry]) -> None:
        self._check("append")
        await self.inner.append(execution_id, entries)

    async def finish(
        self,
        execution_id: str,
        state: ExecutionState,
        *,
        pending: Sequence[PendingApproval] = (),
        expires_at: float | None = None,
        now: float,
    ) -> None:
        self._check("finish")
        await self.inner.finish(
            execution_id, state, pending=pending, expires_at=expires_at, now=now
        )

    async def load(self, execution_id: str) -> ExecutionRecord | None:
        self._check("load")
        return await self.inner.load(execution_id)

    async def claim(
        self, execution_id: str, *, now: float, lease_until: float | None = None
    ) -> ExecutionRecord:
        self._check("claim")
        return await self.inner.claim(execution_id, now=now, lease_until=lease_until)

    async def prune(self, *, now: float, keep: int) -> None:
        self._check("prune")
        await self.inner.prune(now=now, keep=keep)

    async def save_snippet(self, snippet: Snippet) -> None:
        self._check("save_snippet")
        await self.inner.save_snippet(snippet)

    async def load_snippets(self) -> list[Snippet]:
        self._check("load_snippets")
        return await self.inner.load_snippets()

    async def delete_snippet(self, name: str) -> None:
        await self.inner.delete_snippet(name)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "runs.sqlite")


async def test_a_store_failing_after_the_plan_keeps_the_calls_that_ran(
    sqlite_store: SQLiteStore,
) -> None:
    counter = Counter()
    cm = CodeMode(
        shop_tools(counter), store=FaultyStore(sqlite_store, "finish"), executor="inprocess"
    )
    result = await cm.run(TWO_READS)
    assert result.status == "error" and result.error is not None
    assert result.error.kind == "store" and result.value is None
    assert "after the plan finished" in result.error.message
    assert "test store: finish failed: disk I/O error" in result.error.message
    assert [c.tool for c in result.tool_calls] == ["tools.find_customer", "tools.open_orders"]
    assert result.tool_calls[1].result == [
        {"id": 101, "total": 20.0},
        {"id": 102, "total": 40.0},
        {"id": 103, "total": 60.0},
    ]
    text = result.to_model()
    assert text.startswith("store error: the execution store failed after the plan finished")
    assert "running the plan again would repeat them" in text
    assert "Tool calls that already ran (2)" in text
    assert counter.counts == {"find_customer": 1, "open_orders": 1}
    await cm.aclose()


@pytest.mark.parametrize("idempotent", [False, True])
async def test_a_call_whose_journal_entry_cannot_be_written_stops_the_plan(
    sqlite_store: SQLiteStore, idempotent: bool
) -> None:
    """Entries are durable before the plan moves on. A tool that is not idempotent gets a
    `start` entry before it runs: if that cannot be written, it does not run. An idempotent
    one has none: it runs, and the plan stops before it sees the unjournaled result."""
    counter = Counter()
    tools = [dataclasses.replace(t, idempotent=idempotent) for t in shop_tools(counter)]
    cm = CodeMode(tools, store=FaultyStore(sqlite_store, "append"), executor="inprocess")
    result = await cm.run(TWO_READS)
    assert result.error is not None and result.error.kind == "store"
    assert result.error.message.startswith(
        "the execution store failed while the plan ran, so it was stopped before it could see "
        "a result that was not journaled (test store: append failed: disk I/O error)"
    )
    assert [c.tool for c in result.tool_calls] == ["tools.find_customer"]
    assert counter.counts == ({"find_customer": 1} if idempotent else {})
    await cm.aclose()


async def test_a_pause_the_store_cannot_record_is_an_error_not_a_pause(
    sqlite_store: SQLiteStore,
) -> None:
    counter = Counter()
    cm = CodeMode(
        shop_tools(counter), store=FaultyStore(sqlite_store, "finish"), executor="inprocess"
    )
    result = await cm.run(REFUND_PLAN)
    assert result.status == "error" and result.error is not None and not result.pending
    assert result.error.kind == "store"
    assert "the pause could not be recorded and this execution cannot be resumed" in (
        result.error.message
    )
    assert [c.tool for c in result.tool_calls] == ["tools.find_customer", "tools.open_orders"]
    await cm.aclose()


async def test_a_memory_store_failing_to_keep_a_pause_is_reported_the_same_way() -> None:
    counter = Counter()
    store = FaultyStore(MemoryStore(), "create")
    cm = CodeMode(shop_tools(counter), store=store, executor="inprocess")
    plain = await cm.run(TWO_READS)  # a memory store is not written unless the run pauses
    assert plain.ok and plain.value == 3
    result = await cm.run(REFUND_PLAN)
    assert result.error is not None and result.error.kind == "store"
    assert len(result.tool_calls) == 2
    await cm.aclose()


@pytest.mark.parametrize("failing", ["start", "load_snippets"])
async def test_a_store_failing_before_the_plan_runs_nothing(
    sqlite_store: SQLiteStore, failing: str
) -> None:
    counter = Counter()
    cm = CodeMode(
        shop_tools(counter), store=FaultyStore(sqlite_store, failing), executor="inprocess"
    )
    result = await cm.run(TWO_READS)
    assert result.error is not None and result.error.kind == "store"
    assert result.error.message.startswith(
        "the execution store failed before the plan ran, so nothing ran; run it again once the "
        "store is back"
    )
    assert result.tool_calls == () and counter.counts == {}
    await cm.aclose()


async def test_a_resume_the_store_fails_can_be_resumed_once_the_store_is_back(
    sqlite_store: SQLiteStore,
) -> None:
    counter = Counter()
    store = FaultyStore(sqlite_store)
    cm = CodeMode(shop_tools(counter), store=store, executor="inprocess")
    paused = await cm.run(REFUND_PLAN)
    request = paused.pending[0].request_id

    store.failing = {"claim"}
    failed = await cm.resume(paused.execution_id, {request: approve})
    assert failed.status == "error" and failed.error is not None
    assert failed.error.kind == "store" and failed.execution_id == paused.execution_id
    assert "before the execution could be resumed, so nothing ran" in failed.error.message
    assert "refund" not in counter.counts

    store.failing = set()
    done = await cm.resume(paused.execution_id, {request: approve})
    assert done.ok and done.value == {"order_id": 103, "refunded": 60.0}
    assert counter.counts == {"find_customer": 1, "open_orders": 1, "refund": 1}
    await cm.aclose()


async def test_a_failed_prune_does_not_fail_the_run(
    sqlite_store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    cm = CodeMode(
        shop_tools(Counter()), store=FaultyStore(sqlite_store, "prune"), executor="inprocess"
    )
    with caplog.at_level(logging.WARNING, logger="codemode"):
        result = await cm.run(TWO_READS)
    assert result.ok and result.value == 3
    assert "pruning old executions failed: test store: prune failed" in caplog.text
    await cm.aclose()


async def test_a_snippet_the_store_cannot_save_is_a_tool_error_the_plan_can_handle(
    sqlite_store: SQLiteStore,
) -> None:
    cm = CodeMode(
        shop_tools(Counter()),
        store=FaultyStore(sqlite_store, "save_snippet"),
        executor="inprocess",
    )
    plan = """
try:
    await codemode.save_snippet("count_orders", "return 1", "Count.", {})
except ToolError as e:
    return f"not saved: {e}"
"""
    result = await cm.run(plan)
    assert (
        result.ok and result.value == "not saved: test store: save_snippet failed: disk I/O error"
    )
    await cm.aclose()


async def test_sqlite_locked_past_its_timeout_is_a_store_error_then_serves_again(
    tmp_path: Path,
) -> None:
    """A real fault: another process holds the database's write lock longer than the store's
    `timeout`."""
    path = tmp_path / "runs.sqlite"
    counter = Counter()
    cm = CodeMode(shop_tools(counter), store=SQLiteStore(path, timeout=0.2), executor="inprocess")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = await cm.run(TWO_READS)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert locked.error is not None and locked.error.kind == "store"
    assert "database is locked" in locked.error.message and str(path) in locked.error.message
    assert counter.counts == {}
    again = await cm.run(TWO_READS)
    assert again.ok and again.value == 3
    await cm.aclose()
