"""The VCS types files of the three resource types, generated from their declarations.

One file per type and variant, named as the seed guide ships them, plus the two zone
variants, which this project names with a `_zone` suffix:

    VCS 4.x          SunJESMsgTypes.cf        no AgentDirectory / AgentFile (V40 agents)
    VCS 5.0          SunJESMsgTypes50.cf      AgentFile /opt/VRTSvcs/bin/Script50Agent
    VCS 5.1          SunJESMsgTypes51.cf      AgentFile /opt/VRTSvcs/bin/Script51Agent
    VCS 5.0, zones   SunJESMsgTypes50_zone.cf ContainerType = Zone, str ContainerName
    VCS 5.1, zones   SunJESMsgTypes51_zone.cf

The zone variants exist only for types with zone-only attributes (SunJESAdm is not
supported in zones); asked for one anyway, such a type gets its plain 5.0 / 5.1 file,
which is what a zone-enabled cluster runs it from (the global zone).

Additions to the seed's definitions, on purpose:
- 5.0 and 5.1 variants set `static int AEPTimeout = 1`, so VCS appends the entry point's
  own time budget to its arguments.
- zone variants also append ContainerName to the ArgList, so an agent that runs in the
  global zone learns the zone it must work in.
- SunJESMsg and SunJESLDAP declare NativeProbes (their declarations' `added`), at the end
  of the ArgList; its default 0 keeps the guide's probes, and a 4.x vector from a types
  file without it still reads.
- SunJESAdm gets 5.0 and 5.1 variants with AgentDirectory / AgentFile like the other two
  types; the seed ships its Administration Server type only in the 4.x form.
"""

from __future__ import annotations

import enum

from jescore.policy.declaration import Attr, Declaration, Dimension
from jescore.policy.registry import POLICIES
from jescore.record import record
from jescore.tooling.vcsconf import DIMENSION_SUFFIX, quote, render_value

AGENT_HOME = "/opt/VRTSagents/ha/bin"
SCRIPT50_AGENT = "/opt/VRTSvcs/bin/Script50Agent"
SCRIPT51_AGENT = "/opt/VRTSvcs/bin/Script51Agent"
_WRAP = 88  # ArgList lines are wrapped like the seed's, for people reading the file


@record
class _Facts:
    suffix: str
    title: str
    agent_file: str | None
    zones: bool


class Variant(enum.Enum):
    VCS4 = _Facts("", "VCS 4.x", None, zones=False)
    VCS50 = _Facts("50", "VCS 5.0", SCRIPT50_AGENT, zones=False)
    VCS51 = _Facts("51", "VCS 5.1", SCRIPT51_AGENT, zones=False)
    VCS50_ZONE = _Facts("50_zone", "VCS 5.0 with Solaris zones", SCRIPT50_AGENT, zones=True)
    VCS51_ZONE = _Facts("51_zone", "VCS 5.1 with Solaris zones", SCRIPT51_AGENT, zones=True)

    @property
    def suffix(self) -> str:
        return self.value.suffix

    @property
    def title(self) -> str:
        return self.value.title

    @property
    def agent_file(self) -> str | None:
        """Script50Agent / Script51Agent; None for 4.x, where VCS finds the agent itself."""
        return self.value.agent_file

    @property
    def zones(self) -> bool:
        return self.value.zones

    @property
    def plain(self) -> Variant:
        """The same VCS release without zone support."""
        return {Variant.VCS50_ZONE: Variant.VCS50, Variant.VCS51_ZONE: Variant.VCS51}.get(
            self, self
        )


def variants_for(decl: Declaration) -> tuple[Variant, ...]:
    """The variants a type ships in: zone variants only for zone-capable types."""
    return tuple(v for v in Variant if decl.zone_capable or not v.zones)


def _effective(decl: Declaration, variant: Variant) -> Variant:
    return variant if decl.zone_capable else variant.plain


def file_name(decl: Declaration, variant: Variant) -> str:
    return f"{decl.type_name}Types{_effective(decl, variant).suffix}.cf"


def agent_directory(decl: Declaration) -> str:
    return f"{AGENT_HOME}/{decl.type_name}"


def _attr_line(attr: Attr[object]) -> str:
    line = f"\t{attr.vcs_type.value} {attr.name}{DIMENSION_SUFFIX[attr.dimension]}"
    default = attr.types_cf_default()
    if default is None:
        return line
    if attr.dimension is Dimension.SCALAR:
        return f"{line} = {quote(default)}"
    return f"{line} = {render_value(attr.default, attr.dimension)}"


def _arglist_lines(names: tuple[str, ...]) -> list[str]:
    lines: list[str] = []
    current = "\tstatic str ArgList[] = {"
    for index, name in enumerate(names):
        piece = f" {name}" + ("," if index < len(names) - 1 else " }")
        if len(current.expandtabs(8)) + len(piece) > _WRAP:
            lines.append(current)
            current = "\t\t" + piece.lstrip()
        else:
            current += piece
    if not names:
        current += " }"
    return [*lines, current]


def render(decl: Declaration, variant: Variant) -> str:
    """The types file text of one type for one VCS release."""
    used = _effective(decl, variant)
    lines = [
        f"// {decl.type_name} resource type for {used.title}.",
        "// Generated from the jesagent declarations (jescore.tooling.typesfile); do not edit.",
        f"type {decl.type_name} (",
    ]
    if used.zones:
        lines.append("\tstatic str ContainerType = Zone")
    if used.agent_file is not None:
        lines += [
            f"\tstatic str AgentDirectory = {quote(agent_directory(decl))}",
            f"\tstatic str AgentFile = {quote(used.agent_file)}",
            "\tstatic int AEPTimeout = 1",
        ]
    lines += _arglist_lines(decl.arglist_for(zones=used.zones))
    lines += [_attr_line(a) for a in decl.attrs if used.zones or not a.zone_only]
    lines.append(")")
    return "\n".join(lines) + "\n"


def all_files() -> dict[str, str]:
    """Every types file of every type: file name -> text."""
    return {
        file_name(policy.declaration, variant): render(policy.declaration, variant)
        for policy in POLICIES.values()
        for variant in variants_for(policy.declaration)
    }
