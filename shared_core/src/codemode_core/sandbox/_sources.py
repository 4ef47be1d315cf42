"""Lazy iterators that pay for themselves: every item they yield is a tick, whoever pulls it.

Guarding the *consumers* of lazy iteration (`max`, `sorted`, `list` ...) one by one left every
consumer not on the list free: `collections.deque(map(abs, range(10**7)), 0)`, `set.update`,
`list += it`, `list[int](it)` and `itertools.product` each drain a `map` in C with no tick, so
the plan overran its operation budget and held the event loop for as long as it liked. So the
*sources* are metered instead: the `map`, `filter`, `zip`, `enumerate` and `reversed` a plan
calls, every `itertools` constructor and `re.finditer` return iterators that tick once per
item, and any C code pulling from them is metered with them (the consumers pass such an
iterator through untouched, so nothing is counted twice). What remains unmetered is a sized
container (a list, a `range`); the bulk operations on those charge their size up front
(`feed`, `bulk`).
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from codemode_core.sandbox._consumers import feed
from codemode_core.sandbox.guards import PlanRuntime

__all__ = ["itertools_members", "source_builtins"]


def source_builtins(rt: PlanRuntime) -> dict[str, Any]:
    """The plan's `map`, `filter`, `zip`, `enumerate` and `reversed`: counted per item."""
    counting = rt.counting

    def map_(function: Any, iterable: Any, /, *iterables: Any) -> Any:
        return counting(builtins.map(function, iterable, *iterables))

    def filter_(function: Any, iterable: Any, /) -> Any:
        # `filter` may pull many items per item it yields: its input is metered as well.
        return counting(builtins.filter(function, feed(rt, iterable)))

    def zip_(*iterables: Any, strict: bool = False) -> Any:
        return counting(builtins.zip(*iterables, strict=strict))

    def enumerate_(iterable: Any, start: int = 0) -> Any:
        return counting(builtins.enumerate(iterable, start))

    def reversed_(sequence: Any, /) -> Any:
        return counting(builtins.reversed(sequence))

    made = {
        "map": map_,
        "filter": filter_,
        "zip": zip_,
        "enumerate": enumerate_,
        "reversed": reversed_,
    }
    for name, fn in made.items():
        fn.__name__ = fn.__qualname__ = name
    return made


_ITERABLE_ARGS: dict[str, tuple[int, ...] | None] = {
    "accumulate": (0,),
    "chain": None,
    "combinations": (0,),
    "combinations_with_replacement": (0,),
    "compress": (0, 1),
    "count": (),
    "cycle": (0,),
    "dropwhile": (1,),
    "filterfalse": (1,),
    "groupby": (0,),
    "islice": (0,),
    "pairwise": (0,),
    "permutations": (0,),
    "product": None,
    "repeat": (),
    "starmap": (1,),
    "takewhile": (1,),
    "zip_longest": None,
}
"""Per `itertools` constructor, the positions of its iterable arguments (None: all of them).

They are fed (`feed`: a sized input is charged by its size, any other is counted per item)
because several constructors pull far more than they yield: `product`, `combinations` and
`permutations` drain their inputs when called, `filterfalse`, `dropwhile`, `compress` and
`islice` may skip any number of items between two they yield."""


def itertools_members(rt: PlanRuntime) -> dict[str, Any]:
    """`itertools` for plans: inputs fed, results counted per item."""

    def constructor(name: str) -> Callable[..., Any]:
        real = getattr(itertools, name)
        positions = _ITERABLE_ARGS[name]

        def make(*args: Any, **kwargs: Any) -> Any:
            fed = tuple(
                feed(rt, arg) if positions is None or index in positions else arg
                for index, arg in enumerate(args)
            )
            return rt.counting(real(*fed, **kwargs))

        make.__name__ = make.__qualname__ = name
        return make

    members: dict[str, Any] = {name: constructor(name) for name in _ITERABLE_ARGS}

    def chain_from_iterable(iterables: Iterable[Iterable[Any]]) -> Any:
        return rt.counting(itertools.chain.from_iterable(feed(rt, iterables)))

    def tee(iterable: Any, n: int = 2) -> tuple[Any, ...]:
        return tuple(rt.counting(i) for i in itertools.tee(feed(rt, iterable), n))

    members["chain_from_iterable"] = chain_from_iterable
    members["tee"] = tee
    return members
