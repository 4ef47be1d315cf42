"""The adapters' shared `tools=` selector, and the plan call a tool function runs for."""

from __future__ import annotations

import pytest

from codemode_core import CodeMode, ConfigurationError, Tool
from codemode_core.integration import (
    PlanCall,
    check_tool_choice,
    chooses,
    current_plan_call,
)


def test_a_selector_is_all_names_or_a_predicate() -> None:
    assert check_tool_choice("X", "all") == "all"
    names = check_tool_choice("X", ["a", "b"])
    assert names == ("a", "b")
    assert chooses(names, "a", object()) and not chooses(names, "c", object())
    assert chooses("all", "anything", object())
    picked = check_tool_choice("X", lambda tool: tool == "native-a")
    assert chooses(picked, "a", "native-a") and not chooses(picked, "a", "native-b")


@pytest.mark.parametrize("bad", ["search", [1, 2], 3, None])
def test_anything_else_is_refused_naming_the_caller(bad: object) -> None:
    with pytest.raises(ConfigurationError, match=r"CodeModeNode\(tools=\.\.\.\) must be"):
        check_tool_choice("CodeModeNode", bad)


def test_a_tool_function_sees_the_plan_call_it_runs_for() -> None:
    seen: list[PlanCall | None] = []

    def lookup(key: str) -> str:
        """Look a key up."""
        seen.append(current_plan_call())
        return key.upper()

    code_mode = CodeMode([Tool.from_function(lookup)], executor="inprocess")
    result = code_mode.run_sync('a = await tools.lookup(key="x")\nreturn await tools.lookup(key=a)')
    assert result.ok, result.error
    assert [(c.tool, c.line) for c in seen if c] == [("tools.lookup", 1), ("tools.lookup", 2)]
    assert {c.execution_id for c in seen if c} == {result.execution_id}
    assert current_plan_call() is None
