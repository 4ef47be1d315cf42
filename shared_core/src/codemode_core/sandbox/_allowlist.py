"""The reviewed table of what a plan may read on the objects it holds: default deny by type.

A plan reaches an attribute only if the object's *exact* type is listed here with that name
(or the object is one of our own proxies, which guard themselves). Everything else is opaque:
a coroutine, generator, future, task, loop, function, frame, code object or module internal
can be awaited, iterated or called where that is its job, and nothing more, so a walk from an
object a plan holds can only reach other objects listed here (the property zope.security's
checkers give; see STYLE.md §5).

Why exact types: a subclass can override any listed method or add a property that returns
something unlisted, so it gets nothing from its base's entry. Plans cannot create classes, and
tool results are rebuilt as plain data, so the only subclass instances a plan meets are the
ones listed here on their own (`bool`, `Counter`, `OrderedDict`, ...). Exceptions are the one
exception: a plan catches whatever C code or a tool raised, so an exception's names are looked
up along its MRO in `EXCEPTION_ATTRIBUTES` (`args` for every exception).

No listed name mutates process-wide state: every mutating method listed here mutates the
plan's own value (`list.append`, `Counter.update`), and methods that would hand out an
unlisted object are left out (`dict_keys.mapping`, `Pattern.scanner`, `UUID.is_safe`,
`datetime.now`: the latter reads the host's clock instead of the plan's journaled one and is
bound by the runtime instead, see `guards.py`). Names that only exist on newer Pythons
(`int.is_integer`, 3.12) are not listed, so plans and docs/security.md (which shows this
table, checked by a test) are the same on every verified interpreter.
"""

from __future__ import annotations

import collections
import datetime
import functools
import json
import re
import statistics
import time
import types
import uuid
from collections.abc import Iterable, Mapping

from codemode_core.errors import ToolError

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "CLASS_ATTRIBUTES",
    "EXCEPTION_ATTRIBUTES",
    "exception_attributes",
]


def _names(
    cls: type, names: str, *, base: Iterable[str] = (), per_instance: str = ""
) -> frozenset[str]:
    """`names` (space-separated) plus `base`, keeping those this interpreter's `cls` has, plus
    `per_instance`: attributes each instance sets itself (`ChainMap.maps`)."""
    wanted = set(names.split()) | set(base)
    kept = {name for name in wanted if hasattr(cls, name)}
    return frozenset(kept | set(per_instance.split()))


# Text and bytes: every public method is a pure function of the value (size-amplifying ones
# are bound with size guards through `_SPECIAL_ATTRIBUTES` in `guards.py`).
_TEXT_COMMON = (
    "capitalize center count endswith expandtabs find index isalnum isalpha isascii isdigit "
    "islower isspace istitle isupper join ljust lower lstrip maketrans partition removeprefix "
    "removesuffix replace rfind rindex rjust rpartition rsplit rstrip split splitlines "
    "startswith strip swapcase title translate upper zfill"
)
_STR = _names(
    str,
    _TEXT_COMMON + " casefold encode format format_map isdecimal isidentifier isnumeric "
    "isprintable",
)
_BYTES = _names(bytes, _TEXT_COMMON + " decode fromhex hex")
# bytearray: the plan's own buffer; the mutators touch only it.
_BYTEARRAY = _names(
    bytearray,
    _TEXT_COMMON + " decode fromhex hex append clear copy extend insert pop remove reverse",
)

# Numbers: read-only arithmetic helpers.
_INT = _names(
    int,
    "as_integer_ratio bit_count bit_length conjugate denominator from_bytes imag numerator "
    "real to_bytes",
)
_FLOAT = _names(float, "as_integer_ratio conjugate fromhex hex imag is_integer real")
_COMPLEX = _names(complex, "conjugate imag real")

