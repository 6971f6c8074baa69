"""What a procedure asks of the shell, and what the shell answers.

A procedure (jescore.policy.procedures) is a generator: it yields one of these actions,
the shell performs it and sends back a Reply holding the result and the time elapsed
since the entry point began. Time enters the core only that way. Each action says which
result it expects; anything else sent back is the interpreter's mistake (MachineMisuse).
"""

from __future__ import annotations

import enum

from jescore.policy.agentlog import Msg
from jescore.policy.checks import LogLevel
from jescore.policy.commands import (
    ConnectResult,
    DialogueResult,
    NativeProbe,
    ProgramProbe,
    ProgramResult,
    TcpProbe,
)
from jescore.policy.processes import Identity
from jescore.policy.resource import Snapshot, Watch
from jescore.record import field, record
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Generator
    from typing import TypeAlias


class MachineMisuse(TypeError):
    """The interpreter sent back something other than what the action asked for."""


class Sig(enum.Enum):
    """The signals offline and clean send."""

    TERM = "SIGTERM"
    KILL = "SIGKILL"


class SignalOutcome(enum.Enum):
    """What became of a Signal action: sent, or why it was not."""

    SENT = "sent"
    GONE = "already gone"
    CHANGED = "pid now belongs to another process"
    DENIED = "not permitted to inspect or signal it"


class RunKind(enum.Enum):
    """What a Run action runs: the start or stop command, a probe, MonitorProgram."""

    START = "start command"
    STOP = "stop command"
    PROBE = "second-level probe"
    PROGRAM = "MonitorProgram"


@record
class Secret:
    """A secret attribute's encrypted value, for the shell to decrypt and write to the
    program's standard input. Never shown: its repr is masked."""

    attribute: str
    encrypted: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Secret({self.attribute})"


@record
class Host:
    """What the shell knows of the node before anything runs."""

    zones_exist: bool = False  # Solaris: processes and commands belong to zones
    agent_zone: str | None = None  # the zone the agent runs in (zonename), where zones exist
    logdbg: str = ""  # JESAGENT_LOGDBG: debug levels asked for outside VCS
    halog: bool = False  # log lines go to VCS's halog, which filters debug lines by LogDbg


@record
class Reply:
    """The result of an action, and when it finished (seconds since the entry began)."""

    elapsed: float
    value: object = None


@record
class StartLog:
    """Log for this resource from now on, at this level, with these debug levels."""

    resource: str
    level: LogLevel
    debug: frozenset[int] = frozenset()


@record
class ArmWatchdog:
    """At `at` seconds, whatever is running, stop it and exit with `code`."""

    at: float
    code: int


@record
class Observe:
    """Look once (process table, files, executables, identify commands) -> Snapshot.
    `identify_limit` bounds each identify command."""

    watch: Watch
    identify_limit: float


@record
class LoadCount:
    """Read the resource's stored SecondLevelMonitor count -> int | None."""

    resource: str


@record
class StoreCount:
    """Store the count for the next monitor call -> None, or why it could not be stored."""

    resource: str
    count: int


@record
class ForgetCount:
    """Remove the stored count -> None."""

    resource: str


@record
class LoadPids:
    """Read the processes the last monitor's first level found, as (pid, start time)
    pairs -> tuple[tuple[int, float], ...] | None."""

    resource: str


@record
class StorePids:
    """Keep the processes this first level found, for the next monitor -> None, or why
    they could not be kept."""

    resource: str
    pids: tuple[tuple[int, float], ...]


@record
class LoadVerdict:
    """Read the state this resource's last monitor on this node answered -> str | None."""

    resource: str


@record
class StoreVerdict:
    """Keep this monitor's state for the next one -> None, or why it could not be kept."""

    resource: str
    state: str


@record
class Run:
    """Run a program, never through a shell, stopped at `timeout` -> ProgramResult."""

    argv: tuple[str, ...]
    kind: RunKind
    timeout: float
    secret: Secret | None = None  # its decrypted value goes to standard input
    probe: ProgramProbe | None = None  # for kind PROBE: what it checks and expects


@record
class Connect:
    """Open a TCP connection (and a TLS handshake if the probe asks) -> ConnectResult."""

    probe: TcpProbe
    timeout: float


@record
class Converse:
    """Hold the probe's protocol dialogue, all of it within `timeout`, each phase timed
    -> DialogueResult. The secret's decrypted value is the password; it stays in memory."""

    probe: NativeProbe
    timeout: float
    secret: Secret | None = None


@record
class Signal:
    """Signal a process, only if its pid, start time and command line still match
    -> SignalOutcome."""

    identity: Identity
    sig: Sig


@record
class Wait:
    """Sleep -> None."""

    seconds: float


@record
class Log:
    """An agent log line (already masked; the shell filters nothing more)."""

    level: LogLevel
    msg: Msg
    text: str


@record
class Debug:
    """A LogDbg line for DBG_<level> (only yielded when that level is on)."""

    level: int
    text: str


Action = (
    StartLog | ArmWatchdog | Observe | LoadCount | StoreCount | ForgetCount | LoadPids
    | StorePids | LoadVerdict | StoreVerdict | Run | Connect | Converse | Signal | Wait | Log
    | Debug
)  # fmt: skip

# What each action expects back: the interpreter's side of the contract, as data.
RESULT_TYPES: dict[type, tuple[type, ...]] = {
    StartLog: (type(None),),
    ArmWatchdog: (type(None),),
    Observe: (Snapshot,),
    LoadCount: (int, type(None)),
    StoreCount: (str, type(None)),
    ForgetCount: (type(None),),
    LoadPids: (tuple, type(None)),
    StorePids: (str, type(None)),
    LoadVerdict: (str, type(None)),
    StoreVerdict: (str, type(None)),
    Run: (ProgramResult,),
    Connect: (ConnectResult,),
    Converse: (DialogueResult,),
    Signal: (SignalOutcome,),
    Wait: (type(None),),
    Log: (type(None),),
    Debug: (type(None),),
}

if TYPE_CHECKING:  # for annotations only (jescore.api gives it a run-time value)
    Machine: TypeAlias = Generator[Action, Reply, int]
