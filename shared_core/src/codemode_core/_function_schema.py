"""Derive a tool's schemas and argument binder from a typed Python function.

pydantic builds the input schema from the parameters' type hints (models, TypedDicts,
dataclasses, enums, `Annotated[..., Field(...)]`) and validates calls (fast, and it converts
arguments to the types the function declares); `docstring_parser` supplies parameter
descriptions from Google, NumPy or Sphinx docstrings. Titles pydantic adds are dropped: they
cost tokens in every stub and say nothing the name does not.
"""

from __future__ import annotations

import functools
import inspect
import re
import reprlib
import typing
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import docstring_parser
import pydantic
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from codemode_core._typeddict import pydantic_ready
from codemode_core.errors import ConfigurationError, ToolError

__all__ = [
    "FunctionSchema",
    "UnsupportedReturnType",
    "describe_errors",
    "function_schema",
    "output_schema_for",
]

_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")


@dataclass(frozen=True, slots=True)
class FunctionSchema:
    """Everything `Tool.from_function` needs from a function."""

    name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    binder: Callable[[dict[str, Any]], dict[str, Any]]


def function_schema(
    fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> FunctionSchema:
    """Schemas and a validating binder for `fn` (see the module docstring)."""
    target = _documented_target(fn)
    tool_name = name or _default_name(fn)
    doc = docstring_parser.parse(_own_doc(fn, target))
    try:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(target, include_extras=True)
        hints = {key: pydantic_ready(hint) for key, hint in hints.items()}
    except (TypeError, ValueError, NameError) as exc:
        raise ConfigurationError(f"cannot read the signature of {tool_name!r}: {exc}") from exc

    param_docs = {p.arg_name: p.description for p in doc.params if p.description}
    fields: dict[str, Any] = {}
    accepts_extra = False
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            raise ConfigurationError(
                f"tool {tool_name!r} takes *{parameter.name}; tools are called with keyword "
                "arguments only. Replace it with a list parameter."
            )
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise ConfigurationError(
                f"tool {tool_name!r} has positional-only parameter {parameter.name!r}; tools are "
                "called with keyword arguments. Wrap it in a function with normal parameters."
            )
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            accepts_extra = True
            continue
        annotation = hints.get(parameter.name, Any)
        doc_text = param_docs.get(parameter.name)
        if doc_text and not _has_description(annotation):
            annotation = Annotated[annotation, Field(description=doc_text)]
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (annotation, default)

    config = ConfigDict(
        extra="allow" if accepts_extra else "forbid",
        protected_namespaces=(),
        arbitrary_types_allowed=False,
    )
    try:
        model = pydantic.create_model(f"{_camel(tool_name)}Arguments", __config__=config, **fields)
        input_schema = _strip_titles(model.model_json_schema())
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError, TypeError) as exc:
        raise ConfigurationError(
            f"tool {tool_name!r}: a parameter's type has no JSON Schema ({exc}). Use JSON-like "
            "types (str, int, list, dict, TypedDict, pydantic models, dataclasses, enums)."
        ) from exc
    input_schema.pop("description", None)

    text = description if description is not None else _doc_description(doc)
    return FunctionSchema(
        name=tool_name,
        description=text,
        input_schema=input_schema,
        output_schema=_output_schema(hints.get("return", inspect.Signature.empty), doc),
        binder=_Binder(model, tuple(fields), tool_name),
    )


