"""Short descriptions of plain data, for the model: what a value *is*, not what a stub says.

Two forms: `preview(value)` (`list (3 items): ['RMS', 'SBK', 'LAX']`) for error messages, and
`shape(value)` (`list[{code: str, name: str}] (3 items)`) for results that contradict their
tool's declared output type. Both are bounded, whatever the size of the value.
"""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = ["preview", "shape"]

_MAX_PREVIEW = 160
_MAX_KEYS = 8
_MAX_DEPTH = 3

_repr = reprlib.Repr()
_repr.maxlist = _repr.maxtuple = 3
_repr.maxdict = 4
_repr.maxstring = 40
_repr.maxother = 40
_repr.maxlevel = 2

_TYPE_WORDS = {
    dict: "dict",
    list: "list",
    tuple: "tuple",
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    type(None): "None",
}


def preview(value: Any) -> str:
    """`list (3 items): ['RMS', 'SBK', …]`: the type, its size, and the first few items."""
    kind = type(value)
    name = _TYPE_WORDS.get(kind, kind.__name__)
    if isinstance(value, dict):
        size = f" ({len(value)} key{'s' if len(value) != 1 else ''})"
    elif isinstance(value, (list, tuple)):
        size = f" ({len(value)} item{'s' if len(value) != 1 else ''})"
    elif isinstance(value, str) and len(value) > _repr.maxstring:
        size = f" ({len(value)} characters)"
    else:
        size = ""
    text = _repr.repr(value).replace("...", "…")
    if len(text) > _MAX_PREVIEW:
        text = text[: _MAX_PREVIEW - 1] + "…"
    return f"{name}{size}: {text}"


def shape(value: Any, depth: int = 0) -> str:
    """The structure of plain data: `{id: int, tags: list[str]}`, `list[...] (n items)` at
    the top; lists show the shape of their first item."""
    text = _shape(value, depth)
    if depth == 0 and isinstance(value, (list, tuple)):
        text += f" ({len(value)} item{'s' if len(value) != 1 else ''})"
    return text


def _shape(value: Any, depth: int) -> str:
    if isinstance(value, dict):
        if depth >= _MAX_DEPTH:
            return "dict"
        items = [f"{k}: {_shape(v, depth + 1)}" for k, v in list(value.items())[:_MAX_KEYS]]
        if len(value) > _MAX_KEYS:
            items.append(f"… {len(value) - _MAX_KEYS} more")
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (list, tuple)):
        name = _TYPE_WORDS.get(type(value), "list")
        if not value:
            return f"{name}[]"
        if depth >= _MAX_DEPTH:
            return name
        return f"{name}[{_shape(value[0], depth + 1)}]"
    return _TYPE_WORDS.get(type(value), type(value).__name__)
