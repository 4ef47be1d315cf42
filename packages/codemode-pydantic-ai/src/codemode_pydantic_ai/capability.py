"""`CodeModeCapability`: one line turns Code Mode on for every tool of an agent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.tools import AgentDepsT, ToolSelector
from pydantic_ai.toolsets import AbstractToolset

from codemode_core.integration import MemoryStore, resolve_executor
from codemode_pydantic_ai.toolset import CodeModeToolset

__all__ = ["CodeModeCapability"]


@dataclass
class CodeModeCapability(AbstractCapability[AgentDepsT]):
    """Wraps all of an agent's tools (its own, its toolsets', other capabilities') in one
    `CodeModeToolset`: `Agent(model, tools=[...], capabilities=[CodeModeCapability()])`.

    The fields are `CodeModeToolset`'s; `options` holds the `CodeMode` options (`limits`,
    `executor`, `discovery`, `approver`, `store`, ...). The executor and the store are created
    once, so an isolated executor's warm workers serve every run of the agent, and a run with
    `DeferredToolResults` finds the plan the run before it paused.
    """

    tools: ToolSelector[AgentDepsT] = "all"
    """Which tools plans call; the others stay direct tools."""
    name: str = "run_code"
    """The code tool's name."""
    max_retries: int = 3
    """How often the model may retry after a failed plan."""
    options: dict[str, Any] = field(default_factory=dict)
    """Passed to `codemode_core.CodeMode`."""

    def __post_init__(self) -> None:
        store = self.options.get("store")
        self.options = {
            **self.options,
            "executor": resolve_executor(self.options.get("executor")),
            "store": MemoryStore() if store is None else store,
        }

    @classmethod
    def get_serialization_name(cls) -> str | None:
        return None  # holds an executor instance; not spec-serializable

    def get_wrapper_toolset(
        self, toolset: AbstractToolset[AgentDepsT]
    ) -> AbstractToolset[AgentDepsT] | None:
        return CodeModeToolset(
            toolset,
            tools=self.tools,
            name=self.name,
            max_retries=self.max_retries,
            options=self.options,
        )
