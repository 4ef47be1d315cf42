"""The pre-flight check: statically visible calls are checked before any call runs, every
problem is reported at once with its line, and valid plans are never refused."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Literal

import pytest

from codemode_core import CodeMode, Tool


class Cabin(StrEnum):
    economy = "economy"
    business = "business"


class Shop:
    """Tools that record every call, so a test can tell that nothing ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def tools(self) -> list[Tool]:
        def write_file(path: str, text: str) -> str:
            """Write a file."""
            self.ran.append(f"write {path}")
            return "written"

        def get_weather(city: str, days: int = 1, unit: Literal["c", "f"] = "c") -> dict[str, Any]:
            """The forecast for a city."""
            self.ran.append(f"weather {city}")
            return {"city": city, "days": days, "unit": unit}

        def book(flight: str, cabin: Cabin = Cabin.economy) -> str:
            """Book a seat."""
            self.ran.append(f"book {flight}")
            return f"{flight}:{cabin.value}"

        def list_issues(repo: str) -> list[str]:
            """Open issues of a repository."""
            self.ran.append(f"issues {repo}")
            return [f"{repo}#1"]

        double_schema = {
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
        }
        return [
            Tool.from_function(write_file),
            Tool.from_function(get_weather),
            Tool.from_function(book),
            Tool.from_function(list_issues, namespace="github"),
            Tool("double", "Double n.", double_schema, lambda n: n * 2),
        ]


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.fixture
def shop_cm(make_cm: Callable[..., CodeMode], shop: Shop) -> CodeMode:
    return make_cm(shop.tools())


async def test_a_write_on_line_1_does_not_run_when_line_2_misspells_a_tool(
    shop_cm: CodeMode, shop: Shop
) -> None:
    result = await shop_cm.run(
        'await tools.write_file(path="a.txt", text="hi")\n'
        'return await tools.get_wether(city="Oslo")'
    )
    assert shop.ran == []  # nothing ran, not even the write
    assert result.tool_calls == ()
    assert result.error is not None
    assert result.error.kind == "tool"
    assert result.error.line == 2
    assert result.error.tool == "tools.get_wether"
    assert result.error.message == (
        "nothing ran (the plan is checked before its first call). Fix this and send the whole "
        "plan again:\n"
        "- line 2: there is no tool or namespace tools.get_wether; did you mean "
        "tools.get_weather?"
    )


async def test_every_problem_is_reported_at_once_with_its_line(
    shop_cm: CodeMode, shop: Shop
) -> None:
    result = await shop_cm.run(
        "await tools.write_file(path='x', text='y')\n"
        "await tools.get_weather(citi='Oslo', days='two', unit='k')\n"
        "await tools.get_weather('Oslo', 1, 'c', 4)\n"
        "await tools.github.list_isues(repo='r')\n"
        "await tools.list_issues(repo='r')\n"
        "await tools.book('F1', cabin='first')\n"
        "await tools.double(n='x')\n"
        "await tools.get_weather('Oslo', city='Bergen')\n"
    )
    assert shop.ran == []
    assert result.error is not None
    assert result.error.line == 2
    assert result.error.tool is None  # several tools
    problems = result.error.message.split("\n")[1:]
    assert problems == [
        "- line 2: tools.get_weather has no parameter 'citi'; did you mean 'city'? "
        "(parameters: city, days, unit)",
        "- line 2: tools.get_weather needs the argument 'city'",
        "- line 2: tools.get_weather argument 'days' should be int, got str 'two'",
        "- line 2: tools.get_weather argument 'unit' should be one of 'c', 'f', got str 'k'",
        "- line 3: tools.get_weather takes at most 3 positional argument(s) (city, days, unit), "
        "got 4",
        "- line 4: there is no tool tools.github.list_isues; did you mean "
        "tools.github.list_issues?",
        "- line 5: there is no tool or namespace tools.list_issues; did you mean "
        "tools.github.list_issues?",
        "- line 6: tools.book argument 'cabin' should be one of 'economy', 'business', "
        "got str 'first'",
        "- line 7: tools.double argument 'n' should be int, got str 'x'",
        "- line 8: tools.get_weather got multiple values for argument 'city'",
    ]
    assert result.error.message.startswith("nothing ran (the plan is checked before its first")
    assert "Fix these 10 problems" in result.error.message


