"""Carrying out an entry point: observe, ask the policy, act, and answer VCS.

The same driver serves every resource type; everything it decides comes from jescore.
"""

from __future__ import annotations

import os
import signal
import stat
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from returns.result import Failure, Success

from jescore.policy import argv as vcs_argv
from jescore.policy import zones
from jescore.policy.agentlog import Msg, debug_levels
from jescore.policy.checks import LogLevel
from jescore.policy.commands import (
    Command,
    Judgement,
    ProbeOutcome,
    ProgramProbe,
    ProgramResult,
    TcpProbe,
    fill,
    judge_connect,
    judge_program,
)
from jescore.policy.declaration import Config, Raw, validate
from jescore.policy.monitoring import (
    ONLINE_POLL_SECONDS,
    READY_PROBE_SECONDS,
    STOP_POLL_SECONDS,
    Budget,
    Next,
    SecondLevel,
    State,
    StopTimeline,
    Verdict,
    advance_cycle,
    decide,
    next_step,
    read_program_exit,
    stop_timeline,
    unknown,
    unsaved,
)
from jescore.policy.processes import Identity
from jescore.policy.registry import POLICIES
from jescore.policy.resource import (
    CONTAINER_NAME,
    MONITOR_PROGRAM,
    RES_LOG_LEVEL,
    SECOND_LEVEL_MONITOR,
    ResourcePolicy,
    Snapshot,
    Watch,
)
from jescore.policy.vcs import (
    CLEAN_FAILED,
    CLEAN_SUCCEEDED,
    DEFAULT_TIMEOUT_SECONDS,
    FAILURE_EXIT,
    NO_EXTRA_WAIT,
    EntryPoint,
)
from shell import cyclestate, proctable, secrets, zoneinfo
from shell import run as run_module
from shell.logsink import AgentLog
from shell.run import connect, run_program

FILE_LIMIT = 4096


IDENTIFY_SECONDS = 3.0


def observe(watch: Watch, *, time_left: float = IDENTIFY_SECONDS) -> Snapshot:
    files = {path: read_small_file(path) for path in watch.files}
    executables = frozenset(p for p in watch.paths if os.access(p, os.X_OK) and Path(p).is_file())
    outputs: dict[tuple[str, ...], str] = {}
    for command in watch.identify:
        if command[0] in executables:  # the first program that exists, and only that one
            limit = min(IDENTIFY_SECONDS, max(time_left, 0.1))
            outputs[command] = run_program(command, timeout=limit).output
            break
    processes = proctable.scan(watch.process_names) if watch.process_names else ()
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


def merged(first: Snapshot, more: Snapshot) -> Snapshot:
    return Snapshot(
        first.processes,
        {**first.files, **more.files},
        first.executables | more.executables,
        {**first.outputs, **more.outputs},
    )


