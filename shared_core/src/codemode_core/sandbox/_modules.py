"""The modules and builtins a plan can reach: curated proxies, never the real objects.

A real module is a gateway (`json.codecs.open`, `re.functools`, `random.seed` changing the
host's state), so a plan gets a `SafeModule` exposing a reviewed list of members. Functions
that C code could drain forever (`itertools.count`) or that build unbounded values
(`math.factorial`, `bytes(n)`) are wrapped with the execution's budgets.
"""

from __future__ import annotations

import builtins
import datetime
import functools
import inspect
import itertools
import json
import math
import random
import re
import statistics
import string
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from codemode_core.errors import ToolError
from codemode_core.sandbox._callables import plan_callable
from codemode_core.sandbox._consumers import collection_types, consumer_builtins, feed
from codemode_core.sandbox._re_flags import with_checked_flags
from codemode_core.sandbox._sizes import text_size
from codemode_core.sandbox._sources import itertools_members, source_builtins
from codemode_core.sandbox._typing_facade import typing_members
from codemode_core.sandbox.guards import (
    PlanRuntime,
    bounded_matches,
    bounded_sub,
    register_proxy_type,
    visible_attributes,
)
from codemode_core.sandbox.policy import ALLOWED_MODULES

__all__ = ["ModuleLoader", "SafeModule", "build_builtins"]


@register_proxy_type
class SafeModule:
    """A read-only module stand-in exposing only reviewed members."""

    __slots__ = ("_members", "_name")

    def __init__(self, name: str, members: Mapping[str, Any]) -> None:
        # Host functions are handed out as `PlanFunction`s: opaque, with a repr that shows
        # neither their module's internals nor an address (`<function json.dumps>`).
        object.__setattr__(self, "_name", name)
        object.__setattr__(
            self,
            "_members",
            {member: plan_callable(f"{name}.{member}", value) for member, value in members.items()},
        )

    def __getattr__(self, name: str) -> Any:
        try:
            return self._members[name]
        except KeyError:
            available = ", ".join(sorted(self._members))
            raise AttributeError(
                f"module `{self._name}` has no member `{name}` in plans (available: {available})"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError(f"module `{self._name}` is read-only")

    def __dir__(self) -> list[str]:
        return sorted(self._members)

    def __repr__(self) -> str:
        return f"<module {self._name}>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("modules cannot be copied")


def _pick(module: Any, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(module, name) for name in names}


def _public(module: Any) -> dict[str, Any]:
    return {
        name: value
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, type(math))
    }


def _math(rt: PlanRuntime) -> dict[str, Any]:
    members = _public(math)

    def factorial(n: int) -> int:
        if type(n) is int and n > 20_000:
            rt._too_big("math.factorial", n, 20_000, "as argument")
        return math.factorial(n)

    def comb(n: int, k: int) -> int:
        if type(n) is int and n > 100_000:
            rt._too_big("math.comb", n, 100_000, "as argument")
        return math.comb(n, k)

    def perm(n: int, k: int | None = None) -> int:
        if type(n) is int and n > 20_000:
            rt._too_big("math.perm", n, 20_000, "as argument")
        return math.perm(n, k)

    def prod(iterable: Iterable[Any], *, start: Any = 1) -> Any:
        result = start
        for item in rt.counting(iterable):
            result = rt.mul(result, item)
        return result

    def many_ints(name: str) -> Callable[..., int]:
        real = getattr(math, name)

        def bounded(*integers: Any) -> int:
            rt.count(len(integers))
            bits = builtins.sum(n.bit_length() for n in integers if type(n) is int)
            if name == "lcm" and bits > rt.max_bits:
                rt._too_big(f"math.{name}", bits, rt.max_bits, "bits")
            rt.check_int_cost(f"math.{name}", max(integers, default=0), max(integers, default=0))
            return int(real(*integers))

        return bounded

    def fsum(iterable: Iterable[Any]) -> float:
        return math.fsum(feed(rt, iterable))

    members.update(
        factorial=factorial,
        comb=comb,
        perm=perm,
        prod=prod,
        lcm=many_ints("lcm"),
        gcd=many_ints("gcd"),
        fsum=fsum,
    )
    return members


