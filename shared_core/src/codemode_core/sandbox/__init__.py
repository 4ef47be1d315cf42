"""The sandbox: plan policy, budgets, and the executor backends behind one interface."""

from __future__ import annotations

import importlib
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
    "resolve_executor",
]

ExecutorName = Literal["inprocess", "isolated"]

EXECUTORS: dict[str, str] = {
    "inprocess": "codemode_core.sandbox.inprocess:InProcessExecutor",
    "isolated": "codemode_core.sandbox.isolated:IsolatedExecutor",
}
"""Executor names → `module:Class`. A new backend is one module and one line here."""


def resolve_executor(spec: str | Executor) -> Executor:
    """An executor instance from a name (`"inprocess"`) or an instance (returned as is)."""
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