# Containers: the plan's own values; their mutators change only them.
_LIST = _names(list, "append clear copy count extend index insert pop remove reverse sort")
_TUPLE = _names(tuple, "count index")
_DICT = _names(dict, "clear copy fromkeys get items keys pop popitem setdefault update values")
_SET = _names(
    set,
    "add clear copy difference difference_update discard intersection intersection_update "
    "isdisjoint issubset issuperset pop remove symmetric_difference "
    "symmetric_difference_update union update",
)
_FROZENSET = _names(
    frozenset,
    "copy difference intersection isdisjoint issubset issuperset symmetric_difference union",
)
# Dict views: `mapping` (a live read-only proxy of the dict) is left out; plans have the dict.
_VIEW = frozenset({"isdisjoint"})

# `collections`: the containers the `collections` facade exposes (no `namedtuple`: it makes
# classes). `fromkeys` is left out of Counter (it raises) and ChainMap (rarely meant).
_DEQUE = _names(
    collections.deque,
    "append appendleft clear copy count extend extendleft index insert maxlen pop popleft "
    "remove reverse rotate",
)
_COUNTER = _names(collections.Counter, "elements most_common subtract total", base=_DICT) - {
    "fromkeys"
}
_ORDERED_DICT = _names(collections.OrderedDict, "move_to_end", base=_DICT)
_DEFAULT_DICT = _names(collections.defaultdict, "default_factory", base=_DICT)
_CHAIN_MAP = _names(
    collections.ChainMap,
    "clear copy get items keys new_child parents pop popitem setdefault update values",
    per_instance="maps",
)

# Date and time: immutable values. `now`/`today`/`utcnow` are bound to the plan's journaled
# clock by the runtime (see `guards.py`), so they are not listed on the instances.
_DATE = _names(
    datetime.date,
    "ctime day isocalendar isoformat isoweekday month replace strftime timetuple toordinal "
    "weekday year",
)
_DATETIME = _names(
    datetime.datetime,
    "astimezone date dst fold hour microsecond minute second time timestamp timetz tzinfo "
    "tzname utcoffset utctimetuple",
    base=_DATE,
)
_TIME = _names(
    datetime.time,
    "dst fold hour isoformat microsecond minute replace second strftime tzinfo tzname utcoffset",
)
_TIMEDELTA = _names(datetime.timedelta, "days microseconds seconds total_seconds")
_TIMEZONE = _names(datetime.timezone, "dst tzname utcoffset")
_STRUCT_TIME = _names(
    time.struct_time,
    "count index tm_gmtoff tm_hour tm_isdst tm_mday tm_min tm_mon tm_sec tm_wday tm_yday "
    "tm_year tm_zone",
)

ALLOWED_ATTRIBUTES: Mapping[type, frozenset[str]] = types.MappingProxyType(
    {
        # Scalars.
        str: _STR,
        bytes: _BYTES,
        bytearray: _BYTEARRAY,
        int: _INT,
        bool: _INT,
        float: _FLOAT,
        complex: _COMPLEX,
        type(None): frozenset(),
        # Built-in containers and their views.
        list: _LIST,
        tuple: _TUPLE,
        dict: _DICT,
        set: _SET,
        frozenset: _FROZENSET,
        type({}.keys()): _VIEW,
        type({}.items()): _VIEW,
        type({}.values()): frozenset(),
        type(collections.OrderedDict().keys()): _VIEW,
        type(collections.OrderedDict().items()): _VIEW,
        type(collections.OrderedDict().values()): frozenset(),
        range: _names(range, "count index start step stop"),
        slice: _names(slice, "indices start step stop"),
        # Read-only mapping returned by `Pattern.groupindex`.
        types.MappingProxyType: _names(types.MappingProxyType, "copy get items keys values"),
        # `collections`.
        collections.deque: _DEQUE,
        collections.Counter: _COUNTER,
        collections.OrderedDict: _ORDERED_DICT,
        collections.defaultdict: _DEFAULT_DICT,
        collections.ChainMap: _CHAIN_MAP,
        # `datetime` and `time`.
        datetime.date: _DATE,
        datetime.datetime: _DATETIME,
        datetime.time: _TIME,
        datetime.timedelta: _TIMEDELTA,
        datetime.timezone: _TIMEZONE,
        time.struct_time: _STRUCT_TIME,
        type(datetime.date(2000, 1, 1).isocalendar()): _names(
            type(datetime.date(2000, 1, 1).isocalendar()), "count index week weekday year"
        ),
        # `re`: compiled patterns and matches (`scanner` is undocumented and left out).
        re.Pattern: _names(
            re.Pattern,
            "findall finditer flags fullmatch groupindex groups match pattern search split sub "
            "subn",
        ),
        re.Match: _names(
            re.Match,
            "end endpos expand group groupdict groups lastgroup lastindex pos re span start string",
        ),
        # `uuid.UUID`: read-only views of a 128-bit value (`is_safe` is host-generation
        # metadata, an enum the table does not list).
        uuid.UUID: _names(
            uuid.UUID,
            "bytes bytes_le clock_seq clock_seq_hi_variant clock_seq_low fields hex int node "
            "time time_hi_version time_low time_mid urn variant version",
        ),
        # `statistics.linear_regression` returns a named tuple.
        statistics.LinearRegression: _names(
            statistics.LinearRegression, "count index intercept slope"
        ),
        # `functools.lru_cache`/`cache` wrappers: the plan's own cache of its own function.
        functools._lru_cache_wrapper: frozenset({"cache_clear", "cache_info"}),
        type(functools.lru_cache()(len).cache_info()): _names(
            type(functools.lru_cache()(len).cache_info()),
            "count currsize hits index maxsize misses",
        ),
    }
)
"""Instances of each exact type: the attribute names a plan may read (methods included)."""

