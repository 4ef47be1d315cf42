"""A real stdio MCP server (`mcp-server-time` from PyPI) wrapped and called from plans.

The server is started by `MCPToolset` itself when the agent run enters the toolset, exactly as
in production; nothing about MCP is faked.
"""

from __future__ import annotations

import json
import sys

from fastmcp.client.transports import StdioTransport
from pydantic_ai import Agent
from pydantic_ai.mcp import MCPToolset
from pydantic_ai.toolsets import CombinedToolset, FunctionToolset

from codemode_pydantic_ai import CodeModeToolset
from pydantic_ai_fakes import ScriptedModel, answer, code_call, last_tool_output

PLAN = """\
import asyncio

oslo, tokyo = await asyncio.gather(
    tools.time_get_current_time(timezone="Europe/Oslo"),
    tools.time_get_current_time(timezone="Asia/Tokyo"),
)
meeting = await tools.time_convert_time(
    source_timezone="Europe/Oslo", time="09:30", target_timezone="Asia/Tokyo"
)
try:
    await tools.time_get_current_time(timezone="Mars/Olympus_Mons")
    mars = "reachable"
except ToolError as error:
    mars = str(error)
office = await tools.office_hours(city="Tokyo")
return {
    "zones": [oslo["timezone"], tokyo["timezone"]],
    "tokyo_time": meeting["target"]["datetime"][11:16],
    "difference": meeting["time_difference"],
    "mars": mars,
    "office": office,
}
"""


def time_server() -> MCPToolset[None]:
    transport = StdioTransport(
        command=sys.executable, args=["-m", "mcp_server_time", "--local-timezone", "UTC"]
    )
    return MCPToolset(transport)


async def test_mcp_server_tools_are_typed_functions_in_plans() -> None:
    office = FunctionToolset()

    @office.tool_plain
    def office_hours(city: str) -> str:
        """Opening hours of our office in a city."""
        return {"Tokyo": "09:00-18:00"}.get(city, "closed")

    scripted = ScriptedModel(
        [code_call(PLAN), lambda messages, info: answer(last_tool_output(messages))]
    )
    toolset = CombinedToolset([time_server().prefixed("time"), office])
    agent = Agent(scripted.model, toolsets=[CodeModeToolset(toolset, executor="inprocess")])

    result = await agent.run("When is 09:30 Oslo time in Tokyo?")

    description = scripted.description()
    assert "async def time_convert_time(source_timezone: str, time: str, target_timezone: str)" in (
        description
    )
    # the server's output schemas, as types named as the server names them
    assert "async def time_get_current_time(timezone: str) -> TimeResult:" in description
    assert "-> TimeConversionResult:" in description
    assert "    source: TimeResult\n" in description and "    is_dst: bool\n" in description
    value = json.loads(result.output)
    assert value["zones"] == ["Europe/Oslo", "Asia/Tokyo"]
    assert value["tokyo_time"] in {"16:30", "17:30"}  # 8 h, or 7 h while Oslo is on summer time
    assert value["difference"] in {"+8.0h", "+7.0h"}
    assert "Invalid timezone" in value["mars"] and "Mars/Olympus_Mons" in value["mars"]
    assert value["office"] == "09:00-18:00"
    # three MCP calls that succeeded (failed calls are not counted), office_hours, the code tool
    assert result.usage.tool_calls == 5
