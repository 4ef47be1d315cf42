"""The default-deny object model from the plan's side: ordinary plans keep working on every
executor, refusals are short and carry the plan line, and the reviewed table stays honest."""

from __future__ import annotations

import collections
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codemode_core import CodeMode, Limits, Tool
from codemode_core.sandbox._allowlist import ALLOWED_ATTRIBUTES, CLASS_ATTRIBUTES
from codemode_core.sandbox.guards import PlanRuntime

SECURITY_DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"


def _add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@pytest.fixture(scope="module", params=["inprocess", "isolated"])
def code_mode(request: pytest.FixtureRequest) -> Iterator[CodeMode]:
    cm = CodeMode(
        [Tool.from_function(_add, name="add")], executor=request.param, limits=Limits(timeout=5)
    )
    yield cm
    cm.close()


ORDINARY: dict[str, tuple[str, Any]] = {
    "exception args": (
        "try:\n    {}['k']\nexcept KeyError as e:\n    return [e.args[0], str(e)]",
        ["k", "'k'"],
    ),
    "tool error fields": (
        "try:\n    raise ToolError('no', tool='tools.x')\nexcept ToolError as e:\n"
        "    return [e.message, e.tool, e.args]",
        ["no", "tools.x", ["no"]],
    ),
    "json error fields": (
        "import json\ntry:\n    json.loads('{')\nexcept json.JSONDecodeError as e:\n"
        "    return [e.pos, e.lineno, e.msg]",
        [1, 1, "Expecting property name enclosed in double quotes"],
    ),
    "dict, list and str methods": (
        "d = {'a': 1}\nd.update(b=2)\nxs = sorted(d.keys())\nxs.append('c')\n"
        "return [d.get('b'), list(d.items()), ','.join(xs).upper().split(','), "
        "'  x '.strip(), 'a-b'.replace('-', '+'), '{} {}'.format(1, 2)]",
        [2, [["a", 1], ["b", 2]], ["A", "B", "C"], "x", "a+b", "1 2"],
    ),
    "unbound methods and class constructors": (
        "return [sorted(['b', 'A'], key=str.lower), dict.fromkeys('ab', 0), "
        "int.from_bytes(b'\\x01\\x00', 'big'), 'ab'.translate(str.maketrans('a', 'z'))]",
        [["A", "b"], {"a": 0, "b": 0}, 256, "zb"],
    ),
    "datetime": (
        "import datetime\nd = datetime.datetime(2024, 1, 31, 12, tzinfo=datetime.timezone.utc)\n"
        "later = d + datetime.timedelta(days=1)\n"
        "return [later.isoformat(), later.weekday(), d.date().year, later.strftime('%m'), "
        "datetime.datetime.fromisoformat('2024-02-03').day, "
        "isinstance(datetime.datetime.now(), datetime.datetime), "
        "datetime.date.today().year > 2000, datetime.timedelta(hours=2).total_seconds()]",
        ["2024-02-01T12:00:00+00:00", 3, 2024, "02", 3, True, True, 7200.0],
    ),
    "re patterns and matches": (
        "import re\np = re.compile(r'(?P<k>\\w+)=(\\d+)')\nm = p.search('x a=1')\n"
        "return [m.group('k'), m.groups(), m.span(), p.pattern, p.findall('a=1 b=2'), "
        "dict(p.groupindex), m.groupdict()]",
        [
            "a",
            ["a", "1"],
            [2, 5],
            "(?P<k>\\w+)=(\\d+)",
            [["a", "1"], ["b", "2"]],
            {"k": 1},
            {"k": "a"},
        ],
    ),
    "collections": (
        "import collections\nc = collections.Counter('abracadabra')\n"
        "q = collections.deque([1, 2])\n"
        "q.appendleft(0)\nq.rotate(1)\nq.extend([5])\nd = collections.defaultdict(list)\n"
        "d['x'].append(1)\no = collections.OrderedDict(a=1, b=2)\no.move_to_end('a')\n"
        "c['z'] += 1\nm = collections.ChainMap({'a': 1}, {'b': 2})\nm['c'] = 3\n"
        "return [c.most_common(2), list(q), dict(d), list(o), q.popleft(), c.total(), "
        "dict(m), m.maps[0]]",
        [
            [["a", 5], ["b", 2]],
            [2, 0, 1, 5],
            {"x": [1]},
            ["b", "a"],
            2,
            12,
            {"b": 2, "a": 1, "c": 3},
            {"a": 1, "c": 3},
        ],
    ),
    "async generators and generators": (
        "async def ag():\n    for i in range(3):\n        await asyncio.sleep(0)\n        yield i\n"
        "def g():\n    yield 'a'\n    yield 'b'\nout = []\n"
        "async for x in ag():\n    out.append(x)\n"
        "it = g()\n"
        "return [out, next(it), list(it), await anext(ag())]",
        [[0, 1, 2], "a", ["b"], 0],
    ),
    "gather, timeout, wait_for": (
        "rs = await asyncio.gather(tools.add(a=1, b=2), asyncio.sleep(0, 'slept'))\n"
        "async with asyncio.timeout(2):\n    x = await tools.add(a=2, b=2)\n"
        "y = await asyncio.wait_for(tools.add(a=3, b=3), 2)\nreturn [rs, x, y]",
        [[3, "slept"], 4, 6],
    ),
    "semaphore, lock, queue, event": (
        "sem = asyncio.Semaphore(2)\nlock = asyncio.Lock()\nq = asyncio.Queue()\n"
        "done = asyncio.Event()\nasync def work(i):\n    async with sem:\n"
        "        r = await tools.add(a=i, b=i)\n    async with lock:\n        await q.put(r)\n"
        "await asyncio.gather(*[work(i) for i in range(4)])\ndone.set()\nitems = []\n"
        "while not q.empty():\n    items.append(q.get_nowait())\n"
        "return [sorted(items), done.is_set(), await done.wait(), q.qsize(), sem.locked()]",
        [[0, 2, 4, 6], True, True, 0, False],
    ),
    "hasattr and getattr with a default": (
        "return [hasattr({}, 'items'), hasattr([], 'items'), getattr(1, 'nope', 'd'), "
        "hasattr(asyncio.sleep(0), 'send'), dir(asyncio.sleep(0))]",
        [True, False, "d", False, []],
    ),
    "plain reprs of functions": (
        "import json\nreturn [repr(json.dumps), str(print), repr(len), repr(asyncio.Semaphore)]",
        [
            "<function json.dumps>",
            "<function print>",
            "<built-in function len>",
            "<class 'asyncio.Semaphore'>",
        ],
    ),
}


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
@pytest.mark.parametrize("name", list(ORDINARY))
def test_ordinary_plans_still_work(code_mode: CodeMode, name: str) -> None:
    code, expected = ORDINARY[name]
    result = code_mode.run_sync(code)
    assert result.status == "ok", result.to_model()
    assert result.value == expected


