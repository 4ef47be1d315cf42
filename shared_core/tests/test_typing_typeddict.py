"""`typing.TypedDict` works as `typing_extensions.TypedDict` does, on Python 3.11 too (pydantic
refuses the former before 3.12); a type that still has no schema is never dropped silently."""

from __future__ import annotations

import re
import socket
import typing
import warnings

import pytest
import typing_extensions

from codemode_core import CodeMode, Tool


class Item(typing.TypedDict):
    """One line of an order."""

    sku: str
    qty: int


class Order(typing.TypedDict, total=False):
    id: typing.Required[int]
    items: list[Item]
    note: str | None


def get_order(order_id: int) -> Order:
    """Fetch one order."""
    return {"id": order_id, "items": [{"sku": "A-1", "qty": 2}]}


def maybe_orders(customer: str) -> list[Order] | None:
    """A customer's orders, if any."""
    return None


def total_qty(order: Order) -> int:
    """Units in an order."""
    return sum(item["qty"] for item in order.get("items", []))


def test_typing_typeddict_return_types_are_schemas_not_any() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is dropped, so nothing is warned about
        tools = [Tool.from_function(f) for f in (get_order, maybe_orders, total_qty)]
    stubs = CodeMode(tools, executor="inprocess").stubs
    returned = re.search(r"async def get_order\(order_id: int\) -> (\w+):", stubs)
    assert returned is not None, stubs
    assert (
        f"class {returned[1]}(TypedDict, total=False):\n"
        "    id: Required[int]\n"  # Required inside total=False
        "    items: list[Item]\n"
        "    note: str | None\n"
    ) in stubs
    assert "-> list[Order] | None:" in stubs
    assert '    """One line of an order."""\n    sku: str\n    qty: int\n' in stubs
    assert "Any" not in stubs


Line = typing.TypedDict("Line", {"sku": str, "qty": int})  # noqa: UP013  # same name twice
LineTE = typing_extensions.TypedDict("Line", {"sku": str, "qty": int})  # noqa: UP013


def line_of(order_id: int) -> list[Line]:
    """Lines of an order."""
    return []


def line_of_te(order_id: int) -> list[LineTE]:
    """Lines of an order."""
    return []


def test_the_same_class_from_typing_extensions_gives_the_same_stubs() -> None:
    ours = CodeMode([Tool.from_function(line_of)], executor="inprocess").stubs
    theirs = CodeMode([Tool.from_function(line_of_te, name="line_of")], executor="inprocess")
    assert ours == theirs.stubs
    assert "-> list[Line]:" in ours


async def test_typing_typeddict_parameters_validate() -> None:
    code_mode = CodeMode([Tool.from_function(total_qty)], executor="inprocess")
    result = await code_mode.run(
        'return await tools.total_qty({"id": 1, "items": [{"sku": "a", "qty": 3}]})'
    )
    assert result.value == 3
    bad = await code_mode.run('return await tools.total_qty({"items": []})')
    assert bad.error is not None and "order.id" in bad.error.message


def test_a_return_type_without_a_schema_is_reported() -> None:
    def connect(host: str) -> socket.socket:
        """Open a socket."""
        raise NotImplementedError

    with pytest.warns(UserWarning, match=r"socket\.socket.* the stub shows `-> Any`"):
        tool = Tool.from_function(connect)
    assert tool.output_schema is None
