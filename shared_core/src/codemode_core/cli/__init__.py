"""The `codemode` command: serve Code Mode over MCP, print stubs, run a plan.

Needs the `cli` extra (`pip install 'codemode-core[cli]'`): click, and the MCP and OpenAPI
connectors' libraries.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Entry point of the `codemode` console script."""
    try:
        from codemode_core.cli.app import cli
    except ImportError as exc:
        sys.stderr.write(
            f"codemode: the command line needs the `cli` extra ({exc.name} is missing): "
            "pip install 'codemode-core[cli]'\n"
        )
        raise SystemExit(2) from None
    cli()
