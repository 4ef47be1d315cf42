"""The description of BFCL's eight multi-turn APIs: half the tokens of the JSON tool definitions
BFCL sends, and nothing lost on the way (every enum value, default and word of every note).

The token target is issue #18's (≤ 0.5x on the corpus overall, o200k_base, response schemas
counted on both sides); `make bench` reports the same figure per API. The information checks
are what makes the target honest: a note may only disappear when every word of it is already
on the model's page (the tool's name and description, the key, the annotation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bpe_openai
import pytest

from codemode_core import CodeMode, Tool
from codemode_core._text_analysis import terms

DATA = Path(__file__).resolve().parent / "data"
_PROSE_LIST = re.compile(r"\[Enum\]:\s*(.+?)\s*$")


def _noop(**_: Any) -> None:
    return None


def bfcl_apis() -> dict[str, list[Tool]]:
    specs = {
        s["name"]: s
        for s in json.loads((DATA / "schemas" / "bfcl_multi_turn_apis.json").read_text())["tools"]
    }
    classes = json.loads((DATA / "tasks" / "bfcl_multi_turn_base.json").read_text())["classes"]
    return {
        api: [
            Tool(
                n,
                specs[n]["description"],
                specs[n]["input_schema"],
                _noop,
                specs[n]["output_schema"],
            )
            for n in names
        ]
        for api, names in classes.items()
    }


def json_definitions(tools: list[Tool]) -> str:
    """What BFCL sends a model for these tools (the response schema travels with each)."""
    return json.dumps(
        [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.input_schema,
                    "response": t.output_schema,
                },
            }
            for t in tools
        ]
    )


def schemas_of(tool: Tool) -> Iterator[dict[str, Any]]:
    stack: list[Any] = [tool.input_schema, tool.output_schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def enum_values(schema: dict[str, Any]) -> list[str]:
    values = [str(v) for v in schema.get("enum", [])]
    match = _PROSE_LIST.search(str(schema.get("description", "")))
    if match:
        listed = match.group(1)
        try:
            values += [str(v) for v in json.loads(listed)]
        except ValueError:
            values += [v.strip() for v in listed.split(",")]
    return values


def said_by_the_line(schema: dict[str, Any]) -> set[str]:
    """Words of a note that the stub line says in Python: "Defaults to 1" (` = 1`), "[Enum]"
    (`Literal[...]`), a boolean's "False otherwise" (`bool`), "an empty string" (`= ''`),
    "[Optional]" (every result key is, `total=False`)."""
    words = {"optional"}
    if "default" in schema:
        words |= {"default"} | ({"empt"} if schema["default"] == "" else set())
    if enum_values(schema):
        words.add("enum")
    if schema.get("type") == "boolean":
        words.add("otherwis")
    return words | set(terms(_KIND_WORDS.get(str(schema.get("type")), "")))


_KIND_WORDS = {  # "The number of …" on an `int`, "List of …" on a `list[str]`
    "integer": "integer number",
    "float": "number",
    "number": "number",
    "string": "string text",
    "array": "list array",
    "dict": "dictionary object",
    "object": "dictionary object",
}


APIS = bfcl_apis()


def test_the_description_is_at_most_half_the_json_tool_definitions() -> None:
    encoding = bpe_openai.get_encoding("o200k_base")
    definitions = described = 0
    for tools in APIS.values():
        definitions += len(encoding.encode(json_definitions(tools)))
        described += len(encoding.encode(CodeMode(tools, discovery="full").description))
    assert described <= 0.5 * definitions, f"{described} / {definitions}"


@pytest.mark.parametrize("api", sorted(APIS))
def test_no_enum_value_default_or_word_of_a_note_is_lost(api: str) -> None:
    tools = APIS[api]
    cm = CodeMode(tools, discovery="full")
    description = cm.description
    page = set(terms(description))
    for tool in tools:
        own = page
        if f'describe("tools.{tool.name}")' in description:  # shortened: the rest is there
            own = page | set(terms(cm.describe(f"tools.{tool.name}")))
        # BFCL's "…and more. Tool description: Starts the engine." says its label once, in
        # the namespace docstring, without the label (a format word, not a fact).
        missing = set(terms(tool.description.replace("Tool description:", ""))) - own
        assert not missing, (tool.name, missing)
        for schema in schemas_of(tool):
            for value in enum_values(schema):
                assert repr(value) in description or value in description, (tool.name, value)
            if "default" in schema:
                assert f"= {schema['default']!r}" in description, (tool.name, schema)
            note = schema.get("description")
            if isinstance(note, str):
                missing = set(terms(note)) - own - said_by_the_line(schema)
                assert not missing, (tool.name, note, missing)
