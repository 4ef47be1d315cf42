"""A plan that needs a human inside a FunctionAgent: an input-required event on the stream,
the matching response event resumes it, and no tool runs twice."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.tools import FunctionTool
from llama_index.core.workflow import Context, StartEvent, StopEvent, Workflow, step
from pydantic import ValidationError

from codemode_llamaindex import (
    CodeModeApproval,
    CodeModeApprovalRequested,
    CodeModeApprovalRequired,
    CodeModeToolCall,
    CodeModeToolCallResult,
    create_codemode_tool,
)

pytestmark = [  # raised by llama-index's own workflow internals on every agent run
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
]

MADE: list[str] = []


class Script:
    """The model's side: fixed replies, and a record of what it was shown."""

    def __init__(self, *replies: ChatMessage) -> None:
        self._replies = iter(replies)
        self.seen: list[list[ChatMessage]] = []

    def __call__(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        self.seen.append(list(messages))
        return next(self._replies)

    def llm(self) -> MockFunctionCallingLLM:
        return MockFunctionCallingLLM(response_generator=self)


def code_call(code: str, call_id: str) -> ChatMessage:
    block = ToolCallBlock(tool_call_id=call_id, tool_name="run_code", tool_kwargs={"code": code})
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=[block])


def find_customer(email: str) -> dict[str, Any]:
    """Find a customer by email."""
    MADE.append("find_customer")
    return {"id": 17, "email": email}


def list_orders(customer_id: int) -> list[dict[str, Any]]:
    """A customer's orders."""
    MADE.append("list_orders")
    return [{"id": 100 + i, "total": 10.0 * i} for i in range(1, 4)]


def refund(order_id: int, amount: float) -> str:
    """Refund an order (a human approves refunds)."""
    MADE.append("refund")
    return f"refunded {amount} on {order_id}"


TOOLS = [FunctionTool.from_defaults(fn=f) for f in (find_customer, list_orders, refund)]
PLAN = """customer = await tools.find_customer(email="ada@example.com")
orders = await tools.list_orders(customer_id=customer["id"])
biggest = max(orders, key=lambda o: o["total"])
try:
    return await tools.refund(order_id=biggest["id"], amount=biggest["total"])
except ToolError as e:
    return f"no refund: {e}"
"""


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        ("approve", '"refunded 30.0 on 103"'),
        ({"type": "reject", "message": "too much"}, '"no refund: not approved: too much"'),
    ],
)
async def test_input_required_event_then_response_resumes_the_plan(
    decision: Any, expected: str
) -> None:
    MADE.clear()
    script = Script(code_call(PLAN, "c1"), ChatMessage(role=MessageRole.ASSISTANT, content="Done."))
    run_code = create_codemode_tool(TOOLS, require_approval={"refund": True}, executor="inprocess")
    handler = FunctionAgent(tools=[run_code], llm=script.llm()).run(user_msg="refund ada")
    asked: list[CodeModeApprovalRequired] = []
    async for event in handler.stream_events():
        if isinstance(event, CodeModeApprovalRequired):
            asked.append(event)
            [request] = event.requests
            assert (request["tool"], request["line"]) == ("tools.refund", 5)
            assert MADE == ["find_customer", "list_orders"]
            handler.ctx.send_event(
                CodeModeApproval(
                    execution_id=event.execution_id,
                    decisions={request["request_id"]: decision},
                )
            )
    response = await handler
    assert str(response) == "Done." and len(asked) == 1
    [shown] = [m.content for m in script.seen[-1] if m.role.value == "tool"]
    assert shown == expected
    assert ["find_customer", "list_orders"] + (["refund"] if decision == "approve" else []) == MADE


async def test_the_same_plan_in_two_runs_pauses_and_resumes_separately() -> None:
    """Two conversations on one shared tool send the identical plan; each pauses on its own
    execution, and each answer resumes only its own (approve one, reject the other)."""
    MADE.clear()
    run_code = create_codemode_tool(TOOLS, require_approval={"refund": True}, executor="inprocess")
    scripts = [
        Script(code_call(PLAN, "c1"), ChatMessage(role=MessageRole.ASSISTANT, content="Done.")),
        Script(code_call(PLAN, "c1"), ChatMessage(role=MessageRole.ASSISTANT, content="Done.")),
    ]
    handlers = [
        FunctionAgent(tools=[run_code], llm=script.llm()).run(user_msg="refund ada")
        for script in scripts
    ]
    decisions: list[Any] = ["approve", {"type": "reject", "message": "not this one"}]
    await _pause_all_then_answer(handlers, decisions)
    assert MADE.count("find_customer") == 2
    for handler in handlers:
        assert str(await handler) == "Done."
    shown = [[m.content for m in s.seen[-1] if m.role.value == "tool"] for s in scripts]
    assert shown == [['"refunded 30.0 on 103"'], ['"no refund: not approved: not this one"']]
    assert MADE.count("find_customer") == 2 and MADE.count("refund") == 1


