"""`CodeModeNode` takes what `ToolNode` takes; every option is checked when the node or agent
is built, and the errors name what the user called; `create_codemode_agent` takes a model
name as `create_agent` does."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from codemode_core import ConfigurationError, Limits
from codemode_langgraph import CodeModeNode, create_codemode_agent
from langchain_fakes import ScriptedChatModel, code_call


@tool
def double(x: int) -> int:
    """Twice x."""
    return 2 * x


def test_code_mode_node_takes_tool_node_options() -> None:
    node = CodeModeNode([double], handle_tool_errors=False, tags=["codemode"], executor="inprocess")
    assert node._handle_tool_errors is False and node.tags == ["codemode"]


@pytest.mark.parametrize(
    ("build", "called"),
    [
        (lambda **o: CodeModeNode([double], **o), "CodeModeNode"),
        (
            lambda **o: create_codemode_agent(ScriptedChatModel(messages=iter([])), [double], **o),
            "create_codemode_agent",
        ),
    ],
)
def test_bad_options_name_what_the_user_called(build: Any, called: str) -> None:
    with pytest.raises(TypeError, match=rf"^{called} got an unknown option 'handle_errors'"):
        build(handle_errors=False)
    with pytest.raises(ConfigurationError, match=rf"^{called}: limits must be a codemode_core"):
        build(limits=5)
    with pytest.raises(ConfigurationError, match=rf"^{called}: require_approval must map"):
        build(require_approval=["double"])
    build(limits=Limits(timeout=2.0), executor="inprocess")  # and good ones still pass


async def test_create_codemode_agent_takes_a_model_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import langchain.chat_models

    asked: list[str] = []
    model = ScriptedChatModel(
        messages=iter([code_call("return await tools.double(21)", "c1"), AIMessage("42")])
    )

    def init_chat_model(name: str, **kwargs: Any) -> ScriptedChatModel:
        asked.append(name)
        return model

    monkeypatch.setattr(langchain.chat_models, "init_chat_model", init_chat_model)
    agent = create_codemode_agent("openai:gpt-4.1", [double], executor="inprocess")
    state = await agent.ainvoke({"messages": [HumanMessage("21 twice?")]})
    assert asked == ["openai:gpt-4.1"]
    (reply,) = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert reply.content == "42"


def test_a_model_name_without_langchain_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "langchain.chat_models", None)  # as if not installed
    with pytest.raises(ImportError, match=r"codemode-langgraph\[models\]"):
        create_codemode_agent("openai:gpt-4.1", [double])
