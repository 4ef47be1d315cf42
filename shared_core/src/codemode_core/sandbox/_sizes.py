"""How long the text of a value would be, found before building it.

`str([s] * 100)` holds one string and a list of 100 references to it, yet its text is 100
copies of the string: the text of a value shared many times can be exponentially larger than
the memory the plan was allowed to build (`a = [s] * 10; b = [a] * 10; ...`). `str()`,
`repr()`, f-strings, `print`, `%`, `str.format` and `json.dumps` therefore measure the text
first, walking the value once: a container met again is not walked again (its size is
remembered), and the walk stops as soon as the total passes the limit, so measuring costs
at most a walk of the distinct containers, never a walk of the text.

The sizes are estimates of what CPython writes (separators, indentation, escapes): never below
half the real length (short ASCII strings are counted without their escapes, which at most
double them), and close enough above it that a value whose text fits is not refused.
"""

from __future__ import annotations

import collections
import datetime
import functools
from typing import Any

__all__ = ["FLAT_TYPES", "TextTooLong", "text_size"]

FLAT_TYPES = frozenset({str, int, float, bool, type(None)})
"""Values whose text is no longer than their memory (CPython refuses `str()` of an integer of
more than 4,300 digits): callers skip the walk for them."""

_SEQUENCES: tuple[type, ...] = (
    list,
    tuple,
    set,
    frozenset,
    collections.deque,
    type({}.keys()),
    type({}.values()),
    type({}.items()),
)
_SMALL_REPR = (datetime.date, datetime.time, datetime.timedelta, datetime.tzinfo, complex, range)


_MANY = 64
"""From this many items on, a container of flat items is sized at C speed."""


def _overhead(container: Any) -> int:
    """Brackets, or a subclass's name and arguments (`defaultdict(<class 'list'>, {...})`)."""
    return 3 if type(container) in (list, dict, tuple, set) else 64


class TextTooLong(Exception):
    """The text would pass the limit (raised inside the walk to stop it early)."""


class _Measure:
    __slots__ = ("ascii_only", "indent", "item_sep", "key_sep", "limit", "memo", "total")

    def __init__(self, limit: int, item_sep: int, key_sep: int, indent: int, ascii_only: bool):
        self.limit = limit
        self.item_sep = item_sep
        self.key_sep = key_sep
        self.indent = indent
        self.ascii_only = ascii_only
        self.memo: dict[int, int] = {}
        self.total = 0

    def add(self, size: int) -> int:
        self.total += size
        if self.total > self.limit:
            raise TextTooLong
        return size

    def size(self, value: Any, depth: int) -> int:
        kind = type(value)
        if kind is str:
            return self.add(self._str(value))
        if kind is int or kind is bool:
            return self.add(value.bit_length() * 30103 // 100_000 + 3)
        if kind is float or value is None:
            return self.add(26)
        if kind is bytes or kind is bytearray:
            return self.add(4 * len(value) + 14)
        if isinstance(value, _SMALL_REPR):
            return self.add(120)
        known = self.memo.get(id(value))
        if known is not None:  # shared: its text repeats, its walk does not
            return self.add(known)
        before = self.total
        self.memo[id(value)] = 0  # a cycle prints as `[...]`
        self._walk(value, depth)
        size = self.total - before
        self.memo[id(value)] = size
        return size

    def _items(self, items: Any, depth: int) -> None:
        """The items of one container; flat ones inline (most items are flat)."""
        size = self.size
        total = 0
        for item in items:
            kind = type(item)
            if kind is str:
                total += len(item) + 2 if item.isascii() else 10 * len(item) + 2
            elif kind is int or kind is float or kind is bool or item is None:
                total += 26 if kind is not int else item.bit_length() * 30103 // 100_000 + 3
            else:
                size(item, depth)
        self.add(total)

    def _str(self, text: str) -> int:
        if text.isascii():
            if text.isprintable():
                return len(text) + text.count("\\") + text.count("'") + 2
            return 4 * len(text) + 2
        return (12 if self.ascii_only else 10) * len(text) + 2

    def _flat(self, items: Any) -> bool:
        """Size many items of one flat kind at C speed (`map`); False if they are mixed."""
        kinds = set(map(type, items))
        if kinds <= {int, bool}:
            longest = max(map(int.bit_length, items), default=0)
            self.add(len(items) * (longest * 30103 // 100_000 + 3))
        elif kinds <= {float, bool, type(None)}:
            self.add(len(items) * 26)
        elif kinds == {str}:
            self.add(sum(map(len, items)) + 2 * len(items))  # a lower bound first: scan less
            text = "".join(items)  # no longer than the limit, as just checked
            self.add(self._str(text) - len(text) - 2)
        else:
            return False
        return True

    def _walk(self, value: Any, depth: int) -> None:
        inner = depth + 1
        per_item = self.item_sep + self.indent * inner + (1 if self.indent else 0)
        if isinstance(value, dict):
            self.add(_overhead(value) + len(value) * (per_item + self.key_sep))
            if len(value) < _MANY or not (self._flat(value.keys()) and self._flat(value.values())):
                self._items(value.keys(), inner)
                self._items(value.values(), inner)
        elif isinstance(value, _SEQUENCES):
            sequence: Any = value
            self.add(_overhead(value) + len(sequence) * per_item)
            if len(sequence) < _MANY or not self._flat(sequence):
                self._items(sequence, inner)
        elif isinstance(value, collections.ChainMap):
            self.add(20)
            for mapping in value.maps:
                self.size(mapping, inner)
        elif isinstance(value, BaseException):
            self.add(len(type(value).__name__) + 4)
            self.size(value.args, inner)
        elif isinstance(value, functools.partial):
            self.add(120)
            self.size(value.args, inner)
            self.size(value.keywords, inner)
        else:  # our proxies, functions, patterns, generators: short, fixed-size texts
            self.add(200)


def text_size(
    value: Any,
    limit: int,
    *,
    item_sep: int = 2,
    key_sep: int = 2,
    indent: int = 0,
    ascii_only: bool = False,
) -> int:
    """An upper bound of the length of `repr(value)` (or of its JSON with these separators and
    this indentation), or `limit + 1` as soon as it is known to pass `limit`."""
    measure = _Measure(limit, item_sep, key_sep, indent, ascii_only)
    try:
        return measure.size(value, 0)
    except TextTooLong:
        return limit + 1
