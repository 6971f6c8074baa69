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
from collections.abc import Collection, Iterable

from jescore.policy.processes import COMM_LENGTH, ProcessInfo, name_matches

PROC = "/proc"
STAT_LIMIT = 1024  # the stat line; comm is at most 16 bytes, the rest numbers
CMDLINE_LIMIT = 128 * 1024
SYSTEM_STAT_LIMIT = 64 * 1024  # /proc/stat: btime sits near its top on any machine
AVAILABLE = sys.platform.startswith("linux") and os.path.isfile(f"{PROC}/self/stat")
_TICKS = os.sysconf("SC_CLK_TCK") if AVAILABLE else 100
_ENCODING = sys.getfilesystemencoding()
_ERRORS = sys.getfilesystemencodeerrors()


def _read(path: str, limit: int) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY)
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


def _stat(pid: str) -> tuple[str, str, int, int] | None:
    """comm, state, ppid and start time (clock ticks since boot) of one process."""
    data = _read(f"{PROC}/{pid}/stat", STAT_LIMIT)
    if not data:
        return None
    close = data.rfind(b")")
    fields = data[close + 2 :].split()
    if close < 0 or len(fields) < 20:
        return None
    comm = data[data.find(b"(") + 1 : close].decode(_ENCODING, _ERRORS)
    return comm, fields[0].decode("ascii", "replace"), int(fields[1]), int(fields[19])


def _cmdline(pid: int) -> tuple[str, ...]:
    """The command line as psutil reads it (NUL-separated, or spaces after setproctitle)."""
    raw = _read(f"{PROC}/{pid}/cmdline", CMDLINE_LIMIT)
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
    listing = [str(p) for p in pids] if pids is not None else os.listdir(PROC)
    table: dict[int, tuple[str, str, int, int]] = {}
    chosen: list[int] = []
    for entry in listing:
        if not entry.isdigit():
            continue
        found = _stat(entry)
        if found is None:
            continue  # gone since the listing
        pid = int(entry)
        if descendants:
            table[pid] = found
        if name_matches(found[0], names):
            chosen.append(pid)
    if descendants:
        chosen = _with_descendants(table, chosen)
        stats = table
    else:
        stats = {pid: s for pid in chosen if (s := _stat(str(pid))) is not None}
    booted = boot_time()
    out: list[ProcessInfo] = []
    for pid in chosen:
        if pid not in stats:
            continue
        comm, state, ppid, started = stats[pid]
        parent = ppid if descendants else None
        if state == "Z":
            out.append(ProcessInfo(pid, comm, (), 0.0, zombie=True, ppid=parent))
            continue
        cmdline = _cmdline(pid)
        name = comm
        if len(comm) >= COMM_LENGTH and cmdline:
            extended = os.path.basename(cmdline[0])
            name = extended if extended.startswith(comm) else comm
        cwd = None
        if cmdline and not cmdline[0].startswith("/") and "/" in cmdline[0]:
            try:
                cwd = os.readlink(f"{PROC}/{pid}/cwd")
            except OSError:
                continue  # not ours to read: it cannot be proven to be ours
        create_time = started / _TICKS + booted
        out.append(ProcessInfo(pid, name, cmdline, create_time, False, cwd, None, parent))
    return tuple(out)


def _with_descendants(table: dict[int, tuple[str, str, int, int]], chosen: list[int]) -> list[int]:
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
