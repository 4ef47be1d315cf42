"""CodeMode's behaviour through its public API, against every executor backend."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from codemode_core import CodeMode, ConfigurationError, Limits, Tool, ToolError
from core_support import Calls, make_tools


async def test_plan_calls_tools_with_data_dependency(cm: CodeMode, calls: Calls) -> None:
    result = await cm.run(
        """
pending = await tools.list_orders(status="pending")
names = sorted({o["customer"] for o in pending})
tiers = {}
for name in names:
    tiers[name] = (await tools.get_customer(name))["tier"]
print("customers:", names)
return {"count": len(pending), "tiers": tiers}
"""
    )
    assert result.ok, result.error
    assert result.status == "ok"
    assert result.value == {"count": 2, "tiers": {"ada": "gold", "bob": "basic"}}
    assert result.logs == ("customers: ['ada', 'bob']",)
    assert [c.tool for c in result.tool_calls] == [
        "tools.list_orders",
        "tools.get_customer",
        "tools.get_customer",
    ]
    assert result.tool_calls[0].arguments == {"status": "pending"}
    assert result.tool_calls[1].line == 6  # the plan's own numbering (line 1 is blank)
    assert all(c.ok and c.duration >= 0 for c in result.tool_calls)
    assert calls.counts == {"list_orders": 1, "get_customer": 2}
    assert len(result.execution_id) == 32


async def test_last_expression_is_the_result(cm: CodeMode) -> None:
    result = await cm.run("x = await tools.add(2, 3)\nx * 10")
    assert result.value == 50


async def test_positional_arguments_follow_stub_order(cm: CodeMode) -> None:
    result = await cm.run("return await tools.add(1, b=41)")
    assert result.value == 42
    assert result.tool_calls[0].arguments == {"a": 1, "b": 41}


async def test_gather_runs_tool_calls_concurrently(cm: CodeMode) -> None:
    assert (await cm.run("return 1")).ok  # warm: an isolated worker starts here, not below
    started = time.perf_counter()
    result = await cm.run(
        "rs = await asyncio.gather(*[tools.slow(0.1) for _ in range(10)])\nreturn len(rs)"
    )
    elapsed = time.perf_counter() - started
    assert result.value == 10
    assert len(result.tool_calls) == 10
    assert elapsed < 0.5, f"10 x 100 ms calls took {elapsed:.2f}s"


async def test_invalid_arguments_name_tool_parameter_and_expectation(cm: CodeMode) -> None:
    # A computed value: a literal would be refused by the pre-flight check (test_preflight.py).
    result = await cm.run('a = "three"\nawait tools.add(a=a, b=1)')
    assert not result.ok
    assert result.error is not None
    assert result.error.kind == "tool"
    assert result.error.line == 2
    assert "tools.add" in result.error.message
    assert "'a'" in result.error.message and "integer" in result.error.message
    assert result.tool_calls[0].error is not None


async def test_unknown_argument_lists_accepted_ones(cm: CodeMode) -> None:
    result = await cm.run("await tools.add(**{'a': 1, 'b': 2, 'c': 3})")  # seen only at run time
    assert result.error is not None
    assert "unexpected argument(s) c" in result.error.message
    assert "accepted: a, b" in result.error.message


async def test_tool_exception_is_catchable_tool_error(cm: CodeMode) -> None:
    result = await cm.run(
        """
try:
    await tools.get_customer("zed")
except ToolError as e:
    return "caught: " + str(e)
"""
    )
    assert result.value == "caught: KeyError: \"no customer 'zed'\""
    assert result.tool_calls[0].error == "KeyError: \"no customer 'zed'\""


async def test_uncaught_tool_error_keeps_earlier_calls(cm: CodeMode) -> None:
    result = await cm.run(
        """
