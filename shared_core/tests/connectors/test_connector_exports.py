"""The connectors' public names are pinned, and the core stays light without their SDKs."""

from __future__ import annotations

import subprocess
import sys

import pytest

import codemode_core.connectors


def test_all_is_pinned_and_every_name_resolves() -> None:
    assert codemode_core.connectors.__all__ == ["Connector", "MCPConnector", "OpenAPIConnector"]
    for name in codemode_core.connectors.__all__:
        assert getattr(codemode_core.connectors, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'SoapConnector'"):
        _ = codemode_core.connectors.SoapConnector


def test_importing_the_core_imports_no_connector_sdk() -> None:
    heavy = ["mcp", "mcp_types", "httpx", "httpx2", "yaml", "anyio", "numpy"]
    code = (
        "import sys, codemode_core, codemode_core.connectors\n"
        "from codemode_core import CodeMode, Tool\n"
        "def double(x: int) -> int:\n"
        "    return 2 * x\n"
        "assert CodeMode([Tool.from_function(double)]).run_sync('return await tools.double(2)')"
        ".value == 4\n"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_connectors_satisfy_the_protocol() -> None:
    from codemode_core.connectors import Connector, MCPConnector, OpenAPIConnector

    assert isinstance(MCPConnector.http("http://127.0.0.1:1/mcp"), Connector)
    assert isinstance(OpenAPIConnector({"openapi": "3.1.0", "paths": {}}), Connector)
