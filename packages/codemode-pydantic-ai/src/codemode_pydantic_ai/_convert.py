"""pydantic-ai tool definitions → neutral `Tool`s, and the code tool's own definition.

The neutral tools only describe (name, description, parameter and return schemas) and route:
their function hands each call back to pydantic-ai (see `_dispatch.py`), which validates the
arguments with the tool's own validator and runs it with the agent's run context. So a plan's
call behaves like a call the model made directly. A tool with pydantic-ai's own
`requires_approval=True` needs codemode's approval (it asks, or pauses the plan).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_ai.tools import ToolDefinition
from pydantic_core import SchemaValidator, core_schema

from codemode_core import Tool
from codemode_pydantic_ai._dispatch import call_wrapped_tool

__all__ = ["CODE_ARGS_VALIDATOR", "code_tool_definition", "fingerprint", "to_codemode_tool"]

CODE_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {
            "type": "string",
            "description": "The plan: the body of an async Python function.",
        }
    },
    "required": ["code"],
    "additionalProperties": False,
}

CODE_ARGS_VALIDATOR = SchemaValidator(
    core_schema.typed_dict_schema(
        {"code": core_schema.typed_dict_field(core_schema.str_schema())},
        extra_behavior="forbid",
    )
)
"""Validates the code tool's arguments, as pydantic-ai validates any tool's."""


def code_tool_definition(name: str, description: str) -> ToolDefinition:
    """The one tool the model sees: its description carries the instructions and the stubs."""
    return ToolDefinition(
        name=name, description=description, parameters_json_schema=CODE_PARAMETERS
    )


def to_codemode_tool(tool_def: ToolDefinition) -> Tool:
    """A pydantic-ai tool definition as a neutral tool whose calls go back through pydantic-ai."""
    name = tool_def.name

    async def call(**arguments: Any) -> Any:
        return await call_wrapped_tool(name, arguments)

    return Tool(
        name,
        tool_def.description or "",
        tool_def.parameters_json_schema,
        call,
        tool_def.return_schema or None,  # `{}` means "unknown": the stub then says `Any`
        binder=_pass_through,
        metadata={"tool_def": tool_def},
        requires_approval=tool_def.kind == "unapproved",  # pydantic-ai's `requires_approval`
    )


def _pass_through(arguments: dict[str, Any]) -> dict[str, Any]:
    """pydantic-ai validates with the tool's own validator (and reports its own errors)."""
    return arguments


def fingerprint(tool_defs: Mapping[str, ToolDefinition]) -> tuple[Any, ...]:
    """What the stubs depend on: equal fingerprints mean the same description and catalog."""
    return tuple(
        (
            name,
            tool_def.description,
            repr(tool_def.parameters_json_schema),
            repr(tool_def.return_schema),
            tool_def.kind,
        )
        for name, tool_def in tool_defs.items()
    )
