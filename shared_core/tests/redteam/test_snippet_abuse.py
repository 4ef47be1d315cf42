"""Red-team family "snippet abuse": a plan that saves snippets must not take over, stall or break
the host. Every case runs on both executors (the `make_cm` fixture)."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from codemode_core import CodeMode, Tool
from codemode_core.sandbox.compiler import compile_plan
from codemode_core.snippets import (
    MAX_PLAN_SNIPPETS,
    MAX_SNIPPET_CHARS,
    Snippet,
    SnippetError,
)


def _tools() -> list[Tool]:
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    return [Tool.from_function(add)]


async def _loop_lag_while(coroutine: object) -> tuple[object, float]:
    """Run `coroutine` while measuring the event loop's longest stall (seconds)."""
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal worst
        while not done:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - before - 0.01)

    task = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    try:
        result = await coroutine  # type: ignore[misc]
    finally:
        done = True
        await task
    return result, worst


async def test_a_plan_cannot_overwrite_a_snippet_the_developer_saved(
    make_cm: Callable[..., CodeMode], tmp_path: Path
) -> None:
    store = tmp_path / "shared.sqlite"
    cm = make_cm(_tools(), store=store)
    await cm.save_snippet("greet", "return 'hello ' + who", parameters={"who": "str"})

    attack = await cm.run(
        "return await codemode.save_snippet('greet', \"return 'pwned'\", parameters={'who': 'str'})"
    )
    assert attack.ok, attack.error  # saved, but as the plan's own: snippets.plans.greet
    assert "snippets.plans.greet" in attack.value

    result = await cm.run("return await snippets.greet(who='ada')")
    assert result.value == "hello ada"
    # Another process sharing the store runs the developer's code too.
    other = make_cm(_tools(), store=store)
    assert (await other.run("return await snippets.greet(who='bob')")).value == "hello bob"
    assert (await other.run("return await snippets.plans.greet(who='bob')")).value == "pwned"
    described = await other.run("return await codemode.describe('snippets')")
    assert "class plans:" in described.value  # the model sees who wrote which
    with pytest.raises(SnippetError, match="reserved"):
        await cm.save_snippet("plans", "return 1")


async def test_a_huge_snippet_is_refused_at_once_without_stalling_the_host(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm(_tools())
    body = "x = 1\n" * 200_000
    in_plan = "x = 1\n" * 20_000  # 6x the snippet limit, yet a plan short enough to compile
    started = time.perf_counter()
    result, lag = await _loop_lag_while(
        cm.run(f"return await codemode.save_snippet('big', {in_plan!r})")
    )
    assert time.perf_counter() - started < 2.0
    assert lag < 0.5, f"the host's event loop stalled {lag:.2f}s"
    assert result.error is not None and result.error.kind == "tool"  # type: ignore[attr-defined]
    assert f"{MAX_SNIPPET_CHARS:,}" in result.error.message  # type: ignore[attr-defined]
    with pytest.raises(SnippetError, match="the limit is"):
        await cm.save_snippet("big", body)
    assert await cm.snippets() == []


async def test_compiling_a_snippet_never_blocks_the_hosts_event_loop(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm(_tools())
    # Under the size and node caps, yet many statements: a noticeable time compiling.
    body = "x=[1]\n" * 1_500
    started = time.perf_counter()
    compile_plan(f"{body}return 0  # {time.time()}")  # what it costs here, now (machines vary)
    compiling = time.perf_counter() - started
    gc.freeze()  # the collector's pauses over pytest's own heap are not what is measured
    try:
        saved, lag = await _loop_lag_while(
            cm.save_snippet("many_lines", f"{body}return len(x)  # {time.time()}")
        )
    finally:
        gc.unfreeze()
    assert isinstance(saved, Snippet)
    assert lag < compiling / 2, f"the loop stalled {lag:.2f}s (compiling takes {compiling:.2f}s)"
    assert (await cm.run("return await snippets.many_lines()")).value == 1


async def test_oversized_snippets_in_the_store_never_break_later_runs(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm(_tools())
    # Saved around the checks (an older version, or other code writing the store).
    for number in range(7):
        await cm.store.save_snippet(
            Snippet(name=f"huge_{number}", code="return 1\n#" + "x" * 10_000_000)
        )
    await cm.store.save_snippet(Snippet(name="small", code="return 2"))
    result = await cm.run("return await snippets.small()")
    assert result.ok, result.error
    assert result.value == 2
    left_out = await cm.run("return await snippets.huge_0()")
    assert left_out.error is not None and "huge_0" in left_out.error.message


async def test_plans_may_keep_only_so_many_snippets(make_cm: Callable[..., CodeMode]) -> None:
    cm = make_cm(_tools())
    code = (
        f"for i in range({MAX_PLAN_SNIPPETS}):\n"
        "    await codemode.save_snippet(f's{i}', 'return 1')\n"
        "return await codemode.save_snippet('one_more', 'return 1')"
    )
    result = await cm.run(code)
    assert result.error is not None and result.error.kind == "tool"
    assert f"plans have saved {MAX_PLAN_SNIPPETS} snippets" in result.error.message
    # Replacing one of its own is still allowed, and the developer can still save.
    again = await cm.run("return await codemode.save_snippet('s0', 'return 2')")
    assert again.ok, again.error
    await cm.save_snippet("developers", "return 3")
    assert len(await cm.snippets()) == MAX_PLAN_SNIPPETS + 1
