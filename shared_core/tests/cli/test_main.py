"""The `codemode` entry point: what it says when the `cli` extra is missing, and `--version`."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from typing import Any

import pytest

import codemode_core
from codemode_core import cli


def test_every_missing_package_is_named_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name in ("click", "yaml", "uvicorn") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "codemode: the command line needs the `cli` extra (missing: click, pyyaml, uvicorn): "
        "pip install 'codemode-core[cli]'\n"
    )


def test_version() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "codemode_core.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"codemode, version {codemode_core.__version__}\n"
