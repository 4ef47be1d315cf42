"""`CodeModeMiddleware`: turn Code Mode on for a `langchain.agents.create_agent` agent.

Needs `langchain` (the `codemode-langchain[agents]` extra). The agent keeps its tools; the model
is shown only the code tool, whose plans call those tools. The plans' tools are the ones the
agent offers the model, and, when a code call runs, the ones its tool node holds: so a graph
resumed after an approval, in a process where no model call happened yet, has them too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.types import Command

from codemode_core import CodeMode
from codemode_core.integration import (
    ApprovalPredicate,
    MemoryStore,
    ToolChoice,
    check_approval_rules,
    check_approvals_wrapped,
    check_chosen_names,
    check_options,
    check_tool_choice,
    chooses,
    resolve_executor,
)
from codemode_core.integration import require_approval as mark_approvals
from codemode_langchain._convert import to_codemode_tools
from codemode_langchain.tools import CodeModeTool

__all__ = ["CodeModeMiddleware"]

_CACHED_TOOL_SETS = 16
"""Distinct tool sets whose code tools are kept (the least recently used is dropped)."""


class CodeModeMiddleware(AgentMiddleware):
    """Shows the model one code tool in place of the agent's tools.

    Stateless, like LangChain's own middlewares: one instance may serve any number of agents
    and concurrent runs. Each model call and each code call gets the code tool for the tools
    of its own request (built once per distinct set of tools and kept), never a shared one
    that another run could repoint.

    Args:
        name: The code tool's name.
        require_approval: `{tool name: True | predicate(arguments)}`: calls a human approves
            first; the plan interrupts the agent with a human-in-the-loop request (the agent
            needs a checkpointer) and `Command(resume=...)` continues it.
        tools: Which of the agent's tools plans call, as pydantic-ai's `CodeModeToolset(tools=)`:
            `"all"` (the default), a list of tool names, or a predicate over the `BaseTool`.
            The others stay direct tools the model calls itself, next to the code tool.
        **options: Passed to `codemode_core.CodeMode` (`limits`, `executor`, `approver`, ...).
    """

    def __init__(
        self,
        *,
        name: str = "run_code",
        require_approval: Mapping[str, bool | ApprovalPredicate] | None = None,
        tools: ToolChoice = "all",
        **options: Any,
    ) -> None:
        super().__init__()
        check_options("CodeModeMiddleware", options, own=("name", "require_approval", "tools"))
        check_approval_rules("CodeModeMiddleware", require_approval)
        self._selector = check_tool_choice("CodeModeMiddleware", tools)
        # One executor and one store for every tool set: warm isolated workers are shared,
        # and a plan paused under one tool set is found again when its graph resumes.
        executor = resolve_executor(options.get("executor"))
        store = options.get("store")
        self._options = {**options, "executor": executor, "store": store or MemoryStore()}
        self._rules = dict(require_approval or {})
        self._cache_lock = threading.Lock()
        self._cache_tools: OrderedDict[tuple[int, ...], tuple[list[BaseTool], CodeModeTool]]
        self._cache_tools = OrderedDict()
        self.code_tool = CodeModeTool(
            name=name,
            description="Run a Python plan.",
            code_mode=CodeMode([], **self._options),
        )
        """Registers the code tool's name with the agent's tool node; each request runs the
        code tool built for its own tools (`code_tool_for`)."""
        self.tools = [self.code_tool]

    def code_tool_for(self, tools: Iterable[object]) -> CodeModeTool:
        """The code tool whose plans call `tools` (LangChain tools other than the code tool)."""
        listed = [t for t in tools if isinstance(t, BaseTool) and t.name != self.code_tool.name]
        native = [t for t in listed if self._wrapped(t)]
        direct = (t.name for t in listed if not self._wrapped(t))
        check_chosen_names("CodeModeMiddleware", self._selector, (t.name for t in listed))
        check_approvals_wrapped("CodeModeMiddleware", self._rules, direct)
        key = tuple(id(t) for t in native)
        with self._cache_lock:
            cached = self._cache_tools.get(key)
            if cached is not None:
                self._cache_tools.move_to_end(key)
                return cached[1]
        # Every rule must name one of `tools` (a typo must not skip an approval), so an agent
        # sharing this middleware needs the tools its rules name.
        converted = mark_approvals(to_codemode_tools(native), self._rules)
        code_mode = CodeMode(converted, **self._options)
        tool = CodeModeTool(
            name=self.code_tool.name, description=code_mode.description, code_mode=code_mode
        )
        with self._cache_lock:
            # The native tools are kept with it, so their ids cannot be reused meanwhile.
            self._cache_tools[key] = (native, tool)
            while len(self._cache_tools) > _CACHED_TOOL_SETS:
                self._cache_tools.popitem(last=False)
        return tool

    def _wrapped(self, tool: object) -> bool:
        """Whether plans call `tool` (a LangChain tool the `tools=` selector picks)."""
        if not isinstance(tool, BaseTool) or tool.name == self.code_tool.name:
            return False
        return chooses(self._selector, tool.name, tool)

    def _rewrite(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        code_tool = self.code_tool_for(request.tools)
        # Provider tools and the tools `tools=` leaves out stay direct, in their order.
        others = [
            t
            for t in request.tools
            if not self._wrapped(t) and getattr(t, "name", None) != self.code_tool.name
        ]
        return request.override(tools=[code_tool, *others])

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

    def _for_code_call(self, request: ToolCallRequest) -> ToolCallRequest:
        if request.tool_call["name"] != self.code_tool.name:
            return request
        return request.override(tool=self.code_tool_for(request.runtime.tools))

    def _refusal(self, request: ToolCallRequest) -> ToolMessage | None:
        """A direct call of a tool that plans call: the model was never offered it (it read
        its stub), so it is refused as an unknown tool would be, without running it."""
        name = request.tool_call["name"]
        if name == self.code_tool.name or request.tool is None or not self._wrapped(request.tool):
            return None
        return ToolMessage(
            f"Error: {name} is not a tool you can call directly; call it from a plan "
            f"with {self.code_tool.name} (await tools.{name}(...)).",
            tool_call_id=request.tool_call["id"],
            name=name,
            status="error",
        )

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        return self._refusal(request) or handler(self._for_code_call(request))

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        return self._refusal(request) or await handler(self._for_code_call(request))
