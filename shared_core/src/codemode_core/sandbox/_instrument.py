"""Budget instrumentation, applied after the policy accepted a plan.

Python 3.11 has no `sys.monitoring` and trace hooks cost too much, so the budgets are compiled
into the plan: a `_cm_tick_()` at the top of every `while` body and function body (`for` loops
and comprehensions tick inside `_getiter_`, `yield from` inside `_cm_yield_from_`), a
`_cm_check_()` at the top of every `except` handler so a plan cannot swallow a budget or
timeout abort, a `_cm_final_()` at the top of every `finally` block (the one place, with
`except`, where a generator left suspended runs code when it is collected after its plan
ended: there the guards refuse, see `_leftovers`), and size-guarded calls in place of the
operators that can explode (`*`, `**`, `<<`, `+`, `%`, `//`, and f-strings, bounded as a
whole by `_cm_fstring_`).
Every inserted node copies the position of the node it stands for, so errors keep plan lines.
"""

from __future__ import annotations

import ast

from codemode_core.sandbox.rewrite import PLAN_FUNCTION

__all__ = ["instrument"]

_GUARDED_BINOPS: dict[type[ast.operator], str] = {
    ast.Mult: "_cm_mul_",
    ast.Pow: "_cm_pow_",
    ast.LShift: "_cm_lshift_",
    ast.Add: "_cm_add_",
    ast.Mod: "_cm_mod_",
    ast.FloorDiv: "_cm_floordiv_",
}


def _call(name: str, args: list[ast.expr], at: ast.AST) -> ast.Call:
    # Only the two new nodes get positions: the arguments have theirs already, and fixing the
    # whole subtree at every level made instrumenting quadratic in expression depth.
    func = ast.copy_location(ast.Name(name, ast.Load()), at)
    return ast.copy_location(ast.Call(func=func, args=args, keywords=[]), at)


def _stmt_call(name: str, at: ast.AST) -> ast.Expr:
    expr = ast.Expr(value=_call(name, [], at))
    ast.copy_location(expr, at)
    return ast.fix_missing_locations(expr)


class _Instrument(ast.NodeTransformer):
    def visit_While(self, node: ast.While) -> ast.AST:
        self.generic_visit(node)
        node.body.insert(0, _stmt_call("_cm_tick_", node))
        return node

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        self.generic_visit(node)
        node.body.insert(0, _stmt_call("_cm_tick_", node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._visit_function(node)

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        self.generic_visit(node)
        node.body = _call("_cm_tickv_", [node.body], node.body)
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        self.generic_visit(node)
        node.body.insert(0, _stmt_call("_cm_check_", node))
        return node

    def visit_Try(self, node: ast.Try) -> ast.AST:
        self.generic_visit(node)
        if node.finalbody:
            node.finalbody.insert(0, _stmt_call("_cm_final_", node.finalbody[0]))
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        guard = _GUARDED_BINOPS.get(type(node.op))
        if guard is None:
            return node
        return _call(guard, [node.left, node.right], node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> ast.AST:
        """`yield from x` delegates through `_cm_yield_from_`, which ticks per item: a plan
        generator delegating to a `range` was drained by a C consumer with no tick."""
        self.generic_visit(node)
        node.value = _call("_cm_yield_from_", [node.value], node.value)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        """An f-string of several fields is built by `_cm_fstring_`, which bounds the whole
        text (each field alone within the limit, ten of them were not); the literal parts go
        as one constant tuple, each field as its value, conversion and spec, in order."""
        fields = [part for part in node.values if isinstance(part, ast.FormattedValue)]
        if len(fields) < 2:
            self.generic_visit(node)
            return node
        template: list[str | None] = []
        args: list[ast.expr] = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                spec = part.format_spec
                spec_expr = self.visit(spec) if spec is not None else ast.Constant("")
                template.append(None)
                args += [self.visit(part.value), ast.Constant(part.conversion), spec_expr]
            else:
                literal = part.value if isinstance(part, ast.Constant) else ""
                template.append(literal if isinstance(literal, str) else str(literal))
        for arg in args:
            if not hasattr(arg, "lineno"):
                ast.copy_location(arg, node)
        # A tuple constant is valid in a compiled AST (the stubs list scalars only).
        constant = ast.copy_location(ast.Constant(tuple(template)), node)  # type: ignore[arg-type]
        return _call("_cm_fstring_", [constant, *args], node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self.generic_visit(node)
        if node.format_spec is None:
            if not isinstance(node.value, ast.Constant):
                # `f"{x}"`: the text of a container is size-checked before it is built.
                node.value = _call("_cm_fvalue_", [node.value], node.value)
            return node
        spec = node.format_spec
        conversion = ast.Constant(node.conversion)
        ast.copy_location(conversion, node)
        formatted = _call("_cm_format_", [node.value, conversion, spec], node)
        new = ast.FormattedValue(value=formatted, conversion=-1, format_spec=None)
        ast.copy_location(new, node)
        return new

    def visit_Await(self, node: ast.Await) -> ast.AST:
        self.generic_visit(node)
        value = node.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            # Calls of plan-defined coroutine functions and of our own helpers are awaitable.
            return node
        if isinstance(value, ast.Call) and value.func is not None:
            func = value.func
            # `await tools.x(...)`, compiled to `_getattr_(tools, "x")(...)`: call it directly
            # with its line as a constant (no pending-call object, no frame walk per call).
            if (
                isinstance(func, ast.Call)
                and isinstance(func.func, ast.Name)
                and func.func.id == "_getattr_"
            ):
                line = ast.Constant(value.lineno)
                direct = _call("_cm_call_", [line, func, *value.args], value)
                direct.keywords = value.keywords
                node.value = direct
                return node
        node.value = _call("_cm_awaitable_", [value], value)
        return node


def instrument(module: ast.Module) -> ast.Module:
    """Add budget checks and size guards, then wrap the plan body in its async function."""
    module = _Instrument().visit(module)
    body = module.body or [ast.Pass(lineno=1, col_offset=0, end_lineno=1, end_col_offset=0)]
    first, last = body[0], body[-1]
    func = ast.AsyncFunctionDef(
        name=PLAN_FUNCTION,
        args=ast.arguments(
            posonlyargs=[],
            args=[],
            vararg=None,
            kwonlyargs=[],
            kw_defaults=[],
            kwarg=None,
            defaults=[],
        ),
        body=body,
        decorator_list=[],
        returns=None,
        type_comment=None,
    )
    func.lineno = first.lineno
    func.col_offset = 0
    func.end_lineno = getattr(last, "end_lineno", None) or first.lineno
    func.end_col_offset = 0
    return ast.Module(body=[func], type_ignores=[])
