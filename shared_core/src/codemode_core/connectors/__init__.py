"""Connectors: tools from MCP servers and OpenAPI services, one namespace each.

`MCPConnector` needs the `mcp` extra (`pip install 'codemode-core[mcp]'`) and
`OpenAPIConnector` the `openapi` extra; each SDK is imported only when its connector is first
used, so `import codemode_core` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codemode_core.connectors.base import Connector

if TYPE_CHECKING:
    from codemode_core.connectors.mcp import MCPConnector
    from codemode_core.connectors.openapi import OpenAPIConnector

__all__ = ["Connector", "MCPConnector", "OpenAPIConnector"]

_LAZY = {
    "MCPConnector": "codemode_core.connectors.mcp",
    "OpenAPIConnector": "codemode_core.connectors.openapi",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'codemode_core.connectors' has no attribute '{name}'")
    import importlib

    return getattr(importlib.import_module(module), name)
