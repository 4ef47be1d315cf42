"""`PlanFunction`: how a host callable is handed to a plan (module members, builtins).

A host function's own `repr` names its module, qualified name, the object it is bound to and
its address (`<bound method PlanRuntime.print of <codemode_core...PlanRuntime object at
0x7f…>>`), and its attributes (`__self__`, `__wrapped__`, `__globals__`) reach host objects.
The wrapper shows only the name a plan knows it by, and the guards treat it as opaque: a plan
can call it and nothing more.
"""

from __future__ import annotations

import types
from typing import Any

__all__ = ["PlanFunction", "plan_callable"]


class PlanFunction:
    """A host callable as a plan sees it: callable, opaque, with a plain repr."""

    __slots__ = ("_fn", "_label")
    _codemode_name = "function"
    """How guard messages name the type (the class name is an implementation detail)."""

    def __init__(self, label: str, fn: Any) -> None:
        self._fn = fn
        self._label = label

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<function {self._label}>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("functions cannot be copied in plans")


def plan_callable(label: str, value: Any) -> Any:
    """`value` wrapped in a `PlanFunction` if it is a host function or bound method.

    Classes stay as they are (plans need them for `isinstance` and construction), and so do
    C functions of a module (`len`, `math.sqrt`), whose repr (`<built-in function len>`)
    shows nothing and whose `__self__` is a module the guards never let a plan read.
    """
    kind = type(value)
    if kind is types.FunctionType or kind is types.MethodType:
        return PlanFunction(label, value)
    if kind is types.BuiltinFunctionType:
        owner = value.__self__
        if owner is not None and not isinstance(owner, types.ModuleType):
            return PlanFunction(label, value)  # `random.random`: bound to a `Random` object
    return value
