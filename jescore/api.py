"""The public API for embedders: other Python tools that use the agents' decision logic.

Attributes are given as a plain mapping, as main.cf would set them: each attribute name
maps to a string (a scalar), a list of strings (a vector) or, for an association such as
MsgServices, a dict of string to string. Processes are given as ``(pid, name, argv)``
tuples or as the core's own ProcessInfo. Everything here is pure: nothing is run, looked
at or logged; ``monitor`` drives the agent's real monitor procedure against the world it
is given, with a virtual clock.

Names promised to embedders:

- ``validate``: every violation of an attribute set, as "Attribute: reason";
- ``start_command`` and ``stop_command``: what online and offline would run;
- ``second_level_due`` and ``read_monitor_program_exit``: two monitor rules on their own;
- ``monitor``: the monitor verdict (``MonitorResult``), or the probes it still needs,
  answered with ``probe_results`` (``ProbeResult`` values);
- ``InvalidAttributes``: what the functions that need a valid attribute set raise;
- for driving an entry point's procedure by hand: ``entry_point``, ``EntryPoint``,
  ``Reply``, ``Host``, the action classes, the results they expect, ``policy_for`` and
  ``argument_vector``.

See docs/api.md.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Generator, Iterable, Mapping, Sequence

from jescore.policy import argv as vcs_argv
from jescore.policy import monitoring
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
    MachineMisuse,
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
from jescore.policy.agentlog import Msg
from jescore.policy.checks import shown
from jescore.policy.commands import (
    ConnectResult,
    DialogueResult,
    ProgramResult,
    passing_dialogue,
    passing_result,
)
from jescore.policy.declaration import Config, Declaration, Dimension, Raw
from jescore.policy.declaration import validate as validate_raw
from jescore.policy.procedures import effective_config, entry_point, logging_fallbacks
from jescore.policy.processes import ProcessInfo
from jescore.policy.registry import POLICIES
from jescore.policy.resource import ResourcePolicy, Snapshot
from jescore.policy.vcs import CleanReason, EntryPoint, MonitorCode
from jescore.record import field, mutable_record, record, replace
from jescore.result import Failure, Success

# The type of a procedure (entry_point's value). jescore.policy.actions has the same
# alias for annotations only: the entry points must not import collections.abc for it.
Machine = Generator[Action, Reply, int]

__all__ = [
    "TYPE_NAMES",
    "Action",
    "ArmWatchdog",
    "AttributeValue",
    "Connect",
    "ConnectResult",
    "Converse",
    "Debug",
    "DialogueResult",
    "EntryPoint",
    "ForgetCount",
    "Host",
    "InvalidAttributes",
    "LoadCount",
    "LoadPids",
    "LoadVerdict",
    "Log",
    "Machine",
    "MachineMisuse",
    "MonitorResult",
    "Observe",
    "Outcome",
    "ProbeResult",
    "ProcessInfo",
    "ProcessLike",
    "ProgramResult",
    "Reply",
    "Run",
    "RunKind",
    "Signal",
    "SignalOutcome",
    "Snapshot",
    "StartLog",
    "StoreCount",
    "StorePids",
    "StoreVerdict",
    "Wait",
    "argument_vector",
    "entry_point",
    "monitor",
    "passing_result",
    "policy_for",
    "read_monitor_program_exit",
    "second_level_due",
    "start_command",
    "stop_command",
    "validate",
]

TYPE_NAMES: tuple[str, ...] = tuple(POLICIES)
"""The resource types of this suite, by their VCS type name."""

AttributeValue = str | Sequence[str] | Mapping[str, str]
"""One attribute's value: a string (scalar), a list of strings (vector), or a dict of
string to string (association; a list of keys and values interleaved is read too)."""

ProcessLike = ProcessInfo | tuple[int, str, Sequence[str]]
"""A process: the core's ProcessInfo, or ``(pid, name, argv)`` (its create_time is 0.0)."""

_RESOURCE = "embedded"  # the resource name the procedures log under
_STEP_LIMIT = 10_000  # a monitor cycle takes a few dozen steps; more means a loop


