"""MCP servers as tool namespaces, on the official `mcp` SDK (`mcp.Client`).

Each server becomes `tools.<namespace>` (its declared name unless you pass one): every tool it
lists (all pages) is a typed function whose input schema and, when the server declares one,
output schema become the stub. A call returns the structured content when there is any, else
the text; `isError` becomes a `ToolError` the plan can catch. A server that dies mid-plan fails
the calls in flight with a message saying so; the next run starts it again (or says why not).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from codemode_core.errors import ConfigurationError, ConnectorError, ToolError
from codemode_core.naming import to_identifier
from codemode_core.tools import Tool

try:
    import httpx2
    import mcp_types
    from mcp import Client, StdioServerParameters
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.exceptions import MCPError
except ImportError as exc:  # pragma: no cover - exercised by the packaging test
    raise ImportError(
        "MCPConnector needs the official MCP SDK: pip install 'codemode-core[mcp]'"
    ) from exc

from codemode_core.connectors._mcp_connection import Connection, reason

__all__ = ["MCPConnector"]

_MAX_PAGES = 1000


class MCPConnector:
    """One MCP server (a stdio command or a streamable-HTTP URL) as one tool namespace.

    Build it with `MCPConnector.stdio(...)` or `MCPConnector.http(...)` and pass it as
    `CodeMode(tools, connectors=[...])`; `async with CodeMode(...)` opens and closes it.
    Environment variables and headers (tokens) stay in this host-side object: plans see only
    the tools.
    """

    def __init__(
        self,
        *,
        stdio: StdioServerParameters | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        namespace: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 30.0,
    ) -> None:
        if (stdio is None) == (url is None):
            raise ConfigurationError("use MCPConnector.stdio(command, ...) or .http(url, ...)")
        self._stdio = stdio
        self._url = url
        self._headers = dict(headers or {})
        self._namespace = namespace
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._connection: Connection | None = None
        self._listing: list[mcp_types.Tool] | None = None
        self._tools: tuple[Tool, ...] = ()
        self._lock: asyncio.Lock | None = None
        self._failure: str | None = None
        """Why the last attempt to connect failed (plans see it in tool errors)."""
        self.namespace: str | None = namespace
        """The namespace the tools live under (`tools.<namespace>`); known once connected."""
        self.description: str | None = None
        """One line about the server (its title, description or instructions), if it says."""

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        namespace: str | None = None,
        cwd: str | Path | None = None,
        timeout: float = 60.0,
    ) -> MCPConnector:
        """A server started as a subprocess speaking MCP over its stdin/stdout.

        Args:
            command: The executable, e.g. `"uvx"` or `sys.executable`.
            args: Its arguments, e.g. `["mcp-server-time"]`.
            env: Extra environment variables for the server (API keys belong here, never in
                a plan); the SDK's safe defaults (`PATH`, `HOME`, ...) are inherited.
            namespace: `tools.<namespace>`; defaults to the name the server declares.
            cwd: Working directory of the server process.
            timeout: Seconds one tool call may take before it fails.
        """
        params = StdioServerParameters(
            command=command, args=list(args), env=dict(env) if env else None, cwd=cwd
        )
        return cls(stdio=params, namespace=namespace, timeout=timeout)

    @classmethod
    def http(
        cls,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        namespace: str | None = None,
        timeout: float = 60.0,
    ) -> MCPConnector:
        """A server reached over streamable HTTP.

        Args:
            url: The MCP endpoint, e.g. `"http://127.0.0.1:8000/mcp"`.
            headers: Sent with every request (e.g. `Authorization`); never shown to plans.
            namespace: `tools.<namespace>`; defaults to the name the server declares.
            timeout: Seconds one tool call may take before it fails.
        """
        return cls(url=url, headers=headers, namespace=namespace, timeout=timeout)

    def __repr__(self) -> str:
        return f"MCPConnector({self._where()})"

    def _where(self) -> str:
        """The server for developer-facing messages: command or URL, never env or headers."""
        if self._stdio is not None:
            return " ".join([Path(self._stdio.command).name, *self._stdio.args])
        parts = urlsplit(self._url or "")
        return (
            f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
        )

    # Connector interface ---------------------------------------------------------------

    async def connect(self) -> Sequence[Tool]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            connection = self._connection
            if connection is not None and connection.broken is None:
                if connection.tools_changed:  # the server said so: list again, same session
                    connection.tools_changed = False
                    self._update_tools(await self._list_tools(connection.client))
                return self._tools
            if connection is not None:
                self._connection = None
                await connection.close()
            connection = Connection(self._transport(), self._where())
            try:
                await connection.open(self._connect_timeout)
                try:
                    listing = await self._list_tools(connection.client)
                except BaseException:
                    await connection.close()
                    raise
            except ConnectorError as exc:
                self._failure = str(exc)
                raise
            self._connection = connection
            self._failure = None
            info = connection.client.server_info
            if self.namespace is None:
                self.namespace = info.name if info is not None and info.name else "mcp"
            about = [info.title, info.description] if info is not None else []
            self.description = _first_line(*about, connection.client.instructions)
            self._update_tools(listing)
            return self._tools

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    # Internals -------------------------------------------------------------------------

    def _transport(self) -> Any:
        if self._stdio is not None:
            return self._stdio
        return _http_transport(str(self._url), self._headers, self._timeout)

    async def _list_tools(self, client: Client) -> list[mcp_types.Tool]:
        tools: list[mcp_types.Tool] = []
        cursor: str | None = None
        try:
            for _ in range(_MAX_PAGES):
                page = await asyncio.wait_for(
                    client.list_tools(cursor=cursor), self._connect_timeout
                )
                tools.extend(page.tools)
                cursor = page.next_cursor
                if not cursor:
                    return tools
        except (MCPError, TimeoutError, OSError, httpx2.HTTPError) as exc:
            raise ConnectorError(
                f"MCP server {self._where()}: listing its tools failed: {reason(exc)}"
            ) from exc
        raise ConnectorError(
            f"MCP server {self._where()}: tools/list returned more than {_MAX_PAGES} pages"
        )

    def _update_tools(self, listing: list[mcp_types.Tool]) -> None:
        if listing != self._listing:  # same listing: same Tool objects, no catalog rebuild
            self._listing = listing
            self._tools = tuple(self._tool(spec) for spec in listing)

    def _tool(self, spec: mcp_types.Tool) -> Tool:
        name = spec.name

        async def call(**arguments: Any) -> Any:
            return await self._call(name, arguments)

        description = spec.description or spec.title or ""
        hints = spec.annotations
        return Tool(
            name,
            description,
            spec.input_schema,
            call,
            spec.output_schema or None,
            self.namespace,
            metadata={"mcp_tool": name},
            # The server's word that a call may run again after a crash (crash takeover), and
            # that it only reads (it may start while the plan is still streamed).
            idempotent=bool(hints and (hints.read_only_hint or hints.idempotent_hint)),
            read_only=bool(hints and hints.read_only_hint),
        )

    async def _call(self, name: str, arguments: dict[str, Any]) -> Any:
        where = f"tools.{to_identifier(self.namespace or 'mcp')}"
        connection = self._connection
        if connection is None or connection.broken is not None:
            why = connection.broken if connection is not None else self._failure
            raise ToolError(
                f"{where} is not connected ({why or 'it is closed'}); it is reconnected at the "
                "start of the next run"
            )
        try:
            result = await connection.client.call_tool(
                name, arguments, read_timeout_seconds=self._timeout
            )
        except MCPError as exc:
            if exc.code == mcp_types.CONNECTION_CLOSED:
                why = connection.mark_broken("the server closed the connection")
                raise ToolError(
                    f"{where} disconnected during `{name}` ({why}); it is reconnected at the "
                    "start of the next run"
                ) from None
            if exc.code == mcp_types.REQUEST_TIMEOUT:
                raise ToolError(f"`{name}` did not answer within {self._timeout:g} s") from None
            raise ToolError(f"`{name}` failed: {exc.message}") from None
        except (OSError, httpx2.HTTPError) as exc:
            why = connection.mark_broken(reason(exc))
            raise ToolError(
                f"{where} became unreachable during `{name}` ({why}); it is reconnected at the "
                "start of the next run"
            ) from None
        return _result(result)


def _first_line(*texts: str | None, limit: int = 100) -> str | None:
    for text in texts:
        if text and text.strip():
            line = text.strip().splitlines()[0]
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return None


@asynccontextmanager
async def _http_transport(
    url: str, headers: Mapping[str, str], timeout: float
) -> AsyncIterator[Any]:
    """Streamable HTTP with our headers; the SDK leaves a client it was given open, so the
    client is entered (and closed) here."""
    http_timeout = httpx2.Timeout(30.0, read=max(timeout, 30.0))
    async with (
        httpx2.AsyncClient(headers=dict(headers), timeout=http_timeout) as client,
        streamable_http_client(url, http_client=client) as streams,
    ):
        yield streams


def _result(result: mcp_types.CallToolResult) -> Any:
    """Structured content first; otherwise the content blocks as plain values."""
    if result.is_error:
        message = "\n".join(b.text for b in result.content if isinstance(b, mcp_types.TextContent))
        raise ToolError(message or "the tool reported an error")
    if result.structured_content is not None:
        return result.structured_content
    values = [_block(block) for block in result.content]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _block(block: Any) -> Any:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, mcp_types.ImageContent | mcp_types.AudioContent):
        return {"type": block.type, "mime_type": block.mime_type, "data": block.data}
    if isinstance(block, mcp_types.EmbeddedResource):
        resource = block.resource
        value: dict[str, Any] = {"type": "resource", "uri": str(resource.uri)}
        if isinstance(resource, mcp_types.TextResourceContents):
            value["text"] = resource.text
        else:
            value["blob"] = getattr(resource, "blob", None)
        return value
    if isinstance(block, mcp_types.ResourceLink):
        return {"type": "resource_link", "uri": str(block.uri), "name": block.name}
    return block.model_dump(mode="json", by_alias=True, exclude_none=True)
