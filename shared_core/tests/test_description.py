"""What the model reads, through the public API: `CodeMode(...).description`, what plans get
from `codemode.describe`, and what `to_model()` hands back.

Each test pins one property the model relies on: shared text said once, enumerations whole,
long prose shortened only with a pointer to the whole text, no borrowed docstrings, and the
instructions telling the truth about the sandbox.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest

from codemode_core import CodeMode, Tool

PREAMBLE = (
    "This tool belongs to the vehicle control system, which allows users to control various "
    "aspects of the car such as engine, doors, climate control, lights, and more. "
    "Tool description: "
)
ACTIONS = {
    "startEngine": "Starts the engine of the vehicle.",
    "lockDoors": "Locks the doors of the vehicle. Doors stay locked until unlocked.",
    "setHeadlights": "Sets the headlights of the vehicle.",
    "fillFuelTank": "Fills the fuel tank of the vehicle. The tank holds up to 50 gallons.",
}
STATE: dict[str, Any] = {}


def vehicle_tool(name: str, text: str, namespace: str | None = None, **schemas: Any) -> Tool:
    def act(**arguments: Any) -> dict[str, Any]:
        STATE[name] = arguments
        return {"done": name}

    input_schema = schemas.get("input_schema", {"type": "object", "properties": {}})
    output_schema = schemas.get("output_schema")
    return Tool(name, PREAMBLE + text, input_schema, act, output_schema, namespace)


def vehicle(namespace: str | None = None) -> CodeMode:
    tools = [vehicle_tool(name, text, namespace) for name, text in ACTIONS.items()]
    return CodeMode(tools, discovery="full", executor="inprocess")


def stub_of(description: str) -> str:
    return description.split("```python\n", 1)[1].rsplit("```", 1)[0]


def test_a_preamble_shared_by_a_namespace_is_said_once() -> None:
    description = vehicle().description
    assert description.count("This tool belongs to the vehicle control system") == 1
    assert "Tool description:" not in description  # the dangling label goes with it
    assert (
        'class tools:\n    """This tool belongs to the vehicle control system, which allows '
        "users to control various aspects of the car such as engine, doors, climate control, "
        'lights, and more."""' in description
    )
    assert '"""Starts the engine of the vehicle."""' in description
    ast.parse(stub_of(description))


async def test_describe_of_one_tool_gives_its_whole_description() -> None:
    cm = vehicle()
    result = await cm.run('return await codemode.describe("tools.lockDoors")')
    assert result.ok, result.to_model()
    assert PREAMBLE.strip() + " " + ACTIONS["lockDoors"] in result.value
    # A whole namespace shares the preamble once, like the description does.
    whole = vehicle("car").describe("tools.car")
    assert whole.count("This tool belongs to") == 1 and "async def startEngine" in whole
    assert '    class car:\n        """This tool belongs to the vehicle' in whole


async def test_describe_reaches_the_model_as_code_not_as_an_escaped_string() -> None:
    cm = vehicle()
    result = await cm.run('return await codemode.describe("tools.startEngine")')
    text = result.to_model()
    assert text == cm.describe("tools.startEngine")
    assert "\nclass tools:\n    async def startEngine() -> Any:" in text
    assert "\\n" not in text and not text.startswith('"')


def test_a_60_value_enum_is_listed_whole_and_checked_as_a_literal() -> None:
    airports = [f"A{n:02d}" for n in range(60)]
    schema = {
        "type": "object",
        "properties": {"airport": {"type": "string", "enum": airports}},
        "required": ["airport"],
    }
    cm = CodeMode([Tool("fly", "Fly somewhere.", schema, lambda airport: airport)])
    literal = "Literal[" + ", ".join(repr(a) for a in airports) + "]"
    assert f"async def fly(airport: {literal}) -> Any:" in cm.description


def test_long_prose_is_shortened_at_a_sentence_with_a_describe_marker() -> None:
    filler = " ".join(
        f"Sentence {n} explains a detail of the location format at length." for n in range(12)
    )
    choices = "Allowed values: 'Crescent Hollow', 'Port Tobias', 'Silverpine', 'Oakendale'."
    text = f"Where to go. {filler} {choices}"
    schema = {"type": "object", "properties": {"city": {"type": "string", "description": text}}}
    cm = CodeMode([Tool("go", "Go.", schema, lambda city=None: city)], discovery="full")
    stub = cm.description
    line = next(line for line in stub.splitlines() if line.strip().startswith("city:"))
    assert choices in line  # the enumeration is whole, though it came last
    assert "Sentence 0 explains a detail of the location format at length." in line
    assert "Sentence 11" not in line and re.search(r"\w…", line) is None  # no mid-word cut
    assert '(shortened: `codemode.describe("tools.go")` has the full text)' in stub
    assert text in cm.describe("tools.go")  # and it really does


