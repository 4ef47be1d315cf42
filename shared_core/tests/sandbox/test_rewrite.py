"""Plan normalization: forgive model habits, keep plan line numbers."""

from __future__ import annotations

from typing import Any

import pytest

from codemode_core import CodeMode
from codemode_core.sandbox.rewrite import strip_fences


def test_fences_become_blank_lines() -> None:
    text = "Here is the plan:\n```python\nx = 1\nreturn x\n```\nDone."
    assert strip_fences(text) == "\n\nx = 1\nreturn x\n\n"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("```python\nx = await tools.add(1, 2)\nx\n```", 3),
        ("async def main():\n    return await tools.add(2, 2)\n", 4),
        ("import asyncio\nasync def main():\n    return 5\nasyncio.run(main())", 5),
        (
            "async def main():\n    return 6\nif __name__ == '__main__':\n    asyncio.run(main())",
            6,
        ),
        ("r = tools.add(3, 4)\nr", 7),
        ("r = tools.add(4, 4)\nr2 = await r\nr2", 8),
        (
            "t1 = tools.add(1, 1)\nt2 = tools.add(2, 2)\n"
            "rs = await asyncio.gather(t1, t2)\nsum(rs)",
            6,
        ),
        ("total = 0\ndef bump(n):\n    global total\n    total += n\nbump(2)\nbump(3)\ntotal", 5),
        ("tools.add(1, 1)\n'bare call statements are awaited'", "bare call statements are awaited"),
        ("orders = tools.list_orders()\nlen(orders)", 3),
        ("d = {'n': 1}\nd['n'] += 4\nd['n']", 5),
        ("d = {'a': [1]}\nk = 'a'\nd[k] += [2]\nd", {"a": [1, 2]}),
        (
            "counts = {}\nfor w in 'abca':\n    counts[w] = counts.get(w, 0)\n    counts[w] += 1\n"
            "counts",
            {"a": 2, "b": 1, "c": 1},
        ),
    ],
)
async def test_forgiving_plans(cm: CodeMode, code: str, expected: Any) -> None:
    result = await cm.run(code)
    assert result.ok, result.error
    assert result.value == expected


async def test_not_awaited_in_sync_helper_names_line_and_fix(cm: CodeMode) -> None:
    result = await cm.run("def helper():\n    return tools.add(1, 2)\nx = helper()\nreturn x + 1")
    assert result.error is not None
    assert result.error.kind == "runtime"
    assert result.error.line == 4
    assert result.error.message == (
        "line 2: `tools.add(...)` was used without `await`. Write `await tools.add(...)`."
    )


async def test_forgotten_and_discarded_call_is_reported(cm: CodeMode) -> None:
    result = await cm.run("def helper():\n    tools.add(1, 2)\nhelper()\nreturn 1")
    assert result.error is not None
    assert "line 2: `tools.add(...)` was used without `await`" in result.error.message


async def test_syntax_error_points_at_plan_line_after_fences(cm: CodeMode) -> None:
    result = await cm.run("Plan:\n```python\nx = 1\nfor y in\n```")
    assert result.error is not None
    assert result.error.kind == "syntax"
    assert result.error.line == 4


async def test_tool_name_without_prefix_gets_a_hint(cm: CodeMode) -> None:
    result = await cm.run("x = await add(1, 2)")
    assert result.error is not None
    assert result.error.message == (
        "NameError: name 'add' is not defined. Tools are called as `await tools.add(...)`."
    )


async def test_misspelled_tool_suggests_close_match(cm: CodeMode) -> None:
    result = await cm.run("await tools.list_order()")
    assert result.error is not None
    assert "did you mean tools.list_orders?" in result.error.message  # the pre-flight check
    hidden = await cm.run("t = tools\nawait t.list_order()")  # out of its sight: at run time
    assert hidden.error is not None
    assert "Did you mean: list_orders?" in hidden.error.message
