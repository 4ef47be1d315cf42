"""The core's extras declare what the connectors need: installed from the built wheel into a
clean virtualenv, `codemode-core[mcp,openapi]` imports both connectors, and plain
`codemode-core` explains which extra is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _uv(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "uv", *args], check=True, cwd=ROOT)


def _python(venv: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_connector_extras_install_what_the_connectors_import(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _uv("build", "--wheel", "--quiet", "--out-dir", str(dist), str(ROOT / "shared_core"))
    wheel = next(dist.glob("codemode_core-*.whl"))

    plain = tmp_path / "plain"
    _uv("venv", "--quiet", "--python", sys.executable, str(plain))
    _uv("pip", "install", "--quiet", "--python", str(plain / "bin" / "python"), str(wheel))
    missing = _python(plain, "from codemode_core.connectors import OpenAPIConnector")
    assert "pip install 'codemode-core[openapi]'" in missing.stderr
    missing = _python(plain, "from codemode_core.connectors import MCPConnector")
    assert "pip install 'codemode-core[mcp]'" in missing.stderr

    full = tmp_path / "full"
    _uv("venv", "--quiet", "--python", sys.executable, str(full))
    python = str(full / "bin" / "python")
    _uv(
        "pip",
        "install",
        "--quiet",
        "--python",
        python,
        f"codemode-core[mcp,openapi] @ {wheel.as_uri()}",
    )
    checked = _python(
        full,
        "from codemode_core.connectors import MCPConnector, OpenAPIConnector\n"
        "OpenAPIConnector({'openapi': '3.1.0', 'paths': {}})\n"
        "MCPConnector.http('http://127.0.0.1:1/mcp')\n"
        "import yaml",
    )
    assert checked.returncode == 0, checked.stderr
