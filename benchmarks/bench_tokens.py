"""Context tokens (o200k_base, offline): what the model reads before it can act, and what a
multi-step task costs over its whole run, direct tool calling vs Code Mode.

Static context, per model call:
- *JSON tool definitions*: the OpenAI-style `tools` list direct tool calling sends (each
  tool's parameters self-contained, `$ref`s inlined as a provider needs them);
- *Code Mode, full stubs*: the single `run_code` tool with every stub in its description;
- *Code Mode, discovery*: the same tool in search mode (namespace index + how to search).
Catalogs: 10 real tools (BFCL's travel-booking API), GitHub's REST API (1,223 operations),
and two MCP servers together (`mcp-server-time` over stdio, the notes `MCPServer` over HTTP).

BFCL, per catalog: each of the eight multi-turn APIs of the shipped corpus, its description
(full stubs) against the JSON tool definitions BFCL sends for it, response schemas included
(the same information the stubs carry); and overall.

The task: "which open bug issues of octo-org/shop has no maintainer answered yet?", against a
fake GitHub (httpx.MockTransport serving the spec's own example payloads). Both models are
scripted to do what a capable model does; the answers are checked to agree.
"""

from __future__ import annotations

import asyncio
import copy
import gzip
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import bpe_openai
import httpx

from codemode_core import CodeMode, Tool
from codemode_core.connectors import OpenAPIConnector

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "shared_core" / "tests" / "data"
sys.path.insert(0, str(ROOT / "shared_core" / "tests" / "connectors"))

_ENCODING = bpe_openai.get_encoding("o200k_base")
SYSTEM = "You are a maintainer's assistant. Use the tools to answer."
TASK = (
    "Which open issues labelled bug in octo-org/shop have no reply from a maintainer "
    "(a comment by an OWNER or MEMBER)? Give their numbers and titles."
)
MAINTAINERS = ("OWNER", "MEMBER")


def count(text: str) -> int:
    """Tokens of `text`; very long texts are counted in pieces split at a newline or space."""
    total, start, piece = 0, 0, 200_000
    while start < len(text):
        end = min(start + piece, len(text))
        if end < len(text):
            cut = max(text.rfind("\n", start, end), text.rfind(" ", start, end))
            end = cut + 1 if cut > start else end
        total += len(_ENCODING.encode(text[start:end]))
        start = end
    return total


# Static context ----------------------------------------------------------------------------


