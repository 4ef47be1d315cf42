"""The stub generator against 600+ real-world tool schemas (see tests/data/schemas/README.md)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import bpe_openai
import pytest
from mypy import api as mypy_api

from codemode_core.naming import IdentifierAllocator
from codemode_core.stubs import StubRenderer, ToolSignature

CORPUS = Path(__file__).resolve().parents[1] / "data" / "schemas"


def load_corpus() -> list[tuple[str, dict[str, Any]]]:
    tools = []
    for path in sorted(CORPUS.glob("*.json")):
        data = json.loads(path.read_text())
        assert data["source"]["license"] and data["source"]["url"], path.name
        tools.extend((path.stem, tool) for tool in data["tools"])
    return tools


def render(tools: list[tuple[str, dict[str, Any]]]) -> tuple[str, list[ToolSignature]]:
    renderer = StubRenderer()
    names: dict[str, IdentifierAllocator] = {}
    signatures = []
    for namespace, tool in tools:
        allocator = names.setdefault(namespace, IdentifierAllocator())
        signatures.append(
            renderer.add_tool(
                namespace=namespace,
                identifier=allocator.allocate(str(tool["name"])),
                description=str(tool.get("description") or ""),
                input_schema=tool.get("input_schema") or {},
                output_schema=tool.get("output_schema"),
            )
        )
    return renderer.render(), signatures


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, dict[str, Any]]]:
    return load_corpus()


def test_corpus_is_large_and_sourced(corpus: list[tuple[str, dict[str, Any]]]) -> None:
    assert len(corpus) >= 300


def test_every_stub_parses_and_rendering_is_deterministic(
    corpus: list[tuple[str, dict[str, Any]]],
) -> None:
    first, signatures = render(corpus)
    ast.parse(first)
    assert render(corpus)[0] == first
    assert len(signatures) == len(corpus)
    for namespace, tool in corpus:  # and each tool alone, as `codemode.describe` shows it
        ast.parse(render([(namespace, tool)])[0])


_SIMPLE_VALUES = {"str": '"x"', "int": "1", "float": "1.5", "bool": "True"}


def _value_for(annotation: str) -> str | None:
    if annotation in _SIMPLE_VALUES:
        return _SIMPLE_VALUES[annotation]
    if annotation.startswith("Literal["):
        node = ast.parse(annotation, mode="eval").body
        assert isinstance(node, ast.Subscript)
        first = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
        return ast.unparse(first)
    if annotation.startswith("list["):
        return "[]"
    if annotation.startswith("dict["):
        return "{}"
    return None


def test_sample_calls_type_check_against_the_stubs(
    corpus: list[tuple[str, dict[str, Any]]], tmp_path: Path
) -> None:
    source, signatures = render(corpus)
    calls = []
    for signature in signatures:
        arguments = []
        for parameter in signature.parameters:
            if not parameter.required:
                continue
            value = _value_for(parameter.annotation)
            if value is None:
                break
            arguments.append(f"{parameter.identifier}={value}")
        else:
            calls.append(f"    await {signature.qualified_name}({', '.join(arguments)})")
        if len(calls) >= 40:
            break
    assert len(calls) >= 25
    (tmp_path / "corpus_stubs.pyi").write_text(source)  # a stub file, checked as one
    (tmp_path / "plan.py").write_text(
        "from corpus_stubs import tools\n\n\nasync def plan() -> None:\n" + "\n".join(calls) + "\n"
    )
    # A deliberately wrong call must be caught, so the check is known to bite.
    (tmp_path / "wrong.py").write_text(
        "from corpus_stubs import tools\n\n\nasync def plan() -> None:\n"
        f"    await {signatures[0].qualified_name}(no_such_argument=1)\n"
    )
    ok_out, _, _ = mypy_api.run(
        ["--no-incremental", "--ignore-missing-imports", str(tmp_path / "plan.py")]
    )
    # The stub's methods have no `self` (nor `@staticmethod`, tokens a model gains nothing
    # from): mypy says so at each definition, and checks every call site as it should.
    errors = [line for line in ok_out.splitlines() if ": error:" in line]
    assert errors, ok_out[-3000:]
    assert all(_missing_self(line) for line in errors), ok_out[-3000:]
    bad_out, _, bad_status = mypy_api.run(["--no-incremental", str(tmp_path / "wrong.py")])
    assert bad_status == 1 and "no_such_argument" in bad_out
    assert any("wrong.py" in line and "no_such_argument" in line for line in bad_out.splitlines())


def _missing_self(error: str) -> bool:
    return "corpus_stubs.pyi" in error and (
        '"self" parameter missing' in error or "at least one argument" in error
    )


def test_stubs_are_leaner_than_json_tool_definitions(
    corpus: list[tuple[str, dict[str, Any]]],
) -> None:
    encoding = bpe_openai.get_encoding("o200k_base")
    definitions = [
        {
            "type": "function",
            "function": {
                "name": tool["name"],
                "description": tool.get("description", ""),
                "parameters": tool.get("input_schema") or {},
            },
        }
        for _, tool in corpus
    ]
    json_tokens = len(encoding.encode(json.dumps(definitions)))
    stub_tokens = len(encoding.encode(render(corpus)[0]))
    print(
        f"\ncorpus of {len(corpus)} tools: JSON definitions {json_tokens:,} tokens, "
        f"stubs {stub_tokens:,} tokens ({stub_tokens / json_tokens:.0%})"
    )
    assert stub_tokens < json_tokens
