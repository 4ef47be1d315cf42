"""`SQLiteStore`: executions in one SQLite file, shared by processes on one machine.

The embedded default when `CodeMode(store="path/to/file.sqlite")`: WAL mode lets readers and a
writer work at once, `BEGIN IMMEDIATE` makes `claim` a single atomic step across processes, and
calls run in a worker thread so a busy database never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from codemode_core.durable.journal import ExecutionRecord, ExecutionState, JournalEntry
from codemode_core.durable.store import refusal
from codemode_core.errors import StoreError
from codemode_core.result import PendingApproval
from codemode_core.snippets import Snippet

__all__ = ["SQLiteStore"]

T = TypeVar("T")

SCHEMA_VERSION = 2
_MIGRATIONS = [
    """
    CREATE TABLE IF NOT EXISTS codemode_executions (
        id TEXT PRIMARY KEY,
        code TEXT NOT NULL,
        seed INTEGER NOT NULL,
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        expires_at REAL,
        pending TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE IF NOT EXISTS codemode_journal (
        execution_id TEXT NOT NULL REFERENCES codemode_executions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        entry TEXT NOT NULL,
        PRIMARY KEY (execution_id, seq)
    );
    CREATE INDEX IF NOT EXISTS codemode_executions_state ON codemode_executions(state);
    """,
    """
    CREATE TABLE IF NOT EXISTS codemode_snippets (
        name TEXT PRIMARY KEY,
        snippet TEXT NOT NULL
    );
    """,
]


class SQLiteStore:
    """Executions and journals in a SQLite database file (created, and migrated, on open)."""

    durable = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._open()

    def _open(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            self._connection = None
            raise StoreError(f"cannot open the SQLite store at {self.path}: {exc}") from None
        return self._connection

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._connection is not None
        return self._connection

    def _migrate(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer codemode (schema {version}); upgrade"
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in filter(str.strip, _MIGRATIONS[step].split(";")):
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    async def _run(self, operation: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                self._open()  # closed by aclose(): reopened on use
                try:
                    return operation()
                except sqlite3.Error as exc:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise StoreError(f"SQLite store {self.path}: {exc}") from None

        return await asyncio.to_thread(locked)

    async def create(self, record: ExecutionRecord) -> None:
        def insert() -> None:
            self._db.execute(
                "INSERT INTO codemode_executions (id, code, seed, state, created_at, updated_at,"
                " expires_at, pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.execution_id,
                    record.code,
                    record.seed,
                    record.state,
                    record.created_at,
                    record.updated_at,
                    record.expires_at,
                    record.pending_json(),
                ),
            )

        await self._run(insert)

    async def append(self, execution_id: str, entries: Sequence[JournalEntry]) -> None:
        if not entries:
            return
        rows = [(execution_id, e.seq, e.to_json()) for e in entries]
        await self._run(
            lambda: self._db.executemany(
                "INSERT INTO codemode_journal (execution_id, seq, entry) VALUES (?, ?, ?)", rows
            )
        )

    async def finish(
        self,
        execution_id: str,
        state: ExecutionState,
        *,
        pending: Sequence[PendingApproval] = (),
        expires_at: float | None = None,
        now: float,
    ) -> None:
        text = ExecutionRecord(execution_id="", code="", seed=0, pending=tuple(pending))
        await self._run(
            lambda: self._db.execute(
                "UPDATE codemode_executions SET state = ?, pending = ?, expires_at = ?,"
                " updated_at = ? WHERE id = ?",
                (state, text.pending_json(), expires_at, now, execution_id),
            )
        )

    def _load(self, execution_id: str) -> ExecutionRecord | None:
        row = self._db.execute(
            "SELECT code, seed, state, created_at, updated_at, expires_at, pending"
            " FROM codemode_executions WHERE id = ?",
            (execution_id,),
        ).fetchone()
        if row is None:
            return None
        entries = self._db.execute(
            "SELECT entry FROM codemode_journal WHERE execution_id = ? ORDER BY seq",
            (execution_id,),
        ).fetchall()
        return ExecutionRecord.from_row(
            execution_id, row, [JournalEntry.from_json(e[0]) for e in entries]
        )

    async def load(self, execution_id: str) -> ExecutionRecord | None:
        return await self._run(lambda: self._load(execution_id))

    async def claim(self, execution_id: str, *, now: float) -> ExecutionRecord:
        def claim() -> ExecutionRecord | None:
            self._db.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes
            try:
                won = self._db.execute(
                    "UPDATE codemode_executions SET state = 'running', updated_at = ?"
                    " WHERE id = ? AND state = 'paused'"
                    " AND (expires_at IS NULL OR expires_at > ?)",
                    (now, execution_id, now),
                ).rowcount
                record = self._load(execution_id)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return record if won == 1 else None

        record = await self._run(claim)
        if record is None:
            raise refusal(await self.load(execution_id), execution_id, now)
        return record

    async def prune(self, *, now: float, keep: int) -> None:
        def prune() -> None:
            self._db.execute(
                "DELETE FROM codemode_executions WHERE state = 'paused'"
                " AND expires_at IS NOT NULL AND expires_at <= ?",
                (now,),
            )
            self._db.execute(
                "DELETE FROM codemode_executions WHERE id IN (SELECT id FROM"
                " codemode_executions WHERE state IN ('ok', 'error') ORDER BY updated_at DESC"
                " LIMIT -1 OFFSET ?)",
                (keep,),
            )

        await self._run(prune)

    async def save_snippet(self, snippet: Snippet) -> None:
        await self._run(
            lambda: self._db.execute(
                "INSERT INTO codemode_snippets (name, snippet) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET snippet = excluded.snippet",
                (snippet.name, snippet.to_json()),
            )
        )

    async def load_snippets(self) -> list[Snippet]:
        rows = await self._run(
            lambda: self._db.execute("SELECT snippet FROM codemode_snippets").fetchall()
        )
        return [Snippet.from_json(row[0]) for row in rows]

    async def delete_snippet(self, name: str) -> None:
        await self._run(
            lambda: self._db.execute("DELETE FROM codemode_snippets WHERE name = ?", (name,))
        )

    async def aclose(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
