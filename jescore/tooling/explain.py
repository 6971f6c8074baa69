"""What an entry point would decide, worked out from plain values, for people to read.

`jesagent explain` runs nothing and changes nothing. The shell reads the arguments here
(`read`), observes what the reading asks for (the same observation the engine makes, minus
the commands that identify a client), and hands that back (`explain`). Every decision is
made by the policy functions the agent itself uses, so what is shown is what would happen.

Secret attributes never appear: their values are masked in the attribute list, and every
string of the result is scrubbed of every word of the argument vector that may hold one,
even when the vector could not be read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from returns.result import Failure, Result, Success

from jescore.policy import argv as vcs_argv
from jescore.policy import sunjesldap, zones
from jescore.policy.commands import Command, Probe, ProgramProbe, TcpProbe, fill
from jescore.policy.declaration import Config, Declaration, Dimension, Raw, Violation, validate
from jescore.policy.monitoring import (
    ONLINE_POLL_SECONDS,
    READY_PROBE_SECONDS,
    STOP_POLL_SECONDS,
    Budget,
    Cycle,
    Next,
    SecondLevel,
    StopTimeline,
    Verdict,
    advance_cycle,
    cycles_until_due,
    decide,
    next_step,
    read_program_exit,
    stop_timeline,
)
from jescore.policy.processes import ProcessInfo
from jescore.policy.resource import (
    CONTAINER_NAME,
    MONITOR_PROGRAM,
    SECOND_LEVEL_MONITOR,
    FirstLevel,
    ResourcePolicy,
    Snapshot,
    Watch,
)
from jescore.policy.secrets import MASK
from jescore.policy.vcs import (
    CLEAN_FAILED,
    CLEAN_SUCCEEDED,
    DEFAULT_TIMEOUT_SECONDS,
    FAILURE_EXIT,
    NO_EXTRA_WAIT,
    CleanReason,
    EntryPoint,
)
from jescore.tooling.vcsconf import values_for
from jescore.tooling.vcsconf_model import Configuration, Resource, TypeDef

_COUNT = re.compile(r"^[0-9]{1,6}$")
_SHOWN_LIMIT = 60  # checks.shown cuts quoted values to this many characters


# --- reading the arguments -----------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """The argument vector as the agent would read it, before anything is observed."""

    policy: ResourcePolicy
    entry: EntryPoint
    argv: tuple[str, ...]
    parsed: vcs_argv.ParsedArgs | None
    argv_error: str | None
    violations: tuple[Violation, ...]
    cfg: Config | None
    secrets: frozenset[str]  # every word that may be a secret value, to scrub from output

    @property
    def declaration(self) -> Declaration:
        return self.policy.declaration

    @property
    def watch(self) -> Watch | None:
        """What to observe for the first level (None: nothing, the arguments are bad)."""
        return None if self.cfg is None else self.policy.watch(self.cfg)

    @property
    def deep_paths(self) -> tuple[str, ...]:
        """Paths the second level checks for executables. Its identify commands (such as
        `ldapsearch -VV`) are left out on purpose: explain runs nothing."""
        return () if self.cfg is None else self.policy.deep_watch(self.cfg).paths

    @property
    def paths_to_check(self) -> tuple[str, ...]:
        """Every program a decision may run, and the second level's candidates: the shell
        tells which are executable files, without running any of them."""
        cfg = self.cfg
        if cfg is None:
            return ()
        found = [*self.deep_paths, self.policy.start(cfg).argv[0], self.policy.stop(cfg).argv[0]]
        probes = (*self.policy.second_level(cfg, Snapshot(())), *self.policy.ready_probes(cfg))
        for probe in probes:
            if isinstance(probe, ProgramProbe) and probe.argv and isinstance(probe.argv[0], str):
                found.append(probe.argv[0])
        if cfg[MONITOR_PROGRAM]:
            found.append(cfg[MONITOR_PROGRAM][0])
        return tuple(dict.fromkeys(found))

    @property
    def container(self) -> str:
        if self.cfg is None or not self.cfg.has(CONTAINER_NAME):
            return ""
        return self.cfg[CONTAINER_NAME]


def read(policy: ResourcePolicy, entry: EntryPoint, argv: Sequence[str]) -> Reading:
    decl = policy.declaration
    tokens = tuple(argv)
    match vcs_argv.parse(decl, entry, tokens):
        case Failure(problem):
            words = secret_words(decl, entry, tokens)
            return Reading(policy, entry, tokens, None, str(problem), (), None, words)
        case Success(parsed):
            pass
    words = frozenset(
        value for name in decl.secret_names for value in parsed.values.get(name, ()) if value
    ) | secret_words(decl, entry, tokens)
    match validate(decl, parsed.values):
        case Failure(violations):
            return Reading(policy, entry, tokens, parsed, None, tuple(violations), None, words)
        case Success(cfg):
            return Reading(policy, entry, tokens, parsed, None, (), cfg, words)
    raise AssertionError("unreachable")  # pragma: no cover


def secret_words(decl: Declaration, entry: EntryPoint, tokens: Sequence[str]) -> frozenset[str]:
    """Words of an argument vector that may be values of secret attributes, read every way
    the vector might be meant: after a secret attribute's name (V50), and at the secret
    attributes' places in the ArgList (V40). Used only when the vector is unreadable or to
    be extra careful; more words than needed are masked, never fewer."""
    names = decl.secret_names
    found: set[str] = set()
    for index, word in enumerate(tokens):
        if word not in names or index + 1 >= len(tokens):
            continue
        after = tokens[index + 1]
        if _COUNT.match(after):
            found.update(tokens[index + 2 : index + 2 + int(after)])
        else:
            found.add(after)  # the count is missing: the value may follow the name at once
    skip = 2 if entry is EntryPoint.CLEAN else 1
    rest = tuple(tokens[skip:])
    # A vector that names attributes is meant as V50, however broken: no positional guess.
    named = any(decl.attr(word) is not None for word in rest)
    if not named and not _looks_like_v50(decl, rest):
        found.update(_v40_secrets(decl, rest))
    return frozenset(word for word in found if word)


def _looks_like_v50(decl: Declaration, rest: tuple[str, ...]) -> bool:
    return len(rest) >= 2 and decl.dimension_of(rest[0]) is not None and bool(_COUNT.match(rest[1]))


def _v40_secrets(decl: Declaration, rest: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    index = 0
    for name in decl.arglist:
        if index >= len(rest):
            break
        if decl.dimension_of(name) in {Dimension.SCALAR, None}:
            if name in decl.secret_names:
                found.add(rest[index])
            index += 1
            continue
        if not _COUNT.match(rest[index]):
            break
        index += 1 + int(rest[index])
    return found


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Mask each secret, also in the quoted and shortened forms messages show values in."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        forms.add(secret)
        forms.add(repr(secret)[1:-1])
        if len(secret) > _SHOWN_LIMIT:
            forms.add(secret[:_SHOWN_LIMIT])
            forms.add(repr(secret[:_SHOWN_LIMIT])[1:-1])
    for form in sorted((f for f in forms if f), key=len, reverse=True):
        text = text.replace(form, MASK)
    return text


# --- a resource of a main.cf, as VCS would call it ----------------------------------

_TIMEOUT_ATTR = {
    EntryPoint.ONLINE: "OnlineTimeout",
    EntryPoint.OFFLINE: "OfflineTimeout",
    EntryPoint.MONITOR: "MonitorTimeout",
    EntryPoint.CLEAN: "CleanTimeout",
}
DEFAULT_MONITOR_INTERVAL = 60  # VCS's MonitorInterval when the type does not set it


@dataclass(frozen=True)
class ConfiguredCall:
    """What VCS would pass the entry point of one resource of a configuration."""

    type_name: str
    resource: str
    group: str
    argv: tuple[str, ...]
    monitor_interval: int


def sunjes_resources(conf: Configuration, types: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """(group, resource) of every resource of one of the given types, in file order."""
    wanted = frozenset(types)
    return tuple((g.name, r.name) for g, r in conf.resources() if r.type_name in wanted)


def configured_call(
    conf: Configuration,
    decl_of: Mapping[str, Declaration],
    resource: str,
    entry: EntryPoint,
    *,
    system: str | None = None,
    reason: CleanReason | None = None,
) -> Result[ConfiguredCall, str]:
    """The V50 argument vector VCS would build for a resource of the configuration: the
    type's ArgList, values localised for `system`, and AEPTimeout when the type sets it."""
    found = [(g, r) for g, r in conf.resources() if r.name == resource]
    if not found:
        known = ", ".join(r for _, r in sunjes_resources(conf, decl_of)) or "none"
        return Failure(f"no resource {resource!r} in the configuration (SunJES ones: {known})")
    group, res = found[0]
    decl = decl_of.get(res.type_name)
    if decl is None:
        return Failure(f"{resource} is of type {res.type_name}, not one of {', '.join(decl_of)}")
    values = values_for(decl, res, system)
    typedef = conf.type_def(res.type_name)
    zoned = bool("".join(values.get("ContainerName", ())))
    arglist = typedef.arglist if typedef is not None else decl.arglist_for(zones=zoned)
    argv: list[str] = [res.name]
    if reason is not None:
        argv.append(str(int(reason)))
    for name in arglist:
        attr = decl.attr(name)
        if attr is not None:
            raw = values.get(name, _type_default(typedef, name, attr.default))
        elif name == "LogDbg":
            raw = _engine_value(res, typedef, name, ())
        else:
            continue  # State, IState and the like: the agent reads nothing from them
        argv += [name, str(len(raw)), *raw]
    if _engine_value(res, typedef, "AEPTimeout", ("0",)) == ("1",):
        default = (str(DEFAULT_TIMEOUT_SECONDS[entry]),)
        argv += ["AEPTimeout", "1", *_engine_value(res, typedef, _TIMEOUT_ATTR[entry], default)]
    interval = _engine_value(res, typedef, "MonitorInterval", (str(DEFAULT_MONITOR_INTERVAL),))
    every = int(interval[0]) if interval and _COUNT.match(interval[0]) else DEFAULT_MONITOR_INTERVAL
    return Success(ConfiguredCall(res.type_name, res.name, group.name, tuple(argv), every))


