"""Progressive discovery: the ranking behind `codemode.search(query)` in plans.

Two stages, cheap enough for 10,000 tools in well under 2 ms per query:

1. **BM25** over each tool's fields, weighted by how much they say about the tool: its name
   (×3), the first sentence of its description (×2), the start of the rest (×1) and its
   parameters' names and enumerated values (×1: "in START mode" finds `startEngine`). Term
   weights are computed once when the index is built, so a query only adds up numbers, and
   common terms stop being walked once they can no longer change the top of the ranking.
   Query words also bring in the usual API verbs they stand for at half weight ("open" →
   create, "remove" → delete) and, for terms of four letters or more, the longer terms they
   begin ("contribut" finds "contributor").
2. **Re-ranking** of the best 30 by how much of the tool's *name* the query covers: a query
   that names every word of `issues_create` wants that tool, not `orgs_create_issue_field`
   whose long description happens to repeat the words.
3. **A relevance floor**: only hits that score at least `_FLOOR` of the best one are returned
   (fewer than `limit` when fewer match: padding with unrelated tools misleads a model), and
   when the best hit has under half of the query's (idf-weighted) words and the query names
   under half of its name, every hit says so with a `note`, so the model knows to search
   again or read the index instead of trusting the closest miss.

A tool's summary and description are its own text: an opening it shares with its namespace
("This tool belongs to the travel system, which allows users to … manage credit cards …") is
not indexed, since words every tool of the namespace has tell none of them apart (and would
make "credit card" as common as "the" there).

Hand-written rather than on `bm25s`: the quality comes from the query expansion and the
re-ranking, which bm25s has no place for; both are under 1 ms; and the core needs no numpy.
docs/discovery.md has the comparison.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
from collections import Counter
from typing import Any

from codemode_core._text_analysis import ACTION_SYNONYMS, terms, words
from codemode_core.catalog import Catalog, CatalogEntry

__all__ = ["SearchIndex"]

_FIELD_WEIGHTS = (3, 2, 1, 1)  # name, summary, description, parameters
_DESCRIPTION_CHARS = 300
_COMMON_SHARE = 0.02
_COMMON_MIN = 20
"""A parameter term more tools than this have (2 %, at least 20) is not indexed."""
_K1 = 1.2
_B = 0.75
_SYNONYM_WEIGHT = 0.5
_PREFIX_WEIGHT = 0.5
_PREFIX_MIN = 4
_PREFIX_MAX_TERMS = 8
_POOL = 30
_NAME_BONUS = 1.0
_MAX_LIMIT = 50
_FLOOR = 0.5
_WEAK_COVERAGE = 0.5
WEAK_NOTE = "weak match: no tool matched this query well"


class SearchIndex:
    """BM25 plus name re-ranking over a catalog; built once per catalog, queried per search."""

    def __init__(self, catalog: Catalog) -> None:
        self._entries: list[CatalogEntry] = list(catalog)
        self._name_terms: list[frozenset[str]] = []
        documents: list[Counter[str]] = []
        parameters = _distinctive([terms(_parameter_text(e)) for e in self._entries])
        for entry, parameter_terms in zip(self._entries, parameters, strict=True):
            name = terms(entry.identifier)
            self._name_terms.append(frozenset(name))
            summary = entry.signature.summary
            preamble = entry.signature.preamble
            own = entry.tool.description.strip()[len(preamble.strip()) :].strip()
            rest = own.removeprefix(summary)[:_DESCRIPTION_CHARS]
            counts: Counter[str] = Counter()
            fields = (
                name + terms(entry.namespace or ""),
                terms(summary),
                terms(rest),
                parameter_terms,
            )
            for weight, field_terms in zip(_FIELD_WEIGHTS, fields, strict=True):
                for term in field_terms:
                    counts[term] += weight
            documents.append(counts)
        self._terms = [frozenset(d) for d in documents]
        self._postings, self._idf = _weighted_postings(documents)
        self._max_contribution = {t: max(p.values()) for t, p in self._postings.items()}
        self._vocabulary = sorted(self._postings)

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        """Best matches above the relevance floor: `{name, summary, signature}` dicts (plain
        data for plans), each with a `note` when nothing matched the query well."""
        limit = max(1, min(int(limit), _MAX_LIMIT))
        weights = self._query_weights(str(query))
        pool_size = max(_POOL, limit)
        scores = self._bm25_pool(weights, pool_size)
        if not scores:
            return []
        pool = sorted(scores.items(), key=_by_score)[:pool_size]
        top = pool[0][1]
        ranked = [
            (score / top + _NAME_BONUS * self._name_cover(index, weights), index)
            for index, score in pool
        ]
        ranked.sort(key=lambda item: (-item[0], item[1]))
        best = ranked[0][0]
        kept = [index for score, index in ranked[:limit] if score >= _FLOOR * best]
        results = [_result(self._entries[index]) for index in kept]
        first = kept[0]
        if (
            max(self._coverage(first, str(query)), self._name_cover(first, weights))
            < _WEAK_COVERAGE
        ):
            for result in results:
                result["note"] = WEAK_NOTE
        return results

    def _coverage(self, index: int, query: str) -> float:
        """Share of the query's own words (idf-weighted) that the tool's text has; a word no
        tool has counts as the rarest word does."""
        asked = set(terms(query))
        rarest = max(self._idf.values(), default=0.0)
        total = sum(self._idf.get(t, rarest) for t in asked)
        if not total:
            return 0.0
        have = self._terms[index]
        return sum(self._idf[t] for t in asked if t in have) / total

    def _bm25_pool(self, weights: dict[str, float], pool_size: int) -> dict[int, float]:
        """BM25 scores that contain (at least) the exact top `pool_size` documents.

        Terms are added rarest first. Once the documents already scored hold a full pool
        whose weakest member beats anything the remaining terms alone could give a new
        document (their upper bounds summed), the long posting lists of common words are
        no longer walked: those words only add to the documents already in hand.
        """
        postings = self._postings
        order = sorted(weights, key=lambda t: len(postings[t]))
        bounds = [weights[t] * self._max_contribution[t] for t in order]
        remaining = sum(bounds)
        scores: dict[int, float] = {}
        get = scores.get
        for term, bound in zip(order, bounds, strict=True):
            weight = weights[term]
            posting = postings[term]
            if len(posting) > len(scores) >= pool_size:
                threshold = heapq.nlargest(pool_size, scores.values())[-1]
                if remaining < threshold:  # no unscored document can reach the pool now
                    lookup = posting.get
                    for index in scores:
                        contribution = lookup(index)
                        if contribution is not None:
                            scores[index] += weight * contribution
                    remaining -= bound
                    continue
            for index, contribution in posting.items():
                scores[index] = get(index, 0.0) + weight * contribution
            remaining -= bound
        return scores

    def _query_weights(self, query: str) -> dict[str, float]:
        weights: dict[str, float] = {}
        for term in terms(query):
            if term in self._postings:
                weights[term] = 1.0
        for word in words(query):
            synonyms = ACTION_SYNONYMS.get(word)
            if synonyms is None and _is_plural(word):
                synonyms = ("list",)  # "pull requests of a repo": a plural asks for a list
            for synonym in synonyms or ():
                for term in terms(synonym):
                    if term in self._postings:
                        weights.setdefault(term, _SYNONYM_WEIGHT)
        for term in [t for t in terms(query) if len(t) >= _PREFIX_MIN]:
            for longer in self._completions(term):
                weights.setdefault(longer, _PREFIX_WEIGHT)
        return weights

    def _completions(self, prefix: str) -> list[str]:
        vocabulary = self._vocabulary
        start = bisect.bisect_right(vocabulary, prefix)
        found = []
        for term in vocabulary[start : start + _PREFIX_MAX_TERMS]:
            if not term.startswith(prefix):
                break
            found.append(term)
        return found

    def _name_cover(self, index: int, weights: dict[str, float]) -> float:
        """Share of the tool's name the query asked for (synonyms count at their weight)."""
        name = self._name_terms[index]
        if not name:
            return 0.0
        return sum(weights.get(term, 0.0) for term in name) / len(name)


