"""Start the real MCP servers the connector tests talk to (processes on this machine)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from codemode_core.connectors import MCPConnector

SERVERS = Path(__file__).resolve().parent / "servers"


def time_server() -> MCPConnector:
    """`mcp-server-time` from PyPI, over stdio."""
    return MCPConnector.stdio(
        sys.executable, ["-m", "mcp_server_time", "--local-timezone", "UTC"], namespace="time"
    )


def paged_server() -> MCPConnector:
    return MCPConnector.stdio(sys.executable, [str(SERVERS / "paged_server.py")])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def notes_http_server(port: int, token: str | None = None) -> Iterator[str]:
    """The notes `MCPServer` over streamable HTTP on 127.0.0.1:port; yields its URL."""
    command = [sys.executable, str(SERVERS / "notes_server.py"), str(port)]
    process = subprocess.Popen([*command, *([token] if token else [])])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the notes server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
