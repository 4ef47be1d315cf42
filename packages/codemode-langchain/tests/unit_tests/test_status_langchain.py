"""A failed plan is a `ToolMessage` with `status="error"`, as a native tool's handled failure
is, and still carries the full result (every call that ran) as its artifact."""

from __future__ import annotations

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import ToolException, tool

from codemode_langchain import CodeModeArtifact, create_codemode_tool


@tool
def lookup(key: str) -> dict[str, int]:
    """Look a key up."""
    return {"found": 1}


@tool
def broken(key: str) -> str:
    """Always fails (and does not handle its own error)."""
    raise ToolException(f"no such key {key}")


FAILING = {
    "runtime": 'row = await tools.lookup(key="a")\nreturn row["missing"]',
    "tool": 'await tools.lookup(key="a")\nreturn await tools.broken(key="b")',
    "policy": "return open('/etc/passwd').read()",
}


def _call(code: str, call_id: str = "call_1") -> dict[str, object]:
    return {"name": "run_code", "args": {"code": code}, "id": call_id, "type": "tool_call"}


@pytest.mark.parametrize("kind", sorted(FAILING))
async def test_a_failed_plan_is_an_error_tool_message(kind: str) -> None:
    code_tool = create_codemode_tool([lookup, broken], executor="inprocess")
    message = await code_tool.ainvoke(_call(FAILING[kind]))
    assert isinstance(message, ToolMessage)
    assert message.status == "error"
    assert message.tool_call_id == "call_1" and message.name == "run_code"
    assert isinstance(message.artifact, CodeModeArtifact)
    result = message.artifact.result
    assert result.error is not None and result.error.kind == kind
    assert message.content == result.to_model()
    if kind != "policy":  # the call that ran before the failure is still on record
        assert result.tool_calls[0].tool == "tools.lookup"


def test_sync_invoke_marks_a_failed_plan_too() -> None:
    code_tool = create_codemode_tool([lookup], executor="inprocess")
    failed = code_tool.invoke(_call(FAILING["runtime"]))
    ok = code_tool.invoke(_call('return await tools.lookup(key="a")', "call_2"))
    assert (failed.status, ok.status) == ("error", "success")
    assert ok.content == '{"found": 1}'


async def test_plain_arguments_still_return_the_text() -> None:
    """Without a tool call there is no message to mark: the text, as before."""
    code_tool = create_codemode_tool([lookup], executor="inprocess")
    text = await code_tool.ainvoke({"code": FAILING["runtime"]})
    assert isinstance(text, str) and text.startswith("runtime error at line 2")
