"""`codemode serve`: one MCP server exposing Code Mode over every upstream it was given.

Tools: `run_code` (its description is the Code Mode description: instructions and stubs, or
the namespace index in discovery mode), plus `search` and `describe` in discovery mode. A plan's
progress goes out as MCP progress notifications (one per finished tool call) and its printed
lines as MCP log messages; a failed plan is an `isError` result the client's model can read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError as MCPToolError

from codemode_core.errors import ToolError
from codemode_core.events import ProgressEvent
from codemode_core.runtime import CodeMode

__all__ = ["build_server"]

_INSTRUCTIONS = (
    "Code Mode: write one short async Python plan with run_code that calls the tools in its "
    "description and returns only what you need, instead of calling tools one by one."
)


def build_server(code_mode: CodeMode, *, name: str = "codemode") -> MCPServer[Any]:
    """An `MCPServer` whose lifespan opens `code_mode` (connecting its upstreams), registers
    the Code Mode tools (their description needs the upstreams' tools), and closes it."""

    @asynccontextmanager
    async def lifespan(server: MCPServer[Any]) -> AsyncIterator[None]:
        async with code_mode:
            _register(server, code_mode)
            yield

    return MCPServer(name, instructions=_INSTRUCTIONS, lifespan=lifespan)


def _register(server: MCPServer[Any], code_mode: CodeMode) -> None:
    async def run_code(code: str, ctx: Context) -> str:
        result = await code_mode.run(code, observer=_Progress(ctx))
        if result.status == "error":
            raise MCPToolError(result.to_model())
        return result.to_model()

    async def search(query: str, limit: int = 10) -> str:
        """Find tools by what they do; returns name, summary and signature of each match."""
        return json.dumps(code_mode._search(query, limit), ensure_ascii=False)

    async def describe(name: str) -> str:
        """The typed stub of a tool (`tools.ns.name`), a namespace (`tools.ns`) or a type."""
        try:
            return code_mode.describe(name)
        except ToolError as exc:
            raise MCPToolError(exc.message) from None

    server.add_tool(run_code, name="run_code", description=code_mode.description)
    if code_mode.discovery_mode == "search":
        server.add_tool(search, name="search")
        server.add_tool(describe, name="describe")


class _Progress:
    """Maps a plan's progress events onto MCP: progress notifications and log messages."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._done = 0

    async def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "log":
            await self._ctx.info(event.text or "", logger_name="codemode.plan")
        elif event.kind == "tool_end":
            self._done += 1
            status = "failed" if event.error else "done"
            await self._ctx.report_progress(
                self._done, None, f"{event.tool} {status} (line {event.line})"
            )
