"""JSON Schema → Python stubs: the typed API a model reads instead of JSON tool definitions."""

from codemode_core.stubs.renderer import StubParameter, StubRenderer, ToolSignature

__all__ = ["StubParameter", "StubRenderer", "ToolSignature"]
