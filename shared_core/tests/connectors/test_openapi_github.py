"""Stub generation over a large real spec: GitHub's REST API (1,223 operations, see
`tests/data/openapi/README.md` for where it comes from)."""

from __future__ import annotations

import gzip
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

from codemode_core import CodeMode
from codemode_core.catalog import Catalog
from codemode_core.connectors import OpenAPIConnector
from codemode_core.connectors._openapi_spec import read_operations

SPEC = Path(__file__).resolve().parents[1] / "data" / "openapi" / "github_api.json.gz"


@cache
def github_document() -> dict[str, Any]:
    with gzip.open(SPEC) as file:
        document: dict[str, Any] = json.load(file)
    return document


async def test_every_operation_stub_compiles() -> None:
    async with CodeMode([], connectors=[OpenAPIConnector(github_document())]) as cm:
        assert len(cm.catalog) == 1223
        assert cm.discovery_mode == "search"  # far over the token budget
        compile(cm.stubs, "github stubs", "exec")
        for entry in cm.catalog:
            compile(cm.describe(entry.qualified_name), entry.qualified_name, "exec")
        create = cm.describe("tools.github.issues_create")
    assert "async def issues_create(owner: str, repo: str, title: str | int," in create
    assert ") -> Issue:" in create and "class Issue(TypedDict):" in create
    assert cm.catalog.namespaces.keys() == {"", "github"}  # from the title's first word


def test_a_thousand_operations_become_stubs_in_under_two_seconds() -> None:
    document = github_document()
    started = time.perf_counter()
    connector = OpenAPIConnector(document, namespace="github")
    operations = read_operations(document, "github")[:1000]
    catalog = Catalog([connector.tool(op) for op in operations])
    stubs = catalog.stubs
    elapsed = time.perf_counter() - started
    assert len(catalog) == 1000 and stubs.count("async def ") == 1000
    assert elapsed < 2.0, f"{elapsed:.2f} s"


def test_shared_component_schemas_become_one_named_type_each() -> None:
    document = github_document()
    connector = OpenAPIConnector(document, namespace="github")
    catalog = Catalog([connector.tool(op) for op in read_operations(document, "github")])
    stubs = catalog.stubs
    assert stubs.count("class Issue(TypedDict):") == 1
    assert "class Issue2(TypedDict)" not in stubs
    assert stubs.count("-> Issue:") >= 5
