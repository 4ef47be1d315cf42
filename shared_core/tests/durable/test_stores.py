"""The store contract, run unchanged against every store (memory, SQLite, PostgreSQL).

Store behaviour does not depend on the executor, so these use the in-process one.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from codemode_core import CodeMode, PendingApproval, ResumeError
from codemode_core.durable import ExecutionRecord, JournalEntry, Store, approve
from codemode_core.snippets import Snippet
from durable_support import REFUND_PLAN, Counter, shop_tools

OpenStore = Callable[[], Store]


def _record(execution_id: str, **fields: object) -> ExecutionRecord:
    return ExecutionRecord(execution_id=execution_id, code="return 1", seed=1).with_(**fields)


async def test_pause_in_one_code_mode_and_resume_in_another(open_store: OpenStore) -> None:
    counter = Counter()
    first = CodeMode(shop_tools(counter), store=open_store(), executor="inprocess")
    before = time.time()
    paused = await first.run(REFUND_PLAN)
    assert paused.status == "paused"

    record = await first.store.load(paused.execution_id)
    assert record is not None and record.state == "paused" and record.code == REFUND_PLAN
    assert [(e.tool, e.result) for e in record.journal if e.kind == "call"] == [
        ("tools.find_customer", {"id": 7, "email": "ada@example.com"}),
        (
            "tools.open_orders",
            [{"id": 101, "total": 20.0}, {"id": 102, "total": 40.0}, {"id": 103, "total": 60.0}],
        ),
    ]
    assert record.pending == paused.pending
    assert record.expires_at is not None and record.expires_at >= before + 24 * 3600 - 1
    await first.aclose()

    second = CodeMode(shop_tools(counter), store=open_store(), executor="inprocess")
    done = await second.resume(paused.execution_id, {paused.pending[0].request_id: approve})
    assert done.ok and done.value == {"order_id": 103, "refunded": 60.0}
    assert counter.counts == {"find_customer": 1, "open_orders": 1, "refund": 1}
    finished = await second.store.load(paused.execution_id)
    assert finished is not None and finished.state == "ok" and finished.pending == ()
    if second.store.durable:  # the memory store drops finished journals (nothing resumes them)
        assert [e.tool for e in finished.journal if e.kind == "call"] == [
            "tools.find_customer",
            "tools.open_orders",
            "tools.refund",
        ]
    await second.aclose()


async def test_resume_refuses_clearly(open_store: OpenStore) -> None:
    counter = Counter()
    cm = CodeMode(shop_tools(counter), store=open_store(), executor="inprocess", pause_ttl=0.3)
    paused = await cm.run(REFUND_PLAN)
    request = paused.pending[0].request_id
    with pytest.raises(ResumeError, match="no execution 'missing' in this store"):
        await cm.resume("missing", {})
    with pytest.raises(ResumeError, match="no pending request nope"):
        await cm.resume(paused.execution_id, {"nope": approve})
    done = await cm.resume(paused.execution_id, {request: approve})  # still resumable
    assert done.ok
    with pytest.raises(ResumeError, match=r"already finished \(ok\)"):
        await cm.resume(paused.execution_id, {request: approve})
    late = await cm.run(REFUND_PLAN)
    await asyncio.sleep(0.4)
    with pytest.raises(ResumeError, match="expired while paused"):
        await cm.resume(late.execution_id, {late.pending[0].request_id: approve})
    assert counter.counts["refund"] == 1
    await cm.aclose()


async def test_claim_turns_one_paused_execution_into_a_running_one(open_store: OpenStore) -> None:
    store = open_store()
    await store.create(_record("a", created_at=1.0, updated_at=1.0))
    await store.finish("a", "paused", expires_at=100.0, now=2.0)
    with pytest.raises(ResumeError, match="expired while paused"):
        await store.claim("a", now=100.0)  # expiry is exclusive: at the instant, it is gone
    claimed = await store.claim("a", now=99.5)
    assert claimed.state == "running" and claimed.updated_at == 99.5
    with pytest.raises(ResumeError, match="'a' is already running: another resume claimed it"):
        await store.claim("a", now=99.6)
    await store.create(_record("forever"))
    await store.finish("forever", "paused", expires_at=None, now=3.0)
    assert (await store.claim("forever", now=1e12)).state == "running"


async def test_two_claims_at_once_exactly_one_wins(open_store: OpenStore) -> None:
    first, second = open_store(), open_store()
    await first.create(_record("race"))
    await first.finish("race", "paused", expires_at=None, now=1.0)
    await second.load("race")  # both handles open before the race starts
    outcomes = await asyncio.gather(
        first.claim("race", now=2.0), second.claim("race", now=2.0), return_exceptions=True
    )
    won = [o for o in outcomes if isinstance(o, ExecutionRecord)]
    lost = [o for o in outcomes if isinstance(o, ResumeError)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert "already running" in str(lost[0])


async def test_records_and_journals_round_trip_exactly(open_store: OpenStore) -> None:
    store = open_store()
    record = _record("rt", code="return 'é ✓'\n", seed=2**62 + 3, created_at=1.25, updated_at=1.25)
    await store.create(record)
    entries = [
        JournalEntry(seq=1, kind="clock", value=1700000000.123456, at=1.5),
        JournalEntry(
            seq=2,
            kind="call",
            tool="tools.lookup",
            arguments={"q": "naïve", "n": [1, 2.5, None, True]},
            result={"rows": [{"id": 1, "tags": ["a", "ü"]}], "empty": {}},
            line=3,
            at=1.75,
        ),
    ]
    await store.append("rt", entries[:1])
    await store.append("rt", entries[1:])
    await store.append("rt", [])
    failed = JournalEntry(seq=3, kind="call", tool="tools.pay", arguments={}, error="boom", at=2.0)
    await store.append("rt", [failed])
    pending = (PendingApproval(request_id="r1", tool="tools.pay", arguments={"to": "x"}, line=4),)
    await store.finish("rt", "paused", pending=pending, expires_at=99.5, now=2.25)

    loaded = await store.load("rt")
    assert loaded == record.with_(
        state="paused",
        pending=pending,
        expires_at=99.5,
        updated_at=2.25,
        journal=(*entries, failed),
    )
    assert await store.load("never-stored") is None


async def test_prune_drops_expired_pauses_and_the_oldest_finished(open_store: OpenStore) -> None:
    store = open_store()
    for name, state, updated, expires in [
        ("expired", "paused", 1.0, 50.0),
        ("waiting", "paused", 1.0, 500.0),
        ("busy", "running", 1.0, None),
        ("ok1", "ok", 10.0, None),
        ("err2", "error", 20.0, None),
        ("ok3", "ok", 30.0, None),
        ("ok4", "ok", 40.0, None),
    ]:
        await store.create(_record(name))
        await store.append(name, [JournalEntry(seq=1, kind="clock", value=1.0)])
        await store.finish(name, state, expires_at=expires, now=updated)  # type: ignore[arg-type]

    await store.prune(now=100.0, keep=2)

    kept = {name for name in ("expired", "waiting", "busy", "ok1", "err2", "ok3", "ok4")}
    kept = {name for name in kept if await store.load(name) is not None}
    assert kept == {"waiting", "busy", "ok3", "ok4"}
    waiting = await store.load("waiting")
    assert waiting is not None and len(waiting.journal) == 1


async def test_snippets_are_saved_replaced_shared_and_deleted(open_store: OpenStore) -> None:
    first, second = open_store(), open_store()
    params = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    await first.save_snippet(Snippet(name="double", code="return x * 2", parameters=params))
    await first.save_snippet(Snippet(name="note", code="return 'ü ✓'", description="Unicode."))
    twice = Snippet(name="double", code="return x + x", description="Twice.", parameters=params)
    await second.save_snippet(twice)  # same name: replaces
    assert sorted(await first.load_snippets(), key=lambda s: s.name) == [
        twice,
        Snippet(name="note", code="return 'ü ✓'", description="Unicode."),
    ]
    await second.delete_snippet("note")
    await second.delete_snippet("never-saved")  # no error
    assert await first.load_snippets() == [twice]


_RESUMER = """
import asyncio, json, sys, time
sys.path[:0] = json.loads(sys.argv[4])
from codemode_core import CodeMode, ResumeError
from codemode_core.durable import approve
from durable_support import Counter, shop_tools

