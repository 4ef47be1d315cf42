"""Soak: many mixed plans through one `CodeMode`; the process's footprint must stay flat.

The mix is what a long-lived agent server sees: plans that succeed, plans that raise, plans
stopped by a budget, and plans that pause for approval (half of them resumed). Resident
memory, open descriptors, threads and child processes are measured after a warm-up and at the
end.
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass

from codemode_core import CodeMode, Limits, Tool, approve
from soak._common import Outcome, Resources

_PLANS = {
    "ok": "rows = await tools.rows(n=20)\nreturn sum(r['v'] for r in rows)",
    "error": "rows = await tools.rows(n=3)\nreturn rows[0]['missing']",
    "budget": "n = 0\nwhile True:\n    n += 1",
    "pause": "await tools.rows(n=2)\nreturn await tools.send(text='hi')",
}
_MIX = ["ok"] * 7 + ["error", "budget", "pause"]


@dataclass(frozen=True)
class SoakConfig:
    plans: int = 20_000
    concurrency: int = 20
    warmup: int = 500
    rss_growth_mb: float = 40.0
    """Allowed growth of resident memory between the warm-up and the end."""


def _tools() -> list[Tool]:
    def rows(n: int) -> list[dict[str, int]]:
        """Some rows."""
        return [{"v": i} for i in range(n)]

    def send(text: str) -> str:
        """Send a message (needs approval)."""
        return f"sent {text}"

    return [Tool.from_function(rows), Tool.from_function(send, requires_approval=True)]


async def run_soak(executor: str, config: SoakConfig) -> Outcome:
    outcome = Outcome(f"soak: {config.plans:,} mixed plans on the {executor} executor")
    limits = Limits(timeout=10, max_operations=20_000)
    statuses: dict[str, int] = {}
    wrong: list[str] = []
    async with CodeMode(_tools(), executor=executor, limits=limits) as cm:

        async def one(index: int) -> None:
            kind = _MIX[index % len(_MIX)]
            result = await cm.run(_PLANS[kind])
            if kind == "pause" and result.status == "paused" and index % 20 == 9:
                result = await cm.resume(
                    result.execution_id, {result.pending[0].request_id: approve}
                )
                kind = "resumed"
            expected = {
                "ok": "ok",
                "error": "error",
                "budget": "error",
                "pause": "paused",
                "resumed": "ok",
            }[kind]
            statuses[kind] = statuses.get(kind, 0) + 1
            if result.status != expected and len(wrong) < 10:
                wrong.append(f"{kind} plan ended {result.status}: {result.error}")

        async def batch(start: int, stop: int) -> None:
            queue = iter(range(start, stop))

            async def lane() -> None:
                for index in queue:
                    await one(index)

            await asyncio.gather(*(lane() for _ in range(config.concurrency)))

        await batch(0, config.warmup)
        gc.collect()
        start = Resources.now()
        await batch(config.warmup, config.plans)
        gc.collect()
        end = Resources.now()
    outcome.figures.append(f"plans by kind: {dict(sorted(statuses.items()))}")
    outcome.figures.append(f"after {config.warmup} warm-up plans: {start}")
    outcome.figures.append(f"after {config.plans:,} plans:      {end}")
    outcome.problems += wrong
    if end.rss_mb - start.rss_mb > config.rss_growth_mb:
        outcome.problems.append(
            f"resident memory grew {end.rss_mb - start.rss_mb:.1f} MB "
            f"(allowed {config.rss_growth_mb:g})"
        )
    for name in ("fds", "threads", "children"):
        if getattr(end, name) > getattr(start, name):
            outcome.problems.append(
                f"{name} grew from {getattr(start, name)} to {getattr(end, name)}"
            )
    return outcome
