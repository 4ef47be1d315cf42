"""Pause for a human, resume without repeating anything: the durable part of the demo."""

from __future__ import annotations

from collections import Counter
from typing import Any

from codemode_core import CodeMode, ExecutionResult, Tool, approve
from demo import shop

PLAN = """pending = await tools.list_orders(status="pending")
order = await tools.get_order(order_id=pending[0]["id"])
quotes = await tools.get_shipping_quotes(order_id=order["id"])
cheapest = min(quotes, key=lambda q: q["price"])
booking = await tools.book_shipment(order_id=order["id"], carrier=cheapest["carrier"])
return booking
"""


def run() -> tuple[ExecutionResult, ExecutionResult, Counter[str]]:
    """Run the plan (it pauses at the booking), approve, resume; count real tool calls."""
    calls: Counter[str] = Counter()

    def counted(fn: Any) -> Tool:
        def call(**arguments: Any) -> Any:
            calls[fn.__name__] += 1
            return fn(**arguments)

        tool = Tool.from_function(fn)
        return Tool(
            tool.name,
            tool.description,
            tool.input_schema,
            call,
            tool.output_schema,
            requires_approval=fn is book_shipment,
        )

    tools = [counted(fn) for fn in (*shop.FUNCTIONS, book_shipment)]
    code_mode = CodeMode(tools, executor="inprocess")  # no approver: a human decides
    try:
        paused = code_mode.run_sync(PLAN)
        request = paused.pending[0]
        done = code_mode.resume_sync(paused.execution_id, {request.request_id: approve})
    finally:
        code_mode.close()
    return paused, done, calls


def book_shipment(order_id: int, carrier: str) -> dict[str, Any]:
    """Book a carrier for an order (costs money: a human approves it)."""
    return {"order_id": order_id, "carrier": carrier, "tracking": f"TRK-{order_id:05d}"}
