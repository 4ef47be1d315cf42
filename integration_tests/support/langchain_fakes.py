"""A scripted chat model for driving real LangChain/LangGraph agent loops in tests.

LangChain's `GenericFakeChatModel` replays a fixed list of messages; this subclass also records
the tools it is offered and streams tool calls (the base class drops them when streaming), so
`stream_mode="messages"` and `astream_events` see what a real provider would send.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import Field

__all__ = ["ScriptedChatModel", "code_call"]


class ScriptedChatModel(GenericFakeChatModel):
    """LangChain's fake chat model, recording the tools it is offered (its bind_tools raises)."""

    offered: list[list[str]] = Field(default_factory=list)
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    """The messages of every model call, in order (to check what a resumed thread remembers)."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        self.offered.append([getattr(t, "name", str(t)) for t in tools])
        return self

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self.seen.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _stream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        """One chunk per scripted message, tool calls included (the base class drops them)."""
        message = self._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
        full = message.generations[0].message
        assert isinstance(full, AIMessage)
        chunks = [
            {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
            for i, c in enumerate(full.tool_calls)
        ]
        yield ChatGenerationChunk(
            message=AIMessageChunk(content=full.content, id=full.id, tool_call_chunks=chunks)
        )  # type: ignore[arg-type]


def code_call(code: str, call_id: str, *more: tuple[str, str], name: str = "run_code") -> AIMessage:
    """An assistant message calling the code tool once per `(code, call_id)` given."""
    calls = [(code, call_id), *more]
    return AIMessage(
        content="",
        tool_calls=[
            {"name": name, "args": {"code": c}, "id": i, "type": "tool_call"} for c, i in calls
        ],
    )
