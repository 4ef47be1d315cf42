"""Snippets: named, saved plans with typed parameters, callable from later plans.

A snippet is plan code (the body of an async function whose parameters are plain names in it),
a description, and a JSON Schema of its parameters. Saving validates it the way a model's plan
would be judged: it must compile under the sandbox policy, and every `tools.*` call in it must
name a real tool with arguments the tool accepts. Plans call it as `await snippets.name(...)`;
it runs inside the same sandbox, budgets and journal as the plan that calls it.
"""

from __future__ import annotations

import json
import keyword
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from codemode_core._preflight import check_calls
from codemode_core.catalog import Catalog
from codemode_core.errors import ConfigurationError
from codemode_core.sandbox.compiler import PlanRejected, compile_plan
from codemode_core.sandbox.rewrite import parse_plan
from codemode_core.stubs import StubRenderer

__all__ = ["Snippet", "SnippetError", "snippet_schema", "validate_snippet"]

_SIMPLE_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
    "any": None,
}
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class SnippetError(ConfigurationError):
    """A snippet cannot be saved: the message lists every problem, with snippet lines."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Snippet:
    """A saved plan with typed parameters."""

    name: str
    code: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """JSON Schema (`object`) of the parameters."""
    created_at: float = 0.0

    @property
    def parameter_names(self) -> list[str]:
        return list(self.parameters.get("properties", {}))

    @property
    def required(self) -> list[str]:
        return list(self.parameters.get("required", []))

    def to_json(self) -> str:
        return json.dumps(
            {
                "name": self.name,
                "code": self.code,
                "description": self.description,
                "parameters": dict(self.parameters),
                "created_at": self.created_at,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Snippet:
        return cls(**json.loads(text))

    def to_wire(self) -> dict[str, Any]:
        """What the sandbox needs to run it (plain data)."""
        return {"code": self.code, "parameters": self.parameter_names, "required": self.required}


def snippet_schema(parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalize `{"month": "str"}`, `{"month": {"type": "string"}}` or a whole object schema
    into an object schema (every parameter required unless the schema says otherwise)."""
    if not parameters:
        return {"type": "object", "properties": {}, "required": []}
    if parameters.get("type") == "object" and isinstance(parameters.get("properties"), Mapping):
        return dict(parameters)
    properties: dict[str, Any] = {}
    for name, spec in parameters.items():
        if isinstance(spec, str):
            if spec.lower() not in _SIMPLE_TYPES:
                raise SnippetError(
                    f"parameter {name!r}: unknown type {spec!r}; use one of "
                    f"{', '.join(_SIMPLE_TYPES)} or a JSON Schema"
                )
            json_type = _SIMPLE_TYPES[spec.lower()]
            properties[name] = {"type": json_type} if json_type else {}
        elif isinstance(spec, Mapping):
            properties[name] = dict(spec)
        else:
            raise SnippetError(f"parameter {name!r}: give a type name or a JSON Schema")
    return {"type": "object", "properties": properties, "required": list(properties)}


def validate_snippet(snippet: Snippet, catalog: Catalog) -> list[str]:
    """Every problem with `snippet`, as `line N: ...` messages (empty when it is fine)."""
    problems: list[str] = []
    if not _NAME.match(snippet.name) or keyword.iskeyword(snippet.name):
        problems.append(
            f"name {snippet.name!r} must be a lower-case Python identifier (e.g. monthly_report)"
        )
    for name in snippet.parameter_names:
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            problems.append(f"parameter {name!r} must be a Python identifier without a leading _")
    compiled = compile_plan(snippet.code)
    if isinstance(compiled, PlanRejected):
        problems.append(compiled.message)
        return problems
    # The same check every plan gets before it runs (`_preflight`), so a snippet that saves
    # is one whose calls pass it.
    problems.extend(p.render() for p in check_calls(parse_plan(snippet.code), catalog))
    return problems


def render_snippet_stubs(snippets: Mapping[str, Snippet]) -> str:
    """`class snippets:` with one typed async function per snippet, as the model reads it."""
    renderer = StubRenderer(root="snippets")
    for snippet in sorted(snippets.values(), key=lambda s: s.name):
        renderer.add_tool(
            namespace=None,
            identifier=snippet.name,
            description=snippet.description or "A saved plan.",
            input_schema=snippet.parameters,
            output_schema=None,
        )
    return renderer.render()


def new_snippet(
    name: str, code: str, description: str, parameters: Mapping[str, Any] | None
) -> Snippet:
    return Snippet(
        name=name,
        code=code,
        description=description,
        parameters=snippet_schema(parameters),
        created_at=time.time(),
    )


def search_snippets(
    snippets: Mapping[str, Snippet], query: str, limit: int
) -> list[dict[str, Any]]:
    """Snippets sharing words with the query, best first, in `codemode.search`'s shape."""
    words = set(re.findall(r"[a-z0-9]+", query.lower()))
    scored: list[tuple[int, Snippet]] = []
    for snippet in snippets.values():
        text = f"{snippet.name.replace('_', ' ')} {snippet.description}".lower()
        score = len(words & set(re.findall(r"[a-z0-9]+", text)))
        if score:
            scored.append((score, snippet))
    scored.sort(key=lambda item: (-item[0], item[1].name))
    results = []
    for _, snippet in scored[:limit]:
        stub = render_snippet_stubs({snippet.name: snippet})
        signature = next(
            (
                line.strip().removeprefix("async def ").rstrip(":")
                for line in stub.splitlines()
                if line.strip().startswith("async def ")
            ),
            snippet.name,
        )
        results.append(
            {
                "name": f"snippets.{snippet.name}",
                "summary": (snippet.description or "A saved plan.").splitlines()[0],
                "signature": signature,
                "kind": "snippet",
            }
        )
    return results
