"""Progressive discovery: `codemode.search(query)` and `codemode.describe(name)` for plans.

The model reads a short index instead of every schema, then pulls what it needs from inside a
plan. Ranking is BM25 over each tool's name, namespace and description, with name tokens
weighted up (a query word that names the tool matters more than one in its prose).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from codemode_core.catalog import Catalog, CatalogEntry

__all__ = ["SearchIndex"]

_WORD = re.compile(r"[A-Za-z][a-z]*|[A-Z]+(?![a-z])|\d+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "to",
        "for",
        "in",
        "on",
        "by",
        "with",
        "from",
        "or",
        "is",
        "are",
        "be",
        "this",
        "that",
        "it",
        "as",
        "at",
    ]
)
_NAME_WEIGHT = 3
_K1 = 1.2
_B = 0.75


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; splits snake_case, camelCase, dots and dashes; light stemming."""
    tokens = []
    for raw in _WORD.findall(text):
        word = raw.lower()
        if word in _STOP:
            continue
        for suffix in ("ing", "es", "s"):
            if len(word) > len(suffix) + 2 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        tokens.append(word)
    return tokens


@dataclass(frozen=True, slots=True)
class _Document:
    entry: CatalogEntry
    terms: Counter[str]
    length: int


class SearchIndex:
    """BM25 over the catalog; built once per `CodeMode`, queried per `codemode.search`."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        docs: list[_Document] = []
        for entry in catalog:
            name_tokens = tokenize(entry.identifier) + tokenize(entry.namespace or "")
            text_tokens = tokenize(entry.tool.description)
            terms = Counter(text_tokens)
            for token in name_tokens:
                terms[token] += _NAME_WEIGHT
            docs.append(_Document(entry, terms, sum(terms.values())))
        self._docs = docs
        self._avg_length = sum(d.length for d in docs) / len(docs) if docs else 1.0
        frequency: Counter[str] = Counter()
        for doc in docs:
            frequency.update(doc.terms.keys())
        total = len(docs)
        self._idf = {
            term: math.log(1 + (total - n + 0.5) / (n + 0.5)) for term, n in frequency.items()
        }
        self._postings: dict[str, list[int]] = {}
        for index, doc in enumerate(docs):
            for term in doc.terms:
                self._postings.setdefault(term, []).append(index)

    def search(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        """Best matches first: `{name, summary, signature}` dicts (plain data for plans)."""
        limit = max(1, min(int(limit), 50))
        scores: dict[int, float] = {}
        for term in set(tokenize(query)):
            idf = self._idf.get(term)
            if idf is None:
                continue
            for index in self._postings[term]:
                doc = self._docs[index]
                tf = doc.terms[term]
                norm = tf * (_K1 + 1) / (tf + _K1 * (1 - _B + _B * doc.length / self._avg_length))
                scores[index] = scores.get(index, 0.0) + idf * norm
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [self._result(self._docs[index].entry) for index, _ in ranked]

    @staticmethod
    def _result(entry: CatalogEntry) -> dict[str, Any]:
        return {
            "name": entry.qualified_name,
            "summary": entry.signature.summary,
            "signature": entry.signature.text,
        }
