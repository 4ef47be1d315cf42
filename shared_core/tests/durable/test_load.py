"""Many conversations at once, in two processes, on one durable store (issue #24).

A web server runs plans for many users at a time on one `CodeMode` and one store, and a second
server shares the store. Each conversation here calls four tools (two at once), pauses for the
approval of a fifth, and is resumed with `approve`. Nothing may fail because of the store, and
the tools' own side-effect log must show each conversation's calls exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import load_support

from codemode_core import CodeMode

CONCURRENCY = 25
SECONDS = 3.0


async def test_concurrent_conversations_in_two_processes_lose_nothing_and_repeat_nothing(
    shared_store: tuple[str, str], tmp_path: Path
) -> None:
    kind, target = shared_store
    log = tmp_path / "effects.log"
    store = load_support.open_store(kind, target)
    cm = CodeMode(load_support.conversation_tools(log), store=store, executor="inprocess")
    await cm.store.load("warm-up")  # the schema exists before the other process opens it
    args = [kind, target, str(log), str(SECONDS), str(CONCURRENCY), "b"]
    other = subprocess.Popen(
        [sys.executable, load_support.__file__, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None
        ready = other.stdout.readline()
        assert ready == "ready\n", other.communicate(timeout=30)
        here = await load_support.converse(cm, "a", CONCURRENCY, SECONDS)
        out, err = other.communicate(timeout=60)
    finally:
        other.kill()
        await cm.aclose()
        await store.aclose()
    assert other.returncode == 0, err
    there = json.loads(out.splitlines()[-1])

    assert here.errors == [] and there["errors"] == []
    finished = [*here.finished, *there["finished"]]
    assert len(here.finished) >= CONCURRENCY and len(there["finished"]) >= CONCURRENCY
    expected = {
        (tool, key): 1 for key in finished for tool in (*load_support.READS, "write_refund")
    }
    assert dict(load_support.effects(log)) == expected
