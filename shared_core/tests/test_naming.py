"""Names become valid, unique, deterministic Python identifiers."""

from __future__ import annotations

import keyword

import pytest

from codemode_core.naming import IdentifierAllocator, to_identifier


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("get_weather", "get_weather"),
        ("get-weather", "get_weather"),
        ("github.issues.create", "github_issues_create"),
        ("List all files", "List_all_files"),
        ("class", "class_"),
        ("match", "match_"),
        ("3d-render", "n3d_render"),
        ("météo", "meteo"),
        ("__dunder__", "dunder"),
        ("a  --  b", "a_b"),
    ],
)
def test_to_identifier(name: str, expected: str) -> None:
    assert to_identifier(name) == expected
    assert expected.isidentifier() and not keyword.iskeyword(expected)


def test_names_without_ascii_letters_get_a_stable_hash() -> None:
    first = to_identifier("天気")
    assert first == to_identifier("天気")
    assert first.startswith("tool_") and first.isidentifier()
    assert first != to_identifier("天气")


def test_collisions_get_numbered_suffixes_in_order() -> None:
    allocator = IdentifierAllocator(reserved={"tools"})
    assert [allocator.allocate(n) for n in ["get-x", "get_x", "get.x", "tools"]] == [
        "get_x",
        "get_x_2",
        "get_x_3",
        "tools_2",
    ]
    assert "get_x_2" in allocator
