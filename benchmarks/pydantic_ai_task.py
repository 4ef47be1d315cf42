"""One task, one scripted model, two Code Mode implementations (and direct tool calling).

Shared by `bench_pydantic_ai.py` (the workspace: codemode-pydantic-ai, pydantic-ai 2.68) and
`envs/harness/run_harness.py` (pydantic-ai-harness's `CodeMode` on pydantic-monty, which pins
an older pydantic-ai, so it lives in its own environment). It imports only pydantic-ai and
bpe-openai, which both environments have. The task data is written here, deterministic.

What is measured is what a provider would bill and what a user waits for:
- round trips: model requests in the run;
- context tokens: o200k_base tokens of everything each request sends (instructions, tool
  definitions, the whole history), summed over the run's requests;
- wall time: the whole `agent.run` with the scripted model (so: framework + sandbox overhead).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import bpe_openai
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from typing_extensions import TypedDict

TASK = "For every pending order: what does each customer tier owe in total, after its discount?"
_ENCODING = bpe_openai.get_encoding("o200k_base")


class OrderLine(TypedDict):
    sku: str
    qty: int
    unit_price: float


class Order(TypedDict):
    id: int
    customer_id: int
    status: str
    lines: list[OrderLine]


class Customer(TypedDict):
    id: int
    name: str
    email: str
    tier: str


_SKUS = ["desk-oak", "lamp-brass", "chair-mesh", "shelf-pine", "rug-wool", "mug-stone"]
ORDERS: dict[int, Order] = {
    order_id: {
        "id": order_id,
        "customer_id": 100 + order_id % 5,
        "status": "pending" if order_id % 3 else "shipped",
        "lines": [
            {
                "sku": _SKUS[(order_id + k) % len(_SKUS)],
                "qty": 1 + (order_id * (k + 1)) % 4,
                "unit_price": round(9.5 + ((order_id * 7 + k * 13) % 40) * 2.25, 2),
            }
            for k in range(2 + order_id % 3)
        ],
    }
    for order_id in range(1, 13)
}
CUSTOMERS: dict[int, Customer] = {
    100 + i: {
        "id": 100 + i,
        "name": name,
        "email": f"{name.lower()}@example.com",
        "tier": ["gold", "silver", "basic"][i % 3],
    }
    for i, name in enumerate(["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald"])
}
DISCOUNTS = {"gold": 0.15, "silver": 0.05, "basic": 0.0}


def list_orders(status: str) -> list[dict[str, Any]]:
    """Summaries (id, customer_id) of the orders with a status ("pending" or "shipped")."""
    return [
        {"id": o["id"], "customer_id": o["customer_id"]}
        for o in ORDERS.values()
        if o["status"] == status
    ]


def get_order(order_id: int) -> Order:
    """One order with its lines."""
    return ORDERS[order_id]


def get_customer(customer_id: int) -> Customer:
    """One customer, with their tier."""
    return CUSTOMERS[customer_id]


def get_discount(tier: str) -> float:
    """The discount rate (0..1) of a customer tier."""
    return DISCOUNTS[tier]


TOOLS = [list_orders, get_order, get_customer, get_discount]


def expected() -> dict[str, float]:
    due: dict[str, float] = {}
    for order in ORDERS.values():
        if order["status"] != "pending":
            continue
        tier = CUSTOMERS[order["customer_id"]]["tier"]
        total = sum(line["qty"] * line["unit_price"] for line in order["lines"])
        due[tier] = round(due.get(tier, 0) + total * (1 - DISCOUNTS[tier]), 2)
    return due


# The plan, in the subset both sandboxes accept: keyword arguments (harness stubs are
# keyword-only), and the result as the last expression (harness has no top-level `return`).
# `{t}` is where the tools live: `tools.` for codemode, nothing for harness (plain functions).
PLAN = """\
import asyncio

pending = await {t}list_orders(status="pending")
orders = await asyncio.gather(*[{t}get_order(order_id=o["id"]) for o in pending])
customer_ids = sorted(set(o["customer_id"] for o in orders))
customers = await asyncio.gather(*[{t}get_customer(customer_id=c) for c in customer_ids])
tier_of = {{}}
for c in customers:
    tier_of[c["id"]] = c["tier"]
