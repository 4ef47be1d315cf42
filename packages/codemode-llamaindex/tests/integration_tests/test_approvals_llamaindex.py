"""A plan that needs a human inside a FunctionAgent: an input-required event on the stream,
the matching response event resumes it, and no tool runs twice."""

from collections.abc import Sequence
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.tools import FunctionTool

from codemode_llamaindex import CodeModeApproval, CodeModeApprovalRequired, create_codemode_tool

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
    asked: list[CodeModeApprovalRequired] = []
    streams = [handler.stream_events().__aiter__() for handler in handlers]
    for stream in streams:  # both runs reach their approval before either is answered
        async for event in stream:
            if isinstance(event, CodeModeApprovalRequired):
                asked.append(event)
                break
    assert len(asked) == 2 and asked[0].execution_id != asked[1].execution_id
    assert MADE.count("find_customer") == 2 and "refund" not in MADE
    decisions: list[Any] = ["approve", {"type": "reject", "message": "not this one"}]
    for handler, event, decision in zip(handlers, asked, decisions, strict=True):
        [request] = event.requests
        handler.ctx.send_event(
            CodeModeApproval(
                execution_id=event.execution_id, decisions={request["request_id"]: decision}
            )
        )
    for stream in streams:
        async for _ in stream:
            pass
    for handler in handlers:
        assert str(await handler) == "Done."
    shown = [[m.content for m in s.seen[-1] if m.role.value == "tool"] for s in scripts]
    assert shown == [['"refunded 30.0 on 103"'], ['"no refund: not approved: not this one"']]
    assert MADE.count("find_customer") == 2 and MADE.count("refund") == 1
