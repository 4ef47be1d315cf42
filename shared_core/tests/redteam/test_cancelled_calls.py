"""Red-team family "the record lies": a tool call that started is in the result, whatever the
plan does to stop waiting for it (`asyncio.wait_for`, `asyncio.timeout`, its own deadline), and
it is cancelled when the plan stops waiting, the same on both executors (the `make_cm`
fixture). Before, the isolated executor left such a call running on the host after the plan
ended and dropped it from `tool_calls`: the side effect happened, the record said nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from codemode_core import CodeMode, Limits, Tool


class _Effects:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []


def _tools(effects: _Effects, seconds: float) -> list[Tool]:
    async def delete_repo(name: str) -> str:
        """Delete a repository."""
        effects.started.append(name)  # the side effect happens at once
        await asyncio.sleep(seconds)  # e.g. waiting for the HTTP response
        effects.finished.append(name)
        return "deleted"

    return [Tool.from_function(delete_repo)]


WAIT_FOR = (
    "try:\n"
    "    await asyncio.wait_for(tools.delete_repo(name='prod'), 0.05)\n"
    "except TimeoutError:\n"
    "    pass\n"
    "await asyncio.sleep(1.2)  # the tool would finish now, were it not cancelled\n"
    "return 'I did not touch anything'"
)
TIMEOUT_BLOCK = (
    "try:\n"
    "    async with asyncio.timeout(0.05):\n"
    "        await tools.delete_repo(name='prod')\n"
    "except TimeoutError:\n"
    "    pass\n"
    "await asyncio.sleep(1.2)  # the tool would finish now, were it not cancelled\n"
    "return 'I did not touch anything'"
)


@pytest.mark.parametrize("plan", [WAIT_FOR, TIMEOUT_BLOCK], ids=["wait_for", "timeout"])
async def test_a_call_the_plan_stops_waiting_for_is_recorded_and_cancelled(
    make_cm: Callable[..., CodeMode], plan: str
) -> None:
    effects = _Effects()
    cm = make_cm(_tools(effects, seconds=1.0), limits=Limits(timeout=5))
    result = await cm.run(plan)
    assert result.ok, result.error
    assert effects.started == ["prod"]
    assert [(c.tool, c.error, c.line) for c in result.tool_calls] == [
        ("tools.delete_repo", "interrupted: CancelledError", 2 if plan is WAIT_FOR else 3)
    ]
    assert effects.finished == []  # cancelled when the plan stopped waiting, not left running


async def test_a_cancelled_call_is_journaled_as_started(
    make_cm: Callable[..., CodeMode], tmp_path: Path
) -> None:
    effects = _Effects()
    cm = make_cm(_tools(effects, seconds=1.0), limits=Limits(timeout=5), store=tmp_path / "runs.db")
    result = await cm.run(WAIT_FOR)
    assert result.ok, result.error
    assert effects.started == ["prod"]
    assert [(c.tool, c.error, c.line) for c in result.tool_calls] == [
        ("tools.delete_repo", "interrupted: CancelledError", 2)
    ]
    assert effects.finished == []
    # The journal has the call's start, as for any non-idempotent call that began.
    record = await cm.store.load(result.execution_id)
    assert record is not None
    assert [(e.kind, e.tool) for e in record.journal] == [("start", "tools.delete_repo")]


async def test_a_call_in_flight_at_the_deadline_is_recorded(
    make_cm: Callable[..., CodeMode],
) -> None:
    effects = _Effects()
    cm = make_cm(_tools(effects, seconds=3.0), limits=Limits(timeout=0.5))
    result = await cm.run("x = 1\nreturn await tools.delete_repo(name='prod')")
    assert result.error is not None and result.error.kind == "timeout"
    assert effects.started == ["prod"]
    assert [(c.tool, c.error, c.line) for c in result.tool_calls] == [
        ("tools.delete_repo", "interrupted: CancelledError", 2)
    ]
    assert effects.finished == []