def test_opaque_objects_are_refused_with_the_line(code_mode: CodeMode) -> None:
    result = code_mode.run_sync("x = 1\nc = asyncio.sleep(0)\nc.send(None)")
    assert result.error is not None and result.error.line == 3
    assert result.error.message == (
        "AttributeError: `coroutine` object has no attributes usable in plans "
        "(`send` is not available)."
    )
    unlisted = code_mode.run_sync("return 'a'.uper()")
    assert unlisted.error is not None and unlisted.error.line == 1
    assert unlisted.error.message == (
        "AttributeError: `str` object has no attribute `uper` in plans. "
        "Did you mean: upper, isupper?"
    )


def test_attribute_writes_are_refused_at_compile_time(code_mode: CodeMode) -> None:
    result = code_mode.run_sync("import collections\nc = collections.Counter()\nc.x = 1")
    assert result.error is not None and result.error.kind == "policy"
    assert result.error.message == (
        "Line 3: attributes cannot be set in plans (`.x = ...`); keep values in a dict instead: "
        '`d["x"] = ...`.'
    )


@pytest.mark.parametrize(
    "container",
    [
        collections.Counter(),
        collections.OrderedDict(),
        collections.defaultdict(list),
        collections.ChainMap({}),
    ],
)
def test_the_write_guard_allows_items_never_attributes(container: Any) -> None:
    # The run-time half of the attribute ban: what `_write_` returns takes items only.
    target = PlanRuntime(Limits()).write(container)
    target["k"] = 1
    del target["k"]
    with pytest.raises(AttributeError):
        target.x = 1
    assert not hasattr(container, "x")


def test_every_listed_name_exists() -> None:
    # `_names` drops names this interpreter lacks; a typo would vanish silently, so list the
    # version-dependent ones here and check that nothing else was dropped.
    assert "upper" in ALLOWED_ATTRIBUTES[str]
    for cls, names in ALLOWED_ATTRIBUTES.items():
        for name in names - {"maps"}:  # `ChainMap.maps` is set per instance
            assert hasattr(cls, name), (cls, name)
    assert "now" not in ALLOWED_ATTRIBUTES[type(__import__("datetime").datetime.now())]
    assert "fromkeys" in CLASS_ATTRIBUTES[dict]


def allowlist_markdown() -> str:
    """The allowlist as docs/security.md shows it (the doc must contain this text verbatim)."""
    lines = []
    for cls, names in sorted(
        ALLOWED_ATTRIBUTES.items(), key=lambda item: (item[0].__module__, item[0].__qualname__)
    ):
        module = "" if cls.__module__ == "builtins" else f"{cls.__module__}."
        listed = ", ".join(sorted(names)) if names else "(none)"
        lines.append(f"| `{module}{cls.__qualname__}` | {listed} |")
    return "\n".join(["| type | attributes a plan may read |", "| --- | --- |", *lines])


def test_security_doc_lists_the_allowlist() -> None:
    table = allowlist_markdown()
    text = re.sub(r"[ \t]+\n", "\n", SECURITY_DOC.read_text())
    assert table in text, f"docs/security.md must contain the allowlist table:\n\n{table}"
