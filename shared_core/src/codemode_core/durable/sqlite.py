"""`SQLiteStore`: executions in one SQLite file, shared by processes on one machine.

The embedded default when `CodeMode(store="path/to/file.sqlite")`: WAL mode lets readers and a
writer work at once, `BEGIN IMMEDIATE` makes `claim` a single atomic step across processes, and
calls run in a worker thread so a busy database never stalls the event loop.

One connection serves every thread of the process, one operation at a time under a lock. No
cursor may outlive that lock: a cursor dropped later (on the event loop's thread) resets its
prepared statement there, and the statement cache may by then have handed that very statement
to another thread's operation, which then fails with "bad parameter or other API misuse". So
operations read what they need and close their cursors (`_execute`, `_rows`) before returning.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

from codemode_core.durable._lease import INSERT_COLUMNS, claimable, insert_row, lease_lapsed
from codemode_core.durable.journal import ExecutionRecord, ExecutionState, JournalEntry
from codemode_core.durable.store import refusal, takeover_refusal
from codemode_core.errors import StoreError
from codemode_core.result import PendingApproval
from codemode_core.snippets import Snippet

__all__ = ["SQLiteStore"]

T = TypeVar("T")

SCHEMA_VERSION = 3
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
    """
    ALTER TABLE codemode_executions ADD COLUMN lease_until REAL;
    """,
]


_INSERT = f"INSERT INTO codemode_executions ({INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _execute(db: sqlite3.Connection, sql: str, parameters: Sequence[Any] = ()) -> int:
    """Run one statement and close its cursor (see the module docstring); its rowcount."""
    with closing(db.execute(sql, parameters)) as cursor:
        return cursor.rowcount


def _rows(db: sqlite3.Connection, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
    """Every row of a query, its cursor closed."""
    with closing(db.execute(sql, parameters)) as cursor:
        return cursor.fetchall()


class SQLiteStore:
    """Executions and journals in a SQLite database file (created, and migrated, on open).

    Args:
        path: The database file (created, with its directory, if missing).
        timeout: Seconds an operation waits for another process's write lock before it fails
            with `StoreError` ("database is locked"); a run meeting it ends with an error of
            kind `store`.
    """

    durable = True

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        with self._lock:
            self._open()

    def _open(self) -> sqlite3.Connection:
        """The connection, opened (and the schema migrated) if it is not; under the lock."""
        if self._connection is not None:
            return self._connection
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=self.timeout
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the SQLite store at {self.path}: {exc}") from None
        try:
            _execute(db, "PRAGMA journal_mode=WAL")
            _execute(db, "PRAGMA synchronous=NORMAL")
            _execute(db, "PRAGMA foreign_keys=ON")
            self._migrate(db)
        except BaseException as exc:
            db.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot open the SQLite store at {self.path}: {exc}") from None
            raise
        self._connection = db
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        _execute(db, "BEGIN IMMEDIATE")
        try:
            [(version,)] = _rows(db, "PRAGMA user_version")
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer codemode (schema {version}); upgrade"
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in filter(str.strip, _MIGRATIONS[step].split(";")):
                    _execute(db, statement)
            _execute(db, f"PRAGMA user_version={SCHEMA_VERSION}")
            _execute(db, "COMMIT")
        except BaseException:
            _execute(db, "ROLLBACK")
            raise

    async def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """`operation(connection)` in a worker thread, alone on the connection. It must
        return plain data, never a cursor (see the module docstring)."""

        def locked() -> T:
            with self._lock:
                db = self._open()  # closed by aclose(): reopened on use
                try:
                    result = operation(db)
                except sqlite3.Error as exc:
                    if db.in_transaction:
                        _execute(db, "ROLLBACK")
                    raise StoreError(f"SQLite store {self.path}: {exc}") from None
                if isinstance(result, sqlite3.Cursor):  # a bug here, never the caller's
                    result.close()
                    raise TypeError("a SQLiteStore operation returned a cursor")
                return result

        return await asyncio.to_thread(locked)

    async def create(self, record: ExecutionRecord) -> None:
        row = insert_row(record)
        await self._run(lambda db: _execute(db, _INSERT, row))

    async def start(
        self, record: ExecutionRecord, *, now: float, lease_until: float
    ) -> ExecutionRecord:
        execution_id = record.execution_id
        row = insert_row(record, lease_until)

        def start(db: sqlite3.Connection) -> tuple[bool, ExecutionRecord | None]:
            _execute(db, "BEGIN IMMEDIATE")  # one writer at a time, across processes
            try:
                if _execute(db, f"{_INSERT} ON CONFLICT(id) DO NOTHING", row):
                    _execute(db, "COMMIT")
                    return True, record
                won = _execute(
                    db,
                    "UPDATE codemode_executions SET lease_until = ?, updated_at = ?"
                    f" WHERE id = ? AND {lease_lapsed('?')}",
                    (lease_until, now, execution_id, now),
                )
                found = self._load(db, execution_id)
                _execute(db, "COMMIT")
            except BaseException:
                _execute(db, "ROLLBACK")
                raise
            return won == 1, found

        won, found = await self._run(start)
        if not won or found is None:
            raise takeover_refusal(found, execution_id)
        return found

    async def heartbeat(self, execution_id: str, *, lease_until: float) -> None:
        await self._run(
            lambda db: _execute(
                db,
                "UPDATE codemode_executions SET lease_until = ? WHERE id = ? AND state = 'running'",
                (lease_until, execution_id),
            )
        )

    async def append(self, execution_id: str, entries: Sequence[JournalEntry]) -> None:
        if not entries:
            return
        rows = [(execution_id, e.seq, e.to_json()) for e in entries]

        def insert(db: sqlite3.Connection) -> None:
            with closing(
                db.executemany(
                    "INSERT INTO codemode_journal (execution_id, seq, entry) VALUES (?, ?, ?)",
                    rows,
                )
            ):
                pass

        await self._run(insert)

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
            lambda db: _execute(
                db,
                "UPDATE codemode_executions SET state = ?, pending = ?, expires_at = ?,"
                " updated_at = ? WHERE id = ?",
                (state, text.pending_json(), expires_at, now, execution_id),
            )
        )

    @staticmethod
    def _load(db: sqlite3.Connection, execution_id: str) -> ExecutionRecord | None:
        rows = _rows(
            db,
            "SELECT code, seed, state, created_at, updated_at, expires_at, pending"
            " FROM codemode_executions WHERE id = ?",
            (execution_id,),
        )
        if not rows:
            return None
        entries = _rows(
            db,
            "SELECT entry FROM codemode_journal WHERE execution_id = ? ORDER BY seq",
            (execution_id,),
        )
        return ExecutionRecord.from_row(
            execution_id, rows[0], [JournalEntry.from_json(e[0]) for e in entries]
        )

    async def load(self, execution_id: str) -> ExecutionRecord | None:
        return await self._run(lambda db: self._load(db, execution_id))

    async def claim(
        self, execution_id: str, *, now: float, lease_until: float | None = None
    ) -> ExecutionRecord:
        def claim(db: sqlite3.Connection) -> ExecutionRecord | None:
            _execute(db, "BEGIN IMMEDIATE")  # one writer at a time, across processes
            try:
                won = _execute(
                    db,
                    "UPDATE codemode_executions SET state = 'running', updated_at = ?,"
                    f" lease_until = ? WHERE id = ? AND ({claimable('?')})",
                    (now, lease_until, execution_id, now, now),
                )
                record = self._load(db, execution_id)
                _execute(db, "COMMIT")
            except BaseException:
                _execute(db, "ROLLBACK")
                raise
            return record if won == 1 else None

        record = await self._run(claim)
        if record is None:
            raise refusal(await self.load(execution_id), execution_id, now)
        return record

    async def prune(self, *, now: float, keep: int) -> None:
        def prune(db: sqlite3.Connection) -> None:
            _execute(
                db,
                "DELETE FROM codemode_executions WHERE state = 'paused'"
                " AND expires_at IS NOT NULL AND expires_at <= ?",
                (now,),
            )
            _execute(
                db,
                "DELETE FROM codemode_executions WHERE id IN (SELECT id FROM"
                " codemode_executions WHERE state IN ('ok', 'error') ORDER BY updated_at DESC"
                " LIMIT -1 OFFSET ?)",
                (keep,),
            )

        await self._run(prune)

    async def save_snippet(self, snippet: Snippet) -> None:
        await self._run(
            lambda db: _execute(
                db,
                "INSERT INTO codemode_snippets (name, snippet) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET snippet = excluded.snippet",
                (snippet.name, snippet.to_json()),
            )
        )

    async def load_snippets(self) -> list[Snippet]:
        rows = await self._run(lambda db: _rows(db, "SELECT snippet FROM codemode_snippets"))
        return [Snippet.from_json(row[0]) for row in rows]

    async def delete_snippet(self, name: str) -> None:
        await self._run(
            lambda db: _execute(db, "DELETE FROM codemode_snippets WHERE name = ?", (name,))
        )

    async def aclose(self) -> None:
        def close() -> None:
            with self._lock:  # waits for an operation under way (in a thread, not the loop)
                if self._connection is not None:
                    self._connection.close()
                    self._connection = None

        await asyncio.to_thread(close)
