"""The in-process executor: plans run on the caller's event loop, policy and budgets only.

Fastest (no process hop per tool call) but it shares the host's memory and GIL: it cannot cap
memory, and C-level work a plan starts (a pathological regular expression) cannot be
interrupted until it returns. Use it for trusted plans and speed; the isolated executor adds
OS-level limits.
"""

from __future__ import annotations

from codemode_core.sandbox._driver import run_plan
from codemode_core.sandbox.executor import Bridge, ExecutionOutcome, ExecutionRequest

__all__ = ["InProcessExecutor"]


class InProcessExecutor:
    """Runs plans in this process under the RestrictedPython policy and compiled-in budgets."""

    async def execute(self, request: ExecutionRequest, bridge: Bridge) -> ExecutionOutcome:
        return await run_plan(request, bridge)

    async def aclose(self) -> None:
        """Nothing to release: no processes or threads are held."""
