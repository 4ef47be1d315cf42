"""A smoke run of `make soak`: every scenario with tiny numbers, so the harness itself cannot
rot between soak runs (the figures in docs/reliability.md come from the full run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMOKED = [
    "load-sqlite",
    "load-postgres",
    "store-contention-sqlite",
    "host-crashes-sqlite",
    "worker-crashes",
    "soak-inprocess",
    "soak-isolated",
]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_every_soak_scenario_passes_a_quick_run() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "soak", "--quick", "--only", *SMOKED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{len(SMOKED)} passed, 0 failed" in done.stdout
    assert "conversations/s" in done.stdout and "workers killed" in done.stdout
    assert "taken over and finished" in done.stdout
