"""Progressive discovery through the public API: `codemode.search`/`describe` in plans, the
description in each mode, search quality on labelled queries, and search speed."""

from __future__ import annotations

import gzip
import json
import re
import statistics
import time
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pytest
from typing_extensions import TypedDict

from codemode_core import CodeMode, Tool, ToolError
from codemode_core.catalog import Catalog
from codemode_core.connectors import OpenAPIConnector
from codemode_core.connectors._openapi_spec import read_operations
from codemode_core.discovery import WEAK_NOTE, SearchIndex
from core_support import Calls, make_tools

DATA = Path(__file__).resolve().parent / "data"


@cache
def github_document() -> dict[str, Any]:
    with gzip.open(DATA / "openapi" / "github_api.json.gz") as file:
        document: dict[str, Any] = json.load(file)
    return document


def labelled_queries() -> list[dict[str, Any]]:
    data = json.loads((DATA / "openapi" / "github_queries.json").read_text())
    return [*data["queries"], *data["held_out"]]


class Order(TypedDict):
    id: int
    customer: str


def list_orders(customer: str | None = None) -> list[Order]:
    """Orders, optionally of one customer."""
    orders: list[Order] = [{"id": 1, "customer": "ada"}, {"id": 2, "customer": "bob"}]
    return [o for o in orders if customer in (None, o["customer"])]


def shop_tools() -> list[Tool]:
    tools = [Tool.from_function(list_orders, namespace="shop")]
    tools += [replace(t, namespace="shop") for t in make_tools(Calls())[1:]]
    return tools


async def test_search_results_name_summary_and_signature_and_are_callable() -> None:
    cm = CodeMode(shop_tools(), discovery="search")
    result = await cm.run(
        'hits = await codemode.search("orders of a customer", limit=3)\n'
        "first = hits[0]\n"
        'namespace, tool = first["name"].split(".")[1:]\n'
        "orders = await tools[namespace][tool]()\n"
        "return first, len(orders)"
    )
    assert result.ok, result.to_model()
    first, count = result.value
    assert set(first) == {"name", "summary", "signature"}
    assert first["name"] == "tools.shop.list_orders"
    assert first["signature"].startswith("list_orders(")
    assert count == 2


async def test_describe_a_tool_a_namespace_and_a_type() -> None:
    cm = CodeMode(shop_tools(), discovery="search")
    result = await cm.run(
        'one = await codemode.describe("tools.shop.list_orders")\n'
        "space = await codemode.describe(tools.shop)\n"
        'kind = await codemode.describe("Order")\n'
        "return one, space, kind"
    )
    assert result.ok, result.to_model()
    one, space, kind = result.value
    assert "async def list_orders(" in one and "class Order(TypedDict):" in one
    assert space.count("async def ") == len(cm.catalog)
    assert kind.startswith("class Order(TypedDict):")
    compile(one, "describe", "exec")
    compile(space, "describe", "exec")


async def test_describe_of_an_unknown_name_suggests_close_matches() -> None:
    cm = CodeMode(shop_tools(), discovery="search")
    result = await cm.run('await codemode.describe("tools.shop.list_order")')
    assert result.error is not None and result.error.line == 1
    assert "nothing is named `tools.shop.list_order`" in result.error.message
    assert "tools.shop.list_orders" in result.error.message
    with pytest.raises(ToolError):
        cm.describe("NoSuchType")


def test_modes_decide_what_the_description_holds() -> None:
    tools = shop_tools()
    full = CodeMode(tools, discovery="full").description
    search = CodeMode(tools, discovery="search").description
    assert "async def list_orders(" in full and "codemode.search" not in full
    assert "async def list_orders(" not in search
    assert "- tools.shop: list_orders" in search and "codemode.search" in search
    assert CodeMode(tools).discovery_mode == "full"
    assert CodeMode(tools, discovery_token_budget=10).discovery_mode == "search"


async def test_a_large_namespace_is_indexed_by_name_groups() -> None:
    async with CodeMode([], connectors=[OpenAPIConnector(github_document())]) as cm:
        description = cm.description
    assert (
        "- tools.github (GitHub's official OpenAPI spec + Octokit extension): 1223 tools: "
        "repos_* (204), actions_* (187)," in description
    )  # the API's title, then its size and name groups
    assert len(description) < 1500  # instead of 1.5 MB of stubs


