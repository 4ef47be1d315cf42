"""Host paths out of the exceptions a plan sees.

A plan cannot open files, but the interpreter under it does: a codec or module loaded on first
use reads its source, and in a worker behind the syscall filter that read fails with
`PermissionError: [Errno 1] Operation not permitted: '/home/app/.pyenv/.../uu_codec.py'`,
which tells the plan (and the model) the host's user, interpreter and layout. Any exception
that reaches plan code (an `except` handler, or the failure the model is shown) is scrubbed
first: the interpreter's own directories in an `OSError`'s file names and in any text
argument read `<host>`.
"""

from __future__ import annotations

import contextlib
import os
import site
import sys
import sysconfig

__all__ = ["scrub_exception"]


def _host_paths() -> tuple[str, ...]:
    found: set[str] = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(name)
        if path:
            found.add(path)
    with contextlib.suppress(AttributeError):  # a virtualenv's old `site` module lacks it
        found.update(site.getsitepackages())
    found.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # codemode_core
    usable = {p.rstrip("/") for p in found if p and len(p) > 1 and os.path.isabs(p)}
    return tuple(sorted(usable, key=len, reverse=True))  # the longest (most precise) first


_HOST_PATHS = _host_paths()


def scrub_exception(exc: BaseException) -> None:
    """Remove host paths from `exc` in place (cheap: a few substring searches per text
    argument; nothing is done to an exception that holds none)."""
    if isinstance(exc, OSError):  # (None would show as "None": the names are rewritten)
        if type(exc.filename) is str:
            exc.filename = _scrub_text(exc.filename)
        if type(exc.filename2) is str:
            exc.filename2 = _scrub_text(exc.filename2)
    args = exc.args
    if not isinstance(args, tuple) or not any(type(arg) is str and _has_path(arg) for arg in args):
        return
    exc.args = tuple(_scrub_text(arg) if type(arg) is str else arg for arg in args)


def _has_path(text: str) -> bool:
    return "/" in text and any(path in text for path in _HOST_PATHS)


def _scrub_text(text: str) -> str:
    for path in _HOST_PATHS:
        text = text.replace(path, "<host>")
    return text
