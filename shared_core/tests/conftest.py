"""Shared fixtures: a small realistic tool set and a CodeMode factory per executor backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from codemode_core import CodeMode, Tool
from core_support import Calls, make_tools

EXECUTORS = ["inprocess", "isolated"]
"""Every executor backend; the behaviour suite runs unchanged against each."""


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture(params=EXECUTORS)
def executor_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_cm(executor_name: str) -> AsyncIterator[Callable[..., CodeMode]]:
    """Builds CodeModes for the parametrized executor and closes them on the test's loop."""
    created: list[CodeMode] = []

    def factory(tools: list[Tool], **options: Any) -> CodeMode:
        cm = CodeMode(tools, executor=options.pop("executor", executor_name), **options)
        created.append(cm)
        return cm

    yield factory
    for cm in created:
        await cm.aclose()


@pytest.fixture
def cm(make_cm: Callable[..., CodeMode], calls: Calls) -> CodeMode:
    return make_cm(make_tools(calls))
