"""The sandbox: plan policy, budgets, and the executor backends behind one interface."""

from __future__ import annotations

import importlib
import os
import warnings
from typing import Literal

from codemode_core.errors import ConfigurationError
from codemode_core.sandbox.executor import (
    Bridge,
    ExecutionOutcome,
    ExecutionRequest,
    Executor,
    Manifest,
)
from codemode_core.sandbox.inprocess import InProcessExecutor
from codemode_core.sandbox.isolated import IsolatedExecutor

__all__ = [
    "EXECUTORS",
    "Bridge",
    "ExecutionOutcome",
    "ExecutionRequest",
    "Executor",
    "ExecutorName",
    "InProcessExecutor",
    "IsolatedExecutor",
    "Manifest",
    "default_executor_name",
    "resolve_executor",
]

ExecutorName = Literal["inprocess", "isolated"]

EXECUTORS: dict[str, str] = {
    "inprocess": "codemode_core.sandbox.inprocess:InProcessExecutor",
    "isolated": "codemode_core.sandbox.isolated:IsolatedExecutor",
}
"""Executor names → `module:Class`. A new backend is one module and one line here."""


def default_executor_name() -> ExecutorName:
    """`"isolated"` wherever worker processes can be confined (POSIX), else `"inprocess"`.

    Isolation is the default because only a separate process can cap memory and stop C-level
    work; where it is unavailable (Windows) plans still run, in-process, with a warning.
    """
    if os.name == "posix":
        return "isolated"
    warnings.warn(
        "codemode: isolated workers need a POSIX system; plans run in-process (language policy "
        "and budgets only). Pass executor='inprocess' to silence this warning.",
        RuntimeWarning,
        stacklevel=3,
    )
    return "inprocess"


def resolve_executor(spec: str | Executor | None) -> Executor:
    """An executor instance from a name (`"inprocess"`, `"isolated"`), `None` (the platform's
    default, see `default_executor_name`), or an instance (returned as is)."""
    if spec is None:
        spec = default_executor_name()
    if not isinstance(spec, str):
        return spec
    target = EXECUTORS.get(spec)
    if target is None:
        raise ConfigurationError(
            f"unknown executor {spec!r}; choose one of {', '.join(sorted(EXECUTORS))} "
            "or pass an Executor instance"
        )
    module_name, _, class_name = target.partition(":")
    executor: Executor = getattr(importlib.import_module(module_name), class_name)()
    return executor
