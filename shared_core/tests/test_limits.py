"""Limits: sane defaults, clear errors for bad values, unknown fields refused."""

from __future__ import annotations

import pytest

from codemode_core import ConfigurationError, Limits


def test_defaults_are_positive() -> None:
    limits = Limits()
    assert limits.timeout == 30.0
    assert limits.max_tool_calls > 0 and limits.max_operations > 0


def test_unknown_field_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Limits(timeout_seconds=3)  # type: ignore[call-arg]


@pytest.mark.parametrize("value", [0, -1, "10", True])
def test_bad_values_are_configuration_errors(value: object) -> None:
    with pytest.raises(ConfigurationError, match=r"Limits\.timeout must be"):
        Limits(timeout=value)  # type: ignore[arg-type]


def test_replace_returns_a_changed_copy() -> None:
    limits = Limits()
    assert limits.replace(timeout=5).timeout == 5
    assert limits.timeout == 30.0
    with pytest.raises(AttributeError):
        limits.timeout = 1  # type: ignore[misc]