def _random(rt: PlanRuntime) -> dict[str, Any]:
    generator = random.Random(rt.seed)  # journaled seed: a resumed plan draws the same numbers
    names = [
        "random",
        "randint",
        "randrange",
        "choice",
        "choices",
        "shuffle",
        "sample",
        "uniform",
        "gauss",
        "normalvariate",
        "seed",
        "getrandbits",
        "triangular",
        "betavariate",
        "expovariate",
    ]
    members = {name: getattr(generator, name) for name in names}

    # Python loops inside `random` that no tick reaches: counted, and sizes bounded, up front.
    def getrandbits(k: int) -> int:
        if type(k) is int and k > rt.max_bits:
            rt._too_big("random.getrandbits", k, rt.max_bits, "bits")
        return generator.getrandbits(k)

    def choices(
        population: Any, weights: Any = None, *, cum_weights: Any = None, k: int = 1
    ) -> Any:
        if type(k) is int and k > rt.max_seq:
            rt._too_big("random.choices", k, rt.max_seq)
        rt.count(max(0, k) + (len(population) if weights is not None else 0))
        return generator.choices(population, weights, cum_weights=cum_weights, k=k)

    def sample(population: Any, k: int, *, counts: Any = None) -> Any:
        rt.count(len(population) + (k if type(k) is int else 0))
        return generator.sample(population, k, counts=counts)

    def shuffle(x: Any) -> None:
        rt.count(len(x))
        generator.shuffle(x)

    members.update(getrandbits=getrandbits, choices=choices, sample=sample, shuffle=shuffle)
    return members


