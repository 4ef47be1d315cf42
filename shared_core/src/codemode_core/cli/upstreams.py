"""Opening the upstreams of a `codemode` command: the healthy ones, with a warning for the rest.

A client configured with several upstreams should not lose all of them because one is down at
start-up. The runtime starts with the ones that connect (`CodeMode.open(tolerate_failures=True)`)
and tries the others again at each run, exactly as it reconnects one that dies later.
"""

from __future__ import annotations

import sys

from codemode_core.errors import ConnectorError
from codemode_core.runtime import CodeMode

__all__ = ["open_upstreams"]


async def open_upstreams(code_mode: CodeMode) -> None:
    """Connect the upstreams that answer; warn on stderr about each that does not.

    Raises `ConnectorError` (the reasons joined) when no tool is left to serve.
    """
    failures = await code_mode.open(tolerate_failures=True)
    if failures and len(code_mode.catalog) == 0:
        await code_mode.aclose()
        raise ConnectorError("; ".join(failures))
    for failure in failures:
        sys.stderr.write(
            f"codemode: warning: {failure}; starting without it, and trying it again at each run\n"
        )
    sys.stderr.flush()
