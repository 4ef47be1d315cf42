"""How much a plan may hand a tool: each call's arguments, and all of one plan's calls together.

Arguments are the one thing a plan sends the host that the host keeps: they are validated,
passed to the tool, and held in the record (`ExecutionResult.tool_calls`) and the journal. One
honest-looking call such as `tools.x([[]] * 2_000_000)` (a few bytes of plan code) would make
the host build and keep millions of objects, so the size is measured *before* anything is
converted: in the worker before the call is sent (isolated), and on the host when the call
arrives (both executors, so a compromised worker is held to it as well).

Size is counted as the length of the arguments written as compact JSON (what the model can
reason about, and what the record holds); the walk stops as soon as it is over the limit, so
measuring costs at most about as much as the limit allows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from itertools import islice
from typing import Any

from codemode_core.errors import ToolError
from codemode_core.limits import Limits

__all__ = [
    "MAX_ARGUMENT_DEPTH",
    "PLAN_ARGUMENT_FACTOR",
    "ArgumentBudget",
    "argument_size",
    "json_size",
]

MAX_ARGUMENT_DEPTH = 64
"""Deepest nesting of lists and dicts in one call's arguments (real JSON is rarely past 20)."""

PLAN_ARGUMENT_FACTOR = 10
"""All of one plan's calls together may send this many times `Limits.max_argument_chars`."""

_FLAT = frozenset({int, float, bool, type(None)})
_CONTAINERS = (list, tuple, set, frozenset, dict, deque)


class _TooDeep(Exception):
    pass


class _Lazy(Exception):
    """An iterator (generator, `map`, ...) inside the arguments: `jsonify` would drain it."""


def argument_size(value: Any, limit: int, depth: int = 0) -> int:
    """The JSON length of `value` (an estimate for numbers), or a number above `limit` as soon
    as the walk passes it. Raises `_TooDeep` past `MAX_ARGUMENT_DEPTH` (this also ends
    cycles), `_Lazy` at an iterator (its size is unknown until drained)."""
    kind = type(value)
    if kind is str:
        return len(value) + 2
    if kind is int:
        bits: int = value.bit_length()
        return bits // 3 + 2
    if kind in _FLAT:
        return 6
    if isinstance(value, _CONTAINERS):
        if depth >= MAX_ARGUMENT_DEPTH:
            raise _TooDeep
        total = 2 + 3 * len(value)  # every element is at least 2 characters and a comma
        if total > limit:
            return total
        total -= 2 * len(value)
        depth += 1
        if isinstance(value, dict):
            for key, child in value.items():
                # A key that is not text becomes text by its real size (a tuple key is
                # written as its items joined, `(s,) * 300` as 300 copies of `s`).
                total += (
                    len(key) + 3 if type(key) is str else _key_size(key, limit - total, depth)
                ) + (
                    len(child) + 2
                    if type(child) is str
                    else argument_size(child, limit - total, depth)
                )
                if total > limit:
                    return total
        else:
            for child in value:
                total += (
                    len(child) + 2
                    if type(child) is str
                    else argument_size(child, limit - total, depth)
                )
                if total > limit:
                    return total
        return total
    if isinstance(value, (bytes, bytearray, str)):
        return len(value) + 2
    if hasattr(kind, "__next__"):
        raise _Lazy
    return 16  # anything else crosses as a short text or a small object (`jsonify`)


def _key_size(key: Any, limit: int, depth: int) -> int:
    try:
        return argument_size(key, limit, depth) + 3
    except _Lazy:  # an iterator as a key is written as a short name, never drained
        return 19


def json_size(value: Any, limit: int) -> int:
    """`argument_size`, where what cannot be measured (too deep, an iterator) is over `limit`."""
    try:
        return argument_size(value, limit)
    except (_TooDeep, _Lazy):
        return limit + 1


def _drain(value: Any, items: int, depth: int = 0) -> Any:
    """`value` with every iterator in it drained into a list of at most `items` + 1 elements
    (one more than could fit: the size walk then refuses it)."""
    if depth > MAX_ARGUMENT_DEPTH:
        raise _TooDeep
    if isinstance(value, dict):
        return {key: _drain(child, items, depth + 1) for key, child in value.items()}
    if isinstance(value, (str, bytes, bytearray)):
        return value
    if isinstance(value, _CONTAINERS) or hasattr(type(value), "__next__"):
        return [_drain(child, items, depth + 1) for child in islice(value, items + 1)]
    return value


class ArgumentBudget:
    """Admits one plan's tool calls by the size of their arguments (one per execution)."""

    __slots__ = ("_left", "_per_call")

    def __init__(self, limits: Limits) -> None:
        self._per_call = limits.max_argument_chars
        self._left = limits.max_argument_chars * PLAN_ARGUMENT_FACTOR

    def admit(
        self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> tuple[Sequence[Any], Mapping[str, Any]]:
        """The arguments to send (iterators in them drained, within the limit); raises a
        model-facing `ToolError` (the call is then neither made nor recorded) when this call's
        arguments, or the plan's calls so far, are too big."""
        limit = min(self._per_call, self._left)
        if not args:  # the common case, keywords with plain values: measured inline
            size = 2
            for key, value in kwargs.items():
                kind = type(value)
                if kind is str:
                    size += len(key) + len(value) + 6
                elif kind is int:
                    size += len(key) + value.bit_length() // 3 + 6
                elif kind in _FLAT:
                    size += len(key) + 10
                else:
                    break
            else:
                if size <= limit:
                    self._left -= size
                    return args, kwargs
        try:
            try:
                size = argument_size((args, kwargs), limit)
            except _Lazy:  # each element costs at least 2 characters ("0,")
                args, kwargs = _drain((args, kwargs), limit // 2 + 1)
                size = argument_size((args, kwargs), limit)
        except _TooDeep:
            raise ToolError(
                f"its arguments are nested deeper than {MAX_ARGUMENT_DEPTH} levels, so it was "
                "not called. Pass flatter data.",
                tool=name,
            ) from None
        if size > self._per_call:
            raise ToolError(
                f"its arguments are over {self._per_call:,} characters as JSON "
                "(Limits.max_argument_chars), so it was not called. Send less per call: "
                "filter first, or split the data into several calls.",
                tool=name,
            )
        if size > self._left:
            total = self._per_call * PLAN_ARGUMENT_FACTOR
            raise ToolError(
                f"this plan's tool calls together would send over {total:,} characters of "
                f"arguments ({PLAN_ARGUMENT_FACTOR} x Limits.max_argument_chars), so it was "
                "not called. Send less data to tools in one plan.",
                tool=name,
            )
        self._left -= size
        return args, kwargs