def _type_default(typedef: TypeDef | None, name: str, fallback: Raw) -> Raw:
    declared = typedef.attr(name) if typedef is not None else None
    return declared.default if declared is not None else fallback


def _engine_value(res: Resource, typedef: TypeDef | None, name: str, fallback: Raw) -> Raw:
    """A static or engine attribute: the resource's override, else the type's value."""
    if name in res.values:
        return res.values[name]
    return _type_default(typedef, name, fallback)


# --- what the shell observed ---------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    """What the shell saw, without running anything of the resource's."""

    snapshot: Snapshot  # the first level's watch, plus which deep paths are executables
    stored_cycle: int | None = None  # the SecondLevelMonitor count on disk, read only
    agent_zone: str | None = None  # the zone the agent runs in, where that can be told


# --- the explanation -----------------------------------------------------------------


@dataclass(frozen=True)
class AttributeLine:
    name: str
    values: tuple[str, ...]  # secrets already masked
    given: bool  # False: VCS passed nothing, the type's default applies
    secret: bool


@dataclass(frozen=True)
class BudgetPart:
    seconds: float
    source: str
    margin: float
    usable: float
    timeline: StopTimeline | None  # offline and clean
    command_limit: float | None  # online: the start command's share


@dataclass(frozen=True)
class ProcessLine:
    pid: int
    name: str
    cmdline: tuple[str, ...]


