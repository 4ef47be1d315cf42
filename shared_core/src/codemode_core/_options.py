"""Checks an adapter's options when the user builds it, naming what the user called.

Adapters take `**options` and pass them on to `CodeMode`. Left to `CodeMode`, a misspelled or
misplaced option fails as `CodeMode.__init__() got an unexpected keyword argument`, a class the
user never called, or (through a framework's own machinery) only at the first run. Every adapter
calls `check_options` in its constructor instead, so the error names the option, the class or
function the user called, and what it accepts.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from codemode_core.errors import ConfigurationError

__all__ = ["check_approval_rules", "check_options", "code_mode_options"]


def code_mode_options() -> tuple[str, ...]:
    """The keyword options `CodeMode` takes (everything but `tools`), read from its signature."""
    from codemode_core.runtime import CodeMode

    parameters = inspect.signature(CodeMode.__init__).parameters.values()
    return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


def _positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _limits(value: Any) -> bool:
    from codemode_core.limits import Limits

    return value is None or isinstance(value, Limits)


def _executor(value: Any) -> bool:
    from codemode_core.sandbox import EXECUTORS

    if value is None or value in EXECUTORS:
        return True
    return not isinstance(value, str) and callable(getattr(value, "execute", None))


def _store(value: Any) -> bool:
    from codemode_core.durable.store import Store

    return value is None or isinstance(value, Store | str | os.PathLike)


def _connectors(value: Any) -> bool:
    from codemode_core.connectors.base import Connector

    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and all(isinstance(c, Connector) for c in value)
    )


_VALUE_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "limits": (_limits, "a codemode_core.Limits"),
    "executor": (_executor, "'isolated', 'inprocess' or an Executor instance"),
    "discovery": (lambda v: v in ("full", "search", "auto"), "'full', 'search' or 'auto'"),
    "discovery_token_budget": (_positive_int, "a positive int"),
    "connectors": (_connectors, "a list of connectors (MCPConnector, OpenAPIConnector)"),
    "store": (_store, "a Store, a SQLite file path or a postgresql:// URL"),
    "approver": (lambda v: v is None or callable(v), "a callable (request) -> decision"),
    "pause_ttl": (_positive_number, "a positive number of seconds"),
    "max_executions": (_positive_int, "a positive int"),
}


def check_options(caller: str, options: Mapping[str, Any], *, own: Iterable[str] = ()) -> None:
    """Fail now if `options` (meant for `CodeMode`) has an unknown name or a wrong value.

    Args:
        caller: What the user called, as they wrote it (`"CodeModeNode"`).
        options: The options `caller` will pass to `CodeMode`.
        own: `caller`'s own parameters, listed in the message as accepted; one given among
            the `CodeMode` options (e.g. inside an `options={...}` dict) is pointed at.

    Raises:
        TypeError: an option `caller` does not take (as Python does for a bad keyword).
        ConfigurationError: a known option with a value it cannot take.
    """
    known = code_mode_options()
    own = tuple(own)
    for name in options:
        if name in known:
            continue
        if name in own:
            raise TypeError(
                f"{caller}: {name!r} is not a CodeMode option but {caller}'s own parameter: "
                f"pass it as {caller}(..., {name}=...)"
            )
        close = difflib.get_close_matches(name, (*own, *known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TypeError(
            f"{caller} got an unknown option {name!r}{hint}. It takes "
            f"{', '.join(own) + ' and ' if own else ''}the CodeMode options {', '.join(known)}."
        )
    for name, value in options.items():
        check = _VALUE_CHECKS.get(name)
        if check is not None and not check[0](value):
            raise ConfigurationError(f"{caller}: {name} must be {check[1]}, got {value!r}")


def check_approval_rules(caller: str, rules: Mapping[str, Any] | None) -> None:
    """Fail now if `require_approval` is not `{tool name: True | False | predicate}`."""
    if rules is None:
        return
    if not isinstance(rules, Mapping):
        raise ConfigurationError(
            f"{caller}: require_approval must map tool names to True, False or a predicate "
            f"(arguments) -> bool, got {rules!r}"
        )
    for name, rule in rules.items():
        if not isinstance(name, str) or not (isinstance(rule, bool) or callable(rule)):
            raise ConfigurationError(
                f"{caller}: require_approval[{name!r}] must be True, False or a predicate "
                f"(arguments) -> bool, got {rule!r}"
            )
