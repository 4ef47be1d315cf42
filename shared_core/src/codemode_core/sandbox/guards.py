"""Runtime guards: what the names the policy compiled into a plan (`_getattr_`, `_cm_tick_` ...)
actually do, for one execution.

`PlanRuntime` holds one execution's budgets. Its bound methods are installed as the plan's
guard globals, so there is no module-level state and concurrent plans never share counters.
Budget and policy stops raise `PlanAbort`, a `BaseException` the plan cannot name; every
`except` handler in a plan starts with `_cm_check_()`, which re-raises it, and the runtime
remembers the failure, so even `finally: return` cannot turn an abort into success.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]  # CPython's format-field parser, as string.Formatter uses
import asyncio
import collections
import datetime
import difflib
import operator
import re
import string
import sys
import time
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, ValuesView
from types import GeneratorType
from typing import Any, NoReturn

from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from codemode_core.errors import ErrorKind
from codemode_core.limits import Limits
from codemode_core.result import ExecutionError
from codemode_core.sandbox._allowlist import (
    ALLOWED_ATTRIBUTES,
    CLASS_ATTRIBUTES,
    exception_attributes,
)
from codemode_core.sandbox._callables import PlanFunction, plan_callable
from codemode_core.sandbox._provenance import SUBJECT_ATTRIBUTE, new_results
from codemode_core.sandbox._scrub import scrub_exception
from codemode_core.sandbox._sizes import FLAT_TYPES, text_size
from codemode_core.sandbox.rewrite import PLAN_FILENAME

__all__ = [
    "DENIED_ATTRIBUTES",
    "NotAwaitedError",
    "PlanAbort",
    "PlanRuntime",
    "bounded_matches",
    "plan_line",
    "register_pending_type",
    "register_proxy_type",
    "visible_attributes",
]

DENIED_ATTRIBUTES = frozenset(INSPECT_ATTRIBUTES | {"mro", "f_lineno", "tb_lineno"})
"""Attribute names refused at run time on top of every `_`-prefixed name."""

_SIZED = (str, bytes, bytearray, list, tuple, collections.deque)
_NOTHING: frozenset[str] = frozenset()
_ALLOWED_ATTRIBUTES: dict[type, frozenset[str]] = dict(ALLOWED_ATTRIBUTES)
"""The reviewed table as a plain dict (a read-only mapping proxy is slower to query)."""
_ITEM_WRITABLE = frozenset({dict, list, set, bytearray, collections.deque})
_GROWABLE = frozenset({list, bytearray, collections.deque})
"""Exact types that `+=` extends in place from any iterable."""
"""Exact types whose items a plan may write, returned as they are: none takes attributes."""
_WRAPPED_WRITABLE = frozenset(
    {collections.Counter, collections.OrderedDict, collections.defaultdict, collections.ChainMap}
)
"""Exact types whose items a plan may write through `_ItemWriter`: instances have a `__dict__`,
so handing them out as they are would let `x.attr = v` turn them into protocol objects."""
_SPEC_NUMBER = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(r"%[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_MISSING: Any = object()

CLOCK_EVERY = 32
"""The most ticks (or units of charged C work) between two readings of the clock.

