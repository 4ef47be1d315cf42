"""Which of an agent's tools go behind the code tool, and which the model keeps calling directly.

Every adapter takes the same `tools=` selector: `"all"` (the default), a list of tool names,
or a predicate over the framework's own tool object (`BaseTool` in LangChain and LangGraph, the
LlamaIndex tool, pydantic-ai's `(ctx, ToolDefinition)` as its `ToolSelector` has it). The rule
lives here so that four adapters cannot drift apart on it: names are matched exactly, and a
selector that is none of the three is a developer error raised when the adapter is built.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from codemode_core.errors import ConfigurationError

__all__ = [
    "ToolChoice",
    "check_approvals_wrapped",
    "check_chosen_names",
    "check_tool_choice",
    "chooses",
]

ToolChoice: TypeAlias = Literal["all"] | Sequence[str] | Callable[[Any], bool]
"""`"all"`, the names of the tools plans call, or a predicate over the framework's tool."""


def check_tool_choice(caller: str, choice: object) -> ToolChoice:
    """`choice` normalised (a list of names becomes a tuple); a `ConfigurationError` naming
    `caller` when it is not a selector. A single string other than `"all"` is refused rather
    than read as one name, since `tools="search"` is more often a slip than a choice."""
    if choice == "all" or callable(choice):
        return choice
    if isinstance(choice, Sequence) and not isinstance(choice, str):
        names = tuple(choice)
        if all(isinstance(name, str) for name in names):
            return names
    raise ConfigurationError(
        f'{caller}(tools=...) must be "all", a list of tool names or a predicate over a tool, '
        f"got {choice!r}. The tools themselves are the first, positional argument."
    )


def chooses(choice: ToolChoice, name: str, native: object) -> bool:
    """Whether plans call the tool `name` (`native` is what a predicate is given)."""
    if choice == "all":
        return True
    if callable(choice):
        return bool(choice(native))
    return name in choice


def check_approvals_wrapped(
    caller: str, require_approval: Mapping[str, object] | None, direct: Iterable[str]
) -> None:
    """Refuse an approval rule for a tool that `tools=` leaves direct, where the adapter runs
    direct tools as the framework does (no plan, so no codemode approval): the rule would
    otherwise be silently skipped, or fail as an unknown tool name."""
    named = sorted(set(require_approval or {}) & set(direct))
    if named:
        raise ConfigurationError(
            f"{caller}: require_approval names {', '.join(map(repr, named))}, which tools= "
            "leaves direct; approvals apply to the tools plans call. Select it with tools= "
            "(or ask for approval of direct calls with the framework's own human-in-the-loop)"
        )


def check_chosen_names(caller: str, choice: ToolChoice, names: Iterable[str]) -> None:
    """Refuse a `tools=[...]` name that is none of the agent's tools: a typo would otherwise
    leave the intended tool direct (and outside plans and their approvals) without a word."""
    if choice == "all" or callable(choice):
        return
    known = list(names)
    unknown = [name for name in choice if name not in known]
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ConfigurationError(
        f"{caller}(tools=...) names {', '.join(hints)}, which is not among the tools given "
        f"({', '.join(map(repr, known)) or 'none'}). Use the tools' own names."
    )
