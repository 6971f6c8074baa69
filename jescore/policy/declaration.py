"""One declaration per resource type: every fact about an attribute is written here once.

Parsing (argv order and dimensions), validation (conversion and the required check),
the VCS types files, and the generated documentation are all derived from these objects.
"""

from __future__ import annotations

import enum

from jescore.record import field, record, replace
from jescore.result import Failure, Result, Success
from jescore.typenames import TYPE_CHECKING, Generic, TypeVar, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any


T = TypeVar("T")

# What VCS hands over for one attribute: its values as strings, in order. A scalar has one
# value (none if VCS left an empty scalar out), a vector N values, an association its keys
# and values interleaved.
Raw = tuple[str, ...]


class VcsType(enum.Enum):
    STR = "str"
    INT = "int"
    BOOLEAN = "boolean"


class Dimension(enum.Enum):
    SCALAR = "scalar"
    VECTOR = "vector"
    ASSOCIATION = "association"


@record
class Attr(Generic[T]):
    """One resource attribute, as the type declares it, with its converter."""

    name: str
    vcs_type: VcsType
    dimension: Dimension
    default: Raw
    required: bool
    description: str
    convert: Callable[[Raw], Result[T, str]] = field(repr=False, compare=False)
    secret: bool = False
    zone_only: bool = False  # declared only in the Solaris zone variants of the types file
    logging_only: bool = False  # shapes only the log: an invalid value never invalidates
    # For the identity check of offline and clean: a laxer reading that keeps only what
    # tells which processes are the resource's (MsgServices' keys, not its ports).
    identity_convert: Callable[[Raw], Result[T, str]] | None = field(
        default=None, repr=False, compare=False
    )

    def types_cf_default(self) -> str | None:
        """The default as a types.cf declaration would spell it, or None for no default."""
        if not self.default or self.default == ("",):
            return None
        if self.vcs_type is VcsType.STR and self.dimension is Dimension.SCALAR:
            return self.default[0]
        return " ".join(self.default)


@record
class Violation:
    """A configuration problem, always naming the attribute and the reason."""

    attribute: str
    reason: str

    def __str__(self) -> str:
        return f"{self.attribute}: {self.reason}"


class Config:
    """Converted attribute values of one resource, read with the Attr objects themselves."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, object]) -> None:
        self._values = dict(values)

    def __getitem__(self, attr: Attr[T]) -> T:
        return cast("T", self._values[attr.name])

    def has(self, attr: Attr[Any]) -> bool:
        return attr.name in self._values

    def __repr__(self) -> str:
        return f"Config({sorted(self._values)})"


@record
class CrossCheck:
    """A rule between attributes; it runs only when every attribute it needs converted."""

    needs: tuple[Attr[Any], ...]
    check: Callable[[Config], tuple[Violation, ...]]


# Arguments that VCS may place in the ArgList or append to it besides declared attributes.
ENGINE_SCALARS: tuple[str, ...] = ("State", "IState", "AEPTimeout")
# LogDbg is VCS's own (static keylist); a site may add it to the ArgList to pass it on.
ENGINE_VECTORS: tuple[str, ...] = ("LogDbg",)


@record
class Declaration:
    """A resource type: its name, attributes, ArgList order and cross-attribute rules."""

    type_name: str
    attrs: tuple[Attr[Any], ...]
    arglist: tuple[str, ...]
    cross_checks: tuple[CrossCheck, ...] = ()
    # The attributes that tell which processes are this resource's: with these valid,
    # offline and clean can do their work even if another attribute is wrong.
    identity: tuple[str, ...] = ()
    # Optional attributes this project appended to the seed's ArgList: a V40 vector built
    # from a types file that predates them ends before them, and their defaults hold.
    added: tuple[str, ...] = ()

    def attr(self, name: str) -> Attr[Any] | None:
        for candidate in self.attrs:
            if candidate.name == name:
                return candidate
        return None

    def dimension_of(self, name: str) -> Dimension | None:
        """The dimension of an ArgList name: declared attributes and the engine's scalars."""
        found = self.attr(name)
        if found is not None:
            return found.dimension
        if name in ENGINE_SCALARS:
            return Dimension.SCALAR
        if name in ENGINE_VECTORS:
            return Dimension.VECTOR
        return None

    def arglist_for(self, *, zones: bool) -> tuple[str, ...]:
        """The ArgList of a types file; zone variants append the zone-only attributes."""
        extra = tuple(a.name for a in self.attrs if a.zone_only) if zones else ()
        return self.arglist + extra

    @property
    def zone_capable(self) -> bool:
        return any(a.zone_only for a in self.attrs)

    @property
    def secret_names(self) -> frozenset[str]:
        return frozenset(a.name for a in self.attrs if a.secret)

    def attribute_names(self) -> tuple[str, ...]:
        """The names of the declared attributes, in declaration order."""
        return tuple(a.name for a in self.attrs)

    def identifying(self) -> Declaration:
        """The declaration narrowed to the identity attributes (and ContainerName, which
        says where the commands run) and the rules among them alone."""
        names = {*self.identity, *(a.name for a in self.attrs if a.zone_only)}
        return replace(
            self,
            attrs=tuple(
                a if a.identity_convert is None else replace(a, convert=a.identity_convert)
                for a in self.attrs
                if a.name in names
            ),
            cross_checks=tuple(
                c for c in self.cross_checks if all(n.name in names for n in c.needs)
            ),
        )


def _is_empty(raw: Raw) -> bool:
    return all(value == "" for value in raw)


def validate(decl: Declaration, values: Mapping[str, Raw]) -> Result[Config, tuple[Violation, ...]]:
    """Convert every attribute and run every rule; report all violations at once."""
    converted: dict[str, object] = {}
    violations: list[Violation] = []
    for attr in decl.attrs:
        raw = values.get(attr.name, attr.default)
        if attr.required and _is_empty(raw):
            violations.append(Violation(attr.name, "is required but empty"))
            continue
        match attr.convert(raw):
            case Success(value):
                converted[attr.name] = value
            case Failure(reason):
                violations.append(Violation(attr.name, reason))
    partial = Config(converted)
    for rule in decl.cross_checks:
        if all(partial.has(needed) for needed in rule.needs):
            violations.extend(rule.check(partial))
    if violations:
        return Failure(tuple(violations))
    return Success(partial)
