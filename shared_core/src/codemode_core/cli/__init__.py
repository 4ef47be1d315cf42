"""The `codemode` command: serve Code Mode over MCP, print stubs, run a plan.

Needs the `cli` extra (`pip install 'codemode-core[cli]'`): click, and the MCP and OpenAPI
connectors' libraries. Without them the command says what to install instead of failing
with an import error (`python -m codemode_core.cli` is the same command).
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Entry point of the `codemode` console script."""
    try:
        import httpx  # noqa: F401  # the OpenAPI connector
        import mcp  # noqa: F401  # the MCP connector and server
        import uvicorn  # noqa: F401  # serve --transport http
        import yaml  # noqa: F401  # YAML OpenAPI documents

        from codemode_core.cli.app import cli
    except ImportError as exc:
        sys.stderr.write(
            f"codemode: the command line needs the `cli` extra ({exc.name} is missing): "
            "pip install 'codemode-core[cli]'\n"
        )
        raise SystemExit(2) from None
    cli(prog_name="codemode")