@dataclass(frozen=True)
class ObservationPart:
    found: tuple[ProcessLine, ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...]
    files: tuple[tuple[str, str | None], ...]  # pid files: path, content (None: unreadable)
    stop_targets: tuple[ProcessLine, ...]
    executables: tuple[tuple[str, bool], ...]  # the second level's programs: path, present
    zone: str  # ContainerName; only processes of that zone count when set


@dataclass(frozen=True)
class CommandPlan:
    argv: tuple[str, ...]
    purpose: str
    stdin_secret: str | None  # the attribute whose decrypted value goes to standard input
    ok_exit_codes: tuple[int, ...]
    limit_seconds: float
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProbePlan:
    what: str
    kind: str  # "program" or "connect"
    argv: tuple[str, ...]  # programs: with the threshold filled in
    host: str
    port: int
    tls: bool
    threshold: int | None  # seconds, if the probes before it answer at once (its most)
    hard_limit: float | None
    stdin_secret: str | None
    expect: str
    notes: tuple[str, ...] = ()
    threshold_late: int | None = None  # if every probe before it takes its whole limit
    alternatives: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (dialect, argv), LDAP only


@dataclass(frozen=True)
class Outcome:
    """One possible ending, when it depends on what running would show."""

    condition: str
    then: str
    state: str | None  # None: MonitorProgram's exit code decides
    code: int | None


@dataclass(frozen=True)
class ProgramPlan:
    argv: tuple[str, ...]
    runs: str  # when it runs this time
    limit_seconds: int | None
    readings: tuple[Outcome, ...]
    notes: tuple[str, ...] = ()
    limit_late: int | None = None  # after probes that each take their whole limit


@dataclass(frozen=True)
class MonitorPlan:
    first_level_ok: bool
    first_level_summary: str
    every: int
    stored_count: int | None
    cycle: Cycle
    until_due: int | None
    second_level: str
    probes: tuple[ProbePlan, ...]
    program: ProgramPlan | None


@dataclass(frozen=True)
class Decision:
    action: str  # what the entry point would do, in one sentence
    command: CommandPlan | None = None
    ready_probes: tuple[ProbePlan, ...] = ()
    signals: tuple[str, ...] = ()  # the TERM/KILL timeline, step by step
    monitor: MonitorPlan | None = None
    verdict: Verdict | None = None  # monitor, when decided by what is observable now
    exit_code: int | None = None  # None: it depends on the outcomes below
    outcomes: tuple[Outcome, ...] = ()


@dataclass(frozen=True)
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
    decision: Decision
    secrets: frozenset[str]