def inline_refs(schema: Any, root: Mapping[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """A schema with its `$ref`s replaced by their targets (a recursive one becomes `{}`)."""
    if isinstance(schema, Mapping):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in seen:
                return {}
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part]
            return inline_refs(target, root, (*seen, ref))
        return {k: inline_refs(v, root, seen) for k, v in schema.items() if k != "components"}
    if isinstance(schema, list):
        return [inline_refs(v, root, seen) for v in schema]
    return schema


def json_definitions(tools: list[Tool]) -> str:
    definitions = []
    for tool in tools:
        parameters = inline_refs(tool.input_schema, tool.input_schema)
        function = {"name": tool.name, "description": tool.description, "parameters": parameters}
        definitions.append({"type": "function", "function": function})
    return json.dumps(definitions)


def code_tool(cm: CodeMode) -> str:
    parameters = {"type": "object", "properties": {"code": {"type": "string"}}}
    function = {"name": "run_code", "description": cm.description, "parameters": parameters}
    return json.dumps([{"type": "function", "function": function}])


def travel_tools() -> list[Tool]:
    data = json.loads((DATA / "schemas" / "bfcl_multi_turn_apis.json").read_text())
    specs = [t for t in data["tools"]][88:98]  # the travel-booking API's first ten tools
    return [
        Tool(s["name"], s["description"], s["input_schema"], _noop, s["output_schema"])
        for s in specs
    ]


def _noop(**_: Any) -> None:
    return None


def github_document() -> dict[str, Any]:
    with gzip.open(DATA / "openapi" / "github_api.json.gz") as file:
        document: dict[str, Any] = json.load(file)
    return document


async def static_rows() -> list[tuple[str, int, int, int, int, int]]:
    from codemode_core.connectors import MCPConnector
    from mcp_servers import free_port, notes_http_server, time_server

    rows = []
    catalogs: list[tuple[str, list[Tool], list[Any]]] = [
        ("10 tools (BFCL travel API)", travel_tools(), []),
        ("GitHub REST (OpenAPI)", [], [OpenAPIConnector(github_document(), namespace="github")]),
    ]
    with notes_http_server(free_port()) as url:
        catalogs.append(
            ("2 MCP servers (time + notes)", [], [time_server(), MCPConnector.http(url)])
        )
        for label, tools, connectors in catalogs:
            async with CodeMode(tools, connectors=connectors, discovery="full") as full:
                everything = list(full.catalog)
                tools_only = [e.tool for e in everything]
                # Shares the connectors, already connected (`full` closes them at the end).
                search = CodeMode(tools, connectors=connectors, discovery="search")
                await search.open()
                untyped = [replace(t, output_schema=None) for t in tools_only]
                rows.append(
                    (
                        label,
                        len(everything),
                        count(json_definitions(tools_only)),
                        count(code_tool(CodeMode(untyped, discovery="full"))),
                        count(code_tool(full)),
                        count(code_tool(search)),
                    )
                )
    return rows


# The multi-step task -----------------------------------------------------------------------


def fake_github(document: Mapping[str, Any]) -> httpx.MockTransport:
    """Eight open bugs and their comments, cloned from the spec's own example payloads."""
    examples = document["components"]["examples"]
    issue = examples["issue-items"]["value"][0]
    comment = examples["issue-comment-items"]["value"][0]
    issues = []
    comments: dict[int, list[dict[str, Any]]] = {}
    for n in range(1, 9):
        item = copy.deepcopy(issue)
        item.update(number=100 + n, title=f"Checkout fails on step {n}", comments=n % 3)
        issues.append(item)
        thread = []
        for k in range(n % 3):
            reply = copy.deepcopy(comment)
            reply.update(id=1000 * n + k, body=f"Looking at it ({k})")
            reply["author_association"] = "MEMBER" if (n + k) % 4 == 0 else "CONTRIBUTOR"
            thread.append(reply)
        comments[100 + n] = thread

    def handler(request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if parts[-1] == "issues":
            return httpx.Response(200, json=issues)
        if parts[-1] == "comments":
            return httpx.Response(200, json=comments[int(parts[-2])])
        return httpx.Response(404, json={"message": "Not Found"})

    return httpx.MockTransport(handler)


@dataclass
class Run:
    """What one approach cost: model calls, and tokens read and written over the run."""

    static_tokens: int
    history: list[str] = field(default_factory=list)
    context_tokens: int = 0
    output_tokens: int = 0
    round_trips: int = 0

    def model_call(self, reply: Mapping[str, Any]) -> None:
        self.context_tokens += self.static_tokens + sum(count(m) for m in self.history)
        text = json.dumps(reply)
        self.output_tokens += count(text)
        self.round_trips += 1
        self.history.append(text)

    def tool_result(self, call_id: str, content: str) -> None:
        self.history.append(
            json.dumps({"role": "tool", "tool_call_id": call_id, "content": content})
        )


def _calls(calls: list[tuple[str, dict[str, Any]]], start: int) -> dict[str, Any]:
    tool_calls = [
        {
            "id": f"call_{start + i}",
            "type": "function",
            "function": {"name": n, "arguments": json.dumps(a)},
        }
        for i, (n, a) in enumerate(calls)
    ]
    return {"role": "assistant", "content": None, "tool_calls": tool_calls}


def _answer(unanswered: list[list[Any]]) -> dict[str, Any]:
    text = "; ".join(f"#{n} {t}" for n, t in unanswered) or "none"
    return {"role": "assistant", "content": f"Unanswered bugs: {text}"}


async def run_direct(tools_json: str, document: Mapping[str, Any]) -> tuple[Run, list[list[Any]]]:
    """One round trip per dependency level; every raw result lands in the context."""
    run = Run(count(SYSTEM) + count(tools_json))
    run.history.append(json.dumps({"role": "user", "content": TASK}))
    async with httpx.AsyncClient(
        transport=fake_github(document), base_url="https://api.github.com"
    ) as client:
        args = {"owner": "octo-org", "repo": "shop", "labels": "bug", "state": "open"}
        run.model_call(_calls([("issues/list-for-repo", args)], 1))
        issues = (await client.get("/repos/octo-org/shop/issues", params=args)).json()
        run.tool_result("call_1", json.dumps(issues))
        numbers = [i["number"] for i in issues]
        run.model_call(
            _calls(
                [
                    (
                        "issues/list-comments",
                        {"owner": "octo-org", "repo": "shop", "issue_number": n},
                    )
                    for n in numbers
                ],
                2,
            )
        )
        unanswered = []
        for k, issue in enumerate(issues):
            thread = (
                await client.get(f"/repos/octo-org/shop/issues/{issue['number']}/comments")
            ).json()
            run.tool_result(f"call_{2 + k}", json.dumps(thread))
            if not any(c["author_association"] in MAINTAINERS for c in thread):
                unanswered.append([issue["number"], issue["title"]])
    run.model_call(_answer(unanswered))
    return run, unanswered


DISCOVER = """\
for query in ["list issues of a repository", "comments on an issue"]:
    for hit in await codemode.search(query, limit=3):
        print(hit["name"], "-", hit["signature"])
"""

PLAN = """\
api = tools.github
bugs = await api.issues_list_for_repo(owner="octo-org", repo="shop", labels="bug", state="open")
threads = await asyncio.gather(*[
    api.issues_list_comments(owner="octo-org", repo="shop", issue_number=i["number"])
    for i in bugs
])
maintainers = {"OWNER", "MEMBER"}
return [
    [issue["number"], issue["title"]]
    for issue, thread in zip(bugs, threads)
    if not any(c["author_association"] in maintainers for c in thread)
]
"""


async def run_code_mode(document: Mapping[str, Any]) -> tuple[Run, list[list[Any]]]:
    """Discovery mode: one plan to find the tools, one to do the work, then the answer."""
    connector = OpenAPIConnector(document, namespace="github", transport=fake_github(document))
    async with CodeMode([], connectors=[connector], discovery="search") as cm:
        run = Run(count(SYSTEM) + count(code_tool(cm)))
        run.history.append(json.dumps({"role": "user", "content": TASK}))
        value: Any = None
        for index, plan in enumerate((DISCOVER, PLAN), start=1):
            run.model_call(_calls([("run_code", {"code": plan})], index))
            result = await cm.run(plan)
            if not result.ok:
                raise RuntimeError(result.to_model())
            run.tool_result(f"call_{index}", result.to_model())
            value = result.value
    run.model_call(_answer(value))
    return run, value


async def task_rows() -> list[tuple[str, int, int, int]]:
    document = github_document()
    connector = OpenAPIConnector(document, namespace="github")
    async with CodeMode([], connectors=[connector]) as cm:
        everything = [e.tool for e in cm.catalog]
    needed = [t for t in everything if t.name in ("issues/list-for-repo", "issues/list-comments")]
    direct_all, answer_all = await run_direct(json_definitions(everything), document)
    direct_two, answer_two = await run_direct(json_definitions(needed), document)
    code, answer_code = await run_code_mode(document)
    if not answer_all == answer_two == answer_code:
        raise AssertionError(f"the approaches disagree: {answer_all} / {answer_code}")
    return [
        (
            "direct, all 1,223 GitHub tools",
            direct_all.round_trips,
            direct_all.context_tokens,
            direct_all.output_tokens,
        ),
        (
            "direct, the 2 tools hand-picked",
            direct_two.round_trips,
            direct_two.context_tokens,
            direct_two.output_tokens,
        ),
        ("Code Mode, discovery", code.round_trips, code.context_tokens, code.output_tokens),
    ]


def render(
    static: list[tuple[str, int, int, int, int, int]], task: list[tuple[str, int, int, int]]
) -> str:
    lines = [
        "| catalog | tools | JSON tool definitions | Code Mode, full stubs without return "
        "types | Code Mode, full stubs | Code Mode, discovery |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {a} | {b:,} | {c:,} | {d:,} | {e:,} | {f:,} |" for a, b, c, d, e, f in static]
    lines += [
        "",
        f"Task: {TASK}",
        "",
        "| approach | model round trips | context tokens (all calls) | output tokens |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {a} | {b} | {c:,} | {d:,} |" for a, b, c, d in task]
    return "\n".join(lines)


def bfcl_rows() -> list[tuple[str, int, int, int]]:
    """(API, tools, JSON tool definitions' tokens, description tokens) per BFCL catalog."""
    from bfcl_corpus import api_tools, tasks_file
    from bfcl_corpus import json_definitions as bfcl_definitions

    rows = []
    catalogs = api_tools()
    for api, tools in catalogs.items():
        description = CodeMode(tools, discovery="full", executor="inprocess").description
        rows.append((api, len(tools), count(bfcl_definitions(tools)), count(description)))
    # Each of the 200 base tasks, with the APIs it involves together at the root.
    tasks = tasks_file()["tasks"]
    definitions = described = 0
    for task in tasks:
        tools = [t for api in task["classes"] for t in catalogs[api]]
        described += count(CodeMode(tools, discovery="full", executor="inprocess").description)
        definitions += count(bfcl_definitions(tools))
    rows.append((f"the {len(tasks)} base tasks (APIs each involves)", 0, definitions, described))
    return rows


def render_bfcl(rows: list[tuple[str, int, int, int]]) -> str:
    lines = [
        "| BFCL catalog | tools | JSON tool definitions (with response) | description | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    apis = [r for r in rows if r[1]]
    lines += [f"| {a} | {n} | {j:,} | {d:,} | {d / j:.3f}x |" for a, n, j, d in apis]
    tools, definitions, description = (sum(r[i] for r in apis) for i in (1, 2, 3))
    lines.append(
        f"| overall (8 APIs) | {tools} | {definitions:,} | {description:,} | "
        f"{description / definitions:.3f}x |"
    )
    lines += [f"| {a} | | {j:,} | {d:,} | {d / j:.3f}x |" for a, n, j, d in rows if not n]
    return "\n".join(lines)


async def run() -> str:
    static, task = await static_rows(), await task_rows()
    return render(static, task) + "\n\n" + render_bfcl(bfcl_rows())


if __name__ == "__main__":
    print(asyncio.run(run()))
