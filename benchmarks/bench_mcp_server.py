"""Context tokens an MCP client pays for its tool list: the upstream servers' tools listed
directly, versus `codemode serve` in front of them (o200k_base, offline)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "shared_core" / "tests" / "connectors")]

from bench_tokens import count, github_document, json_definitions  # noqa: E402
from mcp import Client  # noqa: E402

from codemode_core import CodeMode  # noqa: E402
from codemode_core.cli.server import build_server  # noqa: E402
from codemode_core.connectors import OpenAPIConnector  # noqa: E402
from mcp_servers import time_server  # noqa: E402


async def _listed(code_mode: CodeMode) -> tuple[int, int, int]:
    """(upstream tools, tokens listing them directly, tokens of codemode serve's list)."""
    async with Client(build_server(code_mode)) as client:
        listed = (await client.list_tools()).tools
        direct = json_definitions([entry.tool for entry in code_mode.catalog])
        served = json.dumps(
            [
                {"name": t.name, "description": t.description, "inputSchema": t.input_schema}
                for t in listed
            ]
        )
        return len(code_mode.catalog), count(direct), count(served)


async def run() -> list[tuple[str, int, int, int]]:
    rows = []
    sets: list[tuple[str, Any]] = [
        ("mcp-server-time", lambda: [time_server()]),
        (
            "mcp-server-time + GitHub REST",
            lambda: [time_server(), OpenAPIConnector(github_document(), namespace="github")],
        ),
    ]
    for label, connectors in sets:
        code_mode = CodeMode(connectors=connectors(), executor="inprocess")
        tools, direct, served = await _listed(code_mode)
        rows.append((label, tools, direct, served))
    return rows


def render(rows: list[tuple[str, int, int, int]]) -> str:
    lines = [
        f"{'upstreams':34}{'tools':>7}{'listed directly':>17}{'codemode serve':>16}{'ratio':>8}"
    ]
    for label, tools, direct, served in rows:
        lines.append(f"{label:34}{tools:>7}{direct:>17,}{served:>16,}{direct / served:>7.1f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(asyncio.run(run())))