def _weighted_postings(
    documents: list[Counter[str]],
) -> tuple[dict[str, dict[int, float]], dict[str, float]]:
    """term → {document: its BM25 contribution}, computed once for every query; and the
    terms' idf."""
    count = len(documents)
    lengths = [sum(d.values()) for d in documents]
    average = (sum(lengths) / count) if count else 1.0
    frequency: Counter[str] = Counter()
    for document in documents:
        frequency.update(document.keys())
    idf = {t: math.log(1 + (count - n + 0.5) / (n + 0.5)) for t, n in frequency.items()}
    postings: dict[str, dict[int, float]] = {}
    for index, document in enumerate(documents):
        norm = _K1 * (1 - _B + _B * lengths[index] / average)
        for term, tf in document.items():
            contribution = idf[term] * tf * (_K1 + 1) / (tf + norm)
            postings.setdefault(term, {})[index] = contribution
    return postings, idf


def _distinctive(fields: list[list[str]]) -> list[list[str]]:
    """Each tool's parameter terms without those most tools have (`owner`, `repo` on most of
    GitHub's operations): they tell no tool apart, and their long posting lists would be
    walked by every query that says "repository"."""
    frequency: Counter[str] = Counter()
    for field in fields:
        frequency.update(set(field))
    common = max(_COMMON_MIN, len(fields) * _COMMON_SHARE)
    return [[t for t in field if frequency[t] <= common] for field in fields]


def _parameter_text(entry: CatalogEntry) -> str:
    """What a tool's parameters say by their names and the values an enumeration allows
    (`ignitionMode: Literal['START', 'STOP']` answers "start the engine in START mode").

    Their notes are left out: in a big API they repeat the same words across hundreds of
    operations ("The number of results per page"), which tripled the search time over 10,000
    tools for two points of top-3 hits on BFCL.
    """
    parts = []
    for parameter in entry.signature.parameters:
        parts.append(parameter.key)
        parts.extend(
            m.group(1) or m.group(2) for m in _LITERAL_VALUE.finditer(parameter.annotation)
        )
    return " ".join(parts)


_LITERAL_VALUE = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def _is_plural(word: str) -> bool:
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is"))


def _by_score(item: tuple[int, float]) -> tuple[float, int]:
    return (-item[1], item[0])


def _result(entry: CatalogEntry) -> dict[str, Any]:
    return {
        "name": entry.qualified_name,
        "summary": entry.signature.summary,
        "signature": entry.signature.text,
    }
