"""`CodeModeNode`: LangGraph's own `ToolNode`, holding one Code Mode tool instead of many tools.

Subclassing `ToolNode` keeps everything LangGraph users rely on: it reads the tool calls of the
last `AIMessage` (several run concurrently), answers with `ToolMessage`s, works with
`tools_condition`, with message-list and custom state schemas, and builds the `ToolRuntime`
(state, store, stream writer, call id) that the code tool passes on to inner tools that ask for
it. The conversion of the inner tools is `codemode-langchain`'s, not repeated here.

Approvals: a plan that waits for a human interrupts the graph (`interrupt()`), and
`Command(resume=...)` continues it from its journal, which is kept in the graph's checkpointer
(see `codemode_langchain.graph`). When one message has several code calls that may pause, the
node keeps their checkpointed steps and interrupts in the message's order (`CallOrder`), which
is how LangGraph matches them up again when the node re-runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.tools import tool as as_langchain_tool
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.runtime import Runtime
from langgraph.types import Command

from codemode_core import CodeMode, ConfigurationError
from codemode_core.integration import (
    ApprovalPredicate,
    ToolChoice,
    check_approval_rules,
    check_approvals_wrapped,
    check_chosen_names,
    check_options,
    check_tool_choice,
    chooses,
)
from codemode_langchain import CodeModeTool, create_codemode_tool
from codemode_langchain.graph import CallOrder, call_order

__all__ = ["NODE_OPTIONS", "CodeModeNode"]

NODE_OPTIONS = (
    "tools",
    "name",
    "code_tool_name",
    "messages_key",
    "require_approval",
    "tags",
    "handle_tool_errors",
)
"""`CodeModeNode`'s own options; every other keyword is a `CodeMode` option."""

_TOOL_NODE_DEFAULT: Any = object()
"""`handle_tool_errors` not given: `ToolNode`'s own default applies."""

Execute = Callable[[ToolCallRequest], ToolMessage | Command[Any]]
AsyncExecute = Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]]


