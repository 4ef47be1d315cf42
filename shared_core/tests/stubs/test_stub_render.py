"""JSON Schema → stub text: each construct, exactly as the model will read it."""

from __future__ import annotations

import ast
import random
import time
from typing import Any

import pytest

from codemode_core.stubs import StubRenderer


def render_one(
    input_schema: dict[str, Any], output_schema: Any = None, description: str = "Do it."
) -> str:
    renderer = StubRenderer()
    renderer.add_tool(
        namespace=None,
        identifier="t",
        description=description,
        input_schema=input_schema,
        output_schema=output_schema,
    )
    text = renderer.render()
    ast.parse(text)
    return text


def signature_of(input_schema: dict[str, Any], output_schema: Any = None) -> str:
    renderer = StubRenderer()
    return renderer.add_tool(
        namespace=None,
        identifier="t",
        description="",
        input_schema=input_schema,
        output_schema=output_schema,
    ).text


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or []}


@pytest.mark.parametrize(
    ("prop", "annotation"),
    [
        ({"type": "string"}, "str"),
        ({"type": "integer"}, "int"),
        ({"type": "number"}, "float"),
        ({"type": "boolean"}, "bool"),
        ({"type": "null"}, "None"),
        ({"enum": ["a", "b"]}, "Literal['a', 'b']"),
        ({"enum": ["a", None]}, "Literal['a'] | None"),
        ({"const": 3}, "Literal[3]"),
        ({"type": ["string", "null"]}, "str | None"),
        ({"type": "string", "nullable": True}, "str | None"),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, "str | int"),
        ({"oneOf": [{"type": "string"}, {"type": "null"}]}, "str | None"),
        ({"type": "array", "items": {"type": "integer"}}, "list[int]"),
        ({"type": "array"}, "list[Any]"),
        ({"prefixItems": [{"type": "string"}, {"type": "number"}]}, "tuple[str, float]"),
        ({"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}, "tuple[str, int]"),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, "dict[str, int]"),
        ({"type": "object"}, "dict[str, Any]"),
        ({"type": "dict"}, "dict[str, Any]"),
        ({"type": "float"}, "float"),
        ({"type": "weird"}, "Any"),
        ({}, "Any"),
        ({"$ref": "#/nowhere"}, "Any"),
        ({"enum": [1.5, 2.5], "type": "number"}, "float"),
    ],
)
def test_property_types(prop: dict[str, Any], annotation: str) -> None:
    assert signature_of(obj({"x": prop}, ["x"])) == f"t(x: {annotation}) -> Any"


def test_required_first_optional_with_defaults_and_none() -> None:
    schema = obj(
        {
            "days": {"type": "integer", "default": 1},
            "city": {"type": "string"},
            "unit": {"enum": ["c", "f"], "default": "c"},
            "note": {"type": "string"},
        },
        ["city"],
    )
    assert signature_of(schema) == (
        "t(city: str, days: int = 1, unit: Literal['c', 'f'] = 'c', note: str | None = None) -> Any"
    )


def test_objects_become_typed_dicts_with_not_required_and_notes() -> None:
    output = {
        "type": "array",
        "items": obj(
            {
                "city": {"type": "string"},
                "temp_c": {"type": "number", "description": "Celsius"},
                "at": {"type": "string", "format": "date-time"},
            },
            ["city", "temp_c"],
        ),
    }
    text = render_one(obj({"city": {"type": "string"}}, ["city"]), output)
    assert (
        "class TResultItem(TypedDict):\n    city: str\n    temp_c: float  # Celsius\n"
        "    at: NotRequired[str]  # date-time" in text
    )
    assert "async def t(city: str) -> list[TResultItem]:" in text


def test_recursive_refs_become_named_types() -> None:
    schema = {
        "type": "object",
        "$defs": {
            "Node": obj(
                {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                ["name"],
            )
        },
        "properties": {"root": {"$ref": "#/$defs/Node"}},
        "required": ["root"],
    }
    text = render_one(schema)
    assert "class Node(TypedDict):\n    name: str\n    children: NotRequired[list[Node]]" in text
    assert "async def t(root: Node) -> Any:" in text


def test_keys_that_are_not_identifiers_use_the_functional_form() -> None:
    text = render_one({"type": "object"}, obj({"user-id": {"type": "string"}}, ["user-id"]))
    assert (
        'TResult = TypedDict(\n    "TResult",\n    {\n        "user-id": "str",\n    },\n)' in text
    )


def test_parameter_names_are_made_identifiers_and_keep_their_keys() -> None:
    renderer = StubRenderer()
    signature = renderer.add_tool(
        namespace=None,
        identifier="t",
        description="",
        input_schema=obj(
            {
                "user-id": {"type": "string"},
                "class": {"type": "integer"},
                "user_id": {"type": "string"},
            },
            ["user-id", "class", "user_id"],
        ),
        output_schema=None,
    )
    assert [(p.identifier, p.key) for p in signature.parameters] == [
        ("user_id", "user-id"),
        ("class_", "class"),
        ("user_id_2", "user_id"),
    ]


def test_degraded_types_keep_the_original_in_a_note() -> None:
    text = render_one(obj({"odd": {"type": "weird", "x": 1}}, ["odd"]))
    assert 'odd: schema: {"type": "weird", "x": 1}' in text


def test_empty_properties_mean_no_parameters() -> None:
    renderer = StubRenderer()
    signature = renderer.add_tool(
        namespace=None,
        identifier="t",
        description="",
        input_schema={"type": "object", "properties": {}},
        output_schema=None,
    )
    assert not signature.var_keyword and signature.text == "t() -> Any"


def test_no_properties_means_kwargs() -> None:
    renderer = StubRenderer()
    signature = renderer.add_tool(
        namespace=None, identifier="t", description="", input_schema={}, output_schema=None
    )
    assert signature.var_keyword
    assert signature.text == "t(**kwargs: Any) -> Any"


def test_namespaces_and_subsets() -> None:
    renderer = StubRenderer()
    item = obj({"id": {"type": "integer"}}, ["id"])
    renderer.add_tool(
        namespace=None, identifier="ping", description="Ping.", input_schema={}, output_schema=None
    )
    renderer.add_tool(
        namespace="github",
        identifier="get_issue",
        description="Get.",
        input_schema=obj({"n": {"type": "integer"}}, ["n"]),
        output_schema=item,
    )
    full = renderer.render()
    assert "class tools:\n    async def ping(" in full
    assert "    class github:\n        async def get_issue(n: int)" in full
    assert "@staticmethod" not in full
    subset = renderer.render(only={"tools.github"})
    assert "get_issue" in subset and "def ping" not in subset
    assert "class GetIssueResult" in subset
    just_ping = renderer.render(only={"tools.ping"})
    assert "GetIssueResult" not in just_ping
    assert renderer.render_type("GetIssueResult") is not None


def test_docstrings_are_escaped_and_bounded() -> None:
    text = render_one({}, description='Say """hi""" \\ ' + "x" * 5000)
    ast.parse(text)
    assert "…" in text and len(text) < 2000


def test_rendering_is_deterministic() -> None:
    def build() -> str:
        renderer = StubRenderer()
        for i in range(5):
            renderer.add_tool(
                namespace="ns" if i % 2 else None,
                identifier=f"t{i}",
                description="d",
                input_schema=obj({"a": {"type": "string"}}),
                output_schema=obj({"b": {"type": "integer"}}),
            )
        return renderer.render()

    assert build() == build()


def _garbage(rng: random.Random, depth: int = 0) -> Any:
    choices = [
        lambda: rng.choice(["string", "integer", "dict", "nope", None, 3, True]),
        lambda: {"type": _garbage(rng, depth + 1)},
        lambda: {"properties": {str(rng.random()): _garbage(rng, depth + 1) for _ in range(2)}},
        lambda: {"anyOf": [_garbage(rng, depth + 1), _garbage(rng, depth + 1)]},
        lambda: {"items": _garbage(rng, depth + 1), "enum": [1.5, "a", {"x": 1}]},
        lambda: {"$ref": rng.choice(["#/$defs/A", "#", "http://x", "#/properties/0"])},
        lambda: [_garbage(rng, depth + 1)],
    ]
    if depth > 4:
        return rng.choice(["x", 1, None])
    return rng.choice(choices)()


def test_garbage_schemas_never_crash_and_always_parse() -> None:
    rng = random.Random(7)
    renderer = StubRenderer()
    for i in range(300):
        schema = _garbage(rng)
        renderer.add_tool(
            namespace=None,
            identifier=f"t{i}",
            description=str(schema)[:50],
            input_schema={"type": "object", "properties": {"p": schema}, "$defs": {"A": schema}},
            output_schema=schema if isinstance(schema, dict) else None,
        )
    ast.parse(renderer.render())


def test_thousand_operations_render_fast() -> None:
    started = time.perf_counter()
    renderer = StubRenderer()
    for i in range(1000):
        renderer.add_tool(
            namespace=f"ns{i % 10}",
            identifier=f"op{i}",
            description="Operation.",
            input_schema=obj(
                {
                    "id": {"type": "integer"},
                    "q": {"enum": ["a", "b"]},
                    "body": obj(
                        {
                            "name": {"type": "string"},
                            "tags": {"type": "array", "items": {"type": "string"}},
                        }
                    ),
                },
                ["id"],
            ),
            output_schema=obj(
                {
                    "id": {"type": "integer"},
                    "items": {"type": "array", "items": obj({"k": {"type": "string"}})},
                }
            ),
        )
    ast.parse(renderer.render())
    assert time.perf_counter() - started < 2.0


_TIME_RESULT = {
    "title": "TimeResult",
    "type": "object",
    "properties": {
        "timezone": {"title": "Timezone", "type": "string"},
        "is_dst": {"title": "Is Dst", "type": "boolean"},
        "offset": {"title": "UTC offset", "type": "string"},
    },
    "required": ["timezone", "is_dst", "offset"],
}


def test_titled_objects_keep_their_name_and_titles_that_restate_a_key_are_dropped() -> None:
    """pydantic and MCP servers title their models (`TimeResult`) and every field after its
    key ("Is Dst"): the model name is the best type name; the field titles are noise."""
    renderer = StubRenderer()
    renderer.add_tool(
        namespace=None,
        identifier="now",
        description="Now.",
        input_schema=obj({"zone": {"type": "string"}}, ["zone"]),
        output_schema=_TIME_RESULT,
    )
    renderer.add_tool(  # the same model, reached through `$defs` by another tool
        namespace=None,
        identifier="convert",
        description="Convert.",
        input_schema=obj({"zone": {"type": "string"}}, ["zone"]),
        output_schema={
            "$defs": {"TimeResult": _TIME_RESULT},
            "type": "object",
            "title": "TimeConversion",
            "properties": {
                "source": {"$ref": "#/$defs/TimeResult"},
                "target": {"$ref": "#/$defs/TimeResult"},
            },
            "required": ["source", "target"],
        },
    )
    renderer.add_tool(  # another object titled TimeResult, of a different shape
        namespace=None,
        identifier="later",
        description="Later.",
        input_schema=obj({}, []),
        output_schema={"title": "TimeResult", "type": "object", "properties": {"n": {}}},
    )
    text = renderer.render()
    ast.parse(text)
    assert "async def now(zone: str) -> TimeResult:" in text
    assert "async def convert(zone: str) -> TimeConversion:" in text
    assert "    source: TimeResult\n    target: TimeResult\n" in text
    assert "async def later() -> LaterResult:" in text  # the title was taken: named by place
    assert text.count("class TimeResult(TypedDict):") == 1
    assert "    timezone: str\n    is_dst: bool\n    offset: str  # UTC offset\n" in text
