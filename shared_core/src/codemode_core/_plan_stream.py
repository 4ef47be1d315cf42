"""Watch a plan arrive as text deltas, and offer each read it makes as soon as it is written.

A call is final once the lines holding it are complete: Python cannot continue a statement
past a newline outside brackets, so a call inside a prefix of whole lines that parses is the
call the finished plan will contain. The watcher therefore parses the text up to its last
newline whenever new lines bring a `tools` name, and walks it with the pre-flight checker
(`_preflight.survey`, the same walk that judges a plan before it runs, so `tools` shadowed by
the plan's own names is understood the same way). A call is offered when its tool is declared
`read_only`, needs no approval, and every argument is a literal (`_literal_fit.literal_value`).

The plan so far must pass the pre-flight check and the sandbox policy; once a prefix fails
either, nothing more is offered. A prefix that does not parse yet (an open bracket, a block
header without its body) is simply tried again with the next line.

Each look costs time in proportion to the prefix (about 8 µs a character: parse, walk,
policy), so looking at every line of a long plan would cost time quadratic in its length. Up
to `EVERY_LINE_CHARS` the watcher looks at every line; past it, only once the text not yet
looked at is an eighth of what was, so all looks together cost a few times one look at the
whole plan; past `MAX_WATCHED_CHARS` it stops.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from codemode_core._jsonify import jsonify
from codemode_core._literal_fit import NOT_LITERAL, literal_value
from codemode_core._preflight import StaticCall, survey
from codemode_core.dispatch.base import ToolCall
from codemode_core.errors import ToolError
from codemode_core.sandbox.compiler import policy_problem
from codemode_core.sandbox.rewrite import parse_plan

if TYPE_CHECKING:
    from codemode_core.catalog import Catalog
    from codemode_core.dispatch.speculate import Speculator

__all__ = ["EVERY_LINE_CHARS", "MAX_WATCHED_CHARS", "PlanWatcher"]

EVERY_LINE_CHARS = 1_500
"""Plans up to this size (about 30 lines) are looked at whenever a line completes."""
MAX_WATCHED_CHARS = 20_000
"""Past this many characters (about 400 lines) a plan is no longer watched."""
_GROWTH = 8
"""Past `EVERY_LINE_CHARS`, the next look waits for the prefix to grow by 1/`_GROWTH`."""


class PlanWatcher:
    """Collects one plan's deltas and offers its speculable calls to a `Speculator`."""

    def __init__(self, catalog: Catalog, speculator: Speculator) -> None:
        self._catalog = catalog
        self._speculator = speculator
        self._parts: list[str] = []
        self._parsed_to = 0
        """End of the longest prefix of whole lines that parsed (new calls lie after it)."""
        self._looked_to = 0
        """End of the prefix last tried (parsed or not)."""
        self.lines = 0
        """Whole lines received so far (for the message when the stream breaks off)."""

    @property
    def text(self) -> str:
        """The plan as received so far."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def stop(self) -> None:
        """Offer nothing more (the rest of the plan is still collected)."""
        self._speculator.stop()

    def feed(self, delta: str) -> None:
        """Take the next delta; offer the calls it completes."""
        self._parts.append(delta)
        self.lines += delta.count("\n")
        if "\n" not in delta or not self._speculator.open:
            return
        text = self.text
        end = text.rfind("\n") + 1
        if end > MAX_WATCHED_CHARS:
            self._speculator.stop()
            return
        if "tools" not in text[self._parsed_to : end]:
            return
        if end > EVERY_LINE_CHARS and (end - self._looked_to) * _GROWTH < self._looked_to:
            return  # a long plan: look again once it has grown enough
        self._looked_to = end
        prefix = text[:end]
        try:
            tree = parse_plan(prefix)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return  # not whole yet, or never: the run reports a plan that cannot parse
        self._parsed_to = end
        self._offer(prefix, tree)

    def _offer(self, prefix: str, tree: ast.Module) -> None:
        try:
            problems, calls = survey(tree, self._catalog)
        except RecursionError:
            problems, calls = [], []
        if problems:  # the plan will not run: start nothing more for it
            self._speculator.stop()
            return
        before = _first_possible_write(tree, calls)
        fresh = [c for c in map(_speculable, calls) if c is not None and (c.line or 0) < before]
        fresh = [c for c in fresh if self._speculator.is_new(c.entry.qualified_name, c.arguments)]
        if not fresh:
            return
        if policy_problem(prefix) is not None:  # the sandbox would refuse it: likewise
            self._speculator.stop()
            return
        for call in sorted(fresh, key=lambda c: c.line or 0):
            self._speculator.offer(call)


def _first_possible_write(tree: ast.Module, calls: list[StaticCall]) -> float:
    """The first line that may change what a read returns: a call of a tool that is not
    read-only (or needs approval), any other use of `tools` or `snippets` (a snippet, a tool
    taken by reference, `getattr(tools, ...)`). A read is started early only above it, so it
    never runs before a write the plan makes first."""
    safe: set[int] = set()  # the `tools` names of calls of read-only tools
    for found in calls:
        tool = found.entry.tool
        if tool.read_only and not tool.requires_approval:
            root: ast.expr = found.node.func
            while isinstance(root, ast.Attribute):
                root = root.value
            safe.add(id(root))
    lines = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id in ("tools", "snippets") and id(node) not in safe
    ]
    return min(lines, default=float("inf"))


def _speculable(found: StaticCall) -> ToolCall | None:
    """The call exactly as the run will make it, if it may start early; else None."""
    tool = found.entry.tool
    node = found.node
    if not tool.read_only or tool.requires_approval:
        return None
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for arg in node.args:
        value = literal_value(arg)  # a `*splat` is no literal
        if value is NOT_LITERAL:
            return None
        args.append(value)
    for keyword in node.keywords:
        value = literal_value(keyword.value) if keyword.arg is not None else NOT_LITERAL
        if value is NOT_LITERAL:
            return None
        kwargs[str(keyword.arg)] = value
    try:
        arguments = found.entry.map_arguments(args, kwargs)
    except ToolError:
        return None
    return ToolCall(entry=found.entry, arguments=jsonify(arguments), line=node.lineno)
