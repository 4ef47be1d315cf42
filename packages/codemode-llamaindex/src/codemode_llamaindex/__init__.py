"""codemode-llamaindex: one Code Mode tool instead of a list of LlamaIndex tools."""

from codemode_llamaindex._convert import to_codemode_tool, to_codemode_tools
from codemode_llamaindex.events import (
    CodeModeApproval,
    CodeModeApprovalRequested,
    CodeModeApprovalRequired,
    CodeModeEvent,
    CodeModeLog,
    CodeModeToolCall,
    CodeModeToolCallResult,
)
from codemode_llamaindex.tools import (
    CodeModeInput,
    CodeModeTool,
    CodeModeToolSpec,
    create_codemode_tool,
)

__all__ = [
    "CodeModeApproval",
    "CodeModeApprovalRequested",
    "CodeModeApprovalRequired",
    "CodeModeEvent",
    "CodeModeInput",
    "CodeModeLog",
    "CodeModeTool",
    "CodeModeToolCall",
    "CodeModeToolCallResult",
    "CodeModeToolSpec",
    "create_codemode_tool",
    "to_codemode_tool",
    "to_codemode_tools",
]
