"""Text that many tools of one namespace open with, found so it can be said once.

Generated catalogs start every description the same way ("This tool belongs to the vehicle
control system, which allows users to … Tool description: "): in BFCL's vehicle API that one
sentence is a quarter of the stubs, and in search results it fills every summary before the
words that tell the tools apart. The shared part is found per namespace, cut only where a
sentence (or a `Label:`) ends, so what stays with each tool reads on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["display_preamble", "shared_preambles"]

MIN_TOOLS = 3
"""A preamble is text that at least this many tools share (all of them, in a smaller group)."""
MIN_CHARS = 40
"""Shorter shared openings ("Get the ") are not worth a sentence of their own."""

_BOUNDARY = re.compile(r"(?<=[.!?:])\s+|\n\s*")
_TRAILING_LABEL = re.compile(r"(?:^|(?<=[.!?]))\s*[A-Z][\w-]*(?: [\w-]+){0,2}:\s*$")


def shared_preambles(descriptions: Sequence[str]) -> list[str]:
    """For each description, the leading text it shares with its group ("" when none).

    Tools are grouped by their first sentence; a group of at least `MIN_TOOLS` (or every
    tool, when there are two) shares the longest opening, ending at a sentence boundary, that
    all its members have and that leaves each of them some text of its own.
    """
    groups: dict[str, list[int]] = {}
    for index, text in enumerate(descriptions):
        cuts = _cuts(text)
        if cuts:
            groups.setdefault(text[: cuts[0]], []).append(index)
    found = [""] * len(descriptions)
    minimum = MIN_TOOLS if len(descriptions) > 2 else 2
    for members in groups.values():
        if len(members) < minimum:
            continue
        texts = [descriptions[i] for i in members]
        for cut in reversed(_cuts(texts[0])):
            prefix = texts[0][:cut]
            if len(prefix.strip()) < MIN_CHARS:
                break
            if all(t.startswith(prefix) and t[cut:].strip() for t in texts):
                for i in members:
                    found[i] = prefix
                break
    return found


def display_preamble(preamble: str) -> str:
    """The preamble as a namespace says it: without a dangling label (`Tool description:`)."""
    text = " ".join(preamble.split())
    trimmed = _TRAILING_LABEL.sub("", text).strip()
    return trimmed or text


def _cuts(text: str) -> list[int]:
    """Offsets where a sentence (or a `Label:`) ends and the next text begins."""
    return [m.end() for m in _BOUNDARY.finditer(text) if text[m.end() :].strip()]
