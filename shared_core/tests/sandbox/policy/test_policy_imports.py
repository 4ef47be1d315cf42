"""Imports: only the documented allowlist, always as curated proxies."""

from __future__ import annotations

import pytest

from codemode_core.sandbox.compiler import CompiledPlan, PlanRejected, compile_plan
from codemode_core.sandbox.policy import ALLOWED_MODULES


@pytest.mark.parametrize("module", sorted(ALLOWED_MODULES))
def test_allowed_modules_compile(module: str) -> None:
    assert isinstance(compile_plan(f"import {module}"), CompiledPlan)


@pytest.mark.parametrize(
    "code",
    [
        "import os",
        "import sys",
        "from subprocess import run",
        "import ctypes",
        "import pickle",
        "import json.decoder",
        "from . import x",
        "import importlib",
    ],
)
def test_other_imports_are_refused(code: str) -> None:
    result = compile_plan(code)
    assert isinstance(result, PlanRejected)
    assert result.kind == "policy"
    assert result.message.startswith("Line 1: ")
