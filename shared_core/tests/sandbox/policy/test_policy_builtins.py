"""Dangerous builtins are refused at compile time with the reason the model reads."""

from __future__ import annotations

import pytest

from codemode_core.sandbox.compiler import PlanRejected, compile_plan
from codemode_core.sandbox.policy import FORBIDDEN_BUILTINS


@pytest.mark.parametrize("name", sorted(FORBIDDEN_BUILTINS))
def test_forbidden_builtin(name: str) -> None:
    result = compile_plan(f"\nf = {name}")
    assert isinstance(result, PlanRejected)
    assert result.message == f"Line 2: `{name}` is not available: {FORBIDDEN_BUILTINS[name]}."


def test_dunder_import_name_is_refused() -> None:
    result = compile_plan("__import__('os')")
    assert isinstance(result, PlanRejected)
    assert result.message == (
        'Line 1: "__import__" is an invalid variable name because it starts with "_"'
    )


def test_eval_call_is_refused() -> None:
    result = compile_plan("eval('1')")
    assert isinstance(result, PlanRejected)
    assert "Line 1: `eval` is not available: plans cannot run dynamic code." in result.message
