"""Resource limits for one plan execution."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from codemode_core.errors import ConfigurationError

__all__ = ["Limits"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """Every budget a plan runs under; each field has a default that suits an agent loop.

    Units are in the field names, or seconds. An unknown field is a `TypeError` (dataclass
    keyword-only construction), never silently ignored.
    """

    timeout: float = 30.0
    """Wall-clock seconds for the whole plan, tool calls included."""

    max_tool_calls: int = 200
    """Tool calls one plan may make (discovery calls included)."""

    max_operations: int = 2_000_000
    """Loop iterations plus function calls the plan's own code may perform."""

    max_memory_mb: int = 512
    """Address-space cap for an isolated worker; the in-process executor cannot enforce it."""

    max_output_chars: int = 20_000
    """Characters kept of the result, of the logs, and of the model-facing text, each."""

    max_sequence_length: int = 10_000_000
    """Largest string/list/bytes a single operation may build (`'a' * n`, `range(n)` ...)."""

    max_int_bits: int = 100_000
    """Largest integer (in bits) that `**` and `<<` may produce."""

    max_argument_chars: int = 1_000_000
    """Largest arguments of one tool call, as JSON characters; a plan's calls together may
    send ten times this. Checked before anything is built, so the host never holds more."""

    max_speculative_calls: int = 8
    """Read-only calls started early, while a streamed plan is still being written
    (`CodeMode.run_stream`), that may be running at once; more wait for one to finish."""

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigurationError(f"Limits.{field.name} must be a number, got {value!r}.")
            if value <= 0:
                raise ConfigurationError(f"Limits.{field.name} must be positive, got {value!r}.")

    def replace(self, **changes: float) -> Limits:
        """A copy with some fields changed (`limits.replace(timeout=5)`)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
