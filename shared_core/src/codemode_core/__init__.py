"""codemode-core: Code Mode for Python agents.

Give a model one tool that runs a short async Python plan against your real tools, instead of
one model round trip per tool call. See `CodeMode`.
"""

from codemode_core.durable.approvals import Decision, approve, edit, reject
from codemode_core.errors import (
    CodeModeError,
    ConfigurationError,
    ConnectorError,
    ErrorKind,
    ResumeError,
    StoreError,
    ToolError,
)
from codemode_core.events import Observer, ProgressEvent, event_payload
from codemode_core.limits import Limits
from codemode_core.result import (
    ExecutionError,
    ExecutionResult,
    ExecutionStatus,
    PendingApproval,
    SpeculationStats,
    ToolCallRecord,
    UnexpectedResult,
)
from codemode_core.runtime import CodeMode
from codemode_core.tools import Tool

__version__ = "0.1.0"

__all__ = [
    "CodeMode",
    "CodeModeError",
    "ConfigurationError",
    "ConnectorError",
    "Decision",
    "ErrorKind",
    "ExecutionError",
    "ExecutionResult",
    "ExecutionStatus",
    "Limits",
    "Observer",
    "PendingApproval",
    "ProgressEvent",
    "ResumeError",
    "SpeculationStats",
    "StoreError",
    "Tool",
    "ToolCallRecord",
    "ToolError",
    "UnexpectedResult",
    "__version__",
    "approve",
    "edit",
    "event_payload",
    "reject",
]