a = await tools.add(1, 2)
b = await tools.list_orders()
await tools.get_customer("nobody")
return a
"""
    )
    assert result.status == "error"
    assert result.error is not None
    assert result.error.kind == "tool"
    assert result.error.line == 4
    assert result.error.tool == "tools.get_customer"
    assert [c.ok for c in result.tool_calls] == [True, True, False]
    text = result.to_model()
    assert "line 4" in text and "Tool calls that already ran (3)" in text


async def test_runtime_error_reports_plan_line(cm: CodeMode) -> None:
    result = await cm.run("x = 1\ny = {}\nreturn y['missing']")
    assert result.error is not None
    assert result.error.kind == "runtime"
    assert result.error.line == 3
    assert result.error.message.startswith("KeyError: 'missing'")


class _LibraryNumber:
    """A number type of some library: converts to float, is not JSON."""

    def __init__(self, value: float) -> None:
        self._value = value

    def __float__(self) -> float:
        return self._value


async def test_values_are_made_json_friendly(make_cm: Any) -> None:
    @dataclasses.dataclass
    class Point:
        x: int
        tags: set[str]

    def point() -> Any:
        """A point."""
        return {
            "p": Point(1, {"a"}),
            "when": datetime.date(2024, 1, 2),
            "raw": b"hi",
            "pair": (1, 2),
            "fn": len,
            "amount": _LibraryNumber(2.5),  # e.g. mpmath.mpf: its float value
        }

    cm = make_cm([Tool("point", "A point.", {"type": "object"}, point)])
    result = await cm.run("return await tools.point()")
    assert result.value == {
        "p": {"x": 1, "tags": ["a"]},
        "when": "2024-01-02",
        "raw": "hi",
        "pair": [1, 2],
        "fn": "<builtin_function_or_method object>",
        "amount": 2.5,
    }


async def test_plan_cannot_mutate_host_data(make_cm: Any) -> None:
    shared = {"items": [1, 2, 3]}

    def data() -> dict[str, Any]:
        """Shared data."""
        return shared

    cm = make_cm([Tool("data", "Shared data.", {"type": "object"}, data)])
    result = await cm.run("d = await tools.data()\nd['items'].append(4)\nd['x'] = 1\nd")
    assert result.value == {"items": [1, 2, 3, 4], "x": 1}
    assert shared == {"items": [1, 2, 3]}


async def test_oversized_logs_and_model_text_are_cut(make_cm: Any, calls: Calls) -> None:
    cm = make_cm(make_tools(calls), limits=Limits(max_output_chars=200))
    result = await cm.run("for i in range(100):\n    print('line', i)\nreturn 'x' * 1000")
    assert sum(len(line) for line in result.logs) < 300
    assert "logs truncated" in result.logs[-1]
    assert len(result.value) == 1000
    text = result.to_model()
    assert len(text) <= 200
    assert "truncated" in text


async def test_failure_never_raises(cm: CodeMode) -> None:
    for code in ["for x in", "import os", "1/0", "await tools.nope()", 42]:
        result = await cm.run(code)  # type: ignore[arg-type]
        assert result.status == "error"
        assert result.error is not None and result.error.message


def test_run_sync_without_loop(cm: CodeMode) -> None:
    assert cm.run_sync("return await tools.add(1, 1)").value == 2


async def test_run_sync_inside_running_loop(cm: CodeMode) -> None:
    result = await asyncio.to_thread(cm.run_sync, "return await tools.add(2, 2)")
    assert result.value == 4
    assert cm.run_sync("return await tools.add(3, 3)").value == 6  # from the loop's own thread


async def test_run_sync_from_thread_uses_entered_loop(cm: CodeMode) -> None:
    async with cm:
        loop_thread = threading.get_ident()
        seen: list[int] = []

        def whoami() -> int:
            """Which thread runs me."""
            seen.append(threading.get_ident())
            return 1

        cm2 = CodeMode([Tool.from_function(whoami)])
        async with cm2:
            result = await asyncio.to_thread(cm2.run_sync, "return await tools.whoami()")
        assert result.value == 1
        assert seen == [loop_thread]


_caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="unset")


def _caller_tool() -> Tool:
    def caller() -> str:
        """Who called the plan (a context variable set around run_sync)."""
        return _caller.get()

    return Tool.from_function(caller)


def test_run_sync_carries_the_callers_context_and_reports_progress() -> None:
    cm = CodeMode([_caller_tool()])
    events: list[str] = []
    token = _caller.set("outer tool call")
    try:
        result = cm.run_sync(
            "print('hi')\nreturn await tools.caller()",
            observer=lambda e: events.append(e.kind),
        )
    finally:
        _caller.reset(token)
        cm.close()
    assert result.value == "outer tool call"
    assert events == ["log", "tool_start", "tool_end"]


async def test_run_sync_on_entered_loop_carries_the_callers_context() -> None:
    async with CodeMode([_caller_tool()]) as cm:

        def from_thread() -> object:
            _caller.set("thread caller")
            return cm.run_sync("return await tools.caller()").value

        assert await asyncio.to_thread(from_thread) == "thread caller"


def test_duplicate_tool_names_are_a_configuration_error() -> None:
    def f() -> int:
        """F."""
        return 1

    with pytest.raises(ConfigurationError, match="two tools are named 'f'"):
        CodeMode([Tool.from_function(f), Tool.from_function(f)])


def test_non_tool_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"expected codemode_core\.Tool"):
        CodeMode([len])  # type: ignore[list-item]


def test_description_contains_instructions_and_stubs(cm: CodeMode) -> None:
    assert "await tools.<name>(...)" in cm.description
    assert "async def list_orders(" in cm.description
    assert cm.stubs in cm.description


async def test_names_are_made_identifiers_and_dispatch_maps_back(make_cm: Any) -> None:
    received: dict[str, Any] = {}

    def handler(**kwargs: Any) -> str:
        received.update(kwargs)
        return "ok"

    schema = {
        "type": "object",
        "properties": {"user-id": {"type": "string"}},
        "required": ["user-id"],
    }
    cm = make_cm(
        [
            Tool("get-user.v2", "Get a user.", schema, handler),
            Tool("class", "A keyword.", {"type": "object"}, lambda: "k"),
        ]
    )
    assert "async def get_user_v2(user_id: str)" in cm.stubs
    result = await cm.run("a = await tools.get_user_v2('u1')\nb = await tools.class_()\n[a, b]")
    assert result.value == ["ok", "k"]
    assert received == {"user-id": "u1"}


async def test_json_schema_tools_are_validated(make_cm: Any) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    cm = make_cm([Tool("double", "Double n.", schema, lambda n: n * 2)])
    ok = await cm.run("return await tools.double(n=4)")
    assert ok.value == 8
    bad = await cm.run("n = 'x'\nreturn await tools.double(n=n)")  # computed: checked at run time
    assert bad.error is not None
    assert "'n': expected integer, got 'x'" in bad.error.message
    missing = await cm.run("return await tools.double(**{})")
    assert missing.error is not None
    assert "missing required argument 'n'" in missing.error.message


async def test_tool_call_cap_stops_the_plan(make_cm: Any, calls: Calls) -> None:
    cm = make_cm(make_tools(calls), limits=Limits(max_tool_calls=5))
    result = await cm.run(
        "while True:\n    try:\n        await tools.add(1, 1)\n    except Exception:\n        pass"
    )
    assert result.error is not None
    assert result.error.kind == "budget"
    assert "max_tool_calls=5" in result.error.message
    assert len(result.tool_calls) == 5


async def test_compiled_plans_are_cached() -> None:
    from codemode_core.sandbox.compiler import compile_plan

    first = compile_plan("return 1 + 1")
    assert compile_plan("return 1 + 1") is first


async def test_tool_error_raised_by_tool_keeps_its_message(make_cm: Any) -> None:
    def refuse() -> None:
        """Always refuses."""
        raise ToolError("not allowed today")

    cm = make_cm([Tool.from_function(refuse)])
    result = await cm.run("await tools.refuse()")
    assert result.error is not None
    assert result.error.message == "tools.refuse failed: not allowed today"


async def test_observer_sees_tool_calls_and_logs(cm: CodeMode) -> None:
    events: list[Any] = []

    async def observe(event: Any) -> None:
        events.append(event)

    result = await cm.run("print('hello')\nreturn await tools.add(1, 2)", observer=observe)
    assert result.value == 3
    kinds = [(e.kind, e.tool) for e in events]
    assert kinds == [("log", None), ("tool_start", "tools.add"), ("tool_end", "tools.add")]
    assert events[0].text == "hello" and events[2].result == 3


async def test_failing_observer_does_not_break_the_plan(cm: CodeMode) -> None:
    def broken(event: Any) -> None:
        raise RuntimeError("observer bug")

    assert (await cm.run("return await tools.add(2, 2)", observer=broken)).value == 4


async def test_tools_run_in_the_context_of_the_run_that_called_them(
    make_cm: Callable[..., CodeMode],
) -> None:
    """Adapters pass the outer call (config, graph state) to tools in a context variable; a
    pooled worker must not serve a later run's calls in an earlier run's context."""
    cm = make_cm([_caller_tool()])
    for caller in ("first run", "second run"):
        token = _caller.set(caller)
        try:
            result = await cm.run(
                "a, b = await asyncio.gather(tools.caller(), tools.caller())\n"
                "return [await tools.caller(), a, b]"
            )
        finally:
            _caller.reset(token)
        assert result.value == [caller] * 3
