"""Snippets: saved plans with typed parameters, validated on save, found, described, called."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from codemode_core import CodeMode
from codemode_core.snippets import SnippetError
from durable_support import Counter, shop_tools

BIGGEST_ORDER = """
customer = await tools.find_customer(email=email)
orders = await tools.open_orders(customer_id=customer["id"])
return max(o["total"] for o in orders) * rate
"""


@pytest.fixture
def counter() -> Counter:
    return Counter()


async def test_saved_snippet_is_found_described_and_called_from_a_later_plan(
    make_cm: Callable[..., CodeMode], counter: Counter
) -> None:
    cm = make_cm(shop_tools(counter))
    await cm.save_snippet(
        "biggest_order",
        BIGGEST_ORDER,
        description="The largest open order of a customer, converted at a rate.",
        parameters={"email": "str", "rate": "float"},
    )
    [hit] = [
        h
        for h in (await cm.run("return await codemode.search('largest order')")).value
        if h["name"].startswith("snippets.")
    ]
    assert hit["name"] == "snippets.biggest_order"
    assert hit["signature"] == "biggest_order(email: str, rate: float) -> Any"
    described = await cm.run("return await codemode.describe('snippets.biggest_order')")
    assert "async def biggest_order(email: str, rate: float) -> Any:" in described.value

    result = await cm.run(
        'a = await snippets.biggest_order(email="ada@example.com", rate=2.0)\n'
        'b = await snippets.biggest_order("bob@example.com", 1.0)\n'
        "return [a, b]"
    )
    assert result.ok, result.to_model()
    assert result.value == [120.0, 60.0]
    assert counter.counts == {"find_customer": 2, "open_orders": 2}
    # The snippet's tool calls are the calling plan's: recorded, journaled, budgeted.
    assert [c.tool for c in result.tool_calls].count("tools.open_orders") == 2


async def test_saving_validates_and_says_what_is_wrong(
    make_cm: Callable[..., CodeMode], counter: Counter
) -> None:
    cm = make_cm(shop_tools(counter))
    bad = (
        "c = await tools.find_customr(email=email)\n"
        "o = await tools.open_orders(customer=1)\n"
        "r = await tools.refund(order_id='x', amount=2)\n"
        "return open('/etc/passwd')"
    )
    with pytest.raises(SnippetError) as caught:
        await cm.save_snippet("Bad Name", bad, parameters={"email": "str"})
    message = str(caught.value)
    assert "must be a lower-case Python identifier" in message
    assert "open" in message  # the policy refuses open()
    with pytest.raises(SnippetError) as caught:
        await cm.save_snippet("bad", bad.rsplit("\n", 1)[0] + "\nreturn 1")
    message = str(caught.value)
    assert "line 1: there is no tool tools.find_customr; did you mean tools.find_customer?" in (
        message
    )
    assert "line 2: tools.open_orders has no parameter 'customer'" in message
    assert "line 2: tools.open_orders needs the argument 'customer_id'" in message
    assert "line 3: tools.refund argument 'order_id' should be int, got str 'x'" in message
    assert await cm.snippets() == []


async def test_a_plan_saves_a_snippet_for_later_plans_and_bad_calls_are_tool_errors(
    make_cm: Callable[..., CodeMode], counter: Counter
) -> None:
    cm = make_cm(shop_tools(counter))
    saved = await cm.run(
        'return await codemode.save_snippet("double", "return x * 2",'
        ' description="Twice x.", parameters={"x": "int"})'
    )
    assert saved.ok and "snippets.plans.double" in saved.value
    assert (await cm.run("return await snippets.plans.double(x=21)")).value == 42
    wrong = await cm.run("return await snippets.plans.double(**{'y': 1})")  # seen at run time
    assert wrong.error is not None and wrong.error.kind == "tool"
    assert "unexpected argument 'y' (parameters: x)" in wrong.error.message
    refused = await cm.run('return await codemode.save_snippet("x", "import os")')
    assert refused.error is not None and "was not saved" in refused.error.message


async def test_snippets_persist_in_a_sqlite_store(counter: Counter, tmp_path: Path) -> None:
    path = tmp_path / "snippets.sqlite"
    async with CodeMode(shop_tools(counter), store=path, executor="inprocess") as first:
        await first.save_snippet("triple", "return x * 3", parameters={"x": "int"})
    async with CodeMode(shop_tools(counter), store=path, executor="inprocess") as second:
        assert (await second.run("return await snippets.triple(x=5)")).value == 15
        await second.delete_snippet("triple")
        assert await second.snippets() == []
