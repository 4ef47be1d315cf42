"""Stub generation over large real specs: GitHub's REST API (1,223 operations) and Datadog's
API V2 (1,661 operations). Where they come from: `tests/data/openapi/README.md`."""

from __future__ import annotations

import gzip
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from codemode_core import CodeMode
from codemode_core.catalog import Catalog
from codemode_core.connectors import OpenAPIConnector
from codemode_core.connectors._openapi_spec import read_operations

DATA = Path(__file__).resolve().parents[1] / "data" / "openapi"
SPECS = {"github": ("github_api.json.gz", 1223), "datadog": ("datadog_v2.json.gz", 1661)}


@cache
def document(name: str) -> dict[str, Any]:
    with gzip.open(DATA / SPECS[name][0]) as file:
        loaded: dict[str, Any] = json.load(file)
    return loaded


@pytest.mark.parametrize("name", SPECS)
async def test_every_stub_compiles(name: str) -> None:
    async with CodeMode([], connectors=[OpenAPIConnector(document(name))]) as cm:
        assert len(cm.catalog) == SPECS[name][1]
        assert cm.catalog.namespaces.keys() == {"", name}  # the title's first word
        assert cm.discovery_mode == "search"  # far over the token budget
        stubs = cm.stubs
        compile(stubs, f"{name} stubs", "exec")
        assert stubs.count("        async def ") == SPECS[name][1]


async def test_each_operation_described_alone_compiles() -> None:
    async with CodeMode([], connectors=[OpenAPIConnector(document("github"))]) as cm:
        for entry in cm.catalog:
            compile(cm.describe(entry.qualified_name), entry.qualified_name, "exec")
        create = cm.describe("tools.github.issues_create")
    assert "async def issues_create(owner: str, repo: str, title: str | int," in create
    assert ") -> Issue:" in create and "class Issue(TypedDict):" in create


@pytest.mark.parametrize("name", SPECS)
def test_a_thousand_operations_become_stubs_in_under_two_seconds(name: str) -> None:
    spec = document(name)
    started = time.perf_counter()
    connector = OpenAPIConnector(spec, namespace=name)
    operations = read_operations(spec, name)[:1000]
    catalog = Catalog([connector.tool(op) for op in operations])
    stubs = catalog.stubs
    elapsed = time.perf_counter() - started
    assert len(catalog) == 1000 and stubs.count("async def ") == 1000
    assert elapsed < 2.0, f"{elapsed:.2f} s"


def test_shared_component_schemas_become_one_named_type_each() -> None:
    spec = document("github")
    connector = OpenAPIConnector(spec, namespace="github")
    catalog = Catalog([connector.tool(op) for op in read_operations(spec, "github")])
    stubs = catalog.stubs
    assert stubs.count("class Issue(TypedDict):") == 1
    assert "class Issue2(TypedDict)" not in stubs
    assert stubs.count("-> Issue:") >= 5
