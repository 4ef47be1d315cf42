"""What only the PostgreSQL store has: migrations, connection errors, pools, lazy import.

The behaviour every store shares is in test_stores.py; these run against the same real
server (see conftest.py), each test in a schema of its own.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

import postgres_support
from codemode_core import CodeMode, ConfigurationError, StoreError
from codemode_core.durable import ExecutionRecord, approve
from codemode_core.durable._postgres_schema import LATEST_VERSION, MIGRATIONS, qualified
from codemode_core.durable.postgres import PostgresStore
from codemode_core.snippets import Snippet
from durable_support import REFUND_PLAN, Counter, shop_tools
from postgres_support import start_postgres, stop_postgres


async def _applied(dsn: str, schema: str) -> list[tuple[int, str]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cursor = await conn.execute(
            psycopg.sql.SQL(
                "SELECT version, description FROM {}.codemode_migrations ORDER BY version"
            ).format(psycopg.sql.Identifier(schema))
        )
        return [(int(v), str(d)) for v, d in await cursor.fetchall()]


async def test_migrations_apply_once_and_reopening_changes_nothing(
    postgres_dsn: str, pg_schema: str
) -> None:
    expected = [(m.version, m.description) for m in MIGRATIONS]
    assert [v for v, _ in expected] == list(range(1, LATEST_VERSION + 1))
    async with PostgresStore(postgres_dsn, schema=pg_schema) as store:
        await store.create(ExecutionRecord(execution_id="kept", code="1", seed=1))
    assert await _applied(postgres_dsn, pg_schema) == expected
    async with PostgresStore(postgres_dsn, schema=pg_schema) as again:
        assert await again.load("kept") is not None  # reopening keeps the data
    assert await _applied(postgres_dsn, pg_schema) == expected


async def test_concurrent_openers_migrate_a_fresh_schema_exactly_once(
    postgres_dsn: str, pg_schema: str
) -> None:
    stores = [PostgresStore(postgres_dsn, schema=pg_schema, min_size=0) for _ in range(8)]
    await asyncio.gather(*(store.open() for store in stores))
    assert await _applied(postgres_dsn, pg_schema) == [
        (m.version, m.description) for m in MIGRATIONS
    ]
    for store in stores:
        await store.aclose()


async def test_a_schema_from_a_newer_codemode_is_refused(postgres_dsn: str, pg_schema: str) -> None:
    async with PostgresStore(postgres_dsn, schema=pg_schema):
        pass
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as conn:
        await conn.execute(
            psycopg.sql.SQL(
                "INSERT INTO {}.codemode_migrations (version, description) VALUES (%s, 'future')"
            ).format(psycopg.sql.Identifier(pg_schema)),
            (LATEST_VERSION + 1,),
        )
    with pytest.raises(StoreError, match=r"written by a newer codemode .*upgrade codemode-core"):
        await PostgresStore(postgres_dsn, schema=pg_schema).open()


async def test_an_unreachable_server_names_the_dsn_but_never_the_password() -> None:
    dsn = "postgresql://ada:s3cret-pw@/orders?host=/nonexistent/codemode-socket-dir&port=6543"
    store = PostgresStore(dsn, schema="audit")
    with pytest.raises(StoreError) as caught:
        await store.open()
    message = str(caught.value)
    assert "s3cret-pw" not in message and "s3cret-pw" not in repr(store.dsn)
    for part in (
        "user=ada",
        "dbname=orders",
        "host=/nonexistent/codemode-socket-dir",
        "port=6543",
        "schema 'audit'",
        "open (connect and migrate the schema) failed",
    ):
        assert part in message, message
    assert "check that the server is running" in message


async def test_a_missing_database_says_so(postgres_dsn: str) -> None:
    params = psycopg.conninfo.conninfo_to_dict(postgres_dsn)
    dsn = psycopg.conninfo.make_conninfo(postgres_dsn, dbname="no_such_db", password="hunter2")
    with pytest.raises(StoreError, match='database "no_such_db" does not exist') as caught:
        await PostgresStore(dsn).open()
    assert "hunter2" not in str(caught.value) and f"host={params['host']}" in str(caught.value)


def test_a_malformed_dsn_or_argument_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="invalid PostgreSQL connection string"):
        PostgresStore("host=localhost port")
    with pytest.raises(ConfigurationError, match="takes a connection string"):
        PostgresStore(42)  # type: ignore[arg-type]


async def test_a_pool_you_pass_is_used_and_left_open(postgres_dsn: str, pg_schema: str) -> None:
    pool: AsyncConnectionPool[psycopg.AsyncConnection[object]] = AsyncConnectionPool(
        postgres_dsn, min_size=1, max_size=2, open=False
    )
    counter = Counter()
    store = PostgresStore(pool, schema=pg_schema)
    cm = CodeMode(shop_tools(counter), store=store, executor="inprocess")
    paused = await cm.run(REFUND_PLAN)
    done = await cm.resume(paused.execution_id, {paused.pending[0].request_id: approve})
    assert done.ok and counter.counts == {"find_customer": 1, "open_orders": 1, "refund": 1}
    await store.aclose()
    assert not pool.closed
    assert await _applied(postgres_dsn, pg_schema)  # migrated through the pool
    async with pool.connection() as conn:  # still usable by its owner
        await conn.execute("SELECT 1")
    await pool.close()
    await cm.aclose()


async def test_one_loop_at_a_time_and_reopened_after_close(
    postgres_dsn: str, pg_schema: str
) -> None:
    store = await PostgresStore(postgres_dsn, schema=pg_schema).open()
    await store.create(ExecutionRecord(execution_id="x", code="1", seed=1))
    with pytest.raises(StoreError, match="open on another event loop"):
        await asyncio.to_thread(asyncio.run, store.load("x"))
    await store.aclose()

    async def elsewhere() -> ExecutionRecord | None:
        try:
            return await store.load("x")  # reopens, on this other loop
        finally:
            await store.aclose()

    assert await asyncio.to_thread(asyncio.run, elsewhere()) is not None
    assert await store.load("x") is not None  # and back here
    await store.aclose()


async def test_a_schema_at_an_older_version_is_upgraded_in_place(
    postgres_dsn: str, pg_schema: str
) -> None:
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as conn:
        await conn.execute(qualified("CREATE SCHEMA {schema}", pg_schema))
        await conn.execute(
            qualified(
                "CREATE TABLE {schema}.codemode_migrations (version integer PRIMARY KEY,"
                " description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                pg_schema,
            )
        )
        first = MIGRATIONS[0]
        for statement in first.statements:
            await conn.execute(qualified(statement, pg_schema))
        await conn.execute(
            qualified("INSERT INTO {schema}.codemode_migrations VALUES (1, %s)", pg_schema),
            (first.description,),
        )
        await conn.execute(
            qualified(
                "INSERT INTO {schema}.codemode_executions (id, code, seed, state, created_at,"
                " updated_at) VALUES ('old', 'return 1', 5, 'ok', 1, 2)",
                pg_schema,
            )
        )
    async with PostgresStore(postgres_dsn, schema=pg_schema) as store:
        old = await store.load("old")
        assert old is not None and (old.seed, old.state, old.updated_at) == (5, "ok", 2.0)
        await store.save_snippet(Snippet(name="s", code="return 1"))  # a version-2 table
    assert [v for v, _ in await _applied(postgres_dsn, pg_schema)] == list(
        range(1, LATEST_VERSION + 1)
    )


def test_psycopg_loads_only_when_postgres_store_is_used() -> None:
    script = textwrap.dedent(
        """
        import sys
        import codemode_core, codemode_core.durable
        assert "psycopg" not in sys.modules, "importing codemode_core loaded psycopg"
        from codemode_core.durable import PostgresStore
        assert "psycopg" in sys.modules and PostgresStore.__name__ == "PostgresStore"
        loaded = ("psycopg", "codemode_core.durable.postgres")
        for name in [n for n in sys.modules if n.startswith(loaded)]:
            del sys.modules[name]
        sys.modules["psycopg"] = None  # as if the postgres extra were not installed
        try:
            from codemode_core.durable import PostgresStore
        except ImportError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'codemode-core[postgres]'" in done.stdout


