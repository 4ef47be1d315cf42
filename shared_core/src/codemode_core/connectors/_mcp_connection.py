"""One live MCP session, owned by a task of its own (used by `MCPConnector`).

The SDK's transports hold anyio task groups, which must be exited by the task that entered
them. Plans call tools from their own tasks and `CodeMode.aclose()` may run in yet another, so
a dedicated task enters `mcp.Client`, waits for the signal to stop, and exits it; everyone else
only sends requests through the client.
"""

from __future__ import annotations

import asyncio
import tempfile
from typing import IO, Any

import mcp_types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from codemode_core.errors import ConnectorError, ToolError

__all__ = ["Connection", "reason"]

_STDERR_TAIL = 400


class Connection:
    """One live `mcp.Client`: opened, watched and closed by its own task."""

    def __init__(self, transport: Any, where: str) -> None:
        self._transport = transport
        self._where = where
        self._client: Client | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._stderr: IO[str] | None = None
        self.broken: str | None = None
        """Why this connection can no longer be used (None while it is healthy)."""
        self.tools_changed = False
        """The server sent `notifications/tools/list_changed`; the next connect lists again."""

    @property
    def client(self) -> Client:
        if self._client is None:
            raise ToolError("the MCP connection is closed")
        return self._client

    async def open(self, timeout: float) -> None:
        self._task = asyncio.create_task(self._own(), name=f"mcp connection {self._where}")
        ready = asyncio.create_task(self._ready.wait())
        await asyncio.wait({ready, self._task}, timeout=timeout, return_when="FIRST_COMPLETED")
        ready.cancel()
        if self._client is None:
            why = (
                reason(self._error)
                if self._error is not None
                else f"no answer within {timeout:g} s"
            )
            tail = self.stderr_tail()
            await self.close()
            raise ConnectorError(
                f"could not connect to MCP server {self._where}: {why}"
                + (f"; its stderr ends with: {tail}" if tail else "")
            )

    async def _own(self) -> None:
        transport = self._transport
        if isinstance(transport, StdioServerParameters):
            # Captured (not inherited) so a crash can be explained with the server's last words.
            self._stderr = tempfile.TemporaryFile(  # noqa: SIM115 - lives as long as the server
                "w+", encoding="utf-8", errors="replace"
            )
            transport = stdio_client(transport, errlog=self._stderr)
        try:
            client_cm = Client(
                transport, client_info=_CLIENT_INFO, message_handler=self._on_message
            )
            async with client_cm as client:
                self._client = client
                self._ready.set()
                watcher = asyncio.create_task(self._watch_tools(client))
                try:
                    await self._stop.wait()
                finally:
                    watcher.cancel()
                    await asyncio.gather(watcher, return_exceptions=True)
        except Exception as exc:
            self._error = exc
            self.broken = self.broken or reason(exc)
        finally:
            self._client = None
            self._ready.set()

    async def _watch_tools(self, client: Client) -> None:
        """Flag a changed tool list (`subscriptions/listen`, 2026-07-28 servers)."""
        tools = client.server_capabilities.tools
        if tools is None or not tools.list_changed:
            return
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    self.tools_changed = True
        except Exception:  # best effort: older servers send notifications instead (below)
            return

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            self.tools_changed = True

    def mark_broken(self, why: str) -> str:
        if self.broken is None:
            tail = self.stderr_tail()
            self.broken = f"{why}; its stderr ends with: {tail}" if tail else why
        return self.broken

    def stderr_tail(self) -> str:
        if self._stderr is None or self._stderr.closed:
            return ""
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            text = self._stderr.read()
        except (OSError, ValueError):
            return ""
        return " ".join(text.split())[-_STDERR_TAIL:]

    async def close(self) -> None:
        self.broken = self.broken or "it was closed"
        self._stop.set()
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), 10.0)
            except TimeoutError:
                task.cancel()
        if self._stderr is not None:
            self._stderr.close()


_CLIENT_INFO = mcp_types.Implementation(name="codemode", version="0.1.0")


def reason(exc: BaseException) -> str:
    """The innermost useful message of an exception (task groups wrap the real one)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, MCPError):
        return exc.message
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