spec, execution_id, request_id, _, start_at, calls = sys.argv[1:7]
spec = json.loads(spec)

async def main():
    if spec["kind"] == "postgres":
        from codemode_core.durable import PostgresStore
        store = await PostgresStore(spec["dsn"], schema=spec["schema"]).open()
    else:
        store = spec["path"]
    cm = CodeMode(shop_tools(Counter(calls)), store=store, executor="inprocess")
    await asyncio.sleep(max(0.0, float(start_at) - time.time()))  # both start together
    try:
        result = await cm.resume(execution_id, {request_id: approve})
        print(json.dumps({"ok": result.ok, "value": result.value}))
    except ResumeError as exc:
        print(json.dumps({"error": str(exc)}))
    await cm.store.aclose()

asyncio.run(main())
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_two_processes_resume_at_once_and_exactly_one_wins(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, pg_schema: str
) -> None:
    """A paused execution resumed by two processes at the same moment: one runs it to the
    end, the other is refused, and no tool runs twice."""
    if kind == "postgres":
        from codemode_core.durable import PostgresStore

        spec = {"kind": kind, "dsn": request.getfixturevalue("postgres_dsn"), "schema": pg_schema}
        store: Store | Path = PostgresStore(spec["dsn"], schema=pg_schema)
    else:
        spec = {"kind": kind, "path": str(tmp_path / "shared.sqlite")}
        store = tmp_path / "shared.sqlite"
    calls = tmp_path / "calls.jsonl"
    cm = CodeMode(shop_tools(Counter(str(calls))), store=store, executor="inprocess")
    paused = await cm.run(REFUND_PLAN)
    await cm.store.aclose()
    await cm.aclose()

    start_at = str(time.time() + 2.0)
    search_path = json.dumps([p for p in sys.path if p])
    args = [json.dumps(spec), paused.execution_id, paused.pending[0].request_id, search_path]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _RESUMER, *args, start_at, str(calls)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = await asyncio.gather(*(asyncio.to_thread(p.communicate, None, 60) for p in processes))
    outputs = []
    for out, err in results:
        assert out.strip(), err
        outputs.append(json.loads(out))

    winners = [o for o in outputs if o.get("ok")]
    losers = [o for o in outputs if "error" in o]
    assert len(winners) == 1 and len(losers) == 1, outputs
    assert winners[0]["value"] == {"order_id": 103, "refunded": 60.0}
    assert "already running" in losers[0]["error"] or "already finished" in losers[0]["error"]
    made = [json.loads(line)[0] for line in calls.read_text().splitlines()]
    assert sorted(made) == ["find_customer", "open_orders", "refund"]  # each exactly once
