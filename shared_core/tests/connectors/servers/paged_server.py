"""A low-level MCP server over stdio, started by the connector tests.

It lists its tools in pages (so the client must follow `nextCursor`), answers with text only,
structured content, or `isError`, and can be told to die mid-call (`crash`).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

PAGE = 10
NUMBERED = [f"tool_{i:02d}" for i in range(23)]


def _listing() -> list[types.Tool]:
    tools = [
        types.Tool(
            name=name,
            description=f"Numbered filler tool {name}.",
            input_schema={"type": "object", "properties": {}},
        )
        for name in NUMBERED
    ]
    tools += [
        types.Tool(
            name="shout",
            description="Upper-case a text (answers with text content only).",
            input_schema={
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
            },
        ),
        types.Tool(
            name="measure",
            description="Length and word count of a text (structured content).",
            input_schema={
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
            },
            output_schema={
                "type": "object",
                "properties": {"chars": {"type": "integer"}, "words": {"type": "integer"}},
                "required": ["chars", "words"],
            },
        ),
        types.Tool(
            name="refuse",
            description="Always fails with isError.",
            input_schema={"type": "object", "properties": {}},
        ),
        types.Tool(
            name="crash",
            description="Exits the server process in the middle of the call.",
            input_schema={"type": "object", "properties": {}},
        ),
        types.Tool(
            name="pid",
            description="The server's process id.",
            input_schema={"type": "object", "properties": {}},
        ),
    ]
    return tools


async def list_tools(
    ctx: Any, params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    tools = _listing()
    start = int(params.cursor) if params is not None and params.cursor else 0
    end = start + PAGE
    return types.ListToolsResult(
        tools=tools[start:end], next_cursor=str(end) if end < len(tools) else None
    )


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    if params.name == "shout":
        return types.CallToolResult(content=[types.TextContent(text=args["text"].upper())])
    if params.name == "measure":
        text = args["text"]
        data = {"chars": len(text), "words": len(text.split())}
        return types.CallToolResult(
            content=[types.TextContent(text=str(data))], structured_content=data
        )
    if params.name == "refuse":
        return types.CallToolResult(
            content=[types.TextContent(text="the vault is closed on Sundays")], is_error=True
        )
    if params.name == "crash":
        sys.stderr.write("paged_server: crashing on request\n")
        sys.stderr.flush()
        os._exit(3)
    if params.name == "pid":
        return types.CallToolResult(content=[types.TextContent(text=str(os.getpid()))])
    return types.CallToolResult(content=[types.TextContent(text=params.name)])


async def main() -> None:
    server: Server[Any] = Server(
        "paged",
        instructions="Filler tools in pages, for the connector tests.\nSecond line.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