class CodeModeNode(ToolNode):
    """A graph node that runs the model's Code Mode plans over `tools`.

    Args:
        agent_tools: (positional) LangChain tools (`@tool` functions, `StructuredTool`s,
            `BaseTool` subclasses) or plain callables, sync or async; tools may declare
            `InjectedState`, `InjectedStore`, `ToolRuntime` or `InjectedToolCallId` arguments
            as they would under `ToolNode`.
        tools: Which of them plans call, as in every adapter: `"all"` (the default), a list of
            tool names, or a predicate over the `BaseTool` (plain callables are made
            `BaseTool`s first). The others stay direct tools: the node runs them as a
            `ToolNode` does, and `model_tools` offers them to the model beside the code tool.
        name: The node's name in the graph (`tools_condition` routes to `"tools"`).
        code_tool_name: The name the model calls the code tool by.
        messages_key: The state key holding the messages (as in `ToolNode`).
        tags: Tags of the node's runs (as in `ToolNode`).
        handle_tool_errors: As in `ToolNode`: what an exception the code tool raises becomes.
            A failed plan is not one: it is always a `ToolMessage` with `status="error"`.
        require_approval: `{tool name: True | predicate(arguments)}`: those calls wait for a
            human; the graph is interrupted (it needs a checkpointer) and resumed with
            `Command(resume=...)`.
        **options: Passed to `codemode_core.CodeMode` (`limits`, `executor`, `approver`, ...).
    """

    def __init__(
        self,
        agent_tools: Sequence[BaseTool | Callable[..., Any]],
        /,
        *,
        tools: ToolChoice = "all",
        name: str = "tools",
        code_tool_name: str = "run_code",
        messages_key: str = "messages",
        require_approval: Mapping[str, bool | ApprovalPredicate] | None = None,
        tags: list[str] | None = None,
        handle_tool_errors: Any = _TOOL_NODE_DEFAULT,
        **options: Any,
    ) -> None:
        check_options("CodeModeNode", options, own=NODE_OPTIONS)
        check_approval_rules("CodeModeNode", require_approval)
        choice = check_tool_choice("CodeModeNode", tools)
        native = [t if isinstance(t, BaseTool) else as_langchain_tool(t) for t in agent_tools]
        check_chosen_names("CodeModeNode", choice, (t.name for t in native))
        direct = [t for t in native if not chooses(choice, t.name, t)]
        check_approvals_wrapped("CodeModeNode", require_approval, (t.name for t in direct))
        if any(t.name == code_tool_name for t in direct):
            raise ConfigurationError(
                f"CodeModeNode: the direct tool {code_tool_name!r} has the code tool's name; "
                "pass code_tool_name=... another name"
            )
        code_tool = create_codemode_tool(
            [t for t in native if chooses(choice, t.name, t)],
            name=code_tool_name,
            require_approval=require_approval,
            **options,
        )
        as_tool_node: dict[str, Any] = {"tags": tags}
        if handle_tool_errors is not _TOOL_NODE_DEFAULT:
            as_tool_node["handle_tool_errors"] = handle_tool_errors
        super().__init__(
            [code_tool, *direct],
            name=name,
            messages_key=messages_key,
            wrap_tool_call=self._in_order,
            awrap_tool_call=self._ain_order,
            **as_tool_node,
        )
        self._code_tool = code_tool
        self._direct = direct

    @property
    def code_tool(self) -> CodeModeTool:
        """The code tool, whose plans call the wrapped tools."""
        return self._code_tool

    @property
    def model_tools(self) -> list[BaseTool]:
        """What to bind to the model: `model.bind_tools(node.model_tools)`, the code tool and
        the tools `tools=` left direct (just the code tool when every tool is wrapped)."""
        return [self._code_tool, *self._direct]

    @property
    def description(self) -> str:
        """The code tool's description, as the model reads it (the stubs included)."""
        return self._code_tool.description

    @property
    def stubs(self) -> str:
        """The typed stubs of the tools plans call."""
        return self.code_mode.stubs

    @property
    def code_mode(self) -> CodeMode:
        """The Code Mode runtime (its `stubs`, `description`, `close()`)."""
        return self._code_tool.code_mode

    # Several code calls in one task: keep their durable steps in the message's order --------

    def _order_for(self, input: Any, *, asynchronous: bool) -> CallOrder | None:
        if not self.code_mode.catalog.needs_approval:
            return None
        tool_calls, _ = self._parse_input(input)
        ids = [c.get("id") for c in tool_calls if c["name"] == self._code_tool.name]
        if len(ids) < 2 or None in ids or len(set(ids)) != len(ids):
            return None
        return CallOrder([str(i) for i in ids], asynchronous=asynchronous)

    def _func(self, input: Any, config: RunnableConfig, runtime: Runtime[Any]) -> Any:
        token = call_order.set(self._order_for(input, asynchronous=False))
        try:
            return super()._func(input, config, runtime)
        finally:
            call_order.reset(token)

    async def _afunc(self, input: Any, config: RunnableConfig, runtime: Runtime[Any]) -> Any:
        token = call_order.set(self._order_for(input, asynchronous=True))
        try:
            return await super()._afunc(input, config, runtime)
        finally:
            call_order.reset(token)

    def _in_order(self, request: ToolCallRequest, execute: Execute) -> ToolMessage | Command[Any]:
        failed = True
        try:
            result = execute(request)
            failed = False
            return result
        finally:
            _finished(request, failed)

    async def _ain_order(
        self, request: ToolCallRequest, execute: AsyncExecute
    ) -> ToolMessage | Command[Any]:
        failed = True
        try:
            result = await execute(request)
            failed = False
            return result
        finally:
            _finished(request, failed)


def _finished(request: ToolCallRequest, failed: bool) -> None:
    """Whatever became of the call (even if it never reached the tool), let the next go."""
    order = call_order.get()
    if order is not None:
        order.mark(request.tool_call.get("id"), "finished", failed=failed)
