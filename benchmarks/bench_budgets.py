"""What the in-process budgets cost: one tool call, and two loop-heavy plans without tools.

Run it on two checkouts to compare (`python benchmarks/bench_budgets.py`); it prints the
fastest of many rounds per plan, which is steadier than the median on a shared machine.

- per call: (200 tool calls in a loop) minus (the same loop without calls), per call;
- CPU: 10k items of arithmetic, a dict of counts, a sort (the executors benchmark's plan);
- loopy: records built and filtered with `str()`, f-strings, `isinstance`, `in`, `zip`,
  `sum`, `max` over a generator and `join`: the builtins the budgets guard.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from codemode_core import CodeMode, Limits, Tool


def get(i: int) -> dict[str, Any]:
    """Get one record."""
    return {"id": i, "name": f"n{i}", "tags": ["a", "b"]}


CALLS = "for i in range(200):\n    r = await tools.get(i=i)\nreturn 1"
NO_CALLS = "for i in range(200):\n    r = i\nreturn 1"
CPU = """
items = [(i * 7919) % 10007 for i in range(10000)]
evens = [x for x in items if x % 2 == 0]
buckets = {}
for x in items:
    key = x % 17
    buckets[key] = buckets.get(key, 0) + 1
[sum(x * x for x in evens), max(buckets.values()), sorted(items)[5000]]
"""
LOOPY = """
rows = [{"id": i, "name": "n" + str(i), "v": i % 13} for i in range(5000)]
seen = set()
out = []
for r in rows:
    if r["v"] in seen and isinstance(r["name"], str):
        out.append(f"{r['id']}:{r['name']}")
    seen.add(r["v"])
    total = sum([r["v"], len(r["name"])])
pairs = list(zip(range(len(out)), out))
return [len(out), max(len(s) for s in out), len(pairs), sorted(seen), ", ".join(out[:3])]
"""


async def _fastest(cm: CodeMode, code: str, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        result = await cm.run(code)
        best = min(best, time.perf_counter() - started)
        assert result.ok, result.error
    return best


async def main() -> None:
    limits = Limits(timeout=60, max_operations=10**8)
    cm = CodeMode([Tool.from_function(get)], executor="inprocess", limits=limits)
    calls = await _fastest(cm, CALLS, 60)
    no_calls = await _fastest(cm, NO_CALLS, 60)
    cpu = await _fastest(cm, CPU, 30)
    loopy = await _fastest(cm, LOOPY, 30)
    print("in-process, fastest of many rounds")
    print(f"  per tool call  {(calls - no_calls) / 200 * 1e6:7.1f} µs")
    print(f"  CPU plan       {cpu * 1e3:7.2f} ms")
    print(f"  loopy plan     {loopy * 1e3:7.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
