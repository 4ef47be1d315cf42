"""What a plan's end becomes for the host: its value or its exception, bounded and total.

A plan chooses the value it returns and the exception it raises, so it also chooses what the
host then builds from them: `str(exc)` of `ValueError([[0] * 1000] * 1000] * 100)` is 300 M
characters; `jsonify` of `[b] * 200` (one list shared 200 times) copies it 200 times; an
integer of 30,000 digits has no JSON text (`to_model()` raised on the host, and the isolated
host refused the worker's frame as a crash); a list that holds itself, or one nested 100,000
deep, has none either (reported as a codemode bug, or a crashed worker). So the value and the
exception's arguments are measured first, without building anything from them, and whatever
cannot become bounded, plain JSON is a model-facing error (`budget` or `runtime`), the same
on every executor.
"""

from __future__ import annotations

import collections
from typing import Any

from codemode_core.result import ExecutionError, truncate_text
from codemode_core.sandbox._scrub import scrub_exception
from codemode_core.sandbox._sizes import FLAT_TYPES, text_size

__all__ = [
    "MAX_EXCEPTION_TEXT",
    "MAX_RESULT_DEPTH",
    "exception_text",
    "result_problem",
    "value_text",
]

MAX_EXCEPTION_TEXT = 2_000
"""Characters of an exception's message the model is shown (the rest is cut, with a marker):
an error message is for fixing the plan, not a channel for data."""

MAX_RESULT_DEPTH = 90
"""Nesting levels a plan's result may have: what the isolated executor's frames carry
(`_wire.MAX_WORKER_FRAME_DEPTH` less the envelope), so both executors accept the same."""

MAX_RESULT_INT_BITS = 14_281
"""The largest integer (in bits) a result may hold: 2**14281 has 4,300 digits, the most
CPython writes as text (`sys.int_max_str_digits`), so any larger has no JSON text."""

_CONTAINERS = (dict, list, tuple, set, frozenset, collections.deque)


class _Refused(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def exception_text(exc: BaseException, limit: int = MAX_EXCEPTION_TEXT) -> str:
    """`"Name: message"` for `exc`, at most about `limit` characters, never raising.

    The arguments are measured before `str(exc)` builds anything; a message too long to build
    is shown by its first text argument (cut), or described by its size. Host paths are
    scrubbed first (`_scrub`).
    """
    scrub_exception(exc)
    name = type(exc).__name__
    args = exc.args if isinstance(exc.args, tuple) else ()
    try:
        if text_size(args, limit) <= limit:
            message = str(exc)
        elif len(args) >= 1 and type(args[0]) is str:
            message = args[0][: limit + 1]
        else:
            message = f"<a message of more than {limit:,} characters>"
    except Exception as failure:  # e.g. an integer too long to write as text
        message = f"<its message cannot be shown: {_short(failure)}>"
    if not message:
        return name
    return truncate_text(f"{name}: {message}", limit)


def value_text(value: Any, limit: int = MAX_EXCEPTION_TEXT) -> str:
    """`str(value)`, measured before it is built and cut at about `limit` characters, never
    raising (a plan's `ToolError([...])` holds whatever the plan gave it as its message)."""
    try:
        if type(value) is str:
            return truncate_text(value[: limit + 1], limit)
        if text_size(value, limit) > limit:
            return f"<a {type(value).__name__} of more than {limit:,} characters>"
        return truncate_text(str(value), limit)
    except Exception as failure:
        return f"<it cannot be shown: {_short(failure)}>"


def _short(failure: Exception) -> str:
    try:
        return truncate_text(str(failure), 200)
    except Exception:
        return type(failure).__name__


def result_problem(value: Any, max_chars: int) -> ExecutionError | None:
    """Why `value` cannot be a plan's result, or None: it must be plain, finite JSON (no
    container inside itself, at most `MAX_RESULT_DEPTH` levels, integers of at most 4,300
    digits) and its JSON text at most `max_chars` (`Limits.max_sequence_length`) long, counted
    with every repetition of a shared part (as it will be written)."""
    kind = type(value)
    if kind in FLAT_TYPES:
        if kind is int and value.bit_length() > MAX_RESULT_INT_BITS:
            return _error("runtime", _int_message(value))
        return None
    try:
        if _lazy(value):
            raise _Refused("runtime", _LAZY_MESSAGE)
        if _walked(value):
            _check_tree(value)
    except _Refused as refused:
        return _error(refused.kind, refused.message)
    size = text_size(value, max_chars)
    if size > max_chars:
        return _error(
            "budget",
            f"the plan's result would be more than {max_chars:,} characters as JSON "
            "(Limits.max_sequence_length; a list holding one value many times is written "
            "that many times). Return less: a summary, or the first items.",
        )
    return None


def _error(kind: str, message: str) -> ExecutionError:
    return ExecutionError(kind="budget" if kind == "budget" else "runtime", message=message)


def _int_message(value: int) -> str:
    return (
        f"the plan's result holds an integer of {value.bit_length():,} bits, more than the "
        "4,300 digits JSON text can carry. Return hex(x), or a summary of it."
    )


def _children(node: Any) -> Any:
    if isinstance(node, dict):
        return (*node.keys(), *node.values())
    return node


def _check_tree(value: Any) -> None:
    """Walk each distinct container once, without recursion: refuse a container inside itself,
    nesting past `MAX_RESULT_DEPTH`, and integers past `MAX_RESULT_INT_BITS`."""
    heights: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        if leaving:
            height = 1 + max(
                (heights.get(id(c), 0) for c in _children(node) if _walked(c)), default=0
            )
            if height > MAX_RESULT_DEPTH:
                raise _Refused(
                    "budget",
                    f"the plan's result nests more than {MAX_RESULT_DEPTH} levels deep. Return "
                    "flatter data.",
                )
            heights[key] = height
            on_path.discard(key)
            continue
        if key in heights:
            continue  # shared: already checked
        on_path.add(key)
        stack.append((node, True))
        children = _children(node)
        kinds = set(map(type, children))
        if int in kinds:
            for child in children:
                if type(child) is int and child.bit_length() > MAX_RESULT_INT_BITS:
                    raise _Refused("runtime", _int_message(child))
        if kinds <= FLAT_TYPES:
            continue
        for child in children:
            if not _walked(child):
                if _lazy(child):
                    raise _Refused("runtime", _LAZY_MESSAGE)
                continue
            if id(child) in on_path:
                raise _Refused(
                    "runtime",
                    f"the plan's result contains itself (a {type(child).__name__} inside "
                    "itself), which has no JSON form. Return plain data.",
                )
            if id(child) not in heights:
                stack.append((child, False))


def _walked(value: Any) -> bool:
    return isinstance(value, _CONTAINERS)


_LAZY_MESSAGE = (
    "the plan's result holds an iterator or a generator, which is never run to make "
    "the answer. Return list(...) of what you need."
)


def _lazy(value: Any) -> bool:
    """An iterator, generator or coroutine: turning it into JSON would run plan code on the
    host, outside the plan's guards."""
    kind = type(value)
    return (
        hasattr(kind, "__next__")
        or hasattr(kind, "__anext__")
        or (hasattr(kind, "send") and hasattr(kind, "throw"))
    )
