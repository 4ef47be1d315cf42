"""LangChain's own standard tool tests, so the adapter behaves like a first-party tool."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, tool
from langchain_tests.unit_tests import ToolsUnitTests

from codemode_langchain import create_codemode_tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class TestCodeModeToolStandard(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return create_codemode_tool([add])

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"code": "return await tools.add(1, 2)"}
