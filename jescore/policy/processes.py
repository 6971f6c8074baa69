"""Process observations and the pure rules that say which processes belong to a resource.

A process belongs to an installation by the path components of its program, never by a
name alone or by a substring of a path: /opt/msg2/lib/imapd is not inside /opt/msg.
Zombies are never counted: they still show in the process table but serve nobody.
"""

from __future__ import annotations

import re

from jescore.policy.checks import path_components
from jescore.record import record
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable


COMM_LENGTH = 15  # Linux keeps this many characters of a process name


@record
class Identity:
    """What must still match, right before a signal, for the signal to be sent."""

    pid: int
    create_time: float
    cmdline: tuple[str, ...]


@record
class ProcessInfo:
    """One process as the shell saw it in its single scan of the process table."""

    pid: int
    name: str
    cmdline: tuple[str, ...]
    create_time: float
    zombie: bool = False
    cwd: str | None = None  # read only for candidates whose argv[0] is relative
    zone: str | None = None  # the Solaris zone, where the shell can tell
    ppid: int | None = None  # the parent, where the look asked for descendants

    @property
    def identity(self) -> Identity:
        return Identity(self.pid, self.create_time, self.cmdline)

    @property
    def program_path(self) -> str | None:
        """argv[0] as an absolute, normalised path, or None when that cannot be known."""
        if not self.cmdline or not self.cmdline[0]:
            return None
        first = self.cmdline[0]
        if first.startswith("/"):
            return normalise(first)
        if "/" in first and self.cwd is not None and self.cwd.startswith("/"):
            return normalise(self.cwd + "/" + first)
        return None


def normalise(path: str) -> str | None:
    """Collapse '.', '..' and repeated slashes of an absolute path, lexically."""
    if "//" not in path and "/." not in path and not path.endswith("/"):
        return path  # already normal: the common case, kept cheap
    parts: list[str] = []
    for part in path_components(path):
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


def programs_in(
    processes: Iterable[ProcessInfo], directory: str, names: Iterable[str]
) -> dict[str, tuple[ProcessInfo, ...]]:
    """For each name, the live processes running directory/name (one pass over the table)."""
    wanted = tuple(names)
    # Both sides are normal paths, so equal strings mean equal components.
    base = normalise("/" + "/".join(path_components(directory))) or "/"
    paths = {name: f"{base.rstrip('/')}/{name}" for name in wanted}
    found: dict[str, list[ProcessInfo]] = {name: [] for name in wanted}
    for proc in processes:
        if proc.zombie:
            continue
        for name in wanted:
            if _same_name(proc.name, name) and proc.program_path == paths[name]:
                found[name].append(proc)
    return {name: tuple(procs) for name, procs in found.items()}


def _same_name(seen: str, name: str) -> bool:
    return seen == name or (len(seen) == COMM_LENGTH and name.startswith(seen))


def name_matches(seen: str, names: Collection[str]) -> bool:
    """Whether a process name seen in the table may be one of `names` (the kernel cuts
    names to COMM_LENGTH characters): the cheap filter of every process-table scan."""
    if seen in names:  # the common answer, found without a loop (names is usually a set)
        return True
    return len(seen) == COMM_LENGTH and any(name.startswith(seen) for name in names)


_PID = re.compile(r"\s*([0-9]{1,9})\s*(?:\n.*)?", re.DOTALL)


def pid_in(text: str | None) -> int | None:
    """The pid a pid file holds: its first line, digits only; anything else is no pid."""
    if text is None:
        return None
    match = _PID.fullmatch(text)
    return int(match.group(1)) if match else None


def runs_with(proc: ProcessInfo, name: str, option: str, directory: str) -> bool:
    """A live `name` process whose `option` argument (-D, -d) is that directory."""
    if proc.zombie or proc.name != name:
        return False
    value = option_value(proc.cmdline, option)
    if value is None:
        return False
    if not value.startswith("/") and proc.cwd is not None:
        value = f"{proc.cwd}/{value}"
    return value.startswith("/") and normalise(value) == normalise(directory)


def option_value(cmdline: tuple[str, ...], option: str) -> str | None:
    """The value after an option such as -D (the next word), or None when absent."""
    for index, word in enumerate(cmdline[:-1]):
        if word == option:
            return cmdline[index + 1]
    return None


def under(proc: ProcessInfo, directory: str) -> bool:
    """Whether the process runs a program inside `directory` (any depth), by path
    components: /opt/msg2/lib/x is not under /opt/msg."""
    program = proc.program_path
    base = normalise("/" + "/".join(path_components(directory)))
    if program is None or base is None:
        return False
    return program.startswith(base.rstrip("/") + "/")


def descendants(
    processes: Iterable[ProcessInfo],
    roots: Iterable[ProcessInfo],
    stop_at: Collection[str] = (),
) -> tuple[ProcessInfo, ...]:
    """The live descendants of `roots` (children, their children...), by parent pid. A
    process named in `stop_at` (another resource's service) is neither included nor
    looked through: what it started is its own resource's."""
    table = tuple(processes)
    children: dict[int, list[ProcessInfo]] = {}
    for proc in table:
        if proc.ppid is not None and not proc.zombie:
            children.setdefault(proc.ppid, []).append(proc)
    seen: dict[int, ProcessInfo] = {}
    queue = [p.pid for p in roots]
    while queue:
        for child in children.get(queue.pop(), ()):
            if child.pid in seen or child.pid == child.ppid or child.name in stop_at:
                continue
            seen[child.pid] = child
            queue.append(child.pid)
    return tuple(seen.values())


def live(processes: Iterable[ProcessInfo]) -> tuple[ProcessInfo, ...]:
    return tuple(p for p in processes if not p.zombie)