def test_an_undocumented_function_gets_no_borrowed_docstring() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    tool = Tool.from_function(add)
    assert tool.description == ""
    assert "Create a function object" not in CodeMode([tool]).description


def test_result_types_say_optional_once_and_each_fact_once() -> None:
    status = {
        "type": "dict",
        "properties": {
            "fuelLevel": {"type": "float", "description": "[Optional] The fuel level in gallons."},
            "zipcode": {"type": "string", "description": "The zipcode."},
        },
    }
    tools = [
        vehicle_tool("startEngine", "Starts the engine.", output_schema=status),
        vehicle_tool(
            "fillFuelTank",
            "Fills the tank.",
            output_schema={
                "type": "dict",
                "properties": {
                    "fuelLevel": {"type": "float", "description": "The fuel level in gallons."},
                    "tank": {"type": "float", "description": "Tank size in gallons."},
                },
            },
        ),
    ]
    description = CodeMode(tools, discovery="full").description
    assert "NotRequired" not in description
    assert (
        "class StartEngineResult(TypedDict, total=False):\n"
        "    fuelLevel: float  # The fuel level in gallons.\n"
        "    zipcode: str\n"  # "The zipcode." only restated the key
    ) in description
    assert (
        "class FillFuelTankResult(TypedDict, total=False):\n    fuelLevel: float\n" in description
    )
    assert "[Optional]" not in description


def test_bfcl_prose_enums_become_literals() -> None:
    schema = {
        "type": "dict",
        "properties": {
            "mode": {
                "type": "string",
                "description": 'The mode to set. [Enum]: ["engage", "release"]',
            }
        },
        "required": ["mode"],
    }
    description = CodeMode([vehicle_tool("brake", "Brakes.", input_schema=schema)]).description
    assert "async def brake(mode: Literal['engage', 'release']) -> Any:" in description
    assert "mode: The mode to set." in description and "[Enum]" not in description


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        ("try:\n    raise ToolError('no')\nexcept ToolError as e:\n    return str(e)", "no"),
        ("return await asyncio.gather(tools.startEngine())", [{"done": "startEngine"}]),
        ("import json\nreturn json.dumps([1])", "[1]"),
        ("return isinstance({}, dict)", True),
    ],
)
async def test_what_the_instructions_promise_works(plan: str, expected: Any) -> None:
    cm = vehicle()
    assert "raises `ToolError`\n(usable as is)" in cm.description
    result = await cm.run(plan)
    assert result.ok and result.value == expected, result.to_model()


@pytest.mark.parametrize("plan", ["class A:\n    pass\nreturn 1", "return type(1)", "return json"])
async def test_what_the_instructions_rule_out_fails(plan: str) -> None:
    cm = vehicle()
    assert "Not available: classes, `type()`,\n`_names`, `obj.attr = ...`, files" in cm.description
    assert "You may `import` collections, copy" in cm.description
    assert not (await cm.run(plan)).ok


async def test_tool_state_persists_between_plans_as_the_instructions_say() -> None:
    directory = ["/"]

    def cd(folder: str) -> str:
        """Change the current directory."""
        directory[0] = f"{directory[0].rstrip('/')}/{folder}"
        return directory[0]

    cm = CodeMode([Tool.from_function(cd)], executor="inprocess")
    assert "Variables reset between plans;\ntool state (logins" in cm.description
    assert (await cm.run('here = await tools.cd(folder="docs")')).ok
    second = await cm.run('return await tools.cd(folder="api")')
    assert second.value == "/docs/api", second.to_model()
    assert not (await cm.run("return here")).ok  # plan variables do not persist


def test_a_long_result_note_points_at_describe_of_its_type() -> None:
    note = " ".join(f"Part {n} of a long explanation of the field." for n in range(10))
    output = {"type": "object", "properties": {"detail": {"type": "string", "description": note}}}
    cm = CodeMode([Tool("t", "Do it.", {"type": "object", "properties": {}}, dict, output)])
    line = next(line for line in cm.description.splitlines() if "detail: str" in line)
    assert "Part 0 of a long explanation of the field." in line and "Part 9" not in line
    assert line.endswith('(shortened: `codemode.describe("TResult")` has the full text)')
    assert note in cm.describe("TResult")


def test_a_parameter_note_that_only_restates_its_name_is_left_out() -> None:
    schema = {
        "type": "object",
        "properties": {
            "booking_id": {"type": "string", "description": "The ID of the booking"},
            "reason": {"type": "string", "description": "Why; shown to the airline."},
        },
        "required": ["booking_id", "reason"],
    }
    description = CodeMode([Tool("cancel_booking", "Cancel.", schema, dict)]).description
    assert '"""Cancel.\n        reason: Why; shown to the airline."""' in description
