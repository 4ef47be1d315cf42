"""MCPConnector against real servers: `mcp-server-time` (PyPI, stdio), an `MCPServer` over
streamable HTTP on loopback, and a low-level paginating server that can crash on request."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator

import pytest

from codemode_core import CodeMode, ConfigurationError, ConnectorError
from codemode_core.connectors import MCPConnector
from mcp_servers import free_port, notes_http_server, paged_server, time_server

pytestmark = pytest.mark.timeout(60)
TOKEN = "s3cret-notes-token"


@pytest.fixture(scope="module")
def notes_url() -> Iterator[str]:
    with notes_http_server(free_port(), TOKEN) as url:
        yield url


async def test_time_server_over_stdio_is_a_typed_namespace() -> None:
    async with CodeMode([], connectors=[time_server()]) as cm:
        assert "class time:" in cm.stubs
        ast.parse(cm.stubs)
        assert "async def get_current_time(timezone: str)" in cm.stubs
        result = await cm.run(
            'now = await tools.time.get_current_time(timezone="Europe/Warsaw")\n'
            'return now["timezone"], now["is_dst"] in (True, False)'
        )
    assert result.ok, result.to_model()
    assert result.value == ["Europe/Warsaw", True]


async def test_output_schema_becomes_the_return_type(notes_url: str) -> None:
    connector = MCPConnector.http(notes_url, headers={"Authorization": f"Bearer {TOKEN}"})
    async with CodeMode([], connectors=[connector]) as cm:
        stubs = cm.stubs
        assert "class notes:" in stubs  # the server's declared name
        signature = "async def add_note(title: str, tags: list[str] | None = None) -> Note"
        assert signature in stubs
        assert "class Note(TypedDict):\n    id: int\n    title: str\n    tags: list[str]" in stubs
        assert "class FindNotesOutput(TypedDict): result: list[Note]" in stubs  # one line
        result = await cm.run(
            'a = await tools.notes.add_note("milk", tags=["shop"])\n'
            'await tools.notes.add_note(title="call ada", tags=["work"])\n'
            'found = await tools.notes.find_notes(tag="shop")\n'
            'return a["title"], [n["title"] for n in found["result"]]'
        )
    assert result.ok, result.to_model()
    assert result.value == ["milk", ["milk"]]
    assert TOKEN not in stubs and TOKEN not in cm.description


async def test_headers_reach_the_server(notes_url: str) -> None:
    cm = CodeMode([], connectors=[MCPConnector.http(notes_url)])
    with pytest.raises(
        ConnectorError, match=r"could not connect to MCP server http://127\.0\.0\.1"
    ):
        await cm.open()
    await cm.aclose()


async def test_two_servers_in_one_plan(notes_url: str) -> None:
    notes = MCPConnector.http(notes_url, headers={"Authorization": f"Bearer {TOKEN}"})
    async with CodeMode([], connectors=[time_server(), notes]) as cm:
        result = await cm.run(
            'now = await tools.time.get_current_time(timezone="UTC")\n'
            'note = await tools.notes.add_note(title="at " + now["datetime"][:4])\n'
            "return note"
        )
    assert result.ok, result.to_model()
    assert result.value["title"].startswith("at 20")
    assert [c.tool for c in result.tool_calls] == [
        "tools.time.get_current_time",
        "tools.notes.add_note",
    ]


async def test_is_error_is_a_tool_error_the_plan_can_catch(notes_url: str) -> None:
    notes = MCPConnector.http(notes_url, headers={"Authorization": f"Bearer {TOKEN}"})
    async with CodeMode([], connectors=[notes]) as cm:
        caught = await cm.run(
            "try:\n    await tools.notes.delete_note(note_id=999)\n"
            "except ToolError as e:\n    return 'caught: ' + str(e)"
        )
        uncaught = await cm.run("await tools.notes.delete_note(note_id=999)")
    assert caught.value.startswith("caught: ") and "no note 999" in caught.value
    assert uncaught.error is not None and uncaught.error.kind == "tool"
    assert uncaught.error.line == 1


async def test_pagination_text_structured_and_errors() -> None:
    async with CodeMode([], connectors=[paged_server()], discovery="search") as cm:
        index = "- tools.paged (Filler tools in pages, for the connector tests.): tool_00, tool_01,"
        assert index in cm.description  # the server's instructions, then every name (they fit)
        namespace = cm.catalog.namespaces["paged"]
        assert len(namespace) == 28  # three pages of tools/list
        assert "tool_22" in namespace and "crash" in namespace
        assert "def measure(text: str) -> MeasureResult" in cm.stubs
        result = await cm.run(
            'shout = await tools.paged.shout(text="hi")\n'
            'size = await tools.paged.measure(text="a b c")\n'
            "try:\n    await tools.paged.refuse()\nexcept ToolError as e:\n    refused = str(e)\n"
            "return shout, size, refused"
        )
    assert result.ok, result.to_model()
    assert result.value == ["HI", {"chars": 5, "words": 3}, "the vault is closed on Sundays"]


async def test_a_changed_tool_list_reaches_the_next_run(notes_url: str) -> None:
    notes = MCPConnector.http(notes_url, headers={"Authorization": f"Bearer {TOKEN}"})
    async with CodeMode([], connectors=[notes]) as cm:
        added = await cm.run('return await tools.notes.add_counter(name="visits")')
        assert added.value == {"result": "added"}, added.to_model()
        for _ in range(50):  # the change notice arrives on its own stream
            if any(tool.name == "visits" for tool in await notes.connect()):
                break
            await asyncio.sleep(0.05)
        used = await cm.run("await tools.notes.visits()\nreturn await tools.notes.visits()")
        assert "async def visits() -> CounterOutput:" in cm.stubs  # named by the function
    assert used.value == {"result": 2}, used.to_model()


async def test_a_server_dying_mid_plan_fails_clearly_and_the_next_run_reconnects() -> None:
    async with CodeMode([], connectors=[paged_server()]) as cm:
        first = await cm.run("return await tools.paged.pid()")
        died = await cm.run(
            "await tools.paged.pid()\nawait tools.paged.crash()\nreturn 'unreachable'"
        )
        assert died.error is not None and died.error.kind == "tool"
        assert died.error.line == 2
        assert "tools.paged disconnected during `crash`" in died.error.message
        assert "crashing on request" in died.error.message  # the server's own last words
        assert "reconnected at the start of the next run" in died.error.message
        again = await cm.run("return await tools.paged.pid()")
    assert again.ok, again.to_model()
    assert again.value != first.value  # a new server process


async def test_a_server_that_cannot_come_back_says_why() -> None:
    port = free_port()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    cm = CodeMode(
        [], connectors=[MCPConnector.http(f"http://127.0.0.1:{port}/mcp", headers=headers)]
    )
    with notes_http_server(port, TOKEN):
        await cm.open()
        ok = await cm.run('return (await tools.notes.add_note(title="x"))["title"]')
        assert ok.value == "x"
    gone = await cm.run('return await tools.notes.find_notes(tag="x")')
    assert gone.error is not None and gone.error.kind == "tool"
    assert "tools.notes" in gone.error.message
    assert "reconnected at the start of the next run" in gone.error.message
    down = await cm.run('return await tools.notes.find_notes(tag="x")')
    assert down.error is not None and "not connected (could not connect" in down.error.message
    with notes_http_server(port, TOKEN):
        back = await cm.run('return await tools.notes.find_notes(tag="x")')
    await cm.aclose()
    assert back.ok, back.to_model()
    assert back.value == {"result": []}  # a new server process: its notes are gone


async def test_connectors_must_be_open_before_the_description_is_read() -> None:
    cm = CodeMode([], connectors=[time_server()])
    with pytest.raises(ConfigurationError, match="async with CodeMode"):
        _ = cm.description
    result = await cm.run('return (await tools.time.get_current_time(timezone="UTC"))["timezone"]')
    assert result.value == "UTC"  # a run connects lazily
    assert "class time:" in cm.description
    await cm.aclose()


async def test_a_command_that_does_not_exist_is_a_connector_error() -> None:
    cm = CodeMode([], connectors=[MCPConnector.stdio("/nonexistent/mcp-server")])
    with pytest.raises(ConnectorError, match="could not connect to MCP server mcp-server"):
        async with cm:
            pass
    result = await cm.run("return 1")
    assert result.error is not None and result.error.kind == "tool"
    assert "could not connect to MCP server mcp-server" in result.error.message


def test_run_sync_connects_and_close_disconnects() -> None:
    cm = CodeMode([], connectors=[paged_server()])
    result = cm.run_sync('return await tools.paged.shout(text="sync")')
    cm.close()
    assert result.value == "SYNC"
