"""The adapters' convention in LangGraph: `tools=` keeps tools direct, the node shows what the
model reads, inner calls are child runs of the code call, and the failure rows of the table
in docs/adapters.md."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from codemode_core import ConfigurationError
from codemode_langgraph import CodeModeArtifact, CodeModeNode, create_codemode_agent
from langchain_fakes import ScriptedChatModel, code_call

RAN: list[str] = []


@pytest.fixture(autouse=True)
def _reset() -> None:
    RAN.clear()


@tool
def find_customer(email: str) -> dict[str, Any]:
    """Find a customer by email."""
    RAN.append("find_customer")
    return {"id": 17, "email": email}


@tool
def list_orders(customer_id: int) -> list[int]:
    """A customer's order ids."""
    RAN.append("list_orders")
    return [101, 102]


def flaky_lookup(key: str) -> str:
    """A plain function whose backend is down."""
    raise RuntimeError(f"backend down for {key}")


def direct_call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


def replies(state: dict[str, Any]) -> dict[str, ToolMessage]:
    return {m.tool_call_id: m for m in state["messages"] if isinstance(m, ToolMessage)}


async def test_tools_selector_keeps_the_others_direct_and_wrapped_ones_plan_only() -> None:
    script = [
        direct_call("find_customer", {"email": "ada@example.com"}, "d1"),
        code_call("return await tools.list_orders(customer_id=17)", "c1"),
        direct_call("list_orders", {"customer_id": 17}, "d2"),  # wrapped: not a direct tool
        AIMessage("done"),
    ]
    model = ScriptedChatModel(messages=iter(script))
    agent = create_codemode_agent(model, [find_customer, list_orders], tools=["list_orders"])

    state = await agent.ainvoke({"messages": [HumanMessage("ada's orders")]})

    assert model.offered == [["run_code", "find_customer"]]
    by_id = replies(state)
    assert by_id["d1"].status == "success" and "ada@example.com" in str(by_id["d1"].content)
    assert by_id["c1"].status == "success" and "[101, 102]" in str(by_id["c1"].content)
    assert by_id["d2"].status == "error" and "list_orders" in str(by_id["d2"].content)
    assert RAN == ["find_customer", "list_orders"]  # the refused direct call never ran


def test_the_node_shows_what_the_model_reads() -> None:
    node = CodeModeNode([find_customer, list_orders], tools=lambda t: t.name == "list_orders")
    assert [t.name for t in node.model_tools] == ["run_code", "find_customer"]
    assert "def list_orders(" in node.stubs and "def find_customer(" not in node.stubs
    assert node.stubs in node.description and node.description == node.code_tool.description
    assert [t.name for t in CodeModeNode([find_customer]).model_tools] == ["run_code"]


def test_a_bad_selector_or_a_name_clash_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"CodeModeNode\(tools=\.\.\.\)"):
        CodeModeNode([find_customer], tools="find_customer")
    with pytest.raises(ConfigurationError, match=r"'find_custmer' \(did you mean 'find_customer'"):
        CodeModeNode(
            [find_customer, list_orders], tools=["find_custmer"]
        )  # a typo: not left direct
    with pytest.raises(ConfigurationError, match="'list_orders', which tools= leaves direct"):
        CodeModeNode(
            [find_customer, list_orders],
            tools=["find_customer"],
            require_approval={"list_orders": True},
        )
    with pytest.raises(ConfigurationError, match="code_tool_name"):
        CodeModeNode([find_customer], tools=[], code_tool_name="find_customer")


class ToolRuns(BaseCallbackHandler):
    def __init__(self) -> None:
        self.started: dict[str, tuple[UUID, UUID | None, dict[str, Any]]] = {}

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.started[str(serialized.get("name"))] = (run_id, parent_run_id, metadata or {})


async def test_inner_calls_are_child_runs_of_the_code_call_with_their_line() -> None:
    plan = (
        'c = await tools.find_customer(email="a@b.c")\n'
        'return await tools.list_orders(customer_id=c["id"])'
    )
    model = ScriptedChatModel(messages=iter([code_call(plan, "c1"), AIMessage("done")]))
    handler = ToolRuns()
    agent = create_codemode_agent(model, [find_customer, list_orders])

    await agent.ainvoke({"messages": [HumanMessage("go")]}, {"callbacks": [handler]})

    code_run, _, _ = handler.started["run_code"]
    _, customer_parent, customer_meta = handler.started["find_customer"]
    _, orders_parent, orders_meta = handler.started["list_orders"]
    assert customer_parent == code_run and orders_parent == code_run
    assert (customer_meta["codemode_line"], orders_meta["codemode_line"]) == (1, 2)


async def test_failure_rows_a_failed_plan_and_a_plain_exception() -> None:
    """A failed plan: `ToolMessage(status="error")` with the calls that ran in its artifact.
    A plain exception from an inner tool: a `ToolError` the plan can catch."""
    caught = (
        "try:\n    await tools.flaky_lookup(key='k')\nexcept ToolError as e:\n"
        "    return 'caught: ' + str(e)"
    )
    failing = "await tools.find_customer(email='a@b.c')\nreturn await tools.flaky_lookup(key='k')"
    script = [code_call(caught, "c1"), code_call(failing, "c2"), AIMessage("done")]
    model = ScriptedChatModel(messages=iter(script))
    agent = create_codemode_agent(model, [find_customer, flaky_lookup])

    state = await agent.ainvoke({"messages": [HumanMessage("go")]})

    by_id = replies(state)
    assert by_id["c1"].status == "success"
    assert "caught:" in str(by_id["c1"].content) and "backend down for k" in str(
        by_id["c1"].content
    )
    assert by_id["c2"].status == "error" and "line 2" in str(by_id["c2"].content)
    artifact = by_id["c2"].artifact
    assert isinstance(artifact, CodeModeArtifact)
    assert [c.tool for c in artifact.result.tool_calls] == [
        "tools.find_customer",
        "tools.flaky_lookup",
    ]
