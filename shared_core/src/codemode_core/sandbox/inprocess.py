"""The in-process executor: plans run on the caller's event loop, policy and budgets only.

Fastest (no process hop per tool call) but it shares the host's memory and GIL: it cannot cap
memory, and C-level work a plan starts (a pathological regular expression) cannot be
interrupted until it returns. Use it for trusted plans and speed; the isolated executor adds
OS-level limits.
"""

from __future__ import annotations

from codemode_core.sandbox._driver import drive
from codemode_core.sandbox._namespace import build_plan_globals
from codemode_core.sandbox.compiler import PlanRejected, compile_plan
from codemode_core.sandbox.executor import (
    Bridge,
    ExecutionOutcome,
    ExecutionRequest,
    PlanFailure,
)
from codemode_core.sandbox.guards import PlanRuntime
from codemode_core.sandbox.rewrite import PLAN_FUNCTION

__all__ = ["InProcessExecutor"]


class InProcessExecutor:
    """Runs plans in this process under the RestrictedPython policy and compiled-in budgets."""

    async def execute(self, request: ExecutionRequest, bridge: Bridge) -> ExecutionOutcome:
        compiled = compile_plan(request.code)
        if isinstance(compiled, PlanRejected):
            return ExecutionOutcome(
                status="error",
                failure=PlanFailure(
                    kind=compiled.kind, message=compiled.message, line=compiled.line
                ),
            )
        runtime = PlanRuntime(request.limits)
        namespace = build_plan_globals(runtime, bridge, request.manifest)
        exec(compiled.code, namespace)  # defines the plan's async function; runs nothing yet
        plan = namespace[PLAN_FUNCTION]
        tool_names = [name for names in request.manifest.namespaces.values() for name in names]
        return await drive(runtime, plan, tool_names=tool_names)

    async def aclose(self) -> None:
        """Nothing to release: no processes or threads are held."""
