"""Plan normalization: turn what a model writes into the body of one async function.

Models write plans with habits from notebooks and scripts: markdown fences, a bare last
expression as the answer, `async def main()` plus `asyncio.run(main())`, an
`if __name__ == "__main__":` guard, a forgotten `await`. This module forgives those habits by
rewriting the AST *before* the security policy sees it, and always keeps the plan's own line
numbers (fences become blank lines; rewritten nodes copy their source positions), so errors
point at the line the model wrote.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import TypeVar

__all__ = [
    "MAX_PLAN_CHARS",
    "PLAN_FILENAME",
    "PLAN_FUNCTION",
    "ROOT_NAMES",
    "PlanTooLarge",
    "check_plan_size",
    "normalize_plan",
    "parse_plan",
    "strip_fences",
]

MAX_PLAN_CHARS = 200_000
"""The longest plan source accepted (data belongs in tool calls, not pasted into a plan).

Checked before any parse, wherever plan text is parsed (the host's pre-flight check, snippet
validation, the compiler): parsing costs time and memory in proportion to the text (a 6 MB
plan took 80 s and 3 GB), and the text comes from the model."""

PLAN_FILENAME = "<plan>"
"""The filename compiled plans carry; tracebacks are mapped to plan lines through it."""

PLAN_FUNCTION = "__codemode_plan__"
"""The async function the plan body becomes (a dunder name plans themselves cannot use)."""

ROOT_NAMES = frozenset({"tools", "codemode"})
"""Names whose method calls are async tool/discovery calls (auto-awaited when forgotten)."""

_FENCE = re.compile(r"^\s*(```|~~~)")


def strip_fences(source: str) -> str:
    """Keep only the code inside markdown fences (every block, in order), blanking the rest.

    Lines are blanked rather than removed so that line numbers in errors still match what the
    model wrote. Text without fences is returned unchanged.
    """
    lines = source.splitlines()
    if not any(_FENCE.match(line) for line in lines):
        return source
    out: list[str] = []
    inside = False
    for line in lines:
        if _FENCE.match(line):
            inside = not inside
            out.append("")
            continue
        out.append(line if inside else "")
    return "\n".join(out)


class PlanTooLarge(ValueError):
    """Plan text over `MAX_PLAN_CHARS`: refused before anything is built from it."""

    def __init__(self, size: int, line: int) -> None:
        super().__init__(
            f"Line {line}: the plan is too large: {size:,} characters, more than "
            f"{MAX_PLAN_CHARS:,}. Write a shorter plan; pass large data through tool calls, "
            "not as literals."
        )
        self.line = line


def check_plan_size(source: str) -> None:
    """Raise `PlanTooLarge` for text over `MAX_PLAN_CHARS` (cheap: one length, and a count of
    line breaks within the limit for the line where it is crossed)."""
    if len(source) > MAX_PLAN_CHARS:
        raise PlanTooLarge(len(source), source.count("\n", 0, MAX_PLAN_CHARS) + 1)


def parse_plan(source: str) -> ast.Module:
    """Parse plan source (fences stripped); raises `SyntaxError` with the plan's line, or
    `PlanTooLarge` (a `ValueError`) before parsing text over `MAX_PLAN_CHARS`."""
    check_plan_size(source)
    return ast.parse(strip_fences(source), filename=PLAN_FILENAME, mode="exec")


_Node = TypeVar("_Node", bound=ast.AST)


def _copy(new: _Node, old: ast.AST) -> _Node:
    ast.copy_location(new, old)
    return ast.fix_missing_locations(new)


def _root_name(node: ast.expr) -> str | None:
    """`tools` for `tools.a.b`, `asyncio` for `asyncio.gather`, else None."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_root_call(node: ast.AST, roots: Iterable[str] = ROOT_NAMES) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and _root_name(node.func) in set(roots)
    )


def _is_asyncio_call(node: ast.AST, name: str | None = None) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "asyncio"):
        return False
    return name is None or node.func.attr == name


