"""Context accounting: what a chat-completions API would receive on every model call."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import bpe_openai

_ENCODING = bpe_openai.get_encoding("o200k_base")


def count(text: str) -> int:
    """Tokens of `text` with the offline o200k_base tokenizer."""
    return len(_ENCODING.encode(text))


def tool_definitions(tools: list[dict[str, Any]]) -> str:
    """Tool definitions as sent in an OpenAI-style `tools` parameter."""
    return json.dumps([{"type": "function", "function": t} for t in tools])


@dataclass
class Conversation:
    """A message history plus the static part every model call carries (system + tools)."""

    system: str
    tools_json: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    context_tokens: int = 0
    output_tokens: int = 0
    round_trips: int = 0

    def model_call(self, reply: dict[str, Any]) -> None:
        """Record one model call: it reads everything so far, then adds its reply."""
        static = count(self.system) + count(self.tools_json)
        history = sum(count(json.dumps(m)) for m in self.messages)
        self.context_tokens += static + history
        self.output_tokens += count(json.dumps(reply))
        self.round_trips += 1
        self.messages.append(reply)

    def tool_result(self, call_id: str, result: Any) -> None:
        self.messages.append(
            {"role": "tool", "tool_call_id": call_id, "content": json.dumps(result)}
        )
