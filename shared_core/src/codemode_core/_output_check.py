"""Does a tool's result contradict its declared output type? (checked on the host, per call)

Real output schemas are often wrong: an MCP server declares an object and returns a list, an
OpenAPI spec forgets a wrapper key. When the data contradicts the stub, the model should hear it
once, in plain words, and trust the data. The check is deliberately shallow (the top level, the
declared keys one level down, and the first item of a list), so it costs a few dictionary
lookups per call (plain `dict` checks: an ABC `isinstance` per node cost more than the call) and
only ever reports a clear contradiction; schemas it cannot read fit anything.
"""

from __future__ import annotations

from typing import Any

__all__ = ["contradiction"]

_MAX_DEPTH = 3
_WORDS = {
    "object": "dict",
    "array": "list",
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "null": "None",
}


def contradiction(value: Any, schema: Any) -> str | None:
    """What the declared type says that `value` contradicts (`dict with key 'items'`), or None."""
    return _check(value, schema, schema, 0)


def _resolve(schema: Any, root: Any) -> Any:
    if type(schema) is not dict or "$ref" not in schema:
        return schema  # the common case, first
    for _ in range(16):
        ref = schema.get("$ref") if type(schema) is dict else None
        if not isinstance(ref, str):
            return schema
        if not ref.startswith("#/"):
            return None
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if type(target) is dict else None
        schema = target
    return None


def _check(value: Any, schema: Any, root: Any, depth: int) -> str | None:
    schema = _resolve(schema, root)
    if type(schema) is not dict or depth > _MAX_DEPTH:
        return None
    if "anyOf" in schema or "oneOf" in schema:
        for combinator in ("anyOf", "oneOf"):
            branches = schema.get(combinator)
            if isinstance(branches, list) and branches:
                found = [_check(value, b, root, depth + 1) for b in branches]
                if all(found):
                    return " or ".join(dict.fromkeys(str(f) for f in found))
    declared = schema.get("type")
    if declared is not None:
        if type(declared) is str:
            if not _fits(value, declared):
                return _WORDS.get(declared, declared)
        elif type(declared) is list and declared and not any(_fits(value, t) for t in declared):
            return " or ".join(_WORDS.get(str(t), str(t)) for t in declared)
    kind = type(value)
    if kind is dict:
        required = schema.get("required")
        if type(required) is list:
            for key in required:
                if type(key) is str and key not in value:
                    return f"dict with key {key!r}"
        properties = schema.get("properties")
        if type(properties) is dict:
            for key, sub in properties.items():
                if key in value:
                    inner = _check(value[key], sub, root, depth + 1)
                    if inner is not None:
                        return f"dict whose {key!r} is {inner}"
    elif kind is list and value and "items" in schema:
        inner = _check(value[0], schema["items"], root, depth + 1)
        if inner is not None:
            return f"list of {inner}"
    return None


def _fits(value: Any, expected: Any) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, (list, tuple))
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "null":
        return value is None
    return True  # a type name JSON Schema does not have: not judged
