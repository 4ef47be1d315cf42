"""`CodeModeMiddleware`: turn Code Mode on for a `langchain.agents.create_agent` agent.

Needs `langchain` (the `codemode-langchain[agents]` extra). The agent keeps its tools; the model
is shown only the code tool, whose plans call those tools.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.tools import BaseTool

from codemode_core import CodeMode
from codemode_langchain._convert import to_codemode_tools
from codemode_langchain.tools import CodeModeTool

__all__ = ["CodeModeMiddleware"]


class CodeModeMiddleware(AgentMiddleware):
    """Shows the model one code tool in place of the agent's tools.

    Args:
        name: The code tool's name.
        **options: Passed to `codemode_core.CodeMode` (`limits`, `executor`, `discovery`, ...).
    """

    def __init__(self, *, name: str = "run_code", **options: Any) -> None:
        super().__init__()
        self._options = options
        self._wrapped: tuple[int, ...] = ()
        self.code_tool = CodeModeTool(
            name=name, description="Run a Python plan.", code_mode=CodeMode([], **options)
        )
        self.tools = [self.code_tool]

    def _rewrite(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        native = [
            t for t in request.tools if isinstance(t, BaseTool) and t.name != self.code_tool.name
        ]
        others = [t for t in request.tools if not isinstance(t, BaseTool)]  # provider tools
        key = tuple(id(t) for t in native)
        if key != self._wrapped:
            code_mode = CodeMode(to_codemode_tools(native), **self._options)
            self.code_tool.code_mode = code_mode
            self.code_tool.description = code_mode.description
            self._wrapped = key
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
