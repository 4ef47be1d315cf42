"""Discovery: search quality (recall@5 on the labelled GitHub queries) and latency over
10,000 tools, for codemode's index and for `bm25s` (the library we compared it with).

The 10,000-tool catalog is real tool text: GitHub's 1,223 REST operations under eight
namespaces plus the 682 BFCL tools of the schema corpus (first 10,000 taken).

BFCL in search mode: for each of the 200 multi-turn base tasks, a `CodeMode` of the APIs the
task involves (`discovery="search"`); for each turn, `codemode.search` with the user's own
words as the query; per API, the share of the tools the ground truth calls that are among the
top 3 hits.
"""

from __future__ import annotations

import gzip
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from codemode_core import Tool
from codemode_core.catalog import Catalog
from codemode_core.connectors import OpenAPIConnector
from codemode_core.connectors._openapi_spec import read_operations
from codemode_core.discovery import SearchIndex

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "shared_core" / "tests" / "data"


def github_tools(namespace: str = "github") -> list[Tool]:
    with gzip.open(DATA / "openapi" / "github_api.json.gz") as file:
        document = json.load(file)
    connector = OpenAPIConnector(document, namespace=namespace)
    return [connector.tool(op) for op in read_operations(document, "github")]


def labelled_queries() -> dict[str, list[dict[str, Any]]]:
    data = json.loads((DATA / "openapi" / "github_queries.json").read_text())
    datadog = json.loads((DATA / "openapi" / "datadog_queries.json").read_text())
    return {"tuning": data["queries"], "held_out": data["held_out"], "datadog": datadog["queries"]}


def datadog_tools() -> list[Tool]:
    with gzip.open(DATA / "openapi" / "datadog_v2.json.gz") as file:
        document = json.load(file)
    connector = OpenAPIConnector(document, namespace="datadog")
    return [connector.tool(op) for op in read_operations(document, "datadog")]


def large_catalog(size: int = 10_000) -> Catalog:
    base = github_tools()
    tools = [
        Tool(t.name, t.description, t.input_schema, t.fn, None, f"gh{i}")
        for i in range(8)
        for t in base
    ]
    for path in sorted((DATA / "schemas").glob("bfcl_*.json")):
        seen: set[str] = set()
        for spec in json.loads(path.read_text())["tools"]:
            if spec["name"] in seen:
                continue
            seen.add(spec["name"])
            tools.append(
                Tool(
                    spec["name"],
                    spec["description"] or "",
                    spec["input_schema"],
                    _noop,
                    None,
                    path.stem,
                )
            )
    return Catalog(tools[:size])


def _noop(**_: Any) -> None:
    return None


Searcher = Callable[[str, int], list[str]]


def recall_at_5(search: Searcher, catalog: Catalog, queries: Sequence[dict[str, Any]]) -> float:
    qualified = {e.tool.name: e.qualified_name for e in catalog}
    hits = 0
    for item in queries:
        found = search(item["query"], 5)
        hits += any(qualified[r] in found for r in item["relevant"])
    return hits / len(queries)


def latency_ms(search: Searcher, queries: Sequence[str], rounds: int = 5) -> float:
    timings = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            search(query, 10)
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def codemode_searcher(catalog: Catalog) -> Searcher:
    index = SearchIndex(catalog)
    return lambda query, limit: [r["name"] for r in index.search(query, limit)]


def bm25s_searcher(catalog: Catalog) -> Searcher:
    """bm25s over the same fields, with its own tokenizer and English stopwords."""
    import bm25s

    entries = list(catalog)
    texts = []
    for entry in entries:
        name = entry.identifier.replace("_", " ")
        summary = entry.signature.summary
        rest = entry.tool.description.removeprefix(summary)[:300]
        texts.append(" ".join([name] * 3 + [summary] * 2 + [rest]))
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, show_progress=False), show_progress=False)

    def search(query: str, limit: int) -> list[str]:
        tokens = bm25s.tokenize([query], show_progress=False)
        if not tokens.vocab:
            return []
        ids, _ = retriever.retrieve(tokens, k=limit, show_progress=False, n_threads=0)
        return [entries[int(i)].qualified_name for i in ids[0]]

    return search


