"""Load: several processes, each with many concurrent conversations on one shared store.

Each conversation runs a plan that makes four reads and asks approval for a write, pauses,
and is resumed with `approve`: by its own process half the time, by another process the other
half (handed over through a queue, as a web app behind a load balancer would). The tools log
every side effect to one file; afterwards every finished conversation must show each read and
the write exactly once, and every conversation started must have finished.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import random
import time
import traceback
from collections.abc import Callable
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
class LoadConfig:
    processes: int = 4
    conversations: int = 50
    """Conversations in flight per process."""
    seconds: float = 60.0
    executor: str = "inprocess"
    store_faults: bool = False
    """A fault is injected into the store: a plan that fails with a clear store error before
    it paused counts as ended (not lost), and resumes are retried until the store is back."""
    retry_for: float = 60.0
    """Seconds a resume that fails on the store is retried (with `store_faults`)."""


def _serve(
    index: int,
    store: str,
    log_path: str,
    config: LoadConfig,
    handoffs: Any,
    events: Any,
    go: Any,
    stop_starting: Any,
    all_done: Any,
) -> None:
    try:
        asyncio.run(
            _serve_async(
                index, store, Path(log_path), config, handoffs, events, go, stop_starting, all_done
            )
        )
    except BaseException as exc:  # a process that dies says why, in the parent's report
        events.put(
            ("crashed", f"process {index}", f"{''.join(traceback.format_exception(exc))[-1500:]}")
        )
        raise


async def _serve_async(
    index: int,
    store: str,
    log_path: Path,
    config: LoadConfig,
    handoffs: Any,
    events: Any,
    go: Any,
    stop_starting: Any,
    all_done: Any,
) -> None:
    from codemode_core import CodeMode, ResumeError, StoreError, approve

    rng = random.Random(index)
    log = EffectLog(log_path)
    tasks: set[asyncio.Task[None]] = set()
    starting = 0
    count = 0

    async with CodeMode(conversation_tools(log), store=store, executor=config.executor) as cm:
        # Open the store (pools, schema) before the clock starts: the figures are of load.
        await cm.run("return 1")
        events.put(("ready", f"process {index}"))
        while not go.is_set():
            await asyncio.sleep(0.01)

        async def finish(
            conversation: str, execution_id: str, request_id: str, began: float, run_seconds: float
        ) -> None:
            started = time.perf_counter()
            retry_until = started + (config.retry_for if config.store_faults else 0.0)
            while True:
                try:
                    done = await cm.resume(execution_id, {request_id: approve})
                except StoreError as exc:
                    failure = f"resume raised {exc!r}"
                except ResumeError as exc:
                    # A resume the fault broke mid-way holds its claim until the lease lapses.
                    if not config.store_faults or "already running" not in str(exc):
                        events.put(("error", conversation, f"resume raised {exc!r}"))
                        return
                    failure = f"resume raised {exc!r}"
                except Exception as exc:  # a lost conversation: reported, never hidden
                    events.put(("error", conversation, f"resume raised {exc!r}"))
                    return
                else:
                    if done.error is None or done.error.kind != "store":
                        break
                    failure = f"resume ended {done.status}: {done.error}"
                if time.perf_counter() > retry_until:
                    events.put(("error", conversation, failure))
                    return
                await asyncio.sleep(0.5)  # the store is away: the paused execution waits
            resume_seconds = time.perf_counter() - started
            if done.value != f"wrote {EXPECTED_TOTAL}":
                events.put(("error", conversation, f"resume ended {done.status}: {done.error}"))
                return
            events.put(
                ("finished", conversation, run_seconds, resume_seconds, time.perf_counter() - began)
            )

        async def converse(conversation: str) -> None:
            nonlocal starting
            began = time.perf_counter()
            try:
                events.put(("started", conversation))
                paused = await cm.run(conversation_plan(conversation))
            except StoreError as exc:
                kind = "store_failed" if config.store_faults else "error"
                events.put((kind, conversation, f"run raised {exc!r}"))
                return
            except Exception as exc:
                events.put(("error", conversation, f"run raised {exc!r}"))
                return
            finally:
                starting -= 1
            run_seconds = time.perf_counter() - began
            if paused.status != "paused" or not paused.pending:
                store_error = paused.error is not None and paused.error.kind == "store"
                kind = "store_failed" if store_error and config.store_faults else "error"
                events.put((kind, conversation, f"run ended {paused.status}: {paused.error}"))
                return
            request_id = paused.pending[0].request_id
            if config.processes > 1 and rng.random() < 0.5:
                handoffs.put((conversation, paused.execution_id, request_id, run_seconds))
                return
            await finish(conversation, paused.execution_id, request_id, began, run_seconds)

        def spawn(coroutine: Any) -> None:
            task = asyncio.create_task(coroutine)
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        while not all_done.is_set():
            while not stop_starting.is_set() and starting < config.conversations:
                starting += 1
                count += 1
                spawn(converse(f"p{index}c{count}"))
            for _ in range(64):
                try:
                    conversation, execution_id, request_id, run_seconds = handoffs.get_nowait()
                except queue.Empty:
                    break
                spawn(
                    finish(conversation, execution_id, request_id, time.perf_counter(), run_seconds)
                )
            await asyncio.sleep(0.005)
        if tasks:
            await asyncio.wait(tasks, timeout=10)


def run_load(
    store: str,
    workdir: Path,
    config: LoadConfig,
    name: str,
    *,
    fault: Callable[[], str] | None = None,
    fault_at: float = 0.0,
) -> Outcome:
    """Run the load against `store` (a SQLite path or PostgreSQL URL) and verify the effects;
    `fault`, if given, is called `fault_at` seconds in and returns what it did."""
    outcome = Outcome(name)
    context = multiprocessing.get_context("spawn")
    handoffs, events = context.Queue(), context.Queue()
    go, stop_starting, all_done = context.Event(), context.Event(), context.Event()
    log_path = workdir / f"effects-{name.replace(' ', '-')}.log"
    processes = [
        context.Process(
            target=_serve,
            args=(i, store, str(log_path), config, handoffs, events, go, stop_starting, all_done),
            daemon=True,
        )
        for i in range(config.processes)
    ]
    for process in processes:
        process.start()
    started: set[str] = set()
    finished: dict[str, tuple[float, float, float]] = {}
    errors: dict[str, str] = {}
    store_failed: dict[str, str] = {}
    ready: set[str] = set()

    def pump(timeout: float) -> None:
        try:
            event = events.get(timeout=timeout)
        except queue.Empty:
            return
        kind, conversation = event[0], event[1]
        if kind == "ready":
            ready.add(conversation)
        elif kind == "started":
            started.add(conversation)
        elif kind == "finished":
            finished[conversation] = (event[2], event[3], event[4])
        elif kind == "crashed":
            outcome.problems.append(f"{conversation} crashed: {event[2]}")
        elif kind == "store_failed":
            store_failed[conversation] = event[2]
        else:
            errors[conversation] = event[2]

    wait_ready_by = time.monotonic() + 60
    while len(ready) < config.processes and time.monotonic() < wait_ready_by:
        if outcome.problems:  # a process crashed while opening
            break
        pump(0.1)
    go.set()
    began = time.monotonic()
    drain_by = began + config.seconds + 60
    fault_pending = fault is not None
    while time.monotonic() < began + config.seconds:
        pump(0.1)
        if fault is not None and fault_pending and time.monotonic() >= began + fault_at:
            fault_pending = False
            outcome.figures.append(f"fault at {time.monotonic() - began:.1f} s: {fault()}")
    stop_starting.set()
    ended_at = time.monotonic()
    while (
        len(finished) + len(errors) + len(store_failed) < len(started)
        and time.monotonic() < drain_by
    ):
        pump(0.1)
        if not any(p.is_alive() for p in processes):
            break
    elapsed = time.monotonic() - began
    all_done.set()
    stop_by = time.monotonic() + 20
    while any(p.is_alive() for p in processes) and time.monotonic() < stop_by:
        pump(0.05)
    for process in processes:
        process.join(timeout=1)
        if process.is_alive():
            process.kill()
            outcome.problems.append(f"process {process.pid} did not stop")
    while not events.empty():
        pump(0.05)

    outcome.figures.append(
        f"{config.processes} processes x {config.conversations} concurrent conversations, "
        f"{config.seconds:g} s of new work ({ended_at - began:.1f} s), drained after "
        f"{elapsed:.1f} s"
    )
    outcome.figures.append(
        f"conversations: {len(started)} started, {len(finished)} finished, "
        f"{len(errors)} errors, {len(store_failed)} failed cleanly on the store before "
        f"pausing; {len(finished) / max(elapsed, 1e-9):.1f} conversations/s (each a paused "
        f"and a resumed plan: {2 * len(finished) / max(elapsed, 1e-9):.1f} plans/s)"
    )
    outcome.figures.append(
        latency_line("run (5 calls, to the pause)", [f[0] for f in finished.values()])
    )
    outcome.figures.append(
        latency_line("resume (to the answer)", [f[1] for f in finished.values()])
    )
    for conversation, message in list(errors.items())[:10]:
        outcome.problems.append(f"{conversation}: {message}")
    if len(errors) > 10:
        outcome.problems.append(f"... {len(errors) - 10} more errors")
    if store_failed:
        sample = next(iter(store_failed.values()))
        outcome.figures.append(f"a plan that met the fault reads: {sample[:200]}")
    outcome.problems += effect_problems(
        EffectLog(log_path), finished, started, ended=set(store_failed)
    )
    if not finished:
        outcome.problems.append("no conversation finished")
    return outcome
