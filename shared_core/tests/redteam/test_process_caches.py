"""Red-team family "process-wide caches and registries" (issue #17, win W1): nothing one plan
writes into process-wide state is readable by another, in-process (even across `CodeMode`
instances) or on a reused isolated worker.

`typing`'s subscriptions are memoised process-wide by *equal* arguments: a plan that wrote
`typing.Literal["mailbox", (-0.0, 0.0, ...)]` had another plan read the signs back from
`repr(typing.Literal["mailbox", (0.0, 0.0, ...)])`. Plans now get annotation markers that keep
nothing; the other modules plans can import keep no state a plan can write and read back
(see docs/security.md, "Isolation between plans").
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from codemode_core import CodeMode, Limits, Tool
from codemode_core.sandbox import IsolatedExecutor

SECRET = "K7"


def _secret_tool() -> Tool:
    def get_secret() -> str:
        """The secret only the writing plan may see."""
        return SECRET

    return Tool.from_function(get_secret)


def _bits(zero: str, one: str) -> str:
    return (
        "secret = await tools.get_secret()\n"
        "bits = []\n"
        "for ch in secret.encode():\n"
        "    for i in range(8):\n"
        f"        bits.append({one} if (ch >> i) & 1 else {zero})\n"
    )


def _decode(test: str) -> str:
    return (
        "text = repr(alias)\n"
        "out = []\n"
        "for b in range(0, len(parts), 8):\n"
        "    byte = 0\n"
        "    for i in range(8):\n"
        f"        if {test}:\n"
        "            byte = byte | (1 << i)\n"
        "    out.append(chr(byte))\n"
        "return ''.join(out)\n"
    )


CHANNELS = {
    # (writer, reader): the reader asks for an alias *equal* to the writer's and decodes it.
    "Literal signed zeros": (
        "import typing\n"
        + _bits("0.0", "-0.0")
        + "typing.Literal['mailbox', tuple(bits)]\nreturn 'nothing secret'",
        "import typing\n"
        "alias = typing.Literal['mailbox', tuple([0.0] * 16)]\n"
        "parts = [p.strip(' ()]') for p in repr(alias).split('(')[1].split(',')]\n"
        + _decode("parts[b + i].startswith('-')"),
    ),
    "Literal True for 1": (
        "import typing\n"
        + _bits("1", "True")
        + "typing.Literal['box2', tuple(bits)]\nreturn 'nothing secret'",
        "import typing\n"
        "alias = typing.Literal['box2', tuple([1] * 16)]\n"
        "parts = [p.strip(' ()]') for p in repr(alias).split('(')[1].split(',')]\n"
        + _decode("parts[b + i] == 'True'"),
    ),
    "Optional of Literal": (
        "import typing\n"
        + _bits("0.0", "-0.0")
        + "typing.Optional[typing.Literal['box3', tuple(bits)]]\nreturn 'nothing secret'",
        "import typing\n"
        "alias = typing.Optional[typing.Literal['box3', tuple([0.0] * 16)]]\n"
        "parts = [p.strip(' ()]') for p in repr(alias).split('(')[1].split(',')]\n"
        + _decode("parts[b + i].startswith('-')"),
    ),
    # `re` looked its pattern cache up before checking the flags: `re.compile(p, 0.0)` gave the
    # cached pattern if another plan had compiled `p`, and a TypeError otherwise.
    "re pattern cache": (
        "import re\n" + _bits("0", "1") + "for n, bit in enumerate(bits):\n"
        "    if bit:\n"
        "        re.compile('mbx-' + str(n))\n"
        "return 'nothing secret'",
        "import re\n"
        "parts = []\n"
        "for n in range(16):\n"
        "    try:\n"
        "        re.compile('mbx-' + str(n), 0.0)\n"
        "        parts.append(1)\n"
        "    except TypeError:\n"
        "        parts.append(0)\n"
        "alias = parts\n" + _decode("parts[b + i]"),
    ),
}


def _assert_nothing_read(value: object) -> None:
    assert value != SECRET, "a plan read another plan's secret through a process-wide cache"


@pytest.mark.parametrize("channel", sorted(CHANNELS))
async def test_a_plan_reads_nothing_another_plan_left_in_a_process_cache(
    make_cm: Callable[..., CodeMode], channel: str
) -> None:
    writer_plan, reader_plan = CHANNELS[channel]
    writer = make_cm([_secret_tool()], limits=Limits(timeout=5))
    reader = make_cm([], limits=Limits(timeout=5))  # another CodeMode, without the tool
    written = await writer.run(writer_plan)
    assert written.status == "ok", written.error
    read = await reader.run(reader_plan)
    _assert_nothing_read(read.value)


@pytest.mark.parametrize("channel", sorted(CHANNELS))
async def test_a_reused_worker_carries_nothing_through_a_process_cache(channel: str) -> None:
    writer_plan, reader_plan = CHANNELS[channel]
    executor = IsolatedExecutor(pool_size=1, plans_per_worker=None)
    async with CodeMode([_secret_tool()], executor=executor, limits=Limits(timeout=5)) as cm:
        written = await cm.run(writer_plan)
        assert written.status == "ok", written.error
        read = await cm.run(reader_plan)
    _assert_nothing_read(read.value)


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        (
            "import typing\n"
            "def f(x: typing.List[int], y: typing.Optional[str] = None) -> typing.Dict[str, int]:\n"
            "    return {'n': len(x)}\n"
            "return f([1, 2])",
            {"n": 2},
        ),
        (
            "import typing\n"
            "return [isinstance({}, typing.Mapping), isinstance([], typing.Mapping),\n"
            "        isinstance([], (typing.List, dict)), isinstance((1,), typing.Sequence)]",
            [True, False, True, True],
        ),
        ("import typing\nT = int | typing.List[int] | None\nreturn typing.cast(T, 5)", 5),
        ("import typing\nreturn repr(typing.Literal['a', 'b'])", "typing.Literal[...]"),
        (
            "import re\nreturn [bool(re.search('A', 'xa', re.I)), re.split(',', 'a,b', 0, re.M),"
            " re.sub('a', 'b', 'aA', flags=re.IGNORECASE | re.ASCII)]",
            [True, ["a", "b"], "bb"],
        ),
    ],
)
async def test_typing_still_serves_annotations_and_instance_checks(
    make_cm: Callable[..., CodeMode], plan: str, expected: object
) -> None:
    result = await make_cm([]).run(plan)
    assert result.status == "ok", result.error
    assert result.value == expected


@pytest.mark.parametrize(
    "plan",
    [
        "import typing\nreturn isinstance(1, typing.Optional[int])",
        "import typing\nreturn typing.List()",
        "import typing\nreturn typing.Mapping.register",
        "import re\nreturn re.compile('x', 128)",  # re.DEBUG: a dump on the host's stdout
        "import re\nreturn re.match('x', 'x', 0.0)",
    ],
)
async def test_typing_forms_and_re_flags_refuse_what_plans_cannot_mean(
    make_cm: Callable[..., CodeMode], plan: str
) -> None:
    result = await make_cm([]).run(plan)
    assert result.status == "error"
    assert result.error is not None and result.error.line == 2
