"""`build_server` in-process with the official client (`mcp.Client(server)`): when an upstream's
tool list changes, the exposed tools follow and the client is told, over both protocol eras,
only when what it lists did change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import mcp_types
from mcp import Client
from mcp.shared.subscriptions import ToolsListChanged

from codemode_core import CodeMode, Tool
from codemode_core.cli.server import build_server


def count_books() -> int:
    """How many books are on the shelf."""
    return 12


def lend_book(title: str) -> str:
    """Lend a book out."""
    return f"lent {title}"


class Shelf:
    """A connector whose tool list grows when told to, the way an MCP server's can."""

    namespace = "shelf"
    description = "A book shelf"

    def __init__(self) -> None:
        self.tools: tuple[Tool, ...] = (Tool.from_function(count_books, namespace="shelf"),)

    def add_tool(self) -> None:
        self.tools = (*self.tools, Tool.from_function(lend_book, namespace="shelf"))

    async def connect(self) -> Sequence[Tool]:
        return self.tools  # the same tuple while unchanged, as real connectors do

    async def aclose(self) -> None:
        return None


def _text(result: mcp_types.CallToolResult) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def _description(client: Client) -> str:
    [tool] = (await client.list_tools()).tools
    return tool.description or ""


async def test_a_handshake_era_client_is_told_once_when_the_tools_change() -> None:
    shelf = Shelf()
    changes: list[Any] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            changes.append(message)

    server = build_server(CodeMode([], connectors=[shelf], executor="inprocess", discovery="full"))
    async with Client(server, message_handler=on_message, mode="legacy") as client:
        before = await _description(client)
        same = await client.call_tool(
            "run_code", {"code": "return await tools.shelf.count_books()"}
        )
        assert _text(same) == "12" and changes == []  # nothing changed: nothing said
        shelf.add_tool()
        lent = await client.call_tool("run_code", {"code": 'await tools.shelf.lend_book("Emma")'})
        with anyio.fail_after(5):
            while not changes:
                await anyio.sleep(0.01)
        after = await _description(client)
        again = await client.call_tool("run_code", {"code": "return 1"})
    assert "lend_book" not in before and "def count_books() -> int" in before
    assert _text(lent) == '"lent Emma"'  # the run itself already sees the new tool
    assert "async def lend_book(title: str) -> str" in after
    assert _text(again) == "1"
    assert len(changes) == 1  # once, for the run that saw the change


async def test_a_current_era_client_hears_of_the_change_on_its_subscription() -> None:
    shelf = Shelf()
    server = build_server(CodeMode([], connectors=[shelf], executor="inprocess", discovery="full"))
    async with Client(server) as client, client.listen(tools_list_changed=True) as changes:
        shelf.add_tool()
        lent = await client.call_tool("run_code", {"code": 'await tools.shelf.lend_book("Ada")'})
        with anyio.fail_after(5):
            event = await changes.__anext__()
        after = await _description(client)
    assert _text(lent) == '"lent Ada"'
    assert isinstance(event, ToolsListChanged)
    assert "async def lend_book(title: str) -> str" in after


async def test_in_discovery_mode_search_finds_a_new_tool() -> None:
    shelf = Shelf()
    server = build_server(
        CodeMode([], connectors=[shelf], executor="inprocess", discovery="search")
    )
    async with Client(server, mode="legacy") as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        shelf.add_tool()
        await client.call_tool("run_code", {"code": "return 1"})
        found = await client.call_tool("search", {"query": "lend a book"})
        tools_after = {tool.name for tool in (await client.list_tools()).tools}
    assert tools == tools_after == {"run_code", "search", "describe"}
    assert "tools.shelf.lend_book" in _text(found)


def greet(name: str) -> str:
    """Say hello."""
    return f"hello {name}"


async def test_run_code_schema_and_result_say_what_they_hold(recwarn: Any) -> None:
    """The `code` argument is described; the structured result keeps the value and the printed
    lines apart (the text for the model has both); printing warns about nothing."""
    code_mode = CodeMode([Tool.from_function(greet)], executor="inprocess")
    async with Client(build_server(code_mode)) as client:
        [tool] = (await client.list_tools()).tools
        code = tool.input_schema["properties"]["code"]
        assert "body of an async Python function" in code["description"]
        assert tool.output_schema is not None
        assert set(tool.output_schema["properties"]) == {"value", "logs"}
        result = await client.call_tool(
            "run_code",
            {"code": "print('one')\nprint('two')\nreturn {'said': await tools.greet('ada')}"},
        )
    assert not result.is_error
    assert result.structured_content == {"value": {"said": "hello ada"}, "logs": ["one", "two"]}
    assert _text(result) == '{"said": "hello ada"}\n\nLogs:\none\ntwo'
    deprecations = [w for w in recwarn if "deprecated" in str(w.message).lower()]
    assert deprecations == []
