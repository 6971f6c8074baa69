"""Records: the core's small value classes, defined at almost no cost.
from jescore.typenames import TYPE_CHECKING

Every VCS entry point call is a new process, and the standard library's dataclasses make
each class by generating and compiling the source of half a dozen methods: about a
millisecond a class, some sixty on a monitor's path, plus the import of `inspect`. A
record is the same idea with the methods written once, here, and shared: defining one
costs microseconds, constructing one a little more than a dataclass does.

    @record
    class Point:
        x: int
        y: int = 0

Point(1) == Point(1, 0); hash, repr and `match` patterns work as for a frozen dataclass,
and assignment raises FrozenRecord. `@mutable_record` gives a record whose fields can be
assigned (and which has no hash). Fields are the annotations of the class body, in
order, after those of record bases; `field()` gives a default factory or leaves a field
out of repr or comparison.
Type checkers read the decorator as a dataclass through `dataclass_transform`.
"""

from __future__ import annotations

from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from typing_extensions import dataclass_transform

    C = TypeVar("C", bound=type)
    R = TypeVar("R")
else:  # no typing at run time: its import costs an entry point more than all of this

    def dataclass_transform(**_options: object) -> object:
        return lambda decorator: decorator


class FrozenRecord(AttributeError):
    """An assignment to a field of a frozen record."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """One field of a record: its name, its default or default factory, and whether it
    shows in repr and takes part in comparison and hashing."""

    __slots__ = ("compare", "default", "factory", "name", "repr")

    def __init__(
        self,
        default: object = MISSING,
        factory: Callable[[], object] | None = None,
        repr: bool = True,
        compare: bool = True,
    ) -> None:
        self.name = ""
        self.default = default
        self.factory = factory
        self.repr = repr
        self.compare = compare

    @property
    def required(self) -> bool:
        return self.default is MISSING and self.factory is None

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | None = None,
    repr: bool = True,
    compare: bool = True,
) -> Any:
    """A field with a default factory, or left out of repr or comparison."""
    if default is not MISSING and default_factory is not None:
        raise TypeError("a field takes a default or a default_factory, not both")
    return Field(default, default_factory, repr, compare)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _collect(cls: type) -> tuple[Field, ...]:
    inherited: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("__record_fields__", ()):
            inherited[f.name] = f
    own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - no inspect: it costs
    for name, annotation in own.items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        made = value if isinstance(value, Field) else Field(value)
        made.name = name
        if isinstance(value, Field):  # the class attribute is the default, as in dataclasses
            if made.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, made.default)
        inherited.pop(name, None)
        inherited[name] = made
    found = tuple(inherited.values())
    seen_default = False
    for f in found:
        if f.required and seen_default:
            raise TypeError(f"{cls.__name__}: field {f.name!r} without a default follows one with")
        seen_default = seen_default or not f.required
    return found


def _init(self: object, *args: object, **kwargs: object) -> None:
    cls = type(self)
    spec: tuple[Field, ...] = cls.__record_fields__  # type: ignore[attr-defined]
    if len(args) > len(spec):
        raise TypeError(f"{cls.__name__}() takes {len(spec)} arguments, {len(args)} given")
    put = object.__setattr__
    for f, value in zip(spec, args, strict=False):
        if f.name in kwargs:
            raise TypeError(f"{cls.__name__}() got {f.name!r} twice")
        put(self, f.name, value)
    for f in spec[len(args) :]:
        if f.name in kwargs:
            put(self, f.name, kwargs.pop(f.name))
        elif f.default is not MISSING:
            put(self, f.name, f.default)
        elif f.factory is not None:
            put(self, f.name, f.factory())
        else:
            raise TypeError(f"{cls.__name__}() misses the argument {f.name!r}")
    if kwargs:
        raise TypeError(f"{cls.__name__}() has no field {next(iter(kwargs))!r}")
    post = getattr(self, "__post_init__", None)
    if post is not None:
        post()


def _compared(self: object) -> tuple[object, ...]:
    spec: tuple[Field, ...] = type(self).__record_fields__  # type: ignore[attr-defined]
    return tuple(getattr(self, f.name) for f in spec if f.compare)


def _eq(self: object, other: object) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _compared(self) == _compared(other)


def _hash(self: object) -> int:
    return hash(_compared(self))


def _repr(self: object) -> str:
    spec: tuple[Field, ...] = type(self).__record_fields__  # type: ignore[attr-defined]
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in spec if f.repr)
    return f"{type(self).__qualname__}({shown})"


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise FrozenRecord(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")


def _frozen_delattr(self: object, name: str) -> None:
    raise FrozenRecord(f"cannot delete field {name!r} of a frozen {type(self).__name__}")


def _make(cls: C, frozen: bool) -> C:
    spec = _collect(cls)
    cls.__record_fields__ = spec  # type: ignore[attr-defined]
    own = cls.__dict__
    methods: dict[str, object] = {"__init__": _init, "__repr__": _repr, "__eq__": _eq}
    if frozen:
        methods |= {
            "__hash__": _hash,
            "__setattr__": _frozen_setattr,
            "__delattr__": _frozen_delattr,
        }
    elif "__hash__" not in own or own["__hash__"] is None:
        methods["__hash__"] = None  # mutable and compared by value: unhashable
    methods["__match_args__"] = tuple(f.name for f in spec)
    for name, method in methods.items():
        # A method the class writes itself wins (a masked repr); a defaulted __hash__
        # (None, set by Python when a class defines __eq__) does not.
        if name not in own or (name == "__hash__" and own[name] is None):
            setattr(cls, name, method)
    return cls


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(cls: C) -> C:
    """Make `cls` a frozen record (see the module's documentation)."""
    return _make(cls, frozen=True)


@dataclass_transform(field_specifiers=(field, Field))
def mutable_record(cls: C) -> C:
    """Make `cls` a record whose fields can be assigned (and which has no hash)."""
    return _make(cls, frozen=False)


def fields(obj: object) -> tuple[Field, ...]:
    """The fields of a record class or instance, in order."""
    spec = getattr(obj, "__record_fields__", None)
    if spec is None:
        raise TypeError(f"{obj!r} is not a record")
    return spec  # type: ignore[no-any-return]


def replace(obj: R, /, **changes: Any) -> R:
    """A copy of `obj`, a record (or a dataclass), with some fields changed.

    The one replace of the project (ruff bans dataclasses.replace): mypy takes records for
    dataclasses, so it would not flag dataclasses.replace given a record, which fails."""
    spec = getattr(obj, "__record_fields__", None)
    if spec is None:
        import dataclasses  # a dataclass of the tests or stand-ins; never on an entry point

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]  # noqa: TID251
    known = {f.name for f in spec}
    unknown = set(changes) - known
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {sorted(unknown)[0]!r}")
    values = {f.name: changes.get(f.name, getattr(obj, f.name)) for f in spec}
    return type(obj)(**values)