def _is_main_guard(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":`, which plans cannot evaluate (dunder names are denied)."""
    if not isinstance(node, ast.If) or node.orelse:
        return False
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


class _AsyncioRun(ast.NodeTransformer):
    """`asyncio.run(x)` → `await x`: the plan already runs inside an event loop."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if _is_asyncio_call(node, "run") and len(node.args) == 1 and not node.keywords:
            return _copy(ast.Await(value=node.args[0]), node)
        return node


def _gathered_names(module: ast.Module) -> set[str]:
    """Names handed to `asyncio.*` calls: collections of coroutines meant to run together."""
    names: set[str] = set()
    for node in ast.walk(module):
        if _is_asyncio_call(node):
            assert isinstance(node, ast.Call)
            for arg in node.args:
                inner = arg.value if isinstance(arg, ast.Starred) else arg
                if isinstance(inner, ast.Name):
                    names.add(inner.id)
    return names


class _AutoAwait(ast.NodeTransformer):
    """Insert the `await` a model forgot in front of `tools.*(...)` / `codemode.*(...)` calls.

    Not inside sync functions or lambdas (where `await` is illegal; the runtime then reports a
    clear "not awaited" error), not inside generator expressions (which would turn async),
    not for calls handed to `asyncio.gather`/`wait_for` (they must stay awaitables), and not
    for values stored in a name that is later gathered (`coros = [tools.a(x) ...]`).
    """

    def __init__(self, gathered: set[str]) -> None:
        self._gathered = gathered
        self._async_scope = [True]
        self._suppress = 0

    def _visit_scope(self, node: ast.AST, is_async: bool) -> ast.AST:
        self._async_scope.append(is_async)
        self.generic_visit(node)
        self._async_scope.pop()
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._visit_scope(node, False)

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return self._visit_scope(node, False)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> ast.AST:
        return self._visit_scope(node, False)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._visit_scope(node, True)

    def visit_Await(self, node: ast.Await) -> ast.AST:
        # The awaited call itself must not be awaited twice; its arguments may need it.
        value = node.value
        if _is_root_call(value):
            assert isinstance(value, ast.Call)
            value.args = [self.visit(a) for a in value.args]
            for kw in value.keywords:
                kw.value = self.visit(kw.value)
            return node
        self.generic_visit(node)
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        targets = node.targets
        if (
            len(targets) == 1
            and isinstance(targets[0], ast.Name)
            and targets[0].id in self._gathered
        ):
            self._suppress += 1
            self.generic_visit(node)
            self._suppress -= 1
            return node
        self.generic_visit(node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if _is_asyncio_call(node) or self._is_append_to_gathered(node):
            self._suppress += 1
            self.generic_visit(node)
            self._suppress -= 1
            return node
        self.generic_visit(node)
        if _is_root_call(node) and self._async_scope[-1] and not self._suppress:
            return _copy(ast.Await(value=node), node)
        return node

    def _is_append_to_gathered(self, node: ast.Call) -> bool:
        func = node.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in {"append", "extend", "insert"}
            and isinstance(func.value, ast.Name)
            and func.value.id in self._gathered
        )


def _top_level_bindings(body: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
        # Only the plan's own top-level statements bind top-level names; nested function
        # bodies were walked too, which over-approximates harmlessly for `global` rewriting.
    return names


class _GlobalToNonlocal(ast.NodeTransformer):
    """`global x` inside a helper → `nonlocal x`, since plan top-level names become locals."""

    def __init__(self, top_level: set[str]) -> None:
        self._top_level = top_level

    def visit_Global(self, node: ast.Global) -> ast.AST:
        if all(name in self._top_level for name in node.names):
            return _copy(ast.Nonlocal(names=node.names), node)
        return node


def _lone_main(body: list[ast.stmt]) -> ast.AsyncFunctionDef | None:
    """The `async def main()` a plan defines but never calls, if that is all it does."""
    mains = [s for s in body if isinstance(s, ast.AsyncFunctionDef) and s.name == "main"]
    if len(mains) != 1 or mains[0].args.args or mains[0].args.posonlyargs:
        return None
    for node in ast.walk(ast.Module(body=[s for s in body if s is not mains[0]], type_ignores=[])):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "main"
        ):
            return None
    return mains[0]


def normalize_plan(module: ast.Module) -> tuple[ast.Module, list[str]]:
    """Forgive the model's habits in a parsed plan (see the module docstring).

    Returns the rewritten module, still a plain module body (the policy checks it next, and
    `_instrument.instrument` wraps it into `async def __codemode_plan__()` last), and a list
    of `Line N: ...` errors for constructs that cannot be forgiven (top-level `yield`).
    """
    errors: list[str] = []
    body: list[ast.stmt] = []
    for stmt in module.body:
        if _is_main_guard(stmt):
            assert isinstance(stmt, ast.If)
            body.extend(stmt.body)
        else:
            body.append(stmt)

    module = ast.Module(body=body, type_ignores=[])
    module = _AsyncioRun().visit(module)

    main = _lone_main(module.body)
    if main is not None:
        call = ast.Await(value=ast.Call(func=ast.Name("main", ast.Load()), args=[], keywords=[]))
        ret = ast.Return(value=call)
        end = module.body[-1]
        ret.lineno = ret.end_lineno = getattr(end, "end_lineno", end.lineno)
        ret.col_offset = ret.end_col_offset = 0
        module.body.append(ast.fix_missing_locations(ret))

    if module.body and isinstance(module.body[-1], ast.Expr):
        last = module.body[-1]
        module.body[-1] = _copy(ast.Return(value=last.value), last)

    for stmt in module.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for node in _walk_top_scope(stmt):
            if isinstance(node, (ast.Yield, ast.YieldFrom)):
                errors.append(
                    f"Line {node.lineno}: `yield` cannot be used at the top level of a plan; "
                    "use `return` to give back a value."
                )

    module = _AutoAwait(_gathered_names(module)).visit(module)
    module = _GlobalToNonlocal(_top_level_bindings(module.body)).visit(module)
    return module, errors


def _walk_top_scope(node: ast.AST) -> Iterable[ast.AST]:
    """Like `ast.walk`, but does not descend into nested functions, lambdas or classes."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            stack.append(child)
