"""Render tools as a Python stub module: what the model reads instead of JSON tool schemas.

The stub is valid Python that call sites type-check against: `TypedDict`s for structured
values, then `class tools:` holding one `async def` per tool (nested classes per namespace),
called on the class itself, so `await tools.x(...)` in a plan type-checks against it (a checker
objects to the methods' missing `self` in the stub; only errors in the plan matter). The same
pass yields each tool's `ToolSignature`, which dispatch uses to map positional arguments and
identifiers back to the tool's own parameter names: what the model saw is exactly what gets called.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from codemode_core.naming import IdentifierAllocator
from codemode_core.stubs.preamble import display_preamble
from codemode_core.stubs.prose import (
    describe_marker,
    shorten,
    without_default_sentence,
    without_otherwise,
)
from codemode_core.stubs.schema import (
    TypeBuilder,
    annotation_words,
    camel_case,
    degraded_note,
    lift_prose_enum,
    py_literal,
    restates,
    short,
    split_union,
)

__all__ = ["StubParameter", "StubRenderer", "ToolSignature"]

_MAX_DESCRIPTION = 1200
_MAX_PARAMETER = 300
_MAX_DEFAULT = 40
_TYPING_NAMES = ("Any", "Literal", "NotRequired", "Required", "TypedDict")
_RESERVED_PARAMS = frozenset({"self", "cls", "kwargs", "args"})


@dataclass(frozen=True, slots=True)
class StubParameter:
    """One parameter as the stub shows it, and the schema key it stands for."""

    identifier: str
    """The Python name shown in the stub."""
    key: str
    """The original JSON property name (what the tool receives)."""
    annotation: str
    required: bool
    default: str | None
    """Source text of the default shown in the stub; None for required parameters."""
    description: str | None
    """The whole note (format, description, ...); the stub shortens only long prose."""


@dataclass(frozen=True, slots=True)
class ToolSignature:
    """How one tool appears in the stubs."""

    qualified_name: str
    """`tools.get_forecast` or `tools.github.list_issues`."""
    identifier: str
    parameters: tuple[StubParameter, ...]
    """In stub order: required first, then optional, each in declared order."""
    var_keyword: bool
    """True when the schema had no usable properties and the stub says `(**kwargs: Any)`."""
    return_annotation: str
    text: str
    """One-line signature for search results."""
    summary: str
    """The first sentence of the tool's own description (after its namespace's preamble)."""
    preamble: str = ""
    """Leading text this tool shares with others of its namespace, said once for all."""


@dataclass(slots=True)
class _RenderedTool:
    signature: ToolSignature
    namespace: str | None
    description: str
    """The tool's own description, without the preamble."""
    uses: set[str]


