"""LlamaIndex tools → neutral `Tool`s, called the way an agent workflow calls them.

The stub schema is the tool's own `ToolMetadata` (`get_parameters_dict()` of its `fn_schema`),
so what the plan sees is what a function-calling model would have been offered. Calls go through
the tool's `acall` (sync tools through LlamaIndex's own async adapter), with the outer call's
workflow `Context` injected where a `FunctionTool` asks for one, exactly as `FunctionAgent` does.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llama_index.core.base.llms.types import TextBlock
from llama_index.core.base.response.schema import (
    AsyncStreamingResponse,
    PydanticResponse,
    Response,
    StreamingResponse,
)
from llama_index.core.bridge.pydantic import BaseModel, ValidationError
from llama_index.core.schema import BaseNode
from llama_index.core.tools import BaseTool, FunctionTool, QueryEngineTool, ToolOutput
from llama_index.core.tools.tool_spec.base import BaseToolSpec
from llama_index.core.tools.types import adapt_to_async_tool
from llama_index.core.workflow import Context
from llama_index_instrumentation import get_dispatcher
from llama_index_instrumentation.dispatcher import active_instrument_tags, instrument_tags

from codemode_core import ConfigurationError, Tool, ToolError
from codemode_core.integration import (
    clean_description,
    current_plan_call,
    describe_validation_error,
    output_schema_of,
)

__all__ = [
    "NativeTool",
    "OuterCall",
    "current_call",
    "plan_tool_call",
    "to_codemode_tool",
    "to_codemode_tools",
    "to_native_tools",
]

dispatcher = get_dispatcher(__name__)

NativeTool = BaseTool | BaseToolSpec | Callable[..., Any]
"""What `create_codemode_tool` accepts: any LlamaIndex tool, a tool spec, or a plain function."""


@dataclass(frozen=True)
class OuterCall:
    """The code tool's own invocation, as seen by the tools its plan calls."""

    ctx: Context | None = None
    """The agent workflow's `Context`, when the code tool runs inside one."""


current_call: contextvars.ContextVar[OuterCall | None] = contextvars.ContextVar(
    "codemode_llamaindex_call", default=None
)


def to_codemode_tools(tools: Iterable[NativeTool]) -> list[Tool]:
    """Every tool (a tool spec contributes its `to_tool_list()`) as a neutral tool."""
    return [to_codemode_tool(t) for t in to_native_tools(tools)]


def to_native_tools(tools: Iterable[NativeTool]) -> list[BaseTool]:
    """Each item as LlamaIndex tools: a tool spec's `to_tool_list()`, a plain callable as a
    `FunctionTool` (so a `tools=` selector and the agent see the same tool objects)."""
    native: list[BaseTool] = []
    for item in tools:
        if isinstance(item, BaseToolSpec):
            native.extend(item.to_tool_list())
        elif isinstance(item, BaseTool):
            native.append(item)
        else:
            native.append(FunctionTool.from_defaults(fn=_resolved(item)))
    return native


def to_codemode_tool(native: BaseTool | Callable[..., Any]) -> Tool:
    """One LlamaIndex tool (or plain callable, wrapped with `FunctionTool.from_defaults`)."""
    tool = (
        native if isinstance(native, BaseTool) else FunctionTool.from_defaults(fn=_resolved(native))
    )
    metadata = tool.metadata
    if not metadata.name:
        raise ConfigurationError(
            f"{type(tool).__name__} has no name (ToolMetadata.name is None): give it one, "
            "e.g. FunctionTool.from_defaults(fn, name=...) or ToolMetadata(name=...)"
        )
    name = metadata.name
    input_schema = metadata.get_parameters_dict()
    context_param = tool.ctx_param_name if isinstance(tool, FunctionTool) else None
    async_tool = adapt_to_async_tool(tool)

    async def call(**arguments: Any) -> Any:
        if context_param is not None:
            outer = current_call.get()
            if outer is None or outer.ctx is None:
                raise ToolError(
                    f"{name} needs the workflow Context, which exists only when the code tool "
                    "runs inside an agent workflow (FunctionAgent, ReActAgent, AgentWorkflow)"
                )
            arguments[context_param] = outer.ctx
        plan_call = current_plan_call()
        if plan_call is None:
            return _plan_value(tool, await async_tool.acall(**arguments))
        tags = {
            **active_instrument_tags.get(),
            "codemode.tool": plan_call.tool,
            "codemode.line": plan_call.line,
            "codemode.execution_id": plan_call.execution_id,
        }
        with instrument_tags(tags):
            output = await plan_tool_call(
                plan_call.tool, plan_call.line, plan_call.execution_id, async_tool, arguments
            )
        return _plan_value(tool, output)

    return Tool(
        name,
        _description(name, metadata.description),
        input_schema,
        call,
        _output_schema(tool),
        binder=_binder(metadata.fn_schema, list(input_schema.get("properties", {}))),
        metadata={"llamaindex_tool": tool},
    )


