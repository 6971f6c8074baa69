"""The process table read straight from Linux's /proc: the monitor's fast path.

It gives what shell.proctable's psutil scan gives, field for field (a test compares the
two on this machine), for a fraction of the cost: one small read of /proc/<pid>/stat per
process for the name, state and parent, and the command line (and the working directory
of a relative program path) only for the candidates. psutil stays the portable path
(Solaris has no /proc/<pid>/stat of this form) and the one that sends signals.
"""

from __future__ import annotations

import os
import sys

from jescore.policy.processes import COMM_LENGTH, ProcessInfo, name_matches
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable


PROC = "/proc"
STAT_LIMIT = 1024  # the stat line; comm is at most 16 bytes, the rest numbers
CMDLINE_LIMIT = 128 * 1024
SYSTEM_STAT_LIMIT = 64 * 1024  # /proc/stat: btime sits near its top on any machine
AVAILABLE = sys.platform.startswith("linux") and os.path.isfile(f"{PROC}/self/stat")
_TICKS = os.sysconf("SC_CLK_TCK") if AVAILABLE else 100
_ENCODING = sys.getfilesystemencoding()
_Stat = tuple[str, str, int, int]  # comm, state, ppid, start time in clock ticks
_ERRORS = sys.getfilesystemencodeerrors()


def _read(path: str, limit: int, at: int | None = None) -> bytes | None:
    """At most `limit` bytes of a /proc file; `at`: a descriptor of /proc that `path` is
    relative to (a third of a scan's cost is resolving /proc/<pid>/stat from the root)."""
    try:
        fd = os.open(path, os.O_RDONLY, dir_fd=at)
    except OSError:
        return None
    try:
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def boot_time() -> float:
    data = _read(f"{PROC}/stat", SYSTEM_STAT_LIMIT) or b""
    for line in data.splitlines():
        if line.startswith(b"btime"):
            return float(line.split()[1])
    return 0.0


def _stat(pid: str, at: int, names: Collection[str] | None = None) -> _Stat | None:
    """comm, state, ppid and start time (clock ticks since boot) of one process; with
    `names`, None at once for a process of another name (most of a scan: its numbers
    are never parsed)."""
    data = _read(f"{pid}/stat", STAT_LIMIT, at)
    if not data:
        return None
    close = data.rfind(b")")
    if close < 0:
        return None
    comm = data[data.find(b"(") + 1 : close].decode(_ENCODING, _ERRORS)
    if names is not None and not name_matches(comm, names):
        return None
    fields = data[close + 2 :].split(maxsplit=20)
    if len(fields) < 20:
        return None
    return comm, fields[0].decode("ascii", "replace"), int(fields[1]), int(fields[19])


def _cmdline(pid: int, at: int) -> tuple[str, ...]:
    """The command line as psutil reads it (NUL-separated, or spaces after setproctitle)."""
    raw = _read(f"{pid}/cmdline", CMDLINE_LIMIT, at)
    if not raw:
        return ()
    data = raw.decode(_ENCODING, _ERRORS)
    sep = "\x00" if data.endswith("\x00") else " "
    if data.endswith(sep):
        data = data[:-1]
    words = data.split(sep)
    if sep == "\x00" and len(words) == 1 and " " in data:
        words = data.split(" ")
    return tuple(words)


def scan(
    names: Collection[str], *, descendants: bool = False, pids: Iterable[int] | None = None
) -> tuple[ProcessInfo, ...]:
    """Every process whose name is one of `names` (with `descendants`, every process
    descended from one too, each with its parent pid); with `pids`, only those."""
    at = os.open(PROC, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return _scan(names, descendants, pids, at)
    finally:
        os.close(at)


def _scan(
    names: Collection[str], descendants: bool, pids: Iterable[int] | None, at: int
) -> tuple[ProcessInfo, ...]:
    listing = [str(p) for p in pids] if pids is not None else os.listdir(at)
    table: dict[int, _Stat] = {}
    chosen: list[int] = []
    wanted = None if descendants else names  # descendants need every parent link
    for entry in listing:
        if not entry.isdigit():
            continue
        found = _stat(entry, at, wanted)
        if found is None:
            continue  # gone since the listing, or not a name we look for
        pid = int(entry)
        table[pid] = found
        if wanted is not None or name_matches(found[0], names):
            chosen.append(pid)
    if descendants:
        chosen = _with_descendants(table, chosen)
    booted = boot_time()
    out: list[ProcessInfo] = []
    for pid in chosen:
        comm, state, ppid, started = table[pid]
        parent = ppid if descendants else None
        if state == "Z":
            out.append(ProcessInfo(pid, comm, (), 0.0, zombie=True, ppid=parent))
            continue
        cmdline = _cmdline(pid, at)
        name = comm
        if len(comm) >= COMM_LENGTH and cmdline:
            extended = os.path.basename(cmdline[0])
            name = extended if extended.startswith(comm) else comm
        cwd = None
        if cmdline and not cmdline[0].startswith("/") and "/" in cmdline[0]:
            try:
                cwd = os.readlink(f"{pid}/cwd", dir_fd=at)
            except OSError:
                continue  # not ours to read: it cannot be proven to be ours
        create_time = started / _TICKS + booted
        out.append(ProcessInfo(pid, name, cmdline, create_time, False, cwd, None, parent))
    return tuple(out)


def _with_descendants(table: dict[int, _Stat], chosen: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (_, _, ppid, _) in table.items():
        if ppid != pid:
            children.setdefault(ppid, []).append(pid)
    seen = dict.fromkeys(chosen)
    queue = list(chosen)
    while queue:
        for child in children.get(queue.pop(), ()):
            if child not in seen:
                seen[child] = None
                queue.append(child)
    return list(seen)
