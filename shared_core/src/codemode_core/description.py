"""The text of the single code tool's description: short instructions plus the typed API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from codemode_core.sandbox.policy import ALLOWED_MODULES

__all__ = ["namespace_index", "render_description"]

_LISTED = 8
_GROUPS = 12

_INSTRUCTIONS = """\
Run a Python plan that calls the tools below and returns only what you need.
Write the body of an async function: `await tools.<name>(...)`, loop, branch, filter, and
`return` the result (or end with an expression). Run independent calls in parallel with
`await asyncio.gather(...)`. `print()` goes to the logs you get back. A failing tool call
raises `ToolError` (catch it to recover). Intermediate data stays in the plan: return a
small, final answer. Imports: {modules}. No files, network or OS access."""

_DISCOVERY = """\
Find tools with `await codemode.search("what you need")` (returns name, summary, signature)
and read one with `await codemode.describe("tools.<namespace>.<name>")`; found tools are
callable in the same plan."""


def render_description(stubs: str, *, discovery: bool, index: str | None = None) -> str:
    """Instructions + either the full stubs, or (search mode) a namespace index."""
    text = _INSTRUCTIONS.format(modules=", ".join(sorted(ALLOWED_MODULES)))
    if index is not None:
        return f"{text}\n{_DISCOVERY}\n\nAvailable tools:\n{index}"
    if discovery:
        text = f"{text}\n{_DISCOVERY}"
    return f"{text}\n\n```python\n{stubs.rstrip()}\n```"


def namespace_index(
    namespaces: Mapping[str, Sequence[str]], summaries: Mapping[str, str] | None = None
) -> str:
    """One line per namespace: its size and what is in it (names, or name groups when big).

    A 1,200-operation API reads as `issues_* (60), repos_* (190), ...`: enough for a model to
    aim its first `codemode.search`, for a few dozen tokens. `summaries` (namespace → one
    line, e.g. an API's title) are shown first.
    """
    lines = []
    for namespace, identifiers in namespaces.items():
        if not identifiers:
            continue
        path = f"tools.{namespace}" if namespace else "tools"
        summary = (summaries or {}).get(namespace)
        if summary:
            path = f"{path} ({summary})"
        if len(identifiers) <= _LISTED:
            lines.append(f"- {path}: {', '.join(identifiers)}")
            continue
        groups = Counter(i.split("_", 1)[0] for i in identifiers)
        if len(groups) * 2 > len(identifiers):  # names share no prefixes: show some names
            sample = ", ".join(identifiers[:_LISTED])
            lines.append(f"- {path}: {len(identifiers)} tools ({sample}, …)")
            continue
        common = ", ".join(f"{g}_* ({n})" for g, n in groups.most_common(_GROUPS))
        more = f", {len(groups) - _GROUPS} more groups" if len(groups) > _GROUPS else ""
        lines.append(f"- {path}: {len(identifiers)} tools: {common}{more}")
    return "\n".join(lines)
