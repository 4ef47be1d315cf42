"""`CodeModeCapability`: one line turns Code Mode on for every tool of an agent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.exceptions import UserError
from pydantic_ai.tools import AgentDepsT, ToolSelector
from pydantic_ai.toolsets import AbstractToolset

from codemode_core.integration import ApprovalPredicate
from codemode_pydantic_ai.toolset import CodeModeToolset, options_checked_as

__all__ = ["CodeModeCapability"]


@dataclass(init=False)
class CodeModeCapability(AbstractCapability[AgentDepsT]):
    """Wraps all of an agent's tools (its own, its toolsets', other capabilities') in one
    `CodeModeToolset`: `Agent(model, tools=[...], capabilities=[CodeModeCapability()])`.

    Takes what `CodeModeToolset` takes (`tools`, `name`, `max_retries`, `require_approval`,
    and the `CodeMode` options such as `limits=`, `executor=`, `approver=`, `store=`, as
    keywords or in `options`), checked here, when the capability is built. The executor and
    the store are created once, so an isolated executor's warm workers serve every run of the
    agent, and a run with `DeferredToolResults` finds the plan the run before it paused.
    """

    tools: ToolSelector[AgentDepsT]
    """Which tools plans call; the others stay direct tools."""
    name: str
    """The code tool's name."""
    max_retries: int
    """How often the model may retry after a failed plan."""
    options: dict[str, Any]
    """Passed to `codemode_core.CodeMode` (the executor and store resolved once)."""
    require_approval: dict[str, bool | ApprovalPredicate]
    """`{tool_name: True | predicate(arguments)}`: calls that need a human."""
    _latest: list[CodeModeToolset[AgentDepsT]] = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        *,
        tools: ToolSelector[AgentDepsT] = "all",
        name: str = "run_code",
        max_retries: int = 3,
        options: Mapping[str, Any] | None = None,
        require_approval: Mapping[str, bool | ApprovalPredicate] | None = None,
        **code_mode_options: Any,
    ) -> None:
        with options_checked_as("CodeModeCapability"):
            template: CodeModeToolset[AgentDepsT] = CodeModeToolset(
                [],
                tools=tools,
                name=name,
                max_retries=max_retries,
                options=dict(options or {}),
                require_approval=require_approval,
                **code_mode_options,
            )
        self.tools = tools
        self.name = name
        self.max_retries = max_retries
        self.options = template.options
        self.require_approval = template.require_approval
        self._latest = []

    @property
    def stubs(self) -> str:
        """The typed stubs of the tools plans called in the latest run."""
        return self.toolset.stubs

    @property
    def toolset(self) -> CodeModeToolset[AgentDepsT]:
        """The `CodeModeToolset` of the latest run: `capability.toolset.description` is the code
        tool's description as the model read it (the capability's own `description` field is
        pydantic-ai's: the capability's entry in its load catalog).

        The capability learns an agent's tools when a run starts (pydantic-ai hands them to
        `get_wrapper_toolset` per run); before that there is nothing to describe."""
        if not self._latest:
            raise UserError(
                "CodeModeCapability has not wrapped an agent's tools yet: read description/stubs "
                "after a run (or wrap the tools with CodeModeToolset(...) and read its own)"
            )
        return self._latest[0]

    @classmethod
    def get_serialization_name(cls) -> str | None:
        return None  # holds an executor instance; not spec-serializable

    def get_wrapper_toolset(
        self, toolset: AbstractToolset[AgentDepsT]
    ) -> AbstractToolset[AgentDepsT] | None:
        wrapper = CodeModeToolset(
            toolset,
            tools=self.tools,
            name=self.name,
            max_retries=self.max_retries,
            options=self.options,
            require_approval=self.require_approval,
        )
        self._latest[:] = [wrapper]  # what `description`/`stubs` read
        return wrapper
