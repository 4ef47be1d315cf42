"""The neutral tool model every adapter converts its native tools into."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Protocol

__all__ = [
    "ApprovalPredicate",
    "ArgumentBinder",
    "Tool",
    "clean_description",
    "describe_validation_error",
    "output_schema_of",
]


class ArgumentBinder(Protocol):
    """Validates a call's keyword arguments and converts them into what `fn` expects.

    Raises `codemode_core.ToolError` with a message naming the parameter and what was expected.
    `Tool.from_function` supplies a pydantic-backed binder (fast, converts to models); tools
    built from a bare JSON Schema get a jsonschema-backed one.
    """

    def __call__(self, arguments: dict[str, Any], /) -> dict[str, Any]: ...


ApprovalPredicate = Callable[[Mapping[str, Any]], bool]
"""Decides from a call's arguments whether that call needs a human's approval."""


@dataclass(frozen=True, slots=True)
class Tool:
    """A framework-neutral tool: a name, a JSON Schema for its inputs, and a function to call.

    `fn` may be sync or async and is called with keyword arguments that passed validation
    against `input_schema`. `output_schema`, when known, becomes the stub's return type.
    """

    name: str
    """The tool's own name; stubs show a valid Python identifier derived from it."""
    description: str
    """What the tool does, shown to the model as the stub's docstring."""
    input_schema: Mapping[str, Any]
    """JSON Schema of the keyword arguments (an `object` schema)."""
    fn: Callable[..., Any]
    """The implementation, sync or async, called on the host side."""
    output_schema: Mapping[str, Any] | None = None
    """JSON Schema of the result, or None when unknown (the stub then says `Any`)."""
    namespace: str | None = None
    """Groups tools under `tools.<namespace>.` (one per MCP server or OpenAPI service)."""
    requires_approval: bool | ApprovalPredicate = False
    """True, or a predicate over the arguments, when a human must approve the call."""
    _: KW_ONLY
    binder: ArgumentBinder | None = None
    """Custom argument validation/conversion; None means: validate against `input_schema`."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Free-form data for adapters (e.g. the native tool object); never shown to plans."""
    idempotent: bool = False
    """Running the call twice does no more than once (a read, or a keyed write). A call in
    flight when its host process died is then simply run again on takeover; any other such
    call pauses for a human's approval ("in doubt after a crash"). A `read_only` tool is
    always idempotent."""
    read_only: bool = False
    """Calling it changes nothing anywhere: it only reads. Declared, never guessed (MCP's
    `annotations.readOnlyHint` and OpenAPI's GET/HEAD declare it too). Only such tools, when
    they need no approval, may start before the plan is complete (`CodeMode.run_stream`)."""

    def __post_init__(self) -> None:
        if self.read_only and not self.idempotent:  # a read can always run again
            object.__setattr__(self, "idempotent", True)

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        namespace: str | None = None,
        requires_approval: bool | ApprovalPredicate = False,
        idempotent: bool = False,
        read_only: bool = False,
    ) -> Tool:
        """Build a tool from a typed Python function.

        The input schema comes from the parameters' type hints (pydantic models, TypedDicts,
        dataclasses, enums, `Annotated[..., Field(description=...)]`) and the docstring's
        parameter descriptions (Google, NumPy or Sphinx style); the return annotation becomes
        the output schema. Arguments are validated and converted by pydantic before `fn` runs.

        Args:
            fn: A sync or async function or callable.
            name: Overrides the function's `__name__`.
            description: Overrides the docstring's summary.
            namespace: Puts the tool under `tools.<namespace>`.
            requires_approval: True, or a predicate over the arguments.
            idempotent: Safe to run again after a crash (see `Tool.idempotent`).
            read_only: Only reads, so it may start while the plan is still being written
                (see `Tool.read_only`); implies `idempotent`.
        """
        from codemode_core._function_schema import function_schema

        schema = function_schema(fn, name=name, description=description)
        return cls(
            schema.name,
            schema.description,
            schema.input_schema,
            fn,
            schema.output_schema,
            namespace,
            requires_approval,
            binder=schema.binder,
            idempotent=idempotent,
            read_only=read_only,
        )


def output_schema_of(fn: Callable[..., Any]) -> dict[str, Any] | None:
    """JSON Schema of a function's return annotation (None when absent or not describable).

    Adapters use it for native tools that wrap a typed function.
    """
    import inspect
    import typing

    from codemode_core._function_schema import output_schema_for

    try:
        annotation = typing.get_type_hints(fn).get("return", inspect.Signature.empty)
    except (TypeError, NameError):
        return None
    return output_schema_for(annotation)


def describe_validation_error(exc: Any, accepted: list[str]) -> str:
    """A pydantic `ValidationError` as the short, model-facing message tools report."""
    from codemode_core._function_schema import describe_errors

    return describe_errors(exc, tuple(accepted))


def clean_description(text: str | None) -> str:
    """A native tool's description as a docstring reads: `inspect.cleandoc`, so the lines
    after the first lose the indentation they had in the source (`@tool` without
    `parse_docstring`, LlamaIndex's `FunctionTool` keep it), and the model reads an `Args:`
    block at the stub's own indentation."""
    import inspect

    return inspect.cleandoc(text or "")
