"""The adapters' convention in a LangChain agent: inner calls are child runs of the code tool's
run in LangChain's callbacks (what LangSmith records), each labelled with the plan line that
made it; the failure rows of the table in docs/adapters.md."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

from codemode_langchain import CodeModeArtifact, CodeModeMiddleware, create_codemode_tool
from langchain_fakes import ScriptedChatModel, code_call


@tool
def find_order(order_id: int) -> dict[str, Any]:
    """An order by id."""
    return {"id": order_id, "total": 60.0}


@tool
def refund(order_id: int, amount: float) -> str:
    """Refund an order."""
    return f"refunded {amount} on {order_id}"


PLAN = """order = await tools.find_order(order_id=7)
return await tools.refund(order_id=7, amount=order["total"])"""


class ToolRuns(BaseCallbackHandler):
    """Records every tool run: its name, id, parent run and metadata, and its end."""

    def __init__(self) -> None:
        self.started: dict[UUID, dict[str, Any]] = {}
        self.ended: set[UUID] = set()

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
        self.started[run_id] = {
            "name": serialized.get("name"),
            "parent": parent_run_id,
            "metadata": metadata or {},
        }

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.ended.add(run_id)

    def runs_named(self, name: str) -> list[tuple[UUID, dict[str, Any]]]:
        return [(run_id, run) for run_id, run in self.started.items() if run["name"] == name]


async def _traced_run(**agent_kwargs: Any) -> ToolRuns:
    model = ScriptedChatModel(messages=iter([code_call(PLAN, "c1"), AIMessage("done")]))
    agent = create_agent(model, **agent_kwargs)
    handler = ToolRuns()
    await agent.ainvoke({"messages": [("user", "refund 7")]}, {"callbacks": [handler]})
    return handler


async def test_inner_calls_are_child_runs_of_the_code_call_with_their_line() -> None:
    handler = await _traced_run(
        tools=[create_codemode_tool([find_order, refund], executor="inprocess")]
    )
    [(code_run, _)] = handler.runs_named("run_code")
    [(order_run, order)] = handler.runs_named("find_order")
    [(refund_run, refunded)] = handler.runs_named("refund")
    assert order["parent"] == code_run and refunded["parent"] == code_run
    assert order["metadata"]["codemode_line"] == 1 and refunded["metadata"]["codemode_line"] == 2
    assert order["metadata"]["codemode_tool"] == "tools.find_order"
    assert {order_run, refund_run, code_run} <= handler.ended


async def test_the_middleware_traces_the_same_way() -> None:
    handler = await _traced_run(
        tools=[find_order, refund], middleware=[CodeModeMiddleware(executor="inprocess")]
    )
    [(code_run, _)] = handler.runs_named("run_code")
    [(_, refunded)] = handler.runs_named("refund")
    assert refunded["parent"] == code_run and refunded["metadata"]["codemode_line"] == 2


@tool
def flaky_lookup(key: str) -> str:
    """A tool whose backend is down."""
    raise RuntimeError(f"backend down for {key}")


async def test_failure_rows_a_failed_plan_and_a_plain_exception() -> None:
    """A failed plan: `ToolMessage(status="error")` with the calls that ran in its artifact.
    A plain exception from an inner tool: a `ToolError` the plan can catch."""
    caught = (
        "try:\n    await tools.flaky_lookup(key='k')\nexcept ToolError as e:\n"
        "    return 'caught: ' + str(e)"
    )
    failing = "await tools.find_order(order_id=7)\nreturn await tools.flaky_lookup(key='k')"
    script = [code_call(caught, "c1"), code_call(failing, "c2"), AIMessage("done")]
    agent = create_agent(
        ScriptedChatModel(messages=iter(script)),
        tools=[create_codemode_tool([find_order, flaky_lookup], executor="inprocess")],
    )

    state = await agent.ainvoke({"messages": [("user", "go")]})

    replies = {m.tool_call_id: m for m in state["messages"] if isinstance(m, ToolMessage)}
    assert replies["c1"].status == "success"
    assert "caught: RuntimeError: backend down for k" in str(replies["c1"].content)
    assert replies["c2"].status == "error" and "line 2" in str(replies["c2"].content)
    artifact = replies["c2"].artifact
    assert isinstance(artifact, CodeModeArtifact)
    assert [c.tool for c in artifact.result.tool_calls] == [
        "tools.find_order",
        "tools.flaky_lookup",
    ]
