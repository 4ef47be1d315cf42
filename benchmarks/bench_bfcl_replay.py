"""BFCL's 200 multi-turn base tasks replayed: each turn's ground-truth calls run directly on
one set of BFCL's own tool implementations and as a Code Mode plan on another, both loaded
with the task's initial state; after every turn the results and the instances' whole state
must be equal.

This checks what the model-facing work must not break: the stubs the plan is written against,
the pre-flight check, positional/keyword mapping, and what a result looks like after it has
crossed into the plan and back. A plan calls the tools as the stubs show them: the ground
truth's arguments by keyword (its positional ones named after BFCL's own method signature).

The implementations and initial states are BFCL's (`bfcl-eval`, Apache-2.0), read from its
wheel: `BFCL_WHEEL=/path/to/bfcl_eval-2026.3.23-py3-none-any.whl`, else a copy cached under
`~/.cache/codemode-bench/`, downloaded with pip on first use. `MathAPI` needs `mpmath`;
without it, tasks that involve it are counted as skipped.
"""

from __future__ import annotations

import ast
import asyncio
import copy
import datetime
import importlib
import inspect
import json
import os
import random
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bfcl_corpus import api_tools, tasks_file

from codemode_core import CodeMode, Tool

PACKAGE = "bfcl-eval==2026.3.23"
WHEEL_NAME = "bfcl_eval-2026.3.23-py3-none-any.whl"
CACHE = Path.home() / ".cache" / "codemode-bench"
SOURCE = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
MODULES = {
    "GorillaFileSystem": "gorilla_file_system",
    "MathAPI": "math_api",
    "MessageAPI": "message_api",
    "TwitterAPI": "posting_api",
    "TicketAPI": "ticket_api",
    "TradingBot": "trading_bot",
    "TravelAPI": "travel_booking",
    "VehicleControlAPI": "vehicle_control",
}


def wheel() -> Path:
    configured = os.environ.get("BFCL_WHEEL")
    if configured:
        return Path(configured)
    cached = CACHE / WHEEL_NAME
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip"]
        if subprocess.run([*pip, "--version"], capture_output=True).returncode != 0:
            pip = ["python3", "-m", "pip"]  # a uv venv has no pip of its own
        subprocess.run(
            [*pip, "download", "--no-deps", "--quiet", "-d", str(CACHE), PACKAGE], check=True
        )
    return cached


def initial_configs(path: Path) -> dict[str, dict[str, Any]]:
    with zipfile.ZipFile(path) as archive:
        lines = archive.read("bfcl_eval/data/BFCL_v4_multi_turn_base.json").decode().splitlines()
    return {t["id"]: t["initial_config"] for t in map(json.loads, filter(None, lines))}


def api_classes(path: Path) -> dict[str, type]:
    """BFCL's classes, imported from the wheel itself (a zip on `sys.path`)."""
    if str(path) not in sys.path:
        sys.path.append(str(path))
    classes = {}
    for api, module in MODULES.items():
        try:
            classes[api] = getattr(importlib.import_module(f"{SOURCE}.{module}"), api)
        except ImportError:  # MathAPI without mpmath
            continue
    return classes


def load(cls: type, config: dict[str, Any]) -> Any:
    instance = cls()
    if hasattr(instance, "_load_scenario"):
        instance._load_scenario(copy.deepcopy(config))
    return instance


