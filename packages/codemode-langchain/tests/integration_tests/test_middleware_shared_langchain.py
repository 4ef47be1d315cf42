"""One `CodeModeMiddleware` shared by agents with different tools, as LangChain's own
middlewares are: every plan runs against its own agent's tools, and the model of each agent
reads its own agent's stubs, however the runs interleave."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

from codemode_core import ConfigurationError
from codemode_langchain import CodeModeMiddleware
from langchain_fakes import ScriptedChatModel, code_call


@tool
async def weather(city: str) -> dict[str, Any]:
    """Today's weather in a city."""
    await asyncio.sleep(0.01)
    return {"city": city, "temp_c": 21}


@tool
async def stock(symbol: str) -> dict[str, Any]:
    """The last price of a stock."""
    await asyncio.sleep(0.01)
    return {"symbol": symbol, "price": 10.5}


class DescribingModel(ScriptedChatModel):
    """Also records the code tool's description it is offered (the stubs the model reads)."""

    descriptions: list[str] = []  # noqa: RUF012  # replaced per instance below

    def bind_tools(self, tools: Any, **kwargs: Any) -> DescribingModel:
        self.descriptions = [*self.descriptions, *(getattr(t, "description", "") for t in tools)]
        return super().bind_tools(tools, **kwargs)  # type: ignore[return-value]


async def test_one_middleware_serves_two_agents_with_different_tools_concurrently() -> None:
    shared = CodeModeMiddleware(executor="inprocess")
    plans = {
        "weather": 'return await tools.weather(city="Oslo")',
        "stock": 'return await tools.stock(symbol="ACME")',
    }

    async def ask(i: int) -> tuple[str, DescribingModel, dict[str, Any]]:
        kind = "weather" if i % 2 else "stock"
        model = DescribingModel(
            messages=iter([code_call(plans[kind], f"call_{i}"), AIMessage(content="done")])
        )
        agent = create_agent(
            model, tools=[weather if kind == "weather" else stock], middleware=[shared]
        )
        return kind, model, await agent.ainvoke({"messages": [("user", f"question {i}")]})

    runs = await asyncio.gather(*(ask(i) for i in range(10)))
    for kind, model, state in runs:
        (message,) = [m for m in state["messages"] if isinstance(m, ToolMessage)]
        assert message.status == "success", message.content
        assert ("21" if kind == "weather" else "10.5") in message.content
        other = "stock" if kind == "weather" else "weather"
        assert all(f"def {kind}(" in d and f"def {other}(" not in d for d in model.descriptions)


async def test_a_middleware_keeps_no_per_run_state() -> None:
    """Two agents, one after the other: the second does not change what the first uses."""
    shared = CodeModeMiddleware(executor="inprocess")
    create_agent(ScriptedChatModel(messages=iter([])), tools=[weather], middleware=[shared])
    before = dict(vars(shared))
    model = ScriptedChatModel(
        messages=iter([code_call('return await tools.stock(symbol="X")', "c1"), AIMessage("ok")])
    )
    agent = create_agent(model, tools=[stock], middleware=[shared])
    await agent.ainvoke({"messages": [("user", "go")]})
    assert {k: v for k, v in vars(shared).items() if not k.startswith("_cache")} == {
        k: v for k, v in before.items() if not k.startswith("_cache")
    }


async def test_tools_selector_keeps_the_others_direct() -> None:
    """`tools=` as in pydantic-ai's toolset: plans call the selected tools, the model calls
    the rest itself, next to the code tool (and their calls bypass the code tool)."""
    direct = AIMessage(
        content="", tool_calls=[{"name": "stock", "args": {"symbol": "ACME"}, "id": "d1"}]
    )
    model = DescribingModel(
        messages=iter(
            [direct, code_call('return await tools.weather(city="Oslo")', "c1"), AIMessage("ok")]
        )
    )
    middleware = CodeModeMiddleware(tools=["weather"], executor="inprocess")
    agent = create_agent(model, tools=[weather, stock], middleware=[middleware])

    state = await agent.ainvoke({"messages": [("user", "both")]})

    assert model.offered[0] == ["run_code", "stock"]
    code_description = model.descriptions[0]
    assert "def weather(" in code_description and "def stock(" not in code_description
    replies = {m.tool_call_id: m for m in state["messages"] if isinstance(m, ToolMessage)}
    assert "10.5" in str(replies["d1"].content) and replies["d1"].name == "stock"
    assert "21" in str(replies["c1"].content) and replies["c1"].status == "success"
    by_predicate = CodeModeMiddleware(tools=lambda t: t.name == "stock", executor="inprocess")
    assert "def stock(" in by_predicate.code_tool_for([weather, stock]).description


def test_a_bad_tools_selector_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"CodeModeMiddleware\(tools=\.\.\.\)"):
        CodeModeMiddleware(tools="weather")
    typo = CodeModeMiddleware(tools=["wether"], executor="inprocess")
    with pytest.raises(ConfigurationError, match=r"'wether' \(did you mean 'weather'"):
        typo.code_tool_for([weather, stock])  # the agent's tools: not silently left direct


async def test_a_wrapped_tool_is_not_callable_directly() -> None:
    """Plans call `weather`; the model, shown only its stub, calling it directly is refused
    (as an unknown tool is) and it does not run; the direct `stock` does run."""
    runs: list[str] = []

    @tool
    def counted_weather(city: str) -> str:
        """Today's weather in a city."""
        runs.append(city)
        return "sunny"

    direct = AIMessage(
        content="",
        tool_calls=[{"name": "counted_weather", "args": {"city": "Oslo"}, "id": "w1"}],
    )
    model = ScriptedChatModel(messages=iter([direct, AIMessage("done")]))
    middleware = CodeModeMiddleware(tools=["counted_weather"], executor="inprocess")
    agent = create_agent(model, tools=[counted_weather, stock], middleware=[middleware])

    state = await agent.ainvoke({"messages": [("user", "weather")]})

    reply = next(m for m in state["messages"] if isinstance(m, ToolMessage))
    assert reply.status == "error" and "call it from a plan with run_code" in str(reply.content)
    assert runs == []


async def test_an_approval_rule_for_a_tool_left_direct_is_refused() -> None:
    middleware = CodeModeMiddleware(
        tools=["weather"], require_approval={"stock": True}, executor="inprocess"
    )
    agent = create_agent(
        ScriptedChatModel(messages=iter([AIMessage("hi")])),
        tools=[weather, stock],
        middleware=[middleware],
    )
    with pytest.raises(ConfigurationError, match="'stock', which tools= leaves direct"):
        await agent.ainvoke({"messages": [("user", "hi")]})
