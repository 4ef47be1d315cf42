"""Red-team family "numbers a plan hands to the host's loop" (issue #17, win W0).

A NaN deadline breaks the event loop's timer heap: on the in-process executor every later
timer of the host (and of other plans) waited for an unrelated long timer. Every delay and
size a plan passes to `asyncio` is checked first, with an error at the plan's line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from codemode_core import CodeMode, Limits

_NOTHING = "async def nothing():\n    return 1\n"

REFUSED = {
    "wait_for nan": (_NOTHING + "await asyncio.wait_for(nothing(), float('nan'))\nreturn 1", 3),
    "timeout nan": (
        _NOTHING + "async with asyncio.timeout(float('nan')):\n    await nothing()\nreturn 1",
        3,
    ),
    "sleep nan": ("x = 1\nawait asyncio.sleep(float('nan'))\nreturn 1", 2),
    "wait_for bool": (_NOTHING + "await asyncio.wait_for(nothing(), True)\nreturn 1", 3),
    "wait_for text": (_NOTHING + "await asyncio.wait_for(nothing(), '5')\nreturn 1", 3),
    "sleep text": ("await asyncio.sleep('0.1')\nreturn 1", 1),
    "timeout list": ("async with asyncio.timeout([1]):\n    pass\nreturn 1", 1),
    "Semaphore nan": ("s = asyncio.Semaphore(float('nan'))\nreturn 1", 1),
    "Semaphore bool": ("s = asyncio.Semaphore(True)\nreturn 1", 1),
    "Queue float": ("q = asyncio.Queue(2.5)\nreturn 1", 1),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
async def test_a_plan_cannot_hand_asyncio_a_bad_number(
    make_cm: Callable[..., CodeMode], name: str
) -> None:
    plan, line = REFUSED[name]
    result = await make_cm([], limits=Limits(timeout=5)).run(plan)
    assert result.status == "error", (name, result.value)
    assert result.error is not None
    assert result.error.kind == "runtime"
    assert result.error.line == line
    assert "asyncio." in result.error.message


@pytest.mark.parametrize(
    "plan",
    [
        _NOTHING + "return await asyncio.wait_for(nothing(), float('inf'))",
        _NOTHING + "return await asyncio.wait_for(nothing(), None)",
        _NOTHING + "return await asyncio.wait_for(nothing(), 10**400)",
        _NOTHING + "async with asyncio.timeout(float('inf')):\n    return await nothing()",
        _NOTHING + "async with asyncio.timeout(-1.5):\n    await asyncio.sleep(0)\nreturn 1",
        "await asyncio.sleep(-3)\nawait asyncio.sleep(0.01)\nreturn 1",
        "s = asyncio.Semaphore(2)\nq = asyncio.Queue(3)\nreturn q.maxsize - 2",
    ],
)
async def test_asyncio_meanings_of_infinite_and_negative_delays_hold(
    make_cm: Callable[..., CodeMode], plan: str
) -> None:
    result = await make_cm([], limits=Limits(timeout=5)).run(plan)
    if "timeout(-1.5)" in plan:  # already expired, as in asyncio
        assert result.status == "error"
        assert result.error is not None and "TimeoutError" in result.error.message
    else:
        assert result.status == "ok", result.error
        assert result.value == 1


@pytest.mark.parametrize(
    "attack",
    [
        "for i in range(10):\n    try:\n        await asyncio.wait_for(nothing(), float('nan'))\n"
        "    except ValueError:\n        pass\n",
        "for i in range(10):\n    try:\n        async with asyncio.timeout(float('nan')):\n"
        "            await nothing()\n    except ValueError:\n        pass\n",
    ],
)
async def test_the_host_loops_timers_stay_on_time_after_a_nan_plan(attack: str) -> None:
    """In-process the plan shares the host's loop: its other timers must fire on time."""
    attacker = CodeMode([], executor="inprocess", limits=Limits(timeout=5))
    victim = CodeMode([], executor="inprocess", limits=Limits(timeout=2))
    try:
        await attacker.run(_NOTHING + attack + "return 'A'")
        loop = asyncio.get_running_loop()
        keepalive = loop.call_later(4, lambda: None)  # any long-lived timer of the host
        try:
            started = time.perf_counter()
            slept, other = await asyncio.gather(
                asyncio.sleep(0.05, "slept"),
                victim.run("await asyncio.sleep(0.1)\nreturn 'B'"),
            )
            elapsed = time.perf_counter() - started
        finally:
            keepalive.cancel()
        assert slept == "slept"
        assert other.status == "ok" and other.value == "B"
        assert elapsed < 1.5, f"the host's timers were held for {elapsed:.2f}s"
    finally:
        await attacker.aclose()
        await victim.aclose()
