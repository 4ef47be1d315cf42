"""`make demo` runs offline, agrees with itself, and shows Code Mode's advantage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_numbers() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from demo.__main__ import main
    finally:
        sys.path.remove(str(ROOT))
    report = main()
    assert report["code_mode"]["round_trips"] == 2
    assert report["direct"]["round_trips"] >= 4
    assert report["code_mode"]["context_tokens"] * 5 < report["direct"]["context_tokens"]
    assert report["code_mode"]["tool_calls"] == report["direct"]["tool_calls"] >= 5
    assert report["seconds"] < 30
    assert report["durable"]["paused"] == "paused" and report["durable"]["resumed"] == "ok"
    assert set(report["durable"]["calls"].values()) == {1}  # nothing ran twice


def test_demo_runs_as_make_demo_does() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Cost for the model" in completed.stdout
    assert "resume without repeating anything" in completed.stdout
