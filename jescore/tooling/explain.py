"""What an entry point would do now, found by running its own procedure on assumptions.

`jesagent explain` runs no start or stop command, no probe, no MonitorProgram and no
password helper, and changes nothing. The shell looks once (the process table, the pid
files, which programs exist, the LDAP client's version, the stored cycle count) and hands
that to `explain`, which drives the very procedure the agent runs
(jescore.policy.procedures) against an assumed world:

- every look sees what was observed, as changed by the steps before it: a start command
  that passes makes the instance's processes appear, a stop command or a signal that
  takes effect makes them go;
- each command, probe and MonitorProgram has an outcome: given on the command line, known
  (a program that is not there cannot run), or else assumed to pass;
- time is virtual: waits take their length, hanging steps their whole limit, the rest none.

Every step the procedure takes is reported. Then each assumed outcome on that path is
turned, one at a time, to fail, hang and cannot-run, and the procedure runs again: the
alternatives say what the entry point would answer then. The exit code is reported only
when no alternative changes it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence

from jescore.policy import argv as vcs_argv
from jescore.policy.actions import (
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
    Observe,
    Reply,
    Run,
    RunKind,
    Signal,
    SignalOutcome,
    StartLog,
    StoreCount,
    StorePids,
    StoreVerdict,
    Wait,
)
from jescore.policy.agentlog import message_id
from jescore.policy.commands import (
    ConnectResult,
    DialogueResult,
    ProgramProbe,
    ProgramResult,
    judge_dialogue,
    passing_dialogue,
    passing_result,
)
from jescore.policy.declaration import Config, Declaration, Violation
from jescore.policy.monitoring import Budget, Phase
from jescore.policy.procedures import effective_config, entry_point, logging_fallbacks
from jescore.policy.processes import ProcessInfo
from jescore.policy.resource import CONTAINER_NAME, MONITOR_PROGRAM, ResourcePolicy, Snapshot
from jescore.policy.secrets import MASK, mask, secret_words
from jescore.policy.vcs import DEFAULT_TIMEOUT_SECONDS, FAILURE_EXIT, CleanReason, EntryPoint
from jescore.record import field, mutable_record, record, replace
from jescore.result import Failure, Success

MODEL_PID = 900_000_000  # pids of the processes a passing start command is assumed to start
STEP_LIMIT = 20_000  # a procedure that takes more steps than this is reported as cut short


class Outcome(enum.Enum):
    """How a command, probe or MonitorProgram ends, in the assumed world."""

    PASSES = "passes"
    FAILS = "fails"
    HANGS = "hangs"
    CANNOT_RUN = "cannot-run"


ALTERNATIVES = (Outcome.FAILS, Outcome.HANGS, Outcome.CANNOT_RUN)


class Point(enum.Enum):
    """The kinds of step whose outcome the command line may give."""

    COMMAND = "command"  # start and stop commands
    PROBE = "probe"  # second-level and readiness probes
    PROGRAM = "program"  # MonitorProgram


_POINT_OF = {
    RunKind.START: Point.COMMAND,
    RunKind.STOP: Point.COMMAND,
    RunKind.PROBE: Point.PROBE,
    RunKind.PROGRAM: Point.PROGRAM,
}


@record
class Given:
    """Outcomes given on the command line; whatever is not given is assumed to pass."""

    outcomes: Mapping[Point, Outcome] = field(default_factory=dict)
    program_exit: int | None = None  # MonitorProgram's exit code, when given as a number


NOTHING_GIVEN = Given()


@record
class Observed:
    """What the shell saw, without running anything of the resource's."""

    snapshot: Snapshot  # processes, pid files, which programs exist, identify outputs
    stored_cycle: int | None = None  # the SecondLevelMonitor count on disk, read only
    agent_zone: str | None = None  # the zone the agent runs in, where that can be told
    zones_exist: bool = False
    checked: frozenset[str] = frozenset()  # the paths whose presence was looked at
    last_verdict: str | None = None  # what the last monitor on this node answered
    cached_pids: tuple[tuple[int, float], ...] | None = None  # what it found, with start times


# --- reading the arguments -----------------------------------------------------------


