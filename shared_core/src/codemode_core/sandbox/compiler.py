"""Plan source → code object: normalize, check the policy, instrument, compile; cached by source.

The result is either a `CompiledPlan` or a `PlanRejected` listing every problem with its plan
line. Both are immutable, so the cache can hand the same object to concurrent executions (each
execution runs the code in fresh globals).
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
from codemode_core.sandbox.rewrite import PLAN_FILENAME, normalize_plan, parse_plan

__all__ = ["CompiledPlan", "PlanRejected", "compile_plan"]

_LINE = re.compile(r"^Line (\d+):")


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


@functools.lru_cache(maxsize=512)
def compile_plan(source: str) -> CompiledPlan | PlanRejected:
    """Compile plan source under the sandbox policy (memoized: plans are often re-sent)."""
    try:
        module = parse_plan(source)
    except SyntaxError as exc:
        return _syntax_error(exc)
    except (ValueError, MemoryError, RecursionError) as exc:
        return PlanRejected("syntax", f"the plan cannot be parsed: {exc}", None)

    module, errors = normalize_plan(module)
    policy_errors: list[str] = []
    CodeModePolicy(policy_errors, [], {}).visit(module)
    errors.extend(policy_errors)
    if errors:
        errors = sorted(set(errors), key=_line_of)
        first = _line_of(errors[0])
        return PlanRejected("policy", "\n".join(errors), first if first >= 0 else None)

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
