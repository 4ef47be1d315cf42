"""The catalog: every tool a plan can call, under the identifier the stubs show.

It owns the two mappings that must agree for Code Mode to work: identifier → tool (dispatch)
and tool → stub text (what the model reads). Both come from one `StubRenderer` pass, so the
parameter order a positional call follows is exactly the order the model saw.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from codemode_core._validation import JsonSchemaBinder
from codemode_core.errors import ConfigurationError, ToolError
from codemode_core.naming import IdentifierAllocator
from codemode_core.sandbox.executor import Manifest
from codemode_core.stubs import StubRenderer, ToolSignature
from codemode_core.stubs.preamble import shared_preambles
from codemode_core.tools import ArgumentBinder, Tool

__all__ = ["Catalog", "CatalogEntry"]

ROOT = "tools"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One callable tool: the neutral tool, where it lives, and its rendered signature."""

    tool: Tool
    qualified_name: str
    namespace: str | None
    identifier: str
    signature: ToolSignature
    binder: ArgumentBinder
    is_async: bool = False
    """The tool function is a coroutine function (its result is always awaited)."""
    _keys_by_name: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Both the stub identifier and the original property name are accepted as keywords.
        for param in self.signature.parameters:
            self._keys_by_name[param.key] = param.key
        for param in self.signature.parameters:
            self._keys_by_name[param.identifier] = param.key

    def map_arguments(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Positional and keyword arguments as the plan wrote them → the tool's own keys.

        Positional arguments follow the stub's parameter order; keyword arguments may use the
        stub identifier or the original property name. Raises `ToolError` naming the problem.
        """
        signature = self.signature
        params = signature.parameters
        keys_by_name = self._keys_by_name
        if not args:
            for name in kwargs:
                if keys_by_name.get(name) != name:
                    break
            else:
                return dict(kwargs)  # the common case: keywords named as in the schema
        if len(args) > len(params) and not signature.var_keyword:
            raise ToolError(
                f"{self.qualified_name}() takes at most {len(params)} positional argument(s) "
                f"({', '.join(p.identifier for p in params) or 'none'}), got {len(args)}",
                tool=self.qualified_name,
            )
        if args and signature.var_keyword:
            raise ToolError(
                f"{self.qualified_name}() takes keyword arguments only", tool=self.qualified_name
            )
        arguments: dict[str, Any] = {}
        for param, value in zip(params, args, strict=False):
            arguments[param.key] = value
        unknown: list[str] = []
        for name, value in kwargs.items():
            key = keys_by_name.get(name)
            if key is None:
                if signature.var_keyword:
                    arguments[name] = value
                    continue
                unknown.append(name)
                continue
            if key in arguments:
                raise ToolError(
                    f"{self.qualified_name}() got multiple values for argument '{name}'",
                    tool=self.qualified_name,
                )
            arguments[key] = value
        if unknown:
            accepted = ", ".join(p.identifier for p in params) or "none"
            raise ToolError(
                f"{self.qualified_name}() got unexpected argument(s) {', '.join(unknown)}; "
                f"accepted: {accepted}",
                tool=self.qualified_name,
            )
        return arguments


class Catalog:
    """All tools of one `CodeMode`, with unique identifiers and their stubs."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self._renderer = StubRenderer(root=ROOT)
        self._entries: dict[str, CatalogEntry] = {}
        self._namespaces: dict[str, list[str]] = {"": []}
        self._namespace_ids: dict[str | None, str] = {None: ""}
        root_names = IdentifierAllocator()
        allocators: dict[str, IdentifierAllocator] = {"": root_names}
        seen: dict[tuple[str | None, str], Tool] = {}
        placed: list[tuple[Tool, str, str]] = []  # tool, namespace identifier, identifier
        for tool in tools:
            if not isinstance(tool, Tool):
                raise ConfigurationError(
                    f"expected codemode_core.Tool, got {type(tool).__name__}; convert it with "
                    "Tool.from_function(fn) or a framework adapter"
                )
            key = (tool.namespace, tool.name)
            if key in seen:
                where = f" in namespace '{tool.namespace}'" if tool.namespace else ""
                raise ConfigurationError(
                    f"two tools are named '{tool.name}'{where}; rename one, or give them "
                    "different namespaces"
                )
            seen[key] = tool
            namespace_id = self._namespace_ids.get(tool.namespace)
            if namespace_id is None:
                namespace_id = root_names.allocate(tool.namespace or "", fallback="ns")
                self._namespace_ids[tool.namespace] = namespace_id
                self._namespaces[namespace_id] = []
                allocators[namespace_id] = IdentifierAllocator()
            placed.append((tool, namespace_id, allocators[namespace_id].allocate(tool.name)))
        preambles = _preambles(placed)
        for (tool, namespace_id, identifier), preamble in zip(placed, preambles, strict=True):
            signature = self._renderer.add_tool(
                namespace=namespace_id or None,
                identifier=identifier,
                description=tool.description,
                input_schema=tool.input_schema,
                output_schema=tool.output_schema,
                preamble=preamble,
            )
            qualified = signature.qualified_name
            binder = tool.binder or JsonSchemaBinder(tool.input_schema, qualified)
            self._entries[qualified] = CatalogEntry(
                tool,
                qualified,
                namespace_id or None,
                identifier,
                signature,
                binder,
                is_async=_is_async(tool.fn),
            )
            self._namespaces[namespace_id].append(identifier)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Any:
        return iter(self._entries.values())

    def get(self, qualified_name: str) -> CatalogEntry | None:
        return self._entries.get(qualified_name)

    def namespace_identifier(self, namespace: str | None) -> str | None:
        """The identifier plans use for a tool's `namespace` (None if no tool has it)."""
        return self._namespace_ids.get(namespace)

    @property
    def namespaces(self) -> Mapping[str, Sequence[str]]:
        """Namespace identifier ("" for the root) → tool identifiers, in declaration order."""
        return self._namespaces

    @cached_property
    def needs_approval(self) -> bool:
        """Some tool may need a human's approval (so a run may pause)."""
        return any(entry.tool.requires_approval for entry in self._entries.values())

    @cached_property
    def manifest(self) -> Manifest:
        return Manifest({k: tuple(v) for k, v in self._namespaces.items()})

    @cached_property
    def stubs(self) -> str:
        """The full typed API as Python source."""
        return self._renderer.render()

    def render(self, names: Iterable[str]) -> str:
        """Stub text for some tools or namespaces (qualified names), with the types they use,
        every text whole (what `codemode.describe` returns)."""
        return self._renderer.render(only=set(names), full=True)

    def render_type(self, name: str) -> str | None:
        return self._renderer.render_type(name)


def _preambles(placed: Sequence[tuple[Tool, str, str]]) -> list[str]:
    """Per tool, the opening it shares with others of its namespace (said once in the stubs)."""
    found = [""] * len(placed)
    by_namespace: dict[str, list[int]] = {}
    for index, (_, namespace_id, _) in enumerate(placed):
        by_namespace.setdefault(namespace_id, []).append(index)
    for indexes in by_namespace.values():
        shared = shared_preambles([str(placed[i][0].description or "") for i in indexes])
        for index, preamble in zip(indexes, shared, strict=True):
            found[index] = preamble
    return found


def _is_async(fn: Any) -> bool:
    """Coroutine functions, including callables whose `__call__` is `async def`."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - a callable object's method, not callable()
    )
