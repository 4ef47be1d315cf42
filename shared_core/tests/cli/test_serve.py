"""`codemode serve` as a real subprocess, reached with the official MCP client, over stdio and
streamable HTTP, wrapping a real MCP server from PyPI and a loopback OpenAPI service."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mcp_servers import free_port, notes_http_server
from openapi_service import pet_store

CODEMODE = [sys.executable, "-c", "from codemode_core.cli import main; main()"]
TIME = f"time={sys.executable} -m mcp_server_time --local-timezone UTC"

PLAN = """
now = await tools.time.get_current_time(timezone="UTC")
pets = await tools.pets.listPets(limit=2)
print(f"{len(pets)} pets")
return {"tz": now["timezone"], "pets": [p["name"] for p in pets]}
"""


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Path]:
    with pet_store() as (_, spec_text):
        spec = tmp_path / "shop.yaml"
        spec.write_text(spec_text)
        yield spec


def _text(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def _exercise(client: Client, *, expect_tools: set[str]) -> None:
    tools = {tool.name for tool in (await client.list_tools()).tools}
    assert tools == expect_tools
    progress: list[tuple[float, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message))

    result = await client.call_tool("run_code", {"code": PLAN}, progress_callback=on_progress)
    assert not result.is_error, _text(result)
    value = json.loads(_text(result).split("\n\nLogs:")[0])
    assert value["tz"] == "UTC" and len(value["pets"]) == 2
    assert "2 pets" in _text(result)
    assert [m for _, m in progress][:2] == [
        "tools.time.get_current_time done (line 2)",
        "tools.pets.listPets done (line 3)",
    ]
    bad = await client.call_tool("run_code", {"code": "return await tools.pets.listPets(lim=1)"})
    assert bad.is_error and "line 1" in _text(bad) and "lim" in _text(bad)


async def test_serve_over_stdio_wraps_an_mcp_server_and_an_openapi_service(shop: Path) -> None:
    params = StdioServerParameters(
        command=CODEMODE[0],
        args=[
            *CODEMODE[1:],
            "serve",
            "--mcp-stdio",
            TIME,
            "--openapi",
            f"pets={shop}",
            "--discovery",
            "full",
        ],
    )
    logged: list[Any] = []

    async def on_log(message: Any) -> None:
        logged.append(message.data)

    async with Client(params, logging_callback=on_log, log_level="info") as client:
        await _exercise(client, expect_tools={"run_code"})
        assert "2 pets" in logged  # printed lines go out as MCP log messages
        description = next(t for t in (await client.list_tools()).tools).description or ""
        assert "class time:" in description and "def listPets(" in description


async def test_serve_in_discovery_mode_adds_search_and_describe(shop: Path) -> None:
    params = StdioServerParameters(
        command=CODEMODE[0],
        args=[
            *CODEMODE[1:],
            "serve",
            "--mcp-stdio",
            TIME,
            "--openapi",
            f"pets={shop}",
            "--discovery",
            "search",
        ],
    )
    async with Client(params) as client:
        await _exercise(client, expect_tools={"run_code", "search", "describe"})
        found = await client.call_tool("search", {"query": "current time in a zone"})
        assert "tools.time.get_current_time" in _text(found)
        stub = await client.call_tool("describe", {"name": "tools.pets.listPets"})
        assert "def listPets(" in _text(stub)


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_killed_upstream_is_a_clear_error_and_the_server_keeps_serving(
    tmp_path: Path, transport: str
) -> None:
    port = free_port()
    config = tmp_path / "servers.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "time": {
                        "command": sys.executable,
                        "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"],
                    },
                    "notes": {"url": f"http://127.0.0.1:{port}/mcp"},
                }
            }
        )
    )
    serve = ["serve", "--config", str(config)]
    with contextlib.ExitStack() as stack:
        notes = contextlib.ExitStack()  # the upstream runs while codemode serve starts
        notes.enter_context(notes_http_server(port))
        target: Any = StdioServerParameters(command=CODEMODE[0], args=[*CODEMODE[1:], *serve])
        if transport == "http":
            serve_port = free_port()
            http = [*serve, "--transport", "http", "--port", str(serve_port)]
            stack.enter_context(_serving(http, serve_port))
            target = f"http://127.0.0.1:{serve_port}/mcp"
        client_cm = Client(target)
        client = await client_cm.__aenter__()
        assert not (await client.call_tool("run_code", {"code": "return 1"})).is_error
        notes.close()  # kill the upstream mid-session
        try:  # the notes server is gone now
            dead = await client.call_tool(
                "run_code", {"code": "return await tools.notes.find_notes(tag='x')"}
            )
            assert dead.is_error
            assert "notes" in _text(dead)
            assert "connect" in _text(dead) or "closed" in _text(dead)
            alive = await client.call_tool(
                "run_code",
                {"code": 'return (await tools.time.get_current_time(timezone="UTC"))["timezone"]'},
            )
            assert not alive.is_error and "UTC" in _text(alive)
            with notes_http_server(port):  # back on the same port: the next run reconnects
                back = await client.call_tool(
                    "run_code", {"code": "return len(await tools.notes.find_notes(tag='x')) >= 0"}
                )
                assert not back.is_error, _text(back)
        finally:
            await client_cm.__aexit__(None, None, None)


async def test_serve_over_streamable_http(shop: Path) -> None:
    port = free_port()
    with _serving(
        [
            "serve",
            "--transport",
            "http",
            "--port",
            str(port),
            "--mcp-stdio",
            TIME,
            "--openapi",
            f"pets={shop}",
            "--discovery",
            "full",
        ],
        port,
    ):
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            await _exercise(client, expect_tools={"run_code"})


def test_stubs_and_run_commands(shop: Path, tmp_path: Path) -> None:
    stubs = subprocess.run(
        [*CODEMODE, "stubs", "--openapi", f"pets={shop}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stubs.returncode == 0, stubs.stderr
    compile(stubs.stdout, "stubs", "exec")  # what the model reads is valid Python
    assert "class pets:" in stubs.stdout
    plan = tmp_path / "plan.py"
    plan.write_text("pets = await tools.pets.listPets(limit=1)\nreturn len(pets)")
    ran = subprocess.run(
        [
            *CODEMODE,
            "run",
            str(plan),
            "--openapi",
            str(shop),
            "--namespace",
            "pets",
            "--executor",
            "inprocess",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert report["status"] == "ok" and report["value"] == 1
    assert report["tool_calls"][0]["tool"] == "tools.pets.listPets"
    missing = subprocess.run([*CODEMODE, "stubs"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "give at least one source" in missing.stderr


@contextmanager
def _serving(arguments: list[str], port: int) -> Iterator[None]:
    process = subprocess.Popen([*CODEMODE, *arguments], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stderr.read() if process.poll() is not None else ""
                    raise RuntimeError(f"codemode serve did not start: {output}") from None
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


INITIALIZE = (
    json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"},
            },
        }
    ).encode()
    + b"\n"
)


def _children(parent: int, needle: str) -> list[int]:
    """Live child processes of `parent` whose command line contains `needle` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z" and needle in command:
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="finds the upstream process in /proc")
@pytest.mark.parametrize(
    ("transport", "when"), [("stdio", "opening"), ("stdio", "serving"), ("http", "serving")]
)
async def test_sigterm_stops_serve_and_its_upstream(transport: str, when: str) -> None:
    port = free_port()
    arguments = [*CODEMODE, "serve", "--mcp-stdio", TIME]
    if transport == "http":
        arguments += ["--transport", "http", "--port", str(port)]
    # Over stdio the client's end stays open: the server must not wait for its next message.
    process = subprocess.Popen(
        arguments, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not (upstream := _children(process.pid, "mcp_server_time")):
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
            await anyio.sleep(0.1)
        connected: Any = None
        if transport == "stdio" and when == "serving":  # a client that said hello, then waits
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(INITIALIZE)
            process.stdin.flush()
            answer = await anyio.to_thread.run_sync(process.stdout.readline)
            assert b'"serverInfo"' in answer, answer
        if transport == "http":  # a client still connected (its event stream open)
            while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                await anyio.sleep(0.1)
            connected = Client(f"http://127.0.0.1:{port}/mcp")
            client = await connected.__aenter__()
            assert not (await client.call_tool("run_code", {"code": "return 1"})).is_error
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = await anyio.to_thread.run_sync(process.wait, 20)
        if connected is not None:
            with contextlib.suppress(Exception):  # the server went away under it
                await connected.__aexit__(None, None, None)
        assert code == 0, process.stderr.read() if process.stderr else ""
        assert time.monotonic() - started < 10
        for _ in range(50):  # the upstream was stopped with it, not left behind
            if not _running(upstream[0]):
                break
            await anyio.sleep(0.1)
        assert not _running(upstream[0])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_serve_with_an_unreachable_upstream_says_so_in_one_line(transport: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    arguments = ["serve", "--mcp-http", url, "--transport", transport, "--port", str(free_port())]
    served = subprocess.run(
        [*CODEMODE, *arguments], capture_output=True, text=True, timeout=60, stdin=subprocess.PIPE
    )
    assert served.returncode == 1
    assert served.stderr.startswith(f"Error: could not connect to MCP server {url}: ConnectError")
    assert "Traceback" not in served.stderr


def test_stubs_start_with_the_healthy_upstreams_and_warn_about_the_others() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    shown = subprocess.run(
        [*CODEMODE, "stubs", "--mcp-stdio", TIME, "--mcp-http", f"notes={url}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "class time:" in shown.stdout and "class notes:" not in shown.stdout
    assert shown.stderr.startswith(
        f"codemode: warning: could not connect to MCP server {url}: ConnectError"
    )
    assert "trying it again at each run" in shown.stderr and "Traceback" not in shown.stderr


async def test_serve_starts_without_an_unreachable_upstream_and_adds_it_when_it_answers(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = tmp_path / "servers.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "time": {
                        "command": sys.executable,
                        "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"],
                    },
                    "notes": {"url": f"http://127.0.0.1:{port}/mcp"},  # not running yet
                }
            }
        )
    )
    serve = ["serve", "--config", str(config), "--executor", "inprocess"]
    target = StdioServerParameters(command=CODEMODE[0], args=[*CODEMODE[1:], *serve])
    async with Client(target) as client:
        (run_code,) = (await client.list_tools()).tools
        assert "class time:" in (run_code.description or "")
        assert "class notes:" not in (run_code.description or "")
        now = 'return (await tools.time.get_current_time(timezone="UTC"))["timezone"]'
        alive = await client.call_tool("run_code", {"code": now})
        assert not alive.is_error and "UTC" in _text(alive)
        missing = await client.call_tool("run_code", {"code": "return await tools.notes.x()"})
        assert missing.is_error
        with notes_http_server(port):  # the upstream comes up: the next run connects it
            found = await client.call_tool(
                "run_code", {"code": "return len(await tools.notes.find_notes(tag='x')) >= 0"}
            )
            assert not found.is_error, _text(found)
            (run_code,) = (await client.list_tools()).tools
            assert "class notes:" in (run_code.description or "")
