"""codemode-pydantic-ai: wrap any PydanticAI toolset into one Code Mode tool."""

from codemode_pydantic_ai.capability import CodeModeCapability
from codemode_pydantic_ai.events import (
    CodeModeApprovalRequestedEvent,
    CodeModeLogEvent,
    CodeModeToolEndEvent,
    CodeModeToolStartEvent,
)
from codemode_pydantic_ai.toolset import CodeModeToolset, ToolsetOrTools

__all__ = [
    "CodeModeApprovalRequestedEvent",
    "CodeModeCapability",
    "CodeModeLogEvent",
    "CodeModeToolEndEvent",
    "CodeModeToolStartEvent",
    "CodeModeToolset",
    "ToolsetOrTools",
]
