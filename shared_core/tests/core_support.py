"""Test helpers shared by the core's test modules: a small realistic tool set."""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

from codemode_core import Tool


class Order(TypedDict):
    id: int
    customer: str
    total: float
    status: str


ORDERS: list[Order] = [
    {"id": 1, "customer": "ada", "total": 120.0, "status": "shipped"},
    {"id": 2, "customer": "bob", "total": 35.5, "status": "pending"},
    {"id": 3, "customer": "ada", "total": 80.0, "status": "pending"},
]


class Calls:
    """Counts how often each tool ran (to prove replay/caching never calls twice)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def hit(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1


def make_tools(calls: Calls) -> list[Tool]:
    def list_orders(status: str | None = None) -> list[Order]:
        """List orders, optionally only those with a status."""
        calls.hit("list_orders")
        return [o for o in ORDERS if status is None or o["status"] == status]

    async def get_customer(name: str) -> dict[str, Any]:
        """Look up a customer by name.

        Args:
            name: The customer's login name.
        """
        calls.hit("get_customer")
        await asyncio.sleep(0)
        if name not in {"ada", "bob"}:
            raise KeyError(f"no customer {name!r}")
        return {"name": name, "tier": "gold" if name == "ada" else "basic"}

    async def slow(seconds: float = 0.1) -> str:
        """Sleep, then say done."""
        calls.hit("slow")
        await asyncio.sleep(seconds)
        return "done"

    def add(a: int, b: int) -> int:
        """Add two integers."""
        calls.hit("add")
        return a + b

    return [
        Tool.from_function(list_orders),
        Tool.from_function(get_customer),
        Tool.from_function(slow),
        Tool.from_function(add),
    ]