@record
class Reading:
    """The argument vector as the agent reads it, before anything is observed."""

    policy: ResourcePolicy
    entry: EntryPoint
    argv: tuple[str, ...]
    parsed: vcs_argv.ParsedArgs | None
    argv_error: str | None
    violations: tuple[Violation, ...]
    cfg: Config | None
    secrets: frozenset[str]  # every word that may be a secret value, masked in all output

    @property
    def declaration(self) -> Declaration:
        return self.policy.declaration

    @property
    def container(self) -> str:
        if self.cfg is None or not self.cfg.has(CONTAINER_NAME):
            return ""
        return self.cfg[CONTAINER_NAME]

    def programs(self) -> tuple[str, ...]:
        """Every program a procedure may run, and the second level's candidates: the shell
        tells which are executable files, without running any of them."""
        cfg = self.cfg
        if cfg is None:
            return ()
        if self.violations:  # offline or clean on the identifying attributes alone
            return (self.policy.stop(cfg).argv[0],)
        deep = self.policy.deep_watch(cfg)
        found = [*deep.paths, self.policy.start(cfg).argv[0], self.policy.stop(cfg).argv[0]]
        probes = (*self.policy.second_level(cfg, Snapshot(())), *self.policy.ready_probes(cfg))
        for probe in probes:
            if isinstance(probe, ProgramProbe) and probe.argv and isinstance(probe.argv[0], str):
                found.append(probe.argv[0])
        if cfg[MONITOR_PROGRAM]:
            found.append(cfg[MONITOR_PROGRAM][0])
        return tuple(dict.fromkeys(found))


def read(policy: ResourcePolicy, entry: EntryPoint, argv: Sequence[str]) -> Reading:
    decl = policy.declaration
    tokens = tuple(argv)
    words = secret_words(decl, tokens)
    match vcs_argv.parse(decl, entry, tokens):
        case Failure(problem):
            return Reading(policy, entry, tokens, None, str(problem), (), None, words)
        case Success(parsed):
            pass
    words |= {v for name in decl.secret_names for v in parsed.values.get(name, ()) if v}
    # The configuration the entry point itself works with (procedures.effective_config):
    # a logging typo does not stop it, and offline and clean go on with the attributes
    # that identify the instance.
    raw, _ = logging_fallbacks(decl, dict(parsed.values), parsed.engine.get("LogDbg", ""))
    cfg, violations = effective_config(decl, entry, raw)
    return Reading(policy, entry, tokens, parsed, None, violations, cfg, words)


# --- the assumed world ----------------------------------------------------------------


@record
class Step:
    """One action of the procedure, when it began, and what the world answered."""

    at: float
    kind: str  # look, run, connect, converse, signal, wait, log, debug, count, watchdog...
    text: str  # the action, for people (secrets masked)
    result: str  # what came back, for people
    assumed: bool = False  # the result is an assumption, not an observation
    argv: tuple[str, ...] = ()  # run: the command line
    pid: int | None = None  # signal: the process
    signal: str | None = None  # signal: SIGTERM or SIGKILL
    seconds: float | None = None  # run, connect: the limit; wait: its length


@record
class Met:
    """An assumed outcome met on the way: the n-th one of the run."""

    index: int
    point: Point
    what: str  # the step, for people