def explain(
    reading: Reading, observed: Observed | None, *, ready_probe_seconds: int = READY_PROBE_SECONDS
) -> Explanation:
    """The whole explanation; without a configuration (or an observation) only the reading
    and the refusal are shown."""
    parsed = reading.parsed
    budget_part: BudgetPart | None = None
    observation: ObservationPart | None = None
    if parsed is None or reading.cfg is None or observed is None:
        if parsed is None:
            why = "the arguments cannot be read"
        elif reading.cfg is None:
            why = "the attributes are not valid"
        else:
            why = "nothing was observed"
        decision = _refused(reading.entry, why)
    else:
        entry = reading.entry
        budget = Budget(float(parsed.aep_timeout or DEFAULT_TIMEOUT_SECONDS[entry]))
        cfg = reading.cfg
        snap = _visible(observed.snapshot, reading.container)
        first = reading.policy.first_level(cfg, snap)
        targets = reading.policy.stop_targets(cfg, snap)
        observation = _observation(reading, snap, first, targets)
        source = (
            "AEPTimeout (passed by VCS)"
            if parsed.aep_timeout
            else f"the VCS default for {entry.value} (no AEPTimeout in the arguments)"
        )
        stopping = entry in {EntryPoint.OFFLINE, EntryPoint.CLEAN}
        budget_part = BudgetPart(
            budget.seconds,
            source,
            budget.margin,
            budget.usable,
            stop_timeline(budget) if stopping else None,
            budget.usable * 0.6 if entry is EntryPoint.ONLINE else None,
        )
        ctx = _Context(reading, cfg, budget, snap, (reading.container, observed.agent_zone))
        if entry is EntryPoint.ONLINE:
            decision = _online(ctx, first, ready_probe_seconds)
        elif entry is EntryPoint.OFFLINE:
            decision = _offline(ctx, targets)
        elif entry is EntryPoint.CLEAN:
            decision = _clean(ctx, targets)
        else:
            decision = _monitor(ctx, first, observed.stored_cycle)
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
        decision=decision,
        secrets=reading.secrets,
    )


@dataclass(frozen=True)
class _Context:
    reading: Reading
    cfg: Config
    budget: Budget
    snap: Snapshot
    zone: tuple[str, str | None]  # ContainerName, the agent's own zone

    @property
    def zoned(self) -> bool:
        return zones.in_zone(("x",), *self.zone) != ("x",)

    def presence(self, program: str) -> tuple[str, ...]:
        """A note when a program the decision runs is not an executable file here."""
        if self.zoned or not program or program in self.snap.executables:
            return ()
        return (f"{program} is not an executable file on this node now",)


def _resource_of(argv: tuple[str, ...]) -> str | None:
    return argv[0] if argv and vcs_argv.looks_like_resource(argv[0]) else None


def _refused(entry: EntryPoint, why: str) -> Decision:
    doing = {
        EntryPoint.MONITOR: "answers unknown: a configuration mistake never causes a failover",
        EntryPoint.CLEAN: "reports failure and runs nothing",
        EntryPoint.ONLINE: "runs nothing",
        EntryPoint.OFFLINE: "runs nothing",
    }[entry]
    return Decision(f"{why}, so {entry.value} logs why and {doing}", exit_code=FAILURE_EXIT[entry])


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
        raw = given.get(name, attr.default)
        values = tuple(raw)
        if attr.secret:
            values = (MASK,) if any(values) else ()
        lines.append(AttributeLine(name, values, name in given, attr.secret))
    return tuple(lines)


def _visible(snap: Snapshot, container: str) -> Snapshot:
    if not container:
        return snap
    processes = zones.visible(snap.processes, container)
    return Snapshot(processes, snap.files, snap.executables, snap.outputs)


def _line(proc: ProcessInfo) -> ProcessLine:
    return ProcessLine(proc.pid, proc.name, proc.cmdline)


def _observation(
    reading: Reading, snap: Snapshot, first: FirstLevel, targets: tuple[ProcessInfo, ...]
) -> ObservationPart:
    return ObservationPart(
        found=tuple(_line(p) for p in first.found),
        missing=first.missing,
        notes=first.notes,
        files=tuple(sorted(snap.files.items())),
        stop_targets=tuple(_line(p) for p in targets),
        executables=tuple((p, p in snap.executables) for p in reading.deep_paths),
        zone=reading.container,
    )


def _command(ctx: _Context, command: Command, limit: float) -> CommandPlan:
    return CommandPlan(
        zones.in_zone(command.argv, *ctx.zone),
        command.purpose,
        command.stdin_secret,
        tuple(sorted(command.ok_exit_codes)),
        max(limit, 0.0),
        ctx.presence(command.argv[0] if command.argv else ""),
    )


def _probe(
    ctx: _Context,
    probe: Probe,
    threshold: int | None,
    hard_limit: float | None,
    late: int | None = None,
) -> ProbePlan:
    if isinstance(probe, TcpProbe):
        kind = "a completed TLS handshake" if probe.tls else "an accepted connection"
        return ProbePlan(
            probe.what, "connect", (), probe.host, probe.port, probe.tls,
            threshold, hard_limit, None, kind, (), late,
        )  # fmt: skip
    seconds = threshold if threshold is not None else 0
    argv = fill(probe.argv, seconds)
    return ProbePlan(
        probe.what, "program", zones.in_zone(argv, *ctx.zone), "", 0, False, threshold,
        hard_limit, probe.stdin_secret, probe.expect.value, _probe_notes(ctx, probe), late,
        _dialects(ctx, probe, seconds),
    )  # fmt: skip


