"""The system an entry point acts on: the process table, files, programs, sockets, signals,
the clock and the log. `LiveSystem` is the real one; the tests drive the same interpreter
(shell.engine) with a scripted one that has a virtual clock.

Nothing here decides: every limit and every choice arrives with the action performed.
"""

from __future__ import annotations

import os
import signal
import stat
import time

from jescore.policy.actions import Sig, SignalOutcome
from jescore.policy.agentlog import Msg
from jescore.policy.checks import LogLevel
from jescore.policy.commands import (
    ConnectResult,
    DialogueResult,
    NativeProbe,
    ProgramResult,
    TcpProbe,
)
from jescore.policy.processes import Identity, ProcessInfo
from jescore.policy.resource import Snapshot, Watch
from jescore.result import Result
from jescore.typenames import Protocol
from shell import cyclestate, proctable, secrets, zoneinfo
from shell import run as run_module
from shell.logsink import AgentLog, halog_present
from shell.run import connect, run_program

FILE_LIMIT = 4096
SIGNALS = {Sig.TERM: signal.SIGTERM, Sig.KILL: signal.SIGKILL}


class System(Protocol):
    """What the interpreter needs of the world."""

    def elapsed(self) -> float:
        """Seconds since the entry point began."""
        ...

    def zones(self) -> tuple[bool, str | None]:
        """Whether zones exist here, and the zone the agent runs in."""
        ...

    def logdbg(self) -> str:
        """Debug levels asked for outside VCS (JESAGENT_LOGDBG)."""
        ...

    def halog(self) -> bool:
        """Whether log lines go to VCS through halog."""
        ...

    def start_log(self, resource: str, level: LogLevel, debug: frozenset[int]) -> None: ...

    def log(self, level: LogLevel, msg: Msg, text: str) -> None: ...

    def debug(self, level: int, text: str) -> None: ...

    def arm_watchdog(self, at: float, code: int) -> None:
        """At `at` seconds from the start, stop whatever runs and exit with `code`."""
        ...

    def observe(self, watch: Watch, identify_limit: float) -> Snapshot: ...

    def load_count(self, resource: str) -> int | None: ...

    def store_count(self, resource: str, count: int) -> str | None: ...

    def forget_count(self, resource: str) -> None: ...

    def load_verdict(self, resource: str) -> str | None: ...

    def load_pids(self, resource: str) -> tuple[tuple[int, float], ...] | None: ...

    def store_pids(self, resource: str, pids: tuple[tuple[int, float], ...]) -> str | None: ...

    def store_verdict(self, resource: str, state: str) -> str | None: ...

    def decrypt(self, attribute: str, encrypted: str, timeout: float) -> Result[str, str]:
        """The plaintext (which the log then masks), or why not."""
        ...

    def run(self, argv: tuple[str, ...], timeout: float, stdin: bytes | None) -> ProgramResult: ...

    def connect(self, probe: TcpProbe, timeout: float) -> ConnectResult: ...

    def converse(self, probe: NativeProbe, timeout: float, password: str) -> DialogueResult:
        """The probe's protocol dialogue, all of it within `timeout`."""
        ...

    def signal(self, identity: Identity, sig: Sig) -> SignalOutcome: ...

    def sleep(self, seconds: float) -> None: ...