@mutable_record
class _World:
    policy: ResourcePolicy
    cfg: Config | None
    observed: Observed
    given: Given
    overrides: Mapping[int, Outcome]
    secrets: frozenset[str]
    processes: list[ProcessInfo] = field(default_factory=list)
    now: float = 0.0
    next_pid: int = MODEL_PID
    steps: list[Step] = field(default_factory=list)
    met: list[Met] = field(default_factory=list)

    def outcome(self, kind: RunKind, program: str, what: str) -> tuple[Outcome, bool]:
        """The outcome of a step and whether it is assumed (as opposed to given or known)."""
        if program in self.observed.checked and program not in self.observed.snapshot.executables:
            return Outcome.CANNOT_RUN, False
        point = _POINT_OF[kind]
        if point in self.given.outcomes:
            return self.given.outcomes[point], False
        if point is Point.PROGRAM and self.given.program_exit is not None:
            return Outcome.PASSES, False
        index = len(self.met)
        self.met.append(Met(index, point, what))
        return self.overrides.get(index, Outcome.PASSES), True

    def look(self, action: Observe) -> Snapshot:
        seen = self.observed.snapshot
        watch = action.watch
        processes = tuple(self.processes) if watch.process_names else ()
        if watch.pids is not None:
            processes = tuple(p for p in processes if p.pid in watch.pids)
        files = {path: seen.files.get(path) for path in watch.files}
        outputs = {c: seen.outputs[c] for c in watch.identify if c in seen.outputs}
        return Snapshot(processes, files, seen.executables & set(watch.paths), outputs)

    def run(self, action: Run) -> tuple[ProgramResult, bool]:
        what = f"{action.kind.value} {' '.join(action.argv)}"
        outcome, assumed = self.outcome(action.kind, action.argv[0], what)
        if outcome is Outcome.CANNOT_RUN:
            return ProgramResult(False, None, "", "not an executable file on this node"), assumed
        if outcome is Outcome.HANGS:
            self.now += action.timeout
            return ProgramResult(True, None), assumed
        if action.kind is RunKind.PROBE:
            passing = passing_result(action.probe) if action.probe else ProgramResult(True, 0)
            return (passing if outcome is Outcome.PASSES else ProgramResult(True, 1)), assumed
        if action.kind is RunKind.PROGRAM:
            code = self.given.program_exit
            if code is None:
                code = 110 if outcome is Outcome.PASSES else 100
            return ProgramResult(True, code), assumed
        if outcome is Outcome.FAILS:
            return ProgramResult(True, 1), assumed
        if self.cfg is not None and action.kind is RunKind.START:
            self.processes += self.policy.model_processes(self.cfg, self.next_pid)
            self.next_pid += 100
        elif self.cfg is not None:
            going = {p.identity for p in self.policy.stop_targets(self.cfg, self._snapshot())}
            self.processes = [p for p in self.processes if p.identity not in going]
        return ProgramResult(True, 0), assumed

    def connect(self, action: Connect) -> tuple[ConnectResult, bool]:
        probe = action.probe
        outcome, assumed = self.outcome(
            RunKind.PROBE, "", f"{probe.what} {probe.host}:{probe.port}"
        )
        if outcome is Outcome.PASSES:
            return ConnectResult(True, tls_ok=probe.tls), assumed
        if outcome is Outcome.HANGS:
            self.now += action.timeout
            return ConnectResult(False, error=f"no answer within {action.timeout:g} s"), assumed
        if outcome is Outcome.CANNOT_RUN:
            return ConnectResult(
                False, error=f"cannot resolve {probe.host}", resolved=False
            ), assumed
        return ConnectResult(False, error="connection refused"), assumed

    def converse(self, action: Converse) -> tuple[DialogueResult, bool]:
        probe = action.probe
        outcome, assumed = self.outcome(RunKind.PROBE, "", f"{probe.what} {probe.label}")
        first = probe.phases[0]
        if outcome is Outcome.PASSES:
            return passing_dialogue(probe), assumed
        if outcome is Outcome.HANGS:
            self.now += action.timeout
            error = f"no answer within {action.timeout:g} s"
            return DialogueResult(failed_at=first, error=error, seconds=action.timeout), assumed
        if outcome is Outcome.CANNOT_RUN:
            return DialogueResult(ran=False, error=f"cannot resolve {probe.host}"), assumed
        return DialogueResult(failed_at=first, error="connection refused"), assumed

    def signal(self, action: Signal) -> SignalOutcome:
        before = len(self.processes)
        self.processes = [p for p in self.processes if p.identity != action.identity]
        return SignalOutcome.SENT if len(self.processes) < before else SignalOutcome.GONE

    def _snapshot(self) -> Snapshot:
        return Snapshot(tuple(self.processes))

    def answer(self, action: Action) -> object:
        """Perform the action in the world, record the step, return what the shell would."""
        at = self.now
        value, assumed = self.perform(action)
        step = describe(action, value, at, assumed)
        if step.kind not in {"log", "debug"}:  # the procedure masked its own lines already
            step = replace(
                step, text=mask(step.text, self.secrets), result=mask(step.result, self.secrets)
            )
        self.steps.append(step)
        return value

    def perform(self, action: Action) -> tuple[object, bool]:
        """What the world answers, and whether that answer is an assumption."""
        match action:
            case Observe():
                return self.look(action), False
            case Run():
                return self.run(action)
            case Connect():
                return self.connect(action)
            case Converse():
                return self.converse(action)
            case Signal():
                return self.signal(action), False
            case Wait(length):
                self.now += length
            case LoadCount():
                return self.observed.stored_cycle, False
            case LoadVerdict():
                return self.observed.last_verdict, False
            case LoadPids():
                return self.observed.cached_pids, False
        return None, False


