"""Two scripted "models" that solve the shop task the way a capable model would.

The direct one calls tools one dependency level per round trip (with parallel tool calls) and
reads every raw result; the Code Mode one writes a single plan. Both compute the same summary,
so the comparison is about cost, not about luck.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from codemode_core import CodeMode
from demo import shop
from demo.tokens import Conversation, tool_definitions

SYSTEM = "You are an operations assistant for an online shop. Use the tools to answer."

PLAN = """\
pending = await tools.list_orders(status="pending")
orders = await asyncio.gather(*[tools.get_order(o["id"]) for o in pending])

skus = sorted({line["sku"] for order in orders for line in order["lines"]})
levels = await asyncio.gather(*[tools.get_stock(sku) for sku in skus])
on_hand = {level["sku"]: level["on_hand"] for level in levels}
customer_ids = sorted({order["customer_id"] for order in orders})
customers = await asyncio.gather(*[tools.get_customer(cid) for cid in customer_ids])
tier_of = {c["id"]: c["tier"] for c in customers}

tiers, blocked = {}, []
for order in orders:
    missing = [l["sku"] for l in order["lines"] if on_hand[l["sku"]] < l["qty"]]
    if missing:
        blocked.append({"order": order["id"], "missing": missing})
        continue
    quotes = await tools.get_shipping_quotes(order["id"])
    best = min(quotes, key=lambda q: q["price"])
    empty = {"orders": 0, "value": 0.0, "shipping": 0.0}
    tier = tiers.setdefault(tier_of[order["customer_id"]], empty)
    tier["orders"] += 1
    value = sum(l["qty"] * l["unit_price"] for l in order["lines"])
    tier["value"] = round(tier["value"] + value, 2)
    tier["shipping"] = round(tier["shipping"] + best["price"], 2)
return {"tiers": tiers, "blocked": blocked}
"""


def summarize(
    orders: list[dict[str, Any]],
    on_hand: dict[str, int],
    tier_of: dict[int, str],
    quotes: dict[int, list[dict[str, Any]]],
) -> dict[str, Any]:
    """What the direct-calling model concludes from the raw results it has read."""
    tiers: dict[str, dict[str, Any]] = {}
    blocked = []
    for order in orders:
        missing = [line["sku"] for line in order["lines"] if on_hand[line["sku"]] < line["qty"]]
        if missing:
            blocked.append({"order": order["id"], "missing": missing})
            continue
        best = min(quotes[order["id"]], key=lambda q: q["price"])
        tier = tiers.setdefault(
            tier_of[order["customer_id"]], {"orders": 0, "value": 0.0, "shipping": 0.0}
        )
        tier["orders"] += 1
        value = sum(line["qty"] * line["unit_price"] for line in order["lines"])
        tier["value"] = round(tier["value"] + value, 2)
        tier["shipping"] = round(tier["shipping"] + best["price"], 2)
    return {"tiers": tiers, "blocked": blocked}


def answer_text(summary: dict[str, Any]) -> str:
    lines = [
        f"{tier}: {t['orders']} shippable orders worth {t['value']:.2f}, "
        f"shipping {t['shipping']:.2f}"
        for tier, t in sorted(summary["tiers"].items())
    ]
    lines += [
        f"order {b['order']} blocked, missing {', '.join(b['missing'])}" for b in summary["blocked"]
    ]
    return "\n".join(lines)


def run_direct() -> tuple[Conversation, dict[str, Any], int]:
    """Direct tool calling: one round trip per dependency level, every result in context."""
    functions = {fn.__name__: fn for fn in shop.FUNCTIONS}
    definitions = [
        {"name": t.name, "description": t.description, "parameters": dict(t.input_schema)}
        for t in shop.TOOLS
    ]
    convo = Conversation(SYSTEM, tool_definitions(definitions))
    convo.messages.append({"role": "user", "content": shop.TASK})
    ids = itertools.count(1)
    calls_made = 0

    def round_of(calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        nonlocal calls_made
        tool_calls = [
            {
                "id": f"call_{next(ids)}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for name, args in calls
        ]
        convo.model_call({"role": "assistant", "content": None, "tool_calls": tool_calls})
        results = []
        for call, (name, args) in zip(tool_calls, calls, strict=True):
            result = functions[name](**args)
            convo.tool_result(call["id"], result)
            results.append(json.loads(json.dumps(result)))  # the model sees JSON, not objects
        calls_made += len(calls)
        return results

    pending = round_of([("list_orders", {"status": "pending"})])[0]
    orders = round_of([("get_order", {"order_id": o["id"]}) for o in pending])
    skus = sorted({line["sku"] for order in orders for line in order["lines"]})
    customer_ids = sorted({order["customer_id"] for order in orders})
    found = round_of(
        [("get_stock", {"sku": s}) for s in skus]
        + [("get_customer", {"customer_id": c}) for c in customer_ids]
    )
    on_hand = {r["sku"]: r["on_hand"] for r in found[: len(skus)]}
    tier_of = {r["id"]: r["tier"] for r in found[len(skus) :]}
    shippable = [
        o for o in orders if all(on_hand[line["sku"]] >= line["qty"] for line in o["lines"])
    ]
    quote_lists = round_of([("get_shipping_quotes", {"order_id": o["id"]}) for o in shippable])
    quotes = {o["id"]: q for o, q in zip(shippable, quote_lists, strict=True)}
    summary = summarize(orders, on_hand, tier_of, quotes)
    convo.model_call({"role": "assistant", "content": answer_text(summary)})
    return convo, summary, calls_made


def run_code_mode() -> tuple[Conversation, dict[str, Any], Any]:
    """Code Mode: one plan, run in the sandbox; only its compact result enters the context."""
    code_mode = CodeMode(shop.TOOLS)
    definitions = [
        {
            "name": "run_code",
            "description": code_mode.description,
            "parameters": {
                "type": "object",
                "properties": {"code": {"type": "string"}},
                "required": ["code"],
            },
        }
    ]
    convo = Conversation(SYSTEM, tool_definitions(definitions))
    convo.messages.append({"role": "user", "content": shop.TASK})
    convo.model_call(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "run_code", "arguments": json.dumps({"code": PLAN})},
                }
            ],
        }
    )
    result = asyncio.run(code_mode.run(PLAN))
    if not result.ok:
        raise RuntimeError(f"the demo plan failed: {result.to_model()}")
    convo.messages.append({"role": "tool", "tool_call_id": "call_1", "content": result.to_model()})
    convo.model_call({"role": "assistant", "content": answer_text(result.value)})
    return convo, result.value, result
