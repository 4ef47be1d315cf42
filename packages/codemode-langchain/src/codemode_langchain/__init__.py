"""codemode-langchain: one Code Mode tool instead of a list of LangChain tools."""

from typing import Any

from codemode_langchain._convert import to_codemode_tool, to_codemode_tools
from codemode_langchain.tools import CodeModeArtifact, CodeModeTool, create_codemode_tool

__all__ = [
    "CodeModeArtifact",
    "CodeModeMiddleware",
    "CodeModeTool",
    "create_codemode_tool",
    "to_codemode_tool",
    "to_codemode_tools",
]


def __getattr__(name: str) -> Any:
    """`CodeModeMiddleware` needs `langchain` (the `[agents]` extra): import it on first use."""
    if name == "CodeModeMiddleware":
        try:
            from codemode_langchain.middleware import CodeModeMiddleware
        except ImportError as exc:
            raise ImportError(
                "CodeModeMiddleware needs langchain: pip install 'codemode-langchain[agents]'"
            ) from exc
        return CodeModeMiddleware
    raise AttributeError(f"module 'codemode_langchain' has no attribute {name!r}")
