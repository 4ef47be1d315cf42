"""The pre-flight check: every statically visible `tools.*` / `snippets.*` call in a plan (or a
snippet being saved) is checked against the catalog before anything runs.

Why before: a plan whose line 1 writes and whose line 2 misspells a tool would otherwise write,
fail, and leave the model to retry a half-done plan. Why "statically visible" only: the check
must never refuse a plan that would run, so whatever it cannot be sure of (aliases like
`t = tools.x; await t(...)`, `**kwargs` and `*args` splats, computed arguments, a local name
that shadows `tools`) is left to the checks every call gets at run time. What it reports is
what those run-time checks would have raised anyway, only all at once and before any call:
unknown tools and namespaces (with the closest match), unknown argument names, missing
required arguments, too many positional arguments, and literals of the wrong type or outside
an enum.

One checker serves both plans (`CodeMode.run`) and snippets (`CodeMode.save_snippet`), and,
through `survey`, the streamed plan's speculation (`CodeMode.run_stream`): the same walk that
judges the calls also lists them, each with the tool it resolves to, where `tools` is the
plan's own.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codemode_core._literal_fit import literal_of, misfit
from codemode_core._validation import JsonSchemaBinder
from codemode_core.result import ExecutionError
from codemode_core.sandbox._snippet_limits import PLAN_NAMESPACE
from codemode_core.sandbox.compiler import PlanRejected, plan_size_rejection
from codemode_core.sandbox.rewrite import parse_plan

if TYPE_CHECKING:
    from codemode_core.catalog import Catalog, CatalogEntry

__all__ = ["CallProblem", "StaticCall", "check_calls", "preflight_error", "survey"]

_ROOTS = ("tools", "snippets")
_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
_MAX_REPORTED = 20


@dataclass(frozen=True, slots=True)
class CallProblem:
    """One call that cannot succeed, with the plan line it is on."""

    line: int
    tool: str
    message: str

    def render(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class StaticCall:
    """A `tools.*` call written in the plan, resolved to its catalog entry."""

    node: ast.Call
    entry: CatalogEntry


def preflight_error(
    code: str, catalog: Catalog, snippets: Mapping[str, Mapping[str, Any]]
) -> ExecutionError | None:
    """The model-facing error for a plan whose calls cannot succeed, or None to run it.

    A plan too large to compile is refused here, with the compiler's own message, before it
    is parsed (over `MAX_PLAN_CHARS`) or walked (over `MAX_PLAN_NODES`): the host does no
    work in proportion to a plan it would refuse anyway. A plan that does not parse is left
    to the compiler, which reports it with more care.
    """
    too_large = plan_size_rejection(code)
    if too_large is not None:
        return _rejected(too_large)
    if "tools" not in code and "snippets" not in code:
        return None  # nothing to check: skip the parse
    try:
        tree = parse_plan(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    too_large = plan_size_rejection(code, tree)
    if too_large is not None:
        return _rejected(too_large)
    try:
        problems = check_calls(tree, catalog, snippets)
    except RecursionError:  # a pathologically nested plan: the compiler will say so
        return None
    if not problems:
        return None
    shown = problems[:_MAX_REPORTED]
    lines = [f"- {p.render()}" for p in shown]
    if len(problems) > len(shown):
        lines.append(f"- and {len(problems) - len(shown)} more")
    tools = {p.tool for p in problems}
    what = "this" if len(problems) == 1 else f"these {len(problems)} problems"
    return ExecutionError(
        kind="tool",
        message=f"nothing ran (the plan is checked before its first call). Fix {what} and "
        "send the whole plan again:\n" + "\n".join(lines),
        line=problems[0].line,
        tool=tools.pop() if len(tools) == 1 else None,
    )


def _rejected(rejection: PlanRejected) -> ExecutionError:
    return ExecutionError(kind=rejection.kind, message=rejection.message, line=rejection.line)


def check_calls(
    tree: ast.Module,
    catalog: Catalog,
    snippets: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[CallProblem]:
    """Every problem with the plan's statically visible calls, in line order.

    `snippets` maps each snippet plans may call to its wire form (`parameters`, `required`);
    None leaves `snippets.*` unchecked (a snippet being saved cannot know its siblings).
    """
    return survey(tree, catalog, snippets)[0]


def survey(
    tree: ast.Module,
    catalog: Catalog,
    snippets: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[CallProblem], list[StaticCall]]:
    """`check_calls`' problems, and every statically visible `tools.*` call."""
    checker = _Checker(catalog, snippets)
    shadowed = _walrus_bound(tree)
    checker.visit_scope(tree, shadowed | _bound_in(tree))
    unique = dict.fromkeys(checker.problems)  # `gather(tools.x(), tools.x())` on one line
    return sorted(unique, key=lambda p: p.line), checker.calls