class LiveSystem:
    """This machine, as an entry point called by VCS sees it."""

    def __init__(self, type_name: str, entry: str, started: float) -> None:
        self.type_name = type_name
        self.entry = entry
        self.started = started
        self.sink = AgentLog(type_name, "?", entry, LogLevel.INFO)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def zones(self) -> tuple[bool, str | None]:
        return zoneinfo.ON_SOLARIS, zoneinfo.current_zone() if zoneinfo.ON_SOLARIS else None

    def logdbg(self) -> str:
        return os.environ.get("JESAGENT_LOGDBG", "")

    def halog(self) -> bool:
        return halog_present()

    def start_log(self, resource: str, level: LogLevel, debug: frozenset[int]) -> None:
        self.sink.resource, self.sink.level, self.sink.debug_levels = resource, level, debug

    def log(self, level: LogLevel, msg: Msg, text: str) -> None:
        self.sink.emit(level, msg, text)

    def debug(self, level: int, text: str) -> None:
        self.sink.debug(level, text)

    def arm_watchdog(self, at: float, code: int) -> None:
        """The last line of defence for the budget: whatever blocks (a hung NFS mount, a
        DNS lookup, a slow halog), the entry point answers before VCS would kill it."""
        sink = self.sink
        sink.deadline = self.started + at

        def expire(signum: int, frame: object) -> None:
            for child in list(run_module.running):
                run_module.stop_group(child, reap=False)
            sink.deadline = 0.0  # no halog now: straight to the file or standard error
            sink.error(
                Msg.COMMAND_TIMED_OUT, f"out of time after {self.elapsed():.1f} s; answering {code}"
            )
            os._exit(code)

        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, max(at - self.elapsed(), 0.1))

    def observe(self, watch: Watch, identify_limit: float) -> Snapshot:
        return observe(watch, identify_limit)

    def load_count(self, resource: str) -> int | None:
        return cyclestate.read_count(self.type_name, resource)

    def store_count(self, resource: str, count: int) -> str | None:
        problem = cyclestate.save(self.type_name, resource, count)
        return None if problem is None else f"{cyclestate.state_dir()}: {problem}"

    def forget_count(self, resource: str) -> None:
        cyclestate.forget(self.type_name, resource)

    def load_verdict(self, resource: str) -> str | None:
        return cyclestate.read_verdict(self.type_name, resource)

    def load_pids(self, resource: str) -> tuple[tuple[int, float], ...] | None:
        return cyclestate.read_pids(self.type_name, resource)

    def store_pids(self, resource: str, pids: tuple[tuple[int, float], ...]) -> str | None:
        return cyclestate.save_pids(self.type_name, resource, pids)

    def store_verdict(self, resource: str, state: str) -> str | None:
        return cyclestate.save_verdict(self.type_name, resource, state)

    def decrypt(self, attribute: str, encrypted: str, timeout: float) -> Result[str, str]:
        found = secrets.decrypt(attribute, encrypted, timeout=timeout)
        found.map(self.sink.add_secret)
        return found

    def run(self, argv: tuple[str, ...], timeout: float, stdin: bytes | None) -> ProgramResult:
        return run_program(argv, timeout=timeout, stdin_data=stdin)

    def connect(self, probe: TcpProbe, timeout: float) -> ConnectResult:
        return connect(probe.host, probe.port, timeout=timeout, tls=probe.tls)

    def converse(self, probe: NativeProbe, timeout: float, password: str) -> DialogueResult:
        from shell import probes  # the protocol clients load only when a native probe runs

        return probes.converse(probe, timeout, password)

    def signal(self, identity: Identity, sig: Sig) -> SignalOutcome:
        return proctable.signal_if_same(identity, SIGNALS[sig])

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0))


def observe(watch: Watch, identify_limit: float) -> Snapshot:
    """One look at what the watch names: one scan of the process table, the files, which
    paths are executables, and the output of the first identify command that exists."""
    files = {path: read_small_file(path) for path in watch.files}
    executables = frozenset(p for p in watch.paths if os.access(p, os.X_OK) and os.path.isfile(p))
    outputs: dict[tuple[str, ...], str] = {}
    for command in watch.identify:
        if command[0] in executables:  # the first program that exists, and only that one
            outputs[command] = run_program(command, timeout=identify_limit).output
            break
    processes: tuple[ProcessInfo, ...] = ()
    if watch.process_names:
        processes = proctable.scan(
            watch.process_names, descendants=watch.descendants, pids=watch.pids
        )
    return Snapshot(processes, files, executables, outputs)


def read_small_file(path: str) -> str | None:
    """A pid file's text; None when missing, unreadable or not a regular file (a FIFO
    would otherwise block the monitor forever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, FILE_LIMIT).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)