A reading costs about 40 ns, a tick at least 50 ns. The interval adapts: it starts at 1 and
doubles up to this while the ticks are quick, and falls back to 1 as soon as one interval took
longer than `_SLOW_WINDOW` (each tick then stands for a large C operation the plan repeats,
`x in big_list` or `big[:]`), so a deadline is seen within about one such operation."""

_CHEAP_INT = 1 << 4096

_SLOW_WINDOW = 0.002
"""Seconds: an interval of ticks slower than this makes the clock be read at every tick."""


_CONVERSIONS = {ord("r"): "r", ord("s"): "s", ord("a"): "a"}
_CONVERT: dict[str, Callable[[Any], str]] = {"r": repr, "s": str, "a": ascii}
_STRFTIME_TYPES = (datetime.date, datetime.time)
_STRFTIME_DIRECTIVE = re.compile(r"%[-_0^#]*(\d*)[EO]?(.?)", re.DOTALL)
_STRFTIME_SIZES = dict.fromkeys("Yy%GgCdmHIMSjUWVeklaAbBhpwuntf", 9) | dict.fromkeys("zZ", 64)
"""The longest text of a `strftime` directive without a width (C-locale names, `%f` six
digits, a time zone's name or offset); any other directive counts as 64."""


def strftime_size(fmt: Any) -> int:
    """An upper bound of the length of `strftime(fmt)`: glibc honours a width in every
    directive (`%250Y` is 250 characters), so each directive counts its width."""
    if not isinstance(fmt, str):
        return 0
    size = len(fmt)
    for width, letter in _STRFTIME_DIRECTIVE.findall(fmt):
        natural = _STRFTIME_SIZES.get(letter, 64)
        size += max(natural, int(width[:10]) if width else 0)
    return size


class PlanAbort(BaseException):
    """Stops a plan for good (budget, timeout, policy); plans cannot catch it for long."""

    def __init__(self, failure: ExecutionError) -> None:
        super().__init__(failure.message)
        self.failure = failure


class NotAwaitedError(TypeError):
    """A tool call's result was used without `await`."""


def plan_line(frame_depth: int = 1) -> int | None:
    """The line of the innermost plan frame on the current stack (None outside plans)."""
    frame = sys._getframe(frame_depth)
    while frame is not None:
        if frame.f_code.co_filename == PLAN_FILENAME:
            return frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None


class PlanRuntime:
    """Budgets and guards of one plan execution."""

    def __init__(self, limits: Limits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.deadline = clock() + limits.timeout
        self.ops = 0
        self.max_ops = limits.max_operations
        self._interval = 1
        self._checkpoint = min(1, self.max_ops + 1)
        self._last_reading = clock()
        """The `ops` count at which `tick` next looks further: the clock, the budget."""
        self.max_seq = limits.max_sequence_length
        self.max_bits = limits.max_int_bits
        self.failure: ExecutionError | None = None
        self.logs: list[str] = []
        self.on_log: Callable[[str], None] | None = None
        """Told about each kept log line as it is printed (progress streaming)."""
        self.results = new_results()
        """The latest tool results handed to the plan, to name where a failing value came from."""
        self.pending_calls: list[Any] = []
        """Every tool/discovery call the plan created, to report those never awaited."""
        self.paused = False
        """Set when the host paused the plan for approvals (its outcome is `paused`)."""
        self.seed = 0
        self.replay_clock: list[float] = []
        self.on_clock: Callable[[float], None] | None = None
        self._log_chars = 0
        self._logs_cut = False
        self._formatter = _GuardedFormatter(self)

    def release(self) -> None:
        """Drop references that form cycles (called when the execution is over)."""
        self.pending_calls.clear()
        self.results.clear()
        self._formatter = None  # type: ignore[assignment]

    # Budgets ---------------------------------------------------------------------------

    def abort(self, kind: ErrorKind, message: str, *, line: int | None = None) -> NoReturn:
        """Record the first failure, make every later check fail, and stop the plan."""
        if self.failure is None:
            self.failure = ExecutionError(
                kind=kind, message=message, line=line if line is not None else plan_line(2)
            )
        self.exhaust()
        raise PlanAbort(self.failure)

    def exhaust(self) -> None:
        """No budget left: the next tick or charge stops the plan (with the recorded failure,
        if any). Also called when a plan is over, so code it left behind cannot run on."""
        self.max_ops = -1
        self._checkpoint = 0

    def expire(self) -> None:
        """The deadline passed (called by the driver's timer, on the event loop): record a
        timeout unless the plan already failed, so that whatever the plan runs next (an
        `except` or `finally` block, a loop, an `await`) stops at its first tick or check."""
        if self.failure is None:
            self.failure = ExecutionError(kind="timeout", message=self.timeout_message())
        self.exhaust()

    def pause(self, message: str, *, line: int | None = None) -> NoReturn:
        """Stop for good because the host paused the execution (approvals pending)."""
        self.paused = True
        self.abort("internal", message, line=line)

    def now(self) -> float:
        """The plan's wall clock: a journaled reading replayed on resume, else the real one."""
        value = self.replay_clock.pop(0) if self.replay_clock else time.time()
        if self.on_clock is not None:
            self.on_clock(value)
        return value

    def timeout_message(self) -> str:
        return (
            f"the plan ran out of time (timeout={self.limits.timeout:g}s). Do less per plan "
            "(fewer or parallel tool calls, less data), or return what you have."
        )

    def tick(self) -> None:
        """Count one operation (loop iteration or function call); check the clock sometimes.

        One increment and one comparison on the hot path: `_checkpoint` is the count at which
        the clock or the budget needs a look, whichever comes first.
        """
        self.ops += 1
        if self.ops >= self._checkpoint:
            self._at_checkpoint()

    def charge(self, work: int) -> None:
        """Account for C work of about `work` element steps that no tick counts (a sort, a
        search, a copy): it brings the next clock reading closer, so a loop of large C
        operations meets its deadline on time. It does not count against max_operations,
        which counts the plan's own steps."""
        self._checkpoint -= work
        if self.ops >= self._checkpoint:
            self._at_checkpoint()

    def count(self, steps: int) -> None:
        """Count `steps` operations at once: a library loop in Python that no tick reaches
        (`random.shuffle`, `statistics.*`), counted against max_operations like the plan's
        own loops."""
        self.ops += steps
        if self.ops >= self._checkpoint:
            self._at_checkpoint()

    def check_text(self, value: Any, what: str) -> None:
        """Refuse to build the text of `value` (`str`, `repr`, f-strings, `print`, `%`) when it
        would pass max_sequence_length: a list holding one big string many times has a text
        many times larger than the memory it takes."""
        if type(value) in FLAT_TYPES:
            return
        _reject_pending(value)
        size = text_size(value, self.max_seq)
        self.charge(size)
        if size > self.max_seq:
            self._text_too_long(what)

    def _text_too_long(self, what: str) -> NoReturn:
        self.abort(
            "budget",
            f"{what} would build a text of more than {self.max_seq:,} characters "
            "(Limits.max_sequence_length). Work on smaller pieces, or print a summary.",
            line=plan_line(3),
        )

    def check_int_cost(self, what: str, a: Any, b: Any) -> None:
        """`//`, `%`, `divmod` of two integers: their cost grows with the product of their
        sizes, so that product is bounded by max_int_bits squared (about 10 ms).

        A dividend below 2**4096 is always cheap (the cost is at most its size squared), and
        is what nearly every plan divides: it costs two comparisons.
        """
        if type(a) is int and type(b) is int and not -_CHEAP_INT < a < _CHEAP_INT:
            cost = a.bit_length() * b.bit_length()
            if cost > self.max_bits * self.max_bits:
                self._int_too_costly(what, a, b)
            self.charge(cost >> 16)

    def _int_too_costly(self, what: str, *operands: int) -> NoReturn:
        sizes = " and ".join(f"{n.bit_length():,}" for n in operands)
        self.abort(
            "budget",
            f"{what} on integers of {sizes} bits would take too long (the limit follows "
            f"Limits.max_int_bits={self.limits.max_int_bits:,}). Work on smaller numbers.",
            line=plan_line(3),
        )

    def _at_checkpoint(self) -> None:
        if self.failure is not None:
            raise PlanAbort(self.failure)
        if self.ops > self.max_ops:
            self.abort(
                "budget",
                f"the plan exceeded max_operations={self.limits.max_operations:,} (loop "
                "iterations and function calls). Process less data per plan, or avoid "
                "unbounded loops.",
            )
        now = self.clock()
        if now > self.deadline:
            self.abort("timeout", self.timeout_message())
        if now - self._last_reading > _SLOW_WINDOW:
            self._interval = 1
        elif self._interval < CLOCK_EVERY:
            self._interval *= 2
        self._last_reading = now
        self._checkpoint = min(self.ops + self._interval, self.max_ops + 1)

    def tickv(self, value: Any) -> Any:
        """`lambda` bodies: count a call, pass the value through (`tick`, inlined: one frame
        less per call)."""
        self.ops += 1
        if self.ops >= self._checkpoint:
            self._at_checkpoint()
        return value

    def check(self) -> None:
        """Before every await: re-raise a recorded abort, stop at the deadline."""
        if self.failure is not None:
            raise PlanAbort(self.failure)
        if self.clock() > self.deadline:
            self.abort("timeout", self.timeout_message())

    def check_handler(self) -> None:
        """Top of every `except` handler: `check()`, and never let a plan swallow cancellation.

        A plan that catches the `CancelledError` of its deadline (or of its caller) with
        `except BaseException` gets it back at once, so cancellation always propagates.
        """
        self.check()
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        caught = sys.exc_info()[1]
        if caught is not None:  # what the handler sees carries no host path
            scrub_exception(caught)

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def _too_big(self, what: str, size: int, limit: int, unit: str = "items") -> NoReturn:
        self.abort(
            "budget",
            f"{what} would create {size:,} {unit}; the limit is {limit:,} "
            "(Limits.max_sequence_length / max_int_bits). Work on smaller pieces.",
            line=plan_line(3),
        )

    # Iteration -------------------------------------------------------------------------

    def getiter(self, obj: Any) -> Iterator[Any]:
        """`for` loops, comprehensions and unpacking: iterate while counting operations.

        An iterator that counts itself already (`map`, `zip`, `itertools.*` of a plan: see
        `_sources.py`) is iterated as it is, so its items are not counted twice."""
        if type(obj) is GeneratorType and obj.gi_code is _COUNTING_CODE:
            return obj
        return self._counting(iter(obj))

    def _counting(self, iterator: Iterator[Any]) -> Iterator[Any]:
        tick = self.tick
        for item in iterator:
            tick()
            yield item

    def counting(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """Wrap an iterator that C code might otherwise drain without end (`itertools.count`)."""
        return self._counting(iter(iterable))

    def yield_from(self, obj: Any) -> Iterator[Any]:
        """`yield from obj` in a plan generator: each item ticks, and the delegate's return
        value is kept (`x = yield from sub()`)."""
        iterator = iter(obj)
        tick = self.tick
        while True:
            try:
                item = next(iterator)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            tick()
            yield item

    def metered(self, value: Any) -> Any:
        """The input of a bulk C operation (`set.update`, `dict.fromkeys`, `deque(...)`,
        `list += ...`) as it should see it: a container is charged by its size and passed as
        it is (a mapping stays a mapping), an iterator that counts itself or a generator of
        the plan (whose loops tick) is passed as it is, anything else is counted per item."""
        if isinstance(value, _BULK_SIZED):
            if len(value) > _CHARGE_FROM:
                self.charge(len(value))
            return value
        kind = type(value)
        if kind is collections.ChainMap:
            self.charge(sum(len(m) for m in value.maps if isinstance(m, _BULK_SIZED)))
            return value
        if kind is GeneratorType and value.gi_code.co_filename in _SELF_COUNTING_FILES:
            return value
        return self._counting(iter(value))

    async def aiter(self, obj: Any) -> Any:
        """`async for`: iterate an async iterable while counting operations."""
        async for item in obj:
            self.tick()
            yield item

    def iter_unpack_sequence(self, it: Any, spec: Any, _getiter: Any) -> Iterator[Any]:
        """`for a, b in pairs`: unpack each item through the counting iterator."""
        for item in self.getiter(it):
            yield self.unpack_sequence(item, spec, _getiter)

    def unpack_sequence(self, it: Any, spec: dict[str, Any], _getiter: Any) -> list[Any]:
        """`a, (b, c) = x`: unpack with RestrictedPython's spec, iterating through guards."""
        result = list(self.getiter(it))
        if len(result) < spec["min_len"]:
            return result
        for index, child_spec in spec["childs"]:
            result[index] = self.unpack_sequence(result[index], child_spec, _getiter)
        return result

    # Attribute, item and write guards --------------------------------------------------

    def getattr(self, obj: Any, name: Any, default: Any = _MISSING) -> Any:
        """`obj.name` and `getattr()`: default deny by the object's exact type.

        Our proxies guard themselves; size-guarded methods are bound by `_SPECIAL_ATTRIBUTES`;
        otherwise the name must be listed for the type in `_allowlist` (classes and exceptions
        have their own tables). Everything else is opaque. A listed name that the object lacks
        and an unlisted one both behave as a missing attribute (`getattr(x, n, default)` and
        `hasattr` see a default), so plans probing with `hasattr` keep working.
        """
        if type(name) is not str:
            raise TypeError("attribute name must be a string")
        if name[:1] == "_" or name in DENIED_ATTRIBUTES:
            self.abort("policy", f"access to the attribute `{name}` is not allowed in plans.")
        kind = type(obj)
        allowed = _ALLOWED_ATTRIBUTES.get(kind)
        if allowed is not None:  # plain data, the common case: no proxy, never pending
            special = _SPECIAL_ATTRIBUTES.get((kind, name))
            if special is not None:  # a guarded closure, shown to the plan by its name only
                return plan_callable(name, special(self, obj))
        elif kind in _PROXY_TYPES:  # `tools.x`, `json.dumps`: the proxies guard themselves
            return getattr(obj, name) if default is _MISSING else getattr(obj, name, default)
        else:
            _reject_pending(obj)
            special = _SPECIAL_ATTRIBUTES.get((kind, name))
            if special is not None:
                return plan_callable(name, special(self, obj))
            if isinstance(obj, type):
                bind = _CLASS_SPECIAL_ATTRIBUTES.get((obj, name))
                if bind is not None:  # `datetime.datetime.now`: the plan's journaled clock
                    return bind(self)
                if (obj, name) in _SPECIAL_ATTRIBUTES:
                    # `str.format(template, x)`: the unbound method must be guarded as well.
                    unbound = _SPECIAL_ATTRIBUTES[(obj, name)]
                    if (obj, name) in _CLASS_LEVEL:  # `int.from_bytes`: bound to the class
                        return plan_callable(name, unbound(self, obj))
                    return PlanFunction(
                        f"{obj.__name__}.{name}",
                        lambda self_, *args, **kwargs: unbound(self, self_)(*args, **kwargs),
                    )
                allowed = CLASS_ATTRIBUTES.get(obj, _NOTHING)
            elif isinstance(obj, BaseException):
                allowed = exception_attributes(kind)
            else:
                allowed = _NOTHING
        if name in allowed:
            return getattr(obj, name) if default is _MISSING else getattr(obj, name, default)
        if default is not _MISSING:
            return default
        raise AttributeError(_denied_message(obj, kind, name, allowed), name=name, obj=obj)

    def hasattr(self, obj: Any, name: Any) -> bool:
        return self.getattr(obj, name, _MISSING_ATTR) is not _MISSING_ATTR

    def getitem(self, obj: Any, key: Any) -> Any:
        if type(obj) in _PENDING_TYPES:
            raise obj._codemode_not_awaited()
        if type(key) is slice:  # a copy: C work as long as the slice
            self.charge(len(obj) if hasattr(obj, "__len__") else 1)
        try:
            return obj[key]
        except (LookupError, TypeError) as exc:  # remembered, to show the value in the error
            setattr(exc, SUBJECT_ATTRIBUTE, obj)
            raise

    def write(self, obj: Any) -> Any:
        """`obj[k] = v` and `del obj[k]`: only the plan's own containers, only their items.

        The policy refuses `obj.a = v` at compile time; this is the run-time half, so no
        object (not even a dict subclass with a `__dict__`) ever has an attribute set.
        """
        kind = type(obj)
        if kind in _ITEM_WRITABLE:
            return obj
        if kind in _WRAPPED_WRITABLE:
            return _ItemWriter(obj)
        raise TypeError(f"plans cannot modify {_type_name(kind)} objects")

    def inplacevar(self, op: str, x: Any, y: Any) -> Any:
        """`x op= y` (RestrictedPython's hook), with the same size guards as the operators."""
        guard = _INPLACE_GUARDS.get(op)
        if guard is not None:
            guard(self, x, y)
        kind = type(x)
        if kind in _GROWABLE and op == "+=":  # `lst += map(...)`: C drains the operand
            y = self.extend_items("`+=`", x, y)
        elif kind in _ITEM_WRITABLE or kind in _WRAPPED_WRITABLE:  # `s |= other`: C loop
            y = self.metered(y)
        return _INPLACE_OPS[op](x, y)

    def extend_items(self, what: str, target: Any, iterable: Any) -> Any:
        """What `target` (a list, bytearray or deque) is extended with, metered and checked
        against max_sequence_length before C copies it in."""
        items = iterable if isinstance(iterable, _BULK_SIZED) else list(self.metered(iterable))
        size = len(target) + len(items)
        if size > self.max_seq:
            self._too_big(what, size, self.max_seq)
        if len(items) > _CHARGE_FROM:
            self.charge(len(items))
        return items

    def apply(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """`f(*args, **kwargs)` (RestrictedPython's hook)."""
        return func(*args, **kwargs)

    # Size-guarded operators ------------------------------------------------------------

    def check_mul(self, a: Any, b: Any) -> None:
        ta, tb = type(a), type(b)
        if ta is int and tb is int:
            if a.bit_length() + b.bit_length() > self.max_bits:
                self._too_big("`*`", a.bit_length() + b.bit_length(), self.max_bits, "bits")
        elif isinstance(a, _SIZED) and isinstance(b, int):
            if len(a) * b > self.max_seq:
                self._too_big("`*`", len(a) * b, self.max_seq)
        elif isinstance(b, _SIZED) and isinstance(a, int) and len(b) * a > self.max_seq:
            self._too_big("`*`", len(b) * a, self.max_seq)

    def mul(self, a: Any, b: Any) -> Any:
        self.check_mul(a, b)
        return a * b

    def check_pow(self, a: Any, b: Any) -> None:
        if type(a) is int and type(b) is int and b > 0 and abs(a) > 1:
            bits = b * a.bit_length()
            if bits > self.max_bits:
                self._too_big("`**`", bits, self.max_bits, "bits")

    def pow(self, a: Any, b: Any, mod: Any = None) -> Any:
        if mod is not None:
            if type(b) is int and type(mod) is int:
                cost = abs(b).bit_length() * mod.bit_length() ** 2
                if cost > self.max_bits**2 * 8:
                    self._int_too_costly("pow(a, b, mod)", b, mod)
                self.charge(cost >> 16)
            return pow(a, b, mod)
        self.check_pow(a, b)
        return a**b

    def check_lshift(self, a: Any, b: Any) -> None:
        if type(a) is int and type(b) is int and b > 0 and a and a.bit_length() + b > self.max_bits:
            self._too_big("`<<`", a.bit_length() + b, self.max_bits, "bits")

    def lshift(self, a: Any, b: Any) -> Any:
        self.check_lshift(a, b)
        return a << b

    def check_add(self, a: Any, b: Any) -> None:
        if isinstance(a, _SIZED) and isinstance(b, _SIZED) and len(a) + len(b) > self.max_seq:
            self._too_big("`+`", len(a) + len(b), self.max_seq)

    def add(self, a: Any, b: Any) -> Any:
        ta = type(a)
        if ta is not int and ta is not float:
            self.check_add(a, b)
        return a + b

    def check_mod(self, a: Any, b: Any) -> None:
        """`text % values`: the whole result is bounded, not each field (fifty `%9999999d`
        fields built 500 M characters): the template, plus per conversion its widest number
        (width or precision) and the text of the value it takes."""
        if not isinstance(a, (str, bytes)):
            self.check_int_cost("`%`", a, b)
            return
        text = a.decode("latin-1") if isinstance(a, bytes) else a
        values = b if isinstance(b, tuple) else (b,)
        if type(b) is dict:
            values = tuple(b.values())
        sizes = [self.field_size(value, None, "", "`%` formatting") for value in values]
        specs = _PERCENT_SPEC.findall(text)
        total = len(text)
        for width, precision in specs:
            for number in (width, precision):
                if number.isdigit():
                    if len(number) > 9 or int(number) > self.max_seq:
                        self._too_big(
                            "`%` formatting", int(number[:12]), self.max_seq, "characters"
                        )
                    total += int(number)
        if "*" in text:
            for value in values:
                if type(value) is int:
                    if abs(value) > self.max_seq:
                        self._too_big("`%` formatting", abs(value), self.max_seq, "characters")
                    total += abs(value)
        # Each conversion takes one value (a mapping's keys may repeat: the largest, each time).
        total += sum(sizes) if type(b) is not dict else len(specs) * max(sizes, default=0)
        self.charge(total)
        if total > self.max_seq:
            self._text_too_long("`%` formatting")

    def mod(self, a: Any, b: Any) -> Any:
        if type(a) is int and -_CHEAP_INT < a < _CHEAP_INT:
            return a % b
        self.check_mod(a, b)
        return a % b

    def check_floordiv(self, a: Any, b: Any) -> None:
        self.check_int_cost("`//`", a, b)

    def floordiv(self, a: Any, b: Any) -> Any:
        self.check_int_cost("`//`", a, b)
        return a // b

    def divmod(self, a: Any, b: Any) -> Any:
        """The `divmod()` builtin, with the cost bound of `//`."""
        self.check_int_cost("divmod()", a, b)
        return divmod(a, b)

    def check_spec(self, spec: str) -> None:
        for number in _SPEC_NUMBER.findall(spec):
            if len(number) > 9 or int(number) > self.max_seq:
                self._too_big("a format width", int(number[:12]), self.max_seq, "characters")

    def field_size(self, value: Any, conversion: str | None, spec: str, what: str) -> int:
        """An upper bound of the length of one formatted field (`format(value, spec)` after
        the `!r`/`!s`/`!a` conversion); refused at once when it alone passes the limit."""
        kind = type(value)
        if conversion in ("r", "a") or kind not in FLAT_TYPES:
            _reject_pending(value)
            size = text_size(value, self.max_seq, ascii_only=conversion == "a")
        elif kind is str:
            size = len(value)
        elif kind is int or kind is bool:
            size = value.bit_length() * 41 // 100 + 3  # digits, and a separator per three
        else:
            size = 330  # a float in full (`f"{1e308:f}"`), None
        if spec:
            self.check_spec(spec)
            if conversion is None and isinstance(value, _STRFTIME_TYPES):
                size = strftime_size(spec)  # `format(date, spec)` is `date.strftime(spec)`
            else:
                size += sum(int(number) for number in _SPEC_NUMBER.findall(spec))
        if size > self.max_seq:
            self._text_too_long(what)
        return size

    def check_strftime(self, fmt: Any) -> None:
        """`strftime`: its text is bounded before it is built (`%250Y` is 250 characters)."""
        size = strftime_size(fmt)
        self.charge(size)
        if size > self.max_seq:
            self._text_too_long("`strftime`")

    def fstring(self, template: tuple[str | None, ...], *fields: Any) -> str:
        """An f-string of several fields, bounded as a whole (ten `{x:>9999999}` fields built
        100 M characters): `template` holds its literal parts and None per field, `fields`
        a (value, conversion, spec) triple per field, evaluated in order by the plan."""
        room = self.max_seq
        parts: list[str] = []
        index = 0
        for literal in template:
            if literal is not None:
                parts.append(literal)
                room -= len(literal)
                continue
            value, conversion, spec = fields[index : index + 3]
            index += 3
            kind = type(value)
            if conversion == -1 and not spec and kind in FLAT_TYPES:
                # The common field (`{name}`, `{count}`): a text is added as it is, a number's
                # text is short (integers are held to max_int_bits); measured as added.
                piece = value if kind is str else format(value)
            else:
                code = _CONVERSIONS.get(conversion)
                if self.field_size(value, code, spec, "an f-string") > room:
                    self._text_too_long("an f-string")
                if code is not None:
                    value = _CONVERT[code](value)
                piece = format(value, spec)
            room -= len(piece)
            if room < 0:
                self._text_too_long("an f-string")
            parts.append(piece)
        if room < self.max_seq - _CHARGE_FROM:
            self.charge(self.max_seq - room)
        return "".join(parts)

    def format_value(self, value: Any, conversion: int, spec: str) -> str:
        """f-string fields with a format spec: apply `!r`/`!s`/`!a`, check widths, format."""
        code = _CONVERSIONS.get(conversion)
        self.field_size(value, code, spec, "an f-string field")
        if code is not None:
            value = _CONVERT[code](value)
        return format(value, spec)

    def fvalue(self, value: Any) -> Any:
        """f-string fields without a format spec (`f"{x}"`): check the text's size first."""
        if type(value) not in FLAT_TYPES:
            self.check_text(value, "an f-string field")
        return value

    def to_str(self, obj: Any = "", *args: Any, **kwargs: Any) -> Any:
        """The `str()` builtin: the text of a container is size-checked before it is built."""
        if type(obj) not in FLAT_TYPES:
            self.check_text(obj, "str()")
        return str(obj, *args, **kwargs)

    def to_repr(self, value: Any) -> str:
        self.check_text(value, "repr()")
        return repr(value)

    def to_ascii(self, value: Any) -> str:
        self.check_text(value, "ascii()")
        return ascii(value)

    def format(self, value: Any, spec: str = "") -> str:
        """The `format()` builtin, with width checks."""
        return self.format_value(value, -1, spec)

    def str_format(self, template: str, *args: Any, **kwargs: Any) -> str:
        """`str.format`: field lookups (`{0.attr}`, `{0[key]}`) go through the guards."""
        return self._formatter.vformat(template, args, kwargs)

    def str_format_map(self, template: str, mapping: Any) -> str:
        return self._formatter.vformat(template, (), mapping)

    # Logs ------------------------------------------------------------------------------

    def print(self, *args: Any, sep: str | None = " ", end: str | None = "\n", **_: Any) -> None:
        """`print()`: append to the execution's logs, capped at `max_output_chars`.

        Text is built only up to what the logs can still keep: each argument is measured
        before its text is built, and once the line passes the room left, no later argument
        (and no separator) is measured or built, so `print(*([c] * 60))` costs at most one
        argument past the room, never 60. `sep` and `end` must be text (or None), as in
        Python: their text is never built from another value.
        """
        self.tick()
        for name, given in (("sep", sep), ("end", end)):
            if given is not None and type(given) is not str:
                raise TypeError(f"{name} must be None or a string, not {type(given).__name__}")
        for arg in args:
            _reject_pending(arg)
        if self._logs_cut:  # nothing more is kept: build no text either
            return
        limit = self.limits.max_output_chars
        room = limit - self._log_chars + 1
        joiner = " " if sep is None else sep[:room]
        parts: list[str] = []
        used = 0
        for arg in args:
            if used > room:  # cut anyway: measure and build nothing more
                break
            if parts:
                used += len(joiner)
            if type(arg) is str:
                part = arg[: max(0, room - used)]
            else:
                self.check_text(arg, "print()")
                part = str(arg)[: max(0, room - used)]
            parts.append(part)
            used += len(part)
        text = joiner.join(parts)
        if self._log_chars + len(text) > limit or used > room:
            room = max(0, limit - self._log_chars)
            lines = [text[:room] + f"… [logs truncated at {limit:,} characters]"]
            self._logs_cut = True
        else:
            self._log_chars += len(text) + 1
            lines = text.split("\n") if text else [""]
        self.logs.extend(lines)
        if self.on_log is not None:
            for line in lines:
                self.on_log(line)


_COUNTING_CODE = PlanRuntime._counting.__code__
_SELF_COUNTING_FILES = frozenset({PLAN_FILENAME, _COUNTING_CODE.co_filename})
"""Generators whose items are ticked already: the plan's own (its loops tick, and `yield
from` goes through `_cm_yield_from_`), and this module's (`_counting`, `yield_from`)."""
_BULK_SIZED = (
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
    KeysView,
    ValuesView,
    ItemsView,
)
"""Inputs whose size is known up front: a bulk C operation on them is charged by that size."""
_CHARGE_FROM = 32
"""Shorter inputs are not worth a call to `charge` (the next tick reads the clock)."""


class _GuardedFormatter(string.Formatter):
    """`str.format` whose field lookups go through the plan's guards, and whose result is
    bounded as a whole: each field (its `!r`/`!s`/`!a` conversion included) is measured
    against the room the template and the earlier fields left, before it is built."""

    def __init__(self, runtime: PlanRuntime) -> None:
        self._runtime = runtime
        self._room = runtime.max_seq

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self._room = self._runtime.max_seq - len(format_string)
        result = super().vformat(format_string, args, kwargs)
        self._runtime.charge(len(result))
        return result

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, Any]:
        first, rest = _string.formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attr, key in rest:
            obj = self._runtime.getattr(obj, key) if is_attr else self._runtime.getitem(obj, key)
        return obj, first

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion in _CONVERT:
            self._claim(self._runtime.field_size(value, conversion, "", "`str.format`"))
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        self._claim(self._runtime.field_size(value, None, format_spec, "`str.format`"))
        result = format(value, format_spec)
        self._room -= len(result)
        return result

    def _claim(self, size: int) -> None:
        if size > self._room:
            self._runtime._text_too_long("`str.format`")


_MISSING_ATTR: Any = object()


class _ItemWriter:
    """The target of an item write on a dict subclass: items only, never attributes."""

    __slots__ = ("_target",)

    def __init__(self, target: Any) -> None:
        self._target = target

    def __setitem__(self, key: Any, value: Any) -> None:
        self._target[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._target[key]


def visible_attributes(obj: Any) -> list[str]:
    """What `dir(obj)` shows a plan: the names `PlanRuntime.getattr` would let it read."""
    kind = type(obj)
    if kind in _PROXY_TYPES:
        return [name for name in dir(obj) if not name.startswith("_")]
    names = ALLOWED_ATTRIBUTES.get(kind)
    if names is None:
        if isinstance(obj, type):
            names = CLASS_ATTRIBUTES.get(obj, _NOTHING) | {
                name for cls, name in _CLASS_SPECIAL_ATTRIBUTES if cls is obj
            }
        elif isinstance(obj, BaseException):
            names = exception_attributes(kind)
        else:
            names = _NOTHING
    return sorted(name for name in names if hasattr(obj, name))


def _type_name(kind: type) -> str:
    name: str = getattr(kind, "_codemode_name", kind.__name__)
    return name


def _denied_message(obj: Any, kind: type, name: str, allowed: frozenset[str]) -> str:
    """The model-facing text of a refused attribute (a missing attribute, for the plan)."""
    what = f"`{obj.__name__}`" if isinstance(obj, type) else f"`{_type_name(kind)}` object"
    if not allowed:
        return f"{what} has no attributes usable in plans (`{name}` is not available)."
    close = difflib.get_close_matches(name, sorted(allowed), n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return f"{what} has no attribute `{name}` in plans.{hint}"


_PROXY_TYPES: set[type] = set()
"""Plan-facing proxy classes that expose only public, plan-safe members (registered by them)."""


def register_proxy_type(cls: type) -> type:
    """Mark a proxy class whose attribute access needs no further guarding (a decorator)."""
    _PROXY_TYPES.add(cls)
    return cls


_PENDING_TYPES: set[type] = set()
"""Classes of not-yet-awaited calls (registered by `_plan_api`); using one is an error."""


def register_pending_type(cls: type) -> type:
    """Mark a class whose instances must be awaited before any other use (a decorator)."""
    _PENDING_TYPES.add(cls)
    return cls


def _reject_pending(obj: Any) -> None:
    if type(obj) in _PENDING_TYPES:
        raise obj._codemode_not_awaited()


# Size-amplifying methods of plain data, bound through `_getattr_` ----------------------


def _padding(method: str) -> Callable[[PlanRuntime, Any], Any]:
    def bind(rt: PlanRuntime, obj: Any) -> Any:
        real = getattr(obj, method)

        def padded(width: Any, *args: Any) -> Any:
            if type(width) is int and width > rt.max_seq:
                rt._too_big(f"`{method}`", width, rt.max_seq, "characters")
            return real(width, *args)

        return padded

    return bind


def _bind_replace(rt: PlanRuntime, obj: Any) -> Any:
    def replace(old: Any, new: Any, count: int = -1) -> Any:
        if isinstance(old, (str, bytes)) and isinstance(new, (str, bytes)):
            growth = len(new) - len(old)
            if growth > 0:
                hits = obj.count(old) if old else len(obj) + 1
                if count >= 0:
                    hits = min(hits, count)
                if len(obj) + hits * growth > rt.max_seq:
                    rt._too_big("`replace`", len(obj) + hits * growth, rt.max_seq, "characters")
        return obj.replace(old, new, count)

    return replace


def _bind_join(rt: PlanRuntime, obj: Any) -> Any:
    def join(iterable: Iterable[Any]) -> Any:
        parts = list(rt.metered(iterable))
        total = sum(len(p) for p in parts if isinstance(p, (str, bytes))) + len(obj) * len(parts)
        if total > rt.max_seq:
            rt._too_big("`join`", total, rt.max_seq, "characters")
        return obj.join(parts)

    return join


def _bind_expandtabs(rt: PlanRuntime, obj: Any) -> Any:
    def expandtabs(tabsize: int = 8) -> Any:
        if type(tabsize) is int and tabsize > 0 and obj.count("\t") * tabsize > rt.max_seq:
            rt._too_big("`expandtabs`", obj.count("\t") * tabsize, rt.max_seq, "characters")
        return obj.expandtabs(tabsize)

    return expandtabs


def _bind_extend(method: str) -> Callable[[PlanRuntime, Any], Any]:
    def bind(rt: PlanRuntime, obj: Any) -> Any:
        real = getattr(obj, method)

        def extend(iterable: Iterable[Any]) -> None:
            real(rt.extend_items(f"`{method}`", obj, iterable))

        return extend

    return bind


def _bind_bulk(method: str, *, first_only: bool) -> Callable[[PlanRuntime, Any], Any]:
    """A method whose iterable arguments a C loop drains (`set.update(*others)`,
    `dict.fromkeys(keys, value)`): they are metered (`PlanRuntime.metered`) before it runs."""

    def bind(rt: PlanRuntime, obj: Any) -> Any:
        real = getattr(obj, method)

        def bulk(*args: Any, **kwargs: Any) -> Any:
            if first_only:
                return real(*(rt.metered(args[0]), *args[1:]) if args else (), **kwargs)
            return real(*[rt.metered(arg) for arg in args], **kwargs)

        return bulk

    return bind


def _bind_format(rt: PlanRuntime, obj: Any) -> Any:
    def format(*args: Any, **kwargs: Any) -> str:
        return rt.str_format(obj, *args, **kwargs)

    return format


def _bind_format_map(rt: PlanRuntime, obj: Any) -> Any:
    def format_map(mapping: Any) -> str:
        return rt.str_format_map(obj, mapping)

    return format_map


def _bind_elements(rt: PlanRuntime, obj: Any) -> Any:
    def elements() -> Iterator[Any]:
        return rt.counting(obj.elements())

    return elements


def _bind_translate(rt: PlanRuntime, obj: Any) -> Any:
    def translate(table: Any, *args: Any) -> Any:
        if type(obj) is str and isinstance(table, (dict, list, tuple)):
            if isinstance(table, dict) and type(table) is not dict:
                table = dict(table)  # no `defaultdict` factory run per character
            pairs = table.items() if isinstance(table, dict) else enumerate(table)
            grown = len(obj)
            for key, value in pairs:
                if isinstance(value, str) and len(value) > 1 and type(key) is int:
                    grown += obj.count(chr(key)) * (len(value) - 1) if 0 <= key < 0x110000 else 0
            rt.charge(len(obj))
            if grown > rt.max_seq:
                rt._too_big("`translate`", grown, rt.max_seq, "characters")
        return obj.translate(table, *args)

    return translate


def _bind_charged(method: str, weight: Callable[[Any], int]) -> Callable[[PlanRuntime, Any], Any]:
    """A method whose C work grows with the object's size: charged before it runs."""

    def bind(rt: PlanRuntime, obj: Any) -> Any:
        real = getattr(obj, method)

        def charged(*args: Any, **kwargs: Any) -> Any:
            rt.charge(weight(obj))
            return real(*args, **kwargs)

        return charged

    return bind


def _sort_weight(obj: Any) -> int:
    return len(obj) * max(1, len(obj).bit_length())


def _bind_to_bytes(rt: PlanRuntime, obj: Any) -> Any:
    def to_bytes(length: Any = 1, *args: Any, **kwargs: Any) -> Any:
        if type(length) is int and length > rt.max_seq:
            rt._too_big("`to_bytes`", length, rt.max_seq, "bytes")
        return obj.to_bytes(length, *args, **kwargs)

    return to_bytes


def _bind_from_bytes(rt: PlanRuntime, obj: Any) -> Any:
    def from_bytes(data: Any, *args: Any, **kwargs: Any) -> int:
        if isinstance(data, (bytes, bytearray)) and 8 * len(data) > rt.max_bits:
            rt._too_big("`from_bytes`", 8 * len(data), rt.max_bits, "bits")
        return int.from_bytes(data, *args, **kwargs)

    return from_bytes


def bounded_sub(
    rt: PlanRuntime, pattern: re.Pattern[Any], repl: Any, string: Any, count: int, *, n: bool
) -> Any:
    """`re.sub`/`subn` and `Pattern.sub`/`subn`: the result may not pass max_sequence_length.

    A template's result is bounded before it is built: a first pass that deletes the matches
    (C speed, no larger than the input) gives their number and total length, and each match
    grows by at most the template's length plus, per group reference, the match's length. A
    function's replacements are measured one by one as they are made.
    """
    run = pattern.subn if n else pattern.sub
    if not isinstance(string, (str, bytes, bytearray)):
        return run(repl, string, count=count)
    rt.charge(len(string))
    size = len(string)
    if isinstance(repl, (str, bytes)):
        refs = repl.count("\\" if isinstance(repl, str) else b"\\")  # type: ignore[arg-type]
        if size + (size + 1) * (len(repl) + refs * size) > rt.max_seq:
            stripped, matches = pattern.subn(string[:0], string, count=count)
            matched = size - len(stripped)
            if len(stripped) + matches * len(repl) + refs * matched > rt.max_seq:
                rt._text_too_long("`re.sub`")
        return run(repl, string, count=count)
    grown = size

    def measured(match: re.Match[Any]) -> Any:
        nonlocal grown
        text = repl(match) if callable(repl) else match.expand(repl)
        if isinstance(text, (str, bytes)):
            grown += len(text) - (match.end() - match.start())
            if grown > rt.max_seq:
                rt._text_too_long("`re.sub`")
        return text

    return run(measured, string, count=count)


def bounded_matches(
    rt: PlanRuntime, pattern: re.Pattern[Any], string: Any, *span: Any, splits: int = -1
) -> None:
    """Before `findall` or `split` builds its list: refuse when it would pass
    max_sequence_length, in items (matches times groups: ten empty groups on a 5 M-character
    text made 50 M strings, 700 MB) or in characters (each group copies its text).

    The worst case (a match at every position, every group as long as the text) is usually
    within the limit, and costs one charge; otherwise the matches are counted first, each one
    a tick, and the count stops at the limit."""
    if not isinstance(string, (str, bytes, bytearray)):
        return
    size = len(string)
    per_match = max(1, pattern.groups) + (1 if splits >= 0 else 0)
    rt.charge(size)
    if (size + 1) * per_match <= rt.max_seq and per_match * size <= rt.max_seq:
        return
    items = chars = 0
    for number, match in enumerate(rt.counting(pattern.finditer(string, *span))):
        if 0 < splits <= number:
            break
        items += per_match
        chars += max(1, pattern.groups) * (match.end() - match.start())
        if items > rt.max_seq or chars > rt.max_seq:
            rt._text_too_long(f"`{'split' if splits >= 0 else 'findall'}`")


def _bind_findall(rt: PlanRuntime, obj: Any) -> Any:
    def findall(string: Any, *span: Any) -> Any:
        bounded_matches(rt, obj, string, *span)
        return obj.findall(string, *span)

    return findall


def _bind_split(rt: PlanRuntime, obj: Any) -> Any:
    def split(string: Any, maxsplit: int = 0) -> Any:
        bounded_matches(rt, obj, string, splits=maxsplit if type(maxsplit) is int else 0)
        return obj.split(string, maxsplit)

    return split


def _bind_finditer(rt: PlanRuntime, obj: Any) -> Any:
    def finditer(string: Any, *span: Any) -> Any:
        return rt.counting(obj.finditer(string, *span))

    return finditer


def _bind_case(method: str) -> Callable[[PlanRuntime, Any], Any]:
    """`upper`, `lower`, `casefold`, `swapcase`, `title`, `capitalize`: a character can become
    three (`'\u0390'.upper()`), so a non-ASCII text is bounded at three times its length."""

    def bind(rt: PlanRuntime, obj: Any) -> Any:
        if type(obj) is str and not obj.isascii() and 3 * len(obj) > rt.max_seq:
            rt._too_big(f"`{method}`", 3 * len(obj), rt.max_seq, "characters (3 per character)")
        return getattr(obj, method)

    return bind


_ASCII_CODECS = frozenset({"utf-8", "utf8", "ascii", "latin-1", "latin1", "iso-8859-1"})
_CODEC_GROWTH = {"utf-8": 4, "utf8": 4, "utf-16": 4, "utf-32": 4, "ascii": 1, "latin-1": 1}
"""Bytes per character at most; other codecs (`unicode_escape`: `\U0001f600`) count 10."""
_ERRORS_GROWTH = {"backslashreplace": 10, "xmlcharrefreplace": 10, "namereplace": 100}


def _bind_encode(rt: PlanRuntime, obj: Any) -> Any:
    """`str.encode`: bounded by its worst-case growth (UTF-32 is four bytes a character)."""

    def encode(encoding: str = "utf-8", errors: str = "strict") -> bytes:
        if isinstance(encoding, str) and isinstance(errors, str):
            name = encoding.lower().replace("_", "-")
            if obj.isascii() and name in _ASCII_CODECS:
                per_char = 1
            else:
                per_char = max(
                    _CODEC_GROWTH.get(name.removesuffix("-le").removesuffix("-be"), 10),
                    _ERRORS_GROWTH.get(errors, 1),
                )
            if per_char * len(obj) + 4 > rt.max_seq:
                rt._too_big("`encode`", per_char * len(obj) + 4, rt.max_seq, "bytes")
        return bytes(obj.encode(encoding, errors))

    return encode


def _bind_hex(rt: PlanRuntime, obj: Any) -> Any:
    """`bytes.hex`: two digits a byte, plus a separator each (up to three times as long)."""

    def hex(*args: Any, **kwargs: Any) -> str:
        size = len(obj) * (3 if args or kwargs else 2)
        if size > rt.max_seq:
            rt._too_big("`hex`", size, rt.max_seq, "characters")
        return str(obj.hex(*args, **kwargs))

    return hex


def _bind_strftime(rt: PlanRuntime, obj: Any) -> Any:
    def strftime(fmt: Any) -> str:
        rt.check_strftime(fmt)
        return str(obj.strftime(fmt))

    return strftime


def _bind_sub(n: bool) -> Callable[[PlanRuntime, Any], Any]:
    def bind(rt: PlanRuntime, obj: Any) -> Any:
        def sub(repl: Any, string: Any, count: int = 0) -> Any:
            return bounded_sub(rt, obj, repl, string, count, n=n)

        return sub

    return bind


def _bind_expand(rt: PlanRuntime, obj: Any) -> Any:
    def expand(template: Any) -> Any:
        if isinstance(template, (str, bytes)):
            backslash = "\\" if isinstance(template, str) else b"\\"
            most = len(template) + template.count(backslash) * len(obj.string)  # type: ignore[arg-type]
            if most > rt.max_seq:
                rt._text_too_long("`expand`")
        return obj.expand(template)

    return expand


_SPECIAL_ATTRIBUTES: dict[tuple[type, str], Callable[[PlanRuntime, Any], Any]] = {
    (str, "format"): _bind_format,
    (str, "format_map"): _bind_format_map,
    (collections.Counter, "elements"): _bind_elements,
    (str, "translate"): _bind_translate,
    (int, "to_bytes"): _bind_to_bytes,
    (bool, "to_bytes"): _bind_to_bytes,
    (int, "from_bytes"): _bind_from_bytes,
    (bool, "from_bytes"): _bind_from_bytes,
    (re.Pattern, "sub"): _bind_sub(n=False),
    (re.Pattern, "subn"): _bind_sub(n=True),
    (re.Pattern, "findall"): _bind_findall,
    (re.Pattern, "split"): _bind_split,
    (re.Pattern, "finditer"): _bind_finditer,
    (re.Match, "expand"): _bind_expand,
    (list, "sort"): _bind_charged("sort", _sort_weight),
    (str, "encode"): _bind_encode,
    (bytes, "hex"): _bind_hex,
    (bytearray, "hex"): _bind_hex,
    (datetime.date, "strftime"): _bind_strftime,
    (datetime.datetime, "strftime"): _bind_strftime,
    (datetime.time, "strftime"): _bind_strftime,
}
_SET_BULK = (
    "union intersection difference symmetric_difference issubset issuperset isdisjoint "
    "update intersection_update difference_update symmetric_difference_update"
)
for _set_type in (set, frozenset):
    for _method in _SET_BULK.split():
        if (_method in ALLOWED_ATTRIBUTES[_set_type]) and hasattr(_set_type, _method):
            _SPECIAL_ATTRIBUTES[(_set_type, _method)] = _bind_bulk(_method, first_only=False)
_MAPPING_TYPES = (
    dict,
    collections.Counter,
    collections.OrderedDict,
    collections.defaultdict,
    collections.ChainMap,
)
for _mapping_type in _MAPPING_TYPES:
    for _method in ("update", "fromkeys", "subtract"):
        if _method in ALLOWED_ATTRIBUTES[_mapping_type]:
            _SPECIAL_ATTRIBUTES[(_mapping_type, _method)] = _bind_bulk(_method, first_only=True)
_CLASS_LEVEL = frozenset(
    {(int, "from_bytes"), (bool, "from_bytes")}
    | {(cls, "fromkeys") for cls in _MAPPING_TYPES if (cls, "fromkeys") in _SPECIAL_ATTRIBUTES}
)
"""Special attributes that are class methods: `int.from_bytes(data)` takes no instance."""
for _sized_type in (list, tuple, collections.deque):  # compares per item: 10M take ~50 ms
    for _method in ("count", "index"):
        _SPECIAL_ATTRIBUTES[(_sized_type, _method)] = _bind_charged(_method, len)
for _method in ("upper", "lower", "casefold", "swapcase", "title", "capitalize"):
    _SPECIAL_ATTRIBUTES[(str, _method)] = _bind_case(_method)
_text_type: type
for _text_type in (str, bytes, bytearray):
    for _method in ("ljust", "rjust", "center", "zfill"):
        _SPECIAL_ATTRIBUTES[(_text_type, _method)] = _padding(_method)
    _SPECIAL_ATTRIBUTES[(_text_type, "replace")] = _bind_replace
    _SPECIAL_ATTRIBUTES[(_text_type, "join")] = _bind_join
    _SPECIAL_ATTRIBUTES[(_text_type, "expandtabs")] = _bind_expandtabs
_container_type: type
for _container_type, _method in (
    (list, "extend"),
    (bytearray, "extend"),
    (collections.deque, "extend"),
    (collections.deque, "extendleft"),
):
    _SPECIAL_ATTRIBUTES[(_container_type, _method)] = _bind_extend(_method)


def _bind_datetime_now(rt: PlanRuntime) -> Any:
    def now(tz: datetime.tzinfo | None = None) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(rt.now(), tz)

    return PlanFunction("datetime.now", now)


def _bind_datetime_utcnow(rt: PlanRuntime) -> Any:
    def utcnow() -> datetime.datetime:
        return datetime.datetime.fromtimestamp(rt.now(), datetime.UTC).replace(tzinfo=None)

    return PlanFunction("datetime.utcnow", utcnow)


def _bind_datetime_today(rt: PlanRuntime) -> Any:
    return PlanFunction("datetime.today", lambda: datetime.datetime.fromtimestamp(rt.now()))


def _bind_date_today(rt: PlanRuntime) -> Any:
    return PlanFunction("date.today", lambda: datetime.date.fromtimestamp(rt.now()))


_CLASS_SPECIAL_ATTRIBUTES: dict[tuple[type, str], Callable[[PlanRuntime], Any]] = {
    (datetime.datetime, "now"): _bind_datetime_now,
    (datetime.datetime, "utcnow"): _bind_datetime_utcnow,
    (datetime.datetime, "today"): _bind_datetime_today,
    (datetime.date, "today"): _bind_date_today,
}
"""Class attributes bound per execution: the clock readers read the plan's journaled clock
(a resumed plan sees the times it saw before its pause), never the host's."""

_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "@=": operator.imatmul,
}
_INPLACE_GUARDS: dict[str, Callable[[PlanRuntime, Any, Any], None]] = {
    "+=": PlanRuntime.check_add,
    "//=": PlanRuntime.check_floordiv,
    "*=": PlanRuntime.check_mul,
    "**=": PlanRuntime.check_pow,
    "<<=": PlanRuntime.check_lshift,
    "%=": PlanRuntime.check_mod,
}