async def test_recall_at_5_on_labelled_queries_over_1223_real_operations() -> None:
    queries = labelled_queries()
    assert len(queries) >= 60
    async with CodeMode([], connectors=[OpenAPIConnector(github_document())]) as cm:
        plan = (
            f"queries = {[q['query'] for q in queries]!r}\n"
            "found = []\n"
            "for query in queries:\n"
            "    hits = await codemode.search(query, limit=5)\n"
            "    found.append([hit['name'] for hit in hits])\n"
            "return found"
        )
        result = await cm.run(plan)
        assert result.ok, result.to_model()
        qualified = {e.tool.name: e.qualified_name for e in cm.catalog}
    misses = [
        q["query"]
        for q, found in zip(queries, result.value, strict=True)
        if not any(qualified[name] in found for name in q["relevant"])
    ]
    recall = 1 - len(misses) / len(queries)
    assert recall >= 0.9, f"recall@5 {recall:.3f}; missed: {misses}"


def test_recall_on_an_api_the_ranking_was_not_tuned_on() -> None:
    """Datadog's 1,661 operations, queries written after the ranking was final (a guard)."""
    with gzip.open(DATA / "openapi" / "datadog_v2.json.gz") as file:
        document = json.load(file)
    connector = OpenAPIConnector(document, namespace="datadog")
    catalog = Catalog([connector.tool(op) for op in read_operations(document, "datadog")])
    index = SearchIndex(catalog)
    qualified = {e.tool.name: e.qualified_name for e in catalog}
    queries = json.loads((DATA / "openapi" / "datadog_queries.json").read_text())["queries"]
    hits = 0
    for item in queries:
        found = [hit["name"] for hit in index.search(item["query"], 5)]
        hits += any(qualified[name] in found for name in item["relevant"])
    assert hits / len(queries) >= 0.85  # 0.875 when written


def test_median_search_over_10000_tools_is_under_2_ms() -> None:
    document = github_document()
    connector = OpenAPIConnector(document, namespace="github")
    base = [connector.tool(op) for op in read_operations(document, "github")]
    tools = [replace(t, namespace=f"gh{i}") for i in range(9) for t in base][:10_000]
    index = SearchIndex(Catalog(tools))
    assert len(index) == 10_000
    queries = [q["query"] for q in labelled_queries()]
    timings = []
    for query in queries * 3:
        started = time.perf_counter()
        index.search(query, 10)
        timings.append(time.perf_counter() - started)
    median_ms = statistics.median(timings) * 1000
    assert median_ms < 2.0, f"median {median_ms:.2f} ms"


def test_ranking_prefers_the_tool_whose_name_the_query_spells_out() -> None:
    document = github_document()
    connector = OpenAPIConnector(document, namespace="github")
    index = SearchIndex(Catalog([connector.tool(op) for op in read_operations(document, "g")]))
    assert index.search("create an issue", 1)[0]["name"] == "tools.github.issues_create"
    assert index.search("list pull requests", 1)[0]["name"] == "tools.github.pulls_list"
    assert index.search("", 5) == [] and index.search("zzzz qqqq", 5) == []


TRAVEL = (
    "This tool belongs to the travel system, which allows users to book flights, manage "
    "credit cards, and view budget information. Tool description: "
)
TRAVEL_TOOLS = {
    "book_flight": "Book a flight given the travel information.",
    "get_all_credit_cards": "Get all registered credit cards.",
    "register_credit_card": "Register a credit card.",
    "list_all_airports": "List all available airports.",
    "set_budget_limit": "Set the budget limit for the user.",
}


TOPICS = [
    "weather forecast", "stock quote", "flight booking", "hotel room", "currency rate",
    "music playlist", "movie ticket", "restaurant table", "taxi ride", "parcel tracking",
    "calendar event", "email draft", "bank transfer", "news headline", "recipe search",
    "gym class", "doctor appointment", "library loan", "parking spot", "train schedule",
    "pet adoption", "car rental", "concert seat", "language lesson", "photo album",
    "podcast episode", "tax return", "garden planner", "wine pairing", "bike repair",
]  # fmt: skip


