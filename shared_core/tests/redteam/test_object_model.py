"""The default-deny object model against hostile plans, on every executor (issue #17, part 1).

Every plan in `object_model_plans` succeeded when plans held real objects; each must now end
as an error (the repr family: succeed or fail, but show nothing host-side), and the executor
must answer the next plan correctly.
"""

from __future__ import annotations

import collections.abc
import json
from collections.abc import Iterator

import pytest
from object_model_plans import CASES, REPR_MARKERS

from codemode_core import CodeMode, ExecutionResult, Limits, Tool, ToolError

LIMITS = Limits(timeout=2.0, max_memory_mb=400)
pytestmark = pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")


def _add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@pytest.fixture(scope="module", params=["inprocess", "isolated"])
def code_mode(request: pytest.FixtureRequest) -> Iterator[CodeMode]:
    cm = CodeMode([Tool.from_function(_add, name="add")], executor=request.param, limits=LIMITS)
    yield cm
    cm.close()


def _text(result: ExecutionResult) -> str:
    error = result.error.message if result.error else None
    return json.dumps({"value": result.value, "logs": result.logs, "error": error}, default=str)


@pytest.mark.parametrize(
    ("family", "code"), CASES, ids=[f"{family}-{i}" for i, (family, _) in enumerate(CASES)]
)
def test_hostile_plan_reaches_nothing(code_mode: CodeMode, family: str, code: str) -> None:
    result = code_mode.run_sync(code)
    text = _text(result)
    if family == "repr-leaks":
        leaked = [marker for marker in REPR_MARKERS if marker in text]
        assert not leaked, f"{leaked} in {text[:300]}"
    else:
        assert result.status == "error", f"expected a refusal, got {text[:300]}"
        assert result.error is not None and result.error.line is not None, text
        for marker in ("Future", "EventLoop", "get_loop", "0x"):
            assert marker not in str(result.value), text
    # The host's registries are untouched, and the executor still answers.
    assert not issubclass(ToolError, collections.abc.Mapping)
    assert code_mode.run_sync("return await tools.add(a=2, b=3)").value == 5
