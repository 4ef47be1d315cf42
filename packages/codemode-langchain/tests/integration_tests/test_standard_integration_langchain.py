"""LangChain's standard integration tests for tools (no network needed for this tool)."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, tool
from langchain_tests.integration_tests import ToolsIntegrationTests

from codemode_langchain import create_codemode_tool


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


class TestCodeModeToolIntegration(ToolsIntegrationTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return create_codemode_tool([multiply])

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"code": "return await tools.multiply(6, 7)"}
