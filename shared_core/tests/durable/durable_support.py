"""Tools for the durable-execution tests, importable by subprocesses too."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from codemode_core import Tool

CALL_LOG = os.environ.get("CODEMODE_TEST_CALL_LOG")


class Counter:
    """Counts calls per tool, in memory and (for subprocess tests) in a file."""

    def __init__(self, path: str | None = None) -> None:
        self.counts: dict[str, int] = {}
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.path = path

    def hit(self, name: str, **arguments: Any) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
        self.seen.append((name, arguments))
        if self.path:
            with Path(self.path).open("a") as log:
                log.write(json.dumps([name, arguments]) + "\n")


def shop_tools(counter: Counter) -> list[Tool]:
    def find_customer(email: str) -> dict[str, Any]:
        """Find a customer by email."""
        counter.hit("find_customer", email=email)
        return {"id": 7, "email": email}

    def open_orders(customer_id: int) -> list[dict[str, Any]]:
        """A customer's open orders."""
        counter.hit("open_orders", customer_id=customer_id)
        return [{"id": 100 + i, "total": 20.0 * i} for i in range(1, 4)]

    def refund(order_id: int, amount: float) -> dict[str, Any]:
        """Refund an order (needs a human's approval)."""
        counter.hit("refund", order_id=order_id, amount=amount)
        return {"order_id": order_id, "refunded": amount}

    def remember(**values: Any) -> bool:
        """Keep values the plan saw (for checking replay)."""
        counter.hit("remember", **values)
        return True

    remember_tool = Tool(
        "remember",
        "Keep values the plan saw.",
        {"type": "object", "additionalProperties": True},
        remember,
        binder=lambda arguments: arguments,
    )
    return [
        Tool.from_function(find_customer),
        Tool.from_function(open_orders),
        Tool.from_function(refund, requires_approval=True),
        remember_tool,
    ]


REFUND_PLAN = """
customer = await tools.find_customer(email="ada@example.com")
orders = await tools.open_orders(customer_id=customer["id"])
biggest = max(orders, key=lambda o: o["total"])
try:
    done = await tools.refund(order_id=biggest["id"], amount=biggest["total"])
except ToolError as e:
    return f"no refund: {e}"
return done
"""