class InvalidAttributes(ValueError):
    """An attribute set (or the type name) is not valid: every violation is listed, in the
    message and as ``violations``, each as "Attribute: reason"."""

    def __init__(self, type_name: str, violations: Sequence[str]) -> None:
        self.type_name = type_name
        self.violations: tuple[str, ...] = tuple(violations)
        listed = "; ".join(self.violations)
        super().__init__(f"invalid attributes for {shown(type_name)}: {listed}")

    def __reduce__(self) -> tuple[type[InvalidAttributes], tuple[str, tuple[str, ...]]]:
        return type(self), (self.type_name, self.violations)


# --- attributes ------------------------------------------------------------------------


def policy_for(type_name: str) -> ResourcePolicy:
    """The core's policy of a resource type, for ``entry_point``; InvalidAttributes when
    the type is not one of TYPE_NAMES."""
    found = POLICIES.get(type_name) if isinstance(type_name, str) else None
    if found is None:
        raise InvalidAttributes(str(type_name), _unknown_type(type_name))
    return found


def _unknown_type(type_name: object) -> list[str]:
    name = type_name if isinstance(type_name, str) else repr(type_name)
    known = ", ".join(TYPE_NAMES)
    return [f"Type: {shown(name)} is not a resource type of this suite ({known})"]


def _label(name: object) -> str:
    if isinstance(name, str) and name.isidentifier():
        return name
    return shown(name) if isinstance(name, str) else repr(name)


def _strings(value: object) -> tuple[str, ...] | None:
    """A list or tuple of strings as a tuple, else None."""
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def _raw_value(dimension: Dimension, value: object) -> Raw | str:
    """One attribute's value as the core's Raw, or why it has the wrong shape."""
    if dimension is Dimension.SCALAR:
        if isinstance(value, str):
            return (value,)
        return f"takes one value: give a string, not {type(value).__name__}"
    if dimension is Dimension.ASSOCIATION and isinstance(value, Mapping):
        pairs: list[str] = []
        for key, item in value.items():
            if not isinstance(key, str) or not isinstance(item, str):
                return "is an association: its keys and values must be strings"
            pairs += [key, item]
        return tuple(pairs)
    listed = _strings(value)
    if listed is not None:
        return listed
    if dimension is Dimension.ASSOCIATION:
        return "is an association: give a dict of strings to strings"
    return "is a vector: give a list of strings"


def _read(
    decl: Declaration, attributes: Mapping[str, AttributeValue]
) -> tuple[dict[str, Raw], list[str], set[str]]:
    """The attributes as the core's Raw values, the shape violations, and the names that
    were given but could not be read."""
    raw: dict[str, Raw] = {}
    problems: list[str] = []
    unread: set[str] = set()
    if not isinstance(attributes, Mapping):
        return raw, [f"attributes: give a mapping, not {type(attributes).__name__}"], unread
    for name, value in attributes.items():
        attr = decl.attr(name) if isinstance(name, str) else None
        if attr is None:
            problems.append(f"{_label(name)}: is not an attribute of {decl.type_name}")
            continue
        converted = _raw_value(attr.dimension, value)
        if isinstance(converted, str):
            problems.append(f"{attr.name}: {converted}")
            unread.add(attr.name)
        else:
            raw[attr.name] = converted
    return raw, problems, unread


@record
class _Checked:
    """An attribute set as read and validated: its Raw values, and its Config when valid."""

    policy: ResourcePolicy | None
    raw: Mapping[str, Raw]
    cfg: Config | None
    violations: tuple[str, ...]


def _check(type_name: str, attributes: Mapping[str, AttributeValue]) -> _Checked:
    policy = POLICIES.get(type_name) if isinstance(type_name, str) else None
    if policy is None:
        return _Checked(None, {}, None, tuple(_unknown_type(type_name)))
    decl = policy.declaration
    raw, problems, unread = _read(decl, attributes)
    match validate_raw(decl, raw):
        case Success(cfg):
            return _Checked(policy, raw, None if problems else cfg, tuple(problems))
        case Failure(found):
            problems += [str(v) for v in found if v.attribute not in unread]
    return _Checked(policy, raw, None, tuple(problems))


def _valid(
    type_name: str,
    attributes: Mapping[str, AttributeValue],
    entry: EntryPoint = EntryPoint.MONITOR,
) -> tuple[ResourcePolicy, Mapping[str, Raw], Config]:
    """The configuration the agent's entry point itself would work with: a logging typo
    falls back to its default, and offline and clean need only the identifying attributes
    (procedures.effective_config). Anything it would refuse raises InvalidAttributes."""
    checked = _check(type_name, attributes)
    if checked.policy is None:
        raise InvalidAttributes(str(type_name), checked.violations)
    decl = checked.policy.declaration
    _, unreadable, _ = _read(decl, attributes)  # unknown names, wrong shapes
    raw, _ = logging_fallbacks(decl, dict(checked.raw), "")
    cfg, _ = effective_config(decl, entry, raw)
    if cfg is None or unreadable:
        raise InvalidAttributes(str(type_name), checked.violations)
    return checked.policy, checked.raw, cfg


