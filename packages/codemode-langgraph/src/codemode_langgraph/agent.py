"""`create_codemode_agent`: the smallest useful graph, a model node looping with a code node."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, SystemMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Checkpointer, Send

from codemode_core.integration import check_approval_rules, check_options
from codemode_langgraph.node import NODE_OPTIONS, CodeModeNode

__all__ = ["chat_model_from_name", "create_codemode_agent"]

_AGENT_OPTIONS = ("checkpointer", "store", "system_prompt", "name")


def _code_mode_part(options: dict[str, Any]) -> dict[str, Any]:
    """The options `CodeModeNode` passes on to `CodeMode` (the node's own taken out)."""
    return {k: v for k, v in options.items() if k not in NODE_OPTIONS}


def chat_model_from_name(name: str) -> BaseChatModel:
    """A chat model from its name (`"openai:gpt-4.1"`), as `create_agent` accepts one.

    LangChain's `init_chat_model` does it; it lives in `langchain`, which this package does
    not need otherwise (install `codemode-langgraph[models]`, or pass a model instance).
    """
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise ImportError(
            f"create_codemode_agent got the model name {name!r}; model names are resolved by "
            "LangChain's init_chat_model, which needs langchain: "
            "pip install 'codemode-langgraph[models]' (and the provider's package, e.g. "
            "langchain-openai), or pass a chat model instance"
        ) from None
    model = init_chat_model(name)
    if not isinstance(model, BaseChatModel):  # a configurable model: no name was resolved
        raise TypeError(f"create_codemode_agent: {name!r} did not name one chat model")
    return model


def create_codemode_agent(
    model: BaseChatModel | str,
    tools: Sequence[BaseTool | Callable[..., Any]],
    /,
    *,
    checkpointer: Checkpointer = None,
    store: BaseStore | None = None,
    system_prompt: str | None = None,
    name: str | None = None,
    **options: Any,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """A compiled agent graph: `agent` (the model, bound to the code tool) ⇄ `tools` (the plans).

    The state is LangGraph's `MessagesState`, so checkpointers, thread ids and every
    `stream_mode` work as for any LangGraph agent; progress of each plan (tool calls starting
    and ending, printed lines) is written to `stream_mode="custom"`. Each code call of a
    message is its own `tools` task (as in `langchain.agents.create_agent`): they run
    concurrently, and plans waiting for approval interrupt the graph together, one interrupt
    each.

    Args:
        model: A chat model that supports tool calling (`bind_tools`), or its name as
            `langchain.agents.create_agent` takes it (`"openai:gpt-4.1"`), made by LangChain's
            `init_chat_model` (needs `langchain` and the provider's package).
        tools: (positional) The agent's tools; plans call them (see `CodeModeNode`), all of
            them unless the `tools=` keyword (a selector, as in every adapter) keeps some
            direct: `create_codemode_agent(model, [a, b], tools=["a"])`.
        checkpointer: Persists conversations between invocations (per `thread_id`).
        store: A LangGraph store, for tools that declare `InjectedStore`.
        system_prompt: Prepended to the messages on every model call (not stored in state).
        name: The compiled graph's name.
        **options: Passed to `CodeModeNode` (`require_approval`, ...) and on to
            `codemode_core.CodeMode` (`limits`, `executor`, `approver`, ...).
    """
    own = [*_AGENT_OPTIONS, *(o for o in NODE_OPTIONS if o != "name")]
    # `tools` is positional-only here, so the `tools=` keyword (the selector) is in `options`.
    check_options("create_codemode_agent", _code_mode_part(options), own=own)
    check_approval_rules("create_codemode_agent", options.get("require_approval"))
    if isinstance(model, str):
        model = chat_model_from_name(model)
    node = CodeModeNode(tools, **options)
    bound = model.bind_tools(node.model_tools)
    prefix: list[AnyMessage] = [SystemMessage(system_prompt)] if system_prompt else []

    def call_model(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        return {"messages": [bound.invoke([*prefix, *state["messages"]], config)]}

    async def acall_model(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        return {"messages": [await bound.ainvoke([*prefix, *state["messages"]], config)]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", RunnableLambda(call_model, afunc=acall_model, name="agent"))
    graph.add_node("tools", node)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", _each_code_call, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=checkpointer, store=store, name=name)


def _each_code_call(state: MessagesState) -> list[Send] | str:
    """One `tools` task per tool call of the model's last message, or the end."""
    last = state["messages"][-1]
    if not isinstance(last, AIMessage) or not last.tool_calls:
        return END
    return [Send("tools", [call]) for call in last.tool_calls]
