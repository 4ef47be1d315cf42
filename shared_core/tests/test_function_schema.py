"""`Tool.from_function`: schemas from type hints and docstrings, and a validating binder."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
from typing import Annotated, Any, Literal, NotRequired

import pydantic
import pytest
from pydantic import Field
from typing_extensions import TypedDict

from codemode_core import ConfigurationError, Tool, ToolError


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(pydantic.BaseModel):
    street: str
    zip_code: str = Field(description="Postal code")


class Filters(TypedDict):
    status: str
    limit: NotRequired[int]


@dataclasses.dataclass
class Window:
    start: datetime.date
    days: int = 7


def test_google_docstring_and_simple_types() -> None:
    def get_forecast(city: str, days: int = 1, units: Literal["c", "f"] = "c") -> list[float]:
        """Daily forecast for a city.

        Uses the national weather service.

        Args:
            city: City name, e.g. "Oslo".
            days: How many days ahead.

        Returns:
            Temperatures, one per day.
        """
        return [1.0] * days

    tool = Tool.from_function(get_forecast)
    assert tool.name == "get_forecast"
    assert tool.description == "Daily forecast for a city.\n\nUses the national weather service."
    assert tool.input_schema == {
        "additionalProperties": False,
        "properties": {
            "city": {"description": 'City name, e.g. "Oslo".', "type": "string"},
            "days": {"default": 1, "description": "How many days ahead.", "type": "integer"},
            "units": {"default": "c", "enum": ["c", "f"], "type": "string"},
        },
        "required": ["city"],
        "type": "object",
    }
    assert tool.output_schema == {
        "items": {"type": "number"},
        "type": "array",
        "description": "Temperatures, one per day.",
    }


@pytest.mark.parametrize(
    "doc",
    [
        """Search.\n\n:param query: What to look for.\n""",
        """Search.\n\nParameters\n----------\nquery : str\n    What to look for.\n""",
        """Search.\n\nArgs:\n    query: What to look for.\n""",
    ],
    ids=["sphinx", "numpy", "google"],
)
def test_every_docstring_style(doc: str) -> None:
    def search(query: str) -> str:
        return query

    search.__doc__ = doc
    tool = Tool.from_function(search)
    assert tool.description == "Search."
    assert tool.input_schema["properties"]["query"]["description"] == "What to look for."


def test_field_description_wins_over_docstring() -> None:
    def f(x: Annotated[int, Field(description="from Field", ge=0)]) -> int:
        """F.

        Args:
            x: from docstring
        """
        return x

    schema = Tool.from_function(f).input_schema["properties"]["x"]
    assert schema == {"description": "from Field", "minimum": 0, "type": "integer"}


def test_models_typed_dicts_dataclasses_enums_go_to_defs() -> None:
    def ship(address: Address, filters: Filters, window: Window, color: Color) -> None:
        """Ship."""

    schema = Tool.from_function(ship).input_schema
    assert schema["properties"]["address"] == {"$ref": "#/$defs/Address"}
    assert schema["$defs"]["Address"]["properties"]["zip_code"] == {
        "description": "Postal code",
        "type": "string",
    }
    assert schema["$defs"]["Filters"]["required"] == ["status"]
    assert schema["$defs"]["Window"]["properties"]["start"] == {"format": "date", "type": "string"}
    assert schema["$defs"]["Color"] == {"enum": ["red", "blue"], "type": "string"}
    assert "title" not in str(schema)


def test_a_property_named_title_survives_title_stripping() -> None:
    def create(title: str, body: str = "") -> None:
        """Create."""

    assert list(Tool.from_function(create).input_schema["properties"]) == ["title", "body"]


def test_binder_converts_to_declared_types() -> None:
    seen: dict[str, Any] = {}

    def ship(address: Address, window: Window, color: Color, when: datetime.date) -> None:
        """Ship."""
        seen.update(address=address, window=window, color=color, when=when)

    tool = Tool.from_function(ship)
    assert tool.binder is not None
    arguments = tool.binder(
        {
            "address": {"street": "Main", "zip_code": "1"},
            "window": {"start": "2024-01-02"},
            "color": "red",
            "when": "2024-03-04",
        }
    )
    assert isinstance(arguments["address"], Address)
    assert arguments["window"] == Window(start=datetime.date(2024, 1, 2), days=7)
    assert arguments["color"] is Color.RED
    assert arguments["when"] == datetime.date(2024, 3, 4)


def test_binder_errors_name_parameters_and_expectations() -> None:
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    binder = Tool.from_function(add).binder
    assert binder is not None
    with pytest.raises(ToolError) as caught:
        binder({"a": "three"})
    assert str(caught.value) == (
        "invalid arguments: 'a': Input should be a valid integer, unable to parse string as an "
        "integer (got 'three'); missing required argument 'b'"
    )
    with pytest.raises(ToolError) as caught:
        binder({"a": 1, "b": 2, "c": 3})
    assert str(caught.value) == "invalid arguments: unexpected argument(s) c; accepted: a, b"


def test_var_keyword_accepts_extra_arguments() -> None:
    def tag(name: str, **labels: str) -> dict[str, str]:
        """Tag."""
        return labels

    tool = Tool.from_function(tag)
    assert tool.binder is not None
    assert tool.binder({"name": "x", "env": "prod"}) == {"name": "x", "env": "prod"}


def test_var_positional_is_a_configuration_error() -> None:
    def f(*items: int) -> None:
        """F."""

    with pytest.raises(ConfigurationError, match=r"takes \*items"):
        Tool.from_function(f)


class Opaque:
    """A type pydantic cannot describe."""


def test_unsupported_type_is_a_configuration_error() -> None:
    def f(x: Opaque) -> None:
        """F."""

    with pytest.raises(ConfigurationError, match="has no JSON Schema"):
        Tool.from_function(f)


def test_bound_methods_partials_and_callable_objects() -> None:
    class Shop:
        def price(self, sku: str) -> float:
            """Price of a SKU."""
            return 1.0

    class LookupCustomer:
        """Look up a customer."""

        def __call__(self, name: str) -> str:
            return name

    def fetch(base: str, path: str, verbose: bool = False) -> str:
        """Fetch a path."""
        return base + path

    method = Tool.from_function(Shop().price)
    assert method.name == "price" and list(method.input_schema["properties"]) == ["sku"]
    partial = Tool.from_function(functools.partial(fetch, "https://x"))
    assert partial.name == "fetch"
    assert list(partial.input_schema["properties"]) == ["path", "verbose"]
    callable_object = Tool.from_function(LookupCustomer())
    assert callable_object.name == "lookup_customer"
    assert callable_object.description == "Look up a customer."
    assert list(callable_object.input_schema["properties"]) == ["name"]


async def test_async_functions_and_overrides() -> None:
    async def fetch(url: str) -> str:
        """Fetch."""
        return url

    tool = Tool.from_function(
        fetch, name="get_url", description="Get a URL.", namespace="web", requires_approval=True
    )
    assert (tool.name, tool.description, tool.namespace) == ("get_url", "Get a URL.", "web")
    assert tool.requires_approval is True
    assert await tool.fn(url="u") == "u"


def test_return_models_become_output_schemas() -> None:
    def where() -> Address:
        """Where."""
        return Address(street="s", zip_code="z")

    assert Tool.from_function(where).output_schema == {
        "properties": {
            "street": {"type": "string"},
            "zip_code": {"description": "Postal code", "type": "string"},
        },
        "required": ["street", "zip_code"],
        "type": "object",
    }

    def nothing(x: int) -> None:
        """Nothing."""

    assert Tool.from_function(nothing).output_schema is None
