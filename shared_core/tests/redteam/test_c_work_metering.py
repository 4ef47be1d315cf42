"""Red-team family "C work never counted" (issue #17, W4): whatever C code drains a lazy
iterator a plan made, the iterator pays per item, so the operation budget and the deadline
hold; bulk operations on containers are charged by their size."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from codemode_core import CodeMode, Limits
from core_support import Calls, make_tools

TINY = Limits(timeout=10.0, max_operations=1000)
LAZY = "map(abs, range(10**6))"


@pytest.mark.parametrize(
    "code",
    [
        f"import collections\ncollections.deque({LAZY}, 0)",
        f"import collections\ncollections.deque(iterable={LAZY}, maxlen=0)",
        f"x = []\nx += {LAZY}",
        f"s = set()\ns.update({LAZY})",
        f"set().union({LAZY})",
        f"frozenset().isdisjoint({LAZY})",
        f"dict.fromkeys({LAZY})",
        f"{{}}.fromkeys({LAZY})",
        f"d = {{}}\nd.update(zip({LAZY}, range(10**6)))",
        f"list[int]({LAZY})",
        f"tuple[int, ...]({LAZY})",
        f"import collections\ncollections.Counter({LAZY})",
        f"import collections\nc = collections.Counter()\nc.update({LAZY})",
        f"import collections\ncollections.OrderedDict.fromkeys({LAZY})",
        f"import collections\ncollections.defaultdict(int, zip({LAZY}, {LAZY}))",
        f"import itertools\nitertools.product({LAZY})",
        f"import itertools\nitertools.combinations({LAZY}, 1)",
        f"import itertools\nitertools.permutations({LAZY}, 1)",
        "import collections\ncollections.deque(zip(range(10**6)), 0)",
        "import collections\ncollections.deque(enumerate(range(10**6)), 0)",
        "import collections\ncollections.deque(reversed(range(10**6)), 0)",
        "import collections\ncollections.deque(filter(None, range(10**6)), 0)",
        "import collections\ncollections.deque(iter(range(10**6)), 0)",
        "import collections\ndef g():\n    yield from range(10**6)\ncollections.deque(g(), 0)",
        "import collections, re\ncollections.deque(re.finditer('', 'x' * 10**6), 0)",
        "import collections, re\ncollections.deque(re.compile('').finditer('x' * 10**6), 0)",
    ],
)
async def test_c_consumers_of_lazy_iterators_are_metered(
    make_cm: Callable[..., CodeMode], calls: Calls, code: str
) -> None:
    cm = make_cm(make_tools(calls), limits=TINY)
    result = await cm.run(code + "\nreturn 'unmetered'")
    assert result.error is not None, result.value
    assert result.error.kind == "budget", result.error
    assert "max_operations=1,000" in result.error.message


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import collections\nlist(collections.deque(map(abs, [-1, 2]), 2))", [1, 2]),
        ("x = [0]\nx += map(abs, [-1])\nx += range(2)\nx", [0, 1, 0, 1]),
        ("s = {1}\ns.update([2], map(abs, [-3]))\nsorted(s | {4})", [1, 2, 3, 4]),
        ("import collections\nc = collections.Counter('aab')\nc.update({'a': 2})\nc['a']", 4),
        ("import collections\nisinstance(collections.Counter(), collections.Counter)", True),
        ("import collections\nd = collections.defaultdict(list)\nd[1].append(2)\nd[1]", [2]),
        ("list[int](zip([1], [2]))", [[1, 2]]),
        ("[[i, x] for i, x in enumerate('ab')]", [[0, "a"], [1, "b"]]),
        ("import itertools\nlist(itertools.islice(itertools.count(), 2, 4))", [2, 3]),
        ("import collections\ncollections.OrderedDict.fromkeys('ab', 0)", {"a": 0, "b": 0}),
        (
            "def sub():\n    yield 1\n    return 5\n"
            "def g():\n    r = yield from sub()\n    yield r\nlist(g())",
            [1, 5],
        ),
    ],
)
async def test_metered_operations_keep_their_meaning(
    make_cm: Callable[..., CodeMode], calls: Calls, code: str, expected: object
) -> None:
    cm = make_cm(make_tools(calls))
    *body, last = code.split("\n")
    result = await cm.run("\n".join([*body, f"return {last}"]))
    assert result.ok, result.error
    assert result.value == expected


async def test_a_metered_iterator_is_counted_once(
    make_cm: Callable[..., CodeMode], calls: Calls
) -> None:
    """A `for` loop or a consumer over `map` counts each item once, not once per layer."""
    limits = Limits(max_operations=1_500)
    cm = make_cm(make_tools(calls), limits=limits)
    result = await cm.run("n = 0\nfor x in map(abs, range(1000)):\n    n += 1\nreturn n")
    assert result.value == 1000, result.error
    assert (await cm.run("return max(map(abs, range(1400)))")).value == 1399


async def test_c_work_on_a_lazy_iterator_meets_the_deadline(
    make_cm: Callable[..., CodeMode], calls: Calls
) -> None:
    """In-process nothing else stops C code: one `deque(map(...), 0)` of slow items held the
    host for 24.7 s against a 0.5 s deadline."""
    cm = make_cm(make_tools(calls), limits=Limits(timeout=0.5, max_operations=10**12))
    assert (await cm.run("return 1")).ok  # warm: an isolated worker starts here
    started = time.perf_counter()
    result = await cm.run(
        "import collections\ns = 'a' * 1_000_000\n"
        "collections.deque(map(str.upper, [s] * 5000), 0)\nreturn 'done'"
    )
    assert result.error is not None and result.error.kind == "timeout", result.error
    assert time.perf_counter() - started < 0.5 + 0.9


async def test_one_quadratic_c_call_ends_at_the_deadline_on_the_isolated_executor(
    calls: Calls,
) -> None:
    """What no guard can bound in-process (W12): one C call doing quadratic work, here a set
    of integers that all hash to 0 (multiples of 2**61 - 1), minutes of work that is charged
    as 100,000 items. The isolated executor kills its worker at the deadline (docs/security.md,
    "In-process limits")."""
    cm = CodeMode(
        make_tools(calls), executor="isolated", limits=Limits(timeout=0.5, max_operations=10**9)
    )
    try:
        assert (await cm.run("return 1")).ok  # warm: the worker starts here, not below
        started = time.perf_counter()
        result = await cm.run(
            "m = 2**61 - 1\nkeys = [k * m for k in range(100_000)]\nreturn len(set(keys))"
        )
        elapsed = time.perf_counter() - started
        assert result.error is not None and result.error.kind == "timeout", result.error
        assert elapsed < 0.5 + 2.0 + 1.5  # the deadline, the kill grace (2 s), a loaded machine
        assert (await cm.run("return 2")).value == 2  # a fresh worker serves the next plan
    finally:
        await cm.aclose()
