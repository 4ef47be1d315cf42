"""Snippets: named, saved plans with typed parameters, callable from later plans.

A snippet is plan code (the body of an async function whose parameters are plain names in it),
a description, and a JSON Schema of its parameters. Saving validates it the way a model's plan
would be judged: it must compile under the sandbox policy, and every `tools.*` call in it must
name a real tool with arguments the tool accepts. Plans call it as `await snippets.name(...)`;
it runs inside the same sandbox, budgets and journal as the plan that calls it.

Who saved a snippet is part of its name. The developer's (`CodeMode.save_snippet`) are
`snippets.<name>`; a plan's (`codemode.save_snippet`) are `snippets.plans.<name>`, so a plan
can never replace code the developer saved, which every later plan in every process sharing the
store would run. Every snippet is bounded in size and number (`MAX_SNIPPET_CHARS`,
`MAX_SNIPPETS`, `MAX_PLAN_SNIPPETS`): they all travel with every plan, so what a store holds
beyond that is left out of plans (and said so in the log) rather than break every run.
"""

from __future__ import annotations

import json
import keyword
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from codemode_core._preflight import check_calls
from codemode_core.catalog import Catalog
from codemode_core.errors import ConfigurationError
from codemode_core.sandbox._snippet_limits import MAX_SNIPPET_CHARS, PLAN_NAMESPACE
from codemode_core.sandbox.compiler import PlanRejected, compile_plan
from codemode_core.sandbox.rewrite import parse_plan
from codemode_core.stubs import StubRenderer

__all__ = [
    "MAX_PLAN_SNIPPETS",
    "MAX_SNIPPETS",
    "MAX_SNIPPET_CHARS",
    "PLAN_NAMESPACE",
    "Snippet",
    "SnippetError",
    "snippet_schema",
    "usable_snippets",
    "validate_snippet",
]

log = logging.getLogger("codemode.snippets")

MAX_SNIPPETS = 200
"""Snippets plans can see (the developer's first); more are refused when saving."""

MAX_PLAN_SNIPPETS = 50
"""Of those, how many plans may save (in `snippets.plans`); delete some to save more."""

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
    def by_plan(self) -> bool:
        """Saved by a plan (`snippets.plans.<name>`), not by the developer."""
        return self.name.startswith(PLAN_NAMESPACE + ".")

    @property
    def identifier(self) -> str:
        """The name without its namespace (what follows `snippets.` or `snippets.plans.`)."""
        return self.name.rsplit(".", 1)[-1]

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


def size_problem(snippet: Snippet) -> str | None:
    """Why `snippet` is too big to keep, or None (cheap: checked before anything is parsed)."""
    size = len(snippet.code) + len(snippet.description) + len(snippet.name)
    size += len(json.dumps(dict(snippet.parameters), ensure_ascii=False, default=str))
    if size > MAX_SNIPPET_CHARS:
        return (
            f"it is {size:,} characters (code, description and parameters); the limit is "
            f"{MAX_SNIPPET_CHARS:,}. Save a shorter plan, or split it into several snippets"
        )
    return None


def validate_snippet(snippet: Snippet, catalog: Catalog) -> list[str]:
    """Every problem with `snippet`, as `line N: ...` messages (empty when it is fine).

    Compiling costs time in proportion to the code, so the size is checked first and nothing
    else is looked at when it is too big. Callers on an event loop run this in a thread.
    """
    too_big = size_problem(snippet)
    if too_big is not None:
        return [too_big]
    problems: list[str] = []
    name = snippet.identifier
    if not _NAME.match(name) or keyword.iskeyword(name):
        problems.append(
            f"name {name!r} must be a lower-case Python identifier (e.g. monthly_report)"
        )
    elif name == PLAN_NAMESPACE and not snippet.by_plan:
        problems.append(
            f"name {name!r} is reserved: `snippets.{PLAN_NAMESPACE}` holds the snippets plans saved"
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
            namespace=PLAN_NAMESPACE if snippet.by_plan else None,
            identifier=snippet.identifier,
            description=snippet.description or "A saved plan.",
            input_schema=snippet.parameters,
            output_schema=None,
        )
    return renderer.render()


def new_snippet(
    name: str,
    code: str,
    description: str,
    parameters: Mapping[str, Any] | None,
    *,
    by_plan: bool = False,
) -> Snippet:
    """A snippet to validate and save; a plan's goes into `snippets.plans`."""
    return Snippet(
        name=f"{PLAN_NAMESPACE}.{name}" if by_plan else name,
        code=code,
        description=description,
        parameters=snippet_schema(parameters),
        created_at=time.time(),
    )


def usable_snippets(stored: Iterable[Snippet]) -> dict[str, Snippet]:
    """The stored snippets plans may see: the developer's first (by name), then the plans'
    (newest first), each within `MAX_SNIPPET_CHARS`, at most `MAX_SNIPPETS` in all.

    A store may hold more than that (saved before these limits, or written by other code):
    what is left out is logged, and every plan still runs."""
    ordered = sorted(stored, key=lambda s: (s.by_plan, -s.created_at if s.by_plan else 0, s.name))
    usable: dict[str, Snippet] = {}
    for snippet in ordered:
        why = "too big" if size_problem(snippet) is not None else None
        if why is None and len(usable) >= MAX_SNIPPETS:
            why = f"more than {MAX_SNIPPETS} snippets"
        if why is None:
            usable[snippet.name] = snippet
        elif (snippet.name, snippet.created_at) not in _left_out:  # once, not every run
            _left_out.add((snippet.name, snippet.created_at))
            log.warning("codemode: snippet %r is left out of plans (%s)", snippet.name, why)
    return usable


_left_out: set[tuple[str, float]] = set()
"""Snippets already reported as left out (a durable store is re-read before every run)."""


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
