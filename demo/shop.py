"""A small online shop with deterministic data and five typed tools."""

from __future__ import annotations

import random
from typing import Literal, TypedDict

from codemode_core import Tool

Status = Literal["pending", "shipped", "cancelled"]
Tier = Literal["gold", "silver", "basic"]


class OrderSummary(TypedDict):
    id: int
    customer_id: int
    status: Status
    created: str


class OrderLine(TypedDict):
    sku: str
    qty: int
    unit_price: float


class Order(TypedDict):
    id: int
    customer_id: int
    status: Status
    created: str
    lines: list[OrderLine]
    ship_to_country: str
    notes: str


class StockLevel(TypedDict):
    sku: str
    on_hand: int
    warehouse: str
    reorder_date: str | None


class Customer(TypedDict):
    id: int
    name: str
    email: str
    tier: Tier
    country: str
    since: str


class Quote(TypedDict):
    carrier: str
    price: float
    days: int


def _seed() -> tuple[dict[int, Customer], dict[str, StockLevel], dict[int, Order]]:
    rng = random.Random(20261125)
    countries = ["NO", "SE", "DE", "FR", "NL"]
    customers: dict[int, Customer] = {}
    for i in range(1, 16):
        customers[i] = {
            "id": i,
            "name": f"Customer {i:02d}",
            "email": f"customer{i:02d}@example.com",
            "tier": rng.choice(["gold", "silver", "basic", "basic"]),
            "country": rng.choice(countries),
            "since": f"20{rng.randint(15, 24)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        }
    stock: dict[str, StockLevel] = {}
    for i in range(1, 61):
        sku = f"SKU-{i:03d}"
        on_hand = rng.choice([0, 0, 1, 2, 5, 8, 13, 21, 40])
        stock[sku] = {
            "sku": sku,
            "on_hand": on_hand,
            "warehouse": rng.choice(["OSL", "HAM"]),
            "reorder_date": None if on_hand else f"2026-12-{rng.randint(10, 28)}",
        }
    orders: dict[int, Order] = {}
    for i in range(1, 41):
        lines: list[OrderLine] = [
            {
                "sku": f"SKU-{rng.randint(1, 60):03d}",
                "qty": rng.randint(1, 3),
                "unit_price": round(rng.uniform(4, 120), 2),
            }
            for _ in range(rng.randint(1, 4))
        ]
        orders[i] = {
            "id": i,
            "customer_id": rng.randint(1, 15),
            "status": rng.choice(["pending", "pending", "shipped", "cancelled"]),
            "created": f"2026-11-{rng.randint(1, 24):02d}",
            "lines": lines,
            "ship_to_country": rng.choice(countries),
            "notes": rng.choice(
                ["", "Leave at the door.", "Gift wrap, please.", "Call before delivery."]
            ),
        }
    return customers, stock, orders


CUSTOMERS, STOCK, ORDERS = _seed()


def list_orders(status: Status | None = None) -> list[OrderSummary]:
    """List orders, newest first, optionally only those with one status."""
    found = [o for o in ORDERS.values() if status is None or o["status"] == status]
    return [
        {
            "id": o["id"],
            "customer_id": o["customer_id"],
            "status": o["status"],
            "created": o["created"],
        }
        for o in sorted(found, key=lambda o: o["created"], reverse=True)
    ]


def get_order(order_id: int) -> Order:
    """Get one order with its lines and shipping destination."""
    return ORDERS[order_id]


def get_stock(sku: str) -> StockLevel:
    """Units on hand of a SKU, and when it is reordered if it is out."""
    return STOCK[sku]


def get_customer(customer_id: int) -> Customer:
    """Get a customer's profile, including their loyalty tier."""
    return CUSTOMERS[customer_id]


def get_shipping_quotes(order_id: int) -> list[Quote]:
    """Price and delivery days of every carrier for one order."""
    order = ORDERS[order_id]
    weight = sum(line["qty"] for line in order["lines"])
    base = 4.0 if order["ship_to_country"] == "NO" else 9.0
    return [
        {"carrier": "PostNord", "price": round(base + 1.5 * weight, 2), "days": 4},
        {"carrier": "DHL", "price": round(base + 2.2 * weight + 3, 2), "days": 2},
        {"carrier": "Bring", "price": round(base * 1.3 + 1.1 * weight, 2), "days": 3},
    ]


FUNCTIONS = [list_orders, get_order, get_stock, get_customer, get_shipping_quotes]
TOOLS = [Tool.from_function(fn) for fn in FUNCTIONS]

TASK = (
    "For every pending order, check stock for all of its lines. For orders that can ship, pick "
    "the cheapest carrier quote; for orders that cannot, list the missing SKUs. Summarize per "
    "customer tier: shippable orders, their total value and total shipping cost; and list the "
    "blocked orders."
)
