"""Argument validation for tools that only have a JSON Schema (MCP, OpenAPI, hand-written).

Tools built with `Tool.from_function` validate with pydantic instead (faster, and it converts
to the function's own types); this binder is the fallback for everything else.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError

from codemode_core.errors import ToolError

__all__ = ["JsonSchemaBinder"]

_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40
_MAX_REPORTED = 5


class JsonSchemaBinder:
    """Validates arguments against an input schema; a broken schema validates nothing.

    Real-world schemas are sometimes invalid JSON Schema (`"type": "dict"`); refusing every
    call to such a tool would be worse than letting the tool itself judge its arguments.
    """

    def __init__(self, schema: Mapping[str, Any], tool_name: str) -> None:
        self._tool_name = tool_name
        self._validator: Any = None
        if not isinstance(schema, Mapping) or not schema:
            return
        try:
            cls = jsonschema.validators.validator_for(
                schema, default=jsonschema.Draft202012Validator
            )
            cls.check_schema(dict(schema))
            self._validator = cls(schema)
        except (SchemaError, TypeError, ValueError, LookupError, jsonschema.exceptions.UnknownType):
            self._validator = None

    @property
    def validates(self) -> bool:
        """False when the schema is broken and arguments therefore pass unchecked."""
        return self._validator is not None

    def __call__(self, arguments: dict[str, Any]) -> dict[str, Any]:
        validator = self._validator
        if validator is None:
            return arguments
        try:
            errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.path))
        except Exception:
            return arguments
        if not errors:
            return arguments
        problems = [_describe(error) for error in errors[:_MAX_REPORTED]]
        if len(errors) > _MAX_REPORTED:
            problems.append(f"and {len(errors) - _MAX_REPORTED} more")
        raise ToolError("invalid arguments: " + "; ".join(problems), tool=self._tool_name)


def _describe(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        where = f"{path}." if path else ""
        return f"missing required argument '{where}{missing}'"
    if error.validator == "additionalProperties":
        return f"{error.message}" + (f" (in '{path}')" if path else "")
    if error.validator == "type":
        expected = error.validator_value
        return f"'{path}': expected {expected}, got {_short.repr(error.instance)}"
    if error.validator == "enum":
        options = ", ".join(repr(v) for v in list(error.validator_value))  # type: ignore[arg-type]
        return f"'{path}': must be one of {options}, got {_short.repr(error.instance)}"
    return f"'{path}': {error.message}" if path else error.message
