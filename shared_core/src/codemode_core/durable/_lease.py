"""The lease rules the SQL stores share: how a new execution row is written, which running
execution may be taken over, and which may be claimed to resume.

SQLite and PostgreSQL must agree on them exactly (processes on either take over each other's
executions by the same rules), so they are written once here; each store supplies its own
parameter placeholder (`?` or `%s`).
"""

from __future__ import annotations

from typing import Any

from codemode_core.durable.journal import ExecutionRecord

__all__ = ["INSERT_COLUMNS", "claimable", "insert_row", "lease_lapsed"]

INSERT_COLUMNS = "id, code, seed, state, created_at, updated_at, expires_at, pending, lease_until"
"""The columns of `insert_row`, in its order."""


def insert_row(record: ExecutionRecord, lease_until: float | None = None) -> tuple[Any, ...]:
    """A new execution's row; `lease_until=None`: no lease, so never taken over."""
    return (
        record.execution_id,
        record.code,
        record.seed,
        record.state,
        record.created_at,
        record.updated_at,
        record.expires_at,
        record.pending_json(),
        lease_until,
    )


def lease_lapsed(placeholder: str) -> str:
    """A running execution whose holder has been silent past its lease (one parameter: now).
    A NULL lease never lapses: an execution started without one is never taken over."""
    return f"state = 'running' AND lease_until <= {placeholder}"


def claimable(placeholder: str) -> str:
    """Paused and unexpired, or running with a lapsed lease (two parameters: now, now)."""
    return (
        f"(state = 'paused' AND (expires_at IS NULL OR expires_at > {placeholder}))"
        f" OR ({lease_lapsed(placeholder)})"
    )