@dataclass
class Call:
    """One entry point call of one resource: its configuration, budget, clock and log."""

    policy: ResourcePolicy
    entry: EntryPoint
    cfg: Config
    raw: Mapping[str, Raw]
    budget: Budget
    log: AgentLog
    started: float
    _plain: dict[str, str] = field(default_factory=dict)
    _agent_zone: list[str | None] = field(default_factory=list)

    @property
    def container(self) -> str:
        return self.cfg[CONTAINER_NAME] if self.cfg.has(CONTAINER_NAME) else ""

    def agent_zone(self) -> str | None:
        if not self._agent_zone:
            found = zoneinfo.current_zone() if zoneinfo.ON_SOLARIS else None
            self._agent_zone.append(found)
        return self._agent_zone[0]

    def zone(self) -> str | None:
        """Whose processes count (None: this system has no zones)."""
        return zones.effective_zone(self.container, self.agent_zone(), zoneinfo.ON_SOLARIS)

    @property
    def type_name(self) -> str:
        return self.policy.declaration.type_name

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def time_left(self) -> float:
        return self.budget.seconds - self.elapsed()

    def secret(self, attribute: str) -> str | None:
        """The decrypted value of a secret attribute, or None (the reason is logged)."""
        if attribute in self._plain:
            return self._plain[attribute]
        encrypted = (self.raw.get(attribute) or ("",))[0]
        result = secrets.decrypt(attribute, encrypted, timeout=max(self.time_left() - 1, 1))
        if not isinstance(result, Success):
            self.log.error(Msg.SECRET_UNAVAILABLE, result.failure())
            return None
        plaintext: str = result.unwrap()
        self.log.add_secret(plaintext)
        self._plain[attribute] = plaintext
        return plaintext

    def execute(self, command: Command, timeout: float) -> ProgramResult:
        deadline = time.monotonic() + timeout  # decrypting the password counts too
        stdin = None
        if command.stdin_secret is not None:
            plain = self.secret(command.stdin_secret)
            if plain is None:
                return ProgramResult(False, None, "", f"{command.stdin_secret} is unavailable")
            stdin = (plain + "\n").encode()
        argv = zones.in_zone(command.argv, self.container, self.agent_zone())
        timeout = deadline - time.monotonic()
        self.log.trace(Msg.RUN, f"running {' '.join(argv)} (limit {max(timeout, 0):.0f} s)")
        if timeout <= 0:
            return ProgramResult(False, None, "", "no time left in the budget")
        began = time.monotonic()
        result = run_program(argv, timeout=timeout, stdin_data=stdin)
        took = time.monotonic() - began
        ending = (
            "was stopped at its limit" if result.exit_code is None else f"exit {result.exit_code}"
        )
        self.log.debug(2, f"{' '.join(argv)}: {ending} after {took:.2f} s")
        if command.stdin_secret is not None:
            return result  # its output could echo the password, even partly: never logged
        for line in result.output.splitlines():
            self.log.debug(3, f"{Path(argv[0]).name}> {line}")
        for line in result.output.splitlines()[-20:]:
            self.log.trace(Msg.OUTPUT, f"{Path(command.argv[0]).name}: {line}")
        return result

    def observe(self) -> Snapshot:
        snap = observe(self.policy.watch(self.cfg))
        zone = self.zone()
        if zone is not None:
            snap = Snapshot(
                zones.visible(snap.processes, zone),
                snap.files,
                snap.executables,
                snap.outputs,
            )
        if 4 in self.log.debug_levels:
            seen = ", ".join(f"{p.pid}:{' '.join(p.cmdline)}" for p in snap.processes) or "none"
            self.log.debug(4, f"processes seen: {seen}; files: {dict(snap.files)}")
        return snap


def run(type_name: str, entry_name: str, argv: Sequence[str]) -> int:
    """An entry point as VCS calls it; the return value is the exit code."""
    started = time.monotonic()
    policy = POLICIES[type_name]
    entry = EntryPoint(entry_name)
    decl = policy.declaration
    match vcs_argv.parse(decl, entry, argv):
        case Failure(problem):
            resource = argv[0] if argv and vcs_argv.looks_like_resource(argv[0]) else "?"
            early = AgentLog(type_name, resource, entry.value, LogLevel.INFO)
            for value in vcs_argv.secret_values(decl, argv):
                early.add_secret(value)
            early.error(Msg.BAD_ARGUMENTS, f"cannot read the arguments: {problem}")
            return FAILURE_EXIT[entry]
        case Success(parsed):
            pass
    raw_level = parsed.values.get(RES_LOG_LEVEL.name, RES_LOG_LEVEL.default)
    debug = debug_levels([parsed.engine.get("LogDbg", ""), os.environ.get("JESAGENT_LOGDBG", "")])
    log = AgentLog(
        type_name,
        parsed.resource,
        entry.value,
        RES_LOG_LEVEL.convert(raw_level).value_or(LogLevel.INFO),
        debug,
    )
    for name in decl.secret_names:
        for value in parsed.values.get(name, ()):
            log.add_secret(value)
    for warning in parsed.warnings:
        log.warn(Msg.IGNORED_ARGUMENT, warning)
    if 5 in debug:
        shown = {name: " ".join(raw) for name, raw in parsed.values.items()}
        log.debug(5, f"{parsed.form.value} arguments: {shown}; engine: {dict(parsed.engine)}")
    match validate(decl, parsed.values):
        case Failure(violations):
            action = "nothing was run" if entry is not EntryPoint.MONITOR else "state unknown"
            for violation in violations:
                log.error(Msg.BAD_ATTRIBUTES, f"{violation} ({action})")
            return FAILURE_EXIT[entry]
        case Success(cfg):
            pass
    budget = Budget(float(parsed.aep_timeout or DEFAULT_TIMEOUT_SECONDS[entry]))
    call = Call(policy, entry, cfg, parsed.values, budget, log, started)
    log.deadline = started + budget.watchdog_at
    arm_watchdog(call)
    if zoneinfo.ON_SOLARIS and call.agent_zone() is None:
        log.error(Msg.COMMAND_NOT_RUN, "cannot tell which zone the agent runs in (zonename)")
        return FAILURE_EXIT[entry]
    if entry is EntryPoint.CLEAN and parsed.clean_reason is not None:
        log.info(Msg.CLEAN, f"clean requested: {parsed.clean_reason.text}")
    log.debug(1, f"{entry.value} begins; budget {budget.seconds:.0f} s")
    try:
        code = _DISPATCH[entry](call)
        log.debug(1, f"{entry.value} answers {code} after {call.elapsed():.2f} s")
        return code
    except Exception as error:  # VCS must get an answer, never a traceback
        log.error(Msg.COMMAND_FAILED, f"internal error: {type(error).__name__}: {error}")
        return FAILURE_EXIT[entry]


