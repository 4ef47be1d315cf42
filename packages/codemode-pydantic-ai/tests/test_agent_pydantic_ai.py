"""Real pydantic-ai agents with a `CodeModeToolset`, driven by scripted models."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from pydantic_ai import Agent, RunContext, capture_run_messages
from pydantic_ai.exceptions import ModelRetry, UnexpectedModelBehavior, UsageLimitExceeded
from pydantic_ai.messages import ModelRequest, ToolReturnPart
from pydantic_ai.models.test import TestModel
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.toolsets import DynamicToolset, FunctionToolset
from pydantic_ai.usage import UsageLimits
from typing_extensions import TypedDict

from codemode_core import ExecutionResult, Limits
from codemode_pydantic_ai import CodeModeCapability, CodeModeToolset
from pydantic_ai_fakes import ScriptedModel, answer, code_call, last_tool_output


class Order(TypedDict):
    id: int
    customer_id: int
    total: float


class Customer(TypedDict):
    id: int
    name: str
    tier: str


@dataclass
class Shop:
    """The agent's dependencies: the data the tools read, and what they were asked."""

    orders: dict[int, Order]
    customers: dict[int, Customer]
    discounts: dict[str, float]
    asked: list[str] = field(default_factory=list)


def shop() -> Shop:
    return Shop(
        orders={
            1: {"id": 1, "customer_id": 10, "total": 100.0},
            2: {"id": 2, "customer_id": 11, "total": 40.0},
            3: {"id": 3, "customer_id": 10, "total": 60.0},
        },
        customers={
            10: {"id": 10, "name": "Ada", "tier": "gold"},
            11: {"id": 11, "name": "Bob", "tier": "basic"},
        },
        discounts={"gold": 0.2, "basic": 0.0},
    )


shop_tools = FunctionToolset[Shop]()


@shop_tools.tool
def get_order(ctx: RunContext[Shop], order_id: int) -> Order:
    """Fetch one order by id."""
    ctx.deps.asked.append(f"order {order_id}")
    if order_id not in ctx.deps.orders:
        raise ModelRetry(f"there is no order {order_id}; order ids are {sorted(ctx.deps.orders)}")
    return ctx.deps.orders[order_id]


@shop_tools.tool
async def get_customer(ctx: RunContext[Shop], customer_id: int) -> Customer:
    """Fetch one customer by id."""
    ctx.deps.asked.append(f"customer {customer_id}")
    return ctx.deps.customers[customer_id]


@shop_tools.tool
def get_discount(ctx: RunContext[Shop], tier: str) -> float:
    """The discount rate (0..1) of a customer tier."""
    ctx.deps.asked.append(f"discount {tier}")
    return ctx.deps.discounts[tier]


PLAN = """\
due = {}
for order_id in [1, 2, 3]:
    order = await tools.get_order(order_id)
    customer = await tools.get_customer(customer_id=order["customer_id"])
    rate = await tools.get_discount(customer["tier"])
    name = customer["name"]
    due[name] = round(due.get(name, 0) + order["total"] * (1 - rate), 2)
print("customers:", len(due))
return due
"""


async def test_one_round_trip_over_three_dependent_tools_with_deps() -> None:
    scripted = ScriptedModel(
        [code_call(PLAN), lambda messages, info: answer(last_tool_output(messages))]
    )
    agent = Agent(scripted.model, deps_type=Shop, toolsets=[CodeModeToolset(shop_tools)])
    deps = shop()

    result = await agent.run("What does each customer owe after discounts?", deps=deps)

    assert scripted.tool_names() == ["run_code"]
    description = scripted.description()
    assert "async def get_order(order_id: int) -> Order:" in description
    assert "class Customer(TypedDict):\n    id: int\n    name: str" in description
    assert result.output == '{"Ada": 128.0, "Bob": 40.0}\n\nLogs:\ncustomers: 2'
    assert len(deps.asked) == 9 and deps.asked[:3] == ["order 1", "customer 10", "discount gold"]
    usage = result.usage
    assert (usage.requests, usage.tool_calls) == (2, 10)  # 9 inner calls + the code tool
    [code_return] = [
        part
        for message in result.all_messages()
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    ]
    execution = code_return.metadata
    assert isinstance(execution, ExecutionResult)
    assert [call.tool for call in execution.tool_calls][:3] == [
        "tools.get_order",
        "tools.get_customer",
        "tools.get_discount",
    ]
    assert execution.tool_calls[0].line == 3