def snapshot(value: Any, seen: frozenset[int] = frozenset()) -> Any:
    """Plain data for an instance's state, at every depth (objects by their attributes)."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if id(value) in seen:
        return "<cycle>"
    seen = seen | {id(value)}
    if isinstance(value, random.Random):
        return repr(value.getstate())
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        return repr(value)
    if isinstance(value, dict):
        return {repr(k): snapshot(v, seen) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [snapshot(v, seen) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(repr(v) for v in value)
    if hasattr(value, "__dict__"):
        # BFCL's own state check: public attributes (`_last_modified` is the wall clock).
        public = {k: v for k, v in vars(value).items() if not k.startswith("_")}
        return {"type": type(value).__name__, **snapshot(public, seen)}
    return repr(value)


def plain(value: Any) -> Any:
    """A result as data crosses into a plan (tuples become lists, keys strings, a library's
    number type such as MathAPI's `mpmath.mpf` its float value)."""
    return json.loads(json.dumps(value, default=_number_or_repr))


def _number_or_repr(value: Any) -> Any:
    return float(value) if hasattr(type(value), "__float__") else repr(value)


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict[str, Any]


def parse(call: str, methods: dict[str, Any]) -> Call:
    """`sort('final_report.pdf')` → sort(file_name='final_report.pdf'), by BFCL's signature.

    The ground truth is data: only literals are accepted (`ast.literal_eval`), nothing runs.
    """
    node = ast.parse(call, mode="eval").body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"not a plain call: {call}")
    name = node.func.id
    parameters = list(inspect.signature(methods[name]).parameters)
    arguments = {parameters[i]: ast.literal_eval(a) for i, a in enumerate(node.args)}
    arguments |= {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
    return Call(name, arguments)


def plan_of(calls: list[Call]) -> str:
    lines = ["results = []"]
    for call in calls:
        arguments = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items())
        lines.append(f"results.append(await tools.{call.name}({arguments}))")
    lines.append("return results")
    return "\n".join(lines)


def bound_tools(instances: dict[str, Any], catalog: dict[str, list[Tool]]) -> list[Tool]:
    """The BFCL schemas' tools, each calling the method of this task's instance."""
    tools = []
    for api, instance in instances.items():
        for tool in catalog[api]:
            method = getattr(instance, tool.name)
            tools.append(
                Tool(
                    tool.name,
                    tool.description,
                    tool.input_schema,
                    lambda method=method, **kw: method(**kw),
                    tool.output_schema,
                )
            )
    return tools


@dataclass
class Report:
    tasks: int = 0
    skipped: int = 0
    turns: int = 0
    calls: int = 0
    state_equal_tasks: int = 0
    results_equal_turns: int = 0
    mismatches: list[str] = field(default_factory=list)


async def replay(limit: int | None = None) -> Report:
    path = wheel()
    configs = initial_configs(path)
    classes = api_classes(path)
    catalog = api_tools()
    report = Report()
    for task in tasks_file()["tasks"][:limit]:
        if any(api not in classes for api in task["classes"]):
            report.skipped += 1
            continue
        report.tasks += 1
        config = configs[task["id"]]
        direct = {api: load(classes[api], config.get(api, {})) for api in task["classes"]}
        planned = {api: load(classes[api], config.get(api, {})) for api in task["classes"]}
        methods = {
            name: getattr(instance, name)
            for instance in direct.values()
            for name in dir(instance)
            if not name.startswith("_")
        }
        cm = CodeMode(bound_tools(planned, catalog), discovery="full", executor="inprocess")
        same_state = True
        for number, turn in enumerate(task["turns"]):
            calls = [parse(c, methods) for c in turn["calls"]]
            report.turns += 1
            report.calls += len(calls)
            expected = [plain(methods[c.name](**c.arguments)) for c in calls]
            result = await cm.run(plan_of(calls))
            where = f"{task['id']} turn {number}"
            if not result.ok:
                report.mismatches.append(f"{where}: the plan failed: {result.to_model()[:200]}")
            elif result.value != expected:
                report.mismatches.append(
                    f"{where}: results differ: direct {_short(expected)}, "
                    f"plan {_short(result.value)}"
                )
            else:
                report.results_equal_turns += 1
            for api in task["classes"]:
                if snapshot(direct[api]) != snapshot(planned[api]):
                    report.mismatches.append(f"{where}: {api} state differs")
                    same_state = False
        report.state_equal_tasks += same_state
    return report


def _short(value: Any) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 80 else text[:79] + "…"


def render(report: Report) -> str:
    lines = [
        "| tasks replayed | turns | calls | turns with equal results | tasks state-equal "
        "after every turn | skipped (MathAPI without mpmath) |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {report.tasks} | {report.turns} | {report.calls} | {report.results_equal_turns} | "
        f"{report.state_equal_tasks} | {report.skipped} |",
    ]
    lines += [f"- {m}" for m in report.mismatches[:10]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(asyncio.run(replay())))
