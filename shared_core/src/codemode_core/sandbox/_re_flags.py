"""`re` flags as plans pass them: an `int` made of the flags plans have, nothing else.

`re` keeps compiled patterns in a process-wide cache keyed by `(type, pattern, flags)` and looks
a key up before it checks the flags: `re.compile("mbx-3", 0.0)` returned the cached pattern if
any plan had compiled `"mbx-3"` before, and raised `TypeError` otherwise. One plan could set
bits (compile a pattern or not) that a later plan read back, in-process and on a reused
worker. With the flags checked first the lookup can only hit for a key the reader could have
made itself, and the answer never depends on what another plan did. (`re.DEBUG` is refused
too: it prints the parsed pattern on the host's stdout.)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

__all__ = ["with_checked_flags"]

_PLAN_FLAGS = int(re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE | re.ASCII | re.UNICODE)

_FLAGS_AT: dict[str, int] = {
    "compile": 1,
    "search": 2,
    "match": 2,
    "fullmatch": 2,
    "findall": 2,
    "finditer": 2,
    "split": 3,
    "sub": 4,
    "subn": 4,
}
"""Where each `re` function takes `flags` among its positional arguments."""


def plan_flags(flags: Any) -> int:
    if not isinstance(flags, int):
        raise TypeError(
            f"re flags must be an int such as re.IGNORECASE, not {type(flags).__name__}"
        )
    value = int(flags)
    if value & ~_PLAN_FLAGS:
        raise ValueError(
            "re flags must combine re.IGNORECASE, re.MULTILINE, re.DOTALL, re.VERBOSE, "
            f"re.ASCII and re.UNICODE (got {value})"
        )
    return value


def _checked(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    at = _FLAGS_AT[name]

    @functools.wraps(real)
    def call(*args: Any, **kwargs: Any) -> Any:
        if len(args) > at:
            args = (*args[:at], plan_flags(args[at]), *args[at + 1 :])
        elif "flags" in kwargs:
            kwargs["flags"] = plan_flags(kwargs["flags"])
        return real(*args, **kwargs)

    return call


def with_checked_flags(members: dict[str, Any]) -> dict[str, Any]:
    """The plan's `re` members, each function that takes `flags` checking them first."""
    return {
        name: _checked(name, value) if name in _FLAGS_AT else value
        for name, value in members.items()
    }
