"""codemode-langchain: one Code Mode tool instead of a list of LangChain tools."""

from codemode_langchain._convert import to_codemode_tool, to_codemode_tools
from codemode_langchain.tools import CodeModeArtifact, CodeModeTool, create_codemode_tool

__all__ = [
    "CodeModeArtifact",
    "CodeModeTool",
    "create_codemode_tool",
    "to_codemode_tool",
    "to_codemode_tools",
]
