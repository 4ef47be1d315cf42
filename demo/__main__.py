"""Print the shop task solved both ways, and what each cost in round trips and tokens."""

from __future__ import annotations

import os
import time
from typing import Any

from demo import durable, scripted, shop

WIDTH = 100


def _rule(title: str) -> str:
    return f"\n{'─' * 3} {title} {'─' * max(3, WIDTH - len(title) - 5)}"


def main() -> dict[str, Any]:
    """Run both, print the report, return the numbers (the test asserts on them)."""
    started = time.perf_counter()
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("ANTHROPIC_API_KEY"):
        print("An API key is set, but this demo always runs offline with scripted models.")
    direct, direct_answer, direct_calls = scripted.run_direct()
    code, code_answer, result = scripted.run_code_mode()
    if direct_answer != code_answer:
        raise AssertionError("the two approaches disagree; the demo is broken")

    print(_rule("Task"))
    print(shop.TASK)
    print(_rule("The plan the model writes (one run_code call)"))
    print(scripted.PLAN.rstrip())
    print(_rule(f"Tool calls the plan made: {len(result.tool_calls)}"))
    counts: dict[str, int] = {}
    for call in result.tool_calls:
        counts[call.tool] = counts.get(call.tool, 0) + 1
    print(", ".join(f"{name} ×{n}" for name, n in counts.items()))
    print(f"plan ran in {result.duration * 1000:.1f} ms")
    print(_rule("Answer"))
    print(scripted.answer_text(code_answer))
    print(_rule("Cost for the model"))
    header = f"{'':34}{'direct tool calling':>22}{'Code Mode':>14}{'ratio':>10}"
    print(header)
    rows = [
        ("model round trips", direct.round_trips, code.round_trips),
        ("context tokens (all calls)", direct.context_tokens, code.context_tokens),
        ("model output tokens", direct.output_tokens, code.output_tokens),
        ("tool calls", direct_calls, len(result.tool_calls)),
    ]
    for label, a, b in rows:
        print(f"{label:34}{a:>22,}{b:>14,}{a / b:>9.1f}x")
    print("\nTokens: o200k_base (offline).")
    paused, resumed, calls = durable.run()
    print(_rule("Pause for a human, resume without repeating anything"))
    print(durable.PLAN.strip())
    request = paused.pending[0]
    print(
        f"\n1. run → {paused.status}: {request.tool}({dict(request.arguments)}) at line "
        f"{request.line} waits for approval; {len(paused.tool_calls)} calls already ran."
    )
    print(
        f"2. resume({paused.execution_id[:8]}…, {{{request.request_id!r}: approve}}) → "
        f"{resumed.status}: {resumed.value}"
    )
    print(
        "3. real tool calls over both runs: "
        + ", ".join(f"{name} ×{n}" for name, n in calls.items())
        + " (the journal served the first three on resume)"
    )
    elapsed = time.perf_counter() - started
    print(f"\nDemo finished in {elapsed:.1f} s.")
    return {
        "direct": {
            "round_trips": direct.round_trips,
            "context_tokens": direct.context_tokens,
            "output_tokens": direct.output_tokens,
            "tool_calls": direct_calls,
        },
        "code_mode": {
            "round_trips": code.round_trips,
            "context_tokens": code.context_tokens,
            "output_tokens": code.output_tokens,
            "tool_calls": len(result.tool_calls),
        },
        "answer": code_answer,
        "durable": {"paused": paused.status, "resumed": resumed.status, "calls": dict(calls)},
        "seconds": elapsed,
    }


if __name__ == "__main__":
    main()