def arm_watchdog(call: Call) -> None:
    """The last line of defence for the budget: whatever blocks (a hung NFS mount, a DNS
    lookup, a slow halog), the entry point answers before VCS would kill it."""
    code = FAILURE_EXIT[call.entry]
    fire_after = max(call.budget.watchdog_at - call.elapsed(), 0.1)

    def expire(signum: int, frame: object) -> None:
        for child in list(run_module.running):
            run_module.stop_group(child, reap=False)
        call.log.deadline = 0.0  # no halog now: straight to the file or standard error
        call.log.error(
            Msg.COMMAND_TIMED_OUT, f"out of time after {call.elapsed():.1f} s; answering {code}"
        )
        os._exit(code)

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, fire_after)


# --- online ---------------------------------------------------------------------------


def do_online(call: Call) -> int:
    policy, cfg, log = call.policy, call.cfg, call.log
    cyclestate.forget(call.type_name, call.log.resource)
    if policy.first_level(cfg, call.observe()).ok:
        log.info(Msg.ALREADY_ONLINE, "already online; nothing to start")
        return NO_EXTRA_WAIT
    command = policy.start(cfg)
    log.info(Msg.START, f"{command.purpose}: {' '.join(command.argv)}")
    result = call.execute(command, call.budget.usable * 0.6 - call.elapsed())
    if not _command_ok(call, command, result):
        return NO_EXTRA_WAIT
    ready, why = False, "the processes did not appear"
    while True:
        last = policy.first_level(cfg, call.observe())
        if last.ok:
            ready, why = _ready(call)
        if ready or call.time_left() <= call.budget.margin:
            break
        time.sleep(ONLINE_POLL_SECONDS)
    if ready:
        log.info(Msg.STARTED, f"online after {call.elapsed():.1f} s: {last.summary}")
    else:
        log.error(
            Msg.NOT_STARTED, f"not online after {call.elapsed():.1f} s: {why}; {last.summary}"
        )
    return NO_EXTRA_WAIT


def _ready(call: Call) -> tuple[bool, str]:
    """Whether the policy's readiness probes pass (each gets a couple of seconds)."""
    for probe in call.policy.ready_probes(call.cfg):
        judgement = run_probe(call, probe, READY_PROBE_SECONDS)
        if judgement.outcome is not ProbeOutcome.PASSED:
            return False, judgement.reason
    return True, ""


