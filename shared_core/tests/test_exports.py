"""The public API is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

import codemode_core


def test_all_is_pinned_and_sorted() -> None:
    assert codemode_core.__all__ == [
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
    for name in codemode_core.__all__:
        assert hasattr(codemode_core, name)
