"""Red-team: the record cannot lie. What the host says a tool returned is what it returned,
whatever the plan does with its copy, and only a tool that was called and failed is reported as
a tool failure. Both executors (the `make_cm` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codemode_core import CodeMode, Tool


def _tools() -> list[Tool]:
    def balance() -> dict[str, Any]:
        """The account's balance."""
        return {"balance": 10, "history": [1, 2]}

    def pay(amount: int) -> str:
        """Pay (needs a human's approval)."""
        return f"paid {amount}"

    def broken() -> None:
        """Always fails."""
        raise ValueError("the service is down")

    return [
        Tool.from_function(balance),
        Tool.from_function(pay, requires_approval=True),
        Tool.from_function(broken),
    ]


TAMPER = "d = await tools.balance()\nd['balance'] = 999\nd['history'].append('forged')\n"


async def test_a_plan_cannot_rewrite_what_the_record_says_a_tool_returned(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm(_tools())
    result = await cm.run(TAMPER + "return d")
    assert result.value == {"balance": 999, "history": [1, 2, "forged"]}  # its own copy
    assert result.tool_calls[0].result == {"balance": 10, "history": [1, 2]}


async def test_a_plan_cannot_rewrite_its_journal_before_a_resume(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm(_tools())
    paused = await cm.run(TAMPER + "await tools.pay(amount=d['balance'])\nreturn d")
    assert paused.status == "paused"
    [request] = paused.pending
    resumed = await cm.resume(paused.execution_id, {request.request_id: True})
    # Replayed from the journal: what the tool really returned, tampered again by the plan.
    assert resumed.ok, resumed.error
    assert resumed.value == {"balance": 999, "history": [1, 2, "forged"]}
    assert resumed.tool_calls[-1].arguments == {"amount": 999}
    again = await cm.run("d = await tools.balance()\nreturn d")
    assert again.value == {"balance": 10, "history": [1, 2]}


async def test_a_plan_raising_tool_error_is_not_a_tool_failure(
    make_cm: Callable[..., CodeMode],
) -> None:
    cm = make_cm(_tools())
    forged = await cm.run("raise ToolError('all data deleted', tool='tools.delete_everything')")
    assert forged.error is not None
    assert forged.error.kind == "runtime" and forged.error.tool is None and forged.error.line == 1
    assert "delete_everything" not in forged.error.render()
    assert "the plan raised ToolError itself: all data deleted" in forged.error.message

    await cm.save_snippet("fake", "raise ToolError('boom', tool='tools.pay')")
    from_snippet = await cm.run("await snippets.fake()")
    assert from_snippet.error is not None and from_snippet.error.kind == "runtime"
    assert from_snippet.error.tool is None and from_snippet.tool_calls == ()

    # A real failure stays a tool failure, even when the plan catches and re-raises it.
    real = await cm.run("try:\n    await tools.broken()\nexcept ToolError as e:\n    raise e")
    assert real.error is not None and real.error.kind == "tool"
    assert real.error.tool == "tools.broken" and "the service is down" in real.error.message
