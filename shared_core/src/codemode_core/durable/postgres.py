"""`PostgresStore`: executions in a PostgreSQL database, shared by processes on many machines.

Built on psycopg 3's async driver and its connection pool (`pip install
'codemode-core[postgres]'`). The schema is the package's own: numbered migrations applied on
open under an advisory lock (`_postgres_schema.py`). `claim` is one conditional `UPDATE ...
RETURNING`: PostgreSQL's row lock makes a second resumer wait for the first to commit, then see
the row no longer paused, so exactly one process on any machine wins a paused execution.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

from codemode_core.durable._lease import INSERT_COLUMNS, claimable, insert_row, lease_lapsed
from codemode_core.durable.journal import ExecutionRecord, ExecutionState, JournalEntry
from codemode_core.durable.store import refusal, takeover_refusal
from codemode_core.errors import ConfigurationError, StoreError
from codemode_core.result import PendingApproval
from codemode_core.snippets import Snippet

try:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    from psycopg_pool import AsyncConnectionPool
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "PostgresStore needs psycopg 3 and psycopg-pool: pip install 'codemode-core[postgres]'"
    ) from exc

from codemode_core.durable._postgres_schema import lock_key, migrate, qualified

__all__ = ["PostgresStore"]

_COLUMNS = "code, seed, state, created_at, updated_at, expires_at, pending"
_INSERT = (
    f"INSERT INTO {{schema}}.codemode_executions ({INSERT_COLUMNS})"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_SECRET_KEYS = frozenset({"password", "sslpassword"})


class PostgresStore:
    """Executions and journals in PostgreSQL tables (created, and migrated, on open).

    Args:
        dsn_or_pool: A libpq connection string or URI (`"postgresql://user:pw@host/db"`),
            or a psycopg `AsyncConnectionPool` you manage (the store opens it if needed and
            never closes it).
        schema: The PostgreSQL schema holding the tables (created if missing), so several
            applications or tenants can share one database.
        min_size: Connections the store's own pool keeps open.
        max_size: Most connections the store's own pool opens at once.
        connect_timeout: Seconds to wait for the server on connect (unless the DSN sets it).

    The store connects on first use, or explicitly with `await store.open()` /
    `async with PostgresStore(...)`, which surfaces a wrong DSN at startup. Its connections
    belong to the event loop that opened it: use it from one loop at a time (after `aclose()`
    it reopens on next use, on whichever loop that is).
    """

    durable = True
    """Outlives the process: `CodeMode` journals every call here as it happens."""

    def __init__(
        self,
        dsn_or_pool: str | AsyncConnectionPool[Any],
        *,
        schema: str = "public",
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: int = 10,
    ) -> None:
        if isinstance(dsn_or_pool, AsyncConnectionPool):
            self._given_pool: AsyncConnectionPool[Any] | None = dsn_or_pool
            conninfo = dsn_or_pool.conninfo if isinstance(dsn_or_pool.conninfo, str) else ""
        elif isinstance(dsn_or_pool, str):
            self._given_pool = None
            conninfo = dsn_or_pool
        else:
            raise ConfigurationError(
                "PostgresStore takes a connection string (e.g. 'postgresql://user@host/db') "
                f"or a psycopg_pool.AsyncConnectionPool, got {dsn_or_pool!r}"
            )
        if not schema:
            raise ConfigurationError("PostgresStore(schema=...) must be a non-empty name")
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.ProgrammingError as exc:
            raise ConfigurationError(f"invalid PostgreSQL connection string: {exc}") from None
        params.setdefault("connect_timeout", connect_timeout)
        self._conninfo = make_conninfo(conninfo, connect_timeout=params["connect_timeout"])
        self.dsn = _redacted(params)
        """The connection string without its password: safe to log and show."""
        self.schema = schema
        self._pool_size = (min_size, max_size)
        self._pool: AsyncConnectionPool[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None

    # Lifecycle ------------------------------------------------------------------------

    async def open(self) -> PostgresStore:
        """Connect, apply any missing migrations, and start the pool (once; idempotent)."""
        await self._ready()
        return self

    async def __aenter__(self) -> PostgresStore:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the store's own pool (a pool you passed in stays open: it is yours). Using
        the store again reopens it."""
        pool, self._pool = self._pool, None
        self._loop = self._opening = None
        if pool is not None and pool is not self._given_pool:
            await pool.close()

    async def _ready(self) -> AsyncConnectionPool[Any]:
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop:
            raise StoreError(
                f"{self._where()}: it is open on another event loop, and its connections "
                "belong to that loop; use one PostgresStore per event loop (or `aclose()` it "
                "on the first loop before using it on another)"
            )
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening, self._loop = asyncio.Lock(), loop
        try:
            async with self._opening:
                if self._pool is None:
                    self._pool = await self._open_pool()
        except BaseException:
            if self._pool is None:  # nothing open: any loop may try again
                self._loop = self._opening = None
            raise
        return self._pool

    async def _open_pool(self) -> AsyncConnectionPool[Any]:
        if self._given_pool is not None:
            given = self._given_pool
            try:
                await given.open()
                async with given.connection() as conn:
                    await migrate(conn, self.schema)
            except psycopg.Error as exc:
                raise self._failure("open (connect and migrate the schema)", exc) from exc
            return given
        try:  # a direct connection first: its error says why (refused, auth, no database)
            async with await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True
            ) as conn:
                await migrate(conn, self.schema)
        except psycopg.Error as exc:
            raise self._failure("open (connect and migrate the schema)", exc) from exc
        min_size, max_size = self._pool_size
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            self._conninfo,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True},
            check=AsyncConnectionPool.check_connection,
            name=f"codemode-{self.schema}",
            open=False,
        )
        await pool.open()
        return pool

    @asynccontextmanager
    async def _transaction(self, action: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection inside one transaction; driver errors become `StoreError`."""
        pool = await self._ready()
        try:
            async with pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.Error as exc:
            raise self._failure(action, exc) from exc

    def _where(self) -> str:
        return f"PostgreSQL store at {self.dsn or '(libpq defaults)'}, schema {self.schema!r}"

    def _failure(self, action: str, exc: psycopg.Error) -> StoreError:
        detail = " ".join(str(exc).split()) or type(exc).__name__  # libpq spans lines
        message = f"{self._where()}: {action} failed: {detail}"
        if isinstance(exc, psycopg.OperationalError):
            message += (
                " (check that the server is running and reachable from this machine, and the "
                "host, port, user, password and dbname of the connection string)"
            )
        return StoreError(message)

    def _sql(self, text: str) -> psycopg.sql.Composed:
        return qualified(text, self.schema)

    # The Store protocol ---------------------------------------------------------------

    async def create(self, record: ExecutionRecord) -> None:
        async with self._transaction("create an execution") as conn:
            await conn.execute(self._sql(_INSERT), insert_row(record))

    async def start(
        self, record: ExecutionRecord, *, now: float, lease_until: float
    ) -> ExecutionRecord:
        execution_id = record.execution_id
        async with self._transaction("start an execution") as conn:
            cursor = await conn.execute(
                self._sql(f"{_INSERT} ON CONFLICT (id) DO NOTHING"),
                insert_row(record, lease_until),
            )
            if cursor.rowcount == 1:
                return record
            # The row lock makes a second taker wait, then see the lease renewed: one wins.
            cursor = await conn.execute(
                self._sql(
                    "UPDATE {schema}.codemode_executions SET lease_until = %s, updated_at = %s"
                    f" WHERE id = %s AND {lease_lapsed('%s')}"
                    f" RETURNING {_COLUMNS}"
                ),
                (lease_until, now, execution_id, now),
            )
            row = await cursor.fetchone()
            if row is not None:
                return ExecutionRecord.from_row(
                    execution_id, row, await self._journal(conn, execution_id)
                )
        raise takeover_refusal(await self.load(execution_id), execution_id)

    async def heartbeat(self, execution_id: str, *, lease_until: float) -> None:
        async with self._transaction("renew an execution's lease") as conn:
            await conn.execute(
                self._sql(
                    "UPDATE {schema}.codemode_executions SET lease_until = %s"
                    " WHERE id = %s AND state = 'running'"
                ),
                (lease_until, execution_id),
            )

    async def append(self, execution_id: str, entries: Sequence[JournalEntry]) -> None:
        if not entries:
            return
        rows = [(execution_id, e.seq, e.to_json()) for e in entries]
        async with self._transaction("append journal entries") as conn, conn.cursor() as cur:
            await cur.executemany(
                self._sql(
                    "INSERT INTO {schema}.codemode_journal (execution_id, seq, entry)"
                    " VALUES (%s, %s, %s)"
                ),
                rows,
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
        async with self._transaction("record how an execution ended") as conn:
            await conn.execute(
                self._sql(
                    "UPDATE {schema}.codemode_executions SET state = %s, pending = %s,"
                    " expires_at = %s, updated_at = %s WHERE id = %s"
                ),
                (state, text.pending_json(), expires_at, now, execution_id),
            )

    async def _journal(
        self, conn: psycopg.AsyncConnection[Any], execution_id: str
    ) -> list[JournalEntry]:
        cursor = await conn.execute(
            self._sql(
                "SELECT entry FROM {schema}.codemode_journal WHERE execution_id = %s ORDER BY seq"
            ),
            (execution_id,),
        )
        return [JournalEntry.from_json(row[0]) for row in await cursor.fetchall()]

    async def load(self, execution_id: str) -> ExecutionRecord | None:
        async with self._transaction("load an execution") as conn:
            cursor = await conn.execute(
                self._sql(f"SELECT {_COLUMNS} FROM {{schema}}.codemode_executions WHERE id = %s"),
                (execution_id,),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            return ExecutionRecord.from_row(
                execution_id, row, await self._journal(conn, execution_id)
            )

    async def claim(
        self, execution_id: str, *, now: float, lease_until: float | None = None
    ) -> ExecutionRecord:
        async with self._transaction("claim a paused execution") as conn:
            cursor = await conn.execute(
                self._sql(
                    "UPDATE {schema}.codemode_executions SET state = 'running', updated_at = %s,"
                    f" lease_until = %s WHERE id = %s AND ({claimable('%s')})"
                    f" RETURNING {_COLUMNS}"
                ),
                (now, lease_until, execution_id, now, now),
            )
            row = await cursor.fetchone()
            if row is not None:
                return ExecutionRecord.from_row(
                    execution_id, row, await self._journal(conn, execution_id)
                )
        raise refusal(await self.load(execution_id), execution_id, now)

    async def prune(self, *, now: float, keep: int) -> None:
        async with self._transaction("prune old executions") as conn:
            # One pruner at a time; the others skip (the one running does their work), so
            # processes finishing at once never deadlock on each other's deletes.
            cursor = await conn.execute(
                "SELECT pg_try_advisory_xact_lock(%s)", (lock_key(self.schema) + 1,)
            )
            locked = await cursor.fetchone()
            if not (locked and locked[0]):
                return
            await conn.execute(
                self._sql(
                    "DELETE FROM {schema}.codemode_executions WHERE state = 'paused'"
                    " AND expires_at IS NOT NULL AND expires_at <= %s"
                ),
                (now,),
            )
            await conn.execute(
                self._sql(
                    "DELETE FROM {schema}.codemode_executions WHERE id IN (SELECT id FROM"
                    " {schema}.codemode_executions WHERE state IN ('ok', 'error')"
                    " ORDER BY updated_at DESC, id OFFSET %s)"
                ),
                (keep,),
            )

    async def save_snippet(self, snippet: Snippet) -> None:
        async with self._transaction("save a snippet") as conn:
            await conn.execute(
                self._sql(
                    "INSERT INTO {schema}.codemode_snippets (name, snippet) VALUES (%s, %s)"
                    " ON CONFLICT (name) DO UPDATE SET snippet = excluded.snippet"
                ),
                (snippet.name, snippet.to_json()),
            )

    async def load_snippets(self) -> list[Snippet]:
        async with self._transaction("load snippets") as conn:
            cursor = await conn.execute(self._sql("SELECT snippet FROM {schema}.codemode_snippets"))
            return [Snippet.from_json(row[0]) for row in await cursor.fetchall()]

    async def delete_snippet(self, name: str) -> None:
        async with self._transaction("delete a snippet") as conn:
            await conn.execute(
                self._sql("DELETE FROM {schema}.codemode_snippets WHERE name = %s"), (name,)
            )


def _redacted(params: dict[str, Any]) -> str:
    """A connection string for messages: every parameter but the secrets."""
    shown = {key: value for key, value in params.items() if key not in _SECRET_KEYS}
    shown.pop("connect_timeout", None)
    return make_conninfo("", **shown)
