"""`codemode serve`: one MCP server exposing Code Mode over every upstream it was given.

Tools: `run_code` (its description is the Code Mode description: instructions and stubs, or
the namespace index in discovery mode), plus `search` and `describe` in discovery mode. A plan's
progress goes out as MCP progress notifications (one per finished tool call) and its printed
lines as MCP log messages; a failed plan is an `isError` result the client's model can read.

When an upstream's tool list changes (the connectors list again at the start of a run), the
exposed tools are brought up to date after that run, and the client is told with
`notifications/tools/list_changed`, but only if what it lists did change.

`serve_until_stopped` opens a `CodeMode`, serves it until the client leaves or SIGTERM/SIGINT
arrives, and then closes the upstreams (stdio servers are stopped) before it returns.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError as MCPToolError
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import CallToolResult, TextContent
from pydantic import Field
from typing_extensions import TypedDict

from codemode_core.cli.upstreams import open_upstreams
from codemode_core.errors import CodeModeError, ToolError
from codemode_core.events import ProgressEvent
from codemode_core.runtime import CodeMode

__all__ = ["CODE_DESCRIPTION", "PlanOutput", "build_server", "serve_until_stopped"]

_INSTRUCTIONS = (
    "Code Mode: write one short async Python plan with run_code that calls the tools in its "
    "description and returns only what you need, instead of calling tools one by one."
)
CODE_DESCRIPTION = (
    "The plan: the body of an async Python function. Call the tools in this tool's "
    "description with `await tools.<name>(...)` and `return` what you need."
)
"""What `run_code`'s one argument says about itself in the input schema."""


class PlanOutput(TypedDict):
    """`run_code`'s structured result (its `outputSchema`); a failed plan is an `isError`
    result with the error's text instead."""

    value: Any
    """What the plan returned (JSON)."""
    logs: list[str]
    """The lines the plan printed, in order (kept apart from the value)."""


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_GRACE_SECONDS = 5.0
_RELAY_CLOSE_WAIT_SECONDS = 0.5


def build_server(code_mode: CodeMode, *, name: str = "codemode") -> MCPServer[Any]:
    """An `MCPServer` whose lifespan opens `code_mode` (connecting its upstreams), registers
    the Code Mode tools (their description needs the upstreams' tools), and closes it."""

    # Plan output goes out as MCP log messages, a capability deprecated as of 2026-07-28 that
    # handshake-era clients still show; deliberately kept, so not warned about at every line.
    warnings.filterwarnings(
        "ignore", message="The logging capability is deprecated", category=MCPDeprecationWarning
    )

    @asynccontextmanager
    async def lifespan(server: MCPServer[Any]) -> AsyncIterator[None]:
        async with code_mode:
            _CodeModeTools(server, code_mode).sync()
            yield

    return MCPServer(name, instructions=_INSTRUCTIONS, lifespan=lifespan)


async def serve_until_stopped(
    code_mode: CodeMode,
    transport: Literal["stdio", "http"] = "stdio",
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    name: str = "codemode",
) -> None:
    """Open `code_mode`, serve it (`build_server`) over stdio or streamable HTTP at
    `http://host:port/mcp`, and close it.

    Serves until the client closes stdin (stdio) or SIGTERM/SIGINT arrives, at any point,
    opening included; the upstream connections are closed and stdio upstreams stopped either
    way. An upstream that cannot be reached is reported on stderr and left out; every run
    tries it again (as it does for one that dies later), and its tools are added (the client
    told of the change) once it answers. Only when none can be reached is that a
    `ConnectorError`, raised before any transport starts, so the command can say so in one
    line.
    """
    if sys.platform == "win32":  # no signal receivers there: the SDK's own loops
        await open_upstreams(code_mode)
        async with code_mode:
            server = build_server(code_mode, name=name)
            if transport == "stdio":
                await server.run_stdio_async()
            else:
                await server.run_streamable_http_async(host=host, port=port)
        return
    failure: CodeModeError | None = None
    async with anyio.create_task_group() as group:
        stop = _Stop(group.cancel_scope.cancel)  # until the server runs: stop opening
        group.start_soon(_on_signal, stop, group.cancel_scope)
        try:
            await open_upstreams(code_mode)
        except CodeModeError as exc:
            failure = exc
        else:
            server = build_server(code_mode, name=name)
            if transport == "stdio":
                stop.action = _StdinRelay().close
                await server.run_stdio_async()
            else:
                app = server.streamable_http_app(host=host)  # loopback: Host/Origin checked
                config = uvicorn.Config(
                    app,
                    host=host,
                    port=port,
                    log_level=server.settings.log_level.lower(),
                    timeout_graceful_shutdown=3,  # open event streams would hold it up
                )
                web = _Uvicorn(config)
                stop.action = web.stop
                await web.serve()
        finally:
            with anyio.CancelScope(shield=True):
                await code_mode.aclose()
            group.cancel_scope.cancel()  # stopped: stop waiting for signals
    if failure is not None:
        raise failure


class _Stop:
    """What a stop signal does now: cancel the opening, then close stdin or stop uvicorn."""

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action

    def __call__(self) -> None:
        self.action()


