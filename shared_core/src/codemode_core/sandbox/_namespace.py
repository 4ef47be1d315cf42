"""The globals a compiled plan runs in: guards, builtins, `tools`, `codemode`, `asyncio`.

Built fresh for every execution from that execution's `PlanRuntime`, `Bridge` and
`Manifest`, so nothing is shared between plans; every executor backend uses this one function.
"""

from __future__ import annotations

from typing import Any

from codemode_core.sandbox._modules import ModuleLoader, SafeModule, build_builtins
from codemode_core.sandbox._plan_api import (
    DiscoveryProxy,
    awaitable,
    build_asyncio,
    build_tools,
    direct_call,
)
from codemode_core.sandbox._snippets import build_snippets
from codemode_core.sandbox.executor import Bridge, Manifest
from codemode_core.sandbox.guards import PlanRuntime

__all__ = ["build_plan_globals"]


def build_plan_globals(runtime: PlanRuntime, bridge: Bridge, manifest: Manifest) -> dict[str, Any]:
    runtime.on_log = bridge.log
    runtime.on_clock = bridge.clock
    asyncio_module = SafeModule("asyncio", build_asyncio(runtime))
    namespace: dict[str, Any] = {
        "__builtins__": build_builtins(runtime, ModuleLoader(runtime, asyncio_module)),
        "__name__": "plan",
        "_getattr_": runtime.getattr,
        "_getitem_": runtime.getitem,
        "_getiter_": runtime.getiter,
        "_write_": runtime.write,
        "_inplacevar_": runtime.inplacevar,
        "_apply_": runtime.apply,
        "_unpack_sequence_": runtime.unpack_sequence,
        "_iter_unpack_sequence_": runtime.iter_unpack_sequence,
        "_cm_tick_": runtime.tick,
        "_cm_tickv_": runtime.tickv,
        "_cm_check_": runtime.check_handler,
        "_cm_final_": runtime.check,
        "_cm_mul_": runtime.mul,
        "_cm_pow_": runtime.pow,
        "_cm_lshift_": runtime.lshift,
        "_cm_add_": runtime.add,
        "_cm_mod_": runtime.mod,
        "_cm_format_": runtime.format_value,
        "_cm_fvalue_": runtime.fvalue,
        "_cm_fstring_": runtime.fstring,
        "_cm_yield_from_": runtime.yield_from,
        "_cm_floordiv_": runtime.floordiv,
        "_cm_awaitable_": awaitable,
        "_cm_call_": direct_call,
        "_cm_aiter_": runtime.aiter,
        "tools": build_tools(runtime, bridge, manifest),
        "asyncio": asyncio_module,
    }
    if manifest.discovery:
        namespace["codemode"] = DiscoveryProxy(runtime, bridge)
    if manifest.snippets:
        namespace["snippets"] = build_snippets(runtime, bridge, manifest)
    return namespace
