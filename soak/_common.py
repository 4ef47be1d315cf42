"""What every scenario shares: the conversation's tools and plan, a side-effect log written by
the tools themselves, percentiles, and this process's resource figures."""

from __future__ import annotations

import asyncio
import os
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codemode_core import Tool

READS = 4
"""Reads per conversation (two of them through `asyncio.gather`), before the approved write."""


class EffectLog:
    """An append-only file of side effects, one line each, written by the tools themselves.

    Lines are far shorter than PIPE_BUF and written with O_APPEND in one `write`, so lines
    from many processes never interleave; it is the ground truth of what ran how often.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, kind: str, conversation: str, step: int) -> None:
        line = f"{kind} {conversation} {step} {os.getpid()}\n".encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def counts(self) -> Counter[tuple[str, str, int]]:
        if not self.path.exists():
            return Counter()
        found: Counter[tuple[str, str, int]] = Counter()
        for line in self.path.read_text().splitlines():
            kind, conversation, step, _pid = line.split()
            found[(kind, conversation, int(step))] += 1
        return found


def conversation_tools(log: EffectLog, *, delay: float = 0.0) -> list[Tool]:
    """`read` (logged, free) and `write` (logged, needs approval) for the conversation plan."""

    async def read(conversation: str, step: int) -> dict[str, Any]:
        """Read one record of a conversation."""
        if delay:
            await asyncio.sleep(delay)
        log.record("read", conversation, step)
        return {"conversation": conversation, "step": step, "value": step * 10}

    async def write(conversation: str, total: int) -> str:
        """Write the conversation's total (a side effect that must happen exactly once)."""
        if delay:
            await asyncio.sleep(delay)
        log.record("write", conversation, total)
        return f"wrote {total}"

    return [
        Tool.from_function(read),
        Tool.from_function(write, requires_approval=True),
    ]


def conversation_plan(conversation: str) -> str:
    """Five tool calls: two reads at once, two more, then a write that pauses for approval."""
    return (
        "import asyncio\n"
        f"c = {conversation!r}\n"
        "first = await asyncio.gather(tools.read(conversation=c, step=1), "
        "tools.read(conversation=c, step=2))\n"
        "third = await tools.read(conversation=c, step=3)\n"
        "fourth = await tools.read(conversation=c, step=4)\n"
        "total = sum(r['value'] for r in [*first, third, fourth])\n"
        "return await tools.write(conversation=c, total=total)\n"
    )


EXPECTED_TOTAL = sum(step * 10 for step in range(1, READS + 1))


def effect_problems(
    log: EffectLog,
    finished: Iterable[str],
    started: Iterable[str],
    *,
    ended: Iterable[str] = (),
) -> list[str]:
    """Every finished conversation's reads and write exactly once; nothing for unknown ones;
    no effect twice anywhere. `ended`: conversations that failed cleanly before pausing (their
    effects so far count, but they are not lost)."""
    counts = log.counts()
    problems: list[str] = []
    finished_set, started_set = set(finished), set(started)
    for conversation in sorted(finished_set):
        for step in range(1, READS + 1):
            seen = counts.get(("read", conversation, step), 0)
            if seen != 1:
                problems.append(f"{conversation}: read {step} ran {seen} times")
        seen = counts.get(("write", conversation, EXPECTED_TOTAL), 0)
        if seen != 1:
            problems.append(f"{conversation}: the approved write ran {seen} times")
    for (kind, conversation, step), seen in counts.items():
        if conversation not in started_set:
            problems.append(f"{kind} {step} of unknown conversation {conversation}")
        elif seen > 1 and conversation not in finished_set:
            problems.append(f"{conversation}: {kind} {step} ran {seen} times")
    lost = sorted(started_set - finished_set - set(ended))
    if lost:
        problems.append(f"{len(lost)} conversations never finished, e.g. {lost[:3]}")
    return problems


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def latency_line(name: str, seconds: Sequence[float]) -> str:
    if not seconds:
        return f"{name}: no samples"
    return (
        f"{name}: n={len(seconds)} p50={percentile(seconds, 0.5) * 1000:.1f} ms "
        f"p99={percentile(seconds, 0.99) * 1000:.1f} ms "
        f"mean={statistics.fmean(seconds) * 1000:.1f} ms"
    )


@dataclass
class Resources:
    """This process's footprint: resident memory, open descriptors, threads, live children."""

    rss_mb: float
    fds: int
    threads: int
    children: int

    @classmethod
    def now(cls) -> Resources:
        status = Path("/proc/self/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return cls(
            rss_mb=int(fields["VmRSS"].split()[0]) / 1024,
            fds=len(os.listdir("/proc/self/fd")),
            threads=int(fields["Threads"]),
            children=len(child_pids()),
        )

    def __str__(self) -> str:
        return (
            f"rss={self.rss_mb:.1f} MB fds={self.fds} threads={self.threads} "
            f"children={self.children}"
        )


def child_pids(parent: int | None = None) -> list[int]:
    """Live (not zombie) direct children of `parent` (default: this process), from /proc."""
    parent = os.getpid() if parent is None else parent
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its closing paren
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z":
            found.append(int(entry))
    return found


@dataclass
class Outcome:
    """What one scenario found: its figures (printed) and its problems (a failure if any)."""

    name: str
    figures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        lines = [f"== {self.name}: {'OK' if self.ok else 'FAILED'} =="]
        lines += [f"  {figure}" for figure in self.figures]
        lines += [f"  PROBLEM: {problem}" for problem in self.problems[:20]]
        if len(self.problems) > 20:
            lines.append(f"  ... and {len(self.problems) - 20} more problems")
        return "\n".join(lines)
