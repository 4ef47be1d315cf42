"""A plan's progress in pydantic-ai's event stream, in order, attributed to the code tool call."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from pydantic_ai import (
    Agent,
    CustomEvent,
    DeferredToolRequests,
    DeferredToolResults,
    ModelRetry,
    Tool,
)
from pydantic_ai.messages import (
    AgentStreamEvent,
    FunctionToolCallEvent,
    FunctionToolResultEvent,
)
from pydantic_ai.toolsets import FunctionToolset

from codemode_pydantic_ai import (
    CodeModeLogEvent,
    CodeModeToolEndEvent,
    CodeModeToolset,
    CodeModeToolStartEvent,
)
from pydantic_ai_fakes import ScriptedModel, answer, code_call, last_tool_output

toolset = FunctionToolset()


@toolset.tool_plain
def lookup(order_id: int) -> dict[str, Any]:
    """Look an order up."""
    if order_id < 0:
        raise ModelRetry("negative ids do not exist")
    return {"id": order_id, "total": 5.0}


PLAN = """\
first = await tools.lookup(1)
print("first total", first["total"])
try:
    await tools.lookup(order_id=-1)
except ToolError:
    print("skipped")
return first["id"]
"""


def _names(events: list[AgentStreamEvent]) -> list[str]:
    names = []
    for event in events:
        if isinstance(event, CodeModeToolStartEvent):
            names.append(f"start {event.tool} line {event.line} {dict(event.arguments)}")
        elif isinstance(event, CodeModeToolEndEvent):
            names.append(f"end {event.tool} error={event.error} result={event.result}")
        elif isinstance(event, CodeModeLogEvent):
            names.append(f"log {event.text}")
        elif isinstance(event, FunctionToolCallEvent | FunctionToolResultEvent):
            names.append(type(event).__name__)
    return names


async def test_run_stream_events_carries_tool_calls_and_logs_in_order() -> None:
    scripted = ScriptedModel([code_call(PLAN), answer("done")])
    agent = Agent(scripted.model, toolsets=[CodeModeToolset(toolset, executor="inprocess")])

    async with agent.run_stream_events("go") as stream:
        events = [event async for event in stream]

    assert _names(events) == [
        "FunctionToolCallEvent",
        "start tools.lookup line 1 {'order_id': 1}",
        "end tools.lookup error=None result={'id': 1, 'total': 5.0}",
        "log first total 5.0",
        "start tools.lookup line 4 {'order_id': -1}",
        "end tools.lookup error=negative ids do not exist result=None",
        "log skipped",
        "FunctionToolResultEvent",
    ]
    code_call_id = next(e for e in events if isinstance(e, FunctionToolCallEvent)).tool_call_id
    ours = [e for e in events if isinstance(e, CodeModeToolStartEvent | CodeModeLogEvent)]
    assert {(e.tool_call_id, e.tool_name) for e in ours} == {(code_call_id, "run_code")}
    assert ours[0].name == "codemode.tool_start"


async def test_event_stream_handler_sees_the_same_events_with_the_isolated_executor() -> None:
    seen: list[str] = []

    async def handler(ctx: Any, stream: Any) -> None:
        async for event in stream:
            if isinstance(event, CodeModeToolStartEvent | CodeModeLogEvent):
                seen.append(event.name)

    scripted = ScriptedModel([code_call(PLAN), answer("done")])
    agent = Agent(scripted.model, toolsets=[CodeModeToolset(toolset)])
    await agent.run("go", event_stream_handler=handler)

    assert seen == ["codemode.tool_start", "codemode.log", "codemode.tool_start", "codemode.log"]


def charge(amount: float) -> str:
    """Charge a card (a human approves charges)."""
    return f"charged {amount}"


CHARGE_PLAN = """\
first = await tools.lookup(order_id=1)
print("total", first["total"])
return await tools.charge(amount=first["total"])
"""


async def test_a_pause_is_an_approval_event_and_the_resume_marks_replays() -> None:
    tools = FunctionToolset([Tool(lookup), Tool(charge, requires_approval=True)])
    scripted = ScriptedModel([code_call(CHARGE_PLAN), answer("done")])
    agent = Agent(
        scripted.model,
        toolsets=[CodeModeToolset(tools, executor="inprocess")],
        output_type=[str, DeferredToolRequests],
    )
    seen: list[dict[str, Any]] = []

    async def handler(ctx: Any, stream: Any) -> None:
        async for event in stream:
            if isinstance(event, CustomEvent) and event.name.startswith("codemode."):
                seen.append({"name": event.name, **asdict(event)})

    first = await agent.run("charge", event_stream_handler=handler)
    assert isinstance(first.output, DeferredToolRequests)
    [call] = first.output.approvals
    assert [(e["name"], e.get("tool"), e["replayed"]) for e in seen] == [
        ("codemode.tool_start", "tools.lookup", False),
        ("codemode.tool_end", "tools.lookup", False),
        ("codemode.log", None, False),
        ("codemode.approval_requested", "tools.charge", False),
    ]
    request_id = seen[-1]["request_id"]
    assert seen[-1]["arguments"] == {"amount": 5.0}

    seen.clear()
    malformed = {"decisions": {request_id: {"type": "maybe"}}}
    with pytest.raises(TypeError, match="decision"):  # the developer's error, not the model's
        await agent.run(
            message_history=first.all_messages(),
            deferred_tool_results=DeferredToolResults(
                approvals={call.tool_call_id: True}, metadata={call.tool_call_id: malformed}
            ),
            event_stream_handler=handler,
        )
    seen.clear()
    edited = {"type": "edit", "edited_action": {"name": "charge", "args": {"amount": 2.0}}}
    second = await agent.run(
        message_history=first.all_messages(),
        deferred_tool_results=DeferredToolResults(
            approvals={call.tool_call_id: True},
            metadata={call.tool_call_id: {"decisions": {request_id: edited}}},
        ),
        event_stream_handler=handler,
    )
    assert second.output == "done"
    assert last_tool_output(scripted.seen[-1][1]).startswith('"charged 2.0"')
    assert [(e["name"], e.get("tool"), e["replayed"]) for e in seen] == [
        ("codemode.tool_start", "tools.lookup", True),
        ("codemode.tool_end", "tools.lookup", True),
        ("codemode.log", None, True),
        ("codemode.tool_start", "tools.charge", False),
        ("codemode.tool_end", "tools.charge", False),
    ]
