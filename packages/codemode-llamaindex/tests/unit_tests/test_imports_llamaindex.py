"""The adapter's public API is pinned."""

import codemode_llamaindex


def test_all() -> None:
    assert codemode_llamaindex.__all__ == [
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
