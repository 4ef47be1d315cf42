"""Durable executions: a journal of every tool call and clock reading, approvals that pause
an execution, `resume()` that replays the journal instead of calling tools again, and the
stores that keep it all (in memory, SQLite, PostgreSQL).

`PostgresStore` is imported on first use, so psycopg (the `postgres` extra) is only needed,
and only loaded, by programs that use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codemode_core.durable.approvals import (
    Approver,
    Decision,
    approve,
    edit,
    reject,
    require_approval,
)
from codemode_core.durable.journal import ExecutionRecord, JournalEntry
from codemode_core.durable.sqlite import SQLiteStore
from codemode_core.durable.store import MemoryStore, Store

if TYPE_CHECKING:
    from codemode_core.durable.postgres import PostgresStore

__all__ = [
    "Approver",
    "Decision",
    "ExecutionRecord",
    "JournalEntry",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "Store",
    "approve",
    "edit",
    "reject",
    "require_approval",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":
        from codemode_core.durable.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
