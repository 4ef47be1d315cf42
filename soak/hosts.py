"""Host crashes: SIGKILL a random host process every few seconds during a load run.

The parent is the dispatcher (as a queue or a load balancer would be): it hands each new
conversation to a host process, under an execution id of its own, and knows at every moment
which host drives which conversation. When it kills a host, it hands that host's unfinished
conversations to the survivors, and starts a new host in its place. A survivor drives a
taken-over conversation from what the store holds: a running execution is run again under
its id (refused with "already running" until the dead host's lease lapses, then taken over),
a paused one is resumed. Every host talks to the parent on pipes of its own, so a kill never
leaves a lock held that another process needs.

A call that was in flight at the kill is in doubt; the hosts' approver decides it as a human
would, by looking: if the tool's side effect is in the log, it rejects running it again (the
plan then ends with that rejection), otherwise it approves. So every side effect happens
exactly once, which the tools' own log must show; every conversation must finish (or end at a
human's rejection of a call that had already run).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import random
import signal
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soak._common import (
    EXPECTED_TOTAL,
    EffectLog,
    Outcome,
    conversation_plan,
    conversation_tools,
    effect_problems,
    latency_line,
)


@dataclass(frozen=True)
class HostCrashConfig:
    processes: int = 4
    conversations: int = 25
    """Conversations in flight per host."""
    seconds: float = 60.0
    """Seconds of new work (and of kills)."""
    kill_every: float = 4.0
    """Seconds between kills of a random host."""
    lease: float = 2.0
    """`CodeMode(lease=...)`: a dead host's executions can be taken over this long after its
    last heartbeat."""
    delay: float = 0.02
    """Seconds each tool call takes: calls are in flight when a kill comes."""
    drain: float = 60.0
    """Seconds allowed, after the new work stops, for every conversation to finish."""


def _host(
    index: int,
    store: str,
    log_path: str,
    config: HostCrashConfig,
    jobs: Any,
    events: Any,
    stop: Any,
) -> None:
    try:
        asyncio.run(_host_async(index, store, Path(log_path), config, jobs, events, stop))
    except BaseException as exc:  # a host that dies on its own says why
        events.put(("crashed", f"host {index}", "".join(traceback.format_exception(exc))[-1500:]))
        raise


async def _host_async(
    index: int,
    store: str,
    log_path: Path,
    config: HostCrashConfig,
    jobs: Any,
    events: Any,
    stop: Any,
) -> None:
    from codemode_core import CodeMode, PendingApproval, ResumeError, approve, reject
    from codemode_core.dispatch.approve import IN_DOUBT

    log = EffectLog(log_path)

    def look_and_decide(request: PendingApproval) -> Any:
        """A human deciding a call in doubt by looking at what happened; None leaves every
        other request (the write's own approval) to the resume below."""
        if request.reason != IN_DOUBT:
            return None
        kind = request.tool.rsplit(".", 1)[-1]
        arguments = dict(request.arguments)
        step = arguments.get("step", arguments.get("total"))
        ran = log.counts().get((kind, str(arguments["conversation"]), int(step)), 0) > 0
        events.put(("doubt", str(arguments["conversation"]), kind, ran))
        return reject("it ran before the crash") if ran else approve

    tasks: set[asyncio.Task[None]] = set()
    async with CodeMode(
        conversation_tools(log, delay=config.delay),
        store=store,
        executor="inprocess",
        lease=config.lease,
        approver=look_and_decide,
    ) as cm:
        await cm.run("return 1")  # open the store before taking work
        events.put(("ready", f"host {index}"))

        async def drive(conversation: str, execution_id: str, new: bool) -> None:
            """Take the conversation from wherever the store has it to its end."""
            began = time.perf_counter()
            plan = conversation_plan(conversation)
            refused = 0
            while True:
                try:
                    record = None if new else await cm.store.load(execution_id)
                    new = False
                    if record is None or record.state == "running":
                        result = await cm.run(plan, execution_id=execution_id)
                    elif record.state == "paused":
                        decisions = {p.request_id: approve for p in record.pending}
                        result = await cm.resume(execution_id, decisions)
                    else:  # it ended just before its host died; the parent did not hear
                        kind = "finished" if record.state == "ok" else "error"
                        events.put((kind, conversation, f"ended {record.state}", 0.0, refused))
                        return
                except ResumeError as exc:
                    if "already running" not in str(exc) and "paused for approval" not in str(exc):
                        events.put(("error", conversation, f"{exc!r}"))
                        return
                    refused += 1  # the dead host's lease still holds: wait for it to lapse
                    await asyncio.sleep(0.2)
                    continue
                except Exception as exc:  # a lost conversation: reported, never hidden
                    events.put(("error", conversation, f"{exc!r}"))
                    return
                if result.status == "paused":
                    continue  # the write's own approval: resumed on the next turn
                seconds = time.perf_counter() - began
                if result.status == "ok" and result.value == f"wrote {EXPECTED_TOTAL}":
                    events.put(("finished", conversation, "ok", seconds, refused))
                elif result.error is not None and "it ran before the crash" in result.error.message:
                    events.put(("rejected", conversation, result.error.message))
                else:
                    events.put(("error", conversation, f"{result.status}: {result.error}"))
                return

        while not stop.is_set():
            for _ in range(64):
                try:
                    conversation, execution_id, new = jobs.get_nowait()
                except queue.Empty:
                    break
                task = asyncio.create_task(drive(conversation, execution_id, new))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()


@dataclass
class _Host:
    index: int
    process: Any
    jobs: Any
    events: Any
    owned: set[str]


def run_host_crashes(store: str, workdir: Path, config: HostCrashConfig, name: str) -> Outcome:
    """Run the load on `store` while killing hosts, and verify from the tools' own log."""
    outcome = Outcome(name)
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    log_path = workdir / f"effects-{name.replace(' ', '-')}.log"
    rng = random.Random(20)
    hosts: dict[int, _Host] = {}
    dead: list[_Host] = []
    ready: set[str] = set()
    started: set[str] = set()
    finished: dict[str, tuple[float, int]] = {}
    rejected: dict[str, str] = {}
    errors: dict[str, str] = {}
    doubts: list[tuple[str, str, bool]] = []
    taken_over: set[str] = set()
    owner: dict[str, int] = {}

    def spawn(index: int) -> None:
        jobs, events = context.Queue(), context.Queue()
        process = context.Process(
            target=_host,
            args=(index, store, str(log_path), config, jobs, events, stop),
            daemon=True,
        )
        process.start()
        hosts[index] = _Host(index, process, jobs, events, set())

    def assign(conversation: str, host: _Host, *, new: bool) -> None:
        host.owned.add(conversation)
        owner[conversation] = host.index
        host.jobs.put((conversation, f"soak-{conversation}", new))

    def pump() -> None:
        for host in list(hosts.values()):
            pump_host(host)

    def pump_host(host: _Host) -> None:
        while True:
            try:
                event = host.events.get_nowait()
            except (queue.Empty, OSError, EOFError):
                break
            kind, conversation = event[0], event[1]
            if kind == "ready":
                ready.add(conversation)
                continue
            if kind == "crashed":
                outcome.problems.append(f"{conversation} crashed: {event[2]}")
                continue
            if kind == "doubt":
                doubts.append((conversation, event[2], event[3]))
                continue
            host.owned.discard(conversation)
            if kind == "finished":
                finished[conversation] = (event[3], event[4])
            elif kind == "rejected":
                rejected[conversation] = event[2]
            else:
                errors[conversation] = event[2]

    def done(conversation: str) -> bool:
        return conversation in finished or conversation in rejected or conversation in errors

    def kill_one() -> str:
        victim = rng.choice(list(hosts.values()))
        os.kill(victim.process.pid, signal.SIGKILL)
        victim.process.join(timeout=10)
        pump_host(victim)  # what it said before it died (whole messages: one write each)
        del hosts[victim.index]
        dead.append(victim)
        orphans = sorted(c for c in victim.owned if not done(c))
        spawn(max([*hosts, *(d.index for d in dead)]) + 1)
        survivors = list(hosts.values())
        for i, conversation in enumerate(orphans):
            taken_over.add(conversation)
            assign(conversation, survivors[i % len(survivors)], new=False)
        return f"host {victim.index} killed holding {len(orphans)} unfinished conversations"

    for index in range(config.processes):
        spawn(index)
    wait_ready_by = time.monotonic() + 60
    while len(ready) < config.processes and time.monotonic() < wait_ready_by:
        pump()
        time.sleep(0.05)
    began = time.monotonic()
    next_kill = began + config.kill_every
    count = 0
    kills: list[str] = []
    while time.monotonic() < began + config.seconds and not outcome.problems:
        pump()
        for host in list(hosts.values()):
            while len([c for c in host.owned if not done(c)]) < config.conversations:
                count += 1
                conversation = f"h{host.index}c{count}"
                started.add(conversation)
                assign(conversation, host, new=True)
        if time.monotonic() >= next_kill:
            kills.append(kill_one())
            next_kill = time.monotonic() + config.kill_every
        time.sleep(0.02)
    ended_at = time.monotonic()
    while time.monotonic() < ended_at + config.drain and not all(done(c) for c in started):
        pump()
        if outcome.problems:
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - began
    stop.set()
    for host in hosts.values():
        host.process.join(timeout=15)
        if host.process.is_alive():
            host.process.kill()
            outcome.problems.append(f"host {host.index} did not stop")
    pump()

    outcome.figures.append(
        f"{config.processes} hosts x {config.conversations} concurrent conversations, "
        f"{config.seconds:g} s of new work, a host SIGKILLed every {config.kill_every:g} s "
        f"(lease {config.lease:g} s): {len(kills)} kills, drained after {elapsed:.1f} s"
    )
    orphaned = len(taken_over)
    taken_finished = [c for c in taken_over if c in finished]
    outcome.figures.append(
        f"conversations: {len(started)} started, {len(finished)} finished, "
        f"{len(rejected)} ended at a rejected in-doubt call, {len(errors)} errors; "
        f"{len(finished) / max(elapsed, 1e-9):.1f} conversations/s"
    )
    outcome.figures.append(
        f"held by a killed host: {orphaned}, taken over and finished: {len(taken_finished)}, "
        f"refusals while a dead host's lease held: "
        f"{sum(finished[c][1] for c in taken_finished)}"
    )
    ran = sum(1 for _c, _k, had_run in doubts if had_run)
    outcome.figures.append(
        f"calls in doubt after a kill: {len(doubts)} (had run: {ran}, rejected; had not: "
        f"{len(doubts) - ran}, approved and run once)"
    )
    outcome.figures.append(
        latency_line(
            "taken-over conversation (takeover to answer)",
            [finished[c][0] for c in taken_finished],
        )
    )
    for conversation, message in list(errors.items())[:10]:
        outcome.problems.append(f"{conversation}: {message}")
    if len(errors) > 10:
        outcome.problems.append(f"... {len(errors) - 10} more errors")
    outcome.problems += effect_problems(EffectLog(log_path), finished, started, ended=set(rejected))
    if not kills:
        outcome.problems.append("no host was killed: the run was shorter than kill_every")
    elif not taken_finished:
        outcome.problems.append("no killed host held a conversation: nothing was taken over")
    return outcome
