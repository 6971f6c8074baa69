"""What every resource type's policy provides, and the attributes all three types share.

The shell drives any policy the same way: it asks what to watch, observes it once, and
hands the snapshot back to the policy's pure functions for every decision.
"""

from __future__ import annotations

from jescore.policy import checks
from jescore.policy.checks import LogLevel
from jescore.policy.commands import Command, Probe
from jescore.policy.declaration import Attr, Config, Declaration, Dimension, VcsType
from jescore.policy.processes import ProcessInfo
from jescore.record import field, record
from jescore.typenames import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping


RES_LOG_LEVEL: Attr[LogLevel] = Attr(
    "ResLogLevel", VcsType.STR, Dimension.SCALAR, ("INFO",), False,
    "How much the agent logs for this resource: ERROR, WARN, INFO or TRACE.",
    checks.log_level, logging_only=True,
)  # fmt: skip
MONITOR_PROGRAM: Attr[tuple[str, ...]] = Attr(
    "MonitorProgram", VcsType.STR, Dimension.SCALAR, ("",), False,
    "Absolute path of an extra monitor program, with arguments; its exit code is read as "
    "110/0 online, 100/1 offline, any other value (101-109 too) unknown; skipped with a "
    "warning when it is not an executable file.",
    checks.command_line,
)  # fmt: skip
SECOND_LEVEL_MONITOR: Attr[int] = Attr(
    "SecondLevelMonitor", VcsType.INT, Dimension.SCALAR, ("0",), False,
    "Run the deep (second-level) check on every N-th monitor cycle; 0 never.",
    checks.count,
)  # fmt: skip

CONTAINER_NAME: Attr[str] = Attr(
    "ContainerName", VcsType.STR, Dimension.SCALAR, ("",), False,
    "Solaris zone the instance runs in (zone types only). When the agent runs in the global "
    "zone, commands go through zlogin and only that zone's processes count.",
    checks.zone_name, zone_only=True,
)  # fmt: skip


@record
class Watch:
    """What the shell should observe for one decision."""

    process_names: frozenset[str] = frozenset()  # cheap filter for the process-table scan
    files: tuple[str, ...] = ()  # read their contents (pid files)
    paths: tuple[str, ...] = ()  # tell which exist as executables
    identify: tuple[tuple[str, ...], ...] = ()  # run those whose program exists; keep output
    descendants: bool = False  # also every descendant of the named processes, with ppids
    pids: tuple[int, ...] | None = None  # look at these processes only (the pid cache)


@record
class Snapshot:
    """The answer to Observe: processes, file contents, executables, identify outputs."""

    processes: tuple[ProcessInfo, ...]
    files: Mapping[str, str | None] = field(default_factory=dict)
    executables: frozenset[str] = frozenset()
    outputs: Mapping[tuple[str, ...], str] = field(default_factory=dict)


def merged(first: Snapshot, more: Snapshot) -> Snapshot:
    """The first snapshot's processes with both snapshots' files, programs and outputs."""
    return Snapshot(
        first.processes,
        {**first.files, **more.files},
        first.executables | more.executables,
        {**first.outputs, **more.outputs},
    )


@record
class FirstLevel:
    found: tuple[ProcessInfo, ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def summary(self) -> str:
        if self.ok:
            pids = ", ".join(f"{p.name}[{p.pid}]" for p in self.found)
            return f"all processes present: {pids}"
        return "missing: " + ", ".join(self.missing)


class ResourcePolicy(Protocol):
    """The pure policy of one resource type."""

    @property
    def declaration(self) -> Declaration: ...

    def watch(self, cfg: Config) -> Watch: ...

    def start(self, cfg: Config) -> Command: ...

    def stop(self, cfg: Config) -> Command: ...

    def first_level(self, cfg: Config, snap: Snapshot) -> FirstLevel: ...

    def deep_watch(self, cfg: Config) -> Watch:
        """What else to observe, only on cycles where the second level runs."""
        ...

    def second_level(self, cfg: Config, snap: Snapshot) -> tuple[Probe, ...]: ...

    def ready_probes(self, cfg: Config) -> tuple[Probe, ...]:
        """What must pass, after the processes appear, before online reports success."""
        ...

    def stop_watch(self, cfg: Config) -> Watch:
        """What offline and clean look at: the first level's watch, with descendants and
        the programs that may outlive the resource's processes."""
        ...

    def stop_targets(self, cfg: Config, snap: Snapshot) -> tuple[ProcessInfo, ...]:
        """Every process offline and clean stop, seen in a look at stop_watch: the
        instance's own processes, their descendants whose program lies under the
        installation, and leftover helpers; never another resource's."""
        ...

    def model_processes(self, cfg: Config, first_pid: int) -> tuple[ProcessInfo, ...]:
        """What a running instance looks like in the process table: the processes whose
        presence passes the first level (explain's assumed world and the tests use it)."""
        ...
