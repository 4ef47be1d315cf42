"""Does a literal written in a plan fit a parameter's JSON Schema? (for the pre-flight check)

Only literals are judged (`"two"`, `-3`, `[...]`, `{...}`, f-strings); anything computed is
left to run-time validation. The judgement errs towards "fits": the pre-flight check must never
refuse a plan that would run. So a schema this module does not understand fits everything, and
with `lax=True` (tools validated by pydantic, which converts `"5"` to `5`) whatever pydantic's lax
mode converts fits too.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["NOT_LITERAL", "ArgLiteral", "literal_of", "literal_value", "misfit"]

_MISSING: Any = object()
_MAX_REF_DEPTH = 16
_MAX_ENUM_SHOWN = 20
_LAX_BOOL_STRINGS = frozenset(
    {"0", "1", "f", "t", "n", "y", "no", "yes", "off", "on", "false", "true"}
)


@dataclass(frozen=True, slots=True)
class ArgLiteral:
    """A literal argument: its JSON kind and, for constants, its value."""

    kind: str
    """`string`, `integer`, `number`, `boolean`, `null`, `array` or `object`."""
    value: Any = _MISSING
    """The constant itself (strings and numbers); missing for displays and f-strings."""

    def describe(self) -> str:
        if self.value is _MISSING:
            return f"a {_KIND_WORDS[self.kind]}"
        return f"{_KIND_WORDS[self.kind]} {self.value!r}"


_KIND_WORDS = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "null": "None",
    "array": "list",
    "object": "dict",
}


def literal_of(node: ast.expr) -> ArgLiteral | None:
    """The literal `node` is, or None when it is computed (a name, a call, an operation)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = literal_of(node.operand)
        if inner is None or inner.kind not in ("integer", "number"):
            return None
        value = -inner.value if isinstance(node.op, ast.USub) else inner.value
        return ArgLiteral(inner.kind, value)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return ArgLiteral("boolean", value)
        if isinstance(value, int):
            return ArgLiteral("integer", value)
        if isinstance(value, float):
            return ArgLiteral("number", value)
        if isinstance(value, str):
            return ArgLiteral("string", value)
        if value is None:
            return ArgLiteral("null", None)
        return None
    if isinstance(node, ast.JoinedStr):
        return ArgLiteral("string")
    if isinstance(node, (ast.List, ast.ListComp, ast.Tuple)):
        return ArgLiteral("array")
    if isinstance(node, (ast.Dict, ast.DictComp)):
        return ArgLiteral("object")
    return None


NOT_LITERAL: Any = object()
"""What `literal_value` returns for anything computed."""


def literal_value(node: ast.expr) -> Any:
    """The JSON-like value `node` spells out in full (`7`, `-2.5`, `"NO"`, `[1, {"a": None}]`),
    or `NOT_LITERAL` when any part of it is computed, is an f-string, or is not JSON data
    (sets, bytes, non-string keys). Tuples become lists, as they do when a call crosses to the
    host, so the value is exactly the argument a run would send."""
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [literal_value(item) for item in node.elts]
        return NOT_LITERAL if any(i is NOT_LITERAL for i in items) else items
    if isinstance(node, ast.Dict):
        value: dict[str, Any] = {}
        for key, item in zip(node.keys, node.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return NOT_LITERAL  # `**spread` (key None) or a key JSON cannot keep
            value[key.value] = literal_value(item)
            if value[key.value] is NOT_LITERAL:
                return NOT_LITERAL
        return value
    literal = literal_of(node) if isinstance(node, (ast.Constant, ast.UnaryOp)) else None
    if literal is None or literal.value is _MISSING:
        return NOT_LITERAL
    return literal.value


def misfit(literal: ArgLiteral, schema: Any, root: Any, *, lax: bool) -> str | None:
    """Why `literal` cannot be a value of `schema` (e.g. "should be int"), or None if it fits.

    `None` always fits: models pass it for "use the default", and tools often accept it where
    their schema forgot to say so.
    """
    if literal.kind == "null":
        return None
    schema = _resolve(schema, root)
    if not _fits(literal, schema, root, lax, 0):
        return _expected(schema, root)
    return None


def _resolve(schema: Any, root: Any, depth: int = 0) -> Any:
    """Follow local `$ref`s (`#/$defs/X`, `#/definitions/X`); anything else stays as is."""
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and depth < 16:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            return {}
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, Mapping) else None
        if not isinstance(target, Mapping):
            return {}
        schema, depth = target, depth + 1
    return schema


