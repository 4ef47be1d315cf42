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

from codemode_langgraph.node import CodeModeNode

__all__ = ["create_codemode_agent"]


def create_codemode_agent(
    model: BaseChatModel,
    tools: Sequence[BaseTool | Callable[..., Any]],
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
        model: A chat model that supports tool calling (`bind_tools`).
        tools: The tools plans may call (see `CodeModeNode`).
        checkpointer: Persists conversations between invocations (per `thread_id`).
        store: A LangGraph store, for tools that declare `InjectedStore`.
        system_prompt: Prepended to the messages on every model call (not stored in state).
        name: The compiled graph's name.
        **options: Passed to `CodeModeNode` (`require_approval`, ...) and on to
            `codemode_core.CodeMode` (`limits`, `executor`, `approver`, ...).
    """
    node = CodeModeNode(tools, **options)
    bound = model.bind_tools([node.code_tool])
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