def describe(action: Action, value: object, at: float, assumed: bool) -> Step:
    """One step, for people and for comparison with what the interpreter performs."""
    match action:
        case Observe():
            assert isinstance(value, Snapshot)
            return Step(at, "look", _look_text(action), _look_result(value))
        case Run(argv, _, timeout):
            assert isinstance(value, ProgramResult)
            text, result = _run_text(action), _program_result(value)
            return Step(at, "run", text, result, assumed, argv, seconds=timeout)
        case Connect(_, timeout):
            assert isinstance(value, ConnectResult)
            text, result = _connect_text(action), _connect_result(value)
            return Step(at, "connect", text, result, assumed, seconds=timeout)
        case Converse(probe, timeout):
            assert isinstance(value, DialogueResult)
            text = f"{probe.what}: speak {probe.label}, {', '.join(p.value for p in probe.phases)}"
            result = judge_dialogue(probe, value).reason
            return Step(at, "converse", f"{text} (limit {timeout:g} s)", result, assumed,
                        seconds=timeout)  # fmt: skip
        case Signal(identity, sig):
            assert isinstance(value, SignalOutcome)
            text = f"{sig.value} to pid {identity.pid} ({_program(action)})"
            return Step(at, "signal", text, value.value, pid=identity.pid, signal=sig.value)
        case Wait(length):
            return Step(at, "wait", f"wait {length:g} s", "", seconds=length)
        case Log(level, msg, text):
            return Step(at, "log", f"{level.name} {message_id(msg)} {text}", "")
        case Debug(level, text):
            return Step(at, "debug", f"DBG_{level} {text}", "")
        case LoadCount():
            return Step(at, "count", "read the SecondLevelMonitor count", str(value))
        case StoreCount(_, count):
            return Step(at, "count", f"store the count {count}", "stored")
        case ForgetCount():
            return Step(at, "count", "remove the stored count", "removed")
        case LoadPids():
            return Step(at, "cache", "read the processes the last monitor found", str(value))
        case StorePids(_, pids):
            shown = ", ".join(str(pid) for pid, _ in pids) or "none"
            return Step(at, "cache", f"keep the processes found: {shown}", "kept")
        case LoadVerdict():
            return Step(at, "verdict", "read the last verdict on this node", str(value))
        case StoreVerdict(_, state):
            return Step(at, "verdict", f"keep the verdict {state}", "kept")
        case ArmWatchdog(when, code):
            return Step(at, "watchdog", f"answer {code} at {when:.1f} s whatever runs", "")
        case StartLog(resource, level, debug):
            levels = " ".join(f"DBG_{n}" for n in sorted(debug)) or "none"
            return Step(at, "log-setup", f"log as {resource} at {level.name}, debug {levels}", "")
    raise AssertionError(f"no description for {action!r}")  # pragma: no cover


def _program(action: Signal) -> str:
    return action.identity.cmdline[0] if action.identity.cmdline else "?"


def _look_text(action: Observe) -> str:
    watch = action.watch
    parts = []
    if watch.process_names:
        parts.append("process table (" + ", ".join(sorted(watch.process_names)) + ")")
    if watch.files:
        parts.append("files " + ", ".join(watch.files))
    if watch.paths:
        parts.append(f"which of {len(watch.paths)} programs exist")
    if watch.identify:
        parts.append(
            "the client's version (" + " | ".join(" ".join(c) for c in watch.identify) + ")"
        )
    return "look at " + "; ".join(parts or ["nothing"])


def _look_result(snap: Snapshot) -> str:
    shown = [f"{p.pid} {' '.join(p.cmdline) or p.name}" for p in snap.processes]
    return "processes: " + ("; ".join(shown) if shown else "none")


def _run_text(action: Run) -> str:
    stdin = "" if action.secret is None else f", standard input: {action.secret.attribute} {MASK}"
    return f"{action.kind.value}: {' '.join(action.argv)} (limit {action.timeout:.1f} s{stdin})"


def _program_result(result: ProgramResult) -> str:
    if not result.started:
        return f"could not run: {result.error}"
    return "stopped at its limit" if result.exit_code is None else f"exit {result.exit_code}"


