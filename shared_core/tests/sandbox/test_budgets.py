"""Budgets: every exhaustion stops within its limit, and the host keeps working afterwards."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from codemode_core import CodeMode, Limits
from core_support import Calls, make_tools

FAST = Limits(timeout=2.0, max_operations=200_000)


@pytest.fixture
def fast_cm(make_cm: Any, calls: Calls) -> CodeMode:
    return make_cm(make_tools(calls), limits=FAST)


@pytest.mark.parametrize(
    ("code", "kind", "fragment"),
    [
        ("while True:\n    pass", "budget", "max_operations=200,000"),
        (
            "while True:\n    try:\n        pass\n    except BaseException:\n        pass",
            "budget",
            "max_operations",
        ),
        (
            "while True:\n    try:\n        x = 1\n    finally:\n        pass",
            "budget",
            "max_operations",
        ),
        (
            "try:\n    while True:\n        pass\nfinally:\n    return 'swallowed'",
            "budget",
            "max_operations",
        ),
        (
            "try:\n    while True:\n        pass\nexcept:\n    pass\nreturn 'swallowed'",
            "budget",
            "max_operations",
        ),
        ("'a' * 10**10", "budget", "`*` would create 10,000,000,000 items"),
        ("[0] * 10**10", "budget", "`*` would create 10,000,000,000 items"),
        ("10**10**10", "budget", "`**` would create"),
        ("1 << 10**10", "budget", "`<<` would create"),
        ("x = 2\nfor _ in range(100):\n    x = x * x", "budget", "`*` would create"),
        ("s = 'ab'\nwhile True:\n    s = s + s", "budget", "`+` would create"),
        ("s = 'ab'\nwhile True:\n    s += s", "budget", "`+` would create"),
        ("list(range(10**10))", "budget", "range() would create"),
        ("sum(range(10**12))", "budget", "range() would create"),
        ("import itertools\nsum(itertools.count())", "budget", "max_operations"),
        ("import itertools\nlist(itertools.repeat(1))", "budget", "max_operations"),
        ("list(iter(int, 1))", "budget", "max_operations"),
        (
            "import itertools\nlen(list(itertools.product(range(1000), repeat=4)))",
            "budget",
            "max_operations",
        ),
        ("'x'.ljust(10**10)", "budget", "`ljust` would create"),
        ("('a' * 10**6).replace('a', 'a' * 1000)", "budget", "`replace` would create"),
        ("f'{1:>10000000000}'", "budget", "format width"),
        ("'{:>10000000000}'.format(1)", "budget", "format width"),
        ("'%*d' % (10**10, 1)", "budget", "`%` formatting"),
        ("bytes(10**10)", "budget", "bytes() would create"),
        ("import math\nmath.factorial(10**7)", "budget", "math.factorial"),
        ("x = [1]\nwhile True:\n    x.extend(x)", "budget", "`extend` would create"),
        ("sum([[0] * 1000] * 20000, [])", "budget", "sum() would create"),
        ("def f():\n    return f()\nf()", "runtime", "RecursionError"),
        ("f = lambda n: 1 if n == 0 else f(n - 1) + f(n - 1)\nf(60)", "budget", "max_operations"),
    ],
)
async def test_exhaustion_is_stopped(
    fast_cm: CodeMode, code: str, kind: str, fragment: str
) -> None:
    started = time.perf_counter()
    result = await fast_cm.run(code)
    elapsed = time.perf_counter() - started
    assert result.status == "error", result.value
    assert result.error is not None
    assert result.error.kind == kind, result.error
    assert fragment in result.error.message
    assert elapsed < FAST.timeout + 1.5
    follow_up = await fast_cm.run("return await tools.add(20, 22)")
    assert follow_up.value == 42


@pytest.mark.parametrize(
    "code",
    [
        "await asyncio.sleep(100)",
        "try:\n    await asyncio.sleep(100)\nexcept BaseException:\n    await asyncio.sleep(100)",
        "try:\n    await tools.slow(100)\nexcept BaseException:\n    pass\nwhile True:\n    pass",
        "while True:\n    x = [i for i in range(1000)]",
    ],
)
async def test_timeouts_stop_the_plan(make_cm: Any, calls: Calls, code: str) -> None:
    cm = make_cm(make_tools(calls), limits=Limits(timeout=0.3, max_operations=10**12))
    assert (await cm.run("return 1")).ok  # warm: an isolated worker starts here, not below
    started = time.perf_counter()
    result = await cm.run(code)
    elapsed = time.perf_counter() - started
    assert result.error is not None
    assert result.error.kind == "timeout"
    assert "timeout=0.3s" in result.error.message
    assert elapsed < 1.5
    assert (await cm.run("return 1")).value == 1


async def test_cpu_bound_plan_does_not_hold_the_event_loop(make_cm: Any, calls: Calls) -> None:
    import asyncio

    cm = make_cm(make_tools(calls), limits=Limits(timeout=0.3, max_operations=10**12))
    assert (await cm.run("return 1")).ok  # warm (an isolated worker starts here)
    beats: list[float] = []

    async def heartbeat() -> None:
        while True:
            beats.append(time.perf_counter())
            await asyncio.sleep(0.01)

    beat = asyncio.ensure_future(heartbeat())
    await asyncio.sleep(0.02)
    result = await cm.run("n = 0\nwhile True:\n    n += 1")
    await asyncio.sleep(0.02)
    beat.cancel()
    assert result.error is not None and result.error.kind == "timeout"
    longest_gap = max(b - a for a, b in itertools.pairwise(beats))
    assert longest_gap < 0.3 + 0.25  # the host loop is back by the deadline, never later


async def test_log_flood_is_capped(make_cm: Any, calls: Calls) -> None:
    cm = make_cm(make_tools(calls), limits=Limits(max_output_chars=1000, max_operations=10**6))
    result = await cm.run("for i in range(100000):\n    print('spam' * 10)\nreturn 'done'")
    assert result.value == "done"
    assert sum(len(line) for line in result.logs) < 1100


async def test_policy_violation_at_runtime_cannot_be_caught(fast_cm: CodeMode) -> None:
    result = await fast_cm.run(
        "try:\n    getattr(1, '__cl' + 'ass__')\nexcept BaseException:\n    pass\nreturn 'ok'"
    )
    assert result.error is not None
    assert result.error.kind == "policy"
    assert result.error.line == 2
    assert result.error.message == "access to the attribute `__class__` is not allowed in plans."


@pytest.mark.parametrize(
    "code",
    [
        "'{0.__class__}'.format(1)",
        "str.format('{0.__class__.__base__}', 1)",
        "'{x._private}'.format_map({'x': 1})",
        "getattr(tools, '_bridge')",
        "import json\njson.codecs",
        "import asyncio\nasyncio.get_event_loop()",
    ],
)
async def test_runtime_walks_are_refused(fast_cm: CodeMode, code: str) -> None:
    result = await fast_cm.run(code)
    assert result.status == "error"
    assert result.error is not None
    assert result.error.kind in {"policy", "runtime"}


@pytest.mark.parametrize(
    "code",
    [
        "try:\n    await asyncio.sleep(100)\nfinally:\n    return 'swallowed'",
        "try:\n    await asyncio.sleep(100)\nexcept BaseException:\n    pass\nreturn 'swallowed'",
        "try:\n    await asyncio.sleep(100)\nexcept asyncio.CancelledError:\n"
        "    return 'swallowed'",
        "try:\n    await asyncio.sleep(100)\nfinally:\n    while True:\n        pass",
        "try:\n    await asyncio.sleep(100)\nfinally:\n    try:\n        await asyncio.sleep(100)\n"
        "    finally:\n        return 'swallowed'",
        "try:\n    try:\n        await tools.slow(100)\n    finally:\n        return 'inner'\n"
        "finally:\n    return 'outer'",
        "async def f():\n    try:\n        await asyncio.sleep(100)\n    finally:\n"
        "        return 1\nx = await f()\nreturn x",
        "try:\n    await asyncio.sleep(100)\nfinally:\n    n = 0\n    for i in range(10**6):\n"
        "        n += i\n    return n",
    ],
)
async def test_a_deadline_cannot_be_caught_or_outrun(make_cm: Any, calls: Calls, code: str) -> None:
    """Whatever the plan does in `except`/`finally` at its deadline, it ends as a timeout."""
    cm = make_cm(make_tools(calls), limits=Limits(timeout=0.5, max_operations=10**12))
    assert (await cm.run("return 1")).ok  # warm: an isolated worker starts here, not below
    started = time.perf_counter()
    result = await cm.run(code)
    elapsed = time.perf_counter() - started
    assert result.status == "error", result.value
    assert result.error is not None and result.error.kind == "timeout", result.error
    assert result.value is None
    assert elapsed < 0.5 + 0.5
    assert (await cm.run("return 1")).value == 1


async def test_a_plan_raising_cancelled_error_fails_with_its_record(
    make_cm: Any, calls: Calls
) -> None:
    """`raise asyncio.CancelledError()` is the plan's own error: it never escapes `run()`."""
    cm = make_cm(make_tools(calls), limits=FAST)
    result = await cm.run("x = await tools.add(1, 2)\nraise asyncio.CancelledError()")
    assert result.status == "error"
    assert result.error is not None
    assert (result.error.kind, result.error.line) == ("runtime", 2)
    assert "CancelledError" in result.error.message
    assert [call.tool for call in result.tool_calls] == ["tools.add"]
    assert (await cm.run("return await tools.add(20, 22)")).value == 42


async def test_the_callers_cancellation_still_cancels_the_run(calls: Calls) -> None:
    """A run the caller cancels raises `CancelledError` to the caller, as asyncio expects."""
    import asyncio

    cm = CodeMode(make_tools(calls), executor="inprocess", limits=Limits(timeout=5.0))
    task = asyncio.ensure_future(
        cm.run("try:\n    await asyncio.sleep(100)\nfinally:\n    return 'swallowed'")
    )
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await cm.run("return 1")).value == 1
