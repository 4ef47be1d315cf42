"""Host-side tool-call dispatch: a narrow interface and small composable layers."""

from codemode_core.dispatch.base import CallContext, Dispatcher, ToolCall, WrapperDispatcher
from codemode_core.dispatch.invoke import InvokeTool
from codemode_core.dispatch.record import RecordCalls

__all__ = [
    "CallContext",
    "Dispatcher",
    "InvokeTool",
    "RecordCalls",
    "ToolCall",
    "WrapperDispatcher",
]
