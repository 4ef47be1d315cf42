"""No plan can affect another: code a plan leaves behind (a suspended async generator, a task,
a loop callback) never calls a tool after the plan ended, on either executor, and nothing a
plan does on an isolated worker survives into the next plan."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

import pytest

from codemode_core import CodeMode, Limits, Tool
from codemode_core.sandbox import IsolatedExecutor


class Effects:
    """What the tools really did, from the tools' own side: the record can only omit."""

    def __init__(self) -> None:
        self.done: list[str] = []

    def tools(self) -> list[Tool]:
        async def slow(text: str) -> str:
            """Take 0.3 s, then record `text`."""
            await asyncio.sleep(0.3)
            self.done.append(text)
            return text

        def record(text: str) -> str:
            """Record `text`."""
            self.done.append(text)
            return text

        return [Tool.from_function(slow), Tool.from_function(record)]


async def _settle() -> None:
    for _ in range(3):
        gc.collect()
        await asyncio.sleep(0.25)


_GENERATOR_IN_FLIGHT = """
async def gen(t):
    try:
        yield 1
    finally:
        await t.slow(text="from finally")

async def use():
    async for x in gen(tools):
        break

await use()
await asyncio.sleep(0.05)  # the loop runs the generator's finalizer: its call is in flight
return "done"
"""


async def test_an_async_generators_finally_does_not_outlive_the_plan(
    make_cm: Callable[..., CodeMode],
) -> None:
    """The plan returns while its generator's `finally` waits on a tool: that call is
    cancelled with the plan, not completed after `run()` returned (unrecorded)."""
    effects = Effects()
    cm = make_cm(effects.tools(), limits=Limits(timeout=5.0))
    result = await cm.run(_GENERATOR_IN_FLIGHT)
    assert result.status == "ok", result.to_model()
    await _settle()
    assert effects.done == [], "a tool ran after the plan ended"


_LEFTOVER_ON_THE_LOOP = """
import asyncio
loop = asyncio.sleep(0.01).send(None).get_loop()
loop.create_task(asyncio.gather(asyncio.sleep(0.3), tools.record(text="task")))
loop.call_later(0.3, loop.create_task, asyncio.gather(tools.record(text="callback")))
return "done"
"""


async def test_tasks_and_callbacks_a_plan_left_never_call_tools_afterwards(
    make_cm: Callable[..., CodeMode],
) -> None:
    """A plan that reached the loop left a task and a timer that call tools 0.3 s later, when
    the next plan runs: neither call is executed, nor recorded in the next plan."""
    effects = Effects()
    cm = make_cm(effects.tools(), limits=Limits(timeout=5.0))
    first = await cm.run(_LEFTOVER_ON_THE_LOOP)
    if first.error is not None and "attribute" in first.error.message.lower():
        pytest.skip(f"the plan cannot reach the loop here: {first.error.message}")
    second = await cm.run("await asyncio.sleep(0.6)\nreturn await tools.record(text='second')")
    assert second.status == "ok", second.to_model()
    await _settle()
    assert [c.arguments for c in second.tool_calls] == [{"text": "second"}]
    assert effects.done == ["second"]


async def test_a_process_wide_registration_does_not_reach_the_next_plan() -> None:
    """`typing.Mapping.register(list)` registers on the worker's real `collections.abc`;
    by default the next plan runs on a fresh worker, where a list is no Mapping."""
    cm = CodeMode([], executor=IsolatedExecutor(pool_size=1), limits=Limits(timeout=10.0))
    async with cm:
        first = await cm.run("import typing\ntyping.Mapping.register(list)\nreturn 1")
        if first.status != "ok":
            pytest.skip(f"the registry is out of reach here: {first.to_model()}")
        second = await cm.run("import typing\nreturn isinstance([], typing.Mapping)")
    assert (second.status, second.value) == ("ok", False), second.to_model()


_REGISTER = "import typing\ntyping.Mapping.register(list)\nreturn 0"
_SEEN = "import typing\nreturn isinstance([], typing.Mapping)"


async def test_recycled_workers_carry_state_only_until_they_are_replaced() -> None:
    """`plans_per_worker=3`: a worker runs three plans, then a fresh one takes over."""
    executor = IsolatedExecutor(pool_size=1, plans_per_worker=3)
    cm = CodeMode([], executor=executor, limits=Limits(timeout=10.0))
    async with cm:
        first = await cm.run(_REGISTER)
        if first.status != "ok":
            pytest.skip(f"the registry is out of reach here: {first.to_model()}")
        seen = [(await cm.run(_SEEN)).value for _ in range(4)]
    assert seen == [True, True, False, False]


async def test_a_plan_that_leaves_anything_on_its_workers_loop_retires_the_worker() -> None:
    """Even when workers are reused, one whose plan left a timer behind is not."""
    executor = IsolatedExecutor(pool_size=1, plans_per_worker=None)
    cm = CodeMode([], executor=executor, limits=Limits(timeout=10.0))
    async with cm:
        registered = await cm.run(_REGISTER)
        if registered.status != "ok":
            pytest.skip(f"the registry is out of reach here: {registered.to_model()}")
        assert (await cm.run(_SEEN)).value is True  # reused: the registration is still there
        left = await cm.run(
            "import asyncio\nloop = asyncio.sleep(0.01).send(None).get_loop()\n"
            "loop.call_later(100, print, 'later')\nreturn 1"
        )
        if left.status != "ok":
            pytest.skip(f"the loop is out of reach here: {left.to_model()}")
        assert (await cm.run(_SEEN)).value is False  # a fresh worker
