"""JSON Schema → Python type expressions, collecting the named `TypedDict`s they need.

Real-world schemas are messy (`"type": "dict"`, dangling `$ref`s, enums of floats, recursion),
so every construct degrades to `Any` with a short note instead of failing: a stub that says
`Any` still lets the model call the tool; a crash would hide every tool.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from codemode_core._text_analysis import terms
from codemode_core.naming import IdentifierAllocator
from codemode_core.stubs.prose import describe_marker, shorten, without_otherwise

__all__ = [
    "TypeBuilder",
    "TypeDefinition",
    "TypedField",
    "annotation_words",
    "camel_case",
    "degraded_note",
    "field_note",
    "lift_prose_enum",
    "py_literal",
    "restates",
    "short",
    "split_union",
]

RESERVED_TYPE_NAMES = frozenset(
    {
        "Any",
        "Literal",
        "NotRequired",
        "Required",
        "TypedDict",
        "annotations",
        "tools",
        "list",
        "dict",
        "str",
        "int",
        "float",
        "bool",
        "tuple",
        "object",
        "type",
        "None",
    }
)
_TYPE_ALIASES = {
    "string": "string",
    "str": "string",
    "text": "string",
    "char": "string",
    "integer": "integer",
    "int": "integer",
    "long": "integer",
    "int32": "integer",
    "int64": "integer",
    "number": "number",
    "float": "number",
    "double": "number",
    "decimal": "number",
    "boolean": "boolean",
    "bool": "boolean",
    "object": "object",
    "dict": "object",
    "map": "object",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "null": "null",
    "none": "null",
    "any": "any",
}
_SCALARS = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "null": "None",
    "any": "Any",
}
_MAX_COMMENT = 200
_MAX_DEPTH = 40
_WORD = re.compile(r"[A-Za-z0-9]+")


def camel_case(name: str) -> str:
    """`get_forecast` → `GetForecast`; keeps existing capitals (`listIssues` → `ListIssues`)."""
    parts = _WORD.findall(name)
    text = "".join(p[:1].upper() + p[1:] for p in parts)
    if not text or text[0].isdigit():
        text = f"T{text}"
    return text


_PROSE_ENUM = re.compile(r"\s*\[Enum\]:\s*(\[[^\]]*\])\.?\s*$")


def lift_prose_enum(schema: Any) -> Any:
    """A string schema whose description ends `[Enum]: ["a", "b"]` (BFCL's convention) as a
    real `enum`, and the list out of its description: the stub says `Literal["a", "b"]`,
    which a type checker can hold a call to, instead of `str` and the list in a comment.
    Arrays of such strings get the enum on their items. Anything else is returned as is."""
    if not isinstance(schema, Mapping) or "enum" in schema:
        return schema
    description = schema.get("description")
    if not isinstance(description, str):
        return schema
    match = _PROSE_ENUM.search(description)
    if match is None:
        return schema
    try:
        values = json.loads(match.group(1))
    except ValueError:
        return schema
    if not values or not all(isinstance(v, str) for v in values):
        return schema
    kind = _TYPE_ALIASES.get(str(schema.get("type", "string")).lower())
    rest = description[: match.start()].strip()
    if kind == "string":
        return {**schema, "enum": values, "description": rest}
    items = schema.get("items")
    if kind != "array" or not isinstance(items, Mapping) or "enum" in items:
        return schema
    if _TYPE_ALIASES.get(str(items.get("type", "string")).lower()) == "string":
        return {**schema, "items": {**items, "enum": values}, "description": rest}
    return schema


def py_literal(value: Any) -> str | None:
    """Source text of a JSON scalar as a Python literal, None when it is not a scalar."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        return repr(value)
    return None


def short(text: Any, limit: int = _MAX_COMMENT) -> str:
    """One line, at most `limit` characters, safe inside a comment."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class TypedField:
    """One key of a `TypedDict`: its type, whether it must be present, and its note."""

    key: str
    annotation: str
    required: bool
    note: str
    """What the comment says in the description (long prose shortened, with a marker)."""
    full_note: str = ""
    """The whole note, for `codemode.describe` (empty when `note` is already whole)."""


@dataclass(slots=True)
class TypeDefinition:
    """A named type of the stub file and the names its text refers to."""

    name: str
    text: str = ""
    depends_on: set[str] = field(default_factory=set)
    fields: tuple[TypedField, ...] = ()
    """For `TypedDict`s: the keys, so a rendering can say a repeated note only once."""
    doc: str = ""

    def render(self, said: set[tuple[str, str]] | None = None, *, full: bool = False) -> str:
        """The definition's source; notes already in `said` (key, note) are left out.

        A catalog repeats fields (`fuelLevel  # in gallons` in five result types): the model
        reads each fact once, in the first type that has it. `said` is updated. `full` renders
        every note whole (what `codemode.describe` shows).
        """
        if not self.fields:
            return self.text
        fields = self.fields
        if full:
            fields = tuple(
                TypedField(f.key, f.annotation, f.required, f.full_note or f.note) for f in fields
            )
        if said is not None:
            kept = []
            for f in fields:
                if f.note and (f.key, f.note) in said:
                    f = TypedField(f.key, f.annotation, f.required, "")
                elif f.note:
                    said.add((f.key, f.note))
                kept.append(f)
            fields = tuple(kept)
        return _render_typed_dict(self.name, self.doc, fields)


class _Context:
    """Per-document state: the root schema (for `$ref`) and refs being built (recursion)."""

    def __init__(self, root: Mapping[str, Any], context: str = "") -> None:
        self.root = root
        self.context = context
        """Text the model reads next to this schema (the tool's name and description)."""
        self.in_progress: dict[str, str] = {}


class TypeBuilder:
    """Builds type expressions for many schemas, sharing one namespace of type names."""

    def __init__(self) -> None:
        self.definitions: dict[str, TypeDefinition] = {}
        self._names = IdentifierAllocator(RESERVED_TYPE_NAMES)
        self._by_structure: dict[str, str] = {}
        self._refs: dict[tuple[int, str], str] = {}
        self._deps_stack: list[set[str]] = []

    # Public entry --------------------------------------------------------------------

    def expression(
        self, schema: Any, root: Mapping[str, Any] | None, hint: str, context: str = ""
    ) -> tuple[str, set[str]]:
        """The type expression for `schema` and the named types it uses.

        `context` is text the model reads with the type (the tool's name and description): a
        field note made only of its words and the key's says nothing new and is left out.
        """
        deps: set[str] = set()
        self._deps_stack.append(deps)
        try:
            ctx = _Context(root if isinstance(root, Mapping) else {}, context)
            text = self._expr(schema, ctx, hint, 0)
        finally:
            self._deps_stack.pop()
        return text, deps

    # Dispatch --------------------------------------------------------------------------

    def _use(self, name: str) -> str:
        if self._deps_stack:
            self._deps_stack[-1].add(name)
        return name

    def _expr(self, schema: Any, ctx: _Context, hint: str, depth: int) -> str:
        if depth > _MAX_DEPTH:
            return "Any"
        if schema is True or schema == {}:
            return "Any"
        if not isinstance(schema, Mapping):
            return "Any"
        if isinstance(schema.get("$ref"), str):
            base = self._ref(schema["$ref"], ctx, depth)
            return self._nullable(base, schema)
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                parts = [self._expr(o, ctx, f"{hint}Option", depth + 1) for o in options]
                return self._nullable(_union(parts), schema)
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            return self._nullable(self._all_of(schema, ctx, hint, depth), schema)
        if "const" in schema and py_literal(schema["const"]) is not None:
            return self._nullable(f"Literal[{py_literal(schema['const'])}]", schema)
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self._nullable(self._enum(schema), schema)
        types = schema.get("type")
        if isinstance(types, list):
            parts = [self._typed(dict(schema, type=t), ctx, hint, depth) for t in types]
            return self._nullable(_union(parts), schema)
        return self._nullable(self._typed(schema, ctx, hint, depth), schema)

    def _typed(self, schema: Mapping[str, Any], ctx: _Context, hint: str, depth: int) -> str:
        raw = schema.get("type")
        if raw is None:
            if isinstance(schema.get("properties"), Mapping):
                raw = "object"
            elif "items" in schema or "prefixItems" in schema:
                raw = "array"
            else:
                return "Any"
        kind = _TYPE_ALIASES.get(str(raw).lower()) if isinstance(raw, str) else None
        if kind is None:
            return "Any"
        if kind == "object":
            return self._object(schema, ctx, hint, depth)
        if kind == "array":
            return self._array(schema, ctx, hint, depth)
        return _SCALARS[kind]

    # Constructs ------------------------------------------------------------------------

    def _nullable(self, text: str, schema: Mapping[str, Any]) -> str:
        if schema.get("nullable") is True and "None" not in split_union(text) and text != "Any":
            return f"{text} | None"
        return text

    def _enum(self, schema: Mapping[str, Any]) -> str:
        values = schema["enum"]
        literals = [py_literal(v) for v in values if not isinstance(v, float)]
        if len(literals) != len(values) or any(v is None for v in literals):
            base = self._typed(
                {k: v for k, v in schema.items() if k != "enum"}, _Context({}), "Enum", 0
            )
            return base
        # Every value, however many: a model cannot guess the 61st airport code, and a
        # `Literal` keeps calls type-checkable. Enumerations are never cut.
        has_none = "None" in literals
        names = list(dict.fromkeys(v for v in literals if v is not None and v != "None"))
        text = f"Literal[{', '.join(names)}]" if names else "None"
        return f"{text} | None" if has_none and names else text

    def _array(self, schema: Mapping[str, Any], ctx: _Context, hint: str, depth: int) -> str:
        prefix = schema.get("prefixItems")
        items = schema.get("items")
        if isinstance(prefix, list) and prefix:
            parts = [self._expr(p, ctx, f"{hint}Item", depth + 1) for p in prefix]
            return f"tuple[{', '.join(parts)}]"
        if isinstance(items, list):
            if not items:
                return "list[Any]"
            parts = [self._expr(p, ctx, f"{hint}Item", depth + 1) for p in items]
            return f"tuple[{', '.join(parts)}]"
        if items is None or items is True:
            return "list[Any]"
        return f"list[{self._expr(items, ctx, f'{hint}Item', depth + 1)}]"

    def _object(self, schema: Mapping[str, Any], ctx: _Context, hint: str, depth: int) -> str:
        properties = schema.get("properties")
        if not isinstance(properties, Mapping) or not properties:
            extra = schema.get("additionalProperties")
            if isinstance(extra, Mapping) and extra:
                return f"dict[str, {self._expr(extra, ctx, f'{hint}Value', depth + 1)}]"
            return "dict[str, Any]"
        return self._typed_dict(schema, properties, ctx, hint, depth)

    def _all_of(self, schema: Mapping[str, Any], ctx: _Context, hint: str, depth: int) -> str:
        parts = [self._resolve(p, ctx) for p in schema["allOf"]]
        if len(parts) == 1:
            return self._expr(parts[0], ctx, hint, depth + 1)
        if all(isinstance(p, Mapping) and isinstance(p.get("properties"), Mapping) for p in parts):
            merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
            for part in parts:
                merged["properties"].update(part["properties"])
                merged["required"].extend(r for r in part.get("required", []) if isinstance(r, str))
            extra = {k: v for k, v in schema.items() if k != "allOf"}
            merged["properties"].update(extra.get("properties", {}))
            return self._expr(merged, ctx, hint, depth + 1)
        return self._expr(parts[0], ctx, hint, depth + 1)

    def _resolve(self, schema: Any, ctx: _Context) -> Any:
        """Follow one `$ref` (for `allOf` merging); unresolvable refs stay as they are."""
        if isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
            target = _pointer(ctx.root, schema["$ref"])
            if target is not None:
                return target
        return schema

    def _ref(self, ref: str, ctx: _Context, depth: int) -> str:
        if ref in ctx.in_progress:
            return self._use(ctx.in_progress[ref])
        target = _pointer(ctx.root, ref)
        if target is None:
            return "Any"
        # Keyed by the schema object referred to, so documents that share their definitions
        # (an OpenAPI spec's `components`, passed to every operation) share the named type.
        key = (id(target), ref)
        if key in self._refs:
            return self._use(self._refs[key])
        name_hint = camel_case(ref.rsplit("/", 1)[-1]) or "Ref"
        if isinstance(target, Mapping) and _is_object(target):
            structure = _structure_key(target)
            if structure is not None and structure in self._by_structure:
                self._refs[key] = self._by_structure[structure]  # the same type, met inline
                return self._use(self._refs[key])
            name = self._names.allocate(name_hint, fallback="Type")
            ctx.in_progress[ref] = name
            self._refs[key] = name
            definition = self._define_typed_dict(name, target, target["properties"], ctx, depth)
            del ctx.in_progress[ref]
            self.definitions[name] = definition
            if structure is not None:
                self._by_structure[structure] = name
            return self._use(name)
        return self._expr(target, ctx, name_hint, depth + 1)

    # TypedDicts ------------------------------------------------------------------------

    def _typed_dict(
        self,
        schema: Mapping[str, Any],
        properties: Mapping[str, Any],
        ctx: _Context,
        hint: str,
        depth: int,
    ) -> str:
        structure = _structure_key(schema)
        if structure is not None and structure in self._by_structure:
            return self._use(self._by_structure[structure])
        name = self._names.allocate(_type_name(schema, hint, self._names), fallback="Type")
        definition = self._define_typed_dict(name, schema, properties, ctx, depth)
        self.definitions[name] = definition
        if structure is not None:
            self._by_structure[structure] = name
        return self._use(name)

    def _define_typed_dict(
        self,
        name: str,
        schema: Mapping[str, Any],
        properties: Mapping[str, Any],
        ctx: _Context,
        depth: int,
    ) -> TypeDefinition:
        definition = TypeDefinition(name)
        self.definitions.setdefault(name, definition)  # visible to recursive references
        deps: set[str] = set()
        self._deps_stack.append(deps)
        try:
            required = schema.get("required")
            required_keys = set(required) if isinstance(required, list) else set()
            fields: list[TypedField] = []
            for key, prop in properties.items():
                prop = lift_prose_enum(prop)
                hint = f"{name}{_NESTED}{camel_case(str(key))}"
                text = self._expr(prop, ctx, hint, depth + 1)
                is_required = key in required_keys
                whole = field_note(
                    prop,
                    text,
                    str(key),
                    optional=not is_required,
                    context=f"{name} {annotation_words(text)} {ctx.context}",
                )
                nested = self.definitions.get(text)
                if nested is not None and nested.doc and nested.doc == whole:
                    nested.doc = ""  # the field's note says it: the type need not say it again
                    nested.text = _render_typed_dict(nested.name, "", nested.fields)
                note, cut = shorten(whole, _MAX_COMMENT)
                if cut:
                    note = f"{note} {describe_marker(name)}"
                fields.append(TypedField(str(key), text, is_required, note, whole if cut else ""))
        finally:
            self._deps_stack.pop()
        deps.discard(name)
        definition.depends_on = deps
        description = schema.get("description")
        if isinstance(description, str):
            definition.doc = shorten(_OPTIONAL_MARK.sub("", description), 400)[0]
        definition.fields = tuple(fields)
        definition.text = _render_typed_dict(name, definition.doc, definition.fields)
        if self._deps_stack:
            self._deps_stack[-1].update(deps)
        return definition


def _render_typed_dict(name: str, doc: str, fields: tuple[TypedField, ...]) -> str:
    """`class X(TypedDict, total=False):` with one line per key (a lone key on the class line).

    Whichever of required/optional keys is rarer is marked (`Required[...]` or
    `NotRequired[...]`), so a result type whose keys are all optional says so once.
    """
    optional = sum(1 for f in fields if not f.required)
    total = optional * 2 <= len(fields)
    base = "TypedDict" if total else "TypedDict, total=False"

    def annotation(f: TypedField) -> str:
        if total and not f.required:
            return f"NotRequired[{f.annotation}]"
        if not total and f.required:
            return f"Required[{f.annotation}]"
        return f.annotation

    if all(f.key.isidentifier() and not keyword.iskeyword(f.key) for f in fields):
        lines = [f"{f.key}: {annotation(f)}" + (f"  # {f.note}" if f.note else "") for f in fields]
        if not doc and len(lines) == 1:
            return f"class {name}({base}): {lines[0]}"
        head = [f"class {name}({base}):"] + ([f"    {_docstring(doc)}"] if doc else [])
        return "\n".join(head + [f"    {line}" for line in lines])
    items = [
        f"        {json.dumps(f.key)}: {json.dumps(annotation(f))},"
        + (f"  # {f.note}" if f.note else "")
        for f in fields
    ]
    return "\n".join(
        [f"{name} = TypedDict(", f"    {json.dumps(name)},", "    {", *items, "    },"]
    ) + ("\n)" if total else "\n    total=False,\n)")


def degraded_note(schema: Any) -> str | None:
    """For a schema that became `Any`: the original, shortened, so nothing is silently lost."""
    if (
        schema is True
        or schema in ({}, None)
        or (isinstance(schema, Mapping) and set(schema) <= {"description", "title", "default"})
    ):
        return None
    try:
        text = json.dumps(schema, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(schema)
    return f"schema: {short(text, 80)}"


def _type_name(schema: Mapping[str, Any], hint: str, taken: IdentifierAllocator) -> str:
    """An object's own `title` (pydantic models, MCP output schemas: `Order`, `TimeResult`) when
    it is free, else the name derived from where the object appears (`GetOrderResult`)."""
    title = schema.get("title")
    if isinstance(title, str):
        name = camel_case(title)
        if name and name.isidentifier() and name not in taken:
            return name
    if _NESTED in hint:
        # A type met inside another is named by its key when that name is free
        # (`TirePressure`, not `CheckTirePressureResultTirePressure`): the field line already
        # says whose it is, and the long name would be read twice per type.
        short = camel_case(hint.rsplit(_NESTED, 1)[1])
        if short.isidentifier() and short not in taken and short not in RESERVED_TYPE_NAMES:
            return short
    return camel_case(hint)


_NESTED = "\x1f"
"""Marks, in a type-name hint, where a nested key's part begins."""


_KIND_WORDS = {
    "list": "list array",
    "tuple": "list array tuple",
    "dict": "dictionary dict object map mapping",
    "str": "string text",
    "int": "integer number",
    "float": "number float",
    "bool": "boolean flag",
}


def annotation_words(annotation: str) -> str:
    """What an annotation already tells a reader, in words: `list[X]` is a list, a
    `TypedDict` (a capitalised name) a dictionary, so "List of …"/"Dictionary of …" adds
    nothing to a note that the line does not say."""
    words = [annotation]
    for member in split_union(annotation):
        head = member.split("[", 1)[0]
        if head in _KIND_WORDS:
            words.append(_KIND_WORDS[head])
        elif head[:1].isupper() and head not in ("Literal", "Any"):
            words.append(_KIND_WORDS["dict"])
    return " ".join(words)


def restates(text: str, key: str, context: str = "") -> bool:
    """Whether a note only restates the key: pydantic titles a field after its name
    (`day_of_week` → "Day Of Week"), and many schemas describe `booking_id` as "The ID of the
    booking" or `card_number` (in `CreditCard`) as "The number of the credit card"."""
    said = set(terms(text))
    return bool(said) and said <= set(terms(f"{key} {context}"))


_OPTIONAL_MARK = re.compile(r"^\s*[\[(]?optional[\])]?[.:,]?\s*", re.IGNORECASE)


def field_note(
    schema: Any, annotation: str = "", key: str = "", *, optional: bool = False, context: str = ""
) -> str:
    """What a comment after a field says: its format and description, nothing the line says.

    Dropped: a title or description that only restates the key (`"The zipcode."` on
    `zipcode`), and an `[Optional]` mark on a key the type already marks optional.
    """
    if not isinstance(schema, Mapping):
        return short(f"schema: {schema!r}") if annotation == "Any" else ""
    notes = []
    fmt = schema.get("format")
    if isinstance(fmt, str):
        notes.append(fmt)
    title = schema.get("title")
    if isinstance(title, str) and restates(title, key):
        title = None
    description = schema.get("description") or title
    if isinstance(description, str) and optional:
        description = _OPTIONAL_MARK.sub("", description)
    if isinstance(description, str) and "bool" in split_union(annotation):
        description = without_otherwise(description)
    if description and not restates(str(description), key, context):
        notes.append(str(description))
    if annotation == "Any":
        original = degraded_note(schema)
        if original:
            notes.append(original)
    return "; ".join(" ".join(str(n).split()) for n in notes)


def _docstring(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', "'''")
    if text.endswith('"'):  # `""""` would end the string one quote early
        text += " "
    return '"""' + text + '"""'


def split_union(text: str) -> list[str]:
    """Top-level members of `A | list[B | C] | None` (brackets respected)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _union(parts: list[str]) -> str:
    flat: list[str] = []
    for part in parts:
        for piece in split_union(part):
            if piece not in flat:
                flat.append(piece)
    if "Any" in flat:
        return "Any"
    if "None" in flat:
        flat = [p for p in flat if p != "None"] + ["None"]
    return " | ".join(flat) if flat else "Any"


def _is_object(schema: Mapping[str, Any]) -> bool:
    properties = schema.get("properties")
    return (
        isinstance(properties, Mapping)
        and bool(properties)
        and not any(k in schema for k in ("anyOf", "oneOf", "allOf", "$ref"))
    )


def _structure_key(schema: Mapping[str, Any]) -> str | None:
    try:
        text = json.dumps(schema, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return None
    return None if "$ref" in text else text


def _pointer(root: Mapping[str, Any], ref: str) -> Any:
    """Resolve a local JSON pointer (`#/$defs/X`); None for remote or broken references."""
    if not ref.startswith("#"):
        return None
    node: Any = root
    for raw in ref[1:].split("/"):
        if raw == "":
            continue
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node
