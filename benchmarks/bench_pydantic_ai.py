"""codemode-pydantic-ai vs pydantic-ai-harness's `CodeMode` (and direct tool calling), side by
side: the same task, tools and scripted model (`pydantic_ai_task.py`).

pydantic-ai-harness pins an older pydantic-ai than the workspace, so it runs in its own
environment, `benchmarks/envs/harness` (its own pyproject and lock), through
`uv run --project`; it prints JSON that is merged into the tables here.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pydantic_ai_task as task
from pydantic_ai import Agent
from pydantic_ai.models.function import FunctionModel

from codemode_core import Limits
from codemode_pydantic_ai import CodeModeCapability

HERE = Path(__file__).resolve().parent
HARNESS_ENV = HERE / "envs" / "harness"
RUNS = 15


def _codemode(executor: str) -> Any:
    capability: CodeModeCapability[None] = CodeModeCapability(
        options={"executor": executor, "limits": Limits(timeout=2.0)}
    )

    def make_agent(model: FunctionModel) -> Agent[None, str]:
        return Agent(model, tools=task.TOOLS, capabilities=[capability])

    return make_agent


def _direct(model: FunctionModel) -> Agent[None, str]:
    return Agent(model, tools=task.TOOLS)


def _harness(runs: int) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "uv",
        "run",
        "--quiet",
        "--project",
        str(HARNESS_ENV),
        "python",
        str(HARNESS_ENV / "run_harness.py"),
        str(runs),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=HERE.parent)
    if done.returncode != 0:
        raise RuntimeError(f"the harness environment failed:\n{done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


async def run(runs: int = RUNS) -> dict[str, Any]:
    isolated, inprocess = _codemode("isolated"), _codemode("inprocess")
    plan = task.PLAN.format(t="tools.")
    return {
        "versions": {
            name: importlib.metadata.version(name)
            for name in ("codemode-pydantic-ai", "pydantic-ai-slim")
        },
        "direct": await task.measure(_direct, task.direct_model, runs=runs),
        "isolated": await task.measure(
            isolated, lambda r: task.code_mode_model(plan, r), runs=runs
        ),
        "inprocess": await task.measure(
            inprocess, lambda r: task.code_mode_model(plan, r), runs=runs
        ),
        "probes": await task.probe_all(isolated, prefix="tools."),
        "description": await task.code_tool_description(isolated),
        "harness": await asyncio.to_thread(_harness, runs),
    }


def _first_line(text: str, width: int = 96) -> str:
    """The gist of what the model read: errors unwrapped from pydantic-ai's `{"error": ...}`."""
    try:
        value = json.loads(text)
        if isinstance(value, dict) and set(value) == {"error"}:
            text = str(value["error"])
    except ValueError:
        pass
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "Traceback (most recent call last):" in lines:  # the exception is the last line
        lines = [lines[0], lines[-1]]
    gist = " / ".join(lines[:2]) if lines else "(nothing)"
    gist = gist.replace("|", "\\|").replace("`", "'")
    return gist if len(gist) <= width else gist[: width - 1] + "…"


def render(report: dict[str, Any]) -> str:
    harness = report["harness"]
    columns = [
        ("direct tool calling", report["direct"]),
        ("codemode (isolated)", report["isolated"]),
        ("codemode (in-process)", report["inprocess"]),
        ("harness CodeMode (monty)", harness["task"]),
    ]
    out = [
        "| | " + " | ".join(name for name, _ in columns) + " |",
        "| --- |" + " ---: |" * len(columns),
    ]
    rows = [
        ("model round trips", "round_trips", "{}"),
        ("context tokens (all requests)", "context_tokens", "{:,}"),
        ("code tool definition tokens", "code_tool_tokens", "{:,}"),
        ("wall time per run, median (ms)", "wall_ms_median", "{:.1f}"),
        ("wall time per run, p90 (ms)", "wall_ms_p90", "{:.1f}"),
        ("correct answer", "correct", "{}"),
    ]
    for label, key, fmt in rows:
        cells = [
            "–" if key == "code_tool_tokens" and not data[key] else fmt.format(data[key])
            for _, data in columns
        ]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    out.append(
        "Versions: workspace "
        + ", ".join(f"{k} {v}" for k, v in sorted(report["versions"].items()))
        + "; harness environment "
        + ", ".join(f"{k} {v}" for k, v in sorted(harness["versions"].items()))
        + "."
    )
    out.append("")
    out.append("| probe plan | codemode: what the model reads | harness: what the model reads |")
    out.append("| --- | --- | --- |")
    for ours, theirs in zip(report["probes"], harness["probes"], strict=True):
        out.append(
            f"| {ours['probe']} | {_first_line(ours['seen'])} ({ours['seconds']:.2f} s) "
            f"| {_first_line(theirs['seen'])} ({theirs['seconds']:.2f} s) |"
        )
    return "\n".join(out)


def stubs(report: dict[str, Any]) -> str:
    """The typed API each shows the model for the same four tools (from the descriptions)."""
    ours = report["description"].split("```python", 1)[-1].split("```", 1)[0].strip()
    theirs = report["harness"]["description"].split("```python")[-1].split("```", 1)[0].strip()
    return f"codemode:\n\n{ours}\n\nharness:\n\n{theirs}"


if __name__ == "__main__":
    result = asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS))
    print(render(result))
    if "--stubs" in sys.argv:
        print(stubs(result))
