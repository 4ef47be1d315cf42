"""Tools of the approval tests, importable by the subprocess that resumes after a restart."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from langchain_core.tools import tool

LOG = os.environ.get("CODEMODE_CALL_LOG", "")


def _hit(name: str) -> None:
    if LOG:
        with Path(LOG).open("a") as log:
            log.write(json.dumps(name) + "\n")


@tool
def find_customer(email: str) -> dict[str, Any]:
    """Find a customer by email."""
    _hit("find_customer")
    return {"id": 17, "email": email}


@tool
def list_orders(customer_id: int) -> list[dict[str, Any]]:
    """A customer's orders."""
    _hit("list_orders")
    return [{"id": 100 + i, "total": 10.0 * i} for i in range(1, 4)]


@tool
def refund(order_id: int, amount: float) -> str:
    """Refund an order (a human approves refunds)."""
    _hit("refund")
    return f"refunded {amount} on {order_id}"


TOOLS = [find_customer, list_orders, refund]
PLAN = """customer = await tools.find_customer(email="ada@example.com")
orders = await tools.list_orders(customer_id=customer["id"])
biggest = max(orders, key=lambda o: o["total"])
try:
    return await tools.refund(order_id=biggest["id"], amount=biggest["total"])
except ToolError as e:
    return f"no refund: {e}"
"""
