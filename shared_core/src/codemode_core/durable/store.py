"""Where executions live between a pause and a resume: the `Store` interface and the
in-memory store (the default; it lasts as long as the process)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from codemode_core.durable.journal import ExecutionRecord, ExecutionState, JournalEntry
from codemode_core.errors import ResumeError
from codemode_core.result import PendingApproval
from codemode_core.snippets import Snippet

__all__ = ["MemoryStore", "Store", "refusal", "takeover_refusal"]


@runtime_checkable
class Store(Protocol):
    """Keeps execution records and their journals. Every method is atomic on its own;
    `claim` is the one that must also be atomic across processes (one resumer wins).

    A store whose `durable` attribute is False (it does not outlive the process) is only
    given executions that pause; durable ones get every journal entry as it happens."""

    async def create(self, record: ExecutionRecord) -> None:
        """Store a new execution (state `running`, empty journal)."""

    async def start(
        self, record: ExecutionRecord, *, now: float, lease_until: float
    ) -> ExecutionRecord:
        """Atomically store a new running execution holding a lease until `lease_until`, or
        take over the running one of that id whose lease lapsed before `now` (its holder
        crashed; one without a lease is never taken over) and return it, journal included.
        Raise `ResumeError` (`takeover_refusal`) for one whose lease still holds, one that
        is paused, or one that finished."""

    async def heartbeat(self, execution_id: str, *, lease_until: float) -> None:
        """Extend a running execution's lease (its holder is alive)."""

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

    async def claim(
        self, execution_id: str, *, now: float, lease_until: float | None = None
    ) -> ExecutionRecord:
        """Atomically turn a paused, unexpired execution into a running one (holding a lease
        until `lease_until`) and return it; likewise take over a running one whose lease
        lapsed before `now` (its resumer died). Raise `ResumeError` saying why not otherwise.
        A running execution without a lease (`None`) is never taken over."""

    async def prune(self, *, now: float, keep: int) -> None:
        """Drop expired paused executions, and the oldest finished ones beyond `keep`."""

    async def save_snippet(self, snippet: Snippet) -> None:
        """Store a snippet (replacing one of the same name)."""

    async def load_snippets(self) -> list[Snippet]:
        """Every stored snippet."""

    async def delete_snippet(self, name: str) -> None:
        """Forget a snippet (no error if there is none)."""

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


def takeover_refusal(record: ExecutionRecord | None, execution_id: str) -> ResumeError:
    """Why `run(code, execution_id=...)` cannot start or take over `record`."""
    if record is not None and record.state == "running":
        return ResumeError(
            f"execution {execution_id!r} is already running: its holder renews a lease while "
            "it runs; if that process died, the execution can be taken over (run the same id "
            "and code again) once the lease lapses, `CodeMode(lease=...)` seconds after its "
            "last heartbeat"
        )
    if record is not None and record.state == "paused":
        return ResumeError(
            f"execution {execution_id!r} is paused for approval: continue it with `resume()`"
        )
    if record is not None:
        return ResumeError(f"execution {execution_id!r} already finished ({record.state})")
    return ResumeError(f"execution {execution_id!r} could not be started")


class MemoryStore:
    """Executions in dicts: for one process, tests, and the default.

    It keeps what resuming needs (paused executions with their journals) and a bounded record
    of finished ones: their journals are dropped when they finish, so results of past runs do
    not pile up in memory. Pruning touches only what it removes.
    """

    durable = False
    """Gone with the process: `CodeMode` stores only executions that pause in it."""

    def __init__(self) -> None:
        self._records: dict[str, ExecutionRecord] = {}
        self._journals: dict[str, list[JournalEntry]] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._paused: dict[str, float | None] = {}
        self._snippets: dict[str, Snippet] = {}

    async def save_snippet(self, snippet: Snippet) -> None:
        self._snippets[snippet.name] = snippet

    async def load_snippets(self) -> list[Snippet]:
        return list(self._snippets.values())

    async def delete_snippet(self, name: str) -> None:
        self._snippets.pop(name, None)

    async def create(self, record: ExecutionRecord) -> None:
        self._records[record.execution_id] = record
        self._journals[record.execution_id] = list(record.journal)

    async def start(
        self, record: ExecutionRecord, *, now: float, lease_until: float
    ) -> ExecutionRecord:
        """A new execution; no takeover (an execution here dies with its process)."""
        if record.execution_id in self._records:
            raise takeover_refusal(await self.load(record.execution_id), record.execution_id)
        await self.create(record)
        return record

    async def heartbeat(self, execution_id: str, *, lease_until: float) -> None:
        return None

    async def append(self, execution_id: str, entries: Sequence[JournalEntry]) -> None:
        if entries:
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
        if record is None:
            return
        self._records[execution_id] = record.with_(
            state=state, pending=tuple(pending), expires_at=expires_at, updated_at=now
        )
        self._paused.pop(execution_id, None)
        if state == "paused":
            self._paused[execution_id] = expires_at
        elif state in ("ok", "error"):
            self._journals.pop(execution_id, None)
            self._finished[execution_id] = None
            self._finished.move_to_end(execution_id)

    async def load(self, execution_id: str) -> ExecutionRecord | None:
        record = self._records.get(execution_id)
        if record is None:
            return None
        return record.with_(journal=tuple(self._journals.get(execution_id, ())))

    async def claim(
        self, execution_id: str, *, now: float, lease_until: float | None = None
    ) -> ExecutionRecord:
        record = self._records.get(execution_id)  # no await before the write: atomic
        if (
            record is None
            or record.state != "paused"
            or (record.expires_at is not None and record.expires_at <= now)
        ):
            raise refusal(await self.load(execution_id), execution_id, now)
        self._records[execution_id] = record.with_(state="running", updated_at=now)
        self._paused.pop(execution_id, None)
        loaded = await self.load(execution_id)
        assert loaded is not None
        return loaded

    async def prune(self, *, now: float, keep: int) -> None:
        expired = [
            key for key, expires in self._paused.items() if expires is not None and expires <= now
        ]
        for key in expired:
            self._forget(key)
        while len(self._finished) > keep:
            key, _ = self._finished.popitem(last=False)
            self._forget(key)

    def _forget(self, key: str) -> None:
        self._records.pop(key, None)
        self._journals.pop(key, None)
        self._paused.pop(key, None)
        self._finished.pop(key, None)

    async def aclose(self) -> None:
        return None
