"""Store fixtures: one PostgreSQL server per session, and every store kind behind one factory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from codemode_core.durable import MemoryStore, SQLiteStore, Store
from postgres_support import start_postgres, stop_postgres

STORES = ["memory", "sqlite", "postgres"]
"""Every store kind; the store contract suite runs unchanged against each."""


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The DSN of a PostgreSQL server started for this test session (stopped and deleted
    after it)."""
    server = start_postgres()
    try:
        yield str(server.get_uri())
    finally:
        stop_postgres(server)


@pytest.fixture
def pg_schema() -> str:
    """A schema of its own for each test: tests share the server, never tables."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def open_store(
    store_kind: str, request: pytest.FixtureRequest, tmp_path: Path, pg_schema: str
) -> AsyncIterator[Callable[[], Store]]:
    """Opens a new handle on one backing store per call (as another process would); the
    memory store can only hand out the same instance. Handles are closed after the test."""
    handles: list[Store] = []
    memory = MemoryStore()
    dsn = request.getfixturevalue("postgres_dsn") if store_kind == "postgres" else ""

    def factory() -> Store:
        store: Store
        if store_kind == "memory":
            store = memory
        elif store_kind == "sqlite":
            store = SQLiteStore(tmp_path / "executions.sqlite")
        else:
            from codemode_core.durable import PostgresStore

            store = PostgresStore(dsn, schema=pg_schema)
        handles.append(store)
        return store

    yield factory
    for store in handles:
        await store.aclose()


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path, pg_schema: str) -> tuple[str, str]:
    """(kind, target) of one durable store several processes open, as
    `load_support.open_store` takes it."""
    if request.param == "sqlite":
        return "sqlite", str(tmp_path / "runs.sqlite")
    return "postgres", f"{request.getfixturevalue('postgres_dsn')}:{pg_schema}"