def _command_ok(call: Call, command: Command, result: ProgramResult) -> bool:
    program = Path(command.argv[0]).name
    if not result.started:
        call.log.error(Msg.COMMAND_NOT_RUN, f"could not run {program}: {result.error}")
        return False
    if result.exit_code is None:
        call.log.error(Msg.COMMAND_TIMED_OUT, f"{program} did not finish in time and was stopped")
        return False
    if result.exit_code not in command.ok_exit_codes:
        tail = result.output.strip().splitlines()[-1:] or [""]
        call.log.error(
            Msg.COMMAND_FAILED, f"{program} failed (exit {result.exit_code}) {tail[0]}".rstrip()
        )
        return False
    return True


# --- offline and clean ----------------------------------------------------------------


def do_offline(call: Call) -> int:
    if not call.policy.stop_targets(call.cfg, call.observe()):
        call.log.info(Msg.ALREADY_OFFLINE, "no process of this resource runs; nothing to stop")
        return NO_EXTRA_WAIT
    stop_everything(call, stop_timeline(call.budget))
    return NO_EXTRA_WAIT


def do_clean(call: Call) -> int:
    return CLEAN_FAILED if stop_everything(call, stop_timeline(call.budget)) else CLEAN_SUCCEEDED


def _pids(identities: Sequence[Identity]) -> str:
    return ", ".join(str(i.pid) for i in identities)


def stop_everything(call: Call, timeline: StopTimeline) -> tuple[Identity, ...]:
    """The stop command, a wait, then TERM, a grace period and KILL for what remains."""
    policy, cfg, log = call.policy, call.cfg, call.log
    command = policy.stop(cfg)
    log.info(Msg.STOP, f"{command.purpose}: {' '.join(command.argv)}")
    result = call.execute(command, timeline.command_timeout - call.elapsed())
    _command_ok(call, command, result)
    targets = _targets(call)
    while targets and call.elapsed() < timeline.wait_until:
        time.sleep(STOP_POLL_SECONDS)
        targets = _targets(call)
    if not targets:
        log.info(Msg.STOPPED, f"stopped after {call.elapsed():.1f} s")
        return ()
    log.warn(
        Msg.STOP_ESCALATED, f"still running after the stop command: {_pids(targets)}; sending TERM"
    )
    targets = _signal_until(call, targets, signal.SIGTERM, timeline.term_until)
    targets = _signal_until(call, targets, signal.SIGKILL, timeline.kill_until)
    if targets:
        log.error(
            Msg.CLEAN_LEFT_PROCESSES, f"{len(targets)} processes would not stop: {_pids(targets)}"
        )
    else:
        log.info(Msg.STOPPED, f"stopped after {call.elapsed():.1f} s (signals were needed)")
    return targets


def _signal_until(
    call: Call, targets: tuple[Identity, ...], sig: signal.Signals, until: float
) -> tuple[Identity, ...]:
    """Signal each remaining process once (newcomers too), until none is left or time is up."""
    signalled: set[Identity] = set()
    while targets and call.elapsed() < until:
        for identity in targets:
            if identity not in signalled:
                _signal(call, identity, sig)
                signalled.add(identity)
        time.sleep(STOP_POLL_SECONDS)
        targets = _targets(call)
    return targets


def _targets(call: Call) -> tuple[Identity, ...]:
    return tuple(p.identity for p in call.policy.stop_targets(call.cfg, call.observe()))


def _signal(call: Call, identity: Identity, sig: signal.Signals) -> None:
    outcome = proctable.signal_if_same(identity, sig)
    if outcome is proctable.SignalOutcome.SENT:
        program = identity.cmdline[0] if identity.cmdline else "?"
        call.log.info(Msg.SIGNAL, f"sent {sig.name} to pid {identity.pid} ({program})")
    else:
        call.log.warn(Msg.SIGNAL_SKIPPED, f"did not signal pid {identity.pid}: {outcome.value}")


# --- monitor --------------------------------------------------------------------------


def do_monitor(call: Call) -> int:
    verdict = monitor_verdict(call)
    level = call.log.trace if verdict.state is State.ONLINE else call.log.info
    level(Msg.VERDICT, f"{verdict.state.value} ({verdict.code}): {verdict.reason}")
    return verdict.code


