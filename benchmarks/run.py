"""`make bench`: every benchmark, side by side, printed as tables (not part of `make test`)."""

from __future__ import annotations

import asyncio
import importlib
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    executors = importlib.import_module("bench_executors")
    instructions = importlib.import_module("bench_instructions")
    discovery = importlib.import_module("bench_discovery")
    tokens = importlib.import_module("bench_tokens")
    pydantic_ai = importlib.import_module("bench_pydantic_ai")
    print("== Executors side by side: three plans, interleaved runs ==")
    print(executors.render(asyncio.run(executors.run())))
    print("\n== The same plan, in executed instructions (valgrind; repeatable) ==")
    if shutil.which("valgrind"):
        print(instructions.render(instructions.run()))
    else:
        print("valgrind is not installed: skipped")
    print("\n== PydanticAI: codemode-pydantic-ai vs pydantic-ai-harness CodeMode (same task) ==")
    print(pydantic_ai.render(asyncio.run(pydantic_ai.run())))
    print("\n== Discovery: recall@5 on labelled GitHub queries, search latency over 10k tools ==")
    print(discovery.render(discovery.run()))
    print(
        "\n== Discovery on BFCL: each turn's own words as the query, ground truth in the top 3 =="
    )
    print(discovery.render_bfcl(discovery.bfcl_search_rows()))
    replay = importlib.import_module("bench_bfcl_replay")
    print("\n== BFCL replay: ground-truth calls direct vs as Code Mode plans, state compared ==")
    print(replay.render(asyncio.run(replay.replay())))
    print("\n== Context tokens (o200k_base): tool definitions vs stubs vs discovery; a task ==")
    print(asyncio.run(tokens.run()))
    mcp_server = importlib.import_module("bench_mcp_server")
    print("\n== codemode serve: the tool list an MCP client loads (o200k_base) ==")
    print(mcp_server.render(asyncio.run(mcp_server.run())))
    streaming = importlib.import_module("bench_streaming")
    print("\n== Streamed plans: time to answer with and without early reads (run_stream) ==")
    print(streaming.render(asyncio.run(streaming.run())))


if __name__ == "__main__":
    main()
