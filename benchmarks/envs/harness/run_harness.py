"""The shared task on pydantic-ai-harness's `CodeMode` (pydantic-monty); prints JSON.

Run by `benchmarks/bench_pydantic_ai.py` as
`uv run --project benchmarks/envs/harness python benchmarks/envs/harness/run_harness.py RUNS`,
in this environment of its own (harness pins an older pydantic-ai than the workspace).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pydantic_ai_task as task  # noqa: E402
from pydantic_ai import Agent  # noqa: E402
from pydantic_ai.models.function import FunctionModel  # noqa: E402
from pydantic_ai_harness import CodeMode  # noqa: E402

LIMITS = {"max_duration_secs": 2.0}


def make_agent(model: FunctionModel) -> Agent[None, str]:
    return Agent(model, tools=task.TOOLS, capabilities=[CodeMode(resource_limits=LIMITS)])


async def main(runs: int) -> None:
    report = {
        "versions": {
            name: importlib.metadata.version(name)
            for name in ("pydantic-ai-harness", "pydantic-ai-slim", "pydantic-monty")
        },
        "task": await task.measure(
            make_agent, lambda r: task.code_mode_model(task.PLAN.format(t=""), r), runs=runs
        ),
        "probes": await task.probe_all(make_agent, prefix=""),
        "description": await task.code_tool_description(make_agent),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
