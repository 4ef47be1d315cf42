"""Durable executions: a journal of every tool call and clock reading, approvals that pause
an execution, `resume()` that replays the journal instead of calling tools again, and the
stores that keep it all (in memory, SQLite, PostgreSQL)."""

from codemode_core.durable.approvals import Approver, Decision, approve, reject
from codemode_core.durable.journal import ExecutionRecord, JournalEntry
from codemode_core.durable.sqlite import SQLiteStore
from codemode_core.durable.store import MemoryStore, Store

__all__ = [
    "Approver",
    "Decision",
    "ExecutionRecord",
    "JournalEntry",
    "MemoryStore",
    "SQLiteStore",
    "Store",
    "approve",
    "reject",
]