tiers = sorted(set(tier_of.values()))
rates = await asyncio.gather(*[{t}get_discount(tier=name) for name in tiers])
rate_of = dict(zip(tiers, rates))
due = {{}}
for o in orders:
    tier = tier_of[o["customer_id"]]
    total = sum([line["qty"] * line["unit_price"] for line in o["lines"]])
    due[tier] = round(due.get(tier, 0) + total * (1 - rate_of[tier]), 2)
due
"""


def count(text: str) -> int:
    return len(_ENCODING.encode(text))


def request_tokens(messages: Sequence[ModelMessage], info: AgentInfo) -> int:
    """Tokens of one model request: instructions, tool definitions and the whole history."""
    texts = [info.instructions or ""]
    texts.append(
        json.dumps(
            [
                {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters_json_schema,
                }
                for tool in info.function_tools
            ]
        )
    )
    for message in messages:
        for part in message.parts:
            texts.append(_part_text(part))
    return count("\n".join(texts))


def _part_text(part: Any) -> str:
    if isinstance(part, ToolCallPart):
        return part.tool_name + part.args_as_json_str()
    render = getattr(part, "model_response_str", None) or getattr(part, "model_response", None)
    if render is not None and getattr(part, "part_kind", "") != "text":
        return str(render())
    return str(getattr(part, "content", ""))


def tool_output(messages: Sequence[ModelMessage]) -> str:
    """What the model read last from a tool (a result, or an error it is asked to fix)."""
    request = messages[-1]
    assert isinstance(request, ModelRequest)
    return "\n".join(
        _part_text(p) for p in request.parts if getattr(p, "part_kind", "") != "user-prompt"
    )


class Recorder:
    """Counts a run's requests and their tokens; keeps what the model read after each call."""

    def __init__(self) -> None:
        self.requests = 0
        self.context_tokens = 0
        self.code_tool_tokens = 0
        self.outputs: list[str] = []

    def see(self, messages: Sequence[ModelMessage], info: AgentInfo) -> None:
        self.requests += 1
        self.context_tokens += request_tokens(messages, info)
        if len(messages) > 1:
            self.outputs.append(tool_output(messages))
        for tool in info.function_tools:
            if tool.name == "run_code":
                self.code_tool_tokens = count(
                    (tool.description or "") + json.dumps(tool.parameters_json_schema)
                )


