"""Class definitions are refused: metaclasses and descriptors are escape gadgets."""

from __future__ import annotations

from codemode_core.sandbox.compiler import PlanRejected, compile_plan


def test_class_is_refused() -> None:
    result = compile_plan("x = 1\nclass A:\n    pass")
    assert isinstance(result, PlanRejected)
    assert result.message == (
        "Line 2: class definitions are not available in plans; use dicts and functions."
    )
