"""Errors and results that show the data: a runtime error on a tool's value says what the tool
returned, and a result that contradicts its declared output type is noted for the model."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from typing_extensions import TypedDict  # typing.TypedDict loses its schema on 3.11 (issue 19)

from codemode_core import CodeMode, Tool, UnexpectedResult
from codemode_core.durable.transfer import result_from_data, result_to_data


class AirportList(TypedDict):
    airports: list[str]


def list_airports() -> AirportList:
    """Airports we fly to (the declaration is wrong: the service returns a bare list)."""
    return ["RMS", "SBK", "LAX", "JFK"]  # type: ignore[return-value]


def search_flights() -> dict[str, Any]:
    """Flights on offer."""
    return {"flights": [{"id": "F1", "cost": 120}, {"id": "F2", "cost": 90}], "count": 2}


def user_count() -> int:
    """How many users there are."""
    return 7


@pytest.fixture
def data_cm(make_cm: Callable[..., CodeMode]) -> CodeMode:
    return make_cm([Tool.from_function(f) for f in (list_airports, search_flights, user_count)])


ERRORS = {
    "TypeError on the tool's list": (
        "a = await tools.list_airports()\nreturn a['airports']",
        "TypeError: list indices must be integers or slices, not str. tools.list_airports "
        "(line 1) returned list (4 items): ['RMS', 'SBK', 'LAX', …]",
    ),
    "KeyError inside the result": (
        "r = await tools.search_flights()\nreturn [f['price'] for f in r['flights']]",
        "KeyError: 'price'. The value is result['flights'][0] of tools.search_flights (line 1): "
        "dict (2 keys): {'cost': 120, 'id': 'F1'}",
    ),
    "KeyError on the result itself": (
        "r = await tools.search_flights()\nreturn r['data']",
        "KeyError: 'data'. tools.search_flights (line 1) returned dict (2 keys): "
        "{'count': 2, 'flights': [{…}, {…}]}",
    ),
    "AttributeError on a nested list": (
        "r = await tools.search_flights()\nreturn r['flights'].get('F1')",
        "AttributeError: `list` object has no attribute `get` in plans. "
        "The value is result['flights'] of tools.search_flights (line 1): "
        "list (2 items): [{'cost': 120, 'id': 'F1'}, "
        "{'cost': 90, 'id': 'F2'}]",
    ),
    "IndexError": (
        "a = await tools.list_airports()\nreturn a[10]",
        "IndexError: list index out of range. tools.list_airports (line 1) returned list "
        "(4 items): ['RMS', 'SBK', 'LAX', …]",
    ),
    "KeyError on the plan's own dict: its keys, no stub advice": (
        "d = {'a': 1, 'b': 2}\nreturn d['c']",
        "KeyError: 'c' (the dict's keys: 'a', 'b')",
    ),
}


@pytest.mark.parametrize("code, message", ERRORS.values(), ids=list(ERRORS))
async def test_a_runtime_error_shows_what_the_tool_returned(
    data_cm: CodeMode, code: str, message: str
) -> None:
    result = await data_cm.run(code)
    assert result.error is not None
    assert result.error.kind == "runtime"
    assert result.error.line == 2
    assert result.error.message == message
    assert "stubs" not in result.to_model()


async def test_a_result_that_contradicts_its_declared_type_is_noted_on_success(
    data_cm: CodeMode,
) -> None:
    result = await data_cm.run(
        "a = await tools.list_airports()\nb = await tools.list_airports()\n"
        "n = await tools.user_count()\nreturn a[:2]"
    )
    assert result.ok
    assert result.unexpected_results == (
        UnexpectedResult(
            tool="tools.list_airports",
            line=1,
            declared="dict",
            observed="list[str] (4 items)",
        ),
    )
    assert result.to_model() == (
        '["RMS", "SBK"]\n\n'
        "Note: tools.list_airports (line 1) returned list[str] (4 items), not the declared "
        "dict; rely on the returned shape, not the stub."
    )


async def test_a_missing_wrapper_key_is_noted(make_cm: Callable[..., CodeMode]) -> None:
    schema = {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "string"}}},
        "required": ["items"],
    }
    tool = Tool(
        "list_rooms",
        "Rooms.",
        {"type": "object", "properties": {}},
        lambda: {"rooms": ["a", "b"]},
        output_schema=schema,
    )
    cm = make_cm([tool])
    result = await cm.run("r = await tools.list_rooms()\nreturn r['items']")
    assert result.error is not None
    assert result.unexpected_results[0].declared == "dict with key 'items'"
    assert result.unexpected_results[0].observed == "{rooms: list[str]}"
    text = result.to_model()
    assert "KeyError: 'items'. tools.list_rooms (line 1) returned dict (1 key)" in text
    assert (
        "Note: tools.list_rooms (line 1) returned {rooms: list[str]}, not the declared dict "
        "with key 'items'; rely on the returned shape, not the stub." in text
    )


async def test_results_that_match_their_declaration_add_nothing(data_cm: CodeMode) -> None:
    result = await data_cm.run(
        "r = await tools.search_flights()\nn = await tools.user_count()\nreturn n"
    )
    assert result.ok and result.unexpected_results == ()
    assert result.to_model() == "7"


async def test_the_noted_shapes_survive_the_trip_through_plain_data(data_cm: CodeMode) -> None:
    result = await data_cm.run("return await tools.list_airports()")
    assert result.unexpected_results
    carried = json.loads(json.dumps(result_to_data(result)))
    assert result_from_data(carried) == result
