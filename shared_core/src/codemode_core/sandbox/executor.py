"""The one narrow interface every executor backend implements, and the plain data it trades.

Like httpx's transports: `CodeMode` calls `Executor.execute` at exactly one site, and a new
backend (in-process, isolated worker pool, ...) is one module implementing it. Everything that
crosses this interface is plain data (strings, numbers, dicts, lists) so that a backend can ship
it over a pipe as JSON; the host side of tool calls is reached only through `Bridge`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from codemode_core.limits import Limits
from codemode_core.result import ExecutionError

__all__ = [
    "Bridge",
    "ExecutionOutcome",
    "ExecutionRequest",
    "Executor",
    "Manifest",
]


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a plan may call, as plain data: the tool tree under `tools` and its discovery API.

    `namespaces` maps "" (the root) and each namespace identifier to the tool identifiers in
    it; the sandbox builds its `tools` proxy from this alone, never from host objects.
    """

    namespaces: Mapping[str, Sequence[str]]
    discovery: bool = True
    snippets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Saved plans callable as `snippets.<name>`: name → {code, parameters, required}."""

    def to_wire(self) -> dict[str, Any]:
        return {
            "namespaces": {k: list(v) for k, v in self.namespaces.items()},
            "discovery": self.discovery,
            "snippets": {k: dict(v) for k, v in self.snippets.items()},
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Manifest:
        snippets = data.get("snippets") or {}
        return cls(
            {str(k): tuple(v) for k, v in data["namespaces"].items()},
            bool(data.get("discovery", True)),
            {
                str(k): {
                    "code": str(v.get("code", "")),
                    "parameters": [str(p) for p in v.get("parameters", [])],
                    "required": [str(p) for p in v.get("required", [])],
                }
                for k, v in snippets.items()
                if isinstance(v, Mapping)
            },
        )


@dataclass(frozen=True, slots=True)
class ExecutionRequest:
    """One plan to run: its source, what it may call, and its budgets."""

    code: str
    manifest: Manifest
    limits: Limits
    execution_id: str
    seed: int = 0
    """Seeds the plan's `random` and `uuid` (journaled: a resumed plan draws the same)."""
    clock: tuple[float, ...] = ()
    """Clock readings to replay, in order, before reading the real clock (on resume)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionOutcome:
    """What an executor reports back: the plan's value or its failure, and its logs."""

    status: Literal["ok", "error", "paused"]
    value: Any = None
    logs: tuple[str, ...] = ()
    failure: ExecutionError | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    """Backend-specific facts (e.g. worker pid, peak memory) for diagnostics."""


class Bridge(Protocol):
    """The host side a plan's `tools.*` and `codemode.*` calls reach; one per execution.

    Every method takes and returns plain data. A failing tool call raises
    `codemode_core.ToolError` with a model-facing message.
    """

    async def call_tool(
        self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any], line: int | None
    ) -> Any:
        """Call the tool `name` (qualified, e.g. `tools.orders.get`) and return its result."""

    async def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        """Ranked catalog entries for `codemode.search(query)`."""

    async def describe(self, name: str) -> str:
        """Stub text of a tool, namespace or type for `codemode.describe(name)`."""

    async def save_snippet(
        self, name: str, code: str, description: str, parameters: Mapping[str, Any]
    ) -> str:
        """Validate and save a snippet from a plan; returns how later plans call it."""

    def log(self, text: str) -> None:
        """A line the plan printed, as it is printed (must not block; may be a no-op)."""

    def clock(self, value: float) -> None:
        """A clock reading the plan made (`time.time()`, `datetime.now()`), for the journal."""


class Executor(Protocol):
    """Runs one plan under a policy and budgets, calling tools only through the bridge."""

    async def execute(self, request: ExecutionRequest, bridge: Bridge) -> ExecutionOutcome:
        """Run the plan; never raises for anything the plan did (failures are outcomes)."""

    async def aclose(self) -> None:
        """Release processes, threads or other resources the executor holds."""
