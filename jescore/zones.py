"""Solaris zones: which processes count and how commands reach the zone.

With ContainerName set and the agent running in the global zone, commands go through
zlogin (which keeps standard input, output and the exit status) and only processes of
that zone count. Run by VCS inside the zone itself (ContainerType = Zone), the agent sees
only its own zone and nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from jescore.processes import ProcessInfo

GLOBAL_ZONE = "global"
ZLOGIN = "/usr/sbin/zlogin"


def visible(processes: Iterable[ProcessInfo], container: str) -> tuple[ProcessInfo, ...]:
    """The processes that may count for a resource of that zone.

    A process whose zone the shell could not tell (None: not Solaris) is kept, since no
    zone can then be told apart; on Solaris the shell always tells.
    """
    if not container:
        return tuple(processes)
    return tuple(p for p in processes if p.zone is None or p.zone == container)


def in_zone(argv: tuple[str, ...], container: str, agent_zone: str | None) -> tuple[str, ...]:
    """The command as it must be run from where the agent runs."""
    if container and agent_zone == GLOBAL_ZONE:
        return (ZLOGIN, container, *argv)
    return argv