def _fits(literal: ArgLiteral, schema: Any, root: Any, lax: bool, depth: int) -> bool:
    schema = _resolve(schema, root)
    if not isinstance(schema, Mapping) or depth > _MAX_REF_DEPTH:
        return True
    for combinator in ("anyOf", "oneOf"):
        branches = schema.get(combinator)
        if (
            isinstance(branches, list)
            and branches
            and not any(_fits(literal, b, root, lax, depth + 1) for b in branches)
        ):
            return False
    branches = schema.get("allOf")
    if isinstance(branches, list) and not all(
        _fits(literal, b, root, lax, depth + 1) for b in branches
    ):
        return False
    if literal.value is not _MISSING:
        if "const" in schema and not _same(literal.value, schema["const"], lax):
            return False
        enum = schema.get("enum")
        if isinstance(enum, list) and enum and not any(_same(literal.value, m, lax) for m in enum):
            return False
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else declared
    if not isinstance(types, list) or not types:
        return True
    return any(_kind_fits(literal, t, lax) for t in types)


def _same(value: Any, member: Any, lax: bool) -> bool:
    if isinstance(value, bool) != isinstance(member, bool):
        return lax and str(value).lower() == str(member).lower()
    if value == member:
        return True
    return lax and isinstance(value, str) and value.strip() == str(member)


def _kind_fits(literal: ArgLiteral, expected: Any, lax: bool) -> bool:
    kind, value = literal.kind, literal.value
    if expected == kind:
        return True
    if expected == "number":
        if kind == "integer":
            return True
        return lax and (kind == "boolean" or (kind == "string" and _parses(value, float)))
    if expected == "integer":
        if kind == "number":
            return value is _MISSING or float(value).is_integer()
        return lax and (kind == "boolean" or (kind == "string" and _parses(value, int)))
    if expected == "boolean" and lax:
        if kind == "integer":
            return value in (0, 1)
        return kind == "string" and (
            value is _MISSING or value.strip().lower() in _LAX_BOOL_STRINGS
        )
    return expected not in _KIND_WORDS  # a type name JSON Schema does not have: not judged


def _parses(value: Any, convert: type) -> bool:
    if value is _MISSING:
        return True  # an f-string: its text is unknown until it runs
    try:
        convert(value.strip())
    except ValueError:
        return False
    return True


def _expected(schema: Any, root: Any) -> str:
    """What the schema wants, in the stub's words: `int`, `one of 'a', 'b'`, `str or None`."""
    if not isinstance(schema, Mapping):
        return "something else"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return "one of " + _values(enum)
    if "const" in schema:
        return repr(schema["const"])
    declared = schema.get("type")
    if isinstance(declared, str):
        return _KIND_WORDS.get(declared, declared)
    if isinstance(declared, list):
        return " or ".join(_KIND_WORDS.get(str(t), str(t)) for t in declared)
    for combinator in ("anyOf", "oneOf"):
        branches = schema.get(combinator)
        if isinstance(branches, list) and branches:
            return " or ".join(_expected(_resolve(b, root), root) for b in branches)
    return "something else"


def _values(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:_MAX_ENUM_SHOWN])
    more = len(values) - _MAX_ENUM_SHOWN
    return shown + (f" (and {more} more: `codemode.describe` lists them)" if more > 0 else "")
