"""Every option is checked when the code tool or middleware is built; errors name what the
user called and the option, never `CodeMode.__init__`."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.tools import tool

from codemode_core import ConfigurationError
from codemode_langchain import CodeModeMiddleware, create_codemode_tool


@tool
def lookup(key: str) -> str:
    """Look a key up."""
    return key


@pytest.mark.parametrize(
    ("build", "called"),
    [
        (lambda **o: create_codemode_tool([lookup], **o), "create_codemode_tool"),
        (lambda **o: CodeModeMiddleware(**o), "CodeModeMiddleware"),
    ],
)
def test_bad_options_name_what_the_user_called(build: Any, called: str) -> None:
    with pytest.raises(TypeError, match=rf"^{called} got an unknown option 'timeout'"):
        build(timeout=3)
    with pytest.raises(ConfigurationError, match=rf"^{called}: executor must be 'isolated'"):
        build(executor="docker")
    with pytest.raises(ConfigurationError, match=rf"^{called}: pause_ttl must be a positive"):
        build(pause_ttl=-1)
    with pytest.raises(ConfigurationError, match=rf"^{called}: require_approval\['lookup'\]"):
        build(require_approval={"lookup": "always"})