def _statistics(rt: PlanRuntime, names: list[str]) -> dict[str, Any]:
    """`statistics` computes in Python (exact fractions) where no tick reaches: each data
    point is counted as an operation, and `quantiles(n=...)` is bounded."""

    def counted(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            data = [_materialized(rt, a) for a in args]
            for key in ("weights",):
                if kwargs.get(key) is not None:
                    kwargs[key] = _materialized(rt, kwargs[key])
            n = kwargs.get("n")
            if type(n) is int:
                if n > rt.max_seq:
                    rt._too_big("statistics.quantiles", n, rt.max_seq)
                rt.count(n)
            return fn(*data, **kwargs)

        return wrapper

    members = _pick(statistics, names)
    return {
        name: counted(value) if callable(value) and not isinstance(value, type) else value
        for name, value in members.items()
    }


def _materialized(rt: PlanRuntime, value: Any) -> Any:
    if isinstance(value, (int, float, str, bytes)) or value is None:
        return value
    items = value if type(value) in (list, tuple) else list(feed(rt, value))
    rt.count(len(items))
    return items


def _json(rt: PlanRuntime) -> dict[str, Any]:
    def dumps(obj: Any, **options: Any) -> str:
        """`json.dumps`, its text measured first (indentation and separators included)."""
        indent = options.get("indent")
        indent_size = len(indent) if isinstance(indent, str) else indent or 0
        if type(indent_size) is not int:
            indent_size = 0
        separators = options.get("separators") or ((", ", ": ") if indent is None else (",", ": "))
        item_sep, key_sep = (len(str(part)) for part in separators[:2])
        size = text_size(
            obj,
            rt.max_seq,
            item_sep=item_sep,
            key_sep=key_sep,
            indent=indent_size,
            ascii_only=options.get("ensure_ascii", True),
        )
        rt.charge(size)
        if size > rt.max_seq:
            rt._text_too_long("json.dumps")
        default = options.get("default")
        if default is not None:
            produced = size

            def measured_default(value: Any) -> Any:
                nonlocal produced
                result = default(value)
                produced += text_size(result, rt.max_seq, item_sep=item_sep, indent=indent_size)
                if produced > rt.max_seq:
                    rt._text_too_long("json.dumps")
                return result

            options["default"] = measured_default
        return json.dumps(obj, **options)

    return {"dumps": dumps, "loads": json.loads, "JSONDecodeError": json.JSONDecodeError}


def _re(rt: PlanRuntime, names: list[str]) -> dict[str, Any]:
    members = _pick(re, names)

    def sub(pattern: Any, repl: Any, string: Any, count: int = 0, flags: int = 0) -> Any:
        return bounded_sub(rt, re.compile(pattern, flags), repl, string, count, n=False)

    def subn(pattern: Any, repl: Any, string: Any, count: int = 0, flags: int = 0) -> Any:
        return bounded_sub(rt, re.compile(pattern, flags), repl, string, count, n=True)

    def findall(pattern: Any, string: Any, flags: int = 0) -> Any:
        compiled = re.compile(pattern, flags)
        bounded_matches(rt, compiled, string)
        return compiled.findall(string)

    def split(pattern: Any, string: Any, maxsplit: int = 0, flags: int = 0) -> Any:
        compiled = re.compile(pattern, flags)
        bounded_matches(rt, compiled, string, splits=maxsplit if type(maxsplit) is int else 0)
        return compiled.split(string, maxsplit)

    def finditer(pattern: Any, string: Any, flags: int = 0) -> Any:
        return rt.counting(re.compile(pattern, flags).finditer(string))

    members.update(sub=sub, subn=subn, findall=findall, split=split, finditer=finditer)
    return with_checked_flags(members)


def _time(rt: PlanRuntime) -> dict[str, Any]:
    def sleep(seconds: float) -> None:
        raise RuntimeError("time.sleep blocks everything; use `await asyncio.sleep(seconds)`")

    # Every reading goes through the runtime's journaled clock, so a resumed plan sees the
    # times it saw before the pause; monotonic and perf_counter are the same clock (plans only
    # take differences of them).
    def strftime(format: str, t: Any = None) -> str:
        rt.check_strftime(format)
        return time.strftime(format, time.localtime(rt.now()) if t is None else t)

    def gmtime(seconds: float | None = None) -> time.struct_time:
        return time.gmtime(rt.now() if seconds is None else seconds)

    def localtime(seconds: float | None = None) -> time.struct_time:
        return time.localtime(rt.now() if seconds is None else seconds)

    return {
        "time": rt.now,
        "monotonic": rt.now,
        "perf_counter": rt.now,
        "strftime": strftime,
        "gmtime": gmtime,
        "localtime": localtime,
        "sleep": sleep,
    }


def _datetime(rt: PlanRuntime) -> dict[str, Any]:
    """The real module's types: `isinstance(x, datetime.datetime)` holds for every datetime a
    plan meets. `now()`, `utcnow()` and `today()` read the plan's journaled clock: the guards
    bind them per execution (`_CLASS_SPECIAL_ATTRIBUTES` in `guards.py`)."""
    return _pick(
        datetime, ["date", "datetime", "time", "timedelta", "timezone", "MINYEAR", "MAXYEAR"]
    )


def _uuid(rt: PlanRuntime) -> dict[str, Any]:
    generator = random.Random(rt.seed ^ 0x5EED_0F_1D5)  # its own stream, journaled seed

    def uuid4() -> uuid.UUID:
        return uuid.UUID(int=generator.getrandbits(128), version=4)

    return {"uuid4": uuid4, "UUID": uuid.UUID}


def _copy(rt: PlanRuntime) -> dict[str, Any]:
    def deepcopy(value: Any) -> Any:
        rt.tick()
        if isinstance(value, dict):
            return type(value)((k, deepcopy(v)) for k, v in value.items())
        if isinstance(value, (list, set, tuple)):
            return type(value)(deepcopy(v) for v in value)
        return value

    def copy(value: Any) -> Any:
        if isinstance(value, (dict, list, set)):
            return value.copy()
        return value

    return {"copy": copy, "deepcopy": deepcopy}


_MODULE_MEMBERS: dict[str, Callable[[PlanRuntime], dict[str, Any]]] = {
    "collections": collection_types,
    "copy": _copy,
    "datetime": _datetime,
    "functools": lambda rt: {
        **_pick(functools, ["partial", "cmp_to_key", "lru_cache", "cache"]),
        "reduce": lambda function, iterable, *initial: functools.reduce(
            function, rt.getiter(iterable), *initial
        ),
    },
    "itertools": itertools_members,
    "json": _json,
    "math": _math,
    "random": _random,
    "re": lambda rt: _re(
        rt,
        [
            "compile",
            "search",
            "match",
            "fullmatch",
            "findall",
            "finditer",
            "sub",
            "subn",
            "split",
            "escape",
            "error",
            "IGNORECASE",
            "I",
            "MULTILINE",
            "M",
            "DOTALL",
            "S",
            "VERBOSE",
            "X",
            "ASCII",
            "A",
        ],
    ),
    "statistics": lambda rt: _statistics(
        rt,
        [
            "mean",
            "fmean",
            "median",
            "median_low",
            "median_high",
            "mode",
            "multimode",
            "stdev",
            "pstdev",
            "variance",
            "pvariance",
            "quantiles",
            "geometric_mean",
            "harmonic_mean",
            "correlation",
            "covariance",
            "linear_regression",
            "StatisticsError",
        ],
    ),
    "string": lambda rt: _pick(
        string,
        [
            "ascii_letters",
            "ascii_lowercase",
            "ascii_uppercase",
            "digits",
            "hexdigits",
            "octdigits",
            "punctuation",
            "whitespace",
            "printable",
            "capwords",
        ],
    ),
    "time": _time,
    "typing": lambda rt: typing_members(),
    "uuid": _uuid,
}
assert set(_MODULE_MEMBERS) | {"asyncio"} == ALLOWED_MODULES


class ModuleLoader:
    """Builds a plan's module proxies on first import (most plans import one or two)."""

    def __init__(self, runtime: PlanRuntime, asyncio_module: SafeModule) -> None:
        self._runtime = runtime
        self._loaded: dict[str, SafeModule] = {"asyncio": asyncio_module}

    def load(self, name: str) -> SafeModule:
        module = self._loaded.get(name)
        if module is None:
            factory = _MODULE_MEMBERS.get(name)
            if factory is None:
                raise ImportError(
                    f"module `{name}` is not available in plans. "
                    f"Available modules: {', '.join(sorted(ALLOWED_MODULES))}."
                )
            module = self._loaded[name] = SafeModule(name, factory(self._runtime))
        return module


_SAFE_BUILTIN_NAMES = [
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "bool",
    "callable",
    "chr",
    "complex",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "frozenset",
    "hash",
    "hex",
    "int",
    "isinstance",
    "issubclass",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "oct",
    "ord",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "str",
    "tuple",
    "zip",
    "aiter",
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "Exception",
    "IndexError",
    "KeyError",
    "LookupError",
    "NameError",
    "NotImplementedError",
    "OverflowError",
    "RecursionError",
    "RuntimeError",
    "StopAsyncIteration",
    "StopIteration",
    "TimeoutError",
    "TypeError",
    "UnicodeError",
    "ValueError",
    "ZeroDivisionError",
]


_SAFE_BUILTINS = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
_NUMBERS = frozenset({int, float, bool})


def build_builtins(rt: PlanRuntime, modules: ModuleLoader) -> dict[str, Any]:
    """The plan's `__builtins__`: safe builtins plus budget-aware replacements."""
    names = dict(_SAFE_BUILTINS)
    max_seq = rt.max_seq

    def guarded_range(*args: int) -> range:
        r = range(*args)
        if len(r) > max_seq:
            rt._too_big("range()", len(r), max_seq)
        return r

    def guarded_iter(obj: Any, *sentinel: Any) -> Any:
        return rt.counting(iter(obj, *sentinel)) if sentinel else rt.getiter(obj)

    def guarded_sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
        items: list[Any] | tuple[Any, ...] = (
            iterable if isinstance(iterable, (list, tuple)) else list(feed(rt, iterable))
        )
        if len(items) > 32:
            rt.charge(len(items))
        if type(start) in _NUMBERS and _NUMBERS.issuperset(map(type, items)):
            return builtins.sum(items, start)
        if type(start) in (list, tuple) and all(type(item) is type(start) for item in items):
            # Concatenate once instead of quadratically (`sum(lists, [])`), size-checked first.
            size = len(start) + builtins.sum(len(item) for item in items)
            if size > max_seq:
                rt._too_big("sum()", size, max_seq)
            return type(start)(itertools.chain(start, *items))
        total = start
        for item in items:
            total = rt.add(total, item)
        return total

    def dir_(obj: Any = None) -> list[str]:
        if obj is None:
            raise TypeError("dir() needs an argument in plans")
        return visible_attributes(obj)

    async def anext_(iterator: Any, *default: Any) -> Any:
        # A coroutine, not the C `anext` awaitable: that one has `send`/`throw` and can be
        # driven with `next()`, which hands the plan the raw asyncio futures it yields.
        return await builtins.anext(iterator, *default)

    def import_(
        name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
    ) -> Any:
        if level or "." in name:
            raise ImportError(f"module `{name}` is not available in plans")
        return modules.load(name)

    for name, value in {**consumer_builtins(rt), **source_builtins(rt)}.items():
        # Guarded functions get a plain repr; the guarded types (`list`, `str`) stay types.
        names[name] = plan_callable(name, value) if inspect.isfunction(value) else value
    replacements = dict(
        range=guarded_range,
        iter=guarded_iter,
        sum=guarded_sum,
        pow=rt.pow,
        format=rt.format,
        getattr=rt.getattr,
        hasattr=rt.hasattr,
        print=rt.print,
        dir=dir_,
        anext=anext_,
        ToolError=ToolError,
    )
    # Host functions and bound methods (`print` is `PlanRuntime.print`) reach the plan as
    # `PlanFunction`s, opaque and with a plain repr (C builtins such as `len` stay as they are).
    for name, value in replacements.items():
        names[name] = plan_callable(name, value)
    names["__import__"] = import_
    return names
