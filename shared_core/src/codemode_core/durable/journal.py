"""What is kept of an execution: its plan, its seed, and a journal of what it observed.

Replaying the journal (tool results and clock readings, in order) makes a resumed plan retrace
its steps without calling any tool twice; only then does it continue live.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from codemode_core.durable.approvals import Decision
from codemode_core.errors import StoreError
from codemode_core.result import PendingApproval

__all__ = ["ExecutionRecord", "JournalEntry", "RunJournal"]

ExecutionState = Literal["running", "ok", "error", "paused"]


@dataclass(frozen=True, kw_only=True, slots=True)
class JournalEntry:
    """One thing a plan observed: a tool call's outcome, or a clock reading; or, on a durable
    store, that a call which is not idempotent is about to run (`start`)."""

    seq: int
    kind: Literal["call", "clock", "start"]
    tool: str | None = None
    arguments: Mapping[str, Any] | None = None
    result: Any = None
    error: str | None = None
    line: int | None = None
    value: float | None = None
    """For `kind="clock"`: the reading (seconds since the epoch)."""
    at: float = 0.0
    """When it happened (seconds since the epoch)."""
    started: int | None = None
    """For `kind="call"`: the seq of its `start` entry. A `start` no call entry points to was
    in flight when the host died: the call is in doubt."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, text: str) -> JournalEntry:
        data = json.loads(text)
        return cls(**data)


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionRecord:
    """An execution as stored: enough to resume it in another process."""

    execution_id: str
    code: str
    seed: int
    state: ExecutionState = "running"
    created_at: float = 0.0
    updated_at: float = 0.0
    expires_at: float | None = None
    """Paused executions expire; `resume` after this refuses."""
    pending: tuple[PendingApproval, ...] = ()
    journal: tuple[JournalEntry, ...] = ()

    def with_(self, **changes: Any) -> ExecutionRecord:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly data (to keep the record in a checkpoint or a message)."""
        data = asdict(self)
        data["journal"] = [asdict(entry) for entry in self.journal]
        data["pending"] = [asdict(p) for p in self.pending]
        plain: dict[str, Any] = json.loads(json.dumps(data, ensure_ascii=False, default=str))
        return plain

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExecutionRecord:
        fields = dict(data)
        fields["journal"] = tuple(JournalEntry(**e) for e in fields.get("journal", ()))
        fields["pending"] = tuple(PendingApproval(**p) for p in fields.get("pending", ()))
        return cls(**fields)

    def pending_json(self) -> str:
        return json.dumps([asdict(p) for p in self.pending], ensure_ascii=False, default=str)

    @classmethod
    def from_row(
        cls, execution_id: str, row: Sequence[Any], journal: Sequence[JournalEntry]
    ) -> ExecutionRecord:
        """From a SQL store's row: code, seed, state, created, updated, expires, pending."""
        code, seed, state, created_at, updated_at, expires_at, pending = row
        return cls(
            execution_id=execution_id,
            code=code,
            seed=seed,
            state=state,
            created_at=created_at,
            updated_at=updated_at,
            expires_at=expires_at,
            pending=cls.pending_from_json(pending),
            journal=tuple(journal),
        )

    @staticmethod
    def pending_from_json(text: str) -> tuple[PendingApproval, ...]:
        return tuple(PendingApproval(**item) for item in json.loads(text or "[]"))


def call_key(tool: str, arguments: Mapping[str, Any]) -> str:
    """Identity of a call for replay: the tool and its arguments, canonically."""
    return tool + json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str)