async def _on_signal(stop: _Stop, everything: anyio.CancelScope) -> None:
    """On SIGTERM or SIGINT, ask the server to stop; if it has not within the grace period
    (a plan still running), cancel it, which still leaves the lifespan properly."""
    with anyio.open_signal_receiver(*_STOP_SIGNALS) as received:
        async for _ in received:
            stop()
            await anyio.sleep(_GRACE_SECONDS)
            everything.cancel()
            return


class _StdinRelay:
    """Puts a pipe this process owns between the client's stdin and the MCP SDK.

    The SDK reads stdin in a worker thread that no cancellation interrupts, so a server told
    to stop would wait for the client's next message. Closing the relay instead gives the SDK
    end-of-file: the way a client ends a stdio session, which leaves the lifespan (closing the
    upstreams) and returns.
    """

    def __init__(self) -> None:
        self._client = os.dup(0)
        read_end, self._write_end = os.pipe()  # not inherited by upstream processes
        os.dup2(read_end, 0)
        os.close(read_end)
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._pump, name="codemode stdin relay", daemon=True).start()

    def _pump(self) -> None:
        try:
            while chunk := os.read(self._client, 65536):
                with self._lock:
                    if self._closed:
                        return
                    os.write(self._write_end, chunk)
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        """Give the SDK end-of-file. The relay holds the lock while it writes, and a write
        blocks if the SDK stopped reading with the pipe full: then wait at most a moment, and
        leave the pipe to the grace period's cancel rather than hang the event loop (closing
        under a write in flight could hand its descriptor number to another file)."""
        if not self._lock.acquire(timeout=_RELAY_CLOSE_WAIT_SECONDS):
            return
        try:
            if not self._closed:
                self._closed = True
                os.close(self._write_end)
        finally:
            self._lock.release()


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: `serve_until_stopped` handles the signals.

    uvicorn's handlers re-raise the signal once it has stopped, which ends the process with
    the default action instead of returning, so nothing after `serve()` would run.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def stop(self) -> None:
        self.should_exit = True


class _CodeModeTools:
    """The Code Mode tools on the server, kept in step with the runtime's description."""

    def __init__(self, server: MCPServer[Any], code_mode: CodeMode) -> None:
        self._server = server
        self._code_mode = code_mode
        self._shown: tuple[str, str] | None = None
        """(discovery mode, run_code description) of the registered tools."""

    def sync(self) -> bool:
        """Register the tools for the runtime's current description; True if they changed."""
        wanted = (self._code_mode.discovery_mode, self._code_mode.description)
        if wanted == self._shown:
            return False
        if self._shown is not None:
            self._server.remove_tool("run_code")
            if self._shown[0] == "search":
                self._server.remove_tool("search")
                self._server.remove_tool("describe")
        mode, description = wanted
        self._server.add_tool(self.run_code, name="run_code", description=description)
        if mode == "search":
            self._server.add_tool(self.search, name="search")
            self._server.add_tool(self.describe, name="describe")
        self._shown = wanted
        return True

    async def run_code(
        self,
        code: Annotated[str, Field(description=CODE_DESCRIPTION)],
        ctx: Context,
    ) -> Annotated[CallToolResult, PlanOutput]:
        result = await self._code_mode.run(code, observer=_Progress(ctx))
        if self.sync():  # the run listed an upstream's tools again, and they changed
            await ctx.request_context.session.send_tool_list_changed()  # handshake-era clients
            await ctx.notify_tools_changed()  # 2026-07-28 clients (subscriptions/listen)
        if result.status == "error":
            raise MCPToolError(result.to_model())
        # The model reads the text; a client that reads structured content gets the value and
        # the printed lines apart (the text appends the logs to the value).
        return CallToolResult(
            content=[TextContent(text=result.to_model())],
            structured_content={"value": result.value, "logs": list(result.logs)},
        )

    async def search(self, query: str, limit: int = 10) -> str:
        """Find tools by what they do; returns name, summary and signature of each match."""
        return json.dumps(self._code_mode._search(query, limit), ensure_ascii=False)

    async def describe(self, name: str) -> str:
        """The typed stub of a tool (`tools.ns.name`), a namespace (`tools.ns`) or a type."""
        try:
            return self._code_mode.describe(name)
        except ToolError as exc:
            raise MCPToolError(exc.message) from None


class _Progress:
    """Maps a plan's progress events onto MCP: progress notifications and log messages."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._done = 0

    async def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "log":
            # MCP's logging capability is deprecated (2026-07-28); handshake-era clients still
            # show these lines as they come, later ones get them only if they opt in. The
            # session sends (or drops) it; every line is in the result either way.
            await self._ctx.request_context.session.send_log_message(
                level="info",
                data=event.text or "",
                logger="codemode.plan",
                related_request_id=self._ctx.request_id,
            )
        elif event.kind == "tool_end":
            self._done += 1
            status = "failed" if event.error else "done"
            await self._ctx.report_progress(
                self._done, None, f"{event.tool} {status} (line {event.line})"
            )