def _dialects(
    ctx: _Context, probe: ProgramProbe, seconds: int
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The cn=monitor search in each ldapsearch dialect: which one runs is told at run time."""
    program = probe.argv[0] if probe.argv and isinstance(probe.argv[0], str) else ""
    if ctx.reading.policy is not sunjesldap.POLICY or not _identified(ctx, program):
        return ()
    return tuple(
        (
            d.value,
            zones.in_zone(fill(sunjesldap.search_argv(ctx.cfg, program, d), seconds), *ctx.zone),
        )
        for d in sunjesldap.Dialect
    )


def _identified(ctx: _Context, program: str) -> bool:
    return any(c[0] == program for c in ctx.reading.policy.deep_watch(ctx.cfg).identify)


def _probe_notes(ctx: _Context, probe: ProgramProbe) -> tuple[str, ...]:
    first = probe.argv[0] if probe.argv else ""
    program = first if isinstance(first, str) else ""
    identify = ctx.reading.policy.deep_watch(ctx.cfg).identify
    notes = [
        f"the client's dialect is decided at run time from `{' '.join(command)}`, which "
        "explain does not run; the command line in each dialect is listed"
        for command in identify
        if command[0] == program
    ]
    notes += ctx.presence(program)
    if ctx.presence(program):
        notes.append("a probe that cannot run makes the second level inconclusive: unknown (99)")
    return tuple(notes)


# --- online, offline, clean ----------------------------------------------------------


def _online(ctx: _Context, first: FirstLevel, ready_seconds: int) -> Decision:
    if first.ok:
        return Decision(
            "every process already runs, so online starts nothing (it still resets the "
            "SecondLevelMonitor count)",
            exit_code=NO_EXTRA_WAIT,
        )
    budget = ctx.budget
    command = _command(ctx, ctx.reading.policy.start(ctx.cfg), budget.usable * 0.6)
    ready = tuple(
        _probe(ctx, p, ready_seconds, float(ready_seconds))
        for p in ctx.reading.policy.ready_probes(ctx.cfg)
    )
    waits = "every process of the first level appears"
    if ready:
        waits += " and each readiness probe passes"
    action = (
        "online resets the SecondLevelMonitor count, runs the start command, then looks "
        f"again every {ONLINE_POLL_SECONDS:g} s until {waits}, at most until "
        f"{budget.seconds - budget.margin:.0f} s; it exits 0 either way and logs whether "
        "the resource came online"
    )
    return Decision(action, command=command, ready_probes=ready, exit_code=NO_EXTRA_WAIT)


def _signal_steps(timeline: StopTimeline) -> tuple[str, ...]:
    return (
        f"0 s: the stop command runs, for at most {timeline.command_timeout:.1f} s",
        f"until {timeline.wait_until:.1f} s: look again every {STOP_POLL_SECONDS:g} s "
        "for the resource's processes",
        f"{timeline.wait_until:.1f} s: SIGTERM to each process still there, once, after "
        "checking its pid, start time and command line again",
        f"{timeline.term_until:.1f} s: SIGKILL to each process still there (same check), "
        f"repeated until {timeline.kill_until:.1f} s",
    )


def _offline(ctx: _Context, targets: tuple[ProcessInfo, ...]) -> Decision:
    if not targets:
        return Decision(
            "no process of this resource runs, so offline stops nothing",
            exit_code=NO_EXTRA_WAIT,
        )
    timeline = stop_timeline(ctx.budget)
    command = _command(ctx, ctx.reading.policy.stop(ctx.cfg), timeline.command_timeout)
    return Decision(
        f"offline runs the stop command and waits for the {_count(len(targets), 'process')} "
        "listed above to go, signalling what remains; it exits 0 either way",
        command=command,
        signals=_signal_steps(timeline),
        exit_code=NO_EXTRA_WAIT,
    )


def _clean(ctx: _Context, targets: tuple[ProcessInfo, ...]) -> Decision:
    timeline = stop_timeline(ctx.budget)
    command = _command(ctx, ctx.reading.policy.stop(ctx.cfg), timeline.command_timeout)
    running = f"{_count(len(targets), 'process')} running now" if targets else "none runs now"
    outcomes = (
        Outcome("no process of the resource is left", "clean succeeded", None, CLEAN_SUCCEEDED),
        Outcome("any process survives the timeline", "clean failed", None, CLEAN_FAILED),
    )
    return Decision(
        f"clean always runs the stop command, then signals what remains ({running})",
        command=command,
        signals=_signal_steps(timeline),
        exit_code=None if targets else CLEAN_SUCCEEDED,
        outcomes=outcomes if targets else (),
    )


# --- monitor -------------------------------------------------------------------------


def program_readings() -> tuple[Outcome, ...]:
    """How MonitorProgram's exit code is read, taken from monitoring.read_program_exit."""
    rows: tuple[tuple[str, int | None], ...] = (
        ("it exits 0 or 110", 110),
        ("it exits 1 or 100", 100),
        ("it exits 101 to 109", None),
        ("it exits with any other code", 2),
        ("it does not exit within its limit", -1),
    )
    out: list[Outcome] = []
    for condition, sample in rows:
        if sample is None:
            low, high = read_program_exit(101), read_program_exit(109)
            then = f"report {low.state.value} with 10-90 % confidence ({low.code}-{high.code})"
            out.append(Outcome(condition, then, low.state.value, None))
            continue
        verdict = read_program_exit(None if sample < 0 else sample)
        out.append(
            Outcome(condition, f"report {verdict.state.value}", verdict.state.value, verdict.code)
        )
    return tuple(out)


def _monitor(ctx: _Context, first: FirstLevel, stored: int | None) -> Decision:
    cfg, budget = ctx.cfg, ctx.budget
    every = cfg[SECOND_LEVEL_MONITOR]
    cycle = advance_cycle(stored, every)
    until = cycles_until_due(stored, every)
    program = cfg[MONITOR_PROGRAM]
    probes = ctx.reading.policy.second_level(cfg, ctx.snap)
    plans: list[ProbePlan] = []
    spent = 0.0  # time the probes before this one take if each uses its whole limit
    for index, probe in enumerate(probes):
        steps_left = len(probes) - index + (1 if program else 0)
        # The engine shares out the time left when each probe's turn comes.
        seconds = budget.step_timeout(budget.seconds, steps_left)
        late = budget.step_timeout(budget.seconds - spent, steps_left)
        hard = None
        if seconds is not None and isinstance(probe, ProgramProbe):
            hard = min(seconds + 1.0, budget.seconds - budget.margin / 2)
        plans.append(_probe(ctx, probe, seconds, hard, late))
        if late is not None:
            extra = 1.0 if isinstance(probe, ProgramProbe) else 0.0
            spent += min(late + extra, max(budget.seconds - spent - budget.margin / 2, 0.0))
    if every <= 0:
        second_state = "off (SecondLevelMonitor is 0)"
    elif not cycle.due:
        second_state = f"not due this cycle; it runs on the monitor call {until} from now"
    elif not first.ok:
        second_state = "due this cycle, but skipped: the first level found something missing"
    else:
        second_state = "would run this cycle"
    program_plan = None
    if program:
        after = spent if first.ok and cycle.due else 0.0
        program_plan = ProgramPlan(
            zones.in_zone(program, *ctx.zone),
            _program_runs(first.ok, cycle.due),
            budget.step_timeout(budget.seconds, 1),
            program_readings(),
            ctx.presence(program[0]),
            budget.step_timeout(budget.seconds - after, 1),
        )
    plan = MonitorPlan(
        first.ok, first.summary, every, stored, cycle, until,
        second_state, tuple(plans), program_plan,
    )  # fmt: skip
    if first.ok and cycle.due:
        return Decision(
            "the first level finds every process; the second level would run now (it is "
            "not run here) and its probes decide",
            monitor=plan,
            outcomes=_second_level_outcomes(first, bool(program)),
        )
    second = SecondLevel.NOT_DUE
    if next_step(first.ok, second) is Next.PROGRAM_OR_ONLINE and program:
        return Decision(
            "the first level finds every process and the second level does not run this "
            "cycle, so MonitorProgram's exit code decides",
            monitor=plan,
            outcomes=tuple(
                Outcome(f"MonitorProgram: {r.condition}", r.then, r.state, r.code)
                for r in program_readings()
            ),
        )
    verdict = decide(first.ok, first.summary, second, "second level not due", None)
    return Decision(
        f"monitor answers {verdict.state.value} ({verdict.code})",
        monitor=plan,
        verdict=verdict,
        exit_code=verdict.code,
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}es"


def _program_runs(first_ok: bool, due: bool) -> str:
    if not first_ok:
        return "no: the first level already says offline"
    if due:
        return "only if the second level passes"
    return "yes"


def _second_level_outcomes(first: FirstLevel, has_program: bool) -> tuple[Outcome, ...]:
    rows = (
        (SecondLevel.PASSED, "every probe passes"),
        (SecondLevel.FAILED, "a probe fails (refused, wrong answer, or no answer in time)"),
        (SecondLevel.INCONCLUSIVE, "a probe cannot run or cannot be judged"),
    )
    out: list[Outcome] = []
    for second, condition in rows:
        step = next_step(first.ok, second)
        if step is Next.PROGRAM_OR_ONLINE and has_program:
            out.append(Outcome(condition, "MonitorProgram's exit code decides", None, None))
            continue
        verdict = decide(first.ok, first.summary, second, condition, None)
        out.append(Outcome(condition, step.value, verdict.state.value, verdict.code))
    return tuple(out)


# --- output --------------------------------------------------------------------------


def as_json(expl: Explanation) -> dict[str, object]:
    """A JSON-ready dict of the explanation, secrets scrubbed from every string."""
    budget = expl.budget
    obs = expl.observation
    dec = expl.decision
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
        "budget": None if budget is None else _budget_json(budget),
        "observation": None if obs is None else _observation_json(obs),
        "decision": {
            "action": dec.action,
            "command": None if dec.command is None else _command_json(dec.command),
            "ready_probes": [_probe_json(p) for p in dec.ready_probes],
            "signals": list(dec.signals),
            "monitor": None if dec.monitor is None else _monitor_json(dec.monitor),
            "verdict": None
            if dec.verdict is None
            else {
                "state": dec.verdict.state.value,
                "code": dec.verdict.code,
                "reason": dec.verdict.reason,
            },
            "outcomes": [_outcome_json(o) for o in dec.outcomes],
        },
        "exit_code": dec.exit_code,
    }
    scrubbed = _scrub_json(data, expl.secrets)
    assert isinstance(scrubbed, dict)
    return scrubbed


