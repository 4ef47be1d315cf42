"""The adapter's public API is pinned."""

import codemode_langchain


def test_all() -> None:
    assert codemode_langchain.__all__ == [
        "CodeModeArtifact",
        "CodeModeMiddleware",
        "CodeModeTool",
        "create_codemode_tool",
        "to_codemode_tool",
        "to_codemode_tools",
    ]
