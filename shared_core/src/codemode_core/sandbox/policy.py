"""The compile-time language policy for plans: RestrictedPython's transformer, adapted.

Deny by default stays intact (`generic_visit` refuses unknown nodes); this subclass overrides
only the visitors whose verdict differs for plans, each documented "Allow … because …" or
"Deny … because …". Violations are collected, never raised one at a time, so the model sees
every problem of its plan at once, each as `Line N: …`.
"""

from __future__ import annotations

import ast
from typing import Any

from RestrictedPython.transformer import (
    INSPECT_ATTRIBUTES,
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)

__all__ = [
    "ALLOWED_MODULES",
    "FORBIDDEN_BUILTINS",
    "VERIFIED_INTERPRETERS",
    "CodeModePolicy",
]

VERIFIED_INTERPRETERS: tuple[tuple[int, int], ...] = ((3, 11), (3, 12), (3, 13))
"""CPython minor versions this policy and the runtime guards were verified on (CI runs the
sandbox and red-team suites on each). A new minor version brings new syntax, bytecode and
builtins' attributes that nobody has reviewed yet, so the executors warn on any other version
(and refuse to run with `strict=True`); see `sandbox/_interpreter.py`."""

ALLOWED_MODULES = frozenset(
    {
        "asyncio",
        "collections",
        "copy",
        "datetime",
        "functools",
        "itertools",
        "json",
        "math",
        "random",
        "re",
        "statistics",
        "string",
        "time",
        "typing",
        "uuid",
    }
)
"""Modules a plan may import; each is a curated proxy (see `_modules.py`), never the real one."""

FORBIDDEN_BUILTINS: dict[str, str] = {
    "open": "plans have no file system access",
    "exec": "plans cannot run dynamic code",
    "eval": "plans cannot run dynamic code",
    "compile": "plans cannot run dynamic code",
    "globals": "plans cannot inspect their namespace",
    "locals": "plans cannot inspect their namespace",
    "vars": "plans cannot inspect objects' namespaces",
    "input": "plans cannot read standard input",
    "breakpoint": "plans cannot start a debugger",
    "help": "plans cannot use the interactive help",
    "setattr": "plans cannot set attributes dynamically",
    "delattr": "plans cannot delete attributes dynamically",
    "type": "plans cannot inspect or create types",
    "object": "plans cannot use the base object type",
    "super": "plans cannot define classes",
    "memoryview": "plans cannot use raw memory views",
    "exit": "return a value to finish the plan",
    "quit": "return a value to finish the plan",
}
"""Builtins refused at compile time, with the reason the model reads."""


class CodeModePolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, relaxed for async plans and tightened for agents."""

    # Names -----------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> Any:
        """Allow names, except private ones and forbidden builtins.

        Unlike the base policy, `print` is an ordinary name: the runtime binds it to a
        function that writes to the execution's logs (no `printed` collector magic).
        """
        node = self.node_contents_visit(node)
        if isinstance(node.ctx, ast.Load):
            reason = FORBIDDEN_BUILTINS.get(node.id)
            if reason is not None:
                self.error(node, f"`{node.id}` is not available: {reason}.")
                return node
            if node.id == "print":
                return node
            self.used_names[node.id] = True
        self.check_name(node, node.id)
        return node

    # Attributes --------------------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        """Deny `x.a = v` and `del x.a` because no object a plan holds may gain or lose an
        attribute: a container with attributes becomes a protocol object (a fake stream, a
        fake task), and our proxies and modules are shared with the host. Plans keep named
        values in dicts. Reading attributes keeps the base policy (no `_` names, no frame
        or code attributes) and goes through `_getattr_` at run time."""
        if isinstance(node.ctx, ast.Store):
            self.error(
                node,
                f"attributes cannot be set in plans (`.{node.attr} = ...`); "
                f'keep values in a dict instead: `d["{node.attr}"] = ...`.',
            )
        elif isinstance(node.ctx, ast.Del):
            self.error(node, f"attributes cannot be deleted in plans (`del ….{node.attr}`).")
        return super().visit_Attribute(node)

    # Async -------------------------------------------------------------------------------

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> Any:
        """Allow `async def` because plans are async and call async tools concurrently."""
        self.check_name(node, node.name)
        self.check_function_argument_names(node)
        return self.node_contents_visit(node)

    def visit_Await(self, node: ast.Await) -> Any:
        """Allow `await` because tool calls are coroutines."""
        return self.node_contents_visit(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> Any:
        """Allow `async for`, iterating through the budget-counting `_cm_aiter_` guard."""
        node = self.node_contents_visit(node)
        new_iter = ast.Call(func=ast.Name("_cm_aiter_", ast.Load()), args=[node.iter], keywords=[])
        copy_locations(new_iter, node.iter)
        node.iter = new_iter
        return node

    def visit_AsyncWith(self, node: ast.AsyncWith) -> Any:
        """Allow `async with` for `asyncio.timeout(...)`; tuple targets are unpacked guarded."""
        node = self.node_contents_visit(node)
        for item in reversed(node.items):
            if isinstance(item.optional_vars, ast.Tuple):
                tmp_target, unpack = self.gen_unpack_wrapper(node, item.optional_vars)
                item.optional_vars = tmp_target
                node.body.insert(0, unpack)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        """Allow `d[k] += v` (models write it constantly), through the same guards.

        The base policy refuses augmented assignment to items. It becomes
        `_write_(t1)[t2] = _inplacevar_("+=", _getitem_(t1, t2), v)` with `t1`, `t2` evaluated
        once, so the container and key expressions keep their single evaluation.
        """
        target = node.target
        if isinstance(target, ast.Attribute):
            self.error(
                node,
                f"attributes cannot be set in plans (`.{target.attr} += ...`); "
                f'keep values in a dict instead: `d["{target.attr}"] += ...`.',
            )
            return node
        if not isinstance(target, ast.Subscript) or isinstance(target.slice, ast.Slice):
            return super().visit_AugAssign(node)
        container = self.visit(target.value)
        key = self.visit(target.slice)
        value = self.visit(node.value)
        obj_name, key_name = self.gen_tmp_name(), self.gen_tmp_name()

        def load(name: str) -> ast.Name:
            return ast.Name(name, ast.Load())

        statements: list[ast.stmt] = [
            ast.Assign(targets=[ast.Name(obj_name, ast.Store())], value=container),
            ast.Assign(targets=[ast.Name(key_name, ast.Store())], value=key),
            ast.Assign(
                targets=[
                    ast.Subscript(
                        value=ast.Call(func=load("_write_"), args=[load(obj_name)], keywords=[]),
                        slice=load(key_name),
                        ctx=ast.Store(),
                    )
                ],
                value=ast.Call(
                    func=load("_inplacevar_"),
                    args=[
                        ast.Constant(IOPERATOR_TO_STR[type(node.op)]),
                        ast.Call(
                            func=load("_getitem_"),
                            args=[load(obj_name), load(key_name)],
                            keywords=[],
                        ),
                        value,
                    ],
                    keywords=[],
                ),
            ),
        ]
        for statement in statements:
            copy_locations(statement, node)
        return statements

    # Scopes ------------------------------------------------------------------------------

    def visit_Nonlocal(self, node: ast.Nonlocal) -> Any:
        """Allow `nonlocal` because it only rebinds the plan's own variables.

        The runtime turns the plan body into a function, so `global x` in a helper becomes
        `nonlocal x` (see `rewrite.py`); refusing it would break ordinary scripts.
        """
        return self.node_contents_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        """Deny `class` because class bodies, metaclasses and descriptors are escape gadgets
        and plans only need dicts and functions."""
        self.error(node, "class definitions are not available in plans; use dicts and functions.")
        return node

    # Syntax newer than the plan language --------------------------------------------------

    def visit_TryStar(self, node: ast.AST) -> Any:
        """Deny `except*` because exception groups only arise from task groups, which plans do
        not have; `asyncio.gather` raises plain exceptions."""
        self.error(node, "`except*` is not available in plans; use a plain `except`.")
        return node

    def visit_TypeAlias(self, node: ast.AST) -> Any:
        """Deny `type X = ...` (3.12) because it creates a lazily evaluated alias object and
        plans have no use for type declarations."""
        self.error(
            node, "`type` alias statements are not available in plans; leave type hints out."
        )
        return node

    def visit_TypeVar(self, node: ast.AST) -> Any:
        """Deny type parameters (`def f[T](...)`, 3.12) because they create TypeVar objects;
        plans gain nothing from generics."""
        self.error(
            node,
            "type parameters (`def f[T](...)`) are not available in plans; drop the `[...]`.",
        )
        return node

    visit_ParamSpec = visit_TypeVar
    visit_TypeVarTuple = visit_TypeVar

    # Imports -----------------------------------------------------------------------------

    def _check_module(self, node: ast.stmt, module: str | None) -> None:
        if module not in ALLOWED_MODULES:
            allowed = ", ".join(sorted(ALLOWED_MODULES))
            self.error(
                node,
                f"module `{module}` is not available in plans. Available modules: {allowed}.",
            )

    def visit_Import(self, node: ast.Import) -> Any:
        """Allow `import` of the documented allowlist only."""
        for alias in node.names:
            self._check_module(node, alias.name)
        return self.check_import_names(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        """Allow `from … import …` of the documented allowlist only (no relative imports)."""
        if node.level:
            self.error(node, "relative imports are not available in plans.")
        else:
            self._check_module(node, node.module)
        return self.check_import_names(node)


# Attribute access keeps the base policy: `_`-prefixed names and `INSPECT_ATTRIBUTES` (frames,
# code objects, `cr_frame`, `gi_frame`, `tb_frame`, ...) are refused at compile time, and the
# runtime `_getattr_` repeats those checks for names computed while the plan runs.
assert "cr_frame" in INSPECT_ATTRIBUTES