def test_a_test_server_that_cannot_start_fails_the_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import pgserver
    except ImportError:  # Python 3.13: the system's PostgreSQL stands in for pgserver
        monkeypatch.setattr(postgres_support, "_system_bindir", lambda: None)
        with pytest.raises(pytest.fail.Exception, match="do not skip") as caught:
            start_postgres()
        assert "no system PostgreSQL was found" in str(caught.value)
        return

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("initdb: could not create directory")

    monkeypatch.setattr(pgserver, "get_server", broken)
    with pytest.raises(pytest.fail.Exception, match="do not skip") as caught:
        start_postgres()
    assert "initdb: could not create directory" in str(caught.value)


def test_the_system_postgresql_serves_when_pgserver_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 3.13 path, exercised on every Python so it cannot rot where pgserver exists."""
    import psycopg

    monkeypatch.setattr(postgres_support, "_pgserver_available", lambda: False)
    server = start_postgres()
    try:
        assert isinstance(server, postgres_support.SystemPostgres)
        with psycopg.connect(server.get_uri()) as connection:
            row = connection.execute("select 40 + 2").fetchone()
        assert row == (42,)
    finally:
        stop_postgres(server)
    assert not server.pgdata.exists()


async def test_a_postgres_url_as_store_pauses_and_resumes(postgres_dsn: str) -> None:
    from codemode_core import CodeMode, Tool, approve

    def ship(order_id: int) -> str:
        """Ship an order."""
        return f"shipped {order_id}"

    tools = [Tool.from_function(ship, requires_approval=True)]
    async with CodeMode(tools, store=postgres_dsn, executor="inprocess") as first:
        assert type(first.store).__name__ == "PostgresStore"
        paused = await first.run("return await tools.ship(order_id=4)")
    async with CodeMode(tools, store=postgres_dsn, executor="inprocess") as second:
        done = await second.resume(paused.execution_id, {paused.pending[0].request_id: approve})
    assert done.value == "shipped 4"