class _Checker:
    """Walks the plan scope by scope, knowing where `tools`/`snippets` are shadowed."""

    def __init__(self, catalog: Catalog, snippets: Mapping[str, Mapping[str, Any]] | None) -> None:
        self.catalog = catalog
        self.snippets = snippets
        self.problems: list[CallProblem] = []
        self.calls: list[StaticCall] = []
        self._seen: set[int] = set()
        """Attribute nodes already judged as a call's function (not judged again)."""

    def visit_scope(self, node: ast.AST, shadowed: set[str]) -> None:
        for child in _children(node):
            self._visit(child, shadowed)

    def _visit(self, node: ast.AST, shadowed: set[str]) -> None:
        if isinstance(node, _SCOPES):
            for outer in _evaluated_outside(node):
                self._visit(outer, shadowed)
            self.visit_scope(node, shadowed | _bound_in(node))
            return
        if isinstance(node, ast.Call):
            path = _path(node.func)
            if path is not None and path[0] not in shadowed and path[0] in _ROOTS:
                self._seen.add(id(node.func))
                self._check_call(node, path)
        elif isinstance(node, ast.Attribute):
            path = _path(node)
            if path is not None and path[0] in _ROOTS:
                if path[0] not in shadowed and id(node) not in self._seen:
                    self._resolve(path, node.lineno)  # `t = tools.x`: the name must exist
                return  # its inner `tools.ns` was judged with it
        for child in ast.iter_child_nodes(node):
            self._visit(child, shadowed)

    # Names ----------------------------------------------------------------------------

    def _resolve(self, path: Sequence[str], line: int) -> CatalogEntry | None:
        """The tool `path` names (None for a namespace, or after reporting an unknown name)."""
        if any(part.startswith("_") for part in path[1:]):
            return None  # the policy refuses private names, with its own message
        if path[0] == "snippets":
            name = _snippet_name(path)
            if self.snippets is not None and name is not None and name not in self.snippets:
                written = path[:3] if path[1] == PLAN_NAMESPACE else path[:2]
                self._unknown(written, line, [f"snippets.{n}" for n in self.snippets])
            return None
        namespaces = self.catalog.namespaces
        if len(path) == 1:
            return None
        first = path[1]
        if first in namespaces and first:
            if len(path) == 2:
                return None
            entry = self.catalog.get(f"tools.{first}.{path[2]}")
            if entry is None:
                self._unknown(path[:3], line, self._known())
            return entry
        entry = self.catalog.get(f"tools.{first}")
        if entry is None:
            self._unknown(path[:2], line, self._known())
        return entry

    def _known(self) -> list[str]:
        names = [entry.qualified_name for entry in self.catalog]
        names += [f"tools.{ns}" for ns in self.catalog.namespaces if ns]
        return names

    def _unknown(self, path: Sequence[str], line: int, known: list[str]) -> None:
        written = ".".join(path)
        root = f"{path[0]}."  # compared without it: a shared prefix makes anything "close"
        tails = {k.removeprefix(root): k for k in known}
        close = [
            tails[t] for t in difflib.get_close_matches(written.removeprefix(root), tails, n=1)
        ]
        if not close:  # `tools.list_issues` for `tools.github.list_issues`
            close = [k for k in known if k.rsplit(".", 1)[-1] == path[-1]][:1]
        hint = f"; did you mean {close[0]}?" if close else ""
        kind = "snippet" if path[0] == "snippets" else "tool"
        if kind == "tool" and len(path) == 2 and len(self.catalog.namespaces) > 1:
            kind = "tool or namespace"
        self.problems.append(CallProblem(line, written, f"there is no {kind} {written}{hint}"))

    # Calls ----------------------------------------------------------------------------

    def _check_call(self, node: ast.Call, path: Sequence[str]) -> None:
        if path[0] == "snippets":
            self._resolve(path, node.lineno)
            name = _snippet_name(path)
            exact = name is not None and len(path) == name.count(".") + 2
            spec = self.snippets.get(name) if self.snippets and exact and name is not None else None
            if spec is not None:
                self._check_snippet_call(node, f"snippets.{name}", spec)
            return
        entry = self._resolve(path, node.lineno)
        if entry is not None:
            self.calls.append(StaticCall(node, entry))
            self._check_tool_call(node, entry)

    def _check_tool_call(self, node: ast.Call, entry: CatalogEntry) -> None:
        name = entry.qualified_name
        signature = entry.signature
        params = signature.parameters
        line = node.lineno
        starred = any(isinstance(a, ast.Starred) for a in node.args)
        splat = any(k.arg is None for k in node.keywords)
        fixed = _before_star(node.args)
        report = self._reporter(line, name)
        if signature.var_keyword:
            if fixed:
                report(f"{name} takes keyword arguments only")
            return
        if not starred and len(fixed) > len(params):
            report(
                f"{name} takes at most {len(params)} positional argument(s) "
                f"({', '.join(p.identifier for p in params) or 'none'}), got {len(fixed)}"
            )
        given: dict[str, ast.expr] = {}
        for param, value in zip(params, fixed, strict=False):
            given[param.key] = value
        by_name = {p.key: p for p in params} | {p.identifier: p for p in params}
        for keyword in node.keywords:
            if keyword.arg is None:
                continue
            named = by_name.get(keyword.arg)
            if named is None:
                close = difflib.get_close_matches(keyword.arg, list(by_name), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                accepted = ", ".join(p.identifier for p in params) or "none"
                report(f"{name} has no parameter {keyword.arg!r}{hint} (parameters: {accepted})")
            elif named.key in given and not starred:
                report(f"{name} got multiple values for argument {named.identifier!r}")
            else:
                given[named.key] = keyword.value
        if not _validates(entry):
            return
        if not starred and not splat:
            for param in params:
                if param.required and param.key not in given:
                    report(f"{name} needs the argument {param.identifier!r}")
        self._check_literals(entry, given, report)

    def _check_literals(
        self, entry: CatalogEntry, given: Mapping[str, ast.expr], report: Any
    ) -> None:
        schema = entry.tool.input_schema
        properties = schema.get("properties") if isinstance(schema, Mapping) else None
        if not isinstance(properties, Mapping):
            return
        lax = entry.tool.binder is not None  # pydantic (or a framework) converts "5" to 5
        identifiers = {p.key: p.identifier for p in entry.signature.parameters}
        for key, value in given.items():
            literal = literal_of(value)
            if literal is None or key not in properties:
                continue
            expected = misfit(literal, properties[key], schema, lax=lax)
            if expected is not None:
                report(
                    f"{entry.qualified_name} argument {identifiers.get(key, key)!r} should be "
                    f"{expected}, got {literal.describe()}"
                )

    def _check_snippet_call(self, node: ast.Call, name: str, spec: Mapping[str, Any]) -> None:
        """The same rules `snippets.x(...)` applies when it runs (names, count, required)."""
        names = [str(p) for p in spec.get("parameters", ())]
        report = self._reporter(node.lineno, name)
        fixed = _before_star(node.args)
        starred = len(fixed) < len(node.args)
        if not starred and len(fixed) > len(names):
            report(f"{name} takes {len(names)} positional argument(s), got {len(fixed)}")
        given = set(names[: len(fixed)])
        for keyword in node.keywords:
            if keyword.arg is None:
                continue
            if keyword.arg not in names:
                report(
                    f"{name} has no parameter {keyword.arg!r} "
                    f"(parameters: {', '.join(names) or 'none'})"
                )
            given.add(keyword.arg)
        if starred or any(k.arg is None for k in node.keywords):
            return
        for required in spec.get("required", ()):
            if required not in given:
                report(f"{name} needs the argument {str(required)!r}")

    def _reporter(self, line: int, tool: str) -> Any:
        def report(message: str) -> None:
            self.problems.append(CallProblem(line, tool, message))

        return report


def _validates(entry: CatalogEntry) -> bool:
    """Whether a call's arguments are checked against the schema before the tool runs (a
    broken schema validates nothing: its tool alone judges what it gets)."""
    binder = entry.binder
    return not isinstance(binder, JsonSchemaBinder) or binder.validates


def _before_star(args: Sequence[ast.expr]) -> list[ast.expr]:
    fixed = []
    for arg in args:
        if isinstance(arg, ast.Starred):
            break
        fixed.append(arg)
    return fixed


def _path(node: ast.expr) -> list[str] | None:
    """`["tools", "github", "list_issues"]` for `tools.github.list_issues`, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and parts:
        parts.append(node.id)
        return parts[::-1]
    return None


# Scopes: where a plan rebinds `tools` or `snippets`, its calls are its own business ---------


def _children(scope: ast.AST) -> Iterator[ast.AST]:
    """What runs inside `scope` (a function's body, a comprehension's parts)."""
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        yield from scope.body
    elif isinstance(scope, ast.Lambda):
        yield scope.body
    elif isinstance(scope, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        yield scope.elt
        yield from _generator_parts(scope.generators)
    elif isinstance(scope, ast.DictComp):
        yield scope.key
        yield scope.value
        yield from _generator_parts(scope.generators)
    else:
        yield from ast.iter_child_nodes(scope)


def _generator_parts(generators: list[ast.comprehension]) -> Iterator[ast.AST]:
    for index, generator in enumerate(generators):
        yield generator.target
        if index:  # the first iterable is evaluated in the enclosing scope
            yield generator.iter
        yield from generator.ifs


def _evaluated_outside(scope: ast.AST) -> Iterator[ast.AST]:
    """Parts of a scope node evaluated in the enclosing scope (defaults, decorators, the first
    iterable of a comprehension)."""
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        yield from (d for d in scope.args.defaults)
        yield from (d for d in scope.args.kw_defaults if d is not None)
        if not isinstance(scope, ast.Lambda):
            yield from scope.decorator_list
    elif isinstance(scope, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        yield scope.generators[0].iter


def _bound_in(scope: ast.AST) -> set[str]:
    """Which of `tools`/`snippets` the scope binds itself (then they are its locals everywhere
    in it, and in the scopes nested inside it)."""
    names: set[str] = set()
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = scope.args
        for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
            names.add(arg.arg)
        for star in (arguments.vararg, arguments.kwarg):
            if star is not None:
                names.add(star.arg)
    stack = list(_children(scope))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        if isinstance(node, (*_SCOPES, ast.ClassDef)):
            stack.extend(_evaluated_outside(node))
            continue
        stack.extend(ast.iter_child_nodes(node))
    return names & set(_ROOTS)


def _walrus_bound(tree: ast.AST) -> set[str]:
    """`(tools := ...)` binds in an enclosing scope, not the one it is written in: treat such
    a root as shadowed everywhere rather than work out which scope."""
    return {
        node.target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name)
    } & set(_ROOTS)


def _snippet_name(path: Sequence[str]) -> str | None:
    """The stored name `snippets.<name>` or `snippets.plans.<name>` refers to (None for the
    `snippets` / `snippets.plans` namespaces themselves)."""
    if len(path) < 2:
        return None
    if path[1] == PLAN_NAMESPACE:
        return f"{PLAN_NAMESPACE}.{path[2]}" if len(path) >= 3 else None
    return path[1]
