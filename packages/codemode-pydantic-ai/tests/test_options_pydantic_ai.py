"""Options are checked when the toolset or capability is built, and errors name what the user
called; `CodeModeCapability` takes what `CodeModeToolset` takes."""

from __future__ import annotations

import pytest
from pydantic_ai import Agent, DeferredToolRequests

from codemode_core import ConfigurationError, Limits
from codemode_pydantic_ai import CodeModeCapability, CodeModeToolset
from pydantic_ai_fakes import ScriptedModel, answer, code_call, last_tool_output


def refund(order_id: int) -> str:
    """Refund an order."""
    return f"refunded {order_id}"


async def test_capability_takes_require_approval_and_code_mode_options() -> None:
    scripted = ScriptedModel(
        [code_call("return await tools.refund(7)"), lambda m, i: answer(last_tool_output(m))]
    )
    capability = CodeModeCapability(
        require_approval={"refund": lambda args: args["order_id"] > 100},
        limits=Limits(timeout=5.0),
        executor="inprocess",
    )
    assert capability.options["limits"] == Limits(timeout=5.0)
    agent = Agent(scripted.model, tools=[refund], capabilities=[capability])
    result = await agent.run("refund 7")
    assert result.output == '"refunded 7"'

    paused = ScriptedModel([code_call("return await tools.refund(700)")])
    agent = Agent(
        paused.model,
        tools=[refund],
        capabilities=[capability],
        output_type=[str, DeferredToolRequests],
    )
    deferred = (await agent.run("refund 700")).output
    assert isinstance(deferred, DeferredToolRequests)
    (request,) = deferred.metadata[deferred.approvals[0].tool_call_id]["codemode"]["requests"]
    assert request["tool"] == "tools.refund" and request["arguments"] == {"order_id": 700}


def test_require_approval_inside_options_is_pointed_at_its_own_parameter() -> None:
    with pytest.raises(TypeError, match=r"CodeModeCapability: 'require_approval' is not a "):
        CodeModeCapability(options={"require_approval": {"refund": True}})


@pytest.mark.parametrize("build", [CodeModeCapability, lambda **o: CodeModeToolset([refund], **o)])
def test_unknown_and_invalid_options_name_the_class_called(build: object) -> None:
    name = "CodeModeCapability" if build is CodeModeCapability else "CodeModeToolset"
    with pytest.raises(TypeError, match=rf"^{name} got an unknown option 'limit' \(did you mean "):
        build(limit=Limits())  # type: ignore[operator]
    with pytest.raises(ConfigurationError, match=rf"^{name}: limits must be a codemode_core"):
        build(limits={"timeout": 3})  # type: ignore[operator]
    with pytest.raises(ConfigurationError, match=rf"^{name}: require_approval\['refund'\]"):
        build(require_approval={"refund": "yes"})  # type: ignore[operator]
