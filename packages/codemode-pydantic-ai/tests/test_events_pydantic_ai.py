"""A plan's progress in pydantic-ai's event stream, in order, attributed to the code tool call."""

from __future__ import annotations

from typing import Any

from pydantic_ai import Agent, ModelRetry
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
from pydantic_ai_fakes import ScriptedModel, answer, code_call

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
        "start lookup line 1 {'order_id': 1}",
        "end lookup error=None result={'id': 1, 'total': 5.0}",
        "log first total 5.0",
        "start lookup line 4 {'order_id': -1}",
        "end lookup error=negative ids do not exist result=None",
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
