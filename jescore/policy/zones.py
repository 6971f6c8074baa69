"""Solaris zones: which processes count and how commands reach the zone.

With ContainerName set and the agent running in the global zone, commands go through
zlogin (which keeps standard input, output and the exit status) and only processes of
that zone count. Run by VCS inside the zone itself (ContainerType = Zone), the agent sees
only its own zone and nothing changes.
"""

from __future__ import annotations

from jescore.policy.processes import ProcessInfo
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


GLOBAL_ZONE = "global"
ZLOGIN = "/usr/sbin/zlogin"


def visible(processes: Iterable[ProcessInfo], zone: str | None) -> tuple[ProcessInfo, ...]:
    """The processes that may count: those of `zone` (ContainerName, or else the agent's own
    zone). None means the system has no zones (not Solaris): every process may count. Where
    zones exist, a process whose zone is unknown never counts."""
    if zone is None:
        return tuple(processes)
    return tuple(p for p in processes if p.zone == zone)


def effective_zone(container: str, agent_zone: str | None, zones_exist: bool) -> str | None:
    """Whose processes count: ContainerName, else the agent's own zone; None without zones."""
    if not zones_exist:
        return None
    return container or agent_zone


def in_zone(argv: tuple[str, ...], container: str, agent_zone: str | None) -> tuple[str, ...]:
    """The command as it must be run from where the agent runs."""
    if container and agent_zone == GLOBAL_ZONE:
        return (ZLOGIN, container, *argv)
    return argv
