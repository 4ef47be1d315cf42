"""Which Python runs plans, and whether the sandbox was verified on it.

The sandbox's safety rests on facts about one interpreter: which AST nodes exist, which
attributes builtins and stdlib objects expose, what the bytecode of a guard does. Those change
between CPython minor versions, so the policy lists the versions it was verified on
(`policy.VERIFIED_INTERPRETERS`) and the executors check the interpreter their plans run on:
outside the list they warn once, or refuse to start with `strict=True`.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

from codemode_core.errors import ConfigurationError
from codemode_core.sandbox.policy import VERIFIED_INTERPRETERS

__all__ = ["check_interpreter", "interpreter_version"]

_warned: set[tuple[str, tuple[int, int]]] = set()
"""(implementation, version) pairs already warned about in this process: warn once each."""


def interpreter_version(python: str | None = None) -> tuple[str, tuple[int, int]]:
    """The implementation name and (major, minor) of `python` (None: this interpreter)."""
    if python is None or python == sys.executable:
        return sys.implementation.name, (sys.version_info.major, sys.version_info.minor)
    probe = "import sys; print(sys.implementation.name, *sys.version_info[:2])"
    try:
        done = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, timeout=30, check=True
        )
        name, major, minor = done.stdout.split()
        return name, (int(major), int(minor))
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot run the worker interpreter {python!r} to check its version ({exc}); "
            "pass python= an executable Python 3 interpreter"
        ) from exc


def check_interpreter(executor: str, *, strict: bool, python: str | None = None) -> None:
    """Warn (once per interpreter) or, with `strict`, refuse when plans would run on an
    interpreter the sandbox was not verified on."""
    name, version = interpreter_version(python)
    if name == "cpython" and version in VERIFIED_INTERPRETERS:
        return
    verified = ", ".join(f"{major}.{minor}" for major, minor in VERIFIED_INTERPRETERS)
    found = f"{name} {version[0]}.{version[1]}"
    if strict:
        raise ConfigurationError(
            f"{executor}(strict=True): plans would run on {found}, but the codemode sandbox "
            f"is verified on CPython {verified} only. Run on one of those, or pass "
            "strict=False to run with a warning."
        )
    if (name, version) in _warned:
        return
    _warned.add((name, version))
    warnings.warn(
        f"codemode: plans run on {found}, which the sandbox was not verified on (verified: "
        f"CPython {verified}). New syntax or builtins of this version have not been reviewed; "
        f"pass {executor}(strict=True) to refuse to run instead.",
        RuntimeWarning,
        stacklevel=3,
    )