class _Binder:
    """Validates a call's keyword arguments with the function's pydantic model."""

    __slots__ = ("_fields", "_tool", "_validate")

    def __init__(self, model: type[pydantic.BaseModel], fields: tuple[str, ...], tool: str) -> None:
        self._fields = fields
        self._tool = tool
        # The core validator directly: this runs on every tool call.
        self._validate = model.__pydantic_validator__.validate_python

    def __call__(self, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            instance = self._validate(arguments)
        except ValidationError as exc:
            raise ToolError(describe_errors(exc, self._fields), tool=self._tool) from None
        values = dict(instance.__dict__)  # field values, already converted (models, enums...)
        extra = instance.__pydantic_extra__
        if extra:
            values.update(extra)
        return values


def describe_errors(exc: ValidationError, fields: tuple[str, ...]) -> str:
    problems = []
    unexpected = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"])
        if error["type"] == "missing":
            problems.append(f"missing required argument '{loc}'")
        elif error["type"] == "extra_forbidden":
            unexpected.append(loc)
        else:
            problems.append(f"'{loc}': {error['msg']} (got {_short.repr(error.get('input'))})")
    if unexpected:
        accepted = ", ".join(fields) or "none"
        problems.append(f"unexpected argument(s) {', '.join(unexpected)}; accepted: {accepted}")
    return "invalid arguments: " + "; ".join(problems[:6])


def output_schema_for(annotation: Any) -> dict[str, Any] | None:
    """JSON Schema of a return annotation, titles stripped; None when absent or not describable."""
    if annotation is inspect.Signature.empty or annotation in (None, type(None), Any):
        return None
    try:
        schema: dict[str, Any] = _strip_titles(
            TypeAdapter(pydantic_ready(annotation)).json_schema(mode="serialization")
        )
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError, TypeError) as exc:
        warnings.warn(  # the stub will say `-> Any`: never drop a type without saying so
            f"the return type {annotation!r} has no JSON Schema, so the stub shows `-> Any` "
            f"({str(exc).splitlines()[0]}). Use JSON-like types (TypedDict, pydantic models, "
            "dataclasses, lists, dicts, str, int, ...).",
            UnsupportedReturnType,
            stacklevel=2,
        )
        return None
    return schema


class UnsupportedReturnType(UserWarning):
    """A tool's return annotation has no JSON Schema: its stub says `-> Any`."""


def _output_schema(annotation: Any, doc: docstring_parser.Docstring) -> dict[str, Any] | None:
    schema = output_schema_for(annotation)
    if schema is None:
        return None
    if doc.returns is not None and doc.returns.description and "description" not in schema:
        schema["description"] = doc.returns.description
    return schema


def _strip_titles(schema: Any) -> Any:
    """Remove pydantic's `title` keywords (not properties that happen to be named title)."""
    if isinstance(schema, dict):
        cleaned = {}
        for key, value in schema.items():
            if key == "title" and isinstance(value, str):
                continue
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                cleaned[key] = {k: _strip_titles(v) for k, v in value.items()}
            else:
                cleaned[key] = _strip_titles(value)
        return cleaned
    if isinstance(schema, list):
        return [_strip_titles(item) for item in schema]
    return schema


def _has_description(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        return any(isinstance(m, FieldInfo) and m.description for m in annotation.__metadata__)
    return False


def _doc_description(doc: docstring_parser.Docstring) -> str:
    parts = [doc.short_description, doc.long_description]
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def _own_doc(fn: Callable[..., Any], target: Callable[..., Any]) -> str:
    """The docstring the tool's author wrote, or "".

    Never one Python supplies: an undocumented function must not be described to the model
    as `types.FunctionType` ("Create a function object…"), nor a callable object by
    `object`'s docstring. A callable object falls back to its own class's docstring only.
    """
    own = getattr(target, "__doc__", None) if _is_own_doc(target) else None
    callable_object = not (
        inspect.isroutine(fn) or inspect.isclass(fn) or isinstance(fn, functools.partial)
    )
    if not own and callable_object:
        own = type(fn).__dict__.get("__doc__")
    return inspect.cleandoc(own) if isinstance(own, str) else ""


def _is_own_doc(target: Any) -> bool:
    """Whether `target.__doc__` was written for it (not inherited from a base class)."""
    if inspect.isclass(target):
        return isinstance(target.__dict__.get("__doc__"), str)
    return True


def _documented_target(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Where the docstring and type hints live: the wrapped function, or `__call__`."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.isroutine(fn) or inspect.isclass(fn):
        return fn
    call = getattr(type(fn), "__call__", None)  # noqa: B004 - a callable object's method
    return typing.cast(Callable[..., Any], call) if call is not None else fn


def _default_name(fn: Callable[..., Any]) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    name = getattr(fn, "__name__", None)
    if isinstance(name, str) and name != "<lambda>":
        return name
    if name == "<lambda>":
        raise ConfigurationError("a lambda has no name: pass name= to Tool.from_function")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(fn).__name__).lower()


def _camel(name: str) -> str:
    return (
        "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", name)) or "Tool"
    )