def validate(type_name: str, attributes: Mapping[str, AttributeValue]) -> list[str]:
    """Every violation of an attribute set, as "Attribute: reason"; empty when it is valid.

    Attributes not given take the type's default, as in main.cf. A name the type does not
    declare, a value of the wrong shape and an unknown type name are violations too; this
    never raises."""
    return list(_check(type_name, attributes).violations)


def start_command(type_name: str, attributes: Mapping[str, AttributeValue]) -> list[str]:
    """The argument vector online would run to start the resource (SunJESMsg:
    ``<ServerRoot>/lib/msstart`` and the services). Where ContainerName is set and the
    agent runs in the global zone, online runs it through zlogin. Raises
    InvalidAttributes."""
    policy, _, cfg = _valid(type_name, attributes, EntryPoint.ONLINE)
    return list(policy.start(cfg).argv)


def stop_command(type_name: str, attributes: Mapping[str, AttributeValue]) -> list[str]:
    """The argument vector offline and clean run first to stop the resource (SunJESMsg:
    ``<ServerRoot>/lib/msstart -k`` and the services). Raises InvalidAttributes."""
    policy, _, cfg = _valid(type_name, attributes, EntryPoint.OFFLINE)
    return list(policy.stop(cfg).argv)


def argument_vector(
    type_name: str,
    attributes: Mapping[str, AttributeValue],
    *,
    resource: str = _RESOURCE,
    clean_reason: int | None = None,
) -> tuple[str, ...]:
    """The arguments VCS (Script50Agent) would pass an entry point of this resource, for
    ``entry_point``: the resource name, the clean reason (0-5, clean only) and the ArgList
    as name, count, values. Raises InvalidAttributes, and ValueError for a resource name
    VCS would not accept or a clean reason outside 0-5."""
    policy, raw, _ = _valid(type_name, attributes)
    if not vcs_argv.looks_like_resource(resource):
        raise ValueError(f"resource name {shown(resource)} is not a VCS resource name")
    reason = None if clean_reason is None else CleanReason(clean_reason)
    decl = policy.declaration
    argv = list(vcs_argv.render_v50(decl, resource, raw, reason=reason))
    for attr in decl.attrs:  # the zone-only attributes follow the ArgList of zone types
        if attr.zone_only and attr.name in raw:
            argv += [attr.name, str(len(raw[attr.name])), *raw[attr.name]]
    return tuple(argv)


# --- monitor rules ------------------------------------------------------------------------


def second_level_due(stored_count: int | None, every: int) -> tuple[bool, int]:
    """Whether this monitor cycle runs the second level (SecondLevelMonitor = ``every``),
    and the count to store for the next cycle. A missing or out-of-range stored count
    restarts the count; ``every`` 0 never runs it."""
    cycle = monitoring.advance_cycle(stored_count, every)
    return cycle.due, cycle.to_store


def read_monitor_program_exit(code: int) -> str:
    """What MonitorProgram's exit code says, as the original guide reads it: "online"
    (110, 0), "offline" (100, 1) or "unknown" (anything else, 101-109 included)."""
    return monitoring.read_program_exit(code).state.value


# --- monitor ------------------------------------------------------------------------------


class Outcome(enum.Enum):
    """How a probe or MonitorProgram ended, in a ProbeResult."""

    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed out"
    COULD_NOT_RUN = "could not run"


@record
class ProbeResult:
    """What happened when a probe (by its ``what``) or MonitorProgram ran.

    A program probe that passed answers as a healthy server's would; one that failed exits
    ``exit_code`` (1 when not given or 0); a port check that failed was refused, and one
    that could not run could not resolve its host name (which says nothing of the server).
    MonitorProgram exits ``exit_code``, by default 110 when passed and 100 when failed.
    One that timed out took its whole limit of the virtual clock."""

    outcome: Outcome
    exit_code: int | None = None
    error: str = ""  # why it failed or could not run, for the log

    def __post_init__(self) -> None:
        if not isinstance(self.outcome, Outcome):
            raise TypeError(f"outcome must be an Outcome, not {type(self.outcome).__name__}")
        if self.exit_code is not None and self.outcome in {
            Outcome.TIMED_OUT,
            Outcome.COULD_NOT_RUN,
        }:
            raise ValueError(f"a probe that {self.outcome.value} has no exit code")


