"""Every common LlamaIndex tool form becomes a neutral tool and behaves as it does natively."""

# No `from __future__ import annotations`: LlamaIndex finds `ctx: Context` parameters by their
# real annotation objects.

import datetime
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import TextNode
from llama_index.core.tools import (
    AsyncBaseTool,
    BaseTool,
    FunctionTool,
    QueryEngineTool,
    ToolMetadata,
    ToolOutput,
)
from llama_index.core.tools.tool_spec.base import BaseToolSpec
from llama_index.core.workflow import Context
from pydantic import BaseModel, Field

from codemode_core import ConfigurationError, ExecutionResult, Tool
from codemode_llamaindex import (
    CodeModeInput,
    CodeModeTool,
    CodeModeToolSpec,
    create_codemode_tool,
    to_codemode_tool,
    to_codemode_tools,
)


def get_weather(city: str, days: int = 1) -> dict[str, Any]:
    """Forecast for a city.

    Args:
        city (str): The city's English name.
        days (int): How many days ahead.
    """
    return {"city": city, "days": days, "temp_c": 3.5}


async def get_population(city: str) -> int:
    """Population of a city."""
    return {"Oslo": 700_000}.get(city, 0)


class LookupArgs(BaseModel):
    order_id: int = Field(description="The order number")


class LookupOrder(AsyncBaseTool):
    """An `AsyncBaseTool` with its own schema, reporting failures as error outputs."""

    @property
    def metadata(self) -> ToolMetadata:
        return ToolMetadata(
            name="lookup_order", description="Look up an order.", fn_schema=LookupArgs
        )

    def call(self, order_id: int) -> ToolOutput:
        if order_id < 0:
            return ToolOutput(
                content="order ids are positive",
                tool_name="lookup_order",
                raw_input={"order_id": order_id},
                raw_output=None,
                is_error=True,
            )
        return ToolOutput(
            content=f"order {order_id}",
            tool_name="lookup_order",
            raw_input={"order_id": order_id},
            raw_output={"id": order_id, "total": 42.0},
        )

    async def acall(self, order_id: int) -> ToolOutput:
        return self.call(order_id)


class Shout(BaseTool):
    """A sync-only `BaseTool` on LlamaIndex's default schema (one `input` string)."""

    @property
    def metadata(self) -> ToolMetadata:
        return ToolMetadata(name="shout", description="Upper-case a text.")

    def __call__(self, input: str) -> ToolOutput:
        return ToolOutput(content=input.upper(), tool_name="shout", raw_input={"input": input})


class Handbook(CustomQueryEngine):
    """A query engine without an LLM: answers from a fixed table."""

    def custom_query(self, query_str: str) -> str:
        return "Refunds within 30 days." if "refund" in query_str else "No idea."


class CalendarSpec(BaseToolSpec):
    """A tool spec, as published in LlamaHub."""

    spec_functions = ["days_until", "weekday"]  # noqa: RUF012

    def days_until(self, day: datetime.date) -> int:
        """Days from 2025-01-01 until a date."""
        return (day - datetime.date(2025, 1, 1)).days

    def weekday(self, day: datetime.date) -> str:
        """The weekday of a date."""
        return day.strftime("%A")


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def needs_context(ctx: Context, key: str) -> Any:
    """Read a value from the workflow's state."""
    return await ctx.store.get(key, default=None)


def find_nodes(query: str) -> list[TextNode]:
    """Retrieve nodes."""
    return [TextNode(text=f"first {query}"), TextNode(text="second")]


ALL: list[Any] = [
    FunctionTool.from_defaults(fn=get_weather),
    get_population,
    LookupOrder(),
    Shout(),
    QueryEngineTool.from_defaults(Handbook(), name="handbook", description="Company handbook."),
    CalendarSpec(),
    add,
    find_nodes,
]


