"""OpenAPIConnector against a real HTTP service on loopback (`openapi_service.pet_store`)."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from pathlib import Path

import httpx
import pytest

from codemode_core import CodeMode, ConfigurationError, ConnectorError
from codemode_core.connectors import OpenAPIConnector
from openapi_service import TOKEN, pet_store, spec_31

pytestmark = pytest.mark.timeout(60)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def store() -> Iterator[tuple[str, str]]:
    with pet_store() as served:
        yield served


@pytest.fixture
def spec_file(store: tuple[str, str], tmp_path: Path) -> Path:
    path = tmp_path / "pets.yaml"
    path.write_text(store[1])
    return path


async def test_operations_are_typed_methods(spec_file: Path) -> None:
    async with CodeMode([], connectors=[OpenAPIConnector(spec_file, headers=AUTH)]) as cm:
        stubs = cm.stubs
    compile(stubs, "stubs", "exec")
    assert "class pet_store:" in stubs  # namespace from info.title
    assert (
        "async def listPets(tag: str | None = None, limit: int = 20, "
        "ids: list[int] | None = None) -> list[Pet]:" in stubs
    )
    assert "async def createPet(name: str, tag: str | None = None) -> Pet:" in stubs
    assert (
        "async def getPet(petId: int, X_Request_Id: str | None = None, session: str | None = None)"
        " -> Pet:" in stubs
    )
    assert "async def delete_pets_petId(petId: int) -> None:" in stubs  # no operationId
    assert (
        "class Pet(TypedDict):\n    name: str\n    tag: NotRequired[str | None]\n    id: int"
        in (stubs)
    )


async def test_path_query_header_and_body_parameters_reach_the_service(spec_file: Path) -> None:
    async with CodeMode([], connectors=[OpenAPIConnector(spec_file, headers=AUTH)]) as cm:
        result = await cm.run(
            "api = tools.pet_store\n"
            'dogs = await api.listPets(tag="dog")\n'
            "some = await api.listPets(ids=[1, 2], limit=1)\n"
            'new = await api.createPet(name="Nemo", tag="fish")\n'
            'got = await api.getPet(new["id"], X_Request_Id="r-7", session="s1")\n'
            'gone = await api.delete_pets_petId(petId=new["id"])\n'
            "return [d['name'] for d in dogs], len(some), got, gone"
        )
    assert result.ok, result.to_model()
    assert result.value == [
        ["Rex"],
        1,
        {"id": 3, "name": "Nemo", "tag": "fish", "request_id": "r-7", "cookie": "session=s1"},
        None,
    ]


async def test_connector_tools_run_under_the_isolated_executor_too(spec_file: Path) -> None:
    connector = OpenAPIConnector(spec_file, headers=AUTH)
    async with CodeMode([], connectors=[connector], executor="isolated") as cm:
        result = await cm.run(
            'new = await tools.pet_store.createPet(name="Iso")\n'
            'return (await tools.pet_store.getPet(new["id"]))["name"]'
        )
    assert result.value == "Iso", result.to_model()


async def test_non_2xx_is_a_tool_error_with_status_and_body_excerpt(spec_file: Path) -> None:
    async with CodeMode([], connectors=[OpenAPIConnector(spec_file)]) as cm:
        caught = await cm.run(
            "try:\n    await tools.pet_store.getPet(99)\nexcept ToolError as e:\n    return str(e)"
        )
        invalid = await cm.run('p = "x"\nawait tools.pet_store.getPet(petId=p)')  # at run time
    assert caught.value == 'GET /pets/99 failed: HTTP 404 Not Found: {"error": "pet 99 not found"}'
    assert invalid.error is not None and "expected integer" in invalid.error.message


async def test_credentials_never_reach_anything_a_plan_can_see(spec_file: Path) -> None:
    class Token(httpx.Auth):
        def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
            request.headers["X-Api-Key"] = "auth-flow-key-777"
            yield request

    wrong = {"Authorization": "Bearer wrong-but-still-secret-99"}
    connectors = [
        OpenAPIConnector(spec_file, headers=AUTH, auth=Token(), namespace="good"),
        OpenAPIConnector(spec_file, headers=wrong, namespace="bad"),
    ]
    secrets = [TOKEN, "auth-flow-key-777", "wrong-but-still-secret-99"]
    async with CodeMode([], connectors=connectors) as cm:
        result = await cm.run(
            "echoed = await tools.good.echoHeaders()\n"
            "print(tools, dir(tools.good), tools.good.createPet, repr(codemode))\n"
            "try:\n"
            '    await tools.bad.createPet(name="x")\n'
            "except ToolError as e:\n"
            "    refused = str(e)\n"
            "return echoed, refused"
        )
        seen = [cm.description, cm.stubs, cm.describe("tools.good.echoHeaders"), result.to_model()]
        seen += [json.dumps(c.result) + str(c.error) for c in result.tool_calls]
    assert result.ok, result.to_model()
    echoed, refused = result.value
    assert echoed["Authorization"] == "[redacted]"
    assert echoed["X-Api-Key"] == "[redacted]"
    assert (
        refused
        == 'POST /pets failed: HTTP 401 Unauthorized: {"error": "bad credentials: [redacted]"}'
    )
    assert "Authorization" not in cm.describe("tools.good.echoHeaders")  # set by the host
    for text in [*seen, *result.logs, json.dumps(result.value)]:
        for secret in secrets:
            assert secret not in text


async def test_a_document_by_url_with_a_relative_server(store: tuple[str, str]) -> None:
    origin = store[0].removesuffix("/api")
    connector = OpenAPIConnector(f"{origin}/openapi.yaml", namespace="pets")
    async with CodeMode([], connectors=[connector]) as cm:
        result = await cm.run("return (await tools.pets.getPet(1))['name']")
    assert result.value == "Rex"


async def test_openapi_31_dict_with_base_url(store: tuple[str, str]) -> None:
    connector = OpenAPIConnector(spec_31(), base_url=store[0])
    async with CodeMode([], connectors=[connector]) as cm:
        assert "tag: NotRequired[str | None]" in cm.stubs
        assert "async def getPet(petId: int) -> Pet:" in cm.stubs
        result = await cm.run("return await tools.pets_3_1.getPet(2)")
    assert result.value == {"id": 2, "name": "Tom", "tag": "cat", "request_id": None}


async def test_a_json_file_and_yaml_dates_read_as_strings(
    store: tuple[str, str], tmp_path: Path
) -> None:
    spec = spec_31()
    spec["paths"]["/pets/{petId}"]["get"]["parameters"].append(
        {"name": "since", "in": "query", "schema": {"type": "string", "default": "2024-01-01"}}
    )
    as_json = tmp_path / "pets.json"
    as_json.write_text(json.dumps(spec))
    as_yaml = tmp_path / "pets.yml"
    as_yaml.write_text(
        store[1].replace("{type: integer, default: 20}", "{type: string, default: 2024-01-01}")
    )
    async with CodeMode(
        [],
        connectors=[
            OpenAPIConnector(as_json, base_url=store[0], namespace="from_json"),
            OpenAPIConnector(as_yaml, namespace="from_yaml"),
        ],
    ) as cm:
        assert "async def getPet(petId: int, since: str = '2024-01-01') -> Pet:" in cm.stubs
        assert "limit: str = '2024-01-01'" in cm.stubs  # a YAML date stays the string it was
        result = await cm.run("return (await tools.from_json.getPet(1))['name']")
    assert result.value == "Rex"


async def test_requests_time_out(spec_file: Path) -> None:
    async with CodeMode([], connectors=[OpenAPIConnector(spec_file, timeout=0.3)]) as cm:
        result = await cm.run("return await tools.pet_store.slow()")
    assert result.error is not None
    assert result.error.message.endswith("GET /slow: no response within the timeout")


async def test_a_transport_replaces_the_network() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": 5, "name": str(request.url)})

    connector = OpenAPIConnector(
        spec_31(), base_url="https://pets.example/v1", transport=httpx.MockTransport(handler)
    )
    async with CodeMode([], connectors=[connector]) as cm:
        result = await cm.run("return (await tools.pets_3_1.getPet(5))['name']")
    assert result.value == "https://pets.example/v1/pets/5"


async def test_documents_that_cannot_be_used_say_why(tmp_path: Path) -> None:
    swagger = tmp_path / "swagger.json"
    swagger.write_text(json.dumps({"swagger": "2.0", "paths": {}}))
    with pytest.raises(ConnectorError, match=r"only OpenAPI 3.0/3.1 .* got swagger 2.0"):
        await CodeMode([], connectors=[OpenAPIConnector(swagger)]).open()
    with pytest.raises(ConnectorError, match=r"names no absolute server URL.*pass base_url="):
        await CodeMode([], connectors=[OpenAPIConnector(spec_31())]).open()
    with pytest.raises(ConnectorError, match="cannot read OpenAPI document"):
        await CodeMode([], connectors=[OpenAPIConnector(tmp_path / "missing.yaml")]).open()
    with pytest.raises(ConfigurationError, match=r"auth must be an httpx\.Auth"):
        OpenAPIConnector(spec_31(), auth=("user", "pw"))  # type: ignore[arg-type]
