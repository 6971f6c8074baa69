"""A scripted system with a virtual clock, for driving the real interpreter (shell.engine)
and the core's procedures without processes, programs, sockets or time passing.

It plays a Messaging Server, Directory Server or Administration Server host whose
programs behave as a scenario says: the start command makes the instance's processes
appear, the stop command makes them go (when it is effective), probes pass or fail,
anything may hang until its limit. It records every operation performed on it, in the
same terms as `jesagent explain` reports steps, so the two can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jescore.policy.actions import Sig, SignalOutcome
from jescore.policy.agentlog import Msg, message_id
from jescore.policy.checks import LogLevel
from jescore.policy.commands import (
    ConnectResult,
    DialogueResult,
    NativeProbe,
    ProgramResult,
    TcpProbe,
    passing_dialogue,
)
from jescore.policy.declaration import Config
from jescore.policy.processes import Identity, ProcessInfo
from jescore.policy.resource import ResourcePolicy, Snapshot, Watch
from jescore.record import replace
from jescore.result import Failure, Result, Success
from jescore.tooling.explain import Outcome

STARTERS = frozenset({"msstart", "start-slapd", "start-admin"})
STOPPERS = frozenset({"stop-slapd", "stop-admin"})
PROBES = frozenset({"immonitor-access", "stored", "ldapsearch", "admconfig"})


@dataclass(frozen=True)
class Scenario:
    """How the host's programs behave."""

    command: Outcome = Outcome.PASSES  # start and stop commands
    probe: Outcome = Outcome.PASSES  # program probes and connections
    program_exit: int | Outcome = 110  # MonitorProgram: an exit code, or hangs / cannot-run
    stop_effective: bool = True  # a passing stop command makes the processes go
    ignores_term: frozenset[int] = frozenset()  # pids that survive SIGTERM
    unkillable: frozenset[int] = frozenset()  # pids that survive SIGKILL too
    replaced_on_signal: frozenset[int] = frozenset()  # pids reused by a stranger just before
    store_fails: bool = False
    stored: int | None = None
    echo: str = ""  # what a program given standard input prints back (an echoed password)


