"""`snippets.<name>(...)` inside plans: saved plans run in the calling plan's sandbox.

A snippet call compiles the snippet's code (cached, under the same policy), runs it in fresh
globals built from the same runtime and bridge (so the same budgets, journal and tools apply)
with its parameters bound as names, and returns its value to the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codemode_core.errors import ToolError
from codemode_core.sandbox._plan_api import PendingCall, ToolNamespace
from codemode_core.sandbox._snippet_limits import PLAN_NAMESPACE
from codemode_core.sandbox.compiler import PlanRejected, compile_plan
from codemode_core.sandbox.executor import Bridge, Manifest
from codemode_core.sandbox.guards import PlanRuntime, plan_line, register_proxy_type
from codemode_core.sandbox.rewrite import PLAN_FUNCTION

__all__ = ["build_snippets"]


@register_proxy_type
class SnippetFunction:
    """`snippets.x`: calling it starts nothing until awaited (like a tool)."""

    __slots__ = ("_bridge", "_manifest", "_name", "_runtime", "_spec")

    def __init__(
        self,
        runtime: PlanRuntime,
        bridge: Bridge,
        manifest: Manifest,
        name: str,
        spec: Mapping[str, Any],
    ) -> None:
        self._runtime = runtime
        self._bridge = bridge
        self._manifest = manifest
        self._name = name
        self._spec = spec

    def __call__(self, *args: Any, **kwargs: Any) -> PendingCall:
        return PendingCall(
            self._runtime, f"snippets.{self._name}", plan_line(2), self._run, (args, kwargs)
        )

    async def _run(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        label = f"snippets.{self._name}"
        names: list[str] = list(self._spec.get("parameters", ()))
        if len(args) > len(names):
            raise ToolError(f"takes {len(names)} positional arguments, got {len(args)}", tool=label)
        bound = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise ToolError(
                    f"unexpected argument {key!r} (parameters: {', '.join(names) or 'none'})",
                    tool=label,
                )
            if key in bound:
                raise ToolError(f"got {key!r} twice", tool=label)
            bound[key] = value
        missing = [r for r in self._spec.get("required", ()) if r not in bound]
        if missing:
            raise ToolError(f"missing argument(s) {', '.join(missing)}", tool=label)
        compiled = compile_plan(str(self._spec.get("code", "")))
        if isinstance(compiled, PlanRejected):
            raise ToolError(f"the saved snippet no longer compiles: {compiled.message}", tool=label)
        from codemode_core.sandbox._namespace import build_plan_globals

        namespace = build_plan_globals(self._runtime, self._bridge, self._manifest)
        namespace.update(bound)
        try:
            exec(compiled.code, namespace)
            return await namespace[PLAN_FUNCTION]()
        finally:
            namespace.clear()

    def __repr__(self) -> str:
        return f"<snippet {self._name}>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("snippets cannot be copied")


def build_snippets(runtime: PlanRuntime, bridge: Bridge, manifest: Manifest) -> ToolNamespace:
    """`snippets.<name>` (the developer's) and `snippets.plans.<name>` (saved by plans)."""
    members: dict[str, Any] = {}
    by_plans: dict[str, Any] = {}
    for name, spec in manifest.snippets.items():
        namespace, _, identifier = name.rpartition(".")
        if namespace == PLAN_NAMESPACE:
            by_plans[identifier] = SnippetFunction(runtime, bridge, manifest, name, spec)
        elif not namespace:
            members[name] = SnippetFunction(runtime, bridge, manifest, name, spec)
    if by_plans:
        members[PLAN_NAMESPACE] = ToolNamespace(f"snippets.{PLAN_NAMESPACE}", by_plans)
    return ToolNamespace("snippets", members)