async def test_wrapped_tools_get_the_run_context_of_the_code_tool_call() -> None:
    seen: list[tuple[str | None, str | None, int]] = []
    toolset = FunctionToolset[str]()

    @toolset.tool
    def whoami(ctx: RunContext[str]) -> str:
        """Who is asking."""
        seen.append((ctx.tool_name, ctx.tool_call_id, ctx.run_step))
        return ctx.deps

    scripted = ScriptedModel([code_call("return [await tools.whoami(), await tools.whoami()]")])
    scripted.replies.append(lambda messages, info: answer(last_tool_output(messages)))
    agent = Agent(scripted.model, deps_type=str, toolsets=[CodeModeToolset(toolset)])

    result = await agent.run("who?", deps="ada")

    assert result.output == '["ada", "ada"]'
    code_call_id = scripted.seen[1][1][-2].parts[0].tool_call_id  # type: ignore[union-attr]
    assert [name for name, _, _ in seen] == ["whoami", "whoami"]
    assert [call_id for _, call_id, _ in seen] == [f"{code_call_id}:0", f"{code_call_id}:1"]
    assert {step for _, _, step in seen} == {1}


async def test_failing_plan_then_corrected_plan() -> None:
    broken = PLAN.replace('customer["tier"]', 'customer["level"]')
    scripted = ScriptedModel(
        [
            code_call(broken),
            code_call(PLAN),
            lambda messages, info: answer(last_tool_output(messages)),
        ]
    )
    agent = Agent(
        scripted.model,
        deps_type=Shop,
        toolsets=[CodeModeToolset(shop_tools, executor="inprocess")],
    )

    result = await agent.run("What does each customer owe?", deps=shop())

    error = last_tool_output(scripted.seen[1][1])
    assert "runtime error at line 5: KeyError" in error
    assert "'level'" in error
    assert "- tools.get_customer (line 4): ok" in error  # what already ran, for the model
    assert result.output.startswith('{"Ada": 128.0, "Bob": 40.0}')


async def test_model_retry_in_a_wrapped_tool_is_an_error_the_plan_sees() -> None:
    plan = """\
try:
    await tools.get_order(99)
except ToolError as error:
    return "caught: " + str(error)
"""
    scripted = ScriptedModel(
        [code_call(plan), code_call("await tools.get_order(42)"), answer("ok")]
    )
    agent = Agent(
        scripted.model,
        deps_type=Shop,
        toolsets=[CodeModeToolset(shop_tools, executor="inprocess")],
    )

    await agent.run("order 99?", deps=shop())

    assert last_tool_output(scripted.seen[1][1]) == (
        '"caught: there is no order 99; order ids are [1, 2, 3]"'
    )
    uncaught = last_tool_output(scripted.seen[2][1])
    assert "tool error at line 1: tools.get_order failed: there is no order 42" in uncaught


async def test_invalid_arguments_are_reported_by_the_tools_own_validator() -> None:
    scripted = ScriptedModel(
        [code_call('o = "one"\nawait tools.get_order(order_id=o)'), answer("ok")]
    )
    agent = Agent(
        scripted.model, deps_type=Shop, toolsets=[CodeModeToolset(shop_tools, executor="inprocess")]
    )

    await agent.run("?", deps=shop())

    error = last_tool_output(scripted.seen[1][1])
    assert "tool error at line 2: tools.get_order failed: invalid arguments: 'order_id':" in error
    assert "(got 'one')" in error


async def test_failed_plans_use_the_code_tools_retry_budget() -> None:
    """TestModel writes `a` as its plan (a NameError) and retries until pydantic-ai stops it."""
    agent = Agent(
        TestModel(),
        deps_type=Shop,
        toolsets=[CodeModeToolset(shop_tools, max_retries=2, executor="inprocess")],
    )
    with capture_run_messages() as messages, pytest.raises(UnexpectedModelBehavior) as raised:
        await agent.run("?", deps=shop())

    assert "'run_code' exceeded max retries count of 2" in str(raised.value)
    retries = [
        part
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart) and part.outcome == "retried"
    ]
    assert len(retries) == 2
    assert "runtime error at line 1: NameError: name 'a' is not defined" in (
        retries[0].model_response_str()
    )


async def test_test_model_smoke_run() -> None:
    model = TestModel(call_tools=[])
    agent = Agent(model, deps_type=Shop, toolsets=[CodeModeToolset(shop_tools)])

    result = await agent.run("hello", deps=shop())

    assert result.output == "success (no tool calls)"
    parameters = model.last_model_request_parameters
    assert parameters is not None
    [code_tool] = parameters.function_tools
    assert code_tool.name == "run_code"
    assert code_tool.parameters_json_schema["required"] == ["code"]
    assert "async def get_discount(tier: str) -> float:" in (code_tool.description or "")


async def test_prepare_functions_and_dynamic_toolsets_are_listed_per_step() -> None:
    async def only_for_admins(ctx: RunContext[str], tool_def: ToolDefinition) -> ToolDefinition:
        return tool_def if ctx.deps == "admin" else None  # type: ignore[return-value]

    toolset = FunctionToolset[str]()

    @toolset.tool(prepare=only_for_admins)
    def delete_everything(ctx: RunContext[str]) -> str:
        """Delete all records."""
        return "deleted"

    @toolset.tool
    def count_records(ctx: RunContext[str]) -> int:
        """How many records there are."""
        return 3

    def per_step(ctx: RunContext[str]) -> FunctionToolset[str]:
        step_tools = FunctionToolset[str]()

        @step_tools.tool_plain(name=f"step_{ctx.run_step}_marker")
        def marker() -> int:
            """Marks the step."""
            return ctx.run_step

        return step_tools

    plan = "return await tools.delete_everything()"
    for deps, expected in (
        ("admin", '"deleted"'),
        ("guest", "there is no tool tools.delete_everything"),
    ):
        scripted = ScriptedModel(
            [code_call(plan), lambda messages, info: answer(last_tool_output(messages))]
        )
        agent = Agent(
            scripted.model,
            deps_type=str,
            toolsets=[CodeModeToolset([toolset, DynamicToolset(per_step)], executor="inprocess")],
        )
        result = await agent.run("?", deps=deps)
        assert expected in result.output
        description = scripted.description()
        assert ("async def delete_everything()" in description) is (deps == "admin")
        assert "step_1_marker" in description
        assert "step_2_marker" in scripted.description(request=1)


async def test_usage_limits_count_the_plans_calls() -> None:
    scripted = ScriptedModel([code_call(PLAN), answer("never")])
    agent = Agent(
        scripted.model, deps_type=Shop, toolsets=[CodeModeToolset(shop_tools, executor="inprocess")]
    )
    deps = shop()
    with pytest.raises(UsageLimitExceeded, match="tool_calls_limit of 4"):
        await agent.run("?", deps=deps, usage_limits=UsageLimits(tool_calls_limit=4))
    assert len(deps.asked) == 3  # the fourth call (with the code tool itself) was refused


async def test_an_unexpected_tool_exception_ends_the_run_as_it_would_directly() -> None:
    toolset = FunctionToolset()

    @toolset.tool_plain
    def broken() -> int:
        """Always fails."""
        raise RuntimeError("database is down")

    scripted = ScriptedModel(
        [code_call("try:\n    await tools.broken()\nexcept ToolError:\n    pass\nreturn 1")]
    )
    agent = Agent(scripted.model, toolsets=[CodeModeToolset(toolset, executor="inprocess")])
    with pytest.raises(RuntimeError, match="database is down"):
        await agent.run("?")


async def test_unselected_tools_stay_direct_tools_and_approval_tools_join_plans() -> None:
    toolset = FunctionToolset()

    @toolset.tool_plain(requires_approval=True)
    def refund(order_id: int) -> str:
        """Refund an order."""
        return "refunded"

    @toolset.tool_plain
    def lookup(order_id: int) -> int:
        """Look an order up."""
        return order_id

    @toolset.tool_plain
    def render_chart(points: list[int]) -> str:
        """Render a chart for the user."""
        return "chart"

    scripted = ScriptedModel([answer("done")])
    agent = Agent(
        scripted.model,
        toolsets=[CodeModeToolset(toolset, tools=["lookup"], executor="inprocess")],
    )
    await agent.run("?")

    assert sorted(scripted.tool_names()) == ["refund", "render_chart", "run_code"]
    description = scripted.description()
    assert "def lookup(order_id: int) -> int:" in description
    assert "refund" not in description and "render_chart" not in description

    scripted = ScriptedModel([answer("done")])
    agent = Agent(scripted.model, toolsets=[CodeModeToolset(toolset, executor="inprocess")])
    await agent.run("?")
    assert scripted.tool_names() == ["run_code"]
    assert "def refund(order_id: int) -> str:" in scripted.description()


async def test_capability_wraps_all_of_an_agents_tools() -> None:
    scripted = ScriptedModel(
        [
            code_call("return await tools.double(await tools.double(3))"),
            lambda messages, info: answer(last_tool_output(messages)),
        ]
    )
    agent = Agent(
        scripted.model,
        capabilities=[CodeModeCapability(options={"limits": Limits(timeout=5.0)})],
    )

    @agent.tool_plain
    def double(x: int) -> int:
        """Twice x."""
        return 2 * x

    result = await agent.run("?")

    assert scripted.tool_names() == ["run_code"]
    assert result.output == "12"
    assert result.usage.tool_calls == 3


def test_invalid_options_fail_at_construction() -> None:
    with pytest.raises(TypeError, match="CodeModeToolset got an unknown option 'timeout'"):
        CodeModeToolset(shop_tools, timeout=3)


async def test_sequential_tools_run_alone_even_under_gather() -> None:
    running: list[str] = []
    overlaps: list[tuple[str, ...]] = []
    toolset = FunctionToolset()

    async def work(name: str) -> str:
        running.append(name)
        overlaps.append(tuple(running))
        await asyncio.sleep(0.01)
        running.remove(name)
        return name

    @toolset.tool_plain(sequential=True)
    async def migrate(step: int) -> str:
        """Change the schema (must not overlap anything)."""
        return await work(f"migrate {step}")

    @toolset.tool_plain
    async def read(key: str) -> str:
        """Read a key."""
        return await work(f"read {key}")

    plan = (
        "return await asyncio.gather(tools.read('a'), tools.migrate(1), tools.read('b'), "
        "tools.migrate(2), tools.read('c'))"
    )
    scripted = ScriptedModel([code_call(plan), answer("ok")])
    agent = Agent(scripted.model, toolsets=[CodeModeToolset(toolset, executor="inprocess")])
    await agent.run("?")

    assert sorted(name for group in overlaps for name in group if "migrate" in name) == [
        "migrate 1",
        "migrate 2",
    ]
    assert all(len(group) == 1 for group in overlaps if any("migrate" in n for n in group))
    assert any(len(group) > 1 for group in overlaps)  # reads still overlap one another
