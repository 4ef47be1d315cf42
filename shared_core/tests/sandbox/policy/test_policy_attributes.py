"""Attribute access: private, dunder and frame/code attributes are refused, with the line."""

from __future__ import annotations

import pytest

from codemode_core.sandbox.compiler import PlanRejected, compile_plan


def rejected(code: str) -> PlanRejected:
    result = compile_plan(code)
    assert isinstance(result, PlanRejected), f"accepted: {code!r}"
    return result


@pytest.mark.parametrize(
    "attr", ["__class__", "__globals__", "__subclasses__", "__mro__", "__builtins__", "_private"]
)
def test_underscore_attributes_are_refused(attr: str) -> None:
    result = rejected(f"x = 1\ny = x.{attr}")
    assert result.kind == "policy"
    assert result.line == 2
    assert result.message == (
        f'Line 2: "{attr}" is an invalid attribute name because it starts with "_".'
    )


@pytest.mark.parametrize(
    "attr",
    ["gi_frame", "cr_frame", "f_globals", "f_back", "tb_frame", "ag_frame", "gi_code", "cr_await"],
)
def test_frame_and_code_attributes_are_refused(attr: str) -> None:
    result = rejected(f"coro.{attr}")
    assert result.message == (
        f'Line 1: "{attr}" is a restricted name, that is forbidden to access in RestrictedPython.'
    )


def test_every_violation_is_reported_at_once() -> None:
    result = rejected("a = x.__class__\nimport os\nb = open('f')")
    assert result.message.splitlines() == [
        'Line 1: "__class__" is an invalid attribute name because it starts with "_".',
        "Line 2: module `os` is not available in plans. Available modules: asyncio, "
        "collections, copy, datetime, functools, itertools, json, math, random, re, "
        "statistics, string, time, typing, uuid.",
        "Line 3: `open` is not available: plans have no file system access.",
    ]
    assert result.line == 1