@dispatcher.span
async def plan_tool_call(
    tool: str, line: int | None, execution_id: str, target: Any, arguments: dict[str, Any]
) -> ToolOutput:
    """One call a plan makes, as a LlamaIndex instrumentation span: a child of the code tool's
    `run_code` span, its arguments (`tool` as the plan calls it, the plan `line`) in the span's
    bound arguments and in its tags (`codemode.tool`, `codemode.line`), which the tool's own
    spans and events inherit."""
    output: ToolOutput = await target.acall(**arguments)
    return output


def _resolved(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn`, as LlamaIndex can read it when its module has `from __future__ import annotations`.

    `FunctionTool.from_defaults` reads `inspect.signature(fn)`, whose annotations are then
    strings (`"Booking"`): pydantic cannot build the argument model from them, and a
    `Context` parameter is not recognised. A thin proxy carries the signature with the
    annotations evaluated in `fn`'s own module (`__wrapped__` points at `fn`, so return type
    hints resolve there too); a function whose annotations are objects already is given as is.
    """
    try:
        plain = inspect.signature(fn)
        evaluated = inspect.signature(fn, eval_str=True)
    except (NameError, TypeError, ValueError, SyntaxError):
        return fn  # unresolvable or no signature: LlamaIndex reports it as it would
    if evaluated == plain:
        return fn
    proxy: Callable[..., Any]
    if inspect.iscoroutinefunction(fn):

        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return await fn(*args, **kwargs)

        proxy = call_async
    else:

        def call(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        proxy = call
    functools.update_wrapper(proxy, fn)
    setattr(proxy, "__signature__", evaluated)  # noqa: B010  # read by inspect.signature
    return proxy


def _plan_value(tool: BaseTool, output: ToolOutput) -> Any:
    """What the plan gets from a `ToolOutput`: its raw output as data, never a host object.

    An error output becomes a `ToolError` the plan can catch. LlamaIndex objects whose meaning
    is their text (query engine responses, nodes, content blocks) become that text, which is
    also what the model would have read; a structured (pydantic) response becomes its model.
    """
    if output.is_error:
        raise ToolError(output.content or str(output.raw_output))
    raw = output.raw_output
    if isinstance(raw, PydanticResponse):
        return raw.response
    if isinstance(raw, Response | StreamingResponse | AsyncStreamingResponse | TextBlock):
        return output.content
    if isinstance(raw, BaseNode):
        return raw.get_content()
    if isinstance(raw, list) and raw and all(isinstance(r, BaseNode | TextBlock) for r in raw):
        return [r.text if isinstance(r, TextBlock) else r.get_content() for r in raw]
    if raw is None and not isinstance(tool, FunctionTool):
        return output.content or None  # a hand-built ToolOutput that only has content
    return raw


def _description(name: str, text: str) -> str:
    """`FunctionTool.from_defaults` prefixes the signature (the stub already shows it) and
    keeps the docstring's source indentation (the stub has its own)."""
    head, _, rest = text.partition("\n")
    if head.startswith(f"{name}(") and ")" in head:
        return clean_description(rest)
    return clean_description(text)


class _FnSchemaBinder:
    """Validates arguments with the tool's own `fn_schema` (LlamaIndex itself does not).

    Passes on only the arguments the plan gave, converted to the schema's types (a date string
    becomes a `date`, a dict a model), so the function's own defaults apply to the rest.
    """

    __slots__ = ("_accepted", "_schema")

    def __init__(self, schema: type[BaseModel], accepted: list[str]) -> None:
        self._schema = schema
        self._accepted = accepted

    def __call__(self, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            validated = self._schema.model_validate(arguments)
        except ValidationError as exc:
            raise ToolError(describe_validation_error(exc, self._accepted)) from None
        given = validated.model_fields_set
        values = {key: value for key, value in validated if key in given}
        extra = validated.__pydantic_extra__
        if extra:
            values.update(extra)
        return values


def _binder(schema: type[BaseModel] | None, accepted: list[str]) -> _FnSchemaBinder | None:
    """None (validate against the JSON Schema) when the tool has no pydantic `fn_schema`."""
    if schema is None:
        return None
    return _FnSchemaBinder(schema, accepted)


def _output_schema(tool: BaseTool) -> dict[str, Any] | None:
    if isinstance(tool, QueryEngineTool):
        return {"type": "string"}
    if isinstance(tool, FunctionTool):
        return output_schema_of(tool.real_fn)
    return None
