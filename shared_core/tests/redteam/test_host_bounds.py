"""Red-team family "the host builds or parses unbounded": plan text, and what a plan raises,
prints or returns, is measured before the host builds anything from it. Both executors (the
`make_cm` fixture)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

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


SHARED = "a = [0] * 1000\nb = [a] * 1000\n"
"""`b`'s text is 3 M characters, held in 8 KB: repeating it multiplies the text, not memory."""


async def test_a_huge_exception_message_is_measured_not_built(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm([], limits=Limits(timeout=1.0))
    await cm.run("return 1")  # a warm worker: what is timed is the plan alone
    started = time.perf_counter()
    result = await cm.run(SHARED + "c = [b] * 100\nraise ValueError(c)")
    assert time.perf_counter() - started < 2.0  # was 27 s and a 300 M-character message
    assert result.error is not None and result.error.kind == "runtime"
    assert result.error.line == 4
    assert result.error.message == "ValueError: <a message of more than 2,000 characters>"

    long_text = await cm.run("raise ValueError('x' * 5_000_000)")
    assert long_text.error is not None and long_text.error.line == 1
    assert long_text.error.message.startswith("ValueError: xxx")
    assert len(long_text.error.message) < 2_100 and "characters]" in long_text.error.message


async def test_a_huge_dict_key_is_not_written_into_a_key_error(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm([], limits=Limits(timeout=2.0))
    result = await cm.run("s = 'x' * 5_000_000\nd = {(s,) * 2: 1, 'a': 2}\nreturn d['zz']")
    assert result.error is not None and result.error.line == 3
    assert result.error.message == (
        "KeyError: 'zz' (the dict's keys: <a tuple key of more than 80 characters>, 'a')"
    )


async def test_print_builds_no_more_text_than_the_logs_keep(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm([], limits=Limits(timeout=1.0))
    await cm.run("return 1")  # a warm worker: what is timed is the plan alone
    started = time.perf_counter()
    many = await cm.run("s = 'x' * 1_000_000\nc = [s] * 9\nprint(*([c] * 60))\nreturn 'ok'")
    assert time.perf_counter() - started < 2.0  # was 10 s and 1 GB: 60 texts of 9 M each
    assert many.ok, many.error
    assert many.logs[-1].endswith("[logs truncated at 20,000 characters]")
    assert sum(map(len, many.logs)) < 20_100

    sep = await cm.run(SHARED + "c = [b] * 100\nprint(1, 2, sep=c)\nreturn 'ok'")
    assert sep.error is not None and sep.error.line == 4  # was 25 s: str(sep) unmeasured
    assert sep.error.message == "TypeError: sep must be None or a string, not list"

    honest = await cm.run("print(1, [2, 3], 'x', sep='-', end='')\nreturn 'ok'")
    assert honest.ok and honest.logs == ("1-[2, 3]-x",)


async def test_a_shared_result_is_measured_before_the_host_expands_it(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm([], limits=Limits(timeout=1.0))
    await cm.run("return 1")  # a warm worker: what is timed is the plan alone
    started = time.perf_counter()
    result = await cm.run(SHARED + "return [b] * 200")
    assert time.perf_counter() - started < 2.0  # was 16 s and 1.5 GB in-process
    assert result.error is not None and result.error.kind == "budget"
    assert "more than 10,000,000 characters as JSON" in result.error.message
    assert "Limits.max_sequence_length" in result.error.message
    fits = await cm.run(SHARED + "return [b[0]] * 3")
    assert fits.ok and fits.value == [[0] * 1000] * 3


async def test_a_tuple_dict_key_counts_by_its_real_size(
    make_cm: Callable[..., CodeMode],
) -> None:
    seen: list[int] = []

    def store(data: dict) -> int:  # type: ignore[type-arg]
        """Store data."""
        seen.append(sum(len(str(k)) for k in data))
        return len(data)

    cm = make_cm([Tool.from_function(store)], limits=Limits(timeout=2, max_argument_chars=10_000))
    result = await cm.run(
        "s = 'x' * 1_000_000\nk = (s,) * 300\nreturn await tools.store(data={k: 1})"
    )
    assert result.error is not None and result.error.kind == "tool" and result.error.line == 3
    assert "Limits.max_argument_chars" in result.error.message
    assert seen == [] and result.tool_calls == ()
    small = await cm.run("return await tools.store(data={(1, 'a'): 1, 2: 3})")
    assert small.ok and small.value == 2


UNREPORTABLE = {
    "big int": (
        "return int('1' * 100_000, 2)",
        "runtime",
        None,
        "the plan's result holds an integer of 100,000 bits",
    ),
    "big int inside": (
        "x = int('1' * 100_000, 2)\nreturn {'n': [1, x]}",
        "runtime",
        None,
        "the plan's result holds an integer of 100,000 bits",
    ),
    "raised big int": (
        "x = 1\nraise ValueError(int('1' * 100_000, 2))",
        "runtime",
        2,
        "ValueError: <a message of more than 2,000 characters>",
    ),
    "list inside itself": (
        "a = []\na.append(a)\nreturn a",
        "runtime",
        None,
        "the plan's result contains itself (a list inside itself)",
    ),
    "dict inside itself": (
        "d = {}\nd['me'] = [d]\nreturn d",
        "runtime",
        None,
        "the plan's result contains itself (a dict inside itself)",
    ),
    "deep list": (
        "a = []\nfor i in range(100_000):\n    a = [a]\nreturn a",
        "budget",
        None,
        "the plan's result nests more than 90 levels deep",
    ),
}


@pytest.mark.parametrize("case", list(UNREPORTABLE), ids=list(UNREPORTABLE))
async def test_any_value_a_plan_returns_or_raises_is_reported_the_same_on_both_executors(
    make_cm: Callable[..., CodeMode], case: str
) -> None:
    plan, kind, line, message = UNREPORTABLE[case]
    cm = make_cm([], limits=Limits(timeout=5))
    result = await cm.run(plan)
    assert result.error is not None, result.value
    assert (result.error.kind, result.error.line) == (kind, line), result.error
    assert result.error.message.startswith(message), result.error.message
    assert result.to_model().startswith(f"{kind} error")  # renders, never raises
    again = await cm.run("return [1, 2]")  # and the executor is fine afterwards
    assert again.ok and again.value == [1, 2]


async def test_the_largest_reportable_values_still_return(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm([], limits=Limits(timeout=5))
    big = await cm.run("return 10 ** 4299")
    assert big.ok and big.value == 10**4299 and big.to_model().startswith("1000")
    shared = await cm.run("a = [1, 2]\nreturn {'x': a, 'y': [a, a]}")
    assert shared.ok and shared.value == {"x": [1, 2], "y": [[1, 2], [1, 2]]}
    deep = await cm.run("a = []\nfor i in range(80):\n    a = [a]\nreturn a")
    assert deep.ok


async def test_exception_text_carries_no_host_path(make_cm: Callable[..., CodeMode]) -> None:
    cm = make_cm([])
    plan = (
        "try:\n"
        "    'x'.encode('uu')\n"
        "except Exception as e:\n"
        "    return [str(e), repr(e), str(e.args)]\n"
        "return 'encoded'"
    )
    result = await cm.run(plan)
    assert result.ok, result.error
    uncaught = await cm.run("'x'.encode('uu')")
    assert uncaught.error is not None and uncaught.error.line == 1
    for text in (*result.value, uncaught.error.message):
        for path in {sys.prefix, sys.base_prefix, str(Path.home())} - {"/"}:
            assert path not in text, text


async def test_discovery_does_no_work_in_proportion_to_a_huge_name_or_query(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm(_echo_tools(), limits=Limits(timeout=2.0))
    await cm.run("return 1")
    started = time.perf_counter()
    described = await cm.run("return await codemode.describe('tools.' + 'ab cd ' * 500_000)")
    searched = await cm.run("return await codemode.search('echo ' + 'ab cd ' * 500_000)")
    assert time.perf_counter() - started < 2.0  # were 16 s and 13 s in-process
    assert described.error is not None and described.error.kind in ("tool", "runtime")
    assert len(described.error.message) < 2_100
    assert searched.error is None or searched.error.kind == "runtime"  # too big to send
    found = await cm.run("return [t['name'] for t in await codemode.search('echo the text')]")
    assert found.ok and found.value == ["tools.echo"]


async def test_a_plans_own_tool_error_message_is_measured_not_built(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm([], limits=Limits(timeout=1.0))
    await cm.run("return 1")  # a warm worker: what is timed is the plan alone
    started = time.perf_counter()
    result = await cm.run(SHARED + "raise ToolError([b] * 100)")
    assert time.perf_counter() - started < 2.0  # was 11 s and a 300 M-character message
    assert result.error is not None and (result.error.kind, result.error.line) == ("runtime", 3)
    assert result.error.message == (
        "the plan raised ToolError itself: <a list of more than 2,000 characters>"
    )
