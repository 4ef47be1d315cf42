"""`CodeModeMiddleware`: turn Code Mode on for a `langchain.agents.create_agent` agent.

Needs `langchain` (the `codemode-langchain[agents]` extra). The agent keeps its tools; the model
is shown only the code tool, whose plans call those tools. The plans' tools are the ones the
agent offers the model, and, when a code call runs, the ones its tool node holds: so a graph
resumed after an approval, in a process where no model call happened yet, has them too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.types import Command

from codemode_core import CodeMode
from codemode_core.integration import ApprovalPredicate
from codemode_core.integration import require_approval as mark_approvals
from codemode_langchain._convert import to_codemode_tools
from codemode_langchain.tools import CodeModeTool

__all__ = ["CodeModeMiddleware"]


class CodeModeMiddleware(AgentMiddleware):
    """Shows the model one code tool in place of the agent's tools.

    Args:
        name: The code tool's name.
        require_approval: `{tool name: True | predicate(arguments)}`: calls a human approves
            first; the plan interrupts the agent with a human-in-the-loop request (the agent
            needs a checkpointer) and `Command(resume=...)` continues it.
        **options: Passed to `codemode_core.CodeMode` (`limits`, `executor`, `approver`, ...).
    """

    def __init__(
        self,
        *,
        name: str = "run_code",
        require_approval: Mapping[str, bool | ApprovalPredicate] | None = None,
        **options: Any,
    ) -> None:
        super().__init__()
        self._options = options
        self._rules = require_approval
        self._wrapped: tuple[int, ...] = ()
        self.code_tool = CodeModeTool(
            name=name, description="Run a Python plan.", code_mode=CodeMode([], **options)
        )
        self.tools = [self.code_tool]

    def _use(self, tools: Iterable[object]) -> None:
        """Point the code tool at `tools` (LangChain tools other than itself)."""
        native = [t for t in tools if isinstance(t, BaseTool) and t.name != self.code_tool.name]
        key = tuple(sorted(id(t) for t in native))
        if key != self._wrapped:
            code_mode = CodeMode(
                mark_approvals(to_codemode_tools(native), self._rules), **self._options
            )
            self.code_tool.code_mode = code_mode
            self.code_tool.description = code_mode.description
            self._wrapped = key

    def _rewrite(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        self._use(request.tools)
        others = [t for t in request.tools if not isinstance(t, BaseTool)]  # provider tools
        return request.override(tools=[self.code_tool, *others])

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        return handler(self._rewrite(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        return await handler(self._rewrite(request))

    def _before_code_call(self, request: ToolCallRequest) -> None:
        if request.tool_call["name"] == self.code_tool.name:
            self._use(request.runtime.tools)

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        self._before_code_call(request)
        return handler(request)

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        self._before_code_call(request)
        return await handler(request)
