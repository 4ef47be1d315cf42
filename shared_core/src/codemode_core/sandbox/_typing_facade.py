"""The `typing` plans see: annotation markers that never reach `typing`'s process-wide cache.

`typing.Literal[...]`, `Union[...]`, `List[...]` ... are memoised in a `functools.lru_cache`
shared by the whole process, keyed by *equal* arguments: a plan that wrote
`typing.Literal["mailbox", (-0.0, 0.0, ...)]` could read the signs back in another plan
(`repr(typing.Literal["mailbox", (0.0, 0.0, ...)])` returned the first plan's alias), in-process
and on a reused worker. Plans only annotate with `typing`, so they get `TypingForm`s instead:
subscripting, `|` and `Optional` build new markers that hold nothing, and the bare forms keep
working in `isinstance`/`issubclass` (`isinstance(x, typing.Mapping)`), as in `typing`.
"""

from __future__ import annotations

import collections.abc
import typing
from typing import Any, NoReturn

__all__ = ["TypingForm", "typing_members"]

_ORIGINS: dict[str, type | None] = {
    "Any": None,
    "Callable": collections.abc.Callable,  # type: ignore[dict-item]
    "Dict": dict,
    "Iterable": collections.abc.Iterable,
    "Iterator": collections.abc.Iterator,
    "List": list,
    "Literal": None,
    "Mapping": collections.abc.Mapping,
    "Optional": None,
    "Sequence": collections.abc.Sequence,
    "Set": set,
    "Tuple": tuple,
    "Union": None,
}
"""The `typing` names plans may use, with the class a bare one stands for in `isinstance`
(None where `typing` refuses instance checks too)."""


class TypingForm:
    """`typing.List`, `typing.Literal["a"]`, `int | typing.List[int]` ... as plans see them.

    Opaque to the guards (no attributes), immutable, and built per plan: a subscription keeps
    none of its arguments, so there is nothing in it for another plan to read.
    """

    __slots__ = ("_name", "_origin")
    _codemode_name = "typing form"

    def __init__(self, name: str, origin: type | None) -> None:
        self._name = name
        self._origin = origin

    def __getitem__(self, parameters: Any) -> TypingForm:
        return TypingForm(f"{self._name}[...]", None)

    def __iter__(self) -> Any:
        # Without it, `x in typing.Any` would index forms `[0]`, `[1]`, ... in C forever.
        raise TypeError(f"'{self._name}' is not iterable")

    def __or__(self, other: Any) -> TypingForm:
        return TypingForm("Union[...]", None)

    __ror__ = __or__

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(f"typing.{self._name} cannot be called; it is for annotations")

    def __instancecheck__(self, obj: Any) -> bool:
        return isinstance(obj, self._checked())

    def __subclasscheck__(self, cls: Any) -> bool:
        return issubclass(cls, self._checked())

    def _checked(self) -> type:
        if self._origin is None:
            self._refuse_check()
        return self._origin

    def _refuse_check(self) -> NoReturn:
        raise TypeError(f"typing.{self._name} cannot be used with isinstance() or issubclass()")

    def __repr__(self) -> str:
        return f"typing.{self._name}"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("typing forms cannot be copied")


def typing_members() -> dict[str, Any]:
    """A plan's `typing` module: fresh markers, and `cast` (which returns its value)."""
    members: dict[str, Any] = {name: TypingForm(name, origin) for name, origin in _ORIGINS.items()}
    members["cast"] = typing.cast
    return members