async def test_calls_in_helpers_lambdas_and_gather_are_checked(
    shop_cm: CodeMode, shop: Shop
) -> None:
    result = await shop_cm.run(
        "async def helper(c):\n"
        "    return await tools.get_weather(town=c)\n"
        "f = lambda r: tools.github.list_issues(repository=r)\n"
        "await asyncio.gather(helper('a'), f('b'), tools.dubble(n=1))\n"
        "alias = tools.wrte_file\n"
    )
    assert shop.ran == []
    assert result.error is not None
    lines = result.error.message.split("\n")[1:]
    assert [line.split(":")[0] for line in lines] == [
        "- line 2",
        "- line 2",
        "- line 3",
        "- line 3",
        "- line 4",
        "- line 5",
    ]
    assert "tools.dubble; did you mean tools.double?" in lines[4]
    assert "tools.wrte_file; did you mean tools.write_file?" in lines[5]


VALID_PLANS = {
    "positional": ("return await tools.get_weather('Oslo', 2, 'f')", {"days": 2}),
    "lax numeric string (pydantic converts it)": (
        "return await tools.get_weather('Oslo', '3')",
        {"days": 3},
    ),
    "**kwargs splat": ("kw = {'city': 'Oslo'}\nreturn await tools.get_weather(**kw)", {}),
    "*args splat": ("a = ['Oslo', 2]\nreturn await tools.get_weather(*a)", {"days": 2}),
    "computed arguments": (
        "c = 'Os' + 'lo'\nreturn await tools.get_weather(city=c, days=len(c))",
        {"days": 4},
    ),
    "nested namespace": ("return await tools.github.list_issues(repo='r')", ["r#1"]),
    "helper function": (
        "async def get(c):\n    return await tools.get_weather(city=c)\nreturn await get('Oslo')",
        {"city": "Oslo"},
    ),
    "lambda and gather": (
        "f = lambda c: tools.get_weather(city=c)\n"
        "rs = await asyncio.gather(f('Oslo'), tools.get_weather(city='Rome'))\n"
        "return rs[1]",
        {"city": "Rome"},
    ),
    "alias": ("t = tools.get_weather\nreturn await t(city='Oslo')", {"city": "Oslo"}),
    "tools shadowed at the top": ("tools = {'x': 1}\nreturn tools['x']", 1),
    "tools shadowed by a parameter": (
        "async def run(tools):\n    return tools.nothing_like_a_tool(n=1)\nreturn 1",
        1,
    ),
    "tools shadowed in a comprehension": (
        "return [tools.upper() for tools in ['a', 'b']]",
        ["A", "B"],
    ),
    "enum value by literal": ("return await tools.book('F1', cabin='business')", "F1:business"),
    "None for an optional argument": (
        "return await tools.get_weather(city='Oslo', days=None or 1)",
        {"days": 1},
    ),
    "a stub identifier or the original key": ("return await tools.double(n=2)", 4),
}


@pytest.mark.parametrize("code, expected", VALID_PLANS.values(), ids=list(VALID_PLANS))
async def test_valid_plans_are_never_refused(shop_cm: CodeMode, code: str, expected: Any) -> None:
    result = await shop_cm.run(code)
    assert result.ok, result.to_model()
    if isinstance(expected, dict):
        assert expected.items() <= result.value.items()
    else:
        assert result.value == expected


async def test_snippet_calls_are_checked_against_the_saved_snippets(
    shop_cm: CodeMode, shop: Shop
) -> None:
    await shop_cm.save_snippet(
        "weather_in",
        "return await tools.get_weather(city=city)",
        parameters={"city": "str"},
    )
    result = await shop_cm.run(
        "await tools.write_file(path='a', text='b')\n"
        "await snippets.weather_of(city='Oslo')\n"
        "await snippets.weather_in(town='Oslo')\n"
    )
    assert shop.ran == []
    assert result.error is not None
    assert result.error.message.split("\n")[1:] == [
        "- line 2: there is no snippet snippets.weather_of; did you mean snippets.weather_in?",
        "- line 3: snippets.weather_in has no parameter 'town' (parameters: city)",
        "- line 3: snippets.weather_in needs the argument 'city'",
    ]
    ok = await shop_cm.run("return await snippets.weather_in('Oslo')")
    assert ok.ok and ok.value["city"] == "Oslo"


async def test_a_catalog_change_is_seen_by_the_next_check(
    make_cm: Callable[..., CodeMode], shop: Shop
) -> None:
    cm = make_cm(shop.tools())
    code = "return await snippets.later(x=1)"
    refused = await cm.run(code)
    assert refused.error is not None
    assert "- line 1: there is no snippet snippets.later" in refused.error.message
    await cm.save_snippet("later", "return x + 1", parameters={"x": "int"})
    assert (await cm.run(code)).value == 2
