"""Turn arbitrary tool, namespace and parameter names into valid, unique Python identifiers.

Models call tools by the identifier printed in the stubs, so the mapping must be deterministic
(the same catalog always gives the same names), readable (close to the original), and
reversible by lookup (dispatch maps the identifier back to the original name).
"""

from __future__ import annotations

import hashlib
import keyword
import re
import unicodedata
from collections.abc import Iterable

__all__ = ["IdentifierAllocator", "to_identifier"]

_NOT_IDENT = re.compile(r"[^0-9A-Za-z_]+")
_UNDERSCORES = re.compile(r"_+")


def to_identifier(name: str, *, fallback: str = "tool") -> str:
    """A valid, public Python identifier as close to `name` as possible.

    Dashes, dots, spaces and other punctuation become `_`; accents are dropped (`météo` →
    `meteo`); leading underscores are removed (plans may not touch private names); a leading
    digit gets a `n` prefix; keywords get a trailing `_` (`class` → `class_`). A name with no
    ASCII letters at all (`天気`) becomes `<fallback>_<hash>` so it stays unique and stable.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ident = _UNDERSCORES.sub("_", _NOT_IDENT.sub("_", ascii_name)).strip("_")
    if not ident:
        digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
        return f"{fallback}_{digest}"
    if ident[0].isdigit():
        ident = f"n{ident}"
    if keyword.iskeyword(ident) or keyword.issoftkeyword(ident):
        ident = f"{ident}_"
    return ident


class IdentifierAllocator:
    """Hands out identifiers that are unique within one scope, in a deterministic order.

    The first name to claim an identifier keeps it; later collisions get `_2`, `_3`, ...
    Reserved identifiers (e.g. names the stub file itself uses) are never handed out.
    """

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._taken: set[str] = set(reserved)

    def allocate(self, name: str, *, fallback: str = "tool") -> str:
        base = to_identifier(name, fallback=fallback)
        candidate = base
        counter = 2
        while candidate in self._taken:
            candidate = f"{base}_{counter}"
            counter += 1
        self._taken.add(candidate)
        return candidate

    def __contains__(self, identifier: object) -> bool:
        return identifier in self._taken
