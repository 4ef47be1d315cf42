"""Red-team family "the host builds or parses unbounded": plan text, and what a plan raises,
prints or returns, is measured before the host builds anything from it. Both executors (the
`make_cm` fixture)."""

from __future__ import annotations

import time
from collections.abc import Callable

from codemode_core import CodeMode, Limits, Tool


def _echo_tools() -> list[Tool]:
    async def echo(text: str) -> str:
        """Echo the text."""
        return text

    return [Tool.from_function(echo)]


async def test_an_oversized_plan_is_refused_before_the_host_parses_it(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm(_echo_tools(), limits=Limits(timeout=1.0))
    # "tools" in a comment used to send the whole text through the host's pre-flight parse
    # (80 s and 3 GB for this plan) before the size limit applied.
    plan = "# tools\nx = [" + "(1,2)," * 1_000_000 + "]\n"
    started = time.perf_counter()
    result = await cm.run(plan)
    elapsed = time.perf_counter() - started
    assert result.error is not None and result.error.kind == "policy"
    assert result.error.message.startswith(
        "Line 2: the plan is too large: 6,000,015 characters, more than 200,000."
    )
    assert elapsed < 0.5
    # The same plan without a tool in it: refused as fast (never sent to a worker).
    started = time.perf_counter()
    quiet = await cm.run(plan.replace("# tools", "# data"))
    assert quiet.error is not None and "the plan is too large" in quiet.error.message
    assert time.perf_counter() - started < 0.5


async def test_an_oversized_plan_is_refused_by_node_count_before_the_call_check(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm(_echo_tools())
    plan = "await tools.ehco(text='a')\n" + "x = 1\n" * 12_000  # 36,000 nodes, 100 KB
    result = await cm.run(plan)
    assert result.error is not None and result.error.kind == "policy"
    assert "more than 10,000 syntax elements" in result.error.message