async def test_the_same_plan_again_in_one_run_is_a_new_execution(tmp_path: Path) -> None:
    """With a durable store, a model sending the plan it already ran (a retry) gets a new
    execution, paused and resumed on its own; the finished one is not reused or clashed with."""
    MADE.clear()
    done = ChatMessage(role=MessageRole.ASSISTANT, content="Done.")
    script = Script(code_call(PLAN, "c1"), code_call(PLAN, "c2"), done)
    run_code = create_codemode_tool(
        TOOLS,
        require_approval={"refund": True},
        executor="inprocess",
        store=str(tmp_path / "executions.db"),
    )
    handler = FunctionAgent(tools=[run_code], llm=script.llm()).run(user_msg="refund ada twice")
    asked: list[str] = []
    async for event in handler.stream_events():
        if isinstance(event, CodeModeApprovalRequired):
            asked.append(event.execution_id)
            [request] = event.requests
            handler.ctx.send_event(
                CodeModeApproval(
                    execution_id=event.execution_id,
                    decisions={request["request_id"]: "approve"},
                )
            )
    assert str(await handler) == "Done."
    assert len(asked) == 2 and asked[0] != asked[1]
    tool_results = [m.content for m in script.seen[-1] if m.role.value == "tool"]
    assert tool_results == ['"refunded 30.0 on 103"'] * 2
    assert MADE == ["find_customer", "list_orders", "refund"] * 2


class TypedState(BaseModel):
    """A workflow's own typed state: no room for codemode's run scope."""

    note: str = ""


class TypedStateFlow(Workflow):
    def __init__(self, run_code: Any) -> None:
        super().__init__(timeout=30)
        self.run_code = run_code

    @step
    async def refund(self, ctx: Context[TypedState], ev: StartEvent) -> StopEvent:
        output = await self.run_code.acall(code=PLAN, ctx=ctx)
        return StopEvent(result=output.raw_output.value)  # the ExecutionResult's value


async def test_runs_with_a_typed_state_still_get_executions_of_their_own() -> None:
    """A typed workflow state cannot hold the run scope; the scope then lives with the
    context object, so two runs of the same plan still pause and resume separately."""
    MADE.clear()
    run_code = create_codemode_tool(TOOLS, require_approval={"refund": True}, executor="inprocess")
    handlers = [TypedStateFlow(run_code).run() for _ in range(2)]
    await _pause_all_then_answer(handlers, ["approve", "reject"])
    results = [await handler for handler in handlers]
    assert results[0] == "refunded 30.0 on 103"
    assert results[1].startswith("no refund: not approved")
    assert MADE.count("refund") == 1


async def _pause_all_then_answer(handlers: list[Any], decisions: list[Any]) -> None:
    """Let every run reach its approval request before any is answered (so their plans are
    paused at the same time), check each has an execution of its own, answer each with its
    decision, and let them finish."""
    streams = [handler.stream_events().__aiter__() for handler in handlers]
    asked: list[CodeModeApprovalRequired] = []
    for stream in streams:
        async for event in stream:
            if isinstance(event, CodeModeApprovalRequired):
                asked.append(event)
                break
    assert len({event.execution_id for event in asked}) == len(handlers)
    assert "refund" not in MADE  # nothing approved yet
    for handler, event, decision in zip(handlers, asked, decisions, strict=True):
        [request] = event.requests
        assert handler.ctx is not None
        handler.ctx.send_event(
            CodeModeApproval(
                execution_id=event.execution_id, decisions={request["request_id"]: decision}
            )
        )
    for stream in streams:
        async for _ in stream:
            pass


async def test_progress_convention_pause_resume_and_a_malformed_answer() -> None:
    """The pause streams as `CodeModeApprovalRequested`; a malformed answer is refused where
    it is built (the plan keeps waiting); after the answer, the journaled calls stream again
    as `replayed=True` and the approved call starts once, for real."""
    MADE.clear()
    script = Script(code_call(PLAN, "c1"), ChatMessage(role=MessageRole.ASSISTANT, content="Done."))
    run_code = create_codemode_tool(TOOLS, require_approval={"refund": True}, executor="inprocess")
    handler = FunctionAgent(tools=[run_code], llm=script.llm()).run(user_msg="refund ada")
    seen: list[tuple[str, str, bool]] = []
    async for event in handler.stream_events():
        if isinstance(event, CodeModeToolCall | CodeModeToolCallResult | CodeModeApprovalRequested):
            seen.append((type(event).__name__, event.tool, event.replayed))
        if isinstance(event, CodeModeApprovalRequired):
            [request] = event.requests
            with pytest.raises(ValidationError, match="decision for"):
                CodeModeApproval(
                    execution_id=event.execution_id,
                    decisions={request["request_id"]: {"type": "perhaps"}},
                )
            edited = {
                "type": "edit",
                "edited_action": {"name": "refund", "args": {"order_id": 101, "amount": 1.0}},
            }
            handler.ctx.send_event(
                CodeModeApproval(
                    execution_id=event.execution_id, decisions={request["request_id"]: edited}
                )
            )
    assert str(await handler) == "Done."
    assert MADE == ["find_customer", "list_orders", "refund"]
    [shown] = [m.content for m in script.seen[-1] if m.role.value == "tool"]
    assert shown == '"refunded 1.0 on 101"'
    assert seen == [
        ("CodeModeToolCall", "tools.find_customer", False),
        ("CodeModeToolCallResult", "tools.find_customer", False),
        ("CodeModeToolCall", "tools.list_orders", False),
        ("CodeModeToolCallResult", "tools.list_orders", False),
        ("CodeModeApprovalRequested", "tools.refund", False),
        ("CodeModeToolCall", "tools.find_customer", True),
        ("CodeModeToolCallResult", "tools.find_customer", True),
        ("CodeModeToolCall", "tools.list_orders", True),
        ("CodeModeToolCallResult", "tools.list_orders", True),
        ("CodeModeToolCall", "tools.refund", False),
        ("CodeModeToolCallResult", "tools.refund", False),
    ]
