"""The entry points as procedures: pure generators that yield actions and read replies.

    machine = entry_point(policy, EntryPoint.MONITOR, argv, Host())
    action = next(machine)
    while True:
        action = machine.send(Reply(elapsed, result_of(action)))   # until StopIteration

The StopIteration's value is the exit code VCS reads. Everything the agent decides, in
what order, with what share of the budget, and what it logs, is here; the shell performs
the actions (jescore.policy.actions) and feeds back what happened. No clock, no I/O:
time is the `elapsed` of each reply, so a test drives the same procedure with a virtual
clock, and `jesagent explain` drives it with assumed outcomes.
"""

from __future__ import annotations

import enum

from jescore.policy import argv as vcs_argv
from jescore.policy import checks, zones
from jescore.policy.actions import (
    RESULT_TYPES,
    Action,
    ArmWatchdog,
    Connect,
    Converse,
    Debug,
    ForgetCount,
    Host,
    LoadCount,
    LoadPids,
    LoadVerdict,
    Log,
    MachineMisuse,
    Observe,
    Reply,
    Run,
    RunKind,
    Secret,
    Sig,
    Signal,
    SignalOutcome,
    StartLog,
    StoreCount,
    StorePids,
    StoreVerdict,
    Wait,
)
from jescore.policy.agentlog import Msg, debug_levels, unknown_debug_words
from jescore.policy.checks import LogLevel
from jescore.policy.commands import (
    Command,
    ConnectResult,
    DialogueResult,
    Judgement,
    NativeProbe,
    ProbeOutcome,
    ProgramProbe,
    ProgramResult,
    TcpProbe,
    fill,
    judge_connect,
    judge_dialogue,
    judge_program,
)
from jescore.policy.declaration import Config, Declaration, Raw, Violation, validate
from jescore.policy.monitoring import (
    ONLINE_POLL_SECONDS,
    OUTPUT_LINES_LOGGED,
    READY_PROBE_SECONDS,
    STOP_POLL_SECONDS,
    Budget,
    Next,
    SecondLevel,
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
from jescore.policy.resource import (
    CONTAINER_NAME,
    MONITOR_PROGRAM,
    RES_LOG_LEVEL,
    SECOND_LEVEL_MONITOR,
    FirstLevel,
    ResourcePolicy,
    Snapshot,
    Watch,
    merged,
)
from jescore.policy.secrets import mask, secret_words
from jescore.policy.vcs import (
    CLEAN_FAILED,
    CLEAN_SUCCEEDED,
    DEFAULT_TIMEOUT_SECONDS,
    FAILURE_EXIT,
    NO_EXTRA_WAIT,
    EntryPoint,
)
from jescore.record import field, mutable_record, record, replace
from jescore.result import Failure, Success
from jescore.typenames import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Mapping, Sequence
    from typing import TypeAlias

    from jescore.policy.actions import Machine


T = TypeVar("T")
NO_ZONES = Host()
if TYPE_CHECKING:
    Step: TypeAlias = Generator[Action, Reply, T]


@mutable_record
class Call:
    """One entry point call of one resource: its configuration, budget and clock reading."""

    policy: ResourcePolicy
    entry: EntryPoint
    resource: str
    cfg: Config
    raw: dict[str, Raw]
    budget: Budget
    host: Host
    debug: frozenset[int] = frozenset()
    secrets: frozenset[str] = frozenset()
    debug_to_vcs: bool = False  # every debug line to halog: VCS filters by LogDbg
    last_seen: str = ""  # the last "processes seen" debug line of this call
    notes: tuple[str, ...] = ()  # the first level's remarks (a stale pid file)
    now: float = 0.0  # seconds since the entry point began, as of the last reply
    label: str = ""  # the entry point's name in log lines (VCS's, or Pacemaker's action)
    vcs_codes: bool = True  # the verdict line shows VCS's monitor code
    _pending: list[Action] = field(default_factory=list)

    @property
    def container(self) -> str:
        return self.cfg[CONTAINER_NAME] if self.cfg.has(CONTAINER_NAME) else ""

    def zone(self) -> str | None:
        """Whose processes count (None: this system has no zones)."""
        return zones.effective_zone(self.container, self.host.agent_zone, self.host.zones_exist)

    def in_zone(self, argv: tuple[str, ...]) -> tuple[str, ...]:
        return zones.in_zone(argv, self.container, self.host.agent_zone)

    def time_left(self) -> float:
        return self.budget.seconds - self.now

    def wants(self, level: int) -> bool:
        """Whether debug lines of this level are made at all."""
        return level in self.debug or self.debug_to_vcs

    def secret(self, attribute: str | None) -> Secret | None:
        if attribute is None:
            return None
        return Secret(attribute, (self.raw.get(attribute) or ("",))[0])


# --- asking the shell ---------------------------------------------------------------


def ask(call: Call | None, action: Action) -> Step[object]:
    """Yield one action; check and return its result, and read the clock from the reply."""
    reply = yield action
    if not isinstance(reply, Reply):
        raise MachineMisuse(f"{type(action).__name__} needs a Reply, not {type(reply).__name__}")
    if not isinstance(reply.value, RESULT_TYPES[type(action)]):
        wanted = " or ".join(t.__name__ for t in RESULT_TYPES[type(action)])
        raise MachineMisuse(
            f"{type(action).__name__} needs {wanted}, not {type(reply.value).__name__}"
        )
    if call is not None:
        call.now = reply.elapsed
    return reply.value


def log(call: Call, level: LogLevel, msg: Msg, text: str) -> Step[None]:
    yield from ask(call, Log(level, msg, mask(text, call.secrets)))


def debug(call: Call, level: int, text: str) -> Step[None]:
    """A debug line, when LogDbg asks for its level; when the agent was not given LogDbg
    and halog is there, every debug line goes to VCS, which keeps those LogDbg names (as
    VCS's own script helpers do)."""
    if call.wants(level):
        yield from ask(call, Debug(level, mask(text, call.secrets)))


def observe(call: Call, watch: Watch, identify_limit: float | None = None) -> Step[Snapshot]:
    """One look; only processes of the zone that counts are kept."""
    limit = identify_limit
    if limit is None:
        limit = call.budget.identify_limit(call.time_left())
    value = yield from ask(call, Observe(watch, limit))
    assert isinstance(value, Snapshot)  # checked by ask
    zone = call.zone()
    snap = value if zone is None else replace(value, processes=zones.visible(value.processes, zone))
    if call.wants(4) and watch.process_names:
        seen = ", ".join(f"{p.pid}:{' '.join(p.cmdline)}" for p in snap.processes) or "none"
        line = f"processes seen: {seen}; files: {dict(snap.files)}"
        if line != call.last_seen:  # a wait loop looks many times: say what changed only
            call.last_seen = line
            yield from debug(call, 4, line)
    return snap


def execute(
    call: Call, command: Command, kind: RunKind, timeout: float, probe: ProgramProbe | None = None
) -> Step[ProgramResult]:
    """Run a command within `timeout`, logging what ran and (unless it was given a secret,
    which its output could echo) what it printed."""
    argv = call.in_zone(command.argv)
    yield from log(
        call, LogLevel.TRACE, Msg.RUN, f"running {' '.join(argv)} (limit {max(timeout, 0):.0f} s)"
    )
    if timeout <= 0:
        return ProgramResult(False, None, "", "no time left in the budget")
    began = call.now
    action = Run(argv, kind, timeout, call.secret(command.stdin_secret), probe)
    value = yield from ask(call, action)
    assert isinstance(value, ProgramResult)
    if value.secret_unavailable:
        yield from log(call, LogLevel.ERROR, Msg.SECRET_UNAVAILABLE, value.error)
        return value
    ending = "was stopped at its limit" if value.exit_code is None else f"exit {value.exit_code}"
    yield from debug(call, 2, f"{' '.join(argv)}: {ending} after {call.now - began:.2f} s")
    if command.stdin_secret is not None:
        return value  # its output could echo the password, even partly: never logged
    program = command.argv[0].rsplit("/", 1)[-1]
    lines = value.output.splitlines()
    for line in lines if call.wants(3) else ():
        yield from debug(call, 3, f"{argv[0].rsplit('/', 1)[-1]}> {line}")
    for line in lines[-OUTPUT_LINES_LOGGED:]:
        yield from log(call, LogLevel.TRACE, Msg.OUTPUT, f"{program}: {line}")
    return value


def command_ok(call: Call, command: Command, result: ProgramResult) -> Step[bool]:
    program = command.argv[0].rsplit("/", 1)[-1]
    if not result.started:
        if not result.secret_unavailable:
            yield from log(
                call,
                LogLevel.ERROR,
                Msg.COMMAND_NOT_RUN,
                f"could not run {program}: {result.error}",
            )
        return False
    if result.exit_code is None:
        yield from log(
            call,
            LogLevel.ERROR,
            Msg.COMMAND_TIMED_OUT,
            f"{program} did not finish in time and was stopped",
        )
        return False
    if result.exit_code not in command.ok_exit_codes:
        tail = result.output.strip().splitlines()[-1:] or [""]
        text = f"{program} failed (exit {result.exit_code}) {tail[0]}".rstrip()
        yield from log(call, LogLevel.ERROR, Msg.COMMAND_FAILED, text)
        return False
    return True


# --- the entry point as a whole -----------------------------------------------------


def entry_point(
    policy: ResourcePolicy, entry: EntryPoint, argv: Sequence[str], host: Host = NO_ZONES
) -> Machine:
    """Read VCS's arguments, validate them, and carry out the entry point."""
    decl = policy.declaration
    words = secret_words(decl, argv)
    match vcs_argv.parse(decl, entry, argv):
        case Failure(problem):
            resource = argv[0] if argv and vcs_argv.looks_like_resource(argv[0]) else "?"
            yield from ask(None, StartLog(resource, LogLevel.INFO))
            text = mask(f"cannot read the arguments: {problem}", words)
            yield from ask(None, Log(LogLevel.ERROR, Msg.BAD_ARGUMENTS, text))
            return FAILURE_EXIT[entry]
        case Success(parsed):
            pass
    request = Request(
        resource=parsed.resource,
        raw=dict(parsed.values),
        seconds=float(parsed.aep_timeout or DEFAULT_TIMEOUT_SECONDS[entry]),
        warnings=parsed.warnings,
        logdbg=parsed.engine.get("LogDbg", ""),
        logdbg_given="LogDbg" in parsed.engine,
        shown=f"{parsed.form.value} arguments",
        engine=dict(parsed.engine),
        secrets=frozenset(words),
    )
    call = yield from begin(policy, entry, request, host, FAILURE_EXIT[entry])
    if isinstance(call, Refusal):
        return FAILURE_EXIT[entry]
    if entry is EntryPoint.CLEAN and parsed.clean_reason is not None:
        yield from log(
            call, LogLevel.INFO, Msg.CLEAN, f"clean requested: {parsed.clean_reason.text}"
        )
    return (yield from carry_out(call, PROCEDURES[entry]))


@record
class Request:
    """What a front end (VCS's argument vector, Pacemaker's environment) read from its
    caller, in the core's terms."""

    resource: str
    raw: Mapping[str, Raw]
    seconds: float  # the budget
    warnings: tuple[str, ...] = ()  # what was ignored, logged once the log is open
    logdbg: str = ""  # the engine's LogDbg value
    logdbg_given: bool = False  # the engine passed LogDbg (even empty)
    shown: str = "arguments"  # how the debug-5 line names what was read
    engine: Mapping[str, str] = field(default_factory=dict)  # the engine's own values
    secrets: frozenset[str] = frozenset()  # words the log must mask, besides secret values
    label: str = ""  # the entry point's name in log lines, if not VCS's
    trace: bool = False  # the host asks for every TRACE line (Pacemaker's HA_debug)
    vcs_codes: bool = True  # VCS reads the exit codes (the verdict line shows them)


class Refusal(enum.Enum):
    """Why an entry point could not begin its work."""

    BAD_ATTRIBUTES = "the attributes are not valid"
    NO_ZONE = "the agent's zone is unknown"


def begin(
    policy: ResourcePolicy, entry: EntryPoint, request: Request, host: Host, failure_code: int
) -> Step[Call | Refusal]:
    """Open the log, arm the watchdog at the budget, log what was ignored and validate:
    the call ready for its procedure, or why it cannot go on (logged)."""
    decl = policy.declaration
    raw = dict(request.raw)
    words = set(request.secrets)
    words |= {value for name in decl.secret_names for value in raw.get(name, ()) if value}
    raw, logging_warnings = logging_fallbacks(decl, raw, request.logdbg)
    level = RES_LOG_LEVEL.convert(raw.get(RES_LOG_LEVEL.name, RES_LOG_LEVEL.default))
    if request.trace:
        level = Success(LogLevel.TRACE)
    dbg = debug_levels([request.logdbg, host.logdbg])
    yield from ask(None, StartLog(request.resource, level.value_or(LogLevel.INFO), dbg))
    budget = Budget(request.seconds)
    call = Call(policy, entry, request.resource, _EMPTY, raw, budget, host, dbg, frozenset(words))
    call.label = request.label or entry.value
    call.vcs_codes = request.vcs_codes
    call.debug_to_vcs = host.halog and not request.logdbg_given and not host.logdbg.strip()
    # The budget is known from here on: every log line after this is bounded by it.
    yield from ask(call, ArmWatchdog(budget.watchdog_at, failure_code))
    for warning in (*request.warnings, *logging_warnings):
        yield from log(call, LogLevel.WARN, Msg.IGNORED_ARGUMENT, warning)
    if call.wants(5):
        shown = {name: " ".join(values) for name, values in raw.items()}
        yield from debug(call, 5, f"{request.shown}: {shown}; engine: {dict(request.engine)}")
    cfg = yield from configuration(call, decl, raw)
    if cfg is None:
        return Refusal.BAD_ATTRIBUTES
    call.cfg = cfg
    if host.zones_exist and host.agent_zone is None:
        yield from log(
            call,
            LogLevel.ERROR,
            Msg.COMMAND_NOT_RUN,
            "cannot tell which zone the agent runs in (zonename)",
        )
        return Refusal.NO_ZONE
    return call


def carry_out(call: Call, procedure: Callable[[Call], Step[int]]) -> Step[int]:
    """The procedure, between the debug lines that give its budget and its answer."""
    yield from debug(call, 1, f"{call.label} begins; budget {call.budget.seconds:.0f} s")
    code = yield from procedure(call)
    yield from debug(call, 1, f"{call.label} answers {code} after {call.now:.2f} s")
    return code


_EMPTY = Config({})
STOPPING = frozenset({EntryPoint.OFFLINE, EntryPoint.CLEAN})


def logging_fallbacks(
    decl: Declaration, raw: dict[str, Raw], logdbg: str
) -> tuple[dict[str, Raw], tuple[str, ...]]:
    """Attributes that only shape the log never invalidate a resource: an invalid value is
    replaced by the default, with a warning naming the attribute."""
    fixed = dict(raw)
    warnings: list[str] = []
    for attr in decl.attrs:
        if not attr.logging_only or attr.name not in raw:
            continue
        problem = attr.convert(raw[attr.name]).swap().value_or("")
        if problem:
            fixed[attr.name] = attr.default
            default = " ".join(attr.default)
            warnings.append(f"{attr.name}: {problem}; logging as with the default {default}")
    unknown = unknown_debug_words([logdbg])
    if unknown:
        names = ", ".join(checks.shown(word) for word in unknown)
        warnings.append(f"LogDbg: {names} name no debug level (DBG_1 to DBG_21); ignored")
    return fixed, tuple(warnings)


def effective_config(
    decl: Declaration, entry: EntryPoint, raw: Mapping[str, Raw]
) -> tuple[Config | None, tuple[Violation, ...]]:
    """The configuration an entry point works with, and every violation. With any
    attribute invalid, monitor answers unknown and online does nothing (None); offline and
    clean still stop what is theirs when the attributes that identify the instance are
    valid (their configuration holds just those). Logging attributes must already have
    had their fallbacks (logging_fallbacks)."""
    found = validate(decl, raw)
    if isinstance(found, Success):
        return found.unwrap(), ()
    violations: tuple[Violation, ...] = found.failure()
    if entry in STOPPING:
        identified = validate(decl.identifying(), raw)
        if isinstance(identified, Success):
            return identified.unwrap(), violations
    return None, violations


def configuration(call: Call, decl: Declaration, raw: dict[str, Raw]) -> Step[Config | None]:
    """The effective configuration, with every violation logged: as a warning when the
    entry point goes on without the attribute, as an error when it refuses."""
    entry = call.entry
    cfg, violations = effective_config(decl, entry, raw)
    if not violations:
        return cfg
    if cfg is not None:
        for violation in violations:
            yield from log(
                call,
                LogLevel.WARN,
                Msg.BAD_ATTRIBUTES,
                f"{violation} (not needed to stop the resource; {call.label} goes on)",
            )
        return cfg
    action = "state unknown" if entry is EntryPoint.MONITOR else "nothing was run"
    for violation in violations:
        yield from log(call, LogLevel.ERROR, Msg.BAD_ATTRIBUTES, f"{violation} ({action})")
    if entry in STOPPING:
        names = ", ".join(decl.identifying().attribute_names())
        yield from log(
            call,
            LogLevel.ERROR,
            Msg.BAD_ATTRIBUTES,
            f"{call.label} cannot tell which processes are this resource's without valid {names}",
        )
    return None


# --- online -------------------------------------------------------------------------


def online(call: Call) -> Step[int]:
    """Bring the resource online. Online answers 0 either way: monitor decides."""
    yield from bring_online(call)
    return NO_EXTRA_WAIT


def bring_online(call: Call) -> Step[bool]:
    """Start unless already online; then wait, within the budget, until the first level
    passes and the readiness probes answer. Whether the resource is online now."""
    policy, cfg = call.policy, call.cfg
    yield from ask(call, ForgetCount(call.resource))
    first = policy.first_level(cfg, (yield from observe(call, policy.watch(cfg))))
    if first.ok:
        yield from log(call, LogLevel.INFO, Msg.ALREADY_ONLINE, "already online; nothing to start")
        return True
    command = policy.start(cfg)
    yield from log(
        call, LogLevel.INFO, Msg.START, f"{command.purpose}: {' '.join(call.in_zone(command.argv))}"
    )
    limit = call.budget.start_command_until - call.now
    result = yield from execute(call, command, RunKind.START, limit)
    if not (yield from command_ok(call, command, result)):
        return False
    ready, why = False, "the processes did not appear"
    while True:
        last = policy.first_level(cfg, (yield from observe(call, policy.watch(cfg))))
        if last.ok:
            ready, why = yield from ready_check(call)
        if ready or call.time_left() <= call.budget.margin:
            break
        yield from ask(call, Wait(ONLINE_POLL_SECONDS))
    if ready:
        yield from log(
            call, LogLevel.INFO, Msg.STARTED, f"online after {call.now:.1f} s: {last.summary}"
        )
    else:
        yield from log(
            call,
            LogLevel.ERROR,
            Msg.NOT_STARTED,
            f"not online after {call.now:.1f} s: {why}; {last.summary}",
        )
    return ready


def ready_check(call: Call) -> Step[tuple[bool, str]]:
    """Whether the policy's readiness probes pass (each gets READY_PROBE_SECONDS, or what
    is left of the budget less its margin when that is less)."""
    for probe in call.policy.ready_probes(call.cfg):
        seconds = min(READY_PROBE_SECONDS, call.budget.step_timeout(call.time_left(), 1) or 0)
        if seconds < 1:
            return False, f"no time left for {probe.what}"
        judgement = yield from run_probe(call, probe, seconds)
        if judgement.outcome is not ProbeOutcome.PASSED:
            return False, judgement.reason
    return True, ""


# --- offline and clean --------------------------------------------------------------


def offline(call: Call) -> Step[int]:
    """Take the resource offline. Answers 0 either way."""
    yield from take_offline(call)
    return NO_EXTRA_WAIT


def take_offline(call: Call) -> Step[tuple[Identity, ...]]:
    """Stop what runs (nothing to do when nothing runs); what would not stop."""
    snap = yield from observe(call, call.policy.stop_watch(call.cfg))
    if not call.policy.stop_targets(call.cfg, snap):
        yield from log(
            call,
            LogLevel.INFO,
            Msg.ALREADY_OFFLINE,
            "no process of this resource runs; nothing to stop",
        )
        return ()
    return (yield from stop_everything(call))


def clean(call: Call) -> Step[int]:
    """Always run the stop command and signal what remains: 0 only if nothing is left."""
    left = yield from stop_everything(call)
    return CLEAN_FAILED if left else CLEAN_SUCCEEDED


def _pids(identities: Sequence[Identity]) -> str:
    return ", ".join(str(i.pid) for i in identities)


def targets(call: Call) -> Step[tuple[Identity, ...]]:
    snap = yield from observe(call, call.policy.stop_watch(call.cfg))
    return tuple(p.identity for p in call.policy.stop_targets(call.cfg, snap))


def stop_everything(call: Call) -> Step[tuple[Identity, ...]]:
    """The stop command, a wait, then SIGTERM, a grace period and SIGKILL for what remains,
    each phase ending where the stop timeline says. A stop command that could not even
    start (missing, not executable) stops nothing, so the signals follow at once.
    Returns what would not stop."""
    timeline = stop_timeline(call.budget)
    command = call.policy.stop(call.cfg)
    yield from log(
        call, LogLevel.INFO, Msg.STOP, f"{command.purpose}: {' '.join(call.in_zone(command.argv))}"
    )
    result = yield from execute(call, command, RunKind.STOP, timeline.command_timeout - call.now)
    yield from command_ok(call, command, result)
    left = yield from targets(call)
    while left and result.started and call.now < timeline.wait_until:
        yield from ask(call, Wait(STOP_POLL_SECONDS))
        left = yield from targets(call)
    if not left:
        yield from log(call, LogLevel.INFO, Msg.STOPPED, f"stopped after {call.now:.1f} s")
        return ()
    after = "after the stop command" if result.started else "(the stop command did not run)"
    text = f"still running {after}: {_pids(left)}; sending TERM"
    yield from log(call, LogLevel.WARN, Msg.STOP_ESCALATED, text)
    left = yield from signal_until(call, left, Sig.TERM, timeline.term_until)
    left = yield from signal_until(call, left, Sig.KILL, timeline.kill_until)
    if left:
        yield from log(
            call,
            LogLevel.ERROR,
            Msg.CLEAN_LEFT_PROCESSES,
            f"{len(left)} processes would not stop: {_pids(left)}",
        )
    else:
        yield from log(
            call,
            LogLevel.INFO,
            Msg.STOPPED,
            f"stopped after {call.now:.1f} s (signals were needed)",
        )
    return left


def signal_until(
    call: Call, left: tuple[Identity, ...], sig: Sig, until: float
) -> Step[tuple[Identity, ...]]:
    """Signal each remaining process once (newcomers too), looking again until none is
    left or the phase ends."""
    signalled: set[Identity] = set()
    first = True  # each phase signals once at least, even if the one before ran late
    while left and (first or call.now < until):
        first = False
        for identity in left:
            if identity in signalled:
                continue
            signalled.add(identity)
            outcome = yield from ask(call, Signal(identity, sig))
            program = identity.cmdline[0] if identity.cmdline else "?"
            if outcome is SignalOutcome.SENT:
                yield from log(
                    call,
                    LogLevel.INFO,
                    Msg.SIGNAL,
                    f"sent {sig.value} to pid {identity.pid} ({program})",
                )
            else:
                assert isinstance(outcome, SignalOutcome)
                yield from log(
                    call,
                    LogLevel.WARN,
                    Msg.SIGNAL_SKIPPED,
                    f"did not signal pid {identity.pid}: {outcome.value}",
                )
        if call.now < until:  # a pass made late (the phase already over) waits no more
            yield from ask(call, Wait(STOP_POLL_SECONDS))
        left = yield from targets(call)
    return left


# --- monitor ------------------------------------------------------------------------


def monitor(call: Call) -> Step[int]:
    """The verdict, logged at INFO when it differs from this resource's previous verdict on
    this node or when the resource is half there (some processes present, some missing),
    and at TRACE otherwise: a standby node that finds nothing, cycle after cycle, stays
    quiet."""
    verdict, _ = yield from monitor_and_log(call)
    return verdict.code


def monitor_and_log(
    call: Call, second_level_due: bool | None = None
) -> Step[tuple[Verdict, FirstLevel]]:
    """The verdict, logged as `monitor` says, and what the first level found.
    `second_level_due` overrides SecondLevelMonitor's cycle count (under Pacemaker the
    check level decides)."""
    previous = yield from ask(call, LoadVerdict(call.resource))
    verdict, first = yield from monitor_verdict(call, second_level_due)
    changed = previous != verdict.state.value
    partial = bool(first.found) and not first.ok
    level = LogLevel.INFO if changed or partial else LogLevel.TRACE
    for note in call.notes:
        yield from log(call, level, Msg.FIRST_LEVEL, note)
    code = f" ({verdict.code})" if call.vcs_codes else ""
    yield from log(call, level, Msg.VERDICT, f"{verdict.state.value}{code}: {verdict.reason}")
    if changed:
        yield from ask(call, StoreVerdict(call.resource, verdict.state.value))
    return verdict, first


def monitor_verdict(
    call: Call, second_level_due: bool | None = None
) -> Step[tuple[Verdict, FirstLevel]]:
    """Count the cycle (unless told whether the second level is due), look for the
    processes, probe when due, run MonitorProgram when the verdict table says so, and fold
    it all into the verdict; with what the first level found."""
    due = second_level_due
    if due is None:
        due = yield from count_cycle(call)
    snap, first = yield from first_look(call)
    yield from log(call, LogLevel.TRACE, Msg.FIRST_LEVEL, first.summary)
    call.notes = first.notes  # logged with the verdict: at INFO only when it changes
    second, second_reason = SecondLevel.NOT_DUE, "second level not due"
    if first.ok and due:
        second, second_reason = yield from second_level(call, snap)
        yield from log(
            call, LogLevel.TRACE, Msg.SECOND_LEVEL, f"second level {second.value}: {second_reason}"
        )
    program = None
    if next_step(first.ok, second) is Next.PROGRAM_OR_ONLINE and call.cfg[MONITOR_PROGRAM]:
        program = yield from monitor_program(call)
    return decide(first.ok, first.summary, second, second_reason, program), first


def count_cycle(call: Call) -> Step[bool]:
    """Count this monitor cycle in SecondLevelMonitor's rhythm: whether the second level is
    due. A count that cannot be saved makes it due on every cycle."""
    every = call.cfg[SECOND_LEVEL_MONITOR]
    stored = (yield from ask(call, LoadCount(call.resource))) if every > 0 else None
    assert stored is None or isinstance(stored, int)
    cycle = advance_cycle(stored, every)
    if every > 0:
        problem = yield from ask(call, StoreCount(call.resource, cycle.to_store))
        if problem is not None:
            cycle = unsaved(cycle)
            yield from log(
                call,
                LogLevel.WARN,
                Msg.STATE_NOT_SAVED,
                f"cannot save the monitor cycle count: {problem}; "
                "the second level runs on every cycle until it can",
            )
    return cycle.due


def first_look(call: Call) -> Step[tuple[Snapshot, FirstLevel]]:
    """The first level, tried first on just the processes the last monitor found, each
    still the same process (pid and start time): a running resource then costs a few reads
    on any size of process table. Any doubt (a pid gone, reused or replaced, a process
    missing, a cache unreadable) means the full look, whose findings are kept for next
    time."""
    policy, cfg = call.policy, call.cfg
    watch = policy.watch(cfg)
    value = yield from ask(call, LoadPids(call.resource))
    cached = tuple(value) if isinstance(value, tuple) else ()
    if cached:
        snap = yield from observe(call, replace(watch, pids=tuple(pid for pid, _ in cached)))
        same = set(cached)
        verified = tuple(p for p in snap.processes if (p.pid, p.create_time) in same)
        first = policy.first_level(cfg, replace(snap, processes=verified))
        if first.ok:
            return snap, first
    snap = yield from observe(call, watch)
    first = policy.first_level(cfg, snap)
    found = tuple((p.pid, p.create_time) for p in first.found) if first.ok else ()
    if found != cached:
        yield from ask(call, StorePids(call.resource, found))
    return snap, first


def second_level(call: Call, snap: Snapshot) -> Step[tuple[SecondLevel, str]]:
    """The probes in turn, each with its share of the time left; the first that fails or
    cannot be judged ends the second level."""
    deep_watch = call.policy.deep_watch(call.cfg)
    deep = Snapshot(())
    if deep_watch != Watch():
        limit = call.budget.deep_identify_limit(call.time_left())
        deep = yield from observe(call, deep_watch, limit)
    probes = call.policy.second_level(call.cfg, merged(snap, deep))
    program_after = 1 if call.cfg[MONITOR_PROGRAM] else 0
    reasons: list[str] = []
    told = {""}  # the stand-in causes already logged ("" is none)
    for index, probe in enumerate(probes):
        seconds = call.budget.step_timeout(call.time_left(), len(probes) - index + program_after)
        if seconds is None:
            return SecondLevel.INCONCLUSIVE, f"no time left for {probe.what}"
        yield from debug(call, 5, f"{probe.what}: {seconds} s of {call.time_left():.1f} s left")
        if isinstance(probe, NativeProbe) and probe.stands_in not in told:
            told.add(probe.stands_in)  # once per cause, however many probes it affects
            text = f"{probe.stands_in}: the native probes stand in (NativeProbes 1 chooses them)"
            yield from log(call, LogLevel.WARN, Msg.PROBE, text)
        judgement = yield from run_probe(call, probe, seconds)
        yield from log(call, LogLevel.TRACE, Msg.PROBE, judgement.reason)
        if judgement.warning:
            yield from log(call, LogLevel.WARN, Msg.PROBE, judgement.warning)
        if judgement.outcome is ProbeOutcome.FAILED:
            return SecondLevel.FAILED, judgement.reason
        if judgement.outcome is ProbeOutcome.INCONCLUSIVE:
            return SecondLevel.INCONCLUSIVE, judgement.reason
        reasons.append(judgement.reason)
    return SecondLevel.PASSED, "; ".join(reasons) or "nothing to probe"


def run_probe(
    call: Call, probe: ProgramProbe | TcpProbe | NativeProbe, seconds: int
) -> Step[Judgement]:
    began = call.now
    if isinstance(probe, TcpProbe):
        found = yield from ask(call, Connect(probe, float(seconds)))
        assert isinstance(found, ConnectResult)
        judgement = judge_connect(probe, found)
    elif isinstance(probe, NativeProbe):
        said = yield from ask(call, Converse(probe, float(seconds), call.secret(probe.secret)))
        assert isinstance(said, DialogueResult)
        if said.secret_unavailable:
            yield from log(call, LogLevel.ERROR, Msg.SECRET_UNAVAILABLE, said.error)
        judgement = judge_dialogue(probe, said)
    else:
        command = Command(fill(probe.argv, seconds), probe.what, probe.stdin_secret)
        limit = call.budget.probe_hard_limit(seconds, call.time_left())
        result = yield from execute(call, command, RunKind.PROBE, limit, probe)
        judgement = judge_program(probe, result)
    took = call.now - began
    return replace(judgement, reason=f"{judgement.reason} ({took:.1f} s of its {seconds} s)")


def monitor_program(call: Call) -> Step[Verdict | None]:
    """Run MonitorProgram and read its exit code. As the original guide says, it runs only
    when it is "a valid executable utility": a path that is not an executable file is
    skipped with a warning (None), as if it were not set. Through zlogin the path lies in
    the zone and cannot be checked from here: it is run."""
    argv = call.cfg[MONITOR_PROGRAM]
    if call.in_zone(argv) == argv:
        seen = yield from observe(call, Watch(paths=(argv[0],)))
        if argv[0] not in seen.executables:
            yield from log(
                call,
                LogLevel.WARN,
                Msg.PROGRAM,
                f"MonitorProgram {argv[0]} is not an executable file; skipped",
            )
            return None
    seconds = call.budget.step_timeout(call.time_left(), 1)
    if seconds is None:
        return unknown("no time left to run MonitorProgram")
    result = yield from execute(call, Command(argv, "MonitorProgram"), RunKind.PROGRAM, seconds)
    if not result.started:
        return unknown(f"MonitorProgram could not run: {result.error}")
    verdict = read_program_exit(result.exit_code)
    yield from log(call, LogLevel.TRACE, Msg.PROGRAM, verdict.reason)
    return verdict


PROCEDURES = {
    EntryPoint.ONLINE: online,
    EntryPoint.OFFLINE: offline,
    EntryPoint.MONITOR: monitor,
    EntryPoint.CLEAN: clean,
}
