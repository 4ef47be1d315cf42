"""Adapters use the core's stable surface only: `codemode_core` and `codemode_core.integration`.

Any other `codemode_core.*` module is the core's own business and may move; an adapter that
reaches into one (`durable.transfer`, `sandbox._plan_api`) breaks when it does. The scan reads
every module of every `packages/*/src`, imports inside functions and `TYPE_CHECKING` included.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {"codemode_core", "codemode_core.integration"}


def _core_imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "codemode_core":  # `from codemode_core import durable`
                modules += [f"codemode_core.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, m) for m in modules if m.split(".")[0] == "codemode_core"]
    return sorted(found)


def test_adapters_import_only_the_core_and_its_integration_module() -> None:
    sources = sorted(ROOT.glob("packages/*/src/**/*.py"))
    assert len(sources) > 20  # the scan found the adapters
    import codemode_core

    top_level = {f"codemode_core.{name}" for name in codemode_core.__all__}
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sources
        for line, module in _core_imports(path)
        if module not in ALLOWED and module not in top_level
    ]
    assert offending == []


def test_the_scan_sees_private_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from codemode_core import Tool, durable\n"
        "def f():\n    from codemode_core.sandbox._plan_api import x\n"
        "import codemode_core.durable.transfer as t\n"
    )
    assert _core_imports(module) == [
        (1, "codemode_core"),
        (1, "codemode_core.Tool"),
        (1, "codemode_core.durable"),
        (3, "codemode_core.sandbox._plan_api"),
        (4, "codemode_core.durable.transfer"),
    ]
