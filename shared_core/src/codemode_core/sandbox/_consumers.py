"""Builtins that consume whole iterables in C (`max`, `sorted`, `list`, `dict` ...), made to
pay for what they consume.

A `for` loop ticks once per item, but `max(map(abs, range(10**7)))` is one call: the C loop
inside it pulls ten million items and no tick ever runs, so the plan overruns its deadline and
its operation budget while holding the event loop. Here every consumer is fed through
`feed`: a lazy iterable (a `map`, `zip`, `filter`, generator of a library) is counted item by
item as the consumer pulls it, exactly like a `for` loop; a container whose size is known is
passed as it is, and only its size is charged to the clock (see `PlanRuntime.charge`).

The type builtins (`list`, `dict`, `str` ...) stay usable as types: `GuardedType` constructs
through the guard, and answers `isinstance`, `issubclass`, `list[int]` and `str.lower` as the
real type does.
"""

from __future__ import annotations

import builtins
import collections
import math
from collections.abc import Callable, Iterable
from types import GeneratorType
from typing import Any

from codemode_core.sandbox.guards import PlanRuntime, register_proxy_type
from codemode_core.sandbox.rewrite import PLAN_FILENAME

__all__ = ["GuardedType", "collection_types", "consumer_builtins", "feed"]

_SIZED_INPUTS = frozenset(
    {
        list,
        tuple,
        str,
        bytes,
        bytearray,
        dict,
        set,
        frozenset,
        range,
        collections.deque,
        type({}.keys()),
        type({}.values()),
        type({}.items()),
    }
)
"""Containers whose length is known up front: charged by size, never wrapped."""


_CHARGE_FROM = 32
"""Shorter containers are not worth a call to `charge` (the next tick reads the clock)."""


def feed(rt: PlanRuntime, iterable: Any) -> Any:
    """`iterable` as a C consumer should see it: charged if sized, counted per item if lazy.

    Generators of the plan's own code are passed as they are: their loops tick already.
    """
    kind = type(iterable)
    if kind in _SIZED_INPUTS:
        if len(iterable) > _CHARGE_FROM:
            rt.charge(len(iterable))
        return iterable
    if kind is GeneratorType and iterable.gi_code.co_filename in _SELF_COUNTING:
        return iterable
    return rt.counting(iterable)


_SELF_COUNTING = frozenset({PLAN_FILENAME, PlanRuntime._counting.__code__.co_filename})
"""Generators whose items are ticked already: the plan's own, and `PlanRuntime.counting`'s.
(The second is the guards module's file; its only generators are the counting ones.)"""


def _unwrap(value: Any) -> Any:
    if type(value) is GuardedType:
        return value._real
    if type(value) is tuple:
        return tuple(_unwrap(item) for item in value)
    return value


@register_proxy_type
class GuardedType:
    """A builtin type whose construction is guarded; otherwise it behaves as the type."""

    __slots__ = ("_make", "_real", "_runtime")

    def __init__(self, runtime: PlanRuntime, real: type, make: Callable[..., Any]) -> None:
        self._runtime = runtime
        self._real = real
        self._make = make

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._make(*args, **kwargs)

    def __instancecheck__(self, obj: Any) -> bool:
        return isinstance(obj, self._real)

    def __subclasscheck__(self, cls: Any) -> bool:
        return issubclass(_unwrap(cls), self._real)

    def __getattr__(self, name: str) -> Any:
        # `str.lower`, `dict.fromkeys`, `int.from_bytes`: the real type's, through the guard.
        return self._runtime.getattr(self._real, name)

    def __getitem__(self, key: Any) -> Any:
        # `list[int]`: the alias, but calling it still constructs through the guard (a real
        # `list[int](it)` would drain `it` in C, unmetered).
        return GuardedType(self._runtime, self._real[_unwrap(key)], self._make)  # type: ignore[index]

    def __iter__(self) -> Any:
        # Without it, `x in list` would index `list[0]`, `list[1]`, ... (aliases, never an
        # IndexError) in C forever; a type is not iterable in Python either.
        raise TypeError(f"'{_type_label(self._real)}' type is not iterable")

    def __or__(self, other: Any) -> Any:
        return self._real | _unwrap(other)

    def __ror__(self, other: Any) -> Any:
        return _unwrap(other) | self._real

    def __repr__(self) -> str:
        return repr(self._real)

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("types cannot be copied")


