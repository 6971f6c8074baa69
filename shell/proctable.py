"""The process table: one scan per observation, signals only after a re-check.

On Linux the scan reads /proc directly (shell.procfs); elsewhere, and for every signal,
psutil does the work. psutil is imported only when it is used.
"""

from __future__ import annotations

import signal

from jescore.policy.actions import SignalOutcome
from jescore.policy.processes import Identity, ProcessInfo, name_matches
from jescore.typenames import TYPE_CHECKING
from shell import procfs, zoneinfo

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    import psutil


def scan(
    names: Collection[str], *, descendants: bool = False, pids: Iterable[int] | None = None
) -> tuple[ProcessInfo, ...]:
    """Every process whose name is one of `names` (and, with `descendants`, every process
    descended from one, each with its parent pid); with `pids`, only those processes."""
    if procfs.AVAILABLE and not zoneinfo.ON_SOLARIS:
        return procfs.scan(names, descendants=descendants, pids=pids)
    return scan_psutil(names, descendants=descendants, pids=pids)


def scan_psutil(
    names: Collection[str], *, descendants: bool = False, pids: Iterable[int] | None = None
) -> tuple[ProcessInfo, ...]:
    """The portable scan: cheap fields for all, the command line (and the working
    directory, for a relative program path) only for the candidates."""
    import psutil

    fields = ["name", "ppid"] if descendants else ["name"]
    if pids is not None:
        table = []
        for pid in pids:
            try:
                proc = psutil.Process(pid)
                proc.info = proc.as_dict(fields)
            except psutil.Error:
                continue
            table.append(proc)
    else:
        table = list(psutil.process_iter(fields))
    wanted = [p for p in table if name_matches(p.info.get("name") or "", names)]
    if descendants:
        wanted = _with_descendants(table, wanted)
    found: list[ProcessInfo] = []
    for proc in wanted:
        name = proc.info.get("name") or ""
        ppid = proc.info.get("ppid") if descendants else None
        try:
            with proc.oneshot():
                cmdline = tuple(proc.cmdline())
                create_time = proc.create_time()
                zombie = proc.status() == psutil.STATUS_ZOMBIE
                cwd = None
                if cmdline and not cmdline[0].startswith("/") and "/" in cmdline[0]:
                    cwd = proc.cwd()
        except psutil.ZombieProcess:
            found.append(ProcessInfo(proc.pid, name, (), 0.0, zombie=True, ppid=ppid))
            continue
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # gone mid-scan, or not ours to read: it cannot be proven to be ours
        zone = zoneinfo.zone_of(proc.pid) if zoneinfo.ON_SOLARIS else None
        found.append(ProcessInfo(proc.pid, name, cmdline, create_time, zombie, cwd, zone, ppid))
    return tuple(found)


def _with_descendants(
    table: list[psutil.Process], wanted: list[psutil.Process]
) -> list[psutil.Process]:
    children: dict[int, list[psutil.Process]] = {}
    for proc in table:
        parent = proc.info.get("ppid")
        if isinstance(parent, int) and parent != proc.pid:
            children.setdefault(parent, []).append(proc)
    chosen = {p.pid: p for p in wanted}
    queue = list(chosen)
    while queue:
        for child in children.get(queue.pop(), ()):
            if child.pid not in chosen:
                chosen[child.pid] = child
                queue.append(child.pid)
    return list(chosen.values())


def signal_if_same(identity: Identity, sig: signal.Signals) -> SignalOutcome:
    """Send `sig` only if the pid still runs the very process we observed."""
    import psutil

    try:
        proc = psutil.Process(identity.pid)
        with proc.oneshot():
            same = (
                proc.create_time() == identity.create_time
                and tuple(proc.cmdline()) == identity.cmdline
                and proc.status() != psutil.STATUS_ZOMBIE
            )
        if not same:
            return SignalOutcome.CHANGED
        proc.send_signal(sig)  # psutil checks the create time once more itself
    except psutil.NoSuchProcess:
        return SignalOutcome.GONE
    except psutil.AccessDenied:
        return SignalOutcome.DENIED
    return SignalOutcome.SENT
