"""Red-team families found by the second outside pass: objects that Python would iterate by
indexing (`x in list`, `x in typing.Any`: `list[0]`, `list[1]`, ... in C, forever) and lazy
results (an iterator or generator returned by a plan, which serialising would run on the
host, outside the guards). Both executors (the `make_cm` fixture)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from codemode_core import CodeMode, Limits


@pytest.mark.parametrize(
    "plan",
    [
        "return 1 in list",
        "return 'a' in dict",
        "import typing\nreturn 1 in typing.Any",
        "import typing\nreturn 1 in typing.List[int]",
        "for x in str:\n    pass",
        "return sorted(int)",
    ],
)
async def test_a_type_or_typing_form_is_not_iterable(
    make_cm: Callable[..., CodeMode], plan: str
) -> None:
    cm = make_cm([], limits=Limits(timeout=1.0))
    result = await asyncio.wait_for(cm.run(plan), 10)  # it used to spin the host forever
    assert result.error is not None and result.error.kind == "runtime", result
    assert "not iterable" in result.error.message


@pytest.mark.parametrize(
    "plan",
    [
        "import itertools\nreturn itertools.count()",
        "def g():\n    while True:\n        yield 1\nreturn g()",
        "return {'rows': map(str, [1, 2])}",
        "return [iter([1, 2])]",
    ],
)
async def test_a_lazy_result_is_refused_not_run_on_the_host(
    make_cm: Callable[..., CodeMode], plan: str
) -> None:
    cm = make_cm([], limits=Limits(timeout=1.0))
    result = await asyncio.wait_for(cm.run(plan), 10)
    assert result.error is not None and result.error.kind == "runtime", result
    assert "Return list(...)" in result.error.message
    assert (await cm.run("return list(range(3))")).value == [0, 1, 2]
