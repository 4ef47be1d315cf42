"""A scripted pydantic-ai model for tests: it replays a list of replies and records what it saw.

Built on pydantic-ai's own `FunctionModel`, streaming included, so agents run exactly as with a
real provider: tool definitions, retries, message history and the event stream are the
framework's.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

Reply = ModelResponse | Callable[[list[ModelMessage], AgentInfo], ModelResponse]

_ids = itertools.count(1)


def code_call(plan: str, *, name: str = "run_code") -> ModelResponse:
    """The model calls the code tool with `plan`."""
    return ModelResponse(
        parts=[ToolCallPart(name, {"code": plan}, tool_call_id=f"call_{next(_ids)}")]
    )


def answer(text: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(text)])


def last_tool_output(messages: Sequence[ModelMessage]) -> str:
    """What the model read last from a tool: a return's content or a retry prompt's text."""
    request = messages[-1]
    assert isinstance(request, ModelRequest)
    for part in request.parts:
        if isinstance(part, ToolReturnPart):
            return part.model_response_str() if part.outcome == "retried" else str(part.content)
    raise AssertionError(f"no tool output in {request!r}")


@dataclass
class ScriptedModel:
    """Replays `replies` in order; `seen` keeps each request's `AgentInfo` and messages."""

    replies: list[Reply]
    seen: list[tuple[AgentInfo, list[ModelMessage]]] = field(default_factory=list)

    def _next(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        self.seen.append((info, list(messages)))
        if not self.replies:
            raise AssertionError("the scripted model ran out of replies")
        reply = self.replies.pop(0)
        return reply if isinstance(reply, ModelResponse) else reply(messages, info)

    async def _stream(
        self, messages: list[ModelMessage], info: AgentInfo
    ) -> AsyncIterator[str | DeltaToolCalls]:
        response = self._next(messages, info)
        for index, part in enumerate(response.parts):
            if isinstance(part, TextPart):
                yield part.content
            elif isinstance(part, ToolCallPart):
                args = part.args if isinstance(part.args, str) else json.dumps(part.args)
                yield {
                    index: DeltaToolCall(
                        name=part.tool_name, json_args=args, tool_call_id=part.tool_call_id
                    )
                }

    @property
    def model(self) -> FunctionModel:
        return FunctionModel(self._next, stream_function=self._stream)

    def tool_names(self, request: int = 0) -> list[str]:
        return [tool.name for tool in self.seen[request][0].function_tools]

    def description(self, name: str = "run_code", request: int = 0) -> str:
        for tool in self.seen[request][0].function_tools:
            if tool.name == name:
                return tool.description or ""
        raise AssertionError(f"the model was not offered {name!r}")
