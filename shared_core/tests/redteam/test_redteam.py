"""The red-team suite: every hostile plan, against every executor, must fail safely.

For each case: the planted secret is never read, no file appears, the planted host sentinel
is untouched, nothing host-side leaks into the result, the plan ends within its limit, and the
host answers the next plan correctly.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codemode_core import CodeMode, ExecutionResult, Limits, Tool
from codemode_core.sandbox import IsolatedExecutor
from hostile_plans import CASES, EXPECTED_KIND

SECRET_VALUE = "TOPSECRET-7f3a9c"
PWNED_MARKER = Path("/tmp/codemode-pwned")
SENTINEL: dict[str, Any] = {"touched": False, "items": [1, 2, 3]}
LIMITS = Limits(timeout=1.5, max_operations=200_000, max_memory_mb=400, max_tool_calls=100)
IN_PROCESS_CANNOT_INTERRUPT = {"import re\nre.match('(a+)+$', 'a' * 64 + 'b')"}
"""C-level work the in-process executor cannot preempt (documented in docs/security.md)."""


class _Leaky:
    def method(self) -> dict[str, Any]:
        SENTINEL["touched"] = True
        return SENTINEL


def _tools() -> list[Tool]:
    async def never() -> None:
        await asyncio.Event().wait()

    def add(a: int, b: int) -> int:
        return a + b

    def schema(**properties: Any) -> dict[str, Any]:
        return {"type": "object", "properties": properties}

    return [
        Tool("add", "Add.", schema(a={"type": "integer"}, b={"type": "integer"}), add),
        Tool("never", "Never returns.", schema(), never),
        Tool("leak_function", "Returns a host function.", schema(), lambda: _Leaky().method),
        Tool("leak_class", "Returns a host class.", schema(), lambda: _Leaky),
        Tool("leak_module", "Returns a module.", schema(), lambda: os),
        Tool("leak_object", "Returns an object with methods.", schema(), lambda: _Leaky()),
        Tool("shared_data", "Returns host data.", schema(), lambda: SENTINEL),
        Tool(
            "leak_exception",
            "Returns an exception.",
            schema(),
            lambda: ValueError(types.SimpleNamespace(secret=SENTINEL)),
        ),
    ]


@pytest.fixture(scope="module", params=["inprocess", "isolated"])
def code_mode(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CodeMode]:
    secret = tmp_path_factory.mktemp("secret") / "secret.txt"
    secret.write_text(SECRET_VALUE)
    cm = CodeMode(_tools(), executor=request.param, limits=LIMITS)
    yield cm
    cm.close()


def _text(result: ExecutionResult) -> str:
    return json.dumps(
        {
            "value": result.value,
            "logs": result.logs,
            "error": result.error.message if result.error else None,
        },
        default=str,
    )


@pytest.mark.parametrize(
    ("category", "code"), CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)]
)
def test_hostile_plan_fails_safely(code_mode: CodeMode, category: str, code: str) -> None:
    if code in IN_PROCESS_CANNOT_INTERRUPT and not isinstance(
        code_mode._executor, IsolatedExecutor
    ):
        pytest.skip("the in-process executor cannot interrupt C-level work; use isolated")
    PWNED_MARKER.unlink(missing_ok=True)
    SENTINEL["touched"] = False
    started = time.perf_counter()
    result = code_mode.run_sync(code)
    elapsed = time.perf_counter() - started

    text = _text(result)
    assert SECRET_VALUE not in text
    assert not PWNED_MARKER.exists(), "the plan wrote a file"
    assert SENTINEL == {"touched": False, "items": [1, 2, 3]}, "the plan reached host data"
    assert "object at 0x" not in text, f"a host object leaked: {text[:300]}"
    assert elapsed < LIMITS.timeout + 3.0, f"the plan ran {elapsed:.1f}s"
    if category not in ("tool-objects", "contained"):
        assert result.status == "error", f"expected a refusal, got {text[:300]}"
        assert result.error is not None and result.error.message
    if category in EXPECTED_KIND:
        assert result.error is not None and result.error.kind == EXPECTED_KIND[category], text
        assert result.value is None
    follow_up = code_mode.run_sync("return await tools.add(a=2, b=3)")
    assert follow_up.value == 5, follow_up.error