def test_every_form_converts_with_schemas() -> None:
    converted = to_codemode_tools(ALL)
    assert all(isinstance(t, Tool) for t in converted)
    assert [t.name for t in converted] == [
        "get_weather",
        "get_population",
        "lookup_order",
        "shout",
        "handbook",
        "days_until",
        "weekday",
        "add",
        "find_nodes",
    ]
    weather = converted[0]
    assert weather.input_schema["properties"]["days"]["default"] == 1
    assert weather.input_schema["properties"]["city"]["description"] == "The city's English name."
    # FunctionTool.from_defaults puts the signature first; the stub already shows it.
    assert weather.description.startswith("Forecast for a city.")
    assert weather.output_schema == {"additionalProperties": True, "type": "object"}
    assert converted[2].input_schema["properties"]["order_id"]["description"] == "The order number"
    assert converted[4].output_schema == {"type": "string"}


def test_stubs_show_native_tools_as_typed_functions() -> None:
    code_tool = create_codemode_tool(ALL)
    stubs = code_tool.code_mode.stubs
    assert "async def get_weather(city: str, days: int = 1) -> dict[str, Any]:" in stubs
    assert "async def lookup_order(order_id: int) -> Any:" in stubs
    assert "async def shout(input: str) -> Any:" in stubs
    assert "async def handbook(input: str) -> str:" in stubs
    assert "async def days_until(day: str) -> int:" in stubs
    assert isinstance(code_tool, FunctionTool)
    assert code_tool.metadata.name == "run_code"
    assert code_tool.metadata.description == code_tool.code_mode.description
    assert code_tool.metadata.get_parameters_dict()["properties"] == {
        "code": {
            "description": "The plan: the body of an async Python function.",
            "title": "Code",
            "type": "string",
        }
    }


async def test_plan_calls_every_form_and_gets_raw_outputs() -> None:
    code_tool = create_codemode_tool(ALL)
    plan = """
w = await tools.get_weather("Oslo", days=2)
p = await tools.get_population(w["city"])
o = await tools.lookup_order(order_id=7)
s = await tools.shout("hi")
h = await tools.handbook(input="refund rules?")
d = await tools.days_until(day="2025-02-01")
wd = await tools.weekday("2025-02-01")
n = await tools.find_nodes("q")
return [w["days"], p, o, s, h, d, wd, n, await tools.add(2, 3)]
"""
    output = await code_tool.acall(code=plan)
    result = output.raw_output
    assert isinstance(result, ExecutionResult)
    assert result.ok, output.content
    assert result.value == [
        2,
        700000,
        {"id": 7, "total": 42.0},  # raw_output, not the content text
        "HI",  # no raw_output: the content
        "Refunds within 30 days.",  # a query engine Response: its text
        31,  # "2025-02-01" validated into a date by the tool's own fn_schema
        "Saturday",
        ["first q", "second"],  # nodes: their text
        5,
    ]
    assert output.content == result.to_model()
    assert output.is_error is False


async def test_error_outputs_are_catchable_tool_errors() -> None:
    code_tool = create_codemode_tool([LookupOrder()])
    plan = (
        "try:\n    await tools.lookup_order(order_id=-1)\nexcept ToolError as e:\n"
        "    return 'caught: ' + str(e)"
    )
    output = await code_tool.acall(code=plan)
    assert output.raw_output.value == "caught: order ids are positive"


async def test_a_failed_plan_is_an_error_output_naming_the_line() -> None:
    code_tool = create_codemode_tool([LookupOrder()])
    output = await code_tool.acall(code="x = 1\nawait tools.lookup_order(order_id=-1)")
    assert output.is_error is True
    assert output.content.startswith("tool error at line 2: tools.lookup_order failed")
    assert "order ids are positive" in output.content


async def test_invalid_arguments_are_reported_from_the_tools_schema() -> None:
    code_tool = create_codemode_tool([LookupOrder()])
    output = await code_tool.acall(code="o = 'abc'\nawait tools.lookup_order(order_id=o)")
    assert "'order_id': Input should be a valid integer" in output.content


def test_sync_call_runs_plans_too() -> None:
    output = create_codemode_tool([add]).call(code="await tools.add(1, 2)")
    assert output.content == "3" and output.raw_output.value == 3