_CLASS_ONLY: dict[type, str] = {
    # Alternative constructors and constants read on the class (`dict.fromkeys(keys)`,
    # `datetime.datetime.fromisoformat(s)`, `datetime.timezone.utc`); `now`/`today` are bound
    # to the plan's clock by the runtime.
    str: "maketrans",
    bytes: "fromhex maketrans",
    bytearray: "fromhex maketrans",
    int: "from_bytes",
    float: "fromhex",
    dict: "fromkeys",
    collections.OrderedDict: "fromkeys",
    datetime.date: "fromisocalendar fromisoformat fromordinal fromtimestamp max min resolution",
    datetime.datetime: "combine fromisocalendar fromisoformat fromordinal fromtimestamp max min "
    "resolution strptime utcfromtimestamp",
    datetime.time: "fromisoformat max min resolution",
    datetime.timedelta: "max min resolution",
    datetime.timezone: "max min utc",
}

CLASS_ATTRIBUTES: Mapping[type, frozenset[str]] = types.MappingProxyType(
    {
        cls: names | _names(cls, _CLASS_ONLY.get(cls, ""))
        for cls, names in ALLOWED_ATTRIBUTES.items()
        if isinstance(cls, type)
    }
)
"""The listed classes themselves: their instances' names (as unbound methods, `str.lower`)
plus alternative constructors and constants."""

EXCEPTION_ATTRIBUTES: Mapping[type, frozenset[str]] = types.MappingProxyType(
    {
        BaseException: frozenset({"args"}),
        # Our own: the message and the failing tool's name, as the plan may report them.
        ToolError: frozenset({"message", "tool"}),
        StopIteration: frozenset({"value"}),
        # `.name` of a missing name or attribute (`AttributeError.obj` is left out: the object).
        NameError: frozenset({"name"}),
        AttributeError: frozenset({"name"}),
        UnicodeError: frozenset({"encoding", "end", "object", "reason", "start"}),
        json.JSONDecodeError: frozenset({"colno", "doc", "lineno", "msg", "pos"}),
        re.error: frozenset({"colno", "lineno", "msg", "pattern", "pos"}),
    }
)
"""Exceptions: names allowed on an exception whose class has the key in its MRO."""

_EXCEPTION_CACHE: dict[type, frozenset[str]] = {}


def exception_attributes(kind: type) -> frozenset[str]:
    """The names a plan may read on an exception of class `kind` (union along its MRO).

    Cached per class: plans cannot create classes, so the cache holds the exception classes
    C code, the stdlib and our tools raise, a small fixed set.
    """
    names = _EXCEPTION_CACHE.get(kind)
    if names is None:
        names = frozenset().union(
            *(EXCEPTION_ATTRIBUTES.get(base, frozenset()) for base in kind.__mro__)
        )
        _EXCEPTION_CACHE[kind] = names
    return names
