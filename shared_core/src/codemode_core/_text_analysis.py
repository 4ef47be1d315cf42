"""Words of tool names, descriptions and search queries, normalized so that they meet.

A query says "repo", the tool is `repos_list_branches`, its summary says "repositories": all
three must become the same term. Names are split at `_`, `-`, `.` and camelCase humps; words
are lower-cased, common API abbreviations spelled out, and English suffixes removed by a light,
dependency-free stemmer (plural and verb endings, the variants tool vocabularies use).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["ACTION_SYNONYMS", "stem", "terms"]

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Za-z][a-z]*|\d+")

STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "one",
        "or",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "this",
        "those",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "will",
        "with",
        "you",
        "your",
    }
)

_ABBREVIATIONS = {
    "repo": "repository",
    "repos": "repository",
    "org": "organization",
    "orgs": "organization",
    "pr": "pull",
    "prs": "pull",
    "config": "configuration",
    "env": "environment",
    "auth": "authentication",
    "info": "information",
    "msg": "message",
    "db": "database",
    "dir": "directory",
    "img": "image",
    "doc": "document",
    "docs": "document",
    "qty": "quantity",
    "addr": "address",
    "num": "number",
    "temp": "temperature",
}

ACTION_SYNONYMS: dict[str, tuple[str, ...]] = {
    # How people ask for the usual operations of an API, and the words tools are named with.
    "open": ("create",),
    "new": ("create",),
    "make": ("create",),
    "add": ("create",),
    "post": ("create",),
    "publish": ("create",),
    "register": ("create",),
    "start": ("create",),
    "share": ("create",),
    "submit": ("create",),
    "write": ("create", "update"),
    "store": ("create", "update"),
    "save": ("create", "update"),
    "upsert": ("create", "update"),
    "remove": ("delete",),
    "erase": ("delete",),
    "drop": ("delete",),
    "kick": ("remove", "delete"),
    "fetch": ("get",),
    "read": ("get",),
    "retrieve": ("get",),
    "show": ("get",),
    "lookup": ("get", "search"),
    "look": ("search", "get"),
    "find": ("search", "list"),
    "all": ("list",),
    "list": ("all",),
    "which": ("list", "get"),
    "who": ("list",),
    "many": ("count", "list"),
    "recent": ("list",),
    "edit": ("update",),
    "change": ("update",),
    "modify": ("update",),
    "rename": ("update",),
    "set": ("update",),
    "close": ("update",),
    "stop": ("cancel",),
    "abort": ("cancel",),
    "me": ("authenticated",),
    "my": ("authenticated",),
    "mine": ("authenticated",),
    "current": ("authenticated",),
    "signed": ("authenticated",),
    "logged": ("authenticated",),
    "newest": ("latest",),
    "detail": ("get",),
    "details": ("get",),
    "every": ("all", "list"),
    "strip": ("remove", "delete"),
    "history": ("list",),
    "account": ("user",),
    "profile": ("user", "get"),
    "login": ("username",),
    "give": ("add", "update"),
    "grant": ("add",),
    "revoke": ("remove", "delete"),
    "move": ("update",),
    "count": ("list",),
    "number": ("count", "list"),
}


def terms(text: str) -> list[str]:
    """The normalized terms of a text, in order (repeats kept: they are term frequency)."""
    out = []
    for raw in _WORD.findall(text):
        word = raw.lower()
        word = _ABBREVIATIONS.get(word, word)
        if word in STOPWORDS:
            continue
        out.append(stem(word))
    return out


def words(text: str) -> list[str]:
    """Lower-cased raw words (for looking up action synonyms before stemming)."""
    return [raw.lower() for raw in _WORD.findall(text)]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stemmer: `issues`→`issue`, `branches`→`branch`, `created`→`creat`.

    Only inflections are removed (plurals, -ed, -ing, -ly) and a few derivations that tool
    text mixes freely (`-ation`/`-ment`/`-er`): enough for a query and a name to meet, without
    the over-merging of an aggressive stemmer. Deterministic and cached.
    """
    w = word
    if len(w) <= 3 or w.isdigit():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "ches", "shes", "xes", "zes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix, keep in (("ingly", 4), ("edly", 4), ("ing", 4), ("ed", 4), ("ly", 4)):
        if w.endswith(suffix) and len(w) - len(suffix) >= keep - 1:
            w = w[: -len(suffix)]
            if w.endswith(("at", "bl", "iz")):
                w += "e"  # creat-ed → create, enabl-ed → enable
            elif len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]  # stopp-ed → stop
            break
    for suffix in ("ation", "ment", "ions", "ion", "ors", "or", "ers", "er", "e", "y"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            w = w[: -len(suffix)]
            break
    return w