def bm25s_analyzed_searcher(catalog: Catalog) -> Searcher:
    """bm25s fed codemode's own terms (same fields and weights), without the re-ranking."""
    import bm25s

    from codemode_core._text_analysis import terms

    entries = list(catalog)
    corpus = []
    for entry in entries:
        summary = entry.signature.summary
        rest = entry.tool.description.removeprefix(summary)[:300]
        name = terms(entry.identifier) + terms(entry.namespace or "")
        corpus.append(name * 3 + terms(summary) * 2 + terms(rest))
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)

    def search(query: str, limit: int) -> list[str]:
        tokens = [t for t in terms(query) if t in retriever.vocab_dict]
        if not tokens:
            return []
        ids, _ = retriever.retrieve([tokens], k=limit, show_progress=False, n_threads=0)
        return [entries[int(i)].qualified_name for i in ids[0]]

    return search


def run() -> list[tuple[str, str, str, str, str, str]]:
    queries = labelled_queries()
    github = Catalog(github_tools())
    datadog = Catalog(datadog_tools())
    large = large_catalog()
    texts = [q["query"] for group in queries.values() for q in group]
    rows = []
    searchers: list[tuple[str, Callable[[Catalog], Searcher]]] = [
        ("codemode SearchIndex", codemode_searcher),
        ("bm25s 0.3 (own tokenizer)", bm25s_searcher),
        ("bm25s 0.3 (codemode's terms, no re-rank)", bm25s_analyzed_searcher),
    ]
    for label, make in searchers:
        small = make(github)
        started = time.perf_counter()
        big = make(large)
        build = time.perf_counter() - started
        other = make(datadog)
        rows.append(
            (
                label,
                f"{recall_at_5(small, github, queries['tuning']):.3f}",
                f"{recall_at_5(small, github, queries['held_out']):.3f}",
                f"{recall_at_5(other, datadog, queries['datadog']):.3f}",
                f"{latency_ms(big, texts):.3f}",
                f"{build:.2f}",
            )
        )
    return rows


def bfcl_search_rows() -> list[tuple[str, int, int]]:
    """(API, ground-truth tools found in the top 3, ground-truth tools) per BFCL API."""
    from bfcl_corpus import api_tools, tasks_file

    from codemode_core import CodeMode

    catalogs = api_tools()
    found: dict[str, int] = dict.fromkeys(catalogs, 0)
    wanted: dict[str, int] = dict.fromkeys(catalogs, 0)
    for task in tasks_file()["tasks"]:
        owner = {t.name: api for api in task["classes"] for t in catalogs[api]}
        tools = [t for api in task["classes"] for t in catalogs[api]]
        cm = CodeMode(tools, discovery="search", executor="inprocess")
        for turn in task["turns"]:
            top = {hit["name"] for hit in cm._search(turn["query"], 3)}
            for name in turn["tools"]:
                api = owner.get(name)
                if api is None:  # a tool of an API the task does not list (none in base)
                    continue
                wanted[api] += 1
                found[api] += f"tools.{name}" in top
    return [(api, found[api], wanted[api]) for api in catalogs]


def render_bfcl(rows: list[tuple[str, int, int]]) -> str:
    lines = ["| BFCL API | ground-truth tools in the top 3 | share |", "|---|---:|---:|"]
    lines += [f"| {api} | {f} / {w} | {f / w:.0%} |" for api, f, w in rows if w]
    found, wanted = sum(r[1] for r in rows), sum(r[2] for r in rows)
    lines.append(f"| overall | {found} / {wanted} | {found / wanted:.0%} |")
    return "\n".join(lines)


def render(rows: list[tuple[str, str, str, str, str, str]]) -> str:
    header = (
        "ranking",
        "recall@5 GitHub, tuning (86)",
        "recall@5 GitHub, held-out (32)",
        "recall@5 Datadog, untuned (32)",
        "median ms / 10k tools",
        "build s",
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(run()))
    print()
    print(render_bfcl(bfcl_search_rows()))
