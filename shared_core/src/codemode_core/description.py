"""The text of the single code tool's description: short instructions plus the typed API."""

from __future__ import annotations

from codemode_core.sandbox.policy import ALLOWED_MODULES

__all__ = ["render_description"]

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
