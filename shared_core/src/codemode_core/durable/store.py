"""Where executions live between a pause and a resume: the `Store` interface and the
in-memory store (the default; it lasts as long as the process)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from codemode_core.durable.journal import ExecutionRecord, ExecutionState, JournalEntry
from codemode_core.errors import ResumeError
from codemode_core.result import PendingApproval

__all__ = ["MemoryStore", "Store", "refusal"]


@runtime_checkable
class Store(Protocol):
    """Keeps execution records and their journals. Every method is atomic on its own;
    `claim` is the one that must also be atomic across processes (one resumer wins)."""

    async def create(self, record: ExecutionRecord) -> None:
        """Store a new execution (state `running`, empty journal)."""

    async def append(self, execution_id: str, entries: Sequence[JournalEntry]) -> None:
        """Add journal entries (as they happen: a crash loses nothing already journaled)."""

    async def finish(
        self,
        execution_id: str,
        state: ExecutionState,
        *,
        pending: Sequence[PendingApproval] = (),
        expires_at: float | None = None,
        now: float,
    ) -> None:
        """Record how the run ended (`paused` with its pending requests and expiry)."""

    async def load(self, execution_id: str) -> ExecutionRecord | None:
        """The execution with its journal, or None."""

    async def claim(self, execution_id: str, *, now: float) -> ExecutionRecord:
        """Atomically turn a paused, unexpired execution into a running one and return it;
        raise `ResumeError` saying why not otherwise."""

    async def prune(self, *, now: float, keep: int) -> None:
        """Drop expired paused executions, and the oldest finished ones beyond `keep`."""

    async def aclose(self) -> None:
        """Release connections."""


def refusal(record: ExecutionRecord | None, execution_id: str, now: float) -> ResumeError:
    """Why `record` cannot be claimed, in words the caller can act on."""
    if record is None:
        return ResumeError(
            f"no execution {execution_id!r} in this store: it never paused here, or it was "
            "pruned (finished and expired executions are dropped)"
        )
    if record.state == "running":
        return ResumeError(
            f"execution {execution_id!r} is already running: another resume claimed it first"
        )
    if record.state != "paused":
        return ResumeError(f"execution {execution_id!r} already finished ({record.state})")
    return ResumeError(
        f"execution {execution_id!r} expired while paused (paused executions are kept for "
        "`CodeMode(pause_ttl=...)` seconds); start a new run"
    )


class MemoryStore:
    """Executions in a dict: for one process, tests, and the default."""

    def __init__(self) -> None:
        self._records: dict[str, ExecutionRecord] = {}
        self._journals: dict[str, list[JournalEntry]] = {}

    async def create(self, record: ExecutionRecord) -> None:
        self._records[record.execution_id] = record
        self._journals[record.execution_id] = list(record.journal)

    async def append(self, execution_id: str, entries: Sequence[JournalEntry]) -> None:
        self._journals.setdefault(execution_id, []).extend(entries)

    async def finish(
        self,
        execution_id: str,
        state: ExecutionState,
        *,
        pending: Sequence[PendingApproval] = (),
        expires_at: float | None = None,
        now: float,
    ) -> None:
        record = self._records.get(execution_id)
        if record is not None:
            self._records[execution_id] = record.with_(
                state=state, pending=tuple(pending), expires_at=expires_at, updated_at=now
            )

    async def load(self, execution_id: str) -> ExecutionRecord | None:
        record = self._records.get(execution_id)
        if record is None:
            return None
        return record.with_(journal=tuple(self._journals.get(execution_id, ())))

    async def claim(self, execution_id: str, *, now: float) -> ExecutionRecord:
        record = self._records.get(execution_id)  # no await before the write: atomic
        if (
            record is None
            or record.state != "paused"
            or (record.expires_at is not None and record.expires_at <= now)
        ):
            raise refusal(await self.load(execution_id), execution_id, now)
        self._records[execution_id] = record.with_(state="running", updated_at=now)
        loaded = await self.load(execution_id)
        assert loaded is not None
        return loaded

    async def prune(self, *, now: float, keep: int) -> None:
        expired = [
            key
            for key, r in self._records.items()
            if r.state == "paused" and r.expires_at is not None and r.expires_at <= now
        ]
        finished = sorted(
            (r for r in self._records.values() if r.state in ("ok", "error")),
            key=lambda r: r.updated_at,
        )
        excess = max(0, len(finished) - keep)  # paused and running ones never count
        for key in expired + [r.execution_id for r in finished[:excess]]:
            self._records.pop(key, None)
            self._journals.pop(key, None)

    async def aclose(self) -> None:
        return None
