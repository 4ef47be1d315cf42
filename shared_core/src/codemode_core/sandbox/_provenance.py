"""Which tool a failing value came from, so a runtime error can show what the tool returned.

A model that writes `rows["items"]` against a tool that returned a list gets
`TypeError: list indices must be integers or slices, not str`, and either retries blind or
spends a plan on `print`. The error should say what the tool actually returned.

Cheap by design, because it runs on every tool call: a call's result goes into a short ring
(`RECENT_RESULTS` entries: the value, the tool and the line), nothing else. Only when a plan
fails with a `KeyError`/`IndexError`/`TypeError`/`AttributeError` on some value are the recent
results searched, by identity, for that value or a container nested in them. The ring keeps
those few results alive a little longer; it is dropped with the execution.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from codemode_core._shape import preview
from codemode_core.sandbox._sizes import text_size

__all__ = ["RECENT_RESULTS", "SUBJECT_ATTRIBUTE", "describe_subject", "new_results"]

RECENT_RESULTS = 32
"""How many of the latest tool results can be named as the origin of a failing value."""

SUBJECT_ATTRIBUTE = "_cm_subject"
"""Set by the item guard on a `KeyError`/`IndexError`/`TypeError`: the value subscripted
(a private name: plans cannot read it)."""

_MAX_VISITED = 5_000
_UNTRACKED = (bool, int, float, type(None))
"""Values whose identity says nothing (small ints and `None` are shared by everyone)."""


def new_results() -> deque[tuple[Any, str, int | None]]:
    return deque(maxlen=RECENT_RESULTS)


def describe_subject(exc: BaseException, results: deque[tuple[Any, str, int | None]]) -> str:
    """`. tools.x (line 2) returned list (3 items): [...]`, or `` when nothing is known."""
    if isinstance(exc, AttributeError):
        subject = getattr(exc, "obj", None)
    else:
        subject = getattr(exc, SUBJECT_ATTRIBUTE, None)
    if isinstance(subject, _UNTRACKED):
        return ""
    found = _origin(subject, results)
    if found is None:
        if isinstance(exc, KeyError) and isinstance(subject, dict):
            keys = ", ".join(_key_text(k) for k in list(subject)[:12])
            more = " …" if len(subject) > 12 else ""
            return f" (the dict's keys: {keys or 'none'}{more})"
        return ""
    tool, line, where = found
    at = f" (line {line})" if line is not None else ""
    if not where:
        return f". {tool}{at} returned {preview(subject)}"
    return f". The value is result{where} of {tool}{at}: {preview(subject)}"


_MAX_KEY_TEXT = 80


def _key_text(key: Any) -> str:
    """`repr(key)`, measured before it is built (a plan's key can be a tuple of huge strings)."""
    if text_size(key, _MAX_KEY_TEXT) > _MAX_KEY_TEXT:
        if type(key) is str:
            return repr(key[:_MAX_KEY_TEXT]) + "…"
        return f"<a {type(key).__name__} key of more than {_MAX_KEY_TEXT} characters>"
    try:
        return repr(key)
    except Exception:  # an integer too long to write as text
        return f"<a {type(key).__name__} key>"


def _origin(
    subject: Any, results: deque[tuple[Any, str, int | None]]
) -> tuple[str, int | None, str] | None:
    """(tool, line, path like `["items"][0]`) of the newest result holding `subject`."""
    for value, tool, line in reversed(results):
        if value is subject:
            return tool, line, ""
    if not isinstance(subject, (dict, list, str)):
        return None
    for value, tool, line in reversed(results):
        path = _find(value, subject)
        if path is not None:
            return tool, line, path
    return None


def _find(root: Any, subject: Any) -> str | None:
    """The subscript path from `root` to `subject` (by identity), breadth first, bounded."""
    queue: deque[tuple[Any, str]] = deque([(root, "")])
    visited = 0
    while queue and visited < _MAX_VISITED:
        value, path = queue.popleft()
        visited += 1
        if isinstance(value, dict):
            children = value.items()
        elif isinstance(value, list):
            children = enumerate(value)  # type: ignore[assignment]
        else:
            continue
        for key, child in children:
            child_path = f"{path}[{key!r}]"
            if child is subject:
                return child_path
            if isinstance(child, (dict, list)):
                queue.append((child, child_path))
    return None