@dataclass
class FakeSystem:
    """The System protocol of shell.system, scripted."""

    policy: ResourcePolicy
    cfg: Config | None
    processes: list[ProcessInfo]
    scenario: Scenario = field(default_factory=Scenario)
    clock: float = 0.0
    ops: list[tuple[object, ...]] = field(default_factory=list)
    killed: list[ProcessInfo] = field(default_factory=list)
    stored: int | None = None
    log_level: LogLevel = LogLevel.INFO
    next_pid: int = 900_000_000
    plaintexts: list[str] = field(default_factory=list)
    watchdog: tuple[float, int] | None = None
    verdict: str | None = None
    pids: tuple[tuple[int, float], ...] | None = None
    spoken: list[tuple[NativeProbe, str]] = field(default_factory=list)  # probe, password

    def __post_init__(self) -> None:
        self.stored = self.scenario.stored

    # --- the System protocol ---

    def elapsed(self) -> float:
        return self.clock

    def zones(self) -> tuple[bool, str | None]:
        return False, None

    def logdbg(self) -> str:
        return ""

    def halog(self) -> bool:
        return False

    def start_log(self, resource: str, level: LogLevel, debug: frozenset[int]) -> None:
        self.log_level = level

    def log(self, level: LogLevel, msg: Msg, text: str) -> None:
        self.ops.append(("log", f"{level.name} {message_id(msg)} {text}"))

    def debug(self, level: int, text: str) -> None:
        self.ops.append(("debug", f"DBG_{level} {text}"))

    def arm_watchdog(self, at: float, code: int) -> None:
        self.watchdog = (at, code)

    def observe(self, watch: Watch, identify_limit: float) -> Snapshot:
        procs = tuple(self.processes) if watch.process_names else ()
        if watch.pids is not None:
            procs = tuple(p for p in procs if p.pid in watch.pids)
        return Snapshot(procs, dict.fromkeys(watch.files), frozenset(watch.paths))

    def load_count(self, resource: str) -> int | None:
        return self.stored

    def store_count(self, resource: str, count: int) -> str | None:
        if self.scenario.store_fails:
            return "/state: read-only file system"
        self.stored = count
        return None

    def forget_count(self, resource: str) -> None:
        self.stored = None

    def load_pids(self, resource: str) -> tuple[tuple[int, float], ...] | None:
        return self.pids

    def store_pids(self, resource: str, pids: tuple[tuple[int, float], ...]) -> str | None:
        self.pids = pids
        return None

    def load_verdict(self, resource: str) -> str | None:
        return self.verdict

    def store_verdict(self, resource: str, state: str) -> str | None:
        self.verdict = state
        return None

    def decrypt(self, attribute: str, encrypted: str, timeout: float) -> Result[str, str]:
        if not encrypted:
            return Failure(f"{attribute}: nothing to decrypt")
        plain = f"plain-{attribute}"
        self.plaintexts.append(plain)
        return Success(plain)

    def run(self, argv: tuple[str, ...], timeout: float, stdin: bytes | None) -> ProgramResult:
        self.ops.append(("run", argv, round(timeout, 6)))
        program = argv[0].rsplit("/", 1)[-1]
        if program in STARTERS or program in STOPPERS:
            return self._command(program, argv, timeout)
        if program in PROBES:
            done = self._probe(program, argv, timeout)
        else:
            done = self._monitor_program(timeout)
        if self.scenario.echo and stdin is not None and done.started:  # it echoes its input
            done = replace(done, output=done.output + self.scenario.echo)
        return done

    def connect(self, probe: TcpProbe, timeout: float) -> ConnectResult:
        self.ops.append(("connect", probe.host, probe.port, round(timeout, 6)))
        outcome = self.scenario.probe
        if outcome is Outcome.HANGS:
            self.clock += timeout
            return ConnectResult(False, error="timed out")
        if outcome is Outcome.CANNOT_RUN:
            return ConnectResult(False, error="no such host", resolved=False)
        if outcome is Outcome.FAILS:
            return ConnectResult(False, error="refused")
        return ConnectResult(True, tls_ok=probe.tls)

    def converse(self, probe: NativeProbe, timeout: float, password: str) -> DialogueResult:
        self.ops.append(("converse", probe.host, probe.port, round(timeout, 6)))
        self.spoken.append((probe, password))
        outcome, first = self.scenario.probe, probe.phases[0]
        if outcome is Outcome.HANGS:
            self.clock += timeout
            return DialogueResult(failed_at=first, error="timed out", seconds=timeout)
        if outcome is Outcome.CANNOT_RUN:
            return DialogueResult(ran=False, error="no such host")
        if outcome is Outcome.FAILS:
            return DialogueResult(failed_at=first, error="refused")
        return passing_dialogue(probe)

    def signal(self, identity: Identity, sig: Sig) -> SignalOutcome:
        self.ops.append(("signal", identity.pid, sig.value))
        if identity.pid in self.scenario.replaced_on_signal:
            self._replace(identity.pid)
        current = next((p for p in self.processes if p.pid == identity.pid), None)
        if current is None:
            return SignalOutcome.GONE
        if current.identity != identity or current.zombie:
            return SignalOutcome.CHANGED
        survives = identity.pid in self.scenario.unkillable or (
            sig is Sig.TERM and identity.pid in self.scenario.ignores_term
        )
        if not survives:
            self.processes.remove(current)
            self.killed.append(current)
        return SignalOutcome.SENT

    def sleep(self, seconds: float) -> None:
        self.ops.append(("wait", seconds))
        self.clock += seconds

    # --- behaviour ---

    def _command(self, program: str, argv: tuple[str, ...], timeout: float) -> ProgramResult:
        outcome = self.scenario.command
        if outcome is Outcome.CANNOT_RUN:
            return ProgramResult(False, None, "", "No such file or directory")
        if outcome is Outcome.HANGS:
            self.clock += timeout
            return ProgramResult(True, None)
        if outcome is Outcome.FAILS:
            return ProgramResult(True, 1, "it did not work")
        stopping = program in STOPPERS or "-k" in argv
        if self.cfg is None:
            return ProgramResult(True, 0)
        if not stopping:
            self.processes += self.policy.model_processes(self.cfg, self.next_pid)
            self.next_pid += 100
        elif self.scenario.stop_effective:
            mine = {p.identity for p in self.policy.stop_targets(self.cfg, self._snapshot())}
            self.processes = [p for p in self.processes if p.identity not in mine]
        return ProgramResult(True, 0)

    def _probe(self, program: str, argv: tuple[str, ...], timeout: float) -> ProgramResult:
        outcome = self.scenario.probe
        if outcome is Outcome.CANNOT_RUN:
            return ProgramResult(False, None, "", "No such file or directory")
        if outcome is Outcome.HANGS:
            self.clock += timeout
            return ProgramResult(True, None)
        if outcome is Outcome.FAILS:
            return ProgramResult(True, 1)
        if program == "ldapsearch":
            return ProgramResult(True, 0, "dn: cn=monitor\nversion: 389-Directory/2.3\n")
        if program == "admconfig":
            port = argv[argv.index("-server") + 1].rsplit(":", 1)[1]
            return ProgramResult(True, 0, f"nsServerPort = {port}\n")
        return ProgramResult(True, 0)

    def _monitor_program(self, timeout: float) -> ProgramResult:
        code = self.scenario.program_exit
        if code is Outcome.CANNOT_RUN:
            return ProgramResult(False, None, "", "No such file or directory")
        if isinstance(code, Outcome):
            self.clock += timeout
            return ProgramResult(True, None)
        return ProgramResult(True, code)

    def _replace(self, pid: int) -> None:
        """The process exits and its pid goes to a stranger at once (pid reuse)."""
        for index, proc in enumerate(self.processes):
            if proc.pid == pid:
                stranger = replace(proc, name="bash", cmdline=("/bin/bash",), create_time=-1.0)
                self.processes[index] = stranger

    def _snapshot(self) -> Snapshot:
        return Snapshot(tuple(self.processes))
