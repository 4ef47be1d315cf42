"""Every option is checked when the code tool or tool spec is built; errors name what the
user called and the option, never `CodeMode.__init__`."""

from __future__ import annotations

from typing import Any

import pytest

from codemode_core import ConfigurationError
from codemode_llamaindex import CodeModeToolSpec, create_codemode_tool


def lookup(key: str) -> str:
    """Look a key up."""
    return key


@pytest.mark.parametrize(
    ("build", "called"),
    [
        (lambda **o: create_codemode_tool([lookup], **o), "create_codemode_tool"),
        (lambda **o: CodeModeToolSpec([lookup], **o), "CodeModeToolSpec"),
    ],
)
def test_bad_options_name_what_the_user_called(build: Any, called: str) -> None:
    with pytest.raises(TypeError, match=rf"^{called} got an unknown option 'limts'"):
        build(limts=None)
    with pytest.raises(ConfigurationError, match=rf"^{called}: discovery must be 'full'"):
        build(discovery="lazy")
    with pytest.raises(ConfigurationError, match=rf"^{called}: require_approval\['lookup'\]"):
        build(require_approval={"lookup": 1})