@record
class MonitorResult:
    """What one monitor cycle answered, or what it still needs to answer.

    ``exit_code`` is the code VCS reads (110 online, 100 offline, 99 unknown), or
    None while a probe's or MonitorProgram's result is missing: ``pending`` names it and
    ``reason`` says so. ``probes`` lists what ran or would run next, in order."""

    exit_code: int | None
    reason: str  # the verdict's reason, or why it is still pending
    probes: tuple[str, ...]  # the what of every probe (and MonitorProgram) run or pending
    state: str | None  # "online", "offline" or "unknown" once decided
    second_level_ran: bool  # the second level began this cycle
    stored_count: int | None  # the count it asked to store for the next cycle
    pending: str | None = None  # the probe (or "MonitorProgram") whose result is missing
    log: tuple[str, ...] = ()  # the agent's log lines, "LEVEL text", secrets masked


_MONITOR_PROGRAM = "MonitorProgram"
_VERDICT = re.compile(r"(online|offline|unknown) \([0-9]+\): (.*)", re.DOTALL)


def _process(proc: ProcessLike) -> ProcessInfo:
    if isinstance(proc, ProcessInfo):
        return proc
    if isinstance(proc, tuple) and len(proc) == 3:
        pid, name, argv = proc
        words = _strings(argv)
        if isinstance(pid, int) and isinstance(name, str) and words is not None:
            return ProcessInfo(pid, name, words, 0.0)
    raise TypeError(f"a process is a ProcessInfo or (pid, name, argv), not {proc!r}")


class _Stop(Exception):
    """The cycle needs a result it was not given."""


@mutable_record
class _World:
    """The world a monitor cycle sees: given processes, given results, a virtual clock."""

    processes: tuple[ProcessInfo, ...]
    stored_count: int | None
    results: Mapping[str, ProbeResult]
    now: float = 0.0
    probes: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    verdict: str | None = None
    stored: int | None = None
    second_level_ran: bool = False
    pending: str | None = None

    def result(self, what: str) -> ProbeResult:
        self.probes.append(what)
        found = self.results.get(what)
        if found is None:
            self.pending = what
            raise _Stop
        if not isinstance(found, ProbeResult):
            raise TypeError(f"probe_results[{what!r}] must be a ProbeResult")
        return found

    def run(self, action: Run) -> ProgramResult:
        if action.kind is RunKind.PROGRAM:
            given = self.result(_MONITOR_PROGRAM)
            default = 110 if given.outcome is Outcome.PASSED else 100
            code = default if given.exit_code is None else given.exit_code
            return self._program(action, given, ProgramResult(True, code))
        if action.kind is not RunKind.PROBE:  # monitor starts and stops nothing
            return ProgramResult(False, None, "", "monitor runs no start or stop command")
        self.second_level_ran = True
        given = self.result(action.probe.what if action.probe else " ".join(action.argv))
        if given.outcome is Outcome.PASSED:
            passed = passing_result(action.probe) if action.probe else ProgramResult(True, 0)
            return self._program(action, given, passed)
        return self._program(action, given, ProgramResult(True, given.exit_code or 1))

    def _program(self, action: Run, given: ProbeResult, ran: ProgramResult) -> ProgramResult:
        if given.outcome is Outcome.TIMED_OUT:
            self.now += action.timeout
            return ProgramResult(True, None)
        if given.outcome is Outcome.COULD_NOT_RUN:
            return ProgramResult(False, None, "", given.error or "it did not start")
        return ran

    def connect(self, action: Connect) -> ConnectResult:
        self.second_level_ran = True
        probe = action.probe
        given = self.result(probe.what)
        match given.outcome:
            case Outcome.PASSED:
                return ConnectResult(True, tls_ok=probe.tls)
            case Outcome.FAILED:
                return ConnectResult(False, error=given.error or "connection refused")
            case Outcome.TIMED_OUT:
                self.now += action.timeout
                return ConnectResult(False, error=f"no answer within {action.timeout:g} s")
            case Outcome.COULD_NOT_RUN:
                error = given.error or f"cannot resolve {probe.host}"
                return ConnectResult(False, error=error, resolved=False)

    def converse(self, action: Converse) -> DialogueResult:
        self.second_level_ran = True
        probe = action.probe
        given = self.result(probe.what)
        first = probe.phases[0]
        match given.outcome:
            case Outcome.PASSED:
                return passing_dialogue(probe)
            case Outcome.FAILED:
                return DialogueResult(failed_at=first, error=given.error or "connection refused")
            case Outcome.TIMED_OUT:
                self.now += action.timeout
                error = f"no answer within {action.timeout:g} s"
                return DialogueResult(failed_at=first, error=error, seconds=action.timeout)
            case Outcome.COULD_NOT_RUN:
                return DialogueResult(
                    ran=False, error=given.error or f"cannot resolve {probe.host}"
                )

    def answer(self, action: Action) -> object:
        """What the shell would answer; raises _Stop when a result is missing."""
        match action:
            case Observe(watch):
                processes = self.processes if watch.process_names else ()
                # Programs are taken to be installed: the API is told of processes only.
                return Snapshot(processes, dict.fromkeys(watch.files), frozenset(watch.paths))
            case LoadCount():
                return self.stored_count
            case StoreCount(_, count):
                self.stored = count
            case Run():
                return self.run(action)
            case Connect():
                return self.connect(action)
            case Converse():
                return self.converse(action)
            case Signal():
                return SignalOutcome.GONE
            case Wait(seconds):
                self.now += seconds
            case Log(level, msg, text):
                self.log.append(f"{level.name} {text}")
                if msg is Msg.VERDICT:
                    self.verdict = text
                elif msg is Msg.SECOND_LEVEL:
                    self.second_level_ran = True
        return None


