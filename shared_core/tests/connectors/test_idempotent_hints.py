"""Which connector tools may run again after a crash (`Tool.idempotent`, #20 §1): MCP tools
the server marks `readOnlyHint`/`idempotentHint`, and OpenAPI's safe methods. Which only read
(`Tool.read_only`, #21 §1, so they may start while a plan streams): `readOnlyHint`, GET/HEAD."""

from __future__ import annotations

from pathlib import Path

from codemode_core import CodeMode
from codemode_core.connectors import MCPConnector, OpenAPIConnector
from mcp_servers import free_port, notes_http_server, time_server
from openapi_service import TOKEN, pet_store


def _idempotent(cm: CodeMode) -> dict[str, bool]:
    return {entry.qualified_name: entry.tool.idempotent for entry in cm.catalog}


def _read_only(cm: CodeMode) -> dict[str, bool]:
    return {entry.qualified_name: entry.tool.read_only for entry in cm.catalog}


async def test_mcp_tools_are_idempotent_when_the_server_says_read_only() -> None:
    with notes_http_server(free_port(), "t0k") as url:
        notes = MCPConnector.http(url, headers={"Authorization": "Bearer t0k"}, namespace="notes")
        async with CodeMode([], connectors=[time_server(), notes]) as cm:
            flags = _idempotent(cm)
            read_only = _read_only(cm)
    assert flags["tools.time.get_current_time"] is True  # annotations.readOnlyHint
    assert flags["tools.time.convert_time"] is True
    notes_flags = {name: flag for name, flag in flags.items() if name.startswith("tools.notes.")}
    assert notes_flags and not any(notes_flags.values())  # no hints: in doubt after a crash
    assert read_only["tools.time.get_current_time"] and read_only["tools.time.convert_time"]
    assert not any(flag for name, flag in read_only.items() if name.startswith("tools.notes."))


async def test_openapi_get_operations_are_idempotent_and_others_are_not(tmp_path: Path) -> None:
    with pet_store() as (_, spec):
        path = tmp_path / "pets.yaml"
        path.write_text(spec)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with CodeMode([], connectors=[OpenAPIConnector(path, headers=headers)]) as cm:
            flags = _idempotent(cm)
            read_only = _read_only(cm)
    assert read_only == flags  # GET and HEAD only read; every other method may write
    assert flags["tools.pet_store.listPets"] is True
    assert flags["tools.pet_store.getPet"] is True
    assert flags["tools.pet_store.createPet"] is False
    assert flags["tools.pet_store.delete_pets_petId"] is False
