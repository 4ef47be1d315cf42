"""Worker crashes: SIGKILL random isolated workers while many plans run.

Every plan a kill hits must end as a clear `crashed` error that still lists the tool calls it
made (checked against the tools' own side-effect log); the pool must refill, and the plans
after the kills must all succeed.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from codemode_core import CodeMode, Limits, Tool
from codemode_core.sandbox import IsolatedExecutor
from soak._common import EffectLog, Outcome, Resources, child_pids


@dataclass(frozen=True)
class WorkerCrashConfig:
    plans: int = 200
    """Plans in flight while workers are killed."""
    pool_size: int = 4
    kill_every: float = 0.1
    """Seconds between kills."""
    after: int = 50
    """Plans run after the kills, all of which must succeed."""


def _plan(plan_id: str) -> str:
    return (
        f"p = {plan_id!r}\n"
        "total = 0\n"
        "for step in range(3):\n"
        "    total += await tools.step(plan=p, step=step)\n"
        "return total\n"
    )


async def run_worker_crashes(workdir: Path, config: WorkerCrashConfig) -> Outcome:
    outcome = Outcome("worker crashes (SIGKILL isolated workers mid-plan)")
    log = EffectLog(workdir / "worker-effects.log")

    async def step(plan: str, step: int) -> int:
        """One logged step of a plan."""
        await asyncio.sleep(0.01)
        log.record("step", plan, step)
        return step

    executor = IsolatedExecutor(pool_size=config.pool_size)
    limits = Limits(timeout=30)
    before = Resources.now()
    async with CodeMode([Tool.from_function(step)], executor=executor, limits=limits) as cm:
        stop = asyncio.Event()
        kills = 0

        async def killer() -> None:
            nonlocal kills
            rng = random.Random(7)
            while not stop.is_set():
                await asyncio.sleep(config.kill_every)
                if stop.is_set():
                    break  # the kills have stopped: the plans after them must all succeed
                # Workers are the host's children (exec) or the fork server's (the default).
                workers = [pid for child in child_pids() for pid in (child_pids(child) or [child])]
                if workers:
                    try:
                        os.kill(rng.choice(workers), signal.SIGKILL)
                        kills += 1
                    except ProcessLookupError:
                        pass

        killing = asyncio.create_task(killer())
        results = await asyncio.gather(*(cm.run(_plan(f"k{i}")) for i in range(config.plans)))
        stop.set()
        await killing
        # A worker SIGKILLed in the last instants is still exiting: the pool replaces a worker
        # it sees dead, and a plan handed one in that instant is reported `crashed` (above).
        await asyncio.sleep(0.3)
        after = await asyncio.gather(*(cm.run(_plan(f"a{i}")) for i in range(config.after)))
    await asyncio.sleep(0.2)
    end = Resources.now()

    counts: Counter[str] = Counter()
    for (_, plan_id, _), seen in log.counts().items():
        counts[plan_id] += seen
    crashed = [r for r in results if r.error is not None and r.error.kind == "crashed"]
    ok = [r for r in results if r.ok]
    other = [r for r in results if not r.ok and (r.error is None or r.error.kind != "crashed")]
    outcome.figures.append(
        f"{config.plans} concurrent plans, pool of {config.pool_size}, {kills} workers killed: "
        f"{len(ok)} ok, {len(crashed)} crashed, {len(other)} other"
    )
    for index, result in enumerate(results):
        plan_id = f"k{index}"
        if result.ok and result.value != 3:
            outcome.problems.append(f"{plan_id}: wrong value {result.value!r}")
        # A call the kill interrupted is recorded with its error and may not have run; every
        # call recorded as completed must have run, and every call that ran must be recorded.
        completed = sum(1 for call in result.tool_calls if call.ok)
        ran = counts.get(plan_id, 0)
        if not completed <= ran <= len(result.tool_calls):
            outcome.problems.append(
                f"{plan_id}: {ran} calls ran, {completed} recorded as completed of "
                f"{len(result.tool_calls)} recorded ({result.status})"
            )
    for result in crashed:
        if not result.error or len(result.error.message) < 20:
            outcome.problems.append(f"a crashed plan has no clear message: {result.error}")
    for result in other:
        outcome.problems.append(f"unexpected failure: {result.error}")
    if crashed:
        sample = max(crashed, key=lambda r: len(r.tool_calls))
        outcome.figures.append(
            f"a hit plan reads: [{sample.error.kind}] {sample.error.message[:140]!r} "  # type: ignore[union-attr]
            f"with {len(sample.tool_calls)} recorded calls"
        )
    failed_after = [r for r in after if not r.ok]
    outcome.figures.append(f"after the kills: {len(after) - len(failed_after)}/{len(after)} ok")
    if failed_after:
        first = failed_after[0].error
        outcome.problems.append(
            f"{len(failed_after)} plans failed after the kills stopped, e.g. "
            f"[{first.kind if first else '?'}] {first.message[:200] if first else ''!r}"
        )
    if kills == 0:
        outcome.problems.append("no worker was killed (the scenario tested nothing)")
    outcome.figures.append(f"resources before: {before}; after close: {end}")
    if end.children > before.children:
        outcome.problems.append(f"{end.children - before.children} worker processes left behind")
    return outcome