def _scrub_json(value: object, secrets: frozenset[str]) -> object:
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {scrub(str(k), secrets): _scrub_json(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_json(v, secrets) for v in value]
    return value


def _budget_json(budget: BudgetPart) -> dict[str, object]:
    timeline = budget.timeline
    return {
        "seconds": budget.seconds,
        "source": budget.source,
        "margin": budget.margin,
        "usable": budget.usable,
        "start_command_limit": budget.command_limit,
        "stop_timeline": None
        if timeline is None
        else {
            "command_timeout": timeline.command_timeout,
            "wait_until": timeline.wait_until,
            "term_until": timeline.term_until,
            "kill_until": timeline.kill_until,
        },
    }


def _process_json(proc: ProcessLine) -> dict[str, object]:
    return {"pid": proc.pid, "name": proc.name, "cmdline": list(proc.cmdline)}


def _observation_json(obs: ObservationPart) -> dict[str, object]:
    return {
        "zone": obs.zone or None,
        "found": [_process_json(p) for p in obs.found],
        "missing": list(obs.missing),
        "notes": list(obs.notes),
        "files": [{"path": path, "content": content} for path, content in obs.files],
        "stop_targets": [_process_json(p) for p in obs.stop_targets],
        "second_level_programs": [
            {"path": path, "executable": present} for path, present in obs.executables
        ],
    }


def _command_json(command: CommandPlan) -> dict[str, object]:
    return {
        "argv": list(command.argv),
        "purpose": command.purpose,
        "stdin": None if command.stdin_secret is None else f"{command.stdin_secret} ({MASK})",
        "ok_exit_codes": list(command.ok_exit_codes),
        "limit_seconds": command.limit_seconds,
        "notes": list(command.notes),
    }


def _probe_json(probe: ProbePlan) -> dict[str, object]:
    return {
        "what": probe.what,
        "kind": probe.kind,
        "argv": list(probe.argv) if probe.kind == "program" else None,
        "host": probe.host or None,
        "port": probe.port or None,
        "tls": probe.tls,
        "threshold": probe.threshold,
        "threshold_if_earlier_probes_take_their_limit": probe.threshold_late,
        "hard_limit": probe.hard_limit,
        "stdin": None if probe.stdin_secret is None else f"{probe.stdin_secret} ({MASK})",
        "expect": probe.expect,
        "notes": list(probe.notes),
        "dialects": [{"dialect": d, "argv": list(a)} for d, a in probe.alternatives],
    }


def _outcome_json(outcome: Outcome) -> dict[str, object]:
    return {
        "if": outcome.condition,
        "then": outcome.then,
        "state": outcome.state,
        "code": outcome.code,
    }


def _monitor_json(plan: MonitorPlan) -> dict[str, object]:
    program = plan.program
    return {
        "first_level": {"ok": plan.first_level_ok, "summary": plan.first_level_summary},
        "cycle": {
            "every": plan.every,
            "stored": plan.stored_count,
            "position": plan.cycle.position,
            "due": plan.cycle.due,
            "would_store": plan.cycle.to_store,
            "calls_until_due": plan.until_due,
        },
        "second_level": {
            "state": plan.second_level,
            "probes": [_probe_json(p) for p in plan.probes],
        },
        "monitor_program": None
        if program is None
        else {
            "argv": list(program.argv),
            "runs": program.runs,
            "limit_seconds": program.limit_seconds,
            "limit_if_probes_take_their_limit": program.limit_late,
            "exit_codes": [_outcome_json(o) for o in program.readings],
            "notes": list(program.notes),
        },
    }


def render_text(expl: Explanation) -> str:
    """The explanation for people (an auditor signs the policy off from this)."""
    out: list[str] = []
    who = f" of resource {expl.resource}" if expl.resource else ""
    out.append(f"{expl.type_name} {expl.entry.value}{who}: what it would do now")
    out.append("(explain runs nothing and changes nothing; secrets show as " + MASK + ")")
    out += _text_arguments(expl)
    out += _text_validation(expl)
    if expl.budget is not None:
        out += _text_budget(expl.budget, expl.entry)
    if expl.observation is not None:
        out += _text_observation(expl.observation)
    out += _text_decision(expl.decision)
    code = expl.decision.exit_code
    out.append("")
    out.append(f"Exit code: {code}" if code is not None else "Exit code: depends, see above")
    return scrub("\n".join(out) + "\n", expl.secrets)


def _heading(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


def _text_arguments(expl: Explanation) -> list[str]:
    out = _heading("Arguments")
    if expl.argv_error is not None:
        out.append(f"cannot be read: {expl.argv_error}")
        return out
    out.append(
        f"read as {expl.form} ("
        + ("name, count, values" if expl.form == "V50" else "positions in the ArgList")
        + ")"
    )
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


def _word(value: str) -> str:
    return value if value and not any(ch.isspace() for ch in value) else repr(value)


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


def _text_budget(budget: BudgetPart, entry: EntryPoint) -> list[str]:
    out = _heading("Time budget")
    out.append(
        f"{budget.seconds:g} s from {budget.source}; {budget.margin:g} s kept back for "
        f"logging and exiting, {budget.usable:g} s usable"
    )
    if budget.command_limit is not None:
        out.append(f"the start command may take {budget.command_limit:.1f} s (60 % of usable)")
    if budget.timeline is not None:
        t = budget.timeline
        out.append(
            f"stop command until {t.command_timeout:.1f} s, waiting until {t.wait_until:.1f} s, "
            f"TERM until {t.term_until:.1f} s, KILL until {t.kill_until:.1f} s"
        )
    if entry is EntryPoint.MONITOR:
        out.append("each probe gets a share of the time left when its turn comes (see each probe)")
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
    for path, present in obs.executables:
        out.append(f"second-level program {path}: {'present' if present else 'not there'}")
    return out


def _text_command(command: CommandPlan) -> list[str]:
    out = [f"command ({command.purpose}):", f"  {' '.join(_word(w) for w in command.argv)}"]
    if command.stdin_secret is not None:
        out.append(f"  standard input: the decrypted {command.stdin_secret} ({MASK})")
    codes = ", ".join(str(c) for c in command.ok_exit_codes)
    out.append(f"  limit {command.limit_seconds:.1f} s; success is exit {codes}")
    out += [f"  note: {n}" for n in command.notes]
    return out


def _text_probe(probe: ProbePlan) -> list[str]:
    late = ""
    if probe.threshold_late != probe.threshold:
        shown = "none" if probe.threshold_late is None else f"{probe.threshold_late} s"
        late = f"; {shown} if each probe before it takes its whole limit"
    if probe.kind == "connect":
        limit = "no time left" if probe.threshold is None else f"{probe.threshold} s{late}"
        out = [
            f"- {probe.what}: connect to {probe.host}:{probe.port} ({limit}), expect {probe.expect}"
        ]
    else:
        threshold = (
            "no time left: it would not run"
            if probe.threshold is None
            else f"threshold {probe.threshold} s, stopped at {probe.hard_limit:.1f} s{late}"
        )
        out = [f"- {probe.what} ({threshold}), expect {probe.expect}:"]
        out.append(f"    {' '.join(_word(w) for w in probe.argv)}")
        if probe.stdin_secret is not None:
            out.append(f"    standard input: the decrypted {probe.stdin_secret} ({MASK})")
    out += [f"    note: {n}" for n in probe.notes]
    for dialect, argv in probe.alternatives:
        out.append(f"    in the {dialect} dialect: {' '.join(_word(w) for w in argv)}")
    return out


def _text_outcome(outcome: Outcome) -> str:
    code = "" if outcome.code is None else f" ({outcome.code})"
    return f"  if {outcome.condition}: {outcome.then}{code}"


def _text_decision(dec: Decision) -> list[str]:
    out = _heading("Decision")
    out.append(dec.action)
    if dec.command is not None:
        out += _text_command(dec.command)
    if dec.ready_probes:
        out.append("readiness probes, once the processes run:")
        for probe in dec.ready_probes:
            out += _text_probe(probe)
    if dec.signals:
        out.append("timeline:")
        out += [f"  {s}" for s in dec.signals]
    if dec.monitor is not None:
        out += _text_monitor(dec.monitor)
    if dec.verdict is not None:
        out.append(f"verdict: {dec.verdict.state.value} ({dec.verdict.code}): {dec.verdict.reason}")
    if dec.outcomes:
        out.append("outcomes:")
        out += [_text_outcome(o) for o in dec.outcomes]
    return out


def _text_monitor(plan: MonitorPlan) -> list[str]:
    out = [f"first level: {'ok' if plan.first_level_ok else 'not ok'}: {plan.first_level_summary}"]
    if plan.every > 0:
        stored = (
            "none (the count starts again)" if plan.stored_count is None else str(plan.stored_count)
        )
        out.append(
            f"cycle: SecondLevelMonitor {plan.every}, stored count {stored}; this call would be "
            f"{plan.cycle.position} of {plan.every} and store {plan.cycle.to_store}"
        )
    out.append(f"second level: {plan.second_level}")
    if plan.probes:
        out.append("its probes, with the thresholds they would get now:")
    for probe in plan.probes:
        out += _text_probe(probe)
    if plan.program is not None:
        program = plan.program
        limit = "no time left" if program.limit_seconds is None else f"{program.limit_seconds} s"
        if program.limit_late != program.limit_seconds:
            shown = "none" if program.limit_late is None else f"{program.limit_late} s"
            limit += f", {shown} after probes that take their whole limit"
        out.append(f"MonitorProgram ({limit}; runs: {program.runs}):")
        out.append(f"  {' '.join(_word(w) for w in program.argv)}")
        out += [f"  note: {n}" for n in program.notes]
        if program.runs != "yes":  # when it runs for sure, the outcomes below say the same
            out.append("  its exit code is read as:")
            out += [f"  {_text_outcome(o)}" for o in program.readings]
    else:
        out.append("MonitorProgram: not set")
    return out