def _connect_text(action: Connect) -> str:
    probe = action.probe
    tls = " and complete a TLS handshake" if probe.tls else ""
    return f"{probe.what}: connect to {probe.host}:{probe.port}{tls} (limit {action.timeout:g} s)"


def _connect_result(result: ConnectResult) -> str:
    if result.connected and (result.tls_ok or not result.error):
        return "connected"
    return result.error or "no connection"


# --- running the procedure ------------------------------------------------------------


@record
class Path:
    """One run of the procedure in the assumed world."""

    steps: tuple[Step, ...]
    met: tuple[Met, ...]
    exit_code: int
    cut_short: bool = False


def walk(
    reading: Reading,
    observed: Observed,
    given: Given = NOTHING_GIVEN,
    overrides: Mapping[int, Outcome] | None = None,
) -> Path:
    """Drive the entry point's procedure once through the assumed world."""
    world = _World(
        reading.policy, reading.cfg, observed, given, overrides or {}, reading.secrets,
        list(observed.snapshot.processes),
    )  # fmt: skip
    host = Host(observed.zones_exist, observed.agent_zone)
    machine = entry_point(reading.policy, reading.entry, reading.argv, host)
    try:
        action = next(machine)
        for _ in range(STEP_LIMIT):
            value = world.answer(action)
            action = machine.send(Reply(world.now, value))
    except StopIteration as done:
        return Path(tuple(world.steps), tuple(world.met), int(done.value))
    return Path(tuple(world.steps), tuple(world.met), FAILURE_EXIT[reading.entry], True)


@record
class Alternative:
    """What the entry point answers when one assumed outcome goes otherwise."""

    met: Met
    outcome: Outcome
    exit_code: int
    ends: str  # the last line it logs


def alternatives(
    reading: Reading, observed: Observed, given: Given, path: Path
) -> tuple[Alternative, ...]:
    found = []
    for met in path.met:
        for outcome in ALTERNATIVES:
            other = walk(reading, observed, given, {met.index: outcome})
            found.append(Alternative(met, outcome, other.exit_code, _last_log(other)))
    return tuple(found)


def _last_log(path: Path) -> str:
    logs = [s.text for s in path.steps if s.kind == "log"]
    return logs[-1] if logs else ""


# --- the explanation -------------------------------------------------------------------


@record
class AttributeLine:
    name: str
    values: tuple[str, ...]  # secrets already masked
    given: bool  # False: VCS passed nothing, the type's default applies
    secret: bool


@record
class BudgetPart:
    seconds: float
    source: str
    margin: float
    usable: float
    watchdog_at: float
    phases: tuple[tuple[str, float], ...]  # (phase, seconds from the start) for this entry


@record
class ObservationPart:
    found: tuple[ProcessInfo, ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...]
    files: tuple[tuple[str, str | None], ...]  # pid files: path, content (None: unreadable)
    stop_targets: tuple[ProcessInfo, ...]
    programs: tuple[tuple[str, bool], ...]  # every program it may run: path, present
    zone: str  # ContainerName; only processes of that zone count when set
    stored_cycle: int | None


@record
class Explanation:
    type_name: str
    entry: EntryPoint
    resource: str | None
    form: str | None
    clean_reason: CleanReason | None
    argv_error: str | None
    warnings: tuple[str, ...]
    attributes: tuple[AttributeLine, ...]
    engine: tuple[tuple[str, str], ...]
    violations: tuple[Violation, ...]
    budget: BudgetPart | None
    observation: ObservationPart | None
    path: Path | None
    alternatives: tuple[Alternative, ...]
    given: Given
    secrets: frozenset[str]

    @property
    def exit_code(self) -> int | None:
        """The exit code, unless an assumed outcome would change it."""
        if self.path is None:
            return FAILURE_EXIT[self.entry]
        if any(a.exit_code != self.path.exit_code for a in self.alternatives):
            return None
        return self.path.exit_code


_PHASES_OF = {
    EntryPoint.ONLINE: (Phase.START_COMMAND,),
    EntryPoint.OFFLINE: (Phase.STOP_COMMAND, Phase.STOP_WAIT, Phase.TERM, Phase.KILL),
    EntryPoint.CLEAN: (Phase.STOP_COMMAND, Phase.STOP_WAIT, Phase.TERM, Phase.KILL),
    EntryPoint.MONITOR: (),
}


