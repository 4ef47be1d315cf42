"""BFCL's multi-turn APIs and tasks as shipped in `shared_core/tests/data/schemas/`: one
catalog per API (its tools at the root, as BFCL gives them to a model), the JSON tool
definitions BFCL itself sends (name, description, parameters and the `response` schema), and
the 200 base tasks' user turns with the tools their ground truth calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codemode_core import Tool

SCHEMAS = Path(__file__).resolve().parents[1] / "shared_core" / "tests" / "data" / "schemas"


def _noop(**_: Any) -> None:
    return None


def _specs() -> dict[str, dict[str, Any]]:
    data = json.loads((SCHEMAS / "bfcl_multi_turn_apis.json").read_text())
    return {spec["name"]: spec for spec in data["tools"]}


def tasks_file() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (SCHEMAS.parent / "tasks" / "bfcl_multi_turn_base.json").read_text()
    )
    return data


def api_tools() -> dict[str, list[Tool]]:
    """API class (`VehicleControlAPI`) → its tools, in BFCL's order."""
    specs = _specs()
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
        for api, names in tasks_file()["classes"].items()
    }


def json_definitions(tools: list[Tool]) -> str:
    """The OpenAI-style `tools` list BFCL sends: the response schema travels with each tool."""
    definitions = []
    for tool in tools:
        function: dict[str, Any] = {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.input_schema,
        }
        if tool.output_schema:
            function["response"] = tool.output_schema
        definitions.append({"type": "function", "function": function})
    return json.dumps(definitions)