class StubRenderer:
    """Accumulates tools, assigns type names, renders stub source (deterministically)."""

    def __init__(self, root: str = "tools") -> None:
        self.root = root
        self._types = TypeBuilder()
        self._tools: dict[str, _RenderedTool] = {}
        self._namespaces: list[str] = []

    def add_tool(
        self,
        *,
        namespace: str | None,
        identifier: str,
        description: str,
        input_schema: Mapping[str, Any],
        output_schema: Mapping[str, Any] | None,
        preamble: str = "",
    ) -> ToolSignature:
        """Add one tool; `namespace` and `identifier` are already valid unique identifiers.

        `preamble` is the start of `description` that the tool shares with others of its
        namespace (see `shared_preambles`): the stubs say it once, for the whole group.
        """
        qualified = (
            f"{self.root}.{namespace}.{identifier}" if namespace else f"{self.root}.{identifier}"
        )
        hint = camel_case(identifier)
        description = str(description or "")
        if not preamble or not description.startswith(preamble):
            preamble = ""
        own = description[len(preamble) :].strip()
        # What the model reads next to every note of this tool: a note made only of these
        # words (and its key's) says nothing new ("number: The number to calculate the
        # absolute value of." under "Calculate the absolute value of a number.").
        context = f"{identifier} {shorten(own, _MAX_DESCRIPTION)[0]}"
        uses: set[str] = set()
        parameters, var_keyword = self._parameters(input_schema, hint, uses, context)
        returns = "Any"
        if isinstance(output_schema, Mapping) and output_schema:
            returns, deps = self._types.expression(
                output_schema, output_schema, f"{hint}Result", context
            )
            uses |= deps
        params_text = _params_text(parameters, var_keyword)
        signature = ToolSignature(
            qualified_name=qualified,
            identifier=identifier,
            parameters=tuple(parameters),
            var_keyword=var_keyword,
            return_annotation=returns,
            text=f"{identifier}({params_text}) -> {returns}",
            summary=_summary(own),
            preamble=preamble,
        )
        self._tools[qualified] = _RenderedTool(signature, namespace, own, uses)
        if namespace and namespace not in self._namespaces:
            self._namespaces.append(namespace)
        return signature

    def _parameters(
        self, schema: Mapping[str, Any], hint: str, uses: set[str], context: str
    ) -> tuple[list[StubParameter], bool]:
        properties = schema.get("properties") if isinstance(schema, Mapping) else None
        if isinstance(properties, Mapping) and not properties:
            # An explicit empty parameter list: `()`, unless extra keywords are allowed.
            extra = schema.get("additionalProperties")
            return [], bool(extra) and extra is not False
        if not isinstance(properties, Mapping):
            return [], True
        required_raw = schema.get("required")
        required = set(required_raw) if isinstance(required_raw, list) else set()
        names = IdentifierAllocator(_RESERVED_PARAMS)
        ordered = [k for k in properties if k in required] + [
            k for k in properties if k not in required
        ]
        parameters = []
        for key in ordered:
            prop = lift_prose_enum(properties[key])
            annotation, deps = self._types.expression(prop, schema, f"{hint}{camel_case(str(key))}")
            uses |= deps
            is_required = key in required
            default = None
            contradiction = None
            if not is_required:
                default = _default_text(prop)
                if default == "None":
                    if "None" not in split_union(annotation) and annotation != "Any":
                        annotation = f"{annotation} | None"
                elif default != "..." and not _default_fits(annotation, prop["default"]):
                    # Real schemas contradict themselves (`"default": "any"` outside the enum):
                    # keep the stub well-typed and say what the tool really defaults to.
                    contradiction = f"default: {default}"
                    default = "..."
            description = prop.get("description") if isinstance(prop, Mapping) else None
            if isinstance(description, str):
                description = _plain_note(description, annotation, default)
            if isinstance(description, str) and restates(
                description, str(key), f"{annotation_words(annotation)} {context}"
            ):
                description = None  # "The name of the city." on `city`: the name says it
            fmt = prop.get("format") if isinstance(prop, Mapping) else None
            original = degraded_note(prop) if annotation.startswith("Any") else None
            parts = (fmt, description, original, contradiction)
            note = "; ".join(str(p) for p in parts if p) or None
            parameters.append(
                StubParameter(
                    identifier=names.allocate(str(key), fallback="arg"),
                    key=str(key),
                    annotation=annotation,
                    required=is_required,
                    default=default,
                    description=" ".join(note.split()) if note else None,
                )
            )
        return parameters, False

    # Rendering ---------------------------------------------------------------------------

    def render(self, *, only: Collection[str] | None = None, full: bool = False) -> str:
        """The stub module, or (with `only`) the selected tools/namespaces and their types.

        `full` renders every text whole (what `codemode.describe` returns); otherwise long
        prose is shortened with a marker pointing there.
        """
        tools = [t for q, t in self._tools.items() if only is None or _selected(q, only, self.root)]
        type_names = self._closure(set().union(*(t.uses for t in tools)) if tools else set())
        said: set[tuple[str, str]] = set()
        order, forward = self._dependency_order(type_names)
        body = [self._types.definitions[name].render(said, full=full) for name in order]
        body.append(self._tools_class(tools, full))
        text = "\n\n\n".join(body)
        return _header(text, forward=forward) + text + "\n"

    def _dependency_order(self, names: set[str]) -> tuple[list[str], bool]:
        """`names` with each type after the types it uses (else first-seen order), and whether
        a reference still points forward (a recursive type): only then does the stub need
        `from __future__ import annotations`, seven tokens a model gains nothing from."""
        order: list[str] = []
        placed: set[str] = set()
        visiting: set[str] = set()
        forward = False

        def place(name: str) -> None:
            nonlocal forward
            if name in placed:
                return
            if name in visiting:
                forward = True
                return
            visiting.add(name)
            definition = self._types.definitions[name]
            mention = re.compile(rf"\b{re.escape(name)}\b")
            forward = forward or any(mention.search(f.annotation) for f in definition.fields)
            for dependency in sorted(definition.depends_on & names):
                place(dependency)
            visiting.discard(name)
            placed.add(name)
            order.append(name)

        for name in self._types.definitions:
            if name in names:
                place(name)
        return order, forward

    def render_type(self, name: str) -> str | None:
        """One named type's definition, whole (for `codemode.describe("Forecast")`)."""
        definition = self._types.definitions.get(name)
        return definition.render(full=True) if definition is not None else None

    def type_names(self) -> list[str]:
        return list(self._types.definitions)

    def _closure(self, names: set[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name in seen or name not in self._types.definitions:
                continue
            seen.add(name)
            stack.extend(self._types.definitions[name].depends_on)
        return seen

    def _tools_class(self, tools: list[_RenderedTool], full: bool) -> str:
        lines = [f"class {self.root}:"]
        said: set[tuple[str, str]] = set()
        lines.extend(self._members([t for t in tools if t.namespace is None], None, 1, full, said))
        for namespace in self._namespaces:
            members = [t for t in tools if t.namespace == namespace]
            if not members:
                continue
            lines.append(f"    class {namespace}:")
            lines.extend(self._members(members, namespace, 2, full, said))
        if len(lines) == 1:
            lines.append('    """No tools."""')
        return "\n".join(lines)

    def _members(
        self,
        tools: list[_RenderedTool],
        namespace: str | None,
        level: int,
        full: bool,
        said: set[tuple[str, str]],
    ) -> list[str]:
        """A namespace's tools, each group's shared preamble said once.

        When every tool of the namespace shares one preamble it is the namespace's docstring;
        otherwise a comment before the group names the tools it belongs to. A group only
        partly rendered (`describe` of one tool) keeps the preamble in each docstring.
        """
        everyone = [t for t in self._tools.values() if t.namespace == namespace]
        groups: dict[str, list[_RenderedTool]] = {}
        for tool in tools:
            groups.setdefault(tool.signature.preamble, []).append(tool)
        pad = "    " * level
        lines: list[str] = []
        for preamble, members in groups.items():
            whole_group = preamble and len(members) == sum(
                1 for t in everyone if t.signature.preamble == preamble
            )
            if not whole_group:
                lines.extend(
                    _indent(_tool_source(t, full, said, inline=True), level) for t in members
                )
                continue
            shared = display_preamble(preamble)
            if len(groups) == 1 and len(members) == len(everyone):
                lines.insert(0, pad + _docstring(shared))
            else:
                names = members[0].signature.identifier
                if len(members) > 1:
                    names += f" … {members[-1].signature.identifier}"
                lines.append(f"{pad}# {names} ({len(members)} tools): {shared}")
            lines.extend(_indent(_tool_source(t, full, said, inline=False), level) for t in members)
        return lines


def _selected(qualified: str, only: Collection[str], root: str) -> bool:
    return any(
        qualified == name or qualified.startswith(f"{name}.") or name == root for name in only
    )


def _header(body: str, *, forward: bool) -> str:
    used = [name for name in _TYPING_NAMES if re.search(rf"\b{name}\b", body)]
    lines = ["from __future__ import annotations", ""] if forward else []
    if used:
        lines.append(f"from typing import {', '.join(used)}")
        lines.append("")
    return "\n".join(lines) + "\n\n" if lines else ""


def _indent(text: str, level: int) -> str:
    pad = "    " * level
    return "\n".join(pad + line if line else line for line in text.splitlines())


def _summary(description: str) -> str:
    text = " ".join(str(description or "").split())
    match = re.search(r"(?<=[.!?])\s", text)
    first = text[: match.start()] if match else text
    return short(first, 120)


def _plain_note(description: str, annotation: str, default: str | None) -> str:
    """A parameter's note without what its signature already says: the default it shows,
    and a boolean's "False otherwise"."""
    if default is not None and default != "...":
        description = without_default_sentence(description, default)
    if "bool" in split_union(annotation):
        description = without_otherwise(description)
    return description


def _default_text(schema: Any) -> str:
    if isinstance(schema, Mapping) and "default" in schema:
        literal = py_literal(schema["default"])
        if literal is None:
            literal = repr(schema["default"])
        return literal if len(literal) <= _MAX_DEFAULT else "..."
    return "None"


def _default_fits(annotation: str, value: Any) -> bool:
    """Whether a JSON default is a valid value of the rendered annotation."""
    for member in split_union(annotation):
        if member == "Any" or (member == "None" and value is None):
            return True
        if member == "str" and isinstance(value, str):
            return True
        if member == "bool" and isinstance(value, bool):
            return True
        if member == "int" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if member == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        literal = py_literal(value)
        if member.startswith("Literal[") and literal in _literal_values(member):
            return True
        if member.startswith(("list[", "tuple[")) and isinstance(value, list):
            return True
        if (member.startswith("dict[") or member[:1].isupper()) and isinstance(value, dict):
            return True
    return False


def _literal_values(member: str) -> set[str]:
    try:
        node = ast.parse(member, mode="eval").body
    except SyntaxError:
        return set()
    if not isinstance(node, ast.Subscript):
        return set()
    elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    return {ast.unparse(element) for element in elements}


def _params_text(parameters: list[StubParameter], var_keyword: bool) -> str:
    if var_keyword:
        return "**kwargs: Any"
    parts = []
    for param in parameters:
        part = f"{param.identifier}: {param.annotation}"
        if param.default is not None:
            part += f" = {param.default}"
        parts.append(part)
    return ", ".join(parts)


def _tool_source(
    tool: _RenderedTool, full: bool, said: set[tuple[str, str]], *, inline: bool
) -> str:
    signature = tool.signature
    params = _params_text(list(signature.parameters), signature.var_keyword)
    description = tool.description
    if inline and signature.preamble:
        description = f"{signature.preamble.strip()} {description}"
    doc = _tool_docstring(description, signature, full, said)
    # No `@staticmethod`: a plan calls `tools.x(...)` on the class itself, where a plain
    # function is what a type checker sees too (it flags the stub's definitions, not the
    # calls), and the decorator would cost four tokens per tool.
    return "\n".join(
        [
            f"async def {signature.identifier}({params}) -> {signature.return_annotation}:",
            *("    " + line if line else "" for line in doc.splitlines()),
        ]
    )


def _tool_docstring(
    description: str, signature: ToolSignature, full: bool, said: set[tuple[str, str]]
) -> str:
    """The description and one line per documented parameter; long prose shortened (never
    enumerations) unless `full`. A parameter note already given to an earlier tool of the
    same rendering (`access_token: The access token obtained from …` on six travel tools) is
    said once, where the model first reads it; `said` collects them."""
    text = description.strip()
    cut = False
    if not full and len(text) > _MAX_DESCRIPTION:
        text, cut = shorten(text, _MAX_DESCRIPTION)
    args = []
    for param in signature.parameters:
        if not param.description or (param.identifier, param.description) in said:
            continue
        said.add((param.identifier, param.description))
        note = param.description
        if not full:
            note, shortened = shorten(note, _MAX_PARAMETER)
            cut = cut or shortened
        args.append(f"{param.identifier}: {note}")
    if cut:
        text = f"{text} {describe_marker(signature.qualified_name)}"
    # One line per documented parameter, right under the description: the signature just
    # above names them, so an `Args:` heading and a closing line would only cost tokens.
    lines = [text or "No description.", *args]
    return _docstring("\n".join(lines))


def _docstring(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', "'''")
    if text.endswith('"'):
        text += " "
    return f'"""{text}"""'
