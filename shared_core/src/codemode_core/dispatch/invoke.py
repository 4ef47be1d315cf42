"""The innermost dispatch layer: validate the arguments, call the tool, make the result plain."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from codemode_core._jsonify import jsonify
from codemode_core.dispatch.base import CallContext, ToolCall
from codemode_core.errors import ToolError
from codemode_core.plan_call import PlanCall, _current

__all__ = ["InvokeTool"]

_MAX_ERROR_CHARS = 500
_PLAIN = frozenset({str, int, float, bool, type(None), dict, list})


@dataclass(frozen=True, slots=True)
class InvokeTool:
    """Calls `Tool.fn` (sync or async) with validated keyword arguments.

    Any exception the tool raises becomes a `ToolError` carrying only its message: the
    original exception object (which may reference host objects) never reaches the plan.
    """

    async def dispatch(self, call: ToolCall, ctx: CallContext) -> Any:
        entry = call.entry
        if call.mapping_error is not None:
            raise call.mapping_error
        try:
            arguments = entry.binder(dict(call.arguments))
        except ToolError as exc:
            raise ToolError(exc.message, tool=entry.qualified_name) from None
        # Adapters label their framework's trace of the call with it (`current_plan_call`).
        token = _current.set(PlanCall(entry.qualified_name, call.line, ctx.execution_id))
        try:
            result = entry.tool.fn(**arguments)
            if entry.is_async:
                result = await result
            elif type(result) not in _PLAIN and inspect.isawaitable(result):
                result = await result  # a sync function that returned a coroutine
        except ToolError as exc:
            message = exc.message
        except Exception as exc:
            text = str(exc)
            message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        else:
            return jsonify(result)
        finally:
            _current.reset(token)
        if len(message) > _MAX_ERROR_CHARS:
            message = message[:_MAX_ERROR_CHARS] + "…"
        raise ToolError(message, tool=entry.qualified_name)
