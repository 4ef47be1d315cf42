"""Every workspace package builds as a wheel and imports from a clean virtualenv.

This is what `pip install codemode-<name>` will do the day it is published: only the declared
dependencies are available, nothing from the workspace leaks in.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _packages() -> list[Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members = config["tool"]["uv"]["workspace"]["members"]
    found: list[Path] = []
    for pattern in members:
        found.extend(sorted(p for p in ROOT.glob(pattern) if (p / "pyproject.toml").exists()))
    return found


def _uv() -> list[str]:
    return [sys.executable, "-m", "uv"]


@pytest.mark.slow
def test_wheels_build_and_install_in_a_clean_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    for package in _packages():
        subprocess.run(
            [*_uv(), "build", "--wheel", "--quiet", "--out-dir", str(dist), str(package)],
            check=True,
            cwd=ROOT,
        )
    wheels = sorted(dist.glob("*.whl"))
    assert len(wheels) == len(_packages())
    for package in _packages():
        meta = tomllib.loads((package / "pyproject.toml").read_text())["project"]
        for field in ("name", "version", "description", "readme", "requires-python", "license"):
            assert meta.get(field), f"{package.name}: pyproject lacks [project].{field}"
        assert (package / meta["readme"]).exists()

    for wheel in wheels:
        venv = tmp_path / f"venv-{wheel.name.split('-')[0]}"
        subprocess.run(
            [*_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True
        )
        python = venv / "bin" / "python"
        # The other workspace wheels are offered as local files; everything else comes from
        # the registry, so only declared dependencies are installed.
        subprocess.run(
            [
                *_uv(),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(python),
                "--find-links",
                str(dist),
                str(wheel),
            ],
            check=True,
        )
        module = wheel.name.split("-")[0]
        checked = subprocess.run(
            [
                str(python),
                "-c",
                f"import {module}, importlib.resources as r; print({module}.__name__); "
                f"assert r.files('{module}').joinpath('py.typed').is_file()",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr
