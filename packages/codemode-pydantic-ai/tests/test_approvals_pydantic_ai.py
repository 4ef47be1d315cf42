"""Human in the loop under pydantic-ai: a plan reaching a call that needs approval ends the run
with `DeferredToolRequests`; the next run with `DeferredToolResults` resumes the plan from its
journal, so no tool runs twice. Real agents, driven by pydantic-ai's `FunctionModel`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai import (
    Agent,
    DeferredToolRequests,
    DeferredToolResults,
    RunContext,
    Tool,
    ToolApproved,
    ToolDenied,
)
from pydantic_ai.capabilities import HandleDeferredToolCalls
from pydantic_ai.exceptions import UserError
from pydantic_ai.messages import ModelRequest, ModelResponse, ToolCallPart, ToolReturnPart
from pydantic_ai.toolsets import FunctionToolset

from codemode_core import PendingApproval
from codemode_pydantic_ai import CodeModeCapability, CodeModeToolset
from pydantic_ai_fakes import ScriptedModel, answer, code_call, last_tool_output

CALLS: Counter[str] = Counter()


def find_customer(email: str) -> dict[str, Any]:
    """Find a customer by email."""
    CALLS["find_customer"] += 1
    return {"id": 17, "email": email}


def list_orders(customer_id: int) -> list[dict[str, Any]]:
    """A customer's orders."""
    CALLS["list_orders"] += 1
    return [{"id": 100 + i, "total": 10.0 * i} for i in range(1, 4)]


def refund(order_id: int, amount: float) -> str:
    """Refund an order (a human approves refunds)."""
    CALLS["refund"] += 1
    return f"refunded {amount} on {order_id}"


PLAN = """customer = await tools.find_customer(email="ada@example.com")
orders = await tools.list_orders(customer_id=customer["id"])
biggest = max(orders, key=lambda o: o["total"])
try:
    return await tools.refund(order_id=biggest["id"], amount=biggest["total"])
except ToolError as e:
    return f"no refund: {e}"
"""


@pytest.fixture(autouse=True)
def _count_calls() -> None:
    CALLS.clear()


def shop(executor: str = "inprocess", **options: Any) -> CodeModeToolset[None]:
    """The three tools; `refund` carries pydantic-ai's own `requires_approval=True`."""
    tools = [Tool(find_customer), Tool(list_orders), Tool(refund, requires_approval=True)]
    return CodeModeToolset(tools, executor=executor, **options)


def agent_for(script: ScriptedModel, toolset: CodeModeToolset[None], **kw: Any) -> Agent[None, Any]:
    return Agent(script.model, toolsets=[toolset], output_type=[str, DeferredToolRequests], **kw)


def deferred(output: object) -> tuple[str, dict[str, Any]]:
    """The code call a run ended on, and what its metadata tells the reviewer."""
    assert isinstance(output, DeferredToolRequests), output
    [call] = output.approvals
    assert call.tool_name == "run_code" and not output.calls
    return call.tool_call_id, output.metadata[call.tool_call_id]["codemode"]


@pytest.mark.parametrize("executor", ["inprocess", "isolated"])
async def test_an_approved_plan_resumes_and_each_tool_runs_once(executor: str) -> None:
    script = ScriptedModel([code_call(PLAN), answer("Done.")])
    agent = agent_for(script, shop(executor))

    first = await agent.run("refund ada's biggest order")
    call_id, codemode = deferred(first.output)
    [request] = codemode["requests"]
    assert request["tool"] == "tools.refund"
    assert request["arguments"] == {"order_id": 103, "amount": 30.0}
    assert request["line"] == 5
    assert codemode["execution_id"]
    assert CALLS == {"find_customer": 1, "list_orders": 1}

    second = await agent.run(
        message_history=first.all_messages(),
        deferred_tool_results=DeferredToolResults(approvals={call_id: True}),
    )
    assert second.output == "Done."
    assert last_tool_output(script.seen[-1][1]) == '"refunded 30.0 on 103"'
    assert CALLS == {"find_customer": 1, "list_orders": 1, "refund": 1}


async def test_with_the_capability_the_follow_up_run_resumes_too() -> None:
    script = ScriptedModel([code_call(PLAN), answer("Done.")])
    agent = Agent(
        script.model,
        tools=[find_customer, list_orders, Tool(refund, requires_approval=True)],
        capabilities=[CodeModeCapability(options={"executor": "inprocess"})],
        output_type=[str, DeferredToolRequests],
    )
    first = await agent.run("refund ada")
    call_id, _ = deferred(first.output)
    second = await agent.run(
        message_history=first.all_messages(),
        deferred_tool_results=DeferredToolResults(approvals={call_id: True}),
    )
    assert second.output == "Done."
    assert CALLS == {"find_customer": 1, "list_orders": 1, "refund": 1}


async def test_a_denied_request_is_a_tool_error_the_plan_handles() -> None:
    script = ScriptedModel([code_call(PLAN), answer("No refund.")])
    agent = agent_for(script, shop())
    first = await agent.run("refund ada")
    call_id, codemode = deferred(first.output)
    request_id = codemode["requests"][0]["request_id"]

    results = DeferredToolResults(
        approvals={call_id: True},
        metadata={call_id: {"decisions": {request_id: ToolDenied("over the limit")}}},
    )
    second = await agent.run(message_history=first.all_messages(), deferred_tool_results=results)
    assert second.output == "No refund."
    assert last_tool_output(script.seen[-1][1]) == '"no refund: not approved: over the limit"'
    assert CALLS == {"find_customer": 1, "list_orders": 1}


async def test_an_edited_request_runs_with_the_humans_arguments() -> None:
    script = ScriptedModel([code_call(PLAN), answer("Partly refunded.")])
    agent = agent_for(script, shop())
    first = await agent.run("refund ada")
    call_id, codemode = deferred(first.output)
    request_id = codemode["requests"][0]["request_id"]

    edited = ToolApproved(override_args={"order_id": 103, "amount": 12.5})
    results = DeferredToolResults(
        approvals={call_id: True}, metadata={call_id: {"decisions": {request_id: edited}}}
    )
    await agent.run(message_history=first.all_messages(), deferred_tool_results=results)
    assert last_tool_output(script.seen[-1][1]) == '"refunded 12.5 on 103"'
    assert CALLS == {"find_customer": 1, "list_orders": 1, "refund": 1}


async def test_a_plan_that_pauses_twice_needs_two_follow_up_runs() -> None:
    plan = """orders = await tools.list_orders(customer_id=17)
done = []
for order in orders[1:]:
    done.append(await tools.refund(order_id=order["id"], amount=order["total"]))
return done
"""
    script = ScriptedModel([code_call(plan), answer("Both refunded.")])
    agent = agent_for(script, shop())
    first = await agent.run("refund the last two orders")
    call_id, codemode = deferred(first.output)
    assert [r["arguments"]["order_id"] for r in codemode["requests"]] == [102]

    approve = DeferredToolResults(approvals={call_id: True})
    second = await agent.run(message_history=first.all_messages(), deferred_tool_results=approve)
    again_id, codemode = deferred(second.output)
    assert again_id == call_id
    assert [r["arguments"]["order_id"] for r in codemode["requests"]] == [103]
    assert CALLS == {"list_orders": 1, "refund": 1}

    third = await agent.run(message_history=second.all_messages(), deferred_tool_results=approve)
    assert third.output == "Both refunded."
    assert "refunded 20.0 on 102" in last_tool_output(script.seen[-1][1])
    assert CALLS == {"list_orders": 1, "refund": 2}


async def test_requests_from_one_gather_are_decided_together() -> None:
    plan = """orders = await tools.list_orders(customer_id=17)
async def attempt(order):
    try:
        return await tools.refund(order_id=order["id"], amount=order["total"])
    except ToolError as e:
        return str(e)
return await asyncio.gather(*[attempt(o) for o in orders[:2]])
"""
    script = ScriptedModel([code_call(plan), answer("Done.")])
    agent = agent_for(script, shop())
    first = await agent.run("refund two orders")
    call_id, codemode = deferred(first.output)
    by_order = {r["arguments"]["order_id"]: r["request_id"] for r in codemode["requests"]}
    assert sorted(by_order) == [101, 102]

    decisions = {by_order[101]: True, by_order[102]: {"type": "reject", "message": "no"}}
    results = DeferredToolResults(
        approvals={call_id: True}, metadata={call_id: {"decisions": decisions}}
    )
    await agent.run(message_history=first.all_messages(), deferred_tool_results=results)
    assert last_tool_output(script.seen[-1][1]) == '["refunded 10.0 on 101", "not approved: no"]'
    assert CALLS == {"list_orders": 1, "refund": 1}


async def test_denying_the_code_call_ends_the_plan_where_it_paused() -> None:
    script = ScriptedModel([code_call(PLAN), answer("Not done.")])
    agent = agent_for(script, shop())
    first = await agent.run("refund ada")
    call_id, _ = deferred(first.output)
    results = DeferredToolResults(approvals={call_id: ToolDenied("not today")})
    second = await agent.run(message_history=first.all_messages(), deferred_tool_results=results)
    assert second.output == "Not done."
    assert last_tool_output(script.seen[-1][1]) == "not today"
    assert CALLS == {"find_customer": 1, "list_orders": 1}


async def test_require_approval_option_with_a_predicate() -> None:
    plan = """small = await tools.refund(order_id=101, amount=5.0)
big = await tools.refund(order_id=102, amount=500.0)
return [small, big]
"""
    script = ScriptedModel([code_call(plan), answer("Done.")])
    toolset = CodeModeToolset(
        [find_customer, list_orders, refund],
        require_approval={"refund": lambda args: args["amount"] > 100},
        executor="inprocess",
    )
    agent = agent_for(script, toolset)
    first = await agent.run("refunds")
    call_id, codemode = deferred(first.output)
    assert [r["arguments"]["amount"] for r in codemode["requests"]] == [500.0]
    assert CALLS == {"refund": 1}
    await agent.run(
        message_history=first.all_messages(),
        deferred_tool_results=DeferredToolResults(approvals={call_id: True}),
    )
    assert CALLS == {"refund": 2}


async def test_an_inline_approver_decides_without_ending_the_run() -> None:
    seen: list[PendingApproval] = []

    async def approver(request: PendingApproval) -> bool:
        seen.append(request)
        return request.arguments["amount"] < 20

    script = ScriptedModel([code_call(PLAN), answer("Done.")])
    first = await agent_for(script, shop(approver=approver)).run("refund ada")
    assert first.output == "Done."
    assert (
        last_tool_output(script.seen[-1][1])
        == '"no refund: not approved: a human rejected this call"'
    )
    assert [(r.tool, r.line) for r in seen] == [("tools.refund", 5)]
    assert CALLS == {"find_customer": 1, "list_orders": 1}


async def test_the_agents_deferred_call_handler_decides_inner_calls() -> None:
    asked: list[tuple[str, dict[str, Any]]] = []

    def handler(ctx: RunContext[None], requests: DeferredToolRequests) -> DeferredToolResults:
        for call in requests.approvals:
            asked.append((call.tool_name, call.args_as_dict()))
        return DeferredToolResults(
            approvals={call.tool_call_id: True for call in requests.approvals}
        )

    script = ScriptedModel([code_call(PLAN), answer("Done.")])
    agent = agent_for(script, shop(), capabilities=[HandleDeferredToolCalls(handler=handler)])
    result = await agent.run("refund ada")
    assert result.output == "Done."
    assert asked == [("refund", {"order_id": 103, "amount": 30.0})]
    assert CALLS == {"find_customer": 1, "list_orders": 1, "refund": 1}


async def test_a_paused_plan_resumes_in_a_new_process_from_a_sqlite_store(
    tmp_path: Path,
) -> None:
    store = tmp_path / "executions.sqlite"
    script = ScriptedModel([code_call(PLAN), answer("Done.")])
    first = await agent_for(script, shop(store=store)).run("refund ada")
    call_id, _ = deferred(first.output)

    # A new toolset and agent over the same file, as a restarted process would build them.
    second = await agent_for(script, shop(store=store)).run(
        message_history=first.all_messages(),
        deferred_tool_results=DeferredToolResults(approvals={call_id: True}),
    )
    assert second.output == "Done."
    assert CALLS == {"find_customer": 1, "list_orders": 1, "refund": 1}


async def test_a_follow_up_run_repeated_does_not_run_the_plan_again() -> None:
    script = ScriptedModel([code_call(PLAN), answer("Done."), answer("Already done.")])
    agent = agent_for(script, shop())
    first = await agent.run("refund ada")
    call_id, _ = deferred(first.output)
    approve = DeferredToolResults(approvals={call_id: True})
    await agent.run(message_history=first.all_messages(), deferred_tool_results=approve)

    again = await agent.run(message_history=first.all_messages(), deferred_tool_results=approve)
    assert again.output == "Already done."
    assert "already ran in an earlier attempt" in last_tool_output(script.seen[-1][1])
    assert CALLS == {"find_customer": 1, "list_orders": 1, "refund": 1}


async def test_a_code_call_that_needs_approval_itself_runs_once_approved() -> None:
    script = ScriptedModel([code_call(PLAN), answer("Done.")])
    toolset = shop(approver=lambda request: True).approval_required()
    agent = agent_for(script, toolset)
    first = await agent.run("refund ada")
    assert isinstance(first.output, DeferredToolRequests)
    [call] = first.output.approvals
    assert CALLS == {}  # the plan waits for a human before it starts

    second = await agent.run(
        message_history=first.all_messages(),
        deferred_tool_results=DeferredToolResults(approvals={call.tool_call_id: True}),
    )
    assert second.output == "Done."
    assert CALLS == {"find_customer": 1, "list_orders": 1, "refund": 1}


async def test_require_approval_applies_to_direct_tools_through_pydantic_ai() -> None:
    functions = FunctionToolset([find_customer, refund])
    toolset = CodeModeToolset(
        functions, tools=["find_customer"], require_approval={"refund": True}, executor="inprocess"
    )
    direct_call = ToolCallPart("refund", {"order_id": 1, "amount": 2.0}, tool_call_id="r1")
    script = ScriptedModel([ModelResponse(parts=[direct_call]), answer("Refunded.")])
    agent = agent_for(script, toolset)
    first = await agent.run("refund")
    assert isinstance(first.output, DeferredToolRequests)
    assert [c.tool_name for c in first.output.approvals] == ["refund"]
    assert CALLS == {}
    second = await agent.run(
        message_history=first.all_messages(),
        deferred_tool_results=DeferredToolResults(approvals={"r1": True}),
    )
    assert second.output == "Refunded."
    returns = [
        part
        for message in second.all_messages()
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    ]
    assert [p.content for p in returns] == ["refunded 2.0 on 1"]
    assert CALLS == {"refund": 1}


async def test_a_tool_that_asks_for_approval_while_running_needs_a_handler_in_plans() -> None:
    guarded = FunctionToolset([find_customer, refund]).approval_required(
        lambda ctx, tool_def, args: tool_def.name == "refund"
    )
    plan = """try:
    return await tools.refund(order_id=1, amount=2.0)
except ToolError as e:
    return str(e)
"""
    script = ScriptedModel([code_call(plan), answer("?")])
    await agent_for(script, CodeModeToolset(guarded, executor="inprocess")).run("refund")
    assert last_tool_output(script.seen[-1][1]) == (
        '"refund needs approval, which a plan cannot wait for"'
    )

    def handler(ctx: RunContext[None], requests: DeferredToolRequests) -> DeferredToolResults:
        return DeferredToolResults(approvals={c.tool_call_id: True for c in requests.approvals})

    script = ScriptedModel([code_call(plan), answer("Done.")])
    toolset = CodeModeToolset(guarded, executor="inprocess")
    capability = HandleDeferredToolCalls(handler=handler)
    await agent_for(script, toolset, capabilities=[capability]).run("refund")
    assert last_tool_output(script.seen[-1][1]) == '"refunded 2.0 on 1"'
    assert CALLS == {"refund": 1}


async def test_two_code_calls_in_one_response_pause_and_resume_separately() -> None:
    def plan(order_id: int) -> str:
        refund_call = f"tools.refund(order_id={order_id}, amount=1.0)"
        return f"await tools.list_orders(customer_id=17)\nreturn await {refund_call}"

    both = ModelResponse(parts=[*code_call(plan(101)).parts, *code_call(plan(102)).parts])
    script = ScriptedModel([both, answer("Done.")])
    agent = agent_for(script, shop())
    first = await agent.run("refund two")
    assert isinstance(first.output, DeferredToolRequests)
    ids = [call.tool_call_id for call in first.output.approvals]
    orders = [first.output.metadata[i]["codemode"]["requests"][0]["arguments"] for i in ids]
    assert sorted(o["order_id"] for o in orders) == [101, 102]
    assert CALLS == {"list_orders": 2}

    results = DeferredToolResults(approvals={ids[0]: True, ids[1]: ToolDenied("no")})
    await agent.run(message_history=first.all_messages(), deferred_tool_results=results)
    returns = {
        part.tool_call_id: part.content
        for part in script.seen[-1][1][-1].parts
        if isinstance(part, ToolReturnPart)
    }
    assert returns == {ids[0]: f'"refunded 1.0 on {orders[0]["order_id"]}"', ids[1]: "no"}
    assert CALLS == {"list_orders": 2, "refund": 1}


async def test_a_decision_for_an_unknown_request_is_refused_and_nothing_runs() -> None:
    """A mistyped request id must not turn a denial into the blanket approval."""
    script = ScriptedModel([code_call(PLAN), answer("No refund.")])
    agent = agent_for(script, shop())
    first = await agent.run("refund ada")
    call_id, codemode = deferred(first.output)
    request_id = codemode["requests"][0]["request_id"]
    typo = DeferredToolResults(
        approvals={call_id: True},
        metadata={call_id: {"decisions": {request_id + "x": ToolDenied("no")}}},
    )
    with pytest.raises(UserError, match="did not ask about"):
        await agent.run(message_history=first.all_messages(), deferred_tool_results=typo)
    assert CALLS == {"find_customer": 1, "list_orders": 1}  # refund never ran
    fixed = DeferredToolResults(
        approvals={call_id: True},
        metadata={call_id: {"decisions": {request_id: ToolDenied("no")}}},
    )
    second = await agent.run(message_history=first.all_messages(), deferred_tool_results=fixed)
    assert second.output == "No refund." and CALLS["refund"] == 0  # answered again, denied


async def test_require_approval_naming_no_tool_is_refused_before_anything_runs() -> None:
    script = ScriptedModel([code_call("return await tools.refund(order_id=1, amount=1.0)")])
    toolset = CodeModeToolset(
        [find_customer, list_orders, refund],
        require_approval={"refnd": True},  # a typo would let refund run unapproved
        executor="inprocess",
    )
    with pytest.raises(UserError, match="'refnd', which is not among"):
        await agent_for(script, toolset).run("refund")
    assert CALLS == {}
