"""The PostgreSQL store's schema, as numbered migrations the package owns and applies itself.

`migrate()` runs when a `PostgresStore` opens. It holds a transaction-scoped advisory lock
(one per schema) for the whole check-and-apply, so processes on many machines opening the
store at once never race: one applies the missing steps, the others wait, then find nothing
left to do. Each applied step is a row in `codemode_migrations`; a database written by a
newer codemode (a version this one does not know) is refused instead of misread.

A new schema version is one more `Migration` appended to `MIGRATIONS`; never edit a step that
has shipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql

from codemode_core.errors import StoreError

__all__ = ["LATEST_VERSION", "MIGRATIONS", "Migration", "migrate", "qualified"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema: statements that take version `version - 1` to `version`."""

    version: int
    description: str
    statements: tuple[str, ...]
    """SQL with `{schema}` where the store's schema name goes (quoted as an identifier)."""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "executions and their journals",
        (
            """
            CREATE TABLE {schema}.codemode_executions (
                id text PRIMARY KEY,
                code text NOT NULL,
                seed bigint NOT NULL,
                state text NOT NULL,
                created_at double precision NOT NULL,
                updated_at double precision NOT NULL,
                expires_at double precision,
                pending text NOT NULL DEFAULT '[]'
            )
            """,
            """
            CREATE TABLE {schema}.codemode_journal (
                execution_id text NOT NULL
                    REFERENCES {schema}.codemode_executions(id) ON DELETE CASCADE,
                seq integer NOT NULL,
                entry text NOT NULL,
                PRIMARY KEY (execution_id, seq)
            )
            """,
            "CREATE INDEX codemode_executions_state"
            " ON {schema}.codemode_executions (state, updated_at)",
        ),
    ),
    Migration(
        2,
        "snippets",
        (
            """
            CREATE TABLE {schema}.codemode_snippets (
                name text PRIMARY KEY,
                snippet text NOT NULL
            )
            """,
        ),
    ),
    Migration(
        3,
        "leases on running executions (crash takeover)",
        ("ALTER TABLE {schema}.codemode_executions ADD COLUMN lease_until double precision",),
    ),
)
"""Every schema step, oldest first; the version numbers are 1, 2, 3, ... without gaps."""

LATEST_VERSION = MIGRATIONS[-1].version


def qualified(text: str, schema: str) -> sql.Composed:
    """`text` with `{schema}` replaced by the quoted schema name."""
    return sql.SQL(text).format(schema=sql.Identifier(schema))


def lock_key(schema: str) -> int:
    """A stable 64-bit advisory-lock key for one schema's migrations."""
    digest = hashlib.blake2b(f"codemode migrations {schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def migrate(conn: AsyncConnection[Any], schema: str) -> list[int]:
    """Bring `schema` up to `LATEST_VERSION`; returns the versions this call applied."""
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(schema),))
        exists = await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        if await exists.fetchone() is None:  # no CREATE SCHEMA needed, no privilege asked
            await conn.execute(qualified("CREATE SCHEMA {schema}", schema))
        await conn.execute(
            qualified(
                "CREATE TABLE IF NOT EXISTS {schema}.codemode_migrations ("
                " version integer PRIMARY KEY,"
                " description text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())",
                schema,
            )
        )
        cursor = await conn.execute(
            qualified("SELECT coalesce(max(version), 0) FROM {schema}.codemode_migrations", schema)
        )
        row = await cursor.fetchone()
        current = int(row[0]) if row else 0
        if current > LATEST_VERSION:
            raise StoreError(
                f"schema {schema!r} was written by a newer codemode (schema version {current}, "
                f"this one knows up to {LATEST_VERSION}); upgrade codemode-core"
            )
        for migration in MIGRATIONS[current:]:
            for statement in migration.statements:
                await conn.execute(qualified(statement, schema))
            await conn.execute(
                qualified(
                    "INSERT INTO {schema}.codemode_migrations (version, description)"
                    " VALUES (%s, %s)",
                    schema,
                ),
                (migration.version, migration.description),
            )
            applied.append(migration.version)
    return applied