def monitor_verdict(call: Call) -> Verdict:
    policy, cfg, log = call.policy, call.cfg, call.log
    cycle = advance_cycle(
        cyclestate.read_count(call.type_name, log.resource), cfg[SECOND_LEVEL_MONITOR]
    )
    if cfg[SECOND_LEVEL_MONITOR] > 0:
        problem = cyclestate.save(call.type_name, log.resource, cycle.to_store)
        if problem is not None:
            cycle = unsaved(cycle)
            log.warn(
                Msg.STATE_NOT_SAVED,
                f"cannot save the monitor cycle count in {cyclestate.state_dir()}: {problem}; "
                "the second level runs on every cycle until it can",
            )
    snap = call.observe()
    first = policy.first_level(cfg, snap)
    log.trace(Msg.FIRST_LEVEL, first.summary)
    for note in first.notes:
        log.info(Msg.FIRST_LEVEL, note)
    second, second_reason = SecondLevel.NOT_DUE, "second level not due"
    if first.ok and cycle.due:
        second, second_reason = run_second_level(call, snap)
        log.trace(Msg.SECOND_LEVEL, f"second level {second.value}: {second_reason}")
    program = None
    if next_step(first.ok, second) is Next.PROGRAM_OR_ONLINE and cfg[MONITOR_PROGRAM]:
        program = run_monitor_program(call)
    return decide(first.ok, first.summary, second, second_reason, program)


def run_second_level(call: Call, snap: Snapshot) -> tuple[SecondLevel, str]:
    deep = observe(call.policy.deep_watch(call.cfg), time_left=call.time_left() / 4)
    probes = call.policy.second_level(call.cfg, merged(snap, deep))
    pending_program = 1 if call.cfg[MONITOR_PROGRAM] else 0
    reasons: list[str] = []
    for index, probe in enumerate(probes):
        seconds = call.budget.step_timeout(call.time_left(), len(probes) - index + pending_program)
        if seconds is None:
            return SecondLevel.INCONCLUSIVE, f"no time left for {probe.what}"
        call.log.debug(5, f"{probe.what}: {seconds} s of {call.time_left():.1f} s left")
        judgement = run_probe(call, probe, seconds)
        call.log.trace(Msg.PROBE, judgement.reason)
        if judgement.outcome is ProbeOutcome.FAILED:
            return SecondLevel.FAILED, judgement.reason
        if judgement.outcome is ProbeOutcome.INCONCLUSIVE:
            return SecondLevel.INCONCLUSIVE, judgement.reason
        reasons.append(judgement.reason)
    return SecondLevel.PASSED, "; ".join(reasons) or "nothing to probe"


def run_probe(call: Call, probe: ProgramProbe | TcpProbe, seconds: int) -> Judgement:
    began = time.monotonic()
    if isinstance(probe, TcpProbe):
        found = connect(probe.host, probe.port, timeout=seconds, tls=probe.tls)
        judgement = judge_connect(probe, found)
    else:
        command = Command(fill(probe.argv, seconds), probe.what, probe.stdin_secret)
        # The program gets its threshold plus a second to report; never more than is left.
        hard_limit = min(seconds + 1.0, call.time_left() - call.budget.margin / 2)
        judgement = judge_program(probe, call.execute(command, hard_limit))
    took = time.monotonic() - began
    return replace(judgement, reason=f"{judgement.reason} ({took:.1f} s of its {seconds} s)")


def run_monitor_program(call: Call) -> Verdict:
    seconds = call.budget.step_timeout(call.time_left(), 1)
    if seconds is None:
        return unknown("no time left to run MonitorProgram")
    result = call.execute(Command(call.cfg[MONITOR_PROGRAM], "MonitorProgram"), seconds)
    if not result.started:
        return unknown(f"MonitorProgram could not run: {result.error}")
    verdict = read_program_exit(result.exit_code)
    call.log.trace(Msg.PROGRAM, verdict.reason)
    return verdict


_DISPATCH = {
    EntryPoint.ONLINE: do_online,
    EntryPoint.OFFLINE: do_offline,
    EntryPoint.MONITOR: do_monitor,
    EntryPoint.CLEAN: do_clean,
}