def _tool(name: str, text: str, namespace: str | None = None) -> Tool:
    return Tool(name, text, {"type": "object", "properties": {}}, lambda: name, None, namespace)


async def test_search_summaries_are_the_tools_own_first_sentence() -> None:
    tools = [_tool(name, TRAVEL + text) for name, text in TRAVEL_TOOLS.items()]
    cm = CodeMode(tools, discovery="search", executor="inprocess")
    result = await cm.run('return await codemode.search("credit card list", limit=3)')
    assert result.ok, result.to_model()
    assert result.value[0] == {
        "name": "tools.get_all_credit_cards",
        "summary": "Get all registered credit cards.",
        "signature": "get_all_credit_cards() -> Any",
    }
    assert not any("belongs to" in hit["summary"] for hit in result.value)
    every = await cm.run('return await codemode.search("travel flight credit card", limit=10)')
    summaries = [hit["summary"] for hit in every.value]
    assert len(summaries) >= 3 and len(set(summaries)) == len(summaries)


async def test_through_a_plan_one_tool_of_thirty_matches_and_a_miss_says_so() -> None:
    tools = [_tool(f"manage_{t.replace(' ', '_')}", f"Manage a {t} for the user.") for t in TOPICS]
    cm = CodeMode(tools, discovery="search", executor="inprocess")
    plan = 'return [await codemode.search(q) for q in ("I need a taxi ride", "quantum photons")]'
    result = await cm.run(plan)
    assert result.ok, result.to_model()
    found, missed = result.value
    assert [hit["name"] for hit in found] == ["tools.manage_taxi_ride"]
    assert "note" not in found[0]
    assert missed == [] or all(hit["note"] == WEAK_NOTE for hit in missed)


async def test_a_query_naming_an_enumerated_value_finds_its_tool() -> None:
    def engine(mode: Literal["IGNITION", "SHUTDOWN"]) -> str:
        """Control the vehicle."""
        return mode

    tools = [Tool.from_function(engine)]
    tools += [_tool(f"vehicle_{n}", f"Control the vehicle, part {n}.") for n in range(8)]
    cm = CodeMode(tools, discovery="search", executor="inprocess")
    result = await cm.run('return await codemode.search("shutdown now", limit=3)')
    assert result.ok, result.to_model()
    assert [hit["name"] for hit in result.value] == ["tools.engine"]


def test_a_query_that_matches_one_tool_of_thirty_returns_that_tool_only() -> None:
    tools = [_tool(f"manage_{t.replace(' ', '_')}", f"Manage a {t} for the user.") for t in TOPICS]
    index = SearchIndex(Catalog(tools))
    hits = index.search("when does the next train leave: train schedule", 10)
    assert [h["name"] for h in hits] == ["tools.manage_train_schedule"]
    assert "note" not in hits[0]
    unrelated = index.search("quantum entanglement of user photons", 10)
    assert unrelated and all(h["note"] == WEAK_NOTE for h in unrelated)


def test_the_index_lists_every_name_when_they_fit() -> None:
    tools = [_tool(name, TRAVEL + text) for name, text in TRAVEL_TOOLS.items()]
    tools += [_tool(f"ticket_{n}", f"Ticket operation {n}.", "tickets") for n in range(12)]
    description = CodeMode(tools, discovery="search").description
    assert "- tools: book_flight, get_all_credit_cards, register_credit_card," in description
    assert "- tools.tickets: ticket_0, ticket_1," in description and "ticket_11" in description
    assert "Any tool can be called by name" in description
    assert "callable in the same plan" not in description


def test_a_big_index_samples_across_the_whole_namespace() -> None:
    travel = [_tool(f"book{n}travel", "Travel.") for n in range(120)]  # no shared prefixes
    tickets = [_tool(f"open{n}ticket", "Tickets.") for n in range(120)]
    names = [t.name for t in travel + tickets]
    description = CodeMode(travel + tickets, discovery="search").description
    line = next(line for line in description.splitlines() if line.startswith("- tools:"))
    shown = [n for n in names if re.search(rf"\b{n}\b", line)]
    assert any(n.endswith("travel") for n in shown) and any(n.endswith("ticket") for n in shown)
    assert "240 tools, e.g." in line and len(shown) <= 80  # within the token budget
