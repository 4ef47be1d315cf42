"""BFCL's 200 multi-turn base tasks: every turn's ground-truth calls, written as a Code Mode plan
against the shipped schemas, pass the pre-flight check and reach the tools with exactly the
ground truth's arguments.

The tools here only record what they receive (the repository ships BFCL's schemas, not its
implementations); `benchmarks/bench_bfcl_replay.py` replays the same plans against BFCL's own
implementations and compares results and state with direct calls.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from codemode_core import CodeMode, Tool

DATA = Path(__file__).resolve().parent / "data"
TASKS = json.loads((DATA / "tasks" / "bfcl_multi_turn_base.json").read_text())
SPECS = {
    s["name"]: s
    for s in json.loads((DATA / "schemas" / "bfcl_multi_turn_apis.json").read_text())["tools"]
}


def ground_truth(call: str) -> tuple[str, dict[str, Any]]:
    """`sort('report.pdf')` → ("sort", {"file_name": "report.pdf"}): positional arguments are
    named in the schema's property order (BFCL's own signature order); only literals."""
    node = ast.parse(call, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name), call
    name = node.func.id
    order = list(SPECS[name]["input_schema"].get("properties", {}))
    arguments = {order[i]: ast.literal_eval(a) for i, a in enumerate(node.args)}
    arguments |= {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
    return name, arguments


def recording_tools(classes: list[str], log: list[tuple[str, dict[str, Any]]]) -> list[Tool]:
    def recorder(name: str) -> Any:
        def record(**arguments: Any) -> dict[str, Any]:
            log.append((name, arguments))
            return {}

        return record

    names = [n for api in classes for n in TASKS["classes"][api]]
    return [
        Tool(
            n,
            SPECS[n]["description"],
            SPECS[n]["input_schema"],
            recorder(n),
            SPECS[n]["output_schema"],
        )
        for n in names
    ]


def test_every_task_keeps_its_ground_truth_calls() -> None:
    assert len(TASKS["tasks"]) == 200
    assert all(turn["calls"] for task in TASKS["tasks"] for turn in task["turns"][:1])


@pytest.mark.parametrize("chunk", range(4))
async def test_ground_truth_calls_run_as_plans_with_their_arguments(chunk: int) -> None:
    tasks = TASKS["tasks"][chunk * 50 : (chunk + 1) * 50]
    for task in tasks:
        log: list[tuple[str, dict[str, Any]]] = []
        cm = CodeMode(recording_tools(task["classes"], log), executor="inprocess")
        for number, turn in enumerate(task["turns"]):
            calls = [ground_truth(c) for c in turn["calls"]]
            plan = "\n".join(
                f"await tools.{name}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"
                for name, arguments in calls
            )
            log.clear()
            result = await cm.run(plan)
            where = f"{task['id']} turn {number}"
            assert result.ok, f"{where}: {result.to_model()}"
            assert log == calls, where
