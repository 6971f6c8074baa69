"""The shape of a VCS configuration (main.cf and types files) as this project reads it.

Only the subset the SunJES samples use: includes, type definitions, service groups with
their attributes, resources with scalar, vector and association attributes, resource
`requires` links and group dependencies. jescore.tooling.vcsconf reads text into these values.
"""

from __future__ import annotations

from collections.abc import Mapping

from jescore.policy.declaration import Dimension, Raw, VcsType
from jescore.record import field, record


@record
class ConfError:
    """Why a configuration could not be read: always with the line it was found on."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@record
class TypeAttr:
    name: str
    vcs_type: VcsType
    dimension: Dimension
    default: Raw  # as written: scalar one value, vector values, association key, value, ...
    static: bool = False


@record
class TypeDef:
    name: str
    attrs: tuple[TypeAttr, ...]
    line: int = 0

    def attr(self, name: str) -> TypeAttr | None:
        return next((a for a in self.attrs if a.name == name), None)

    @property
    def arglist(self) -> tuple[str, ...]:
        found = self.attr("ArgList")
        return found.default if found is not None else ()


@record
class Resource:
    type_name: str
    name: str
    values: Mapping[str, Raw]  # attribute name -> raw values, as VCS would pass them
    line: int = 0


@record
class ResourceLink:
    """`parent requires child`: the child is brought online first."""

    parent: str
    child: str
    line: int = 0


@record
class GroupDependency:
    """`requires group <child> <category> <location> <rigidity>` inside the parent group."""

    child: str
    category: str  # online | offline
    location: str  # local | global | remote
    rigidity: str  # soft | firm | hard
    line: int = 0


@record
class Group:
    name: str
    values: Mapping[str, Raw]  # SystemList, AutoStartList, Parallel, ...
    resources: tuple[Resource, ...] = ()
    links: tuple[ResourceLink, ...] = ()
    dependencies: tuple[GroupDependency, ...] = ()
    line: int = 0

    def resource(self, name: str) -> Resource | None:
        return next((r for r in self.resources if r.name == name), None)


@record
class Configuration:
    includes: tuple[str, ...] = ()
    types: tuple[TypeDef, ...] = ()
    groups: tuple[Group, ...] = ()
    extra: Mapping[str, Raw] = field(default_factory=dict)  # cluster and system lines, kept raw

    def type_def(self, name: str) -> TypeDef | None:
        return next((t for t in self.types if t.name == name), None)

    def group(self, name: str) -> Group | None:
        return next((g for g in self.groups if g.name == name), None)

    def resources(self) -> tuple[tuple[Group, Resource], ...]:
        return tuple((g, r) for g in self.groups for r in g.resources)