def monitor(
    type_name: str,
    attributes: Mapping[str, AttributeValue],
    processes: Iterable[ProcessLike],
    *,
    stored_count: int | None = None,
    probe_results: Mapping[str, ProbeResult] | None = None,
) -> MonitorResult:
    """One monitor cycle of the agent's own procedure, on these processes (the whole
    process table of a node without zones) and this stored SecondLevelMonitor count.

    Probes and MonitorProgram are answered from ``probe_results`` (by a probe's ``what``,
    or "MonitorProgram"); at the first one missing, the cycle stops there and the result
    has no exit code. Raises InvalidAttributes, and TypeError for a process, count or
    result of the wrong kind."""
    policy = policy_for(type_name)
    argv = argument_vector(type_name, attributes)
    if stored_count is not None and not isinstance(stored_count, int):
        raise TypeError(f"stored_count must be an int or None, not {stored_count!r}")
    world = _World(tuple(_process(p) for p in processes), stored_count, probe_results or {})
    machine = entry_point(policy, EntryPoint.MONITOR, argv, Host())
    try:
        action = next(machine)
        for _ in range(_STEP_LIMIT):
            value = world.answer(action)  # first: it may move the clock
            action = machine.send(Reply(world.now, value))
    except StopIteration as done:
        return _decided(world, int(done.value))
    except _Stop:
        pass
    machine.close()
    if world.pending is None:
        why = f"the monitor did not answer within {_STEP_LIMIT} steps"
    else:
        why = f"needs the result of {world.pending} (give it in probe_results)"
    return _pending(world, why)


def _pending(world: _World, reason: str) -> MonitorResult:
    return MonitorResult(
        exit_code=None,
        reason=reason,
        probes=tuple(world.probes),
        state=None,
        second_level_ran=world.second_level_ran,
        stored_count=world.stored,
        pending=world.pending,
        log=tuple(world.log),
    )


def _decided(world: _World, code: int) -> MonitorResult:
    found = _VERDICT.fullmatch(world.verdict or "")
    if found is not None:
        return replace(_pending(world, found.group(2)), exit_code=code, state=found.group(1))
    # No verdict line: the procedure gave up before judging (it logged why, last).
    state = monitoring.State.UNKNOWN
    if code == MonitorCode.OFFLINE:
        state = monitoring.State.OFFLINE
    elif MonitorCode.OFFLINE < code <= MonitorCode.ONLINE:
        state = monitoring.State.ONLINE
    why = world.log[-1].split(" ", 1)[-1] if world.log else f"the monitor answered {code}"
    return replace(_pending(world, why), exit_code=code, state=state.value)
