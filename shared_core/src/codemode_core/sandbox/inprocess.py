"""The in-process executor: plans run on the caller's event loop, policy and budgets only.

Fastest (no process hop per tool call) but it shares the host's memory and GIL: it cannot cap
memory, and C-level work a plan starts (a pathological regular expression) cannot be
interrupted until it returns. Use it for trusted plans and speed; the isolated executor adds
OS-level limits.
"""

from __future__ import annotations

from codemode_core.sandbox._driver import run_plan
from codemode_core.sandbox._interpreter import check_interpreter
from codemode_core.sandbox.executor import Bridge, ExecutionOutcome, ExecutionRequest

__all__ = ["InProcessExecutor"]


class InProcessExecutor:
    """Runs plans in this process under the RestrictedPython policy and compiled-in budgets.

    Args:
        strict: refuse to start (`ConfigurationError`) on a Python version the sandbox was
            not verified on, instead of warning once.
    """

    def __init__(self, *, strict: bool = False) -> None:
        check_interpreter("InProcessExecutor", strict=strict)

    async def execute(self, request: ExecutionRequest, bridge: Bridge) -> ExecutionOutcome:
        return await run_plan(request, bridge)

    async def aclose(self) -> None:
        """Nothing to release: no processes or threads are held."""
