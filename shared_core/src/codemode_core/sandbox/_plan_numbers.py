"""The numbers a plan hands to the host's event loop, checked before the loop sees them.

A timer whose deadline is NaN breaks the loop's timer heap for every task on it (NaN compares
false against everything, so timers pushed after it stay stuck beneath it until some unrelated
long timer fires): `asyncio.wait_for(x, float("nan"))` on the in-process executor froze the
host's and other plans' timers. Every delay and size a plan passes to `asyncio` goes through
here: a real number of seconds (`int`/`float`, not `bool`), never NaN. Infinity means "no
timeout", as in asyncio; a negative delay means "already expired", as in asyncio.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["no_limit", "plan_count", "plan_seconds"]


def plan_seconds(value: Any, what: str, *, none_ok: bool) -> float:
    """`value` as seconds for `what` (`asyncio.wait_for()'s timeout` ...), `inf` for "no
    limit" (None, when `none_ok`, or infinity), 0 for a negative delay; a model-facing error
    for anything else (NaN, a bool, a string ...)."""
    if value is None and none_ok:
        return math.inf
    kind = type(value)
    if kind is not int and kind is not float:
        allowed = "a number of seconds or None" if none_ok else "a number of seconds"
        raise TypeError(f"{what} must be {allowed}, not {_shown(value)}")
    if value != value:
        raise ValueError(f"{what} must be a number of seconds, not nan")
    if value <= 0:
        return 0.0
    try:
        return float(value)
    except OverflowError:  # an int past the float range: as good as forever
        return math.inf


def no_limit(seconds: float) -> float | None:
    """asyncio's spelling of `inf` seconds for a timeout: None (no timer at all)."""
    return None if seconds == math.inf else seconds


def plan_count(value: Any, what: str) -> int:
    """A size or counter (`Semaphore(value)`, `Queue(maxsize)`): an `int`, not a `bool`."""
    if type(value) is not int:
        raise TypeError(f"{what} must be an integer, not {_shown(value)}")
    return value


def _shown(value: Any) -> str:
    kind = type(value)
    if kind is bool:
        return f"{value} (a bool)"
    return f"a `{kind.__name__}`"
