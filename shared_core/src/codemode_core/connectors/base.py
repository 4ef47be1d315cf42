"""The one narrow interface every connector implements: connect (list tools) and close.

Like httpx's transports: `CodeMode` knows only `connect()` and `aclose()`, and a new source of
tools (an MCP server, an OpenAPI service, ...) is one module implementing them. A connector
turns what it finds into neutral `Tool`s under one namespace; the tools' functions talk to the
service on the host side, so nothing a plan can reach ever holds a connection or a credential.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from codemode_core.tools import Tool

__all__ = ["Connector"]


@runtime_checkable
class Connector(Protocol):
    """A source of tools that needs opening: `CodeMode(tools, connectors=[...])`.

    Optionally, a connector has `namespace` and `description` attributes (set once
    connected): the search-mode index then shows the description next to the namespace.
    """

    async def connect(self) -> Sequence[Tool]:
        """Open the connection if it is not open (or reopen it after a failure); its tools.

        Cheap when already open: `CodeMode` calls it before every run, which is how a server
        that died during one plan is restarted for the next. Returns the same tuple while the
        tool listing is unchanged. Raises `codemode_core.ConnectorError` saying why it could
        not connect.
        """
        ...

    async def aclose(self) -> None:
        """Close the connection (stop the server process); `connect()` may open it again."""
        ...