async def test_context_tools_outside_a_workflow_say_why_they_cannot_run() -> None:
    code_tool = create_codemode_tool([FunctionTool.from_defaults(fn=needs_context)])
    assert "async def needs_context(key: str) -> Any:" in code_tool.code_mode.stubs
    output = await code_tool.acall(code="return await tools.needs_context('k')")
    assert "needs the workflow Context, which exists only when the code tool runs inside" in (
        output.content
    )


def test_tool_spec_form_gives_one_code_tool() -> None:
    spec = CodeModeToolSpec([CalendarSpec(), add], name="plan")
    (tool,) = spec.to_tool_list()
    assert isinstance(tool, CodeModeTool)
    assert tool.metadata.name == "plan"
    assert "async def weekday(day: str) -> str:" in tool.metadata.description
    (renamed,) = spec.to_tool_list(
        func_to_metadata_mapping={"run_code": ToolMetadata(name="calendar", description="Dates.")}
    )
    assert renamed.metadata.name == "calendar"
    assert renamed.metadata.description == "Dates.\n\n" + spec.code_mode.description
    assert renamed.metadata.fn_schema is CodeModeInput  # never LlamaIndex's default `input`
    assert to_codemode_tool(tool).name == "plan"  # a code tool is itself a LlamaIndex tool
    with pytest.raises(ConfigurationError, match="has one function, run_code"):
        spec.to_tool_list(spec_functions=["days_until"])


def test_a_nameless_tool_is_a_configuration_error() -> None:
    nameless = QueryEngineTool(Handbook(), ToolMetadata(description="Handbook."))
    with pytest.raises(ConfigurationError, match="has no name"):
        create_codemode_tool([nameless])


def charge(customer_id: int, amount: float, api_key: str) -> dict[str, Any]:
    """Charge a customer."""
    return {"customer_id": customer_id, "amount": amount, "authorized": api_key == "sk-host"}


async def test_partial_params_stay_host_side() -> None:
    tool = FunctionTool.from_defaults(fn=charge, partial_params={"api_key": "sk-host"})
    code_tool = create_codemode_tool([tool])
    assert "async def charge(customer_id: int, amount: float) -> dict[str, Any]:" in (
        code_tool.code_mode.stubs
    )
    assert "sk-host" not in code_tool.metadata.description
    output = await code_tool.acall(code="return await tools.charge(7, 9.5)")
    assert output.raw_output.value == {"customer_id": 7, "amount": 9.5, "authorized": True}
    assert "sk-host" not in output.content
    refused = await code_tool.acall(code="return await tools.charge(7, 9.5, api_key='x')")
    assert "tools.charge has no parameter 'api_key'" in refused.content  # checked before


async def test_plain_functions_from_a_module_with_postponed_annotations() -> None:
    """`from __future__ import annotations` leaves only strings in the signature; the tools
    work as the same functions do in `Tool.from_function`."""
    module = _load(Path(__file__).with_name("future_annotated_tools.py"))
    book, run_name = module.book, module.run_name
    code_mode = create_codemode_tool([book, run_name], executor="inprocess").code_mode
    stubs = code_mode.stubs
    assert "class Booking(TypedDict):" in stubs
    assert "async def book(booking: Booking, day: str, note: str | None = None)" in stubs
    assert "async def run_name() -> str:" in stubs  # the Context parameter is recognised
    result = await code_mode.run(
        'return await tools.book(booking={"hotel": "Ritz", "nights": 2}, day="2026-12-03")'
    )
    assert result.value == {"total": 20.0, "day": "2026-12-03"}


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # pydantic resolves the module's names through it
    spec.loader.exec_module(module)
    return module


def test_function_tool_docstring_reaches_the_stub_dedented() -> None:
    def reserve(table: int, guests: int = 2) -> str:
        """Reserve a table.

        Args:
            table: The table number.
            guests: How many people.
        """
        return f"table {table}"

    for native in (reserve, FunctionTool.from_defaults(fn=reserve)):
        stubs = create_codemode_tool([native], executor="inprocess").code_mode.stubs
        assert (
            '        """Reserve a table.\n\n'
            "        Args:\n"
            "            table: The table number.\n"
            '            guests: How many people."""\n'
        ) in stubs
