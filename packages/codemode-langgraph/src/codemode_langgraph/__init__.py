"""codemode-langgraph: a Code Mode node for LangGraph graphs, and a ready-made agent."""

from codemode_langchain import CodeModeArtifact, CodeModeTool, create_codemode_tool
from codemode_langgraph.agent import create_codemode_agent
from codemode_langgraph.node import CodeModeNode

__all__ = [
    "CodeModeArtifact",
    "CodeModeNode",
    "CodeModeTool",
    "create_codemode_agent",
    "create_codemode_tool",
]