class RunJournal:
    """The host's view of one run's journal: what to replay, what was added, what waits.

    Created per run from the stored record (empty for a new execution). Replayed calls are
    matched by tool and arguments to the first unused journaled call (concurrent calls may
    arrive in another order); a call with no match while journaled calls remain unused means
    the plan took another path. A plain slotted class: one is made per run, on the hot path.
    """

    __slots__ = (
        "_clock_replay",
        "_clock_seen",
        "_in_doubt",
        "_pause",
        "_replay",
        "_seq",
        "_unused",
        "added",
        "decisions",
        "doubted",
        "inflight",
        "new_pending",
        "record",
        "sink",
        "store_error",
        "undecided",
        "waiting",
    )

    def __init__(
        self, record: ExecutionRecord, decisions: dict[str, Decision] | None = None
    ) -> None:
        self.record = record
        self.decisions = decisions or {}
        """Decisions given to `resume`, by the key of the pending call they answer."""
        self.undecided: dict[str, PendingApproval] = {}
        """Requests of the previous pause left without a decision: asked again, same id."""
        self.added: list[JournalEntry] = []
        """Entries of this run, not yet written to the store."""
        self.new_pending: list[PendingApproval] = []
        self.inflight = 0
        """Calls past replay, still running (waiting approval included)."""
        self.waiting = 0
        """Calls waiting for a human."""
        self._replay: dict[str, list[JournalEntry]] = {}
        self._unused = 0
        self._clock_replay = 0
        self._clock_seen = 0
        self._seq = 0
        self._pause: asyncio.Future[None] | None = None
        self.sink: Callable[[list[JournalEntry]], Awaitable[None]] | None = None
        """Writes entries to a durable store as they happen (None: kept in `added` until the
        run ends, for a memory store, which a crash loses anyway)."""
        self.store_error: StoreError | None = None
        """Set when `sink` failed: the run stops, reported as a store error."""
        self._in_doubt: dict[str, list[JournalEntry]] = {}
        self.doubted: set[str] = set()
        """Keys of in-doubt calls under way that need a human's approval to run again."""
        finished = {e.started for e in record.journal if e.kind == "call" and e.started}
        for entry in record.journal:
            if entry.kind == "start" and entry.seq not in finished and entry.tool is not None:
                key = call_key(entry.tool, entry.arguments or {})
                self._in_doubt.setdefault(key, []).append(entry)
        for entry in record.journal:
            if entry.kind == "call" and entry.tool is not None:
                key = call_key(entry.tool, entry.arguments or {})
                self._replay.setdefault(key, []).append(entry)
                self._unused += 1
            elif entry.kind == "clock":
                self._clock_replay += 1
            self._seq = max(self._seq, entry.seq)

    @property
    def clock_readings(self) -> tuple[float, ...]:
        return tuple(e.value or 0.0 for e in self.record.journal if e.kind == "clock")

    @property
    def replaying(self) -> bool:
        """Journaled calls remain to be served (a resumed run before its pause point)."""
        return self._unused > 0

    def replayed(self, tool: str, arguments: Mapping[str, Any]) -> JournalEntry | None:
        entries = self._replay.get(call_key(tool, arguments))
        if not entries:
            return None
        self._unused -= 1
        return entries.pop(0)

    def will_replay(self, tool: str, arguments: Mapping[str, Any]) -> bool:
        """Whether `replayed` would serve this call from the journal (without using it up)."""
        return bool(self._replay.get(call_key(tool, arguments)))

    def take_in_doubt(self, tool: str, arguments: Mapping[str, Any]) -> JournalEntry | None:
        """The `start` entry of a call in flight at a crash with this tool and arguments."""
        entries = self._in_doubt.get(call_key(tool, arguments))
        return entries.pop(0) if entries else None

    def in_doubt(self, tool: str, arguments: Mapping[str, Any]) -> bool:
        return bool(self._in_doubt.get(call_key(tool, arguments)))

    def record_start(
        self, tool: str, arguments: Mapping[str, Any], *, line: int | None, at: float
    ) -> int:
        """A call about to run (on a durable store, for tools that are not idempotent)."""
        self._seq += 1
        self.added.append(
            JournalEntry(
                seq=self._seq, kind="start", tool=tool, arguments=dict(arguments), line=line, at=at
            )
        )
        return self._seq

    def next_unused(self) -> JournalEntry | None:
        """Some journaled call not replayed yet (the earliest), if any remain."""
        if self._unused <= 0:
            return None
        remaining = [e for entries in self._replay.values() for e in entries]
        return min(remaining, key=lambda e: e.seq)

    def decision_for(self, tool: str, arguments: Mapping[str, Any]) -> Decision | None:
        return self.decisions.pop(call_key(tool, arguments), None)

    def record_call(
        self,
        tool: str,
        arguments: Mapping[str, Any],
        *,
        result: Any,
        error: str | None,
        line: int | None,
        at: float,
        started: int | None = None,
    ) -> None:
        self._seq += 1
        self.added.append(
            JournalEntry(
                seq=self._seq,
                kind="call",
                tool=tool,
                arguments=dict(arguments),
                result=result,
                error=error,
                line=line,
                at=at,
                started=started,
            )
        )

    def record_clock(self, value: float, at: float) -> None:
        """A clock reading: replayed ones were served by the sandbox, new ones are kept."""
        self._clock_seen += 1
        if self._clock_seen <= self._clock_replay:
            return
        self._seq += 1
        self.added.append(JournalEntry(seq=self._seq, kind="clock", value=value, at=at))

    def take_added(self) -> list[JournalEntry]:
        added, self.added = self.added, []
        return added

    async def persist(self) -> None:
        """Write what was added to the durable store now, before the plan sees the value
        just recorded (so a crash never loses a result the plan acted on)."""
        if self.sink is not None and self.added:
            await self.sink(self.take_added())

    async def wait_to_pause(self, settle_seconds: float = 0.02) -> None:
        """Called by each call that needs a human: returns when every running call of the
        plan waits for one (so requests from one `gather` pause together)."""
        self.waiting += 1
        if self._pause is None:
            self._pause = asyncio.ensure_future(self._settle(settle_seconds))
        await asyncio.shield(self._pause)

    async def _settle(self, settle_seconds: float) -> None:
        while True:
            await asyncio.sleep(settle_seconds)
            if self.inflight <= self.waiting:
                return
