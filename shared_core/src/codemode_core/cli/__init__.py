"""The `codemode` command: serve Code Mode over MCP, print stubs, run a plan.

Needs the `cli` extra (`pip install 'codemode-core[cli]'`): click, and the MCP and OpenAPI
connectors' libraries. Without them the command says what to install instead of failing
with an import error (`python -m codemode_core.cli` is the same command).
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["main", "missing_packages"]


_NEEDS = {
    "click": "click",  # the commands
    "httpx": "httpx",  # the OpenAPI connector
    "mcp": "mcp",  # the MCP connector and server
    "uvicorn": "uvicorn",  # serve --transport http
    "yaml": "pyyaml",  # YAML OpenAPI documents
}
"""Module the command line imports → the distribution that provides it (the `cli` extra)."""


def missing_packages() -> list[str]:
    """The distributions of the `cli` extra that are not installed, all of them."""
    return sorted(
        package for module, package in _NEEDS.items() if importlib.util.find_spec(module) is None
    )


def main() -> None:
    """Entry point of the `codemode` console script."""
    missing = missing_packages()
    if missing:
        sys.stderr.write(
            f"codemode: the command line needs the `cli` extra (missing: {', '.join(missing)}): "
            "pip install 'codemode-core[cli]'\n"
        )
        raise SystemExit(2)
    from codemode_core.cli.app import cli

    cli(prog_name="codemode")
