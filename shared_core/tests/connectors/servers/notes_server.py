"""A FastMCP-style `MCPServer` served over streamable HTTP on loopback, started by the tests.

Usage: `python notes_server.py PORT [TOKEN]`. With a TOKEN, every request must carry
`Authorization: Bearer TOKEN` (proves the connector's headers reach the server).
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.types import ASGIApp, Receive, Scope, Send
from typing_extensions import TypedDict


class Note(TypedDict):
    id: int
    title: str
    tags: list[str]


server = MCPServer("notes", log_level="WARNING")
NOTES: dict[int, Note] = {}


@server.tool()
def add_note(title: str, tags: list[str] | None = None) -> Note:
    """Store a note and return it with its id."""
    note: Note = {"id": len(NOTES) + 1, "title": title, "tags": tags or []}
    NOTES[note["id"]] = note
    return note


@server.tool()
def find_notes(tag: str) -> list[Note]:
    """Notes carrying a tag."""
    return [n for n in NOTES.values() if tag in n["tags"]]


@server.tool()
def delete_note(note_id: int) -> str:
    """Delete a note by id."""
    if note_id not in NOTES:
        raise ToolError(f"no note {note_id}")
    del NOTES[note_id]
    return "deleted"


@server.tool()
async def add_counter(name: str, ctx: Context) -> str:
    """Register a new tool `name` that counts its calls, and tell subscribed clients."""
    calls = [0]

    def counter() -> int:
        calls[0] += 1
        return calls[0]

    server.add_tool(counter, name=name, description="Count calls.")
    await ctx.notify_tools_changed()
    return "added"


class RequireToken:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and dict(scope["headers"]).get(b"authorization") != self.expected
        ):
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"missing token"})
            return
        await self.app(scope, receive, send)


def main() -> None:
    port = int(sys.argv[1])
    app: Any = server.streamable_http_app()
    if len(sys.argv) > 2:
        app = RequireToken(app, sys.argv[2])
    # Open `subscriptions/listen` streams would hold a graceful shutdown for a long time.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()