def consumer_builtins(rt: PlanRuntime) -> dict[str, Any]:
    """The plan's `max`, `min`, `sorted`, `any`, `all`, `divmod`, `repr`, `ascii` and the
    guarded type builtins (`list`, `tuple`, `set`, `frozenset`, `dict`, `str`, `bytes`,
    `bytearray`)."""
    max_seq = rt.max_seq

    def one_iterable(real: Callable[..., Any]) -> Callable[..., Any]:
        def consume(*args: Any, **kwargs: Any) -> Any:
            if len(args) == 1:
                return real(feed(rt, args[0]), **kwargs)
            return real(*args, **kwargs)

        consume.__name__ = consume.__qualname__ = real.__name__
        return consume

    def sorted_(iterable: Iterable[Any], /, **kwargs: Any) -> list[Any]:
        items = builtins.list(feed(rt, iterable))
        rt.charge(len(items) * max(1, len(items).bit_length()))
        return builtins.sorted(items, **kwargs)

    def guarded(real: type, make: Callable[..., Any]) -> GuardedType:
        return GuardedType(rt, real, make)

    def collection(real: type) -> GuardedType:
        def make(*args: Any) -> Any:
            return real(feed(rt, args[0])) if args else real()

        return guarded(real, make)

    def dict_(*args: Any, **kwargs: Any) -> dict[Any, Any]:
        if args and not isinstance(args[0], dict) and not hasattr(args[0], "keys"):
            return builtins.dict(feed(rt, args[0]), **kwargs)
        if args and isinstance(args[0], dict):
            rt.charge(len(args[0]))
        return builtins.dict(*args, **kwargs)

    def binary(real: type) -> GuardedType:
        def make(*args: Any, **kwargs: Any) -> Any:
            if args:
                first = args[0]
                if type(first) is int:
                    if first > max_seq:
                        rt._too_big(f"{real.__name__}()", first, max_seq, "bytes")
                elif not isinstance(first, (str, bytes, bytearray)):
                    args = (feed(rt, first), *args[1:])
            return real(*args, **kwargs)

        return guarded(real, make)

    max_bits = rt.max_bits

    def int_(*args: Any, **kwargs: Any) -> Any:
        # `int(text, 2)` is not capped by `sys.int_max_str_digits` (only base 10 is): a
        # 2 M-character text gave a 2 M-bit integer; bounded by max_int_bits before it is
        # parsed, at the base's bits per digit (base 0 reads a prefix: hex at most).
        if args and isinstance(args[0], (str, bytes, bytearray)):
            base = args[1] if len(args) > 1 else kwargs.get("base", 10)
            if type(base) is int and 0 <= base <= 36 and base != 1:
                bits = int(len(args[0]) * (math.log2(base) if base else 4.0))
                if bits > max_bits:
                    rt._too_big("int()", bits, max_bits, "bits")
        return builtins.int(*args, **kwargs)

    def round_(number: Any, ndigits: Any = None) -> Any:
        # `round(n, -k)` divides by 10**k: that power is bounded like any other integer,
        # and the division like `//`.
        if ndigits is None:
            return builtins.round(number)
        if type(number) is int and type(ndigits) is int and ndigits < 0:
            bits = -ndigits * 3322 // 1000 + 1
            if bits > max_bits:
                rt._too_big("round()", bits, max_bits, "bits")
            rt.check_int_cost("round()", number, 1 << bits)
        return builtins.round(number, ndigits)

    return {
        "int": guarded(int, int_),
        "round": round_,
        "max": one_iterable(builtins.max),
        "min": one_iterable(builtins.min),
        "any": one_iterable(builtins.any),
        "all": one_iterable(builtins.all),
        "sorted": sorted_,
        "divmod": rt.divmod,
        "repr": rt.to_repr,
        "ascii": rt.to_ascii,
        "list": collection(list),
        "tuple": collection(tuple),
        "set": collection(set),
        "frozenset": collection(frozenset),
        "dict": guarded(dict, dict_),
        "str": guarded(str, rt.to_str),
        "bytes": binary(bytes),
        "bytearray": binary(bytearray),
    }


def collection_types(rt: PlanRuntime) -> dict[str, Any]:
    """The `collections` classes, constructed through the guard: `deque(it, 0)`,
    `Counter(it)`, `OrderedDict(it)` and `defaultdict(f, it)` drain `it` in C, so it is
    metered (`PlanRuntime.metered`) first. They stay usable as types (`isinstance`)."""

    def metering(real: type, position: int, keyword: str | None) -> GuardedType:
        def make(*args: Any, **kwargs: Any) -> Any:
            if len(args) > position:
                args = (*args[:position], rt.metered(args[position]), *args[position + 1 :])
            elif keyword is not None and keyword in kwargs:
                kwargs[keyword] = rt.metered(kwargs[keyword])
            return real(*args, **kwargs)

        return GuardedType(rt, real, make)

    return {
        "Counter": metering(collections.Counter, 0, None),
        "OrderedDict": metering(collections.OrderedDict, 0, None),
        "defaultdict": metering(collections.defaultdict, 1, None),
        "deque": metering(collections.deque, 0, "iterable"),
        "ChainMap": collections.ChainMap,
    }


def _type_label(kind: Any) -> str:
    return str(getattr(kind, "__name__", "type"))
