"""Every common LangChain tool form becomes a neutral tool and behaves as it does natively."""

from __future__ import annotations

import json
from typing import Annotated, Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool, ToolException, tool
from pydantic import BaseModel, Field

from codemode_core import Tool
from codemode_langchain import create_codemode_tool, to_codemode_tool


@tool
def get_weather(city: str, days: int = 1) -> dict[str, Any]:
    """Forecast for a city."""
    return {"city": city, "days": days, "temp_c": 3.5}


@tool
async def get_population(city: str) -> int:
    """Population of a city."""
    return {"Oslo": 700_000}.get(city, 0)


class LookupArgs(BaseModel):
    order_id: int = Field(description="The order number")


class LookupOrder(BaseTool):
    name: str = "lookup_order"
    description: str = "Look up an order."
    args_schema: type[BaseModel] = LookupArgs

    def _run(self, order_id: int) -> dict[str, Any]:
        if order_id < 0:
            raise ToolException("order ids are positive")
        return {"id": order_id, "total": 42.0}


class JsonSchemaTool(BaseTool):
    name: str = "echo"
    description: str = "Echo a word."
    args_schema: dict[str, Any] = {  # noqa: RUF012 - pydantic field default, copied per instance
        "type": "object",
        "properties": {"word": {"type": "string"}},
        "required": ["word"],
    }

    def _run(self, word: str) -> str:
        return word.upper()


@tool(response_format="content_and_artifact")
def search_docs(query: str) -> tuple[str, dict[str, Any]]:
    """Search the docs."""
    return f"2 hits for {query}", {"ids": [1, 2]}


@tool
def whoami(name: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
    """Greets, knowing its call id."""
    return f"{name}:{tool_call_id.split('-')[0]}"


def plain(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


ALL = [
    get_weather,
    get_population,
    LookupOrder(),
    JsonSchemaTool(),
    search_docs,
    whoami,
    plain,
    StructuredTool.from_function(
        func=lambda x: x * 2, name="double", description="Double x.", args_schema=None
    ),
]


def test_every_form_converts_with_schemas() -> None:
    converted = [to_codemode_tool(t) for t in ALL[:7]]
    assert all(isinstance(t, Tool) for t in converted)
    assert [t.name for t in converted] == [
        "get_weather",
        "get_population",
        "lookup_order",
        "echo",
        "search_docs",
        "whoami",
        "plain",
    ]
    assert converted[0].input_schema["properties"]["days"]["default"] == 1
    assert converted[2].input_schema["properties"]["order_id"]["description"] == "The order number"
    assert "tool_call_id" not in converted[5].input_schema["properties"]  # injected: hidden
    assert converted[0].output_schema == {"additionalProperties": True, "type": "object"}


def test_stubs_show_native_tools_as_typed_functions() -> None:
    code_tool = create_codemode_tool(ALL[:7])
    stubs = code_tool.code_mode.stubs
    assert "async def get_weather(city: str, days: int = 1) -> dict[str, Any]:" in stubs
    assert "async def lookup_order(order_id: int) -> Any:" in stubs
    assert "tool_call_id" not in stubs
    assert code_tool.description == code_tool.code_mode.description
    assert code_tool.args == {
        "code": {
            "description": "The plan: the body of an async Python function.",
            "title": "Code",
            "type": "string",
        }
    }


async def test_plan_calls_every_form() -> None:
    code_tool = create_codemode_tool(ALL[:7])
    plan = """
w = await tools.get_weather("Oslo", days=2)
p = await tools.get_population(w["city"])
o = await tools.lookup_order(order_id=7)
e = await tools.echo(word="hi")
s = await tools.search_docs(query="gather")
who = await tools.whoami("ada")
return [w["days"], p, o["total"], e, s, who, await tools.plain(2, 3)]
"""
    content, artifact = await code_tool._arun(plan)
    assert artifact.result.ok, content
    assert artifact.result.value == [2, 700000, 42.0, "HI", "2 hits for gather", "ada:codemode", 5]
    assert artifact.tool_artifacts == [{"tool": "search_docs", "artifact": {"ids": [1, 2]}}]
    assert json.loads(content) == artifact.result.value


async def test_tool_exception_is_a_catchable_tool_error() -> None:
    code_tool = create_codemode_tool([LookupOrder()])
    plan = (
        "try:\n    await tools.lookup_order(order_id=-1)\nexcept ToolError as e:\n"
        "    return 'caught: ' + str(e)"
    )
    _, artifact = await code_tool._arun(plan)
    assert artifact.result.value == "caught: order ids are positive"


async def test_langchain_validation_errors_are_reported_precisely() -> None:
    code_tool = create_codemode_tool([LookupOrder()])
    _, artifact = await code_tool._arun("o = 'abc'\nawait tools.lookup_order(order_id=o)")
    assert artifact.result.error is not None
    assert "'order_id': Input should be a valid integer" in artifact.result.error.message


def test_sync_invoke_returns_a_tool_message_for_tool_calls() -> None:
    code_tool = create_codemode_tool([plain])
    message = code_tool.invoke(
        {
            "name": "run_code",
            "args": {"code": "await tools.plain(1, 2)"},
            "id": "call_1",
            "type": "tool_call",
        }
    )
    assert isinstance(message, ToolMessage)
    assert message.content == "3" and message.artifact.result.value == 3
