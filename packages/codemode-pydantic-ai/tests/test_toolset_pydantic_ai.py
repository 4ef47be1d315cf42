"""`CodeModeToolset` on its own: construction, listing, and calls outside an agent run."""

from __future__ import annotations

import pytest
from pydantic_ai import RunContext, Tool
from pydantic_ai.exceptions import ModelRetry, UserError
from pydantic_ai.messages import ToolReturn
from pydantic_ai.models.test import TestModel
from pydantic_ai.toolsets import CombinedToolset, FunctionToolset
from pydantic_ai.usage import RunUsage

from codemode_core import ExecutionResult
from codemode_pydantic_ai import CodeModeToolset


def context() -> RunContext[None]:
    """A run context with no agent behind it (no event stream, no tool manager)."""
    return RunContext(deps=None, model=TestModel(), usage=RunUsage())


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def test_called_outside_an_agent_run() -> None:
    toolset = CodeModeToolset([add], executor="inprocess")
    ctx = context()
    tools = await toolset.get_tools(ctx)
    assert list(tools) == ["run_code"]

    returned = await toolset.call_tool(
        "run_code", {"code": "print('hi')\nreturn await tools.add(2, b=3)"}, ctx, tools["run_code"]
    )

    assert isinstance(returned, ToolReturn)
    assert returned.return_value == "5\n\nLogs:\nhi"
    assert isinstance(returned.metadata, ExecutionResult)
    assert returned.metadata.tool_calls[0].arguments == {"a": 2, "b": 3}
    assert ctx.usage.tool_calls == 1
    with pytest.raises(ModelRetry, match="syntax error at line 1"):
        await toolset.call_tool("run_code", {"code": "return (("}, ctx, tools["run_code"])


async def test_catalog_is_rebuilt_only_when_tool_definitions_change() -> None:
    functions = FunctionToolset([add])
    toolset = CodeModeToolset(functions, executor="inprocess")
    first = await toolset.get_tools(context())
    again = await toolset.get_tools(context())
    assert first["run_code"].code_mode is again["run_code"].code_mode  # type: ignore[attr-defined]

    @functions.tool_plain
    def neg(x: int) -> int:
        """Negate."""
        return -x

    changed = await toolset.get_tools(context())
    assert "async def neg(x: int) -> int:" in (changed["run_code"].tool_def.description or "")


async def test_a_direct_tool_named_like_the_code_tool_is_refused() -> None:
    functions = FunctionToolset()

    @functions.tool_plain
    def run_code(code: str) -> str:
        """Someone else's code tool."""
        return code

    with pytest.raises(UserError, match="pass CodeModeToolset"):
        await CodeModeToolset(functions, tools=[], executor="inprocess").get_tools(context())
    renamed = CodeModeToolset(functions, tools=[], name="plan", executor="inprocess")
    assert sorted(await renamed.get_tools(context())) == ["plan", "run_code"]


async def test_lists_of_toolsets_tools_and_functions_are_combined() -> None:
    def double(x: int) -> int:
        """Twice x."""
        return 2 * x

    toolset = CodeModeToolset([FunctionToolset([add]), Tool(double)], executor="inprocess")
    assert isinstance(toolset.wrapped, CombinedToolset)
    description = (await toolset.get_tools(context()))["run_code"].tool_def.description or ""
    assert "def add(a: int, b: int) -> int:" in description
    assert "def double(x: int) -> int:" in description
    with pytest.raises(UserError, match="takes toolsets, pydantic-ai Tools and functions"):
        CodeModeToolset([42])  # type: ignore[list-item]
