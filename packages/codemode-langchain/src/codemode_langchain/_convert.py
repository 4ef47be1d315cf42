"""LangChain tools → neutral `Tool`s, keeping each tool's own validation and error handling.

The stub schema comes from LangChain's own `convert_to_openai_tool` (which already hides
injected arguments). Calls go through the tool's `ainvoke`, so its `args_schema` validation,
callbacks and `handle_tool_error` behave as they do in any LangChain agent.
"""

from __future__ import annotations

import contextvars
import functools
import json
import typing
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, InjectedToolCallId, ToolException
from langchain_core.tools import tool as as_langchain_tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ValidationError

from codemode_core import Tool, ToolError
from codemode_core.integration import (
    clean_description,
    current_plan_call,
    describe_validation_error,
    output_schema_of,
)

__all__ = ["OuterCall", "current_call", "to_codemode_tool", "to_codemode_tools"]


@dataclass
class OuterCall:
    """The code tool's own invocation, as seen by the tools its plan calls."""

    config: RunnableConfig | None = None
    runtime: Any = None
    """LangGraph's `ToolRuntime` of the code tool's call (state, store, call id), if any."""
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    """Artifacts of `content_and_artifact` tools, for the caller (never shown to the model)."""


current_call: contextvars.ContextVar[OuterCall | None] = contextvars.ContextVar(
    "codemode_langchain_call", default=None
)


def to_codemode_tools(tools: Sequence[BaseTool | Callable[..., Any]]) -> list[Tool]:
    return [to_codemode_tool(t) for t in tools]


def to_codemode_tool(native: BaseTool | Callable[..., Any]) -> Tool:
    """One LangChain tool (or plain callable, wrapped with `@tool`) as a neutral tool."""
    tool = native if isinstance(native, BaseTool) else as_langchain_tool(native)
    spec = convert_to_openai_tool(tool)["function"]
    input_schema = _input_schema(tool) or spec.get("parameters") or {"type": "object"}
    injections = _injections(tool)
    needs_tool_call = (
        tool.response_format == "content_and_artifact" or _wants_call_id(tool) or bool(injections)
    )

    async def call(**arguments: Any) -> Any:
        outer = current_call.get() or OuterCall()
        if injections:
            if outer.runtime is None:
                raise ToolError(
                    f"{tool.name} needs the agent's state or store, which exist only when the "
                    "code tool runs inside a LangGraph tool node (e.g. create_agent)"
                )
            arguments = {**arguments, **{k: get(outer.runtime) for k, get in injections.items()}}
        call_id = (
            getattr(outer.runtime, "tool_call_id", None) or f"codemode-{uuid.uuid4().hex[:12]}"
        )
        config = _traced(outer.config)
        try:
            if needs_tool_call:
                message = await tool.ainvoke(
                    {"name": tool.name, "args": arguments, "type": "tool_call", "id": call_id},
                    config=config,
                )
                return _unwrap(message, tool.name, outer)
            return await tool.ainvoke(arguments, config=config)
        except ToolException as exc:
            raise ToolError(str(exc) or type(exc).__name__) from None
        except ValidationError as exc:
            accepted = list(input_schema.get("properties", {}))
            raise ToolError(describe_validation_error(exc, accepted)) from None

    return Tool(
        tool.name,
        clean_description(tool.description or spec.get("description", "")),
        input_schema,
        call,
        _output_schema(tool),
        binder=_pass_through,
        metadata={"langchain_tool": tool},
    )


def _traced(config: RunnableConfig | None) -> RunnableConfig | None:
    """The inner call's config: its run is a child of the code tool's run (the code tool hands
    down `run_manager.get_child()`), and its metadata says which plan call it is, so a trace
    (LangSmith, a callback handler's `on_tool_start`) shows each inner call under the code
    call with its plan line."""
    plan_call = current_plan_call()
    if plan_call is None:
        return config
    metadata = {
        **((config or {}).get("metadata") or {}),
        "codemode_tool": plan_call.tool,
        "codemode_line": plan_call.line,
        "codemode_execution_id": plan_call.execution_id,
    }
    return {**(config or {}), "metadata": metadata}


def _input_schema(tool: BaseTool) -> dict[str, Any] | None:
    """The JSON Schema of what the model passes (injected arguments left out), with the
    argument models' own names (`Booking`) kept as `$defs`, where the schema is pydantic's.

    `convert_to_openai_tool` inlines nested models and drops their names, so the stubs would
    name them after the tool and argument (`BookHotelBooking`). None: use its schema instead.
    """
    schema = tool.tool_call_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return None
    try:
        generated = schema.model_json_schema()
    except Exception:  # a schema pydantic cannot render: LangChain's own conversion decides
        return None
    generated.pop("title", None)
    generated.pop("description", None)  # the tool's description is the stub's docstring
    return generated


def _pass_through(arguments: dict[str, Any]) -> dict[str, Any]:
    """The LangChain tool validates its own arguments (with its own, lax rules)."""
    return arguments


def _injections(tool: BaseTool) -> dict[str, Callable[[Any], Any]]:
    """Arguments LangGraph would inject (state, a state key, store, runtime) → how to get them.

    Read from the tool's input schema with LangGraph's public marker types; without LangGraph
    installed no tool can declare them.
    """
    try:
        from langgraph.prebuilt import InjectedState, InjectedStore, ToolRuntime
    except ImportError:
        return {}
    found: dict[str, Callable[[Any], Any]] = {}
    fields: dict[str, Any] = getattr(tool.get_input_schema(), "model_fields", {})
    for name, info in fields.items():
        annotation = info.annotation
        if annotation is ToolRuntime or typing.get_origin(annotation) is ToolRuntime:
            found[name] = _identity
        for item in info.metadata:
            if item is InjectedStore or isinstance(item, InjectedStore):
                found[name] = _store
            elif item is InjectedState or (isinstance(item, InjectedState) and not item.field):
                found[name] = _state
            elif isinstance(item, InjectedState) and item.field:
                found[name] = functools.partial(_state_field, item.field)
    return found


def _identity(runtime: Any) -> Any:
    return runtime


def _store(runtime: Any) -> Any:
    return runtime.store


def _state(runtime: Any) -> Any:
    return runtime.state


def _state_field(key: str, runtime: Any) -> Any:
    state = runtime.state
    return state[key] if isinstance(state, dict) else getattr(state, key)


def _wants_call_id(tool: BaseTool) -> bool:
    schema = tool.args_schema
    annotations = getattr(schema, "model_fields", None)
    if not annotations:
        return False
    for field_info in annotations.values():
        for item in field_info.metadata:
            if item is InjectedToolCallId or isinstance(item, InjectedToolCallId):
                return True
    return False


def _unwrap(message: Any, name: str, outer: OuterCall) -> Any:
    if not isinstance(message, ToolMessage):
        return message
    if message.artifact is not None:
        outer.artifacts.append({"tool": name, "artifact": message.artifact})
    if message.status == "error":
        raise ToolError(str(message.content))
    content = message.content
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return content
    return content


def _output_schema(tool: BaseTool) -> dict[str, Any] | None:
    fn = getattr(tool, "coroutine", None) or getattr(tool, "func", None)
    if fn is None or tool.response_format != "content":
        return None
    return output_schema_of(fn)
