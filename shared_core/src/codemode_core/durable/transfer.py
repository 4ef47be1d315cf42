"""Executions as plain data, to keep them in someone else's storage and resume them anywhere.

A framework with its own persistence (LangGraph's checkpointer, a workflow engine's event log)
can hold a paused execution itself: `record_to_data` gives the record, journal included, as
JSON-ready dicts and lists; in another process `record_from_data` reads it back and `adopt`
puts it into that process's `CodeMode.store`, where `resume` finds it. `result_to_data` and
`result_from_data` do the same for an `ExecutionResult`, so the outcome of a run can be kept
next to its record.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from codemode_core.durable.journal import ExecutionRecord, JournalEntry
from codemode_core.durable.store import Store
from codemode_core.result import (
    ExecutionError,
    ExecutionResult,
    PendingApproval,
    SpeculationStats,
    ToolCallRecord,
    UnexpectedResult,
)

__all__ = ["adopt", "record_from_data", "record_to_data", "result_from_data", "result_to_data"]


def _plain(value: Any) -> Any:
    """Dataclasses, tuples and mappings as JSON-ready data (values were made plain before)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=_fallback))


def _fallback(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)


def record_to_data(record: ExecutionRecord) -> dict[str, Any]:
    """The record with its pending requests and journal, as JSON-ready data."""
    data: dict[str, Any] = _plain(record)
    return data


def record_from_data(data: Mapping[str, Any]) -> ExecutionRecord:
    """The inverse of `record_to_data`."""
    fields = dict(data)
    fields["pending"] = tuple(PendingApproval(**p) for p in fields.get("pending", ()))
    fields["journal"] = tuple(JournalEntry(**e) for e in fields.get("journal", ()))
    return ExecutionRecord(**fields)


def result_to_data(result: ExecutionResult) -> dict[str, Any]:
    """The result (value, logs, error, tool calls, pending requests) as JSON-ready data."""
    data: dict[str, Any] = _plain(result)
    return data


def result_from_data(data: Mapping[str, Any]) -> ExecutionResult:
    """The inverse of `result_to_data`."""
    fields = dict(data)
    error = fields.get("error")
    fields["error"] = ExecutionError(**error) if error is not None else None
    fields["logs"] = tuple(fields.get("logs", ()))
    fields["tool_calls"] = tuple(ToolCallRecord(**c) for c in fields.get("tool_calls", ()))
    fields["pending"] = tuple(PendingApproval(**p) for p in fields.get("pending", ()))
    fields["unexpected_results"] = tuple(
        UnexpectedResult(**u) for u in fields.get("unexpected_results", ())
    )
    speculation = fields.get("speculation")
    if speculation is not None:
        unclaimed = tuple(ToolCallRecord(**c) for c in speculation.get("unclaimed_calls", ()))
        fields["speculation"] = SpeculationStats(**{**speculation, "unclaimed_calls": unclaimed})
    return ExecutionResult(**fields)


async def adopt(store: Store, record: ExecutionRecord) -> bool:
    """Put an execution kept elsewhere into `store`, journal included, unless it is there.

    Returns whether it was added. An execution the store already has is left as the store has
    it: if it was resumed (or is being resumed) here, `resume` then refuses as it should,
    instead of running the rest of the plan a second time.
    """
    if await store.load(record.execution_id) is not None:
        return False
    await store.create(record.with_(journal=()))
    await store.append(record.execution_id, record.journal)
    await store.finish(
        record.execution_id,
        record.state,
        pending=record.pending,
        expires_at=record.expires_at,
        now=record.updated_at,
    )
    return True