def explain(
    reading: Reading, observed: Observed | None, given: Given = NOTHING_GIVEN
) -> Explanation:
    """The whole explanation; without a configuration (or an observation) the procedure
    still runs (it logs why it refuses), but nothing observed is shown."""
    parsed = reading.parsed
    budget_part = observation = None
    world = observed if observed is not None else Observed(Snapshot(()))
    if parsed is not None and reading.cfg is not None and observed is not None:
        budget = Budget(float(parsed.aep_timeout or DEFAULT_TIMEOUT_SECONDS[reading.entry]))
        source = (
            "AEPTimeout (passed by VCS)"
            if parsed.aep_timeout
            else f"the VCS default for {reading.entry.value} (no AEPTimeout in the arguments)"
        )
        phases = tuple((p.value, budget.phase_end(p)) for p in _PHASES_OF[reading.entry])
        budget_part = BudgetPart(
            budget.seconds, source, budget.margin, budget.usable, budget.watchdog_at, phases
        )
        observation = _observation(reading, reading.cfg, observed)
    path = walk(reading, world, given)
    alts = alternatives(reading, world, given, path)
    return Explanation(
        type_name=reading.declaration.type_name,
        entry=reading.entry,
        resource=parsed.resource if parsed is not None else _resource_of(reading.argv),
        form=parsed.form.value if parsed is not None else None,
        clean_reason=parsed.clean_reason if parsed is not None else None,
        argv_error=reading.argv_error,
        warnings=parsed.warnings if parsed is not None else (),
        attributes=_attributes(reading),
        engine=tuple(sorted(parsed.engine.items())) if parsed is not None else (),
        violations=reading.violations,
        budget=budget_part,
        observation=observation,
        path=path,
        alternatives=alts,
        given=given,
        secrets=reading.secrets,
    )


def _resource_of(argv: tuple[str, ...]) -> str | None:
    return argv[0] if argv and vcs_argv.looks_like_resource(argv[0]) else None


def _attributes(reading: Reading) -> tuple[AttributeLine, ...]:
    if reading.parsed is None:
        return ()
    decl = reading.declaration
    given = reading.parsed.values
    order = list(decl.arglist_for(zones=True))
    order += [a.name for a in decl.attrs if a.name not in order]
    lines: list[AttributeLine] = []
    for name in order:
        attr = decl.attr(name)
        if attr is None:
            continue
        values = tuple(given.get(name, attr.default))
        if attr.secret:
            values = (MASK,) if any(values) else ()
        lines.append(AttributeLine(name, values, name in given, attr.secret))
    return tuple(lines)


def _observation(reading: Reading, cfg: Config, observed: Observed) -> ObservationPart:
    from jescore.policy import zones

    snap = observed.snapshot
    zone = zones.effective_zone(reading.container, observed.agent_zone, observed.zones_exist)
    if zone is not None:
        snap = Snapshot(zones.visible(snap.processes, zone), snap.files, snap.executables)
    first = reading.policy.first_level(cfg, snap)
    return ObservationPart(
        found=first.found,
        missing=first.missing,
        notes=first.notes,
        files=tuple(sorted(snap.files.items())),
        stop_targets=reading.policy.stop_targets(cfg, snap),
        programs=tuple((p, p in snap.executables) for p in reading.programs()),
        zone=reading.container,
        stored_cycle=observed.stored_cycle,
    )


# --- output ----------------------------------------------------------------------------


def as_json(expl: Explanation) -> dict[str, object]:
    """A JSON-ready dict of the explanation, secrets masked in every string."""
    data: dict[str, object] = {
        "type": expl.type_name,
        "entry": expl.entry.value,
        "resource": expl.resource,
        "arguments": {
            "form": expl.form,
            "error": expl.argv_error,
            "clean_reason": None
            if expl.clean_reason is None
            else {"code": int(expl.clean_reason), "meaning": expl.clean_reason.text},
            "warnings": list(expl.warnings),
            "attributes": [
                {"name": a.name, "values": list(a.values), "given": a.given, "secret": a.secret}
                for a in expl.attributes
            ],
            "engine": dict(expl.engine),
        },
        "validation": {
            "valid": expl.argv_error is None and not expl.violations,
            "violations": [{"attribute": v.attribute, "reason": v.reason} for v in expl.violations],
        },
        "budget": None if expl.budget is None else _budget_json(expl.budget),
        "observation": None if expl.observation is None else _observation_json(expl.observation),
        "given": {p.value: o.value for p, o in expl.given.outcomes.items()}
        | ({} if expl.given.program_exit is None else {"program": expl.given.program_exit}),
        "steps": [] if expl.path is None else [_step_json(s) for s in expl.path.steps],
        "answer": None if expl.path is None else expl.path.exit_code,
        "assumed": [] if expl.path is None else [m.what for m in expl.path.met],
        "alternatives": [
            {
                "step": a.met.what,
                "kind": a.met.point.value,
                "outcome": a.outcome.value,
                "exit_code": a.exit_code,
                "ends": a.ends,
            }
            for a in expl.alternatives
        ],
        "exit_code": expl.exit_code,
    }
    masked = _mask_json(data, expl.secrets)
    assert isinstance(masked, dict)
    return masked


