"""`typing.TypedDict` for pydantic on Python 3.11.

pydantic refuses `typing.TypedDict` before Python 3.12 (it needs `__orig_bases__` and
`__required_keys__` behaviour that only `typing_extensions.TypedDict` has there), so a tool
whose return type was a `typing.TypedDict` got no output schema (the stub said `-> Any`) and
one taking it as a parameter could not be built. `pydantic_ready` rebuilds each such class,
wherever it sits in an annotation (`list[Order]`, `Order | None`, a field of another
TypedDict), as the equivalent `typing_extensions.TypedDict`: same name, docstring, fields,
required and optional keys. Everything else is returned as it is.
"""

from __future__ import annotations

import sys
import types
import typing
from typing import Annotated, Any

import typing_extensions

__all__ = ["pydantic_ready"]

_NEEDED = sys.version_info < (3, 12)


def pydantic_ready(annotation: Any) -> Any:
    """`annotation` with every `typing.TypedDict` in it made a `typing_extensions` one."""
    if not _NEEDED:
        return annotation
    return _convert(annotation, {})


def _is_typing_typeddict(value: Any) -> bool:
    return (
        isinstance(value, type)
        and typing.is_typeddict(value)
        and type(value).__module__ == "typing"  # typing_extensions' own metaclass is fine
    )


def _convert(annotation: Any, seen: dict[type, Any]) -> Any:
    if _is_typing_typeddict(annotation):
        return _rebuilt(annotation, seen)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is None or not args:
        return annotation
    converted = tuple(_convert(arg, seen) for arg in args)
    if converted == args:
        return annotation
    if origin is Annotated:
        return Annotated[(converted[0], *annotation.__metadata__)]
    if origin is typing.Union or origin is types.UnionType:
        return typing.Union[converted]  # noqa: UP007  # built from a tuple of members
    if isinstance(annotation, types.GenericAlias):  # list[X], dict[str, X], tuple[X, ...]
        return types.GenericAlias(origin, converted)
    try:
        return annotation.copy_with(converted)  # typing's own aliases (List[X], Required[X])
    except AttributeError:
        return annotation  # an alias we do not know how to rebuild: pydantic decides


def _rebuilt(cls: type, seen: dict[type, Any]) -> Any:
    if cls in seen:
        return seen[cls]
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except (NameError, TypeError):
        return cls  # unresolvable: pydantic reports it, as before
    required: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
    # Forward references to `cls` inside its own fields resolve to the rebuilt class.
    seen[cls] = typing_extensions.ForwardRef(cls.__name__)
    fields: dict[str, Any] = {}
    for name, hint in hints.items():
        # An explicit Required[...]/NotRequired[...] wins: with postponed annotations, 3.11's
        # typing computes `__required_keys__` from strings and misses them.
        wrapper = typing.get_origin(hint)
        if wrapper in (typing_extensions.Required, typing_extensions.NotRequired):
            hint = typing.get_args(hint)[0]
        elif name in required:
            wrapper = typing_extensions.Required
        else:
            wrapper = typing_extensions.NotRequired
        fields[name] = wrapper[_convert(hint, seen)]
    make: Any = typing_extensions.TypedDict  # the functional form, with a computed name
    rebuilt: Any = make(cls.__name__, fields)
    rebuilt.__doc__ = cls.__doc__
    rebuilt.__module__ = cls.__module__
    rebuilt.__qualname__ = cls.__qualname__
    seen[cls] = rebuilt
    return rebuilt
