"""Plan source → code object: normalize, check the policy, instrument, compile; cached by source.

The result is either a `CompiledPlan` or a `PlanRejected` listing every problem with its plan
line. Both are immutable, so the cache can hand the same object to concurrent executions (each
execution runs the code in fresh globals).

Compiling runs in Python (three AST passes, about 20 µs per node) and, in-process, on the
host's event loop before the plan's first tick, so its cost is bounded up front: a plan may
have at most `MAX_PLAN_CHARS` characters, `MAX_PLAN_NODES` syntax nodes and `MAX_NESTING`
levels of nesting (the passes recurse once per level). Beyond that it is refused with the line
where the limit is crossed, and no `RecursionError` ever escapes.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from types import CodeType
from typing import Literal

from codemode_core.sandbox._instrument import instrument
from codemode_core.sandbox.policy import CodeModePolicy
from codemode_core.sandbox.rewrite import (
    MAX_PLAN_CHARS,
    PLAN_FILENAME,
    PlanTooLarge,
    check_plan_size,
    normalize_plan,
    parse_plan,
)

__all__ = [
    "MAX_NESTING",
    "MAX_PLAN_CHARS",
    "MAX_PLAN_NODES",
    "CompiledPlan",
    "PlanRejected",
    "compile_plan",
    "plan_size_rejection",
    "policy_problem",
]

_LINE = re.compile(r"^Line (\d+):")

MAX_PLAN_NODES = 10_000
"""The most syntax nodes a plan may have (a 300-line plan has about 3,000): compiling this
many costs 0.2-0.4 s."""

MAX_NESTING = 150
"""The deepest nesting of statements and expressions (`a + b + ...` nests once per term)."""


@dataclass(frozen=True, slots=True)
class CompiledPlan:
    """A plan that passed the policy: module code defining the plan's async function."""

    code: CodeType


@dataclass(frozen=True, slots=True)
class PlanRejected:
    """A plan that cannot run: a syntax error, or every policy violation found."""

    kind: Literal["syntax", "policy"]
    message: str
    line: int | None


def _syntax_error(exc: SyntaxError) -> PlanRejected:
    text = (exc.text or "").strip()
    where = f"Line {exc.lineno}: " if exc.lineno else ""
    snippet = f"\n    {text}" if text else ""
    return PlanRejected("syntax", f"{where}SyntaxError: {exc.msg}{snippet}", exc.lineno)


def _too_large(line: int, what: str, advice: str) -> PlanRejected:
    return PlanRejected("policy", f"Line {line}: the plan is too large: {what}. {advice}", line)


def plan_size_rejection(source: str, module: ast.Module | None = None) -> PlanRejected | None:
    """The compiler's refusal of a plan too large to compile, or None: over `MAX_PLAN_CHARS`
    (checked on the text, before it is parsed), or, given its parsed `module`, over
    `MAX_PLAN_NODES` or `MAX_NESTING`. The host's pre-flight check uses it too, so a plan is
    refused for its size the same way on every executor, before anything costly."""
    try:
        check_plan_size(source)
    except PlanTooLarge as exc:
        return PlanRejected("policy", str(exc), exc.line)
    return None if module is None else _check_size(module)


def _check_size(module: ast.Module) -> PlanRejected | None:
    """Count nodes and measure nesting without recursion (the plan may be deeper than the
    interpreter's stack)."""
    stack: list[tuple[ast.AST, int]] = [(module, 0)]
    nodes = 0
    line = 1
    while stack:
        node, depth = stack.pop()
        nodes += 1
        line = getattr(node, "lineno", line)
        if depth > MAX_NESTING:
            return _too_large(
                line,
                f"it nests more than {MAX_NESTING} levels deep",
                "Split long expressions (`a + b + c + ...`) and deep nesting into several "
                "statements with intermediate variables.",
            )
        if nodes > MAX_PLAN_NODES:
            return _too_large(
                line,
                f"it has more than {MAX_PLAN_NODES:,} syntax elements",
                "Write a shorter plan; pass large data through tool calls, not as literals.",
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return None


def compile_plan(source: str) -> CompiledPlan | PlanRejected:
    """Compile plan source under the sandbox policy (memoized: plans are often re-sent).

    Text over `MAX_PLAN_CHARS` is refused before the cache: it is never parsed, and never
    kept as a cache key."""
    too_large = plan_size_rejection(source)
    if too_large is not None:
        return too_large
    return _compile_cached(source)


@functools.lru_cache(maxsize=512)
def _compile_cached(source: str) -> CompiledPlan | PlanRejected:
    try:
        return _compile(source)
    except RecursionError:  # a margin below MAX_NESTING was not enough on a deep host stack
        return PlanRejected(
            "policy",
            "the plan nests too deeply to compile. Split long expressions and deep nesting "
            "into several statements with intermediate variables.",
            None,
        )


def policy_problem(source: str) -> PlanRejected | None:
    """Why `compile_plan` would refuse `source`, without compiling or caching it: for a plan
    still being streamed, whose prefixes are checked before the host starts anything for it."""
    too_large = plan_size_rejection(source)
    if too_large is not None:
        return too_large
    try:
        checked = _checked(source)
    except RecursionError:
        return PlanRejected("policy", "the plan nests too deeply to compile.", None)
    return checked if isinstance(checked, PlanRejected) else None


def _checked(source: str) -> ast.Module | PlanRejected:
    """Parse, size, normalize and policy-check: the module ready to instrument, or why not."""
    try:
        module = parse_plan(source)
    except SyntaxError as exc:
        return _syntax_error(exc)
    except (ValueError, MemoryError) as exc:
        return PlanRejected("syntax", f"the plan cannot be parsed: {exc}", None)
    too_large = plan_size_rejection(source, module)
    if too_large is not None:
        return too_large

    module, errors = normalize_plan(module)
    policy_errors: list[str] = []
    CodeModePolicy(policy_errors, [], {}).visit(module)
    errors.extend(policy_errors)
    if errors:
        errors = sorted(set(errors), key=_line_of)
        first = _line_of(errors[0])
        return PlanRejected("policy", "\n".join(errors), first if first >= 0 else None)
    return module


def _compile(source: str) -> CompiledPlan | PlanRejected:
    module = _checked(source)
    if isinstance(module, PlanRejected):
        return module
    module = instrument(module)
    ast.fix_missing_locations(module)
    try:
        code = compile(module, PLAN_FILENAME, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return _syntax_error(exc)
    return CompiledPlan(code)


def _line_of(error: str) -> int:
    match = _LINE.match(error)
    return int(match.group(1)) if match else -1