def _mask_json(value: object, secrets: frozenset[str]) -> object:
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, dict):
        return {mask(str(k), secrets): _mask_json(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_json(v, secrets) for v in value]
    return value


def _step_json(step: Step) -> dict[str, object]:
    out: dict[str, object] = {
        "at": round(step.at, 3),
        "kind": step.kind,
        "text": step.text,
        "result": step.result,
        "assumed": step.assumed,
    }
    if step.argv:
        out["argv"] = list(step.argv)
    if step.pid is not None:
        out["pid"] = step.pid
        out["signal"] = step.signal
    if step.seconds is not None:
        out["seconds"] = step.seconds
    return out


def _budget_json(budget: BudgetPart) -> dict[str, object]:
    return {
        "seconds": budget.seconds,
        "source": budget.source,
        "margin": budget.margin,
        "usable": budget.usable,
        "watchdog_at": budget.watchdog_at,
        "phases": [{"phase": name, "ends_at": round(at, 3)} for name, at in budget.phases],
    }


def _process_json(proc: ProcessInfo) -> dict[str, object]:
    return {"pid": proc.pid, "name": proc.name, "cmdline": list(proc.cmdline)}


def _observation_json(obs: ObservationPart) -> dict[str, object]:
    return {
        "zone": obs.zone or None,
        "found": [_process_json(p) for p in obs.found],
        "missing": list(obs.missing),
        "notes": list(obs.notes),
        "files": [{"path": path, "content": content} for path, content in obs.files],
        "stop_targets": [_process_json(p) for p in obs.stop_targets],
        "programs": [{"path": path, "executable": present} for path, present in obs.programs],
        "stored_cycle": obs.stored_cycle,
    }


def render_text(expl: Explanation) -> str:
    """The explanation for people (an auditor signs the policy off from this)."""
    out: list[str] = []
    who = f" of resource {expl.resource}" if expl.resource else ""
    out.append(f"{expl.type_name} {expl.entry.value}{who}: what it would do now")
    out.append(
        "(explain runs no command, probe or password helper and changes nothing; "
        f"secrets show as {MASK})"
    )
    out += _text_arguments(expl)
    out += _text_validation(expl)
    if expl.budget is not None:
        out += _text_budget(expl.budget)
    if expl.observation is not None:
        out += _text_observation(expl.observation)
    out += _text_steps(expl)
    code = expl.exit_code
    out.append("")
    out.append(f"Exit code: {code}" if code is not None else "Exit code: depends, see above")
    return mask("\n".join(out) + "\n", expl.secrets)


def _heading(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


def _word(value: str) -> str:
    return value if value and not any(ch.isspace() for ch in value) else repr(value)


def _text_arguments(expl: Explanation) -> list[str]:
    out = _heading("Arguments")
    if expl.argv_error is not None:
        out.append(f"cannot be read: {expl.argv_error}")
        return out
    how = "name, count, values" if expl.form == "V50" else "positions in the ArgList"
    out.append(f"read as {expl.form} ({how})")
    if expl.clean_reason is not None:
        out.append(f"clean reason {int(expl.clean_reason)}: {expl.clean_reason.text}")
    width = max((len(a.name) for a in expl.attributes), default=10) + 2
    for attr in expl.attributes:
        shown = " ".join(_word(v) for v in attr.values) if any(attr.values) else "(empty)"
        note = "" if attr.given else "   [not passed: type default]"
        out.append(f"  {attr.name.ljust(width)}{shown}{note}")
    if expl.engine:
        out.append("  engine: " + ", ".join(f"{k}={_word(v)}" for k, v in expl.engine))
    out += [f"  ignored: {w}" for w in expl.warnings]
    return out


def _text_validation(expl: Explanation) -> list[str]:
    out = _heading("Validation")
    if expl.argv_error is not None:
        out.append("not reached: the arguments cannot be read")
    elif not expl.violations:
        out.append("valid: every attribute converts and every rule between attributes holds")
    else:
        out.append(f"{len(expl.violations)} violations:")
        out += [f"  {v}" for v in expl.violations]
    return out


def _text_budget(budget: BudgetPart) -> list[str]:
    out = _heading("Time budget")
    out.append(
        f"{budget.seconds:g} s from {budget.source}; {budget.margin:g} s kept back for "
        f"logging and exiting, {budget.usable:g} s usable; the watchdog answers at "
        f"{budget.watchdog_at:g} s whatever runs"
    )
    out += [f"  {name} {at:.1f} s" for name, at in budget.phases]
    return out


def _text_observation(obs: ObservationPart) -> list[str]:
    out = _heading("Observed now")
    if obs.zone:
        out.append(f"only processes of zone {obs.zone} count")
    out.append("first level finds: nothing" if not obs.found else "first level finds:")
    out += [f"  pid {p.pid} {p.name}: {' '.join(p.cmdline)}" for p in obs.found]
    if obs.missing:
        out.append("first level misses:")
        out += [f"  {m}" for m in obs.missing]
    out += [f"note: {n}" for n in obs.notes]
    for path, content in obs.files:
        shown = "missing or unreadable" if content is None else repr(content.strip()[:80])
        out.append(f"file {path}: {shown}")
    if obs.stop_targets:
        out.append("offline and clean would stop:")
        out += [f"  pid {p.pid} {p.name}: {' '.join(p.cmdline)}" for p in obs.stop_targets]
    else:
        out.append("offline and clean would find no process to stop")
    for path, present in obs.programs:
        out.append(f"program {path}: {'present' if present else 'not an executable file'}")
    if obs.stored_cycle is not None:
        out.append(f"stored SecondLevelMonitor count: {obs.stored_cycle}")
    return out


def _text_steps(expl: Explanation) -> list[str]:
    out = _heading("What it would do")
    path = expl.path
    if path is None:
        return out
    given = [f"{p.value} {o.value}" for p, o in expl.given.outcomes.items()]
    if expl.given.program_exit is not None:
        given.append(f"MonitorProgram exits {expl.given.program_exit}")
    out.append(
        "outcomes given: " + (", ".join(given) if given else "none")
        + "; every other command, probe and MonitorProgram is assumed to pass ([assumed])"
    )  # fmt: skip
    for line in compress([_step_line(s) for s in path.steps if s.kind != "log-setup"]):
        out.append("  " + line)
    if path.cut_short:
        out.append(f"  ... cut short after {len(path.steps)} steps")
    out.append(f"answers {path.exit_code}")
    if expl.alternatives:
        out += _heading("If an assumed outcome goes otherwise")
        for alt in expl.alternatives:
            out.append(f"if {alt.met.what} {alt.outcome.value}: answers {alt.exit_code}")
            if alt.ends:
                out.append(f"    last log line: {alt.ends}")
    return out


def _step_line(step: Step) -> str:
    result = f" -> {step.result}" if step.result else ""
    mark = " [assumed]" if step.assumed else ""
    return f"{step.at:7.2f} s  {step.kind}: {step.text}{result}{mark}"


def compress(lines: Sequence[str]) -> list[str]:
    """Fold a block of steps that repeats (a wait loop) into one line saying how often;
    the time column is left out of the comparison."""
    bodies = [_body(line) for line in lines]
    out: list[str] = []
    index = 0
    while index < len(lines):
        for size in (1, 2, 3):
            block = bodies[index : index + size]
            repeats = 1
            while bodies[index + repeats * size : index + (repeats + 1) * size] == block:
                repeats += 1
            if repeats >= 3 and len(block) == size:
                out += lines[index : index + size]
                until = lines[index + repeats * size - 1].split(" s  ", 1)[0].strip()
                out.append(
                    f"  ... the {size} steps above again {repeats - 1} times, until {until} s"
                )
                index += repeats * size
                break
        else:
            out.append(lines[index])
            index += 1
    return out


def _body(line: str) -> str:
    return line.split(" s  ", 1)[-1]
