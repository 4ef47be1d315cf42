"""Shortening long prose without losing what a model needs from it.

Descriptions are cut only where they are long, only between sentences, and never inside an
enumeration: a sentence that lists allowed values (`[Enum]: [...]`, `one of: a, b, c`,
`'x', 'y' or 'z'`) is kept whole however long it is, since a model cannot guess a value it
never saw. Whoever shortens says so with a marker pointing at `codemode.describe`, which
renders everything whole.
"""

from __future__ import annotations

import re

__all__ = ["describe_marker", "shorten", "without_default_sentence", "without_otherwise"]

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=\S)|\n\s*\n")
_ENUMERATION = re.compile(
    r"\[enum\]|\benum\b|\bone of\b|\boptions?\b|\bvalues?\b|\ballowed\b|\bpossible\b|\beither\b"
    r"|\bsupported\b|\bvalid\b|\[[^\]]*,[^\]]*\]"
    r"|(['\"`])[^'\"`]{1,40}\1\s*,\s*(['\"`])[^'\"`]{1,40}\2",
    re.IGNORECASE,
)


def describe_marker(target: str) -> str:
    """The note that says where the whole text is."""
    return f'(shortened: `codemode.describe("{target}")` has the full text)'


def shorten(text: str, limit: int) -> tuple[str, bool]:
    """`text` as one line of at most about `limit` characters, and whether anything was cut.

    Whole sentences are kept from the start while they fit; after that, only sentences that
    enumerate values. A first sentence longer than `limit` is cut at a word boundary with `…`
    (unless it enumerates, then it stays whole).
    """
    line = " ".join(str(text).split())
    if len(line) <= limit:
        return line, False
    sentences = [s for s in _SENTENCE_END.split(line) if s and s.strip()]
    kept: list[str] = []
    size = 0
    cut = False
    for index, sentence in enumerate(sentences):
        enumerates = _ENUMERATION.search(sentence) is not None
        if enumerates or size + len(sentence) + 1 <= limit:
            kept.append(sentence)
            size += len(sentence) + 1
            continue
        cut = True
        if index == 0:
            kept.append(_cut_words(sentence, limit))
            size += limit
    return " ".join(kept), cut


def _cut_words(sentence: str, limit: int) -> str:
    head = sentence[:limit]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:") + "…"


_DEFAULT_SENTENCE = re.compile(
    r"(?:^|(?<=[.!?]))\s*Defaults?\s*(?:value\s+)?(?:is|to|:)?\s*(?P<value>[^.!?]*?)\s*[.!?]?\s*$",
    re.IGNORECASE,
)
_OTHERWISE = re.compile(r",?\s*(?:and\s+)?False otherwise(?=[.;]|$)")


def without_default_sentence(text: str, default: str) -> str:
    """`text` without a sentence that only says the default the signature already shows
    ("Defaults to 10." beside `lines: int = 10`); any other sentence about defaults stays."""
    sentences = [s for s in _SENTENCE_END.split(" ".join(text.split())) if s]
    shown = {default.lower(), default.strip("'\"").lower()}
    if default in ("''", '""'):
        shown |= {"an empty string", "empty string", "''", '""'}
    kept = []
    for sentence in sentences:
        match = _DEFAULT_SENTENCE.fullmatch(sentence)
        if match is not None and match.group("value").strip("'\"`").lower() in shown:
            continue
        kept.append(sentence)
    return " ".join(kept)


def without_otherwise(text: str) -> str:
    """A boolean's note without ", False otherwise": a flag that is True when X is False
    when not X, so the clause says nothing (other False clauses are kept)."""
    return _OTHERWISE.sub("", text)
