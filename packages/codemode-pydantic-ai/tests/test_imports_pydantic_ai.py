"""The adapter's public API is pinned."""

import codemode_pydantic_ai


def test_all() -> None:
    assert codemode_pydantic_ai.__all__ == [
        "CodeModeApprovalRequestedEvent",
        "CodeModeCapability",
        "CodeModeLogEvent",
        "CodeModeToolEndEvent",
        "CodeModeToolStartEvent",
        "CodeModeToolset",
        "ToolsetOrTools",
    ]