def code_mode_model(plan: str, recorder: Recorder) -> FunctionModel:
    """Calls `run_code` once with `plan`, then answers with what the plan returned."""

    def reply(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        recorder.see(messages, info)
        if recorder.requests == 1:
            return ModelResponse(parts=[ToolCallPart("run_code", {"code": plan})])
        return ModelResponse(parts=[TextPart(f"Due per tier: {recorder.outputs[-1]}")])

    return FunctionModel(reply)


def direct_model(recorder: Recorder) -> FunctionModel:
    """Direct tool calling, as a capable model does it: one round trip per dependency level,
    independent calls in parallel, every raw result read into the context."""
    state: dict[str, Any] = {}

    def calls(name: str, args: list[dict[str, Any]]) -> ModelResponse:
        return ModelResponse(parts=[ToolCallPart(name, a) for a in args])

    def returned(messages: list[ModelMessage]) -> list[Any]:
        request = messages[-1]
        return [p.content for p in request.parts if getattr(p, "part_kind", "") == "tool-return"]

    def reply(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        recorder.see(messages, info)
        step = recorder.requests
        if step == 1:
            return calls("list_orders", [{"status": "pending"}])
        if step == 2:
            return calls("get_order", [{"order_id": o["id"]} for o in returned(messages)[0]])
        if step == 3:
            state["orders"] = returned(messages)
            ids = sorted({o["customer_id"] for o in state["orders"]})
            return calls("get_customer", [{"customer_id": i} for i in ids])
        if step == 4:
            state["tier_of"] = {c["id"]: c["tier"] for c in returned(messages)}
            state["tiers"] = sorted(set(state["tier_of"].values()))
            return calls("get_discount", [{"tier": t} for t in state["tiers"]])
        rate_of = dict(zip(state["tiers"], returned(messages), strict=True))
        due: dict[str, float] = {}
        for order in state["orders"]:
            tier = state["tier_of"][order["customer_id"]]
            total = sum(line["qty"] * line["unit_price"] for line in order["lines"])
            due[tier] = round(due.get(tier, 0) + total * (1 - rate_of[tier]), 2)
        return ModelResponse(parts=[TextPart(f"Due per tier: {json.dumps(due)}")])

    return FunctionModel(reply)


async def measure(
    make_agent: Callable[[FunctionModel], Agent[None, str]],
    make_model: Callable[[Recorder], FunctionModel],
    *,
    runs: int,
) -> dict[str, Any]:
    """Runs the task `runs` times (after one warm-up) and reports the last run's counts."""
    walls: list[float] = []
    recorder = Recorder()
    output = ""
    for _ in range(runs + 1):
        recorder = Recorder()
        agent = make_agent(make_model(recorder))
        started = time.perf_counter()
        result = await agent.run(TASK)
        walls.append(time.perf_counter() - started)
        output = result.output
    walls = walls[1:]
    return {
        "round_trips": recorder.requests,
        "context_tokens": recorder.context_tokens,
        "code_tool_tokens": recorder.code_tool_tokens,
        "wall_ms_median": round(statistics.median(walls) * 1000, 2),
        "wall_ms_p90": round(sorted(walls)[int(0.9 * (len(walls) - 1))] * 1000, 2),
        "output": output,
        "correct": _answer(output) == expected(),
    }


def _answer(output: str) -> Any:
    try:
        return json.loads(output.removeprefix("Due per tier: "))
    except ValueError:
        return None


# What each accepts: probe plans, each sent once; we keep what the model reads back.
PROBES: list[tuple[str, str]] = [
    ("parallel calls (asyncio.gather)", PLAN),
    (
        "forgotten await",
        'c = {t}get_customer(customer_id=100)\nc["tier"]',
    ),
    (
        "positional argument",
        '(await {t}get_customer(100))["tier"]',
    ),
    (
        "wrong argument name",
        "await {t}get_customer(customer=100)",
    ),
    (
        "error on line 3",
        'c = await {t}get_customer(customer_id=100)\nx = 1\nc["vip"]',
    ),
    (
        "def, lambda, comprehension",
        "def double(x):\n    return 2 * x\nsorted([double(i) for i in range(4)], key=lambda v: -v)",
    ),
    (
        "class definition",
        "class Point:\n    def __init__(self, x):\n        self.x = x\nPoint(3).x",
    ),
    (
        "imports: json, re, datetime",
        'import json, re, datetime\njson.dumps([re.sub("a", "b", "aa"), '
        "datetime.date(2024, 1, 2).isoformat()])",
    ),
    ("endless loop (2 s limit)", "n = 0\nwhile True:\n    n += 1"),
    ("huge allocation", 'x = "a" * 10**10\nlen(x)'),
    ("open a file", 'open("/etc/passwd").read()'),
    ("dunder escape", "().__class__.__bases__[0].__subclasses__()"),
]


def probe_model(plan: str, recorder: Recorder) -> FunctionModel:
    """Sends one probe plan, then stops (whatever came back: a result or an error)."""

    def reply(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        recorder.see(messages, info)
        if recorder.requests == 1:
            return ModelResponse(parts=[ToolCallPart("run_code", {"code": plan})])
        return ModelResponse(parts=[TextPart("done")])

    return FunctionModel(reply)


async def probe_all(
    make_agent: Callable[[FunctionModel], Agent[None, str]], prefix: str
) -> list[dict[str, Any]]:
    rows = []
    for label, template in PROBES:
        recorder = Recorder()
        agent = make_agent(probe_model(template.format(t=prefix), recorder))
        started = time.perf_counter()
        try:
            await agent.run(TASK)
            seen = recorder.outputs[-1] if recorder.outputs else ""
        except Exception as exc:  # the run itself failed: that is what the user gets
            seen = f"run failed: {type(exc).__name__}: {exc}"
        rows.append(
            {"probe": label, "seen": seen, "seconds": round(time.perf_counter() - started, 2)}
        )
    return rows


async def code_tool_description(make_agent: Callable[[FunctionModel], Agent[None, str]]) -> str:
    """The description of the code tool the model is offered (instructions and stubs)."""
    captured: list[str] = []

    def reply(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        captured.extend(t.description or "" for t in info.function_tools if t.name == "run_code")
        return ModelResponse(parts=[TextPart("ok")])

    await make_agent(FunctionModel(reply)).run(TASK)
    return captured[0]
