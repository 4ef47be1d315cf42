"""`make bench` keeps working: its executor benchmark runs end to end on a tiny budget.

The numbers are not checked here (a loaded CI machine says nothing about speed); that every
contender agrees on every plan's result, and the report renders, is.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_executors  # noqa: E402


async def test_executor_benchmark_runs_and_contenders_agree() -> None:
    report = await bench_executors.run(repeat=2)
    text = bench_executors.render(report)
    for plan in bench_executors.PLANS:
        assert plan.name in text
    assert "host<->worker overhead" in text
    names = {row["name"] for row in report["concurrency"]}
    assert {"codemode in-process", "codemode isolated (warm pool)"} <= names
