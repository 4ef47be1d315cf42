"""Async constructs are allowed (the base RestrictedPython policy refuses them)."""

from __future__ import annotations

import pytest

from codemode_core.sandbox.compiler import CompiledPlan, PlanRejected, compile_plan


@pytest.mark.parametrize(
    "code",
    [
        "x = await tools.a()",
        "async def f():\n    return await tools.a()\nreturn await f()",
        "async def g():\n    yield 1\nasync for x in g():\n    print(x)",
        "async with asyncio.timeout(1):\n    await asyncio.sleep(0)",
        "r = [await tools.a(i) for i in range(3)]",
    ],
)
def test_async_constructs_compile(code: str) -> None:
    assert isinstance(compile_plan(code), CompiledPlan)


def test_top_level_yield_is_refused() -> None:
    result = compile_plan("yield 1")
    assert isinstance(result, PlanRejected)
    assert result.message == (
        "Line 1: `yield` cannot be used at the top level of a plan; use `return` to give "
        "back a value."
    )


def test_try_star_is_refused() -> None:
    result = compile_plan("try:\n    pass\nexcept* ValueError:\n    pass")
    assert isinstance(result, PlanRejected)
    assert result.message == "Line 1: `except*` is not available in plans; use a plain `except`."
