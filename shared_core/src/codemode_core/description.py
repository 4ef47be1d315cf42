"""The text of the single code tool's description: short instructions plus the typed API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from codemode_core.sandbox.policy import ALLOWED_MODULES

__all__ = ["namespace_index", "render_description"]

_LISTED = 8
_GROUPS = 12
_INDEX_BUDGET = 400
"""Tokens (about 4 characters each) the index may spend to list every tool name."""

_INSTRUCTIONS = """\
Write a Python plan: the body of an async function calling `await tools.<name>(...)`, with
loops, branches and `await asyncio.gather(...)` for independent calls. `return` a small answer
(or end with an expression); `print()` output comes back too. A failing call raises `ToolError`
(usable as is). You may `import` {modules}; `asyncio` is there. Variables reset between plans;
tool state (logins, current directory, ids) persists. Not available: classes, `type()`,
`_names`, `obj.attr = ...`, files, network, OS; use dicts and `isinstance`."""

_DISCOVERY = """\
Any tool can be called by name, including ones not listed here. To find names and
signatures: `await codemode.search("what you need")` returns matches (name, summary,
signature); `await codemode.describe("tools.<namespace>.<name>")` returns a tool's full stub
(or a namespace's, or a type's)."""


def render_description(stubs: str, *, discovery: bool, index: str | None = None) -> str:
    """Instructions + either the full stubs, or (search mode) a namespace index."""
    text = _INSTRUCTIONS.format(modules=", ".join(sorted(ALLOWED_MODULES - {"asyncio"})))
    if index is not None:
        return f"{text}\n{_DISCOVERY}\n\nAvailable tools:\n{index}"
    if discovery:
        text = f"{text}\n{_DISCOVERY}"
    return f"{text}\n\n```python\n{stubs.rstrip()}\n```"


def namespace_index(
    namespaces: Mapping[str, Sequence[str]], summaries: Mapping[str, str] | None = None
) -> str:
    """One line per namespace: its size and what is in it.

    When every name fits in about `_INDEX_BUDGET` tokens, every name is listed (a model then
    calls tools without searching). Otherwise each namespace shows name groups when its
    names share prefixes (a 1,200-operation API reads as `issues_* (60), repos_* (190), ...`)
    or a sample taken evenly across it, so a catalog that joins several APIs shows some of
    each rather than the first API's tools only. `summaries` (namespace → one line, e.g. an
    API's title) are shown first.
    """
    listed = {ns: list(ids) for ns, ids in namespaces.items() if ids}
    total = sum(len(ids) for ids in listed.values())
    everything = sum(len(i) + 2 for ids in listed.values() for i in ids) <= _INDEX_BUDGET * 4
    lines = []
    for namespace, identifiers in listed.items():
        path = f"tools.{namespace}" if namespace else "tools"
        summary = (summaries or {}).get(namespace)
        if summary:
            path = f"{path} ({summary})"
        if everything or len(identifiers) <= _LISTED:
            lines.append(f"- {path}: {', '.join(identifiers)}")
            continue
        groups = Counter(i.split("_", 1)[0] for i in identifiers)
        if len(groups) * 2 > len(identifiers):  # names share no prefixes: show a sample
            share = max(_LISTED, _INDEX_BUDGET // 5 * len(identifiers) // total)
            sample = ", ".join(_spread(identifiers, share))
            lines.append(f"- {path}: {len(identifiers)} tools, e.g. {sample}, …")
            continue
        common = ", ".join(f"{g}_* ({n})" for g, n in groups.most_common(_GROUPS))
        more = f", {len(groups) - _GROUPS} more groups" if len(groups) > _GROUPS else ""
        lines.append(f"- {path}: {len(identifiers)} tools: {common}{more}")
    return "\n".join(lines)


def _spread(items: Sequence[str], count: int) -> list[str]:
    """`count` items taken evenly from start to end (a catalog's APIs come one after another)."""
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(k * step)] for k in range(count)]
