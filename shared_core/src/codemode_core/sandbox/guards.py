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
import operator
import re
import string
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NoReturn

from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from codemode_core.errors import ErrorKind
from codemode_core.limits import Limits
from codemode_core.result import ExecutionError
from codemode_core.sandbox._provenance import SUBJECT_ATTRIBUTE, new_results
from codemode_core.sandbox.rewrite import PLAN_FILENAME

__all__ = [
    "DENIED_ATTRIBUTES",
    "NotAwaitedError",
    "PlanAbort",
    "PlanRuntime",
    "plan_line",
    "register_pending_type",
    "register_proxy_type",
]

DENIED_ATTRIBUTES = frozenset(INSPECT_ATTRIBUTES | {"mro", "f_lineno", "tb_lineno"})
"""Attribute names refused at run time on top of every `_`-prefixed name."""

_SIZED = (str, bytes, bytearray, list, tuple)
_WRITABLE = (dict, list, set, bytearray, collections.deque, collections.Counter)
_SPEC_NUMBER = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(r"%[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_MISSING: Any = object()


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
        self.max_ops = -1
        raise PlanAbort(self.failure)

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
        """Count one operation (loop iteration or function call); check the clock sometimes."""
        self.ops += 1
        if self.ops > self.max_ops:
            self._over_budget()
        if not self.ops & 255 and self.clock() > self.deadline:
            self.abort("timeout", self.timeout_message())

    def _over_budget(self) -> NoReturn:
        if self.failure is not None:
            raise PlanAbort(self.failure)
        self.abort(
            "budget",
            f"the plan exceeded max_operations={self.limits.max_operations:,} (loop "
            "iterations and function calls). Process less data per plan, or avoid unbounded "
            "loops.",
        )

    def tickv(self, value: Any) -> Any:
        """`lambda` bodies: count a call, pass the value through."""
        self.tick()
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
        """`for` loops, comprehensions and unpacking: iterate while counting operations."""
        return self._counting(iter(obj))

    def _counting(self, iterator: Iterator[Any]) -> Iterator[Any]:
        tick = self.tick
        for item in iterator:
            tick()
            yield item

    def counting(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """Wrap an iterator that C code might otherwise drain without end (`itertools.count`)."""
        return self._counting(iter(iterable))

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
        """`obj.name` and `getattr()`: refuse private and introspection attributes."""
        if type(name) is not str:
            raise TypeError("attribute name must be a string")
        if name[:1] == "_" or name in DENIED_ATTRIBUTES:
            self.abort("policy", f"access to the attribute `{name}` is not allowed in plans.")
        kind = type(obj)
        if kind in _PROXY_TYPES:  # `tools.x`, `json.dumps`: the proxies guard themselves
            return getattr(obj, name) if default is _MISSING else getattr(obj, name, default)
        _reject_pending(obj)
        special = _SPECIAL_ATTRIBUTES.get((kind, name))
        if special is not None:
            return special(self, obj)
        if kind is type and (obj, name) in _SPECIAL_ATTRIBUTES:
            # `str.format(template, x)`: the unbound method must be guarded as well.
            unbound = _SPECIAL_ATTRIBUTES[(obj, name)]
            return lambda self_, *args, **kwargs: unbound(self, self_)(*args, **kwargs)
        if default is _MISSING:
            return getattr(obj, name)
        return getattr(obj, name, default)

    def hasattr(self, obj: Any, name: Any) -> bool:
        return self.getattr(obj, name, _MISSING_ATTR) is not _MISSING_ATTR

    def getitem(self, obj: Any, key: Any) -> Any:
        if type(obj) in _PENDING_TYPES:
            raise obj._codemode_not_awaited()
        try:
            return obj[key]
        except (LookupError, TypeError) as exc:  # remembered, to show the value in the error
            setattr(exc, SUBJECT_ATTRIBUTE, obj)
            raise

    def write(self, obj: Any) -> Any:
        """`obj[k] = v`, `obj.a = v`: only the plan's own containers may be modified."""
        if isinstance(obj, _WRITABLE):
            return obj
        raise TypeError(f"plans cannot modify {type(obj).__name__} objects")

    def inplacevar(self, op: str, x: Any, y: Any) -> Any:
        """`x op= y` (RestrictedPython's hook), with the same size guards as the operators."""
        guard = _INPLACE_GUARDS.get(op)
        if guard is not None:
            guard(self, x, y)
        return _INPLACE_OPS[op](x, y)

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
        if not isinstance(a, (str, bytes)):
            return
        text = a.decode("latin-1") if isinstance(a, bytes) else a
        values = b if isinstance(b, tuple) else (b,)
        for width, precision in _PERCENT_SPEC.findall(text):
            for number in (width, precision):
                if number.isdigit() and int(number) > self.max_seq:
                    self._too_big("`%` formatting", int(number), self.max_seq, "characters")
        if "*" in text:
            for value in values:
                if type(value) is int and abs(value) > self.max_seq:
                    self._too_big("`%` formatting", abs(value), self.max_seq, "characters")

    def mod(self, a: Any, b: Any) -> Any:
        self.check_mod(a, b)
        return a % b

    def check_spec(self, spec: str) -> None:
        for number in _SPEC_NUMBER.findall(spec):
            if len(number) > 9 or int(number) > self.max_seq:
                self._too_big("a format width", int(number[:12]), self.max_seq, "characters")

    def format_value(self, value: Any, conversion: int, spec: str) -> str:
        """f-string fields with a format spec: apply `!r`/`!s`/`!a`, check widths, format."""
        _reject_pending(value)
        if conversion == ord("r"):
            value = repr(value)
        elif conversion == ord("s"):
            value = str(value)
        elif conversion == ord("a"):
            value = ascii(value)
        self.check_spec(spec)
        return format(value, spec)

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
        """`print()`: append to the execution's logs, capped at `max_output_chars`."""
        self.tick()
        for arg in args:
            _reject_pending(arg)
        text = (" " if sep is None else str(sep)).join(str(a) for a in args)
        if self._logs_cut:
            return
        limit = self.limits.max_output_chars
        if self._log_chars + len(text) > limit:
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


class _GuardedFormatter(string.Formatter):
    """`str.format` whose field lookups and widths go through the plan's guards."""

    def __init__(self, runtime: PlanRuntime) -> None:
        self._runtime = runtime

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, Any]:
        first, rest = _string.formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attr, key in rest:
            obj = self._runtime.getattr(obj, key) if is_attr else self._runtime.getitem(obj, key)
        return obj, first

    def format_field(self, value: Any, format_spec: str) -> Any:
        _reject_pending(value)
        self._runtime.check_spec(format_spec)
        return format(value, format_spec)


_MISSING_ATTR: Any = object()

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
        parts = list(rt.counting(iterable))
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
            items = iterable if isinstance(iterable, _SIZED) else list(rt.counting(iterable))
            if len(obj) + len(items) > rt.max_seq:
                rt._too_big(f"`{method}`", len(obj) + len(items), rt.max_seq)
            real(items)

        return extend

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


_SPECIAL_ATTRIBUTES: dict[tuple[type, str], Callable[[PlanRuntime, Any], Any]] = {
    (str, "format"): _bind_format,
    (str, "format_map"): _bind_format_map,
    (collections.Counter, "elements"): _bind_elements,
}
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
    "*=": PlanRuntime.check_mul,
    "**=": PlanRuntime.check_pow,
    "<<=": PlanRuntime.check_lshift,
    "%=": PlanRuntime.check_mod,
}
