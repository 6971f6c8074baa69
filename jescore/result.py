"""Result, Success and Failure: a parse or validation outcome as a value.

The vocabulary is dry-python/returns' (the same names, `match` patterns and methods:
unwrap, failure, map, bind, value_or, swap, and is_successful), kept to what jesagent
uses. returns itself is not imported: with what it pulls in (inspect, typing_extensions,
its interfaces) it costs an entry point about 20 ms, twice what the whole `ps | grep`
check it replaces costs on a small host, and every VCS call is a new process.

    match parse(text):
        case Success(value): ...
        case Failure(reason): ...
"""

from __future__ import annotations

from jescore.typenames import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn, TypeAlias

    from typing_extensions import TypeIs

T_co = TypeVar("T_co", covariant=True)
E_co = TypeVar("E_co", covariant=True)
U = TypeVar("U")


class UnwrapFailedError(Exception):
    """unwrap() of a Failure, or failure() of a Success."""


class _Holder(Generic[T_co]):
    """What Success and Failure share: one immutable value, equal only to a holder of
    the same kind with an equal value."""

    __slots__ = ("_inner_value",)
    __match_args__ = ("_inner_value",)
    _inner_value: T_co

    def __init__(self, inner_value: T_co) -> None:
        object.__setattr__(self, "_inner_value", inner_value)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"a {type(self).__name__} cannot be changed")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._inner_value == other._inner_value

    def __hash__(self) -> int:
        return hash((type(self), self._inner_value))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self._inner_value!r}>"

    def __reduce__(self) -> tuple[type[_Holder[object]], tuple[object]]:
        return (type(self), (self._inner_value,))


class Success(_Holder[T_co]):
    """A parse or validation that succeeded, holding its value."""

    __slots__ = ()

    def unwrap(self) -> T_co:
        return self._inner_value

    def failure(self) -> NoReturn:
        raise UnwrapFailedError(f"failure() of {self!r}")

    def value_or(self, default: U) -> T_co | U:
        return self._inner_value

    def map(self, function: Callable[[T_co], U]) -> Success[U]:
        return Success(function(self._inner_value))

    def bind(self, function: Callable[[T_co], U]) -> U:
        return function(self._inner_value)

    def swap(self) -> Failure[T_co]:
        return Failure(self._inner_value)


class Failure(_Holder[E_co]):
    """A parse or validation that failed, holding why."""

    __slots__ = ()

    def unwrap(self) -> NoReturn:
        raise UnwrapFailedError(f"unwrap() of {self!r}")

    def failure(self) -> E_co:
        return self._inner_value

    def value_or(self, default: U) -> U:
        return default

    def map(self, function: Callable[..., object]) -> Failure[E_co]:
        return self

    def bind(self, function: Callable[..., object]) -> Failure[E_co]:
        return self

    def swap(self) -> Success[E_co]:
        return Success(self._inner_value)


if TYPE_CHECKING:
    Result: TypeAlias = Success[T_co] | Failure[E_co]
else:
    Result = Success | Failure  # annotations only; never subscripted at run time


def is_successful(result: Result[object, object]) -> TypeIs[Success[object]]:
    """Whether `result` is a Success."""
    return type(result) is Success
