"""Make any host value plain JSON-like data before it crosses into a plan (or out of one).

Crossing the boundary as plain data is a security property, not a convenience: a plan must
never hold a host object (a function, a class, a model instance with methods), so everything a
tool returns is rebuilt as fresh dicts, lists, strings and numbers. It also means a plan can
mutate what it got without touching the host's data.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic_core import to_jsonable_python

__all__ = ["jsonify"]

_SCALARS = frozenset({str, int, float, bool, type(None)})


def _fallback(value: Any) -> float | str:
    """A number of a library's own type (`mpmath.mpf`, numpy scalars) as its float value, so
    a plan can compute with it; anything else as its type name only."""
    kind = type(value)
    if not isinstance(value, type) and hasattr(kind, "__float__"):
        try:
            number = float(value)
        except Exception:  # a __float__ that fails: no number to show
            number = math.nan
        if math.isfinite(number):
            return number
    return f"<{kind.__name__} object>"


def jsonify(value: Any) -> Any:
    """A deep, plain copy of `value`: pydantic models, dataclasses, datetimes (ISO text), sets
    and tuples (lists), bytes (text, base64 when not UTF-8), enums (their value) are converted;
    anything else becomes a short `<TypeName object>` string instead of leaking the object.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        for key, item in value.items():
            if type(item) not in _SCALARS or type(key) is not str:
                break
        else:
            return dict(value)  # the common flat case, without a serializer pass
    try:
        return to_jsonable_python(value, fallback=_fallback, bytes_mode="utf8")
    except UnicodeDecodeError:
        return to_jsonable_python(value, fallback=_fallback, bytes_mode="base64")
