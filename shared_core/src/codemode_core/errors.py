"""The exceptions codemode raises to *developers*, drawn once.

```
Exception
└── CodeModeError                 base of every error codemode raises on the host side
    ├── ConfigurationError        a developer mistake at construction (duplicate tool, bad limit)
    ├── ConnectorError            an MCP server / OpenAPI service could not be reached or read
    └── StoreError                a journal/snippet store failed or refused an operation
ToolError (Exception)             a tool call failed; the plan sees it and may catch it
StopPlan (Exception)              the host stops the plan at a call (budget, diverged, paused)
└── BudgetExceeded                the tool-call cap
```

Plan failures never escape `CodeMode.run()`: they become `ExecutionResult.error` with a `kind`
from `ErrorKind`; so does a `StoreError` met while running or resuming a plan (kind `store`).
`ToolError` is the one class that crosses into plans: tool functions may raise it to report a
clean, model-facing message, and plans catch it with `except ToolError as e`.
A plan may raise `ToolError` too; that is the plan's own failure (`kind="runtime"`), never a
tool's. `StopPlan` travels between the host's dispatch layers and the sandbox (over the wire as
its `kind`); plans never see it, only the uncatchable stop it turns into.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "BudgetExceeded",
    "CodeModeError",
    "ConfigurationError",
    "ConnectorError",
    "ErrorKind",
    "ResumeError",
    "StopPlan",
    "StoreError",
    "ToolError",
]

ErrorKind = Literal[
    "syntax",  # the plan does not parse
    "policy",  # the plan uses something the sandbox refuses (dunder access, open, bad import)
    "runtime",  # an exception raised by the plan's own code (NameError, KeyError, ...)
    "tool",  # an uncaught tool failure (bad arguments, the tool raised, unknown tool)
    "timeout",  # the wall-clock limit ran out
    "budget",  # an operation/tool-call/size/memory budget ran out
    "crashed",  # the isolated worker died
    "diverged",  # a resumed plan took a different path than its journal (see `CodeMode.resume`)
    "store",  # the execution store failed (disk full, locked, unreachable); calls that ran are kept
    "stream",  # the streamed plan broke off before it was complete (`run_stream`); only reads ran
    "internal",  # a bug in codemode itself; the message says so
]
"""The closed set of reasons a plan can fail; adapters may switch on it."""


class CodeModeError(Exception):
    """Base of every error codemode raises to the developer (never to the plan)."""


class ConfigurationError(CodeModeError):
    """The developer configured something impossible; the message says what to change."""


class ConnectorError(CodeModeError):
    """A connector (MCP server, OpenAPI service) could not be opened, listed or called."""


class StoreError(CodeModeError):
    """A store could not save, load or lock a journal or snippet."""


class ToolError(Exception):
    """A tool call failed. Plans may catch it; tool functions may raise it for a clean message.

    Only the message crosses into the sandbox: the original exception (which could reference
    host objects) stays on the host side.
    """

    def __init__(self, message: str, *, tool: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tool = tool

    def __str__(self) -> str:
        return self.message


class ResumeError(CodeModeError):
    """`CodeMode.resume` cannot continue this execution: unknown, expired, finished, already
    being resumed elsewhere, or the decisions do not match its pending requests."""


class StopPlan(Exception):
    """Raised by a bridge when the host stops the plan at a call: the sandbox turns it into an
    uncatchable abort of `kind`, so a plan cannot loop on refused calls.

    `kind` is `"budget"` (the tool-call cap), `"diverged"` (a resumed plan left its journal),
    or `"paused"` (calls wait for a human's approval).
    """

    def __init__(self, message: str, kind: str = "budget") -> None:
        super().__init__(message)
        self.kind = kind


class BudgetExceeded(StopPlan):
    """The tool-call cap: `StopPlan` of kind `"budget"`."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "budget")
