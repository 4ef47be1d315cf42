"""Syntax newer than the plan language (3.11's `except*`, 3.12's type parameters and `type`
aliases) is refused with a message that tells the model what to write instead."""

from __future__ import annotations

import sys

import pytest

from codemode_core.sandbox.compiler import PlanRejected, compile_plan

needs_312 = pytest.mark.skipif(
    sys.version_info < (3, 12), reason="3.12 syntax: this interpreter cannot parse it"
)


def _message(source: str) -> str:
    result = compile_plan(source)
    assert isinstance(result, PlanRejected)
    return result.message


def test_except_star_is_refused() -> None:
    plan = "x = 1\ntry:\n    x = 2\nexcept* ValueError:\n    pass\nreturn x"
    assert _message(plan) == "Line 2: `except*` is not available in plans; use a plain `except`."


@needs_312
def test_type_alias_is_refused() -> None:
    assert _message("type Pair = tuple[int, int]\nreturn 1") == (
        "Line 1: `type` alias statements are not available in plans; leave type hints out."
    )


@needs_312
@pytest.mark.parametrize(
    ("plan", "line"),
    [
        ("def first[T](items: list[T]) -> T:\n    return items[0]\nreturn first([1])", 1),
        ("x = 1\nasync def one[T](v: T) -> T:\n    return v\nreturn await one(x)", 2),
        ("def spread[*Ts](*a):\n    return a\nreturn spread(1)", 1),
        ("def call[**P](f):\n    return f\nreturn 1", 1),
    ],
)
def test_type_parameters_are_refused(plan: str, line: int) -> None:
    assert _message(plan) == (
        f"Line {line}: type parameters (`def f[T](...)`) are not available in plans; "
        "drop the `[...]`."
    )


@needs_312
def test_generic_class_is_refused_as_a_class() -> None:
    assert _message("class Box[T]:\n    pass") == (
        "Line 1: class definitions are not available in plans; use dicts and functions."
    )
