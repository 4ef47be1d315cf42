"""The core's extras declare what the connectors and the command line need: installed from the
built wheel into a clean virtualenv, `codemode-core[mcp,openapi]` imports both connectors,
`codemode-core[cli]` gives a working `codemode` command, and plain `codemode-core` explains
which extra is missing."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _uv(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "uv", *args], check=True, cwd=ROOT)


def _python(venv: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """codemode-core built once for this module's tests."""
    dist = tmp_path_factory.mktemp("dist")
    _uv("build", "--wheel", "--quiet", "--out-dir", str(dist), str(ROOT / "shared_core"))
    return next(dist.glob("codemode_core-*.whl"))


def _venv(path: Path, requirement: str) -> Path:
    """A fresh virtualenv with `requirement` installed; its bin folder."""
    _uv("venv", "--quiet", "--python", sys.executable, str(path))
    _uv("pip", "install", "--quiet", "--python", str(path / "bin" / "python"), requirement)
    return path / "bin"


def _command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=False, timeout=60)


@pytest.mark.slow
def test_connector_extras_install_what_the_connectors_import(wheel: Path, tmp_path: Path) -> None:
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


@pytest.mark.slow
def test_the_cli_extra_gives_a_working_codemode_command(wheel: Path, tmp_path: Path) -> None:
    plain = _venv(tmp_path / "plain", str(wheel))
    for bare in (
        _command(str(plain / "codemode"), "--help"),
        _command(str(plain / "python"), "-m", "codemode_core.cli", "serve", "--help"),
    ):
        assert bare.returncode == 2
        assert bare.stdout == ""
        assert bare.stderr.startswith(
            "codemode: the command line needs the `cli` extra "
            "(missing: click, httpx, mcp, pyyaml, uvicorn)"
        )
        assert bare.stderr.rstrip().endswith("pip install 'codemode-core[cli]'")

    spec = tmp_path / "mini.json"
    spec.write_text(
        '{"openapi": "3.1.0", "info": {"title": "Mini", "version": "1"}, '
        '"servers": [{"url": "http://127.0.0.1:9/api"}], "paths": {"/ping": '
        '{"get": {"operationId": "ping", "responses": {"204": {"description": "pong"}}}}}}'
    )
    full = _venv(tmp_path / "cli", f"codemode-core[cli] @ {wheel.as_uri()}")
    version = _command(str(full / "codemode"), "--version")
    assert version.stdout.startswith("codemode, version "), version.stderr
    helped = _command(str(full / "codemode"), "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("Usage: codemode [OPTIONS] COMMAND")
    stubs = _command(
        str(full / "python"), "-m", "codemode_core.cli", "stubs", "--openapi", str(spec)
    )
    assert stubs.returncode == 0, stubs.stderr
    assert "async def ping() -> None:" in stubs.stdout
    served = _command(str(full / "python"), "-c", "import codemode_core.cli.server")
    assert served.returncode == 0, served.stderr  # the MCP server side (mcp, uvicorn) too


@pytest.mark.slow
def test_the_sdist_leaves_the_test_corpora_out(tmp_path: Path) -> None:
    _uv("build", "--sdist", "--quiet", "--out-dir", str(tmp_path), str(ROOT / "shared_core"))
    (sdist,) = tmp_path.glob("codemode_core-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert any(name.endswith("src/codemode_core/runtime.py") for name in names)
    assert not [name for name in names if "/tests/data/" in name]
    assert sdist.stat().st_size < 500_000
