"""`CodeModeNode`: LangGraph's own `ToolNode`, holding one Code Mode tool instead of many tools.

Subclassing `ToolNode` keeps everything LangGraph users rely on: it reads the tool calls of the
last `AIMessage` (several run concurrently), answers with `ToolMessage`s, works with
`tools_condition`, with message-list and custom state schemas, and builds the `ToolRuntime`
(state, store, stream writer, call id) that the code tool passes on to inner tools that ask for
it. The conversion of the inner tools is `codemode-langchain`'s, not repeated here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolNode

from codemode_core import CodeMode
from codemode_langchain import CodeModeTool, create_codemode_tool

__all__ = ["CodeModeNode"]


class CodeModeNode(ToolNode):
    """A graph node that runs the model's Code Mode plans over `tools`.

    Args:
        tools: LangChain tools (`@tool` functions, `StructuredTool`s, `BaseTool` subclasses) or
            plain callables, sync or async; tools may declare `InjectedState`, `InjectedStore`,
            `ToolRuntime` or `InjectedToolCallId` arguments as they would under `ToolNode`.
        name: The node's name in the graph (`tools_condition` routes to `"tools"`).
        code_tool_name: The name the model calls the code tool by.
        messages_key: The state key holding the messages (as in `ToolNode`).
        **options: Passed to `codemode_core.CodeMode` (`limits`, `executor`, `discovery`, ...).
    """

    def __init__(
        self,
        tools: Sequence[BaseTool | Callable[..., Any]],
        *,
        name: str = "tools",
        code_tool_name: str = "run_code",
        messages_key: str = "messages",
        **options: Any,
    ) -> None:
        code_tool = create_codemode_tool(tools, name=code_tool_name, **options)
        super().__init__([code_tool], name=name, messages_key=messages_key)
        self._code_tool = code_tool

    @property
    def code_tool(self) -> CodeModeTool:
        """The one tool to bind to the model: `model.bind_tools([node.code_tool])`."""
        return self._code_tool

    @property
    def code_mode(self) -> CodeMode:
        """The Code Mode runtime (its `stubs`, `description`, `close()`)."""
        return self._code_tool.code_mode
