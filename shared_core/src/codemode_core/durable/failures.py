"""How a store failure met while running a plan is reported: an `ExecutionError` of kind
`store`, never an exception out of `CodeMode.run()`/`resume()`.

A store fails for reasons of the infrastructure (disk full, database locked past its timeout,
server unreachable), not of the plan; but tools may already have run by then. The result keeps
those calls (`ExecutionResult.tool_calls`) and the message says what the failure means for
running the plan again, so an adapter can show it like any other failure and a model does not
repeat side effects blindly.
"""

from __future__ import annotations

from typing import Literal

from codemode_core.errors import StoreError
from codemode_core.result import ExecutionError

__all__ = ["Stage", "store_failure"]

Stage = Literal["start", "resume", "running", "ok", "error", "paused"]
"""When the store failed: before the plan ran (`start`, `resume`), while it ran (`running`:
journaling a call failed, so the plan was stopped), or after it ended so (`ok`, `error`,
`paused`: recording the end failed)."""

_WHAT = {
    "start": "before the plan ran, so nothing ran; run it again once the store is back",
    "resume": "before the execution could be resumed, so nothing ran; resume it again once "
    "the store is back",
    "running": "while the plan ran, so it was stopped before it could see a result that "
    "was not journaled",
    "ok": "after the plan finished, so its result could not be recorded",
    "error": "after the plan failed, so its journal could not be recorded",
    "paused": "when the plan paused for approval, so the pause could not be recorded and this "
    "execution cannot be resumed",
}


def store_failure(exc: StoreError, stage: Stage) -> ExecutionError:
    """The error for a `StoreError` at `stage` (its text names the store, never a password)."""
    message = f"the execution store failed {_WHAT[stage]} ({exc})"
    if stage in ("running", "ok", "error", "paused"):
        message += ". The tool calls listed ran; running the plan again would repeat them"
    return ExecutionError(kind="store", message=message)
