"""A stand-in VCS engine: drives installed agent entry points the way VCS does.

There is no VCS here, so this module plays both HAD (the engine: service groups, resource
dependencies, group dependencies, failover) and the Script50Agent framework (one process per
entry-point call with the V50 argument vector, time budgets, monitor scheduling, clean
reasons, restarts). It is a test and demo tool, not a cluster: one host (the "other
systems" of a SystemList are simulated names), one engine thread that starts entry points
concurrently as agent threads would and acts on their answers as they arrive.

Library API (the main thing)::

    engine = Engine(config, agents_dir=DIR, env={...}, time_scale=0.0, timeout_scale=1.0)
    engine.online(group, wait=True, with_children=False) -> str     # group state text
    engine.offline(group, wait=True) -> str
    engine.online_all(wait=True) / engine.offline_all(wait=True)
    engine.switch(group, to=None, wait=True) -> str
    engine.online_resource(name, wait=True) / engine.offline_resource(name, wait=True)
    engine.clear(group)                           # hagrp -clear: forget faults
    engine.probe(resource=None)                   # monitor now, to learn the state
    engine.monitor_now(resource) -> Event         # one monitor cycle now (stepping)
    engine.cycle() -> list[Event]                 # one monitor cycle now for every resource
    engine.tick(until=None) -> bool               # do the next due thing
    engine.settle(limit=7200.0) -> bool           # run until nothing is in transition
    engine.run_for(seconds)                       # engine seconds of normal operation
    engine.busy() -> bool                         # something in transition or startable
    engine.state(resource) -> ResState, engine.state_text(resource) -> str  # "ONLINE|..."
    engine.group_state(group) -> str, engine.node(group) -> str, engine.faulted_on(group)
    engine.counters(resource) -> Counters, engine.params(resource) -> TypeParams
    engine.second_level_due_in(resource) -> int | None
    engine.argv(resource, entry, reason=None) -> tuple[str, ...]   # what it would pass now
    engine.events -> tuple[Event, ...], engine.calls(resource=None, entry=None) -> list[Event]
    engine.status(color=False) -> str, engine.snapshot() -> StatusSnapshot, engine.event_lines()
    engine.close()                                # also a context manager
    typedef_from_declaration(decl, **statics) -> TypeDef   # our types as types.cf has them
    load_configuration(main_cf) -> Configuration  # main.cf plus its includes

Time. Engine time is in VCS seconds. With time_scale 0 (the default) it is virtual: the
engine jumps to the next due monitor at once (a discrete-event simulation, fast, and
deterministic but for the order of answers that arrive together, as on VCS). With
time_scale F > 0 it is real time scaled: an interval of N seconds takes N * F real seconds
(0.05 turns a 60 s MonitorInterval into 3 s). Entry-point time budgets are real and scaled
separately by timeout_scale (default 1: VCS's own numbers), because they kill real
processes; the budget the engine enforces is the one it passes as AEPTimeout
(rounded up to whole seconds, at least 1).

CLI::

    python -m stubs.vcsengine --config MAIN.CF --agents-dir DIR [--scale F]
        [--timeout-scale F] [--for SECONDS] [--limit SECONDS] [--env NAME=VALUE]...
        [--color] [--events]
        status | online-all | offline-all | online GROUP | offline GROUP | switch GROUP

Every CLI run is a fresh engine: it probes every resource, carries out the command, waits
(at most --limit wall-clock seconds) for the groups to settle, keeps monitoring --for
wall-clock seconds (engine seconds at --scale 0), prints the status view and exits 0 when
the groups reached the state asked for (1 if not, 2 for a bad configuration). The agents
keep running: `online-all` then `status` then `offline-all` works like hagrp commands.
main.cf is read with jescore.tooling.vcsconf.parse_many, with the includes found next to it.

Readings chosen where the VCS documentation is silent or thin (sources: VCS 5.0MP3 Agent
Developer's Guide, static attributes and state transitions; VCS 5.1/6.0/7.0 Administrator's
Guides "Controlling VCS behavior" and "Service group dependencies"; InfoScale 7.3 agent
guide; docs.oracle.com 819-4428 for Sun's recommended values):

- OnlineWaitLimit N: after online returns, the engine monitors at once (after the number of
  seconds online exited with), then once per MonitorInterval; when the first monitor and N
  more all fail to report online, clean runs with reason 3. So N + 1 monitors in all.
- OfflineWaitLimit (default 0) works the same way for offline; with 0 the first monitor
  after offline must report offline, or clean runs with reason 1.
- A monitor that times out or answers unknown while waiting for online counts as "not
  online yet"; while waiting for offline, as "not offline yet".
- FaultOnMonitorTimeouts counts consecutive timeouts: any monitor that finishes resets it
  (newer guides also reset it an hour after the first timeout; ConfInterval clears it too).
  It applies to online resources only (4.1 agent guide).
- ToleranceLimit N: the N+1-th offline result of an online resource faults it. Results
  in between do not reset the count; staying online ConfInterval seconds without a problem
  does (as for RestartCount and the monitor timeout count). The count restarts when the
  resource faults, so a restarted resource gets its tolerance again.
- After a successful clean: reasons 0 and 1 leave the resource OFFLINE (clean's job is to
  make sure it is down); reasons 2 and 3 fail the online attempt (retried while
  OnlineRetryLimit, or while RestartLimit when the online was a restart, allows; else the
  resource FAULTS); reasons 4 and 5 restart it while RestartLimit allows, else it FAULTS.
- A failed clean (exit 1, or clean timed out) leaves the resource in its state; clean runs
  again after the next monitor, with the same reason, until it succeeds or
  CleanRetryLimit (0 = no limit, as in newer releases) clean calls have failed, which
  leaves the resource in ADMIN_WAIT (the issue's reading of the Agent Developer's Guide:
  that many calls, not one more). A group does not fail over before its faulted resource is clean.
- A resource that faults faults its group when it, or any resource that (transitively)
  requires it, is Critical (the "critical parent" scenarios of the admin guide). The group
  is taken offline in reverse dependency order and brought online on the next system of
  SystemList (by priority) where it has not faulted; with no such system, or AutoFailOver
  0, it stays offline and FAULTED until clear(). Faults are remembered per simulated
  system: on the new system its resources start OFFLINE.
- ConfInterval is at least (MonitorInterval + MonitorTimeout) x ToleranceLimit +
  MonitorInterval + 10: a smaller value is raised to that.
- A non-critical fault changes nothing else: parents stay as they are (the admin guide's
  "non-critical parent" scenario: neither the tree goes offline nor the group fails over).
- Independent resources go online together (VCS starts them in parallel); offline goes
  parents first, in reverse order of appearance, independent ones together too.
- Group dependencies: online (local/global/remote treated alike: one host) needs the child
  group online before any parent resource starts; soft: the child may go offline under an
  online parent, which stays; firm/hard: offline of the child is refused while the parent
  is online, and when the child faults the parent is taken offline and brought back once
  the child is online again. offline dependencies: the parent starts only while the child
  is not online. A child group counts as online when every enabled resource is ONLINE
  except non-critical faulted ones, and nothing is in transition.
- An offline resource that a monitor reports online (started outside VCS) becomes ONLINE.
  FAULTED resources keep being monitored every OfflineMonitorInterval; the answer is
  shown, the fault stays until clear() or a failover (faults are per system).
- Localised values (`Attr@system`) of the group's current system win over plain ones in
  the argument vector; static attributes set on a resource override the type's.
- A probe (the first monitor) that answers unknown (99) or times out leaves the resource
  NOT PROBED: it is monitored again every OfflineMonitorInterval, and nothing of its group
  starts or stops on this system until it answers.
- Persistent resources (static Operations None, as NIC has) are only monitored, never
  brought online or taken offline; OnOnly resources are never taken offline; a group
  counts as offline once its resources other than those are.
- Entry points run concurrently, as VCS's agent threads run them: every online, offline
  and probe the groups need at the same moment, and every monitor due at the same engine
  time, start together, at most NumThreads (default 10) per resource type (Agent
  Developer's Guide, NumThreads: "the maximum number of threads used by the agent
  process", each running one entry point at a time). The engine acts on their answers
  in the order they arrive, as VCS's engine acts on each message from the agent when it
  comes; a call waiting for a thread starts as soon as one is free. What an answer
  starts (a clean, a restart) runs at once, while the rest of the batch keeps running.
- Events of entry points carry the wall-clock time the call started, not the time it
  ended (hastatus and the engine log stamp an event when it happens).
- Monitor exit 200 is an intentional offline only when the type sets IntentionalOffline 1;
  otherwise it reads as offline.
- State and IState are passed as numbers (no public source gives the form): State
  0 not probed, 1 offline, 2 online, 4 faulted; IState 0 not waiting, 1 waiting online,
  2 waiting offline, 3 waiting clean. The agents accept both forms.
- Online and offline exit codes are seconds to wait before the first monitor (clamped at
  0); a missing entry-point executable counts as unknown (monitor), failure (clean) or
  exit 0 (online, offline) and is logged.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Final

from jescore.policy import argv as vcs_argv
from jescore.policy.declaration import Declaration, Dimension, Raw, VcsType
from jescore.policy.monitoring import cycles_until_due
from jescore.policy.registry import POLICIES
from jescore.policy.vcs import CleanReason, EntryPoint
from jescore.record import replace
from jescore.tooling.vcsconf_model import (
    Configuration,
    Group,
    GroupDependency,
    Resource,
    TypeAttr,
    TypeDef,
)
from stubs.vcsengine_status import (
    Event,
    EventKind,
    GroupRow,
    ResourceRow,
    StatusSnapshot,
    format_event,
    monitor_word,
    render,
)

__all__ = [
    "Counters",
    "Engine",
    "EngineError",
    "Event",
    "EventKind",
    "MonitorResult",
    "ResState",
    "TypeParams",
    "classify_monitor",
    "load_configuration",
    "main",
    "params_for",
    "typedef_from_declaration",
]

DEFAULT_AGENT_ROOT: Final = "/opt/VRTSvcs/bin"
DEFAULT_SYSTEMS: Final = ("sysA", "sysB")  # when a group has no SystemList
OUTPUT_TAIL: Final = 600  # characters of an entry point's output kept in its event
ANSWER_POLL: Final = 0.005  # seconds between looks for the first answer of a batch


class EngineError(Exception):
    """A request the engine refuses (unknown name, dependency rule), or a bad configuration."""


class MonitorResult(enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"
    INTENTIONAL_OFFLINE = "intentional offline"
    UNKNOWN = "unknown"


def classify_monitor(code: int) -> MonitorResult:
    """Monitor exit code: 110 and 101-109 online, 100 offline, 200 intentional offline,
    anything else (99 included) unknown."""
    if code == 110 or 101 <= code <= 109:
        return MonitorResult.ONLINE
    if code == 100:
        return MonitorResult.OFFLINE
    if code == 200:
        return MonitorResult.INTENTIONAL_OFFLINE
    return MonitorResult.UNKNOWN


class ResState(enum.Enum):
    UNPROBED = "NOT PROBED"
    OFFLINE = "OFFLINE"
    GOING_ONLINE = "W_ONLINE"
    ONLINE = "ONLINE"
    GOING_OFFLINE = "W_OFFLINE"
    FAULTED = "FAULTED"


_STATE_NUMBER = {
    ResState.UNPROBED: "0",
    ResState.OFFLINE: "1",
    ResState.GOING_ONLINE: "1",
    ResState.ONLINE: "2",
    ResState.GOING_OFFLINE: "2",
    ResState.FAULTED: "4",
}


# --- type-level parameters --------------------------------------------------------------


@dataclass(frozen=True)
class TypeParams:
    """The static type attributes the engine acts on, with VCS's documented defaults."""

    monitor_interval: int = 60
    offline_monitor_interval: int = 300
    monitor_timeout: int = 60
    online_timeout: int = 300
    offline_timeout: int = 300
    clean_timeout: int = 60
    fault_on_monitor_timeouts: int = 4
    online_wait_limit: int = 2
    offline_wait_limit: int = 0
    online_retry_limit: int = 0
    restart_limit: int = 0
    tolerance_limit: int = 0
    conf_interval: int = 600
    clean_retry_limit: int = 0
    aep_timeout: bool = False
    intentional_offline: bool = False
    num_threads: int = 10
    operations: str = "OnOff"  # OnOff; OnOnly: never taken offline; None: persistent

    def timeout(self, entry: EntryPoint) -> int:
        return {
            EntryPoint.ONLINE: self.online_timeout,
            EntryPoint.OFFLINE: self.offline_timeout,
            EntryPoint.MONITOR: self.monitor_timeout,
            EntryPoint.CLEAN: self.clean_timeout,
        }[entry]


# VCS attribute name -> TypeParams field.
_PARAM_NAMES: Final = {
    "MonitorInterval": "monitor_interval",
    "OfflineMonitorInterval": "offline_monitor_interval",
    "MonitorTimeout": "monitor_timeout",
    "OnlineTimeout": "online_timeout",
    "OfflineTimeout": "offline_timeout",
    "CleanTimeout": "clean_timeout",
    "FaultOnMonitorTimeouts": "fault_on_monitor_timeouts",
    "OnlineWaitLimit": "online_wait_limit",
    "OfflineWaitLimit": "offline_wait_limit",
    "OnlineRetryLimit": "online_retry_limit",
    "RestartLimit": "restart_limit",
    "ToleranceLimit": "tolerance_limit",
    "ConfInterval": "conf_interval",
    "CleanRetryLimit": "clean_retry_limit",
    "AEPTimeout": "aep_timeout",
    "IntentionalOffline": "intentional_offline",
    "NumThreads": "num_threads",
}


def _int_of(raw: Raw | None, default: int) -> int:
    if not raw:
        return default
    text = raw[0].strip()
    try:
        return int(text)
    except ValueError:
        return default


def params_for(typedef: TypeDef | None, resource: Resource) -> TypeParams:
    """Type-level values, overridden by the resource where it sets them (hares -override)."""
    base = TypeParams()
    changes: dict[str, object] = {}
    for vcs_name, field_name in _PARAM_NAMES.items():
        raw: Raw | None = resource.values.get(vcs_name)
        if raw is None and typedef is not None:
            found = typedef.attr(vcs_name)
            raw = found.default if found is not None else None
        default = getattr(base, field_name)
        if isinstance(default, bool):
            changes[field_name] = _int_of(raw, int(default)) != 0
        else:
            changes[field_name] = max(0, _int_of(raw, default))
    raw_operations: Raw | None = resource.values.get("Operations")
    if raw_operations is None and typedef is not None:
        found_operations = typedef.attr("Operations")
        raw_operations = found_operations.default if found_operations is not None else None
    if raw_operations and raw_operations[0] in OPERATIONS:
        changes["operations"] = raw_operations[0]
    made = replace(base, **changes)
    return replace(made, conf_interval=max(made.conf_interval, least_conf_interval(made)))


# The static Operations attribute (Agent Developer's Guide, "Operations"): what VCS may do
# to a resource of the type. A persistent resource (None, as the NIC type has) is only
# monitored: never brought online or taken offline, and a group counts as offline once
# its other resources are. OnOnly (as FileOnOnly) is brought online, never taken offline.
OPERATIONS: Final = ("OnOff", "OnOnly", "None")


def least_conf_interval(p: TypeParams) -> int:
    """VCS raises a ConfInterval below this to it (Agent Developer's Guide, ConfInterval):
    the time ToleranceLimit offline answers and one more monitor can take, and 10 s."""
    return (p.monitor_interval + p.monitor_timeout) * p.tolerance_limit + p.monitor_interval + 10


def typedef_from_declaration(decl: Declaration, **statics: str | int) -> TypeDef:
    """A TypeDef as types.cf declares one of our types, plus static attributes
    (`MonitorInterval=10, AEPTimeout=1`, ...) as the type would set them."""
    attrs = [TypeAttr(a.name, a.vcs_type, a.dimension, a.default) for a in decl.attrs]
    attrs.append(TypeAttr("ArgList", VcsType.STR, Dimension.VECTOR, decl.arglist, static=True))
    for name, value in statics.items():
        attrs.append(TypeAttr(name, VcsType.INT, Dimension.SCALAR, (str(value),), static=True))
    return TypeDef(decl.type_name, tuple(attrs))


# --- clock ------------------------------------------------------------------------------


class Clock:
    """Engine time in VCS seconds: virtual (scale 0) or real time divided by the scale."""

    def __init__(self, scale: float) -> None:
        if scale < 0:
            raise EngineError("time_scale must not be negative")
        self.scale = scale
        self._virtual = 0.0
        self._real_start = time.monotonic()

    def now(self) -> float:
        if self.scale > 0:
            return (time.monotonic() - self._real_start) / self.scale
        return self._virtual

    def advance_to(self, when: float) -> None:
        if self.scale > 0:
            delay = (when - self.now()) * self.scale
            if delay > 0:
                time.sleep(delay)
        else:
            self._virtual = max(self._virtual, when)


# --- runtime records --------------------------------------------------------------------


@dataclass(frozen=True)
class CallResult:
    code: int | None  # None: killed at its timeout, or could not be started
    seconds: float
    timed_out: bool
    error: str = ""
    wall: float = 0.0  # when the call started (time.time())


@dataclass
class _Launched:
    """An entry point started and not yet waited for."""

    proc: subprocess.Popen[bytes] | None
    out: IO[bytes]
    started: float  # time.monotonic()
    wall: float  # time.time()
    budget: float
    argv: tuple[str, ...]  # as given, after the program
    error: str = ""  # why it could not be started
    ended: float | None = None  # time.monotonic() when it exited, stamped by its waiter


@dataclass(frozen=True)
class Counters:
    """The problem counters VCS keeps per resource (hares -display names in brackets)."""

    tolerance: int  # [ToleranceCount]
    restarts: int  # [RestartCount]
    monitor_timeouts: int  # [CurrentMonitorTimeoutCount], consecutive
    online_retries: int
    clean_retries: int  # clean calls after a failed clean, over the resource's life
    monitors_since_online: int
    admin_wait: bool


@dataclass(eq=False)
class _Res:
    resource: Resource
    group: str
    index: int
    typedef: TypeDef | None
    params: TypeParams
    agent_dir: Path
    critical: bool
    enabled: bool
    second_level_every: int
    secret_names: frozenset[str]
    state: ResState = ResState.UNPROBED
    unknown: bool = False
    last_code: int | None = None
    last_timed_out: bool = False
    due: float | None = 0.0
    monitors_since_online: int = 0
    online_wait: int = 0
    offline_wait: int = 0
    tolerance: int = 0
    restarts: int = 0
    online_retries: int = 0
    monitor_timeouts: int = 0
    clean_pending: CleanReason | None = None
    clean_failures: int = 0
    clean_retries: int = 0
    admin_wait: bool = False
    restarting: bool = False
    stable_since: float = 0.0
    probe_failed: bool = False  # the probe answered unknown or timed out: probe again later
    actions: int = 0  # entry points other than monitor started; tells handlers apart
    shown: str = ResState.UNPROBED.value  # the state text the event log last announced

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def type_name(self) -> str:
        return self.resource.type_name

    @property
    def display(self) -> str:
        text = self.state.value
        if self.clean_pending is not None:
            text += "|ADMIN_WAIT" if self.admin_wait else "|CLEAN_FAILED"
        if self.last_timed_out and self.state is not ResState.UNPROBED:
            text += "|MONITOR_TIMEDOUT"
        elif self.unknown:
            text += "|UNKNOWN"
        return text

    @property
    def may_online(self) -> bool:
        return self.params.operations != "None"

    @property
    def may_offline(self) -> bool:
        return self.params.operations == "OnOff"

    @property
    def in_transition(self) -> bool:
        return self.state in (ResState.GOING_ONLINE, ResState.GOING_OFFLINE) or (
            self.clean_pending is not None and not self.admin_wait
        )


class _Want(enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(eq=False)
class _Grp:
    group: Group
    systems: tuple[str, ...]
    node: str
    auto_failover: bool
    members: list[_Res] = field(default_factory=list)
    target: _Want | None = None
    moving: bool = False  # being taken offline to go to another system (or nowhere)
    moving_to: str | None = None
    move_kind: EventKind = EventKind.FAILOVER
    faulted_on: list[str] = field(default_factory=list)
    shown_state: str = ""

    @property
    def name(self) -> str:
        return self.group.name


def _systems_of(group: Group) -> tuple[str, ...]:
    raw = tuple(group.values.get("SystemList", ()))
    if not raw:
        return DEFAULT_SYSTEMS
    pairs = len(raw) % 2 == 0 and all(p.strip().isdigit() for p in raw[1::2])
    if pairs:
        ranked = sorted(
            enumerate(zip(raw[0::2], raw[1::2], strict=True)), key=lambda x: (int(x[1][1]), x[0])
        )
        return tuple(name for _, (name, _) in ranked)
    return raw


def _mask(argv: Sequence[str], secret: frozenset[str]) -> tuple[str, ...]:
    out = list(argv)
    index = 0
    while index < len(out) - 1:
        if out[index] in secret and out[index + 1].isdigit():
            count = int(out[index + 1])
            for k in range(index + 2, min(len(out), index + 2 + count)):
                if out[k]:
                    out[k] = "****"
            index += 2 + count
        else:
            index += 1
    return tuple(out)


def _local_values(values: Mapping[str, Raw], system: str) -> dict[str, Raw]:
    """Plain values, with `Attr@system` (a localised value) winning on that system."""
    out = {name: raw for name, raw in values.items() if "@" not in name}
    suffix = f"@{system}"
    out.update({n[: -len(suffix)]: raw for n, raw in values.items() if n.endswith(suffix)})
    return out


def _declaration(type_name: str, typedef: TypeDef | None) -> Declaration | None:
    policy = POLICIES.get(type_name)
    if policy is None:
        return None
    decl = policy.declaration
    # The types file's ArgList is what VCS passes (zone variants add ContainerName).
    if typedef is not None and typedef.arglist:
        decl = replace(decl, arglist=typedef.arglist)
    return decl


# --- the engine -------------------------------------------------------------------------


class Engine:
    """The stand-in engine over one Configuration. See the module docstring."""

    def __init__(
        self,
        config: Configuration,
        *,
        agents_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        time_scale: float = 0.0,
        timeout_scale: float = 1.0,
        inherit_env: bool = True,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        """`agents_dir` replaces every type's AgentDirectory by `<agents_dir>/<Type>`
        (the layout `jesagent install --agents-dir` writes). `env` is added to the
        entry points' environment (os.environ unless inherit_env is False)."""
        if timeout_scale <= 0:
            raise EngineError("timeout_scale must be positive")
        self.config = config
        self.clock = Clock(time_scale)
        self.timeout_scale = timeout_scale
        self._env = {**(os.environ if inherit_env else {}), **(env or {})}
        self._on_event = on_event
        self._events: list[Event] = []
        # Entry points started ahead, by (resource, entry point, clean reason): the batch
        # that runs concurrently, each collected when the engine acts on it.
        self._launched: dict[tuple[str, EntryPoint, CleanReason | None], _Launched] = {}
        self._groups: dict[str, _Grp] = {}
        self._res: dict[str, _Res] = {}
        self._children: dict[str, list[str]] = {}
        self._parents: dict[str, list[str]] = {}
        index = 0
        for group in config.groups:
            systems = _systems_of(group)
            grp = _Grp(
                group,
                systems,
                systems[0],
                _int_of(group.values.get("AutoFailOver"), 1) != 0,
            )
            if group.name in self._groups:
                raise EngineError(f"group {group.name} is defined twice")
            self._groups[group.name] = grp
            for resource in group.resources:
                if resource.name in self._res:
                    raise EngineError(f"resource {resource.name} is defined twice")
                rec = self._record(group, resource, agents_dir, index)
                index += 1
                self._res[resource.name] = rec
                grp.members.append(rec)
                self._children[resource.name] = []
                self._parents[resource.name] = []
            for link in group.links:
                for name in (link.parent, link.child):
                    if group.resource(name) is None:
                        raise EngineError(
                            f"group {group.name}: link names {name}, not a resource of the group"
                        )
                self._children[link.parent].append(link.child)
                self._parents[link.child].append(link.parent)
        for group in config.groups:
            for dep in group.dependencies:
                if dep.child not in self._groups:
                    raise EngineError(f"group {group.name} requires unknown group {dep.child}")
        self._check_cycles()
        for grp in self._groups.values():
            grp.shown_state = self._group_text(grp)

    def _record(
        self, group: Group, resource: Resource, agents_dir: Path | None, index: int
    ) -> _Res:
        typedef = self.config.type_def(resource.type_name)
        if agents_dir is not None:
            folder = agents_dir / resource.type_name
        else:
            found = typedef.attr("AgentDirectory") if typedef is not None else None
            text = found.default[0] if found is not None and found.default else ""
            folder = Path(text or f"{DEFAULT_AGENT_ROOT}/{resource.type_name}")
        decl = _declaration(resource.type_name, typedef)
        secret = decl.secret_names if decl is not None else frozenset()
        level: Raw | None = resource.values.get("SecondLevelMonitor")
        if level is None and typedef is not None:
            found_level = typedef.attr("SecondLevelMonitor")
            level = found_level.default if found_level is not None else None
        return _Res(
            resource=resource,
            group=group.name,
            index=index,
            typedef=typedef,
            params=params_for(typedef, resource),
            agent_dir=folder,
            critical=_int_of(resource.values.get("Critical"), 1) != 0,
            enabled=_int_of(resource.values.get("Enabled"), 1) != 0,
            second_level_every=max(0, _int_of(level, 0)),
            secret_names=secret,
        )

    def _check_cycles(self) -> None:
        def walk(name: str, path: tuple[str, ...], edges: Mapping[str, Sequence[str]]) -> None:
            for nxt in edges.get(name, ()):
                if nxt in path:
                    raise EngineError(f"dependency cycle: {' -> '.join((*path, nxt))}")
                walk(nxt, (*path, nxt), edges)

        for name in self._res:
            walk(name, (name,), self._children)
        group_edges = {
            g.name: [d.child for d in g.group.dependencies] for g in self._groups.values()
        }
        for name in self._groups:
            walk(name, (name,), group_edges)

    # --- context and cleanup -------------------------------------------------------------

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Kill entry points still running (only possible after an interrupt)."""
        launched, self._launched = list(self._launched.values()), {}
        for item in launched:
            if item.proc is not None and item.proc.poll() is None:
                _kill_group(item.proc)
            item.out.close()

    # --- queries -------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(self._events)

    def calls(self, resource: str | None = None, entry: str | None = None) -> list[Event]:
        """Entry-point events, optionally for one resource and one entry point."""
        return [
            e
            for e in self._events
            if e.kind is EventKind.ENTRY
            and (resource is None or e.resource == resource)
            and (entry is None or e.entry == entry)
        ]

    def state(self, resource: str) -> ResState:
        return self._get(resource).state

    def state_text(self, resource: str) -> str:
        return self._get(resource).display

    def group_state(self, group: str) -> str:
        return self._group_text(self._grp(group))

    def node(self, group: str) -> str:
        return self._grp(group).node

    def faulted_on(self, group: str) -> tuple[str, ...]:
        return tuple(self._grp(group).faulted_on)

    def params(self, resource: str) -> TypeParams:
        return self._get(resource).params

    def counters(self, resource: str) -> Counters:
        r = self._get(resource)
        return Counters(
            tolerance=r.tolerance,
            restarts=r.restarts,
            monitor_timeouts=r.monitor_timeouts,
            online_retries=r.online_retries,
            clean_retries=r.clean_retries,
            monitors_since_online=r.monitors_since_online,
            admin_wait=r.admin_wait,
        )

    def second_level_due_in(self, resource: str) -> int | None:
        """Monitor calls until the agent's second level runs (1 = the next one); None: off.
        The agent counts every monitor call since its last online; so does the engine."""
        r = self._get(resource)
        if r.second_level_every <= 0:
            return None
        return cycles_until_due(
            r.monitors_since_online % r.second_level_every, r.second_level_every
        )

    def snapshot(self) -> StatusSnapshot:
        systems: list[str] = []
        for grp in self._groups.values():
            systems += [s for s in grp.systems if s not in systems]
        groups = tuple(
            GroupRow(
                g.name,
                g.node,
                self._group_text(g),
                tuple(g.faulted_on),
                g.systems,
                not any(r.enabled and r.state is ResState.UNPROBED for r in g.members),
            )
            for g in self._groups.values()
        )
        resources = tuple(
            ResourceRow(
                group=r.group,
                type_name=r.type_name,
                name=r.name,
                state=r.display,
                critical=r.critical,
                enabled=r.enabled,
                last_code=r.last_code,
                last_timed_out=r.last_timed_out,
                monitors=r.monitors_since_online,
                second_level_in=self.second_level_due_in(r.name),
                restarts=r.restarts,
                clean_retries=r.clean_retries,
            )
            for r in self._res.values()
        )
        return StatusSnapshot(self.now(), tuple(systems), groups, resources)

    def status(self, *, color: bool = False) -> str:
        """The `hastatus -sum` style view (plain text unless color=True)."""
        return render(self.snapshot(), color=color)

    def event_lines(self) -> list[str]:
        return [format_event(e) for e in self._events]

    def _get(self, name: str) -> _Res:
        found = self._res.get(name)
        if found is None:
            raise EngineError(f"no resource {name}")
        return found

    def _grp(self, name: str) -> _Grp:
        found = self._groups.get(name)
        if found is None:
            raise EngineError(f"no group {name}")
        return found

    # --- requests ------------------------------------------------------------------------

    def online(self, group: str, *, wait: bool = True, with_children: bool = False) -> str:
        """hagrp -online. The group's resources start once every group it requires online
        is online; a required group that is neither online nor on its way is an error,
        unless with_children, which brings it online too."""
        grp = self._grp(group)
        if grp.node in grp.faulted_on:
            raise EngineError(f"group {group} is faulted on {grp.node}; clear it first")
        for dep in grp.group.dependencies:
            child = self._grp(dep.child)
            if dep.category == "offline":
                if self._group_up(child):
                    raise EngineError(f"{group} requires {dep.child} offline, and it is online")
                continue
            if self._group_up(child) or child.target is _Want.ONLINE:
                continue
            if not with_children:
                raise EngineError(
                    f"{group} requires group {dep.child} online "
                    f"({dep.location} {dep.rigidity}); bring it online first"
                )
            self.online(dep.child, wait=False, with_children=True)
        grp.target = _Want.ONLINE
        self._note(EventKind.NOTE, grp.name, text="online requested", node=grp.node)
        return self._finish(grp, wait)

    def offline(self, group: str, *, wait: bool = True) -> str:
        """hagrp -offline. Refused while a group that requires this one firm or hard is
        online; with a soft dependency the parent stays online."""
        grp = self._grp(group)
        for parent, dep in self._dependents(grp):
            firm = dep.rigidity in ("firm", "hard") and dep.category == "online"
            if firm and self._group_has_online(parent):
                raise EngineError(
                    f"group {parent.name} requires {group} online {dep.rigidity}; "
                    "take it offline first"
                )
        grp.target = _Want.OFFLINE
        self._note(EventKind.NOTE, grp.name, text="offline requested", node=grp.node)
        return self._finish(grp, wait)

    def online_all(self, *, wait: bool = True) -> dict[str, str]:
        """Every group online, children before parents (dependencies gate the order)."""
        return self._all_to(_Want.ONLINE, wait)

    def offline_all(self, *, wait: bool = True) -> dict[str, str]:
        """Every group offline, parents before children."""
        return self._all_to(_Want.OFFLINE, wait)

    def _all_to(self, target: _Want, wait: bool) -> dict[str, str]:
        for grp in self._groups.values():
            grp.target = target
        if wait:
            self.settle()
        return {g.name: self._group_text(g) for g in self._groups.values()}

    def switch(self, group: str, *, to: str | None = None, wait: bool = True) -> str:
        """hagrp -switch: offline here, then online on `to` (default: the next system of
        SystemList)."""
        grp = self._grp(group)
        for parent, dep in self._dependents(grp):
            if dep.rigidity in ("firm", "hard") and self._group_has_online(parent):
                raise EngineError(f"group {parent.name} requires {group} {dep.rigidity}")
        if not self._group_has_online(grp):
            raise EngineError(f"group {group} is not online; nothing to switch")
        others = [s for s in grp.systems if s != grp.node]
        target = to if to is not None else (others[0] if others else grp.node)
        if to is not None and to not in grp.systems:
            raise EngineError(f"{to} is not in the SystemList of {group}")
        grp.moving, grp.moving_to, grp.move_kind = True, target, EventKind.SWITCH
        grp.target = _Want.ONLINE
        self._note(EventKind.SWITCH, grp.name, text=f"switch {grp.node} -> {target}", node=target)
        return self._finish(grp, wait)

    def clear(self, group: str) -> None:
        """hagrp -clear: forget the group's faults; faulted resources become OFFLINE."""
        grp = self._grp(group)
        grp.faulted_on.clear()
        for r in grp.members:
            if r.state is ResState.FAULTED:
                self._set_state(r, ResState.OFFLINE, "fault cleared")
        self._note_groups()

    def online_resource(self, name: str, *, wait: bool = True) -> str:
        """hares -online: needs every resource it requires online."""
        r = self._get(name)
        if not r.may_online:
            raise EngineError(f"{name} is persistent (Operations None): only monitored")
        if r.state is ResState.FAULTED:
            raise EngineError(f"{name} is FAULTED; clear the group's fault first")
        missing = [c for c in self._children[name] if self._res[c].state is not ResState.ONLINE]
        if missing:
            raise EngineError(f"{name} requires {', '.join(missing)}, not online")
        if r.state is ResState.UNPROBED:
            self.monitor_now(name)
        if r.state is not ResState.ONLINE and not r.in_transition:
            self._start_online(r)
        if wait:
            self.settle()
        return r.display

    def offline_resource(self, name: str, *, wait: bool = True) -> str:
        """hares -offline: needs every resource that requires it offline."""
        r = self._get(name)
        if not r.may_offline:
            raise EngineError(f"{name} is never taken offline (Operations {r.params.operations})")
        up = [p for p in self._parents[name] if self._res[p].state is ResState.ONLINE]
        if up:
            raise EngineError(f"{', '.join(up)} requires {name} and is online")
        if r.state is ResState.ONLINE and not r.in_transition:
            self._start_offline(r)
        if wait:
            self.settle()
        return r.display

    def probe(self, resource: str | None = None) -> None:
        """Monitor now (one resource, or every enabled one) to learn the state."""
        names = [resource] if resource is not None else list(self._res)
        enabled = [self._get(name) for name in names if self._get(name).enabled]
        for r, _ in self._as_they_answer([(r, EntryPoint.MONITOR) for r in enabled]):
            self.monitor_now(r.name)

    def monitor_now(self, resource: str) -> Event:
        """Run one monitor cycle of this resource now, and act on its answer; returns the
        monitor call's event. What it starts (clean, a restart) runs too; what it schedules
        (the monitor after a restart) waits for tick(), settle() or run_for()."""
        r = self._get(resource)
        event = self._monitor(r)
        self._note_groups()
        return event

    def cycle(self) -> list[Event]:
        """One monitor cycle now for every enabled resource (the calls run concurrently,
        NumThreads at most per type); the events in the order the answers arrived."""
        enabled = [r for r in self._res.values() if r.enabled]
        batch = [(r, EntryPoint.MONITOR) for r in enabled]
        return [self.monitor_now(r.name) for r, _ in self._as_they_answer(batch)]

    # --- running -------------------------------------------------------------------------

    def tick(self, until: float | None = None) -> bool:
        """Do the next thing: start what the groups need now, else run the earliest due
        monitor (waiting for it). False when nothing is due before `until`."""
        if self._advance_groups():
            self._note_groups()
            return True
        due = [r for r in self._res.values() if r.enabled and r.due is not None]
        if not due:
            return False
        nxt = min(due, key=lambda r: (r.due, r.index))
        assert nxt.due is not None
        if until is not None and nxt.due > until:
            return False
        when = nxt.due
        self.clock.advance_to(when)
        batch = sorted((r for r in due if r.due == when), key=lambda r: r.index)
        for r, _ in self._as_they_answer([(r, EntryPoint.MONITOR) for r in batch]):
            if r.due == when:  # an answer acted on before may have rescheduled it
                self._monitor(r)
        self._drop_unused()
        self._note_groups()
        return True

    def busy(self) -> bool:
        """Something is in transition: a resource going online or offline, a clean to
        retry, a group moving, or a group action that can start now."""
        if any(r.enabled and r.in_transition for r in self._res.values()):
            return True
        if any(g.moving for g in self._groups.values()):
            return True
        return bool(self._next_actions())

    def settle(self, limit: float = 7200.0, max_steps: int = 10_000) -> bool:
        """Run until nothing is in transition, at most `limit` engine seconds (a clean
        that keeps failing, or ADMIN_WAIT under a moving group, never settles); True when
        everything settled."""
        end = self.now() + limit
        steps = 0
        while self.busy() and steps < max_steps:
            if not self.tick(until=end):
                break
            steps += 1
        return not self.busy()

    def run_for(self, seconds: float) -> None:
        """Normal operation for `seconds` engine seconds: periodic monitors and whatever
        their answers start."""
        end = self.now() + seconds
        while self.tick(until=end):
            pass
        self.clock.advance_to(end)

    def _finish(self, grp: _Grp, wait: bool) -> str:
        if wait:
            self.settle()
        self._note_groups()
        return self._group_text(grp)

    # --- entry points --------------------------------------------------------------------

    def _budget(self, r: _Res, entry: EntryPoint) -> float:
        return r.params.timeout(entry) * self.timeout_scale

    def argv(
        self, resource: str, entry: EntryPoint, reason: CleanReason | None = None
    ) -> tuple[str, ...]:
        """The argument vector (after the program name) this entry point gets now."""
        return self._argv(self._get(resource), entry, reason)

    def _argv(self, r: _Res, entry: EntryPoint, reason: CleanReason | None) -> tuple[str, ...]:
        istate = {
            ResState.GOING_ONLINE: "1",
            ResState.GOING_OFFLINE: "2",
        }.get(r.state, "3" if r.clean_pending is not None else "0")
        decl = _declaration(r.type_name, r.typedef)
        arglist = decl.arglist if decl is not None else (r.typedef.arglist if r.typedef else ())
        extras = {"State": _STATE_NUMBER[r.state], "IState": istate}
        engine = {k: v for k, v in extras.items() if k in arglist}
        if r.params.aep_timeout:
            engine["AEPTimeout"] = str(max(1, math.ceil(self._budget(r, entry))))
        values = _local_values(r.resource.values, self._groups[r.group].node)
        if decl is not None:
            return vcs_argv.render_v50(decl, r.name, values, engine, reason)
        out: list[str] = [r.name]
        if reason is not None:
            out.append(str(reason.value))
        for name in arglist:
            if name in engine:
                out += [name, "1", engine.pop(name)]
                continue
            attr = r.typedef.attr(name) if r.typedef is not None else None
            raw: Raw = values.get(name, attr.default if attr is not None else ())
            if not raw and (attr is None or attr.dimension is Dimension.SCALAR):
                raw = ("",)  # a scalar always has a count of 1, even when empty
            out += [name, str(len(raw)), *raw]
        for name, value in engine.items():
            out += [name, "1", value]
        return tuple(out)

    def _call(self, r: _Res, entry: EntryPoint, reason: CleanReason | None = None) -> Event:
        """Run an entry point (or collect it, when it was started with its batch) and
        record its event."""
        if entry is not EntryPoint.MONITOR:
            r.actions += 1
        launched = self._launched.pop((r.name, entry, reason), None)
        if launched is None:
            launched = self._launch(r, entry, reason, self._argv(r, entry, reason))
        argv = launched.argv
        result, output = self._collect(launched)
        event = self._add(
            EventKind.ENTRY,
            r.group,
            resource=r.name,
            entry=entry.value,
            code=result.code,
            seconds=result.seconds,
            timed_out=result.timed_out,
            reason=reason,
            text=result.error,
            argv=_mask(argv, r.secret_names),
            output=output,
            wall=result.wall,
        )
        return event

    def _launch_together(self, calls: Iterable[tuple[_Res, EntryPoint]]) -> None:
        """Start these entry points now, to run concurrently: at most NumThreads running
        per resource type (the rest run when the engine reaches them, after those)."""
        per_type: dict[str, int] = {}
        for key in self._launched:
            type_name = self._res[key[0]].type_name
            per_type[type_name] = per_type.get(type_name, 0) + 1
        for r, entry in calls:
            key = (r.name, entry, None)
            if key in self._launched or per_type.get(r.type_name, 0) >= r.params.num_threads:
                continue
            per_type[r.type_name] = per_type.get(r.type_name, 0) + 1
            self._launched[key] = self._launch(r, entry, None, self._argv(r, entry, None))

    def _as_they_answer(
        self, batch: Sequence[tuple[_Res, EntryPoint]]
    ) -> Iterator[tuple[_Res, EntryPoint]]:
        """The calls of a batch in the order their answers arrive (VCS's engine acts on
        each agent message as it comes, not in configuration order). A call waiting for an
        agent thread of its type starts as soon as one is free. Answers that came while
        the engine was acting on an earlier one are taken in the order they came."""
        waiting = list(batch)
        while waiting:
            self._launch_together(waiting)
            running = [c for c in waiting if (c[0].name, c[1], None) in self._launched]
            if not running:  # its type's threads are all busy outside the batch: run it alone
                yield waiting.pop(0)
                continue
            first = self._first_answer(running)
            waiting.remove(first)
            yield first

    def _first_answer(self, running: Sequence[tuple[_Res, EntryPoint]]) -> tuple[_Res, EntryPoint]:
        """Wait for the first of these running calls to answer (or to reach the end of
        its budget, when the engine kills it)."""
        while True:
            now = time.monotonic()
            ready: list[tuple[float, int, tuple[_Res, EntryPoint]]] = []
            for order, call in enumerate(running):
                launched = self._launched[(call[0].name, call[1], None)]
                deadline = launched.started + launched.budget
                if launched.proc is None:
                    ready.append((launched.started, order, call))
                elif launched.ended is not None:
                    ready.append((launched.ended, order, call))
                elif now >= deadline:
                    ready.append((deadline, order, call))
            if ready:
                return min(ready)[2]
            time.sleep(ANSWER_POLL)

    def _drop_unused(self) -> None:
        """Collect entry points started with a batch that the engine then did not act on
        (an earlier answer changed the plan): VCS would have run them all the same."""
        for key in list(self._launched):
            r = self._res[key[0]]
            self._call(r, key[1], key[2])

    def _launch(
        self, r: _Res, entry: EntryPoint, reason: CleanReason | None, argv: Sequence[str]
    ) -> _Launched:
        """Start one entry point in its own session. Output goes to a file, not a pipe, so
        daemons it leaves behind cannot hold us."""
        command = [str(r.agent_dir / entry.value), *argv]
        budget = self._budget(r, entry)
        out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _collect or close()
        started, wall = time.monotonic(), time.time()
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self._env,
                start_new_session=True,
            )
        except OSError as error:
            why = f"cannot run {command[0]}: {error}"
            return _Launched(None, out, started, wall, budget, tuple(argv), why)
        launched = _Launched(proc, out, started, wall, budget, tuple(argv))
        threading.Thread(target=_stamp_end, args=(launched, proc), daemon=True).start()
        return launched

    @staticmethod
    def _collect(launched: _Launched) -> tuple[CallResult, str]:
        """Wait for an entry point until its budget (counted from its start) runs out, then
        SIGKILL its process group."""
        with launched.out as out:
            proc = launched.proc
            if proc is None:
                return CallResult(None, 0.0, False, launched.error, launched.wall), ""
            timed_out = False
            left = launched.started + launched.budget - time.monotonic()
            try:
                code: int | None = proc.wait(timeout=max(left, 0.0))
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                timed_out, code = True, None
            finally:
                if proc.poll() is None:
                    _kill_group(proc)
            ended = launched.ended
            if timed_out or ended is None:  # its waiter has not stamped it yet
                ended = time.monotonic()
            seconds = ended - launched.started
            out.seek(0)
            text = out.read().decode("utf-8", "replace")[-OUTPUT_TAIL:]
        if code is not None and code < 0:  # killed by a signal from elsewhere
            code = None
        return CallResult(code, seconds, timed_out, wall=launched.wall), text.strip()

    # --- resource behaviour --------------------------------------------------------------

    def _start_online(self, r: _Res) -> None:
        self._begin_online(r)
        self._end_online(r, self._call(r, EntryPoint.ONLINE))

    def _begin_online(self, r: _Res) -> None:
        self._set_state(r, ResState.GOING_ONLINE, "online called")
        r.monitors_since_online = 0
        r.online_wait = 0
        r.unknown = False

    def _end_online(self, r: _Res, event: Event) -> None:
        if event.timed_out:
            self._clean(r, CleanReason.ONLINE_TIMED_OUT)
            return
        r.due = self.now() + max(0, event.code or 0)

    def _start_offline(self, r: _Res) -> None:
        self._begin_offline(r)
        self._end_offline(r, self._call(r, EntryPoint.OFFLINE))

    def _begin_offline(self, r: _Res) -> None:
        self._set_state(r, ResState.GOING_OFFLINE, "offline called")
        r.offline_wait = 0

    def _end_offline(self, r: _Res, event: Event) -> None:
        if event.timed_out:
            self._clean(r, CleanReason.OFFLINE_TIMED_OUT)
            return
        r.due = self.now() + max(0, event.code or 0)

    def _clean(self, r: _Res, reason: CleanReason) -> None:
        retry = r.clean_pending is not None
        r.clean_pending = reason
        if retry:
            r.clean_retries += 1
        event = self._call(r, EntryPoint.CLEAN, reason)
        if event.code == 0 and not event.timed_out:
            r.clean_pending, r.clean_failures, r.admin_wait = None, 0, False
            self._after_clean(r, reason)
            return
        r.clean_failures += 1
        self._announce(r, "clean failed")
        limit = r.params.clean_retry_limit
        if limit > 0 and r.clean_failures >= limit:  # CleanRetryLimit calls, no more
            r.admin_wait = True
            self._announce(r, f"clean failed {r.clean_failures} times")
        else:
            self._note(
                EventKind.NOTE,
                r.group,
                r.name,
                f"clean failed (failure {r.clean_failures}); retried after the next monitor",
            )
        r.due = self.now() + r.params.monitor_interval

    def _after_clean(self, r: _Res, reason: CleanReason) -> None:
        p = r.params
        if reason in (CleanReason.OFFLINE_TIMED_OUT, CleanReason.OFFLINE_INEFFECTIVE):
            self._set_state(r, ResState.OFFLINE, f"cleaned: {reason.text}")
            self._schedule(r, self.now())
            return
        if reason in (CleanReason.ONLINE_TIMED_OUT, CleanReason.ONLINE_INEFFECTIVE):
            if r.restarting:
                self._restart_or_fault(r, reason)
            elif r.online_retries < p.online_retry_limit:
                r.online_retries += 1
                self._note(
                    EventKind.RESTART,
                    r.group,
                    r.name,
                    f"online retry {r.online_retries} of {p.online_retry_limit}",
                )
                self._start_online(r)
            else:
                self._fault(r, reason)
            return
        self._restart_or_fault(r, reason)

    def _restart_or_fault(self, r: _Res, reason: CleanReason) -> None:
        if r.restarts < r.params.restart_limit:
            r.restarts += 1
            r.restarting = True
            r.stable_since = self.now()
            self._note(
                EventKind.RESTART,
                r.group,
                r.name,
                f"local restart {r.restarts} of {r.params.restart_limit} ({reason.text})",
            )
            self._start_online(r)
        else:
            self._fault(r, reason)

    def _fault(self, r: _Res, reason: CleanReason) -> None:
        r.restarting = False
        r.tolerance = r.monitor_timeouts = r.online_wait = r.offline_wait = 0
        self._set_state(r, ResState.FAULTED, reason.text)
        self._schedule(r, self.now())
        grp = self._groups[r.group]
        critical = self._critical_path(r)
        if not critical:
            self._note(
                EventKind.NOTE,
                grp.name,
                r.name,
                "not critical (nor anything that requires it): the group is not failed over",
            )
            return
        if grp.moving:
            return
        if grp.target is _Want.OFFLINE:
            self._note(EventKind.NOTE, grp.name, r.name, "group is going offline: no failover")
            return
        if grp.node not in grp.faulted_on:
            grp.faulted_on.append(grp.node)
        target = next((s for s in grp.systems if s != grp.node and s not in grp.faulted_on), None)
        grp.moving, grp.move_kind = True, EventKind.FAILOVER
        grp.moving_to = target if grp.auto_failover else None
        why = f"critical resource {r.name} faulted on {grp.node}; " + (
            f"failing over to {grp.moving_to}"
            if grp.moving_to
            else ("AutoFailOver is 0" if not grp.auto_failover else "no system left")
        )
        self._note(EventKind.FAULT, grp.name, r.name, why, node=grp.node)

    def _critical_path(self, r: _Res) -> bool:
        seen: set[str] = set()
        todo = [r.name]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            rec = self._res[name]
            if rec.critical and rec.enabled:
                return True
            todo += self._parents[name]
        return False

    def _monitor(self, r: _Res) -> Event:
        started = self.now()
        actions = r.actions
        event = self._call(r, EntryPoint.MONITOR)
        r.monitors_since_online += 1
        result: MonitorResult | None = None
        if event.timed_out:
            r.last_code, r.last_timed_out = None, True
        elif event.code is None:
            r.last_code, r.last_timed_out = None, False
            result = MonitorResult.UNKNOWN
        else:
            r.last_code, r.last_timed_out = event.code, False
            r.monitor_timeouts = 0
            result = classify_monitor(event.code)
        if result is MonitorResult.INTENTIONAL_OFFLINE and not r.params.intentional_offline:
            result = MonitorResult.OFFLINE
        if r.clean_pending is not None:
            if not r.admin_wait:
                self._clean(r, r.clean_pending)
            else:
                self._schedule(r, started)
            return event
        self._react(r, result)
        if r.actions == actions:
            self._schedule(r, started)
        self._announce(r, f"monitor answered {monitor_word(event.code, event.timed_out)}")
        return event

    def _react(self, r: _Res, result: MonitorResult | None) -> None:
        p = r.params
        now = self.now()
        online = result is MonitorResult.ONLINE
        r.unknown = result is MonitorResult.UNKNOWN
        if r.state is ResState.UNPROBED:
            # A probe that answers unknown or times out leaves the resource unprobed, and
            # VCS starts nothing of its group on this system until a later monitor (every
            # OfflineMonitorInterval) tells (Agent Developer's Guide, "probing").
            r.probe_failed = result in (None, MonitorResult.UNKNOWN)
            if online:
                r.stable_since = now
                self._set_state(r, ResState.ONLINE, "probed")
            elif not r.probe_failed:
                self._set_state(r, ResState.OFFLINE, "probed")
            else:
                self._announce(r, "probe gave no answer: still not probed")
        elif r.state is ResState.GOING_ONLINE:
            if online:
                r.online_wait, r.restarting, r.online_retries = 0, False, 0
                r.stable_since = now
                self._set_state(r, ResState.ONLINE, "monitor confirmed online")
            else:
                r.online_wait += 1
                if r.online_wait > p.online_wait_limit:
                    self._clean(r, CleanReason.ONLINE_INEFFECTIVE)
        elif r.state is ResState.GOING_OFFLINE:
            if result in (MonitorResult.OFFLINE, MonitorResult.INTENTIONAL_OFFLINE):
                self._set_state(r, ResState.OFFLINE, "monitor confirmed offline")
            else:
                r.offline_wait += 1
                if r.offline_wait > p.offline_wait_limit:
                    self._clean(r, CleanReason.OFFLINE_INEFFECTIVE)
        elif r.state is ResState.ONLINE:
            self._react_online(r, result)
        elif r.state is ResState.OFFLINE and online:
            r.stable_since = now
            self._set_state(r, ResState.ONLINE, "reported online outside the engine")

    def _react_online(self, r: _Res, result: MonitorResult | None) -> None:
        p = r.params
        now = self.now()
        if result is None:  # timed out
            r.monitor_timeouts += 1
            r.stable_since = now
            limit = p.fault_on_monitor_timeouts
            self._note(
                EventKind.NOTE,
                r.group,
                r.name,
                f"monitor timeout {r.monitor_timeouts}"
                + (f" of {limit}" if limit else " (FaultOnMonitorTimeouts 0: ignored)"),
            )
            if limit > 0 and r.monitor_timeouts >= limit:
                r.monitor_timeouts = 0
                self._note(EventKind.FAULT, r.group, r.name, CleanReason.MONITOR_HUNG.text)
                self._clean(r, CleanReason.MONITOR_HUNG)
            return
        if result is MonitorResult.ONLINE:
            quiet = now - r.stable_since >= p.conf_interval
            if quiet and (r.tolerance or r.restarts or r.monitor_timeouts):
                r.tolerance = r.restarts = r.monitor_timeouts = 0
                self._note(
                    EventKind.NOTE,
                    r.group,
                    r.name,
                    f"online for ConfInterval ({p.conf_interval} s): problem counters cleared",
                )
            return
        if result is MonitorResult.INTENTIONAL_OFFLINE:
            self._set_state(r, ResState.OFFLINE, "intentional offline")
            return
        if result is MonitorResult.OFFLINE:
            r.tolerance += 1
            r.stable_since = now
            if r.tolerance > p.tolerance_limit:
                r.tolerance = 0
                self._note(EventKind.FAULT, r.group, r.name, CleanReason.UNEXPECTED_OFFLINE.text)
                self._clean(r, CleanReason.UNEXPECTED_OFFLINE)
            else:
                self._note(
                    EventKind.NOTE,
                    r.group,
                    r.name,
                    f"offline result tolerated ({r.tolerance} of ToleranceLimit "
                    f"{p.tolerance_limit})",
                )

    def _schedule(self, r: _Res, started: float) -> None:
        if not r.enabled:
            r.due = None
            return
        steady_offline = r.state in (ResState.OFFLINE, ResState.FAULTED, ResState.UNPROBED)
        if steady_offline and r.clean_pending is None:
            interval = r.params.offline_monitor_interval
            r.due = None if interval <= 0 else max(started + interval, self.now())
        else:
            r.due = max(started + r.params.monitor_interval, self.now())

    def _set_state(self, r: _Res, new: ResState, why: str) -> None:
        r.state = new
        self._announce(r, why)

    def _announce(self, r: _Res, why: str) -> None:
        """Log a change of the resource's state text (state and flags) since last time."""
        if r.shown != r.display:
            old, r.shown = r.shown, r.display
            self._add(
                EventKind.RESOURCE, r.group, resource=r.name, old=old, new=r.display, text=why
            )

    # --- groups --------------------------------------------------------------------------

    def _dependents(self, grp: _Grp) -> Iterator[tuple[_Grp, GroupDependency]]:
        for other in self._groups.values():
            for dep in other.group.dependencies:
                if dep.child == grp.name:
                    yield other, dep

    def _group_up(self, grp: _Grp) -> bool:
        """Online for its dependents: every enabled resource ONLINE but non-critical
        faulted ones, at least one ONLINE, nothing in transition, not moving."""
        if grp.moving:
            return False
        members = [r for r in grp.members if r.enabled]
        if any(r.in_transition for r in members):
            return False
        up = [r for r in members if r.state is ResState.ONLINE]
        rest = [r for r in members if r.state is not ResState.ONLINE]
        return bool(up) and all(
            r.state is ResState.FAULTED and not self._critical_path(r) for r in rest
        )

    @staticmethod
    def _group_has_online(grp: _Grp) -> bool:
        """Something of the group is online or on its way, persistent resources apart."""
        return any(
            r.enabled
            and r.may_offline
            and r.state in (ResState.ONLINE, ResState.GOING_ONLINE, ResState.GOING_OFFLINE)
            for r in grp.members
        )

    def _start_gate(self, grp: _Grp) -> bool:
        for dep in grp.group.dependencies:
            child = self._groups[dep.child]
            if dep.category == "offline":
                if self._group_has_online(child):
                    return False
            elif not self._group_up(child):
                return False
        return True

    def _keep_gate(self, grp: _Grp) -> bool:
        """False when a firm or hard child is no longer online: the parent must go down."""
        for dep in grp.group.dependencies:
            child = self._groups[dep.child]
            firm = dep.category == "online" and dep.rigidity in ("firm", "hard")
            gone = child.moving or child.target is not _Want.ONLINE
            if firm and gone and not self._group_up(child):
                return False
        return True

    def _desired(self, grp: _Grp) -> _Want | None:
        if grp.moving:
            return _Want.OFFLINE
        if grp.target is _Want.ONLINE:
            return _Want.ONLINE if self._keep_gate(grp) else _Want.OFFLINE
        return grp.target

    def _next_actions(self) -> list[tuple[_Res, str]]:
        actions: list[tuple[_Res, str]] = []
        for grp in self._groups.values():
            want = self._desired(grp)
            if want is None:
                continue
            members = [r for r in grp.members if r.enabled]
            unprobed = [r for r in members if r.state is ResState.UNPROBED]
            actions += [(r, "probe") for r in unprobed if not r.probe_failed]
            if unprobed:  # nothing starts or stops on a system where a resource is unprobed
                continue
            if want is _Want.ONLINE:
                if not self._start_gate(grp):
                    continue
                for r in members:
                    ready = all(
                        self._res[c].state is ResState.ONLINE and not self._res[c].in_transition
                        for c in self._children[r.name]
                        if self._res[c].enabled
                    )
                    if (
                        r.state is ResState.OFFLINE
                        and r.clean_pending is None
                        and ready
                        and r.may_online
                    ):
                        actions.append((r, "online"))
            else:
                if not self._offline_gate(grp):
                    continue
                for r in reversed(members):
                    clear = all(
                        self._res[p].state in (ResState.OFFLINE, ResState.FAULTED)
                        and not self._res[p].in_transition
                        for p in self._parents[r.name]
                        if self._res[p].enabled and self._res[p].may_offline
                    )
                    if (
                        r.state is ResState.ONLINE
                        and r.clean_pending is None
                        and clear
                        and r.may_offline
                    ):
                        actions.append((r, "offline"))
        return actions

    def _offline_gate(self, grp: _Grp) -> bool:
        """A group going offline waits for dependents that are going offline too."""
        for parent, dep in self._dependents(grp):
            if dep.category != "online":
                continue
            if self._desired(parent) is _Want.OFFLINE and self._group_has_online(parent):
                return False
        return True

    def _advance_groups(self) -> bool:
        acted = False
        for grp in self._groups.values():
            if (
                grp.moving
                and not any(
                    r.enabled
                    and (
                        r.in_transition
                        or (r.state is ResState.ONLINE and r.may_offline)
                        or r.clean_pending is not None
                    )
                    for r in grp.members
                )
                and not self._firm_dependents_up(grp)
            ):
                self._complete_move(grp)
                acted = True
        # Everything the groups need now starts together, as VCS's agent threads run it.
        actions = self._next_actions()
        for r, what in actions:
            if what == "online":
                self._begin_online(r)
            elif what == "offline":
                self._begin_offline(r)
        entries = {"probe": EntryPoint.MONITOR, "online": EntryPoint.ONLINE}
        batch = [(r, entries.get(what, EntryPoint.OFFLINE)) for r, what in actions]
        for r, entry in self._as_they_answer(batch):
            if entry is EntryPoint.MONITOR:
                self._monitor(r)
            elif entry is EntryPoint.ONLINE:
                self._end_online(r, self._call(r, EntryPoint.ONLINE))
            else:
                self._end_offline(r, self._call(r, EntryPoint.OFFLINE))
            acted = True
        self._drop_unused()
        return acted

    def _firm_dependents_up(self, grp: _Grp) -> bool:
        """A group leaves its system only after the groups that require it firm or hard."""
        return any(
            dep.category == "online"
            and dep.rigidity in ("firm", "hard")
            and self._group_has_online(parent)
            for parent, dep in self._dependents(grp)
        )

    def _complete_move(self, grp: _Grp) -> None:
        old = grp.node
        grp.moving = False
        if grp.moving_to is None:
            grp.target = None
            self._note(EventKind.FAULT, grp.name, text="group is offline and FAULTED", node=old)
            return
        grp.node = grp.moving_to
        grp.moving_to = None
        for r in grp.members:
            r.tolerance = r.restarts = r.monitor_timeouts = r.online_retries = 0
            r.restarting = False
            if r.state is ResState.FAULTED:
                self._set_state(r, ResState.OFFLINE, f"not faulted on {grp.node}")
        grp.target = _Want.ONLINE
        kind = grp.move_kind
        self._note(kind, grp.name, text=f"{old} -> {grp.node}", node=grp.node)

    def _group_text(self, grp: _Grp) -> str:
        members = [r for r in grp.members if r.enabled]
        up = sum(1 for r in members if r.state is ResState.ONLINE)
        up_here = sum(1 for r in members if r.state is ResState.ONLINE and r.may_offline)
        moving = any(r.in_transition for r in members)
        if members and up == len(members):
            text = "ONLINE"
        elif up_here == 0 and not any(r.state is ResState.GOING_OFFLINE for r in members):
            text = "OFFLINE"  # persistent resources (a NIC) stay up under an offline group
        else:
            text = "PARTIAL"
        if grp.node in grp.faulted_on or any(r.state is ResState.FAULTED for r in members):
            text += "|FAULTED"
        if moving or grp.moving:
            going_up = any(r.state is ResState.GOING_ONLINE for r in members)
            text += "|STARTING" if going_up and not grp.moving else "|STOPPING"
        return text

    def _note_groups(self) -> None:
        for grp in self._groups.values():
            text = self._group_text(grp)
            if text != grp.shown_state:
                self._add(EventKind.GROUP, grp.name, old=grp.shown_state, new=text, node=grp.node)
                grp.shown_state = text

    # --- event log -----------------------------------------------------------------------

    def _note(
        self, kind: EventKind, group: str, resource: str = "", text: str = "", node: str = ""
    ) -> Event:
        return self._add(kind, group, resource=resource, text=text, node=node)

    def _add(
        self,
        kind: EventKind,
        group: str,
        *,
        resource: str = "",
        entry: str = "",
        code: int | None = None,
        seconds: float | None = None,
        timed_out: bool = False,
        reason: CleanReason | None = None,
        old: str = "",
        new: str = "",
        node: str = "",
        text: str = "",
        argv: tuple[str, ...] = (),
        output: str = "",
        wall: float | None = None,
    ) -> Event:
        event = Event(
            len(self._events),
            self.now(),
            time.time() if wall is None else wall,
            kind,
            group,
            resource,
            entry,
            code,
            seconds,
            timed_out,
            reason,
            old,
            new,
            node,
            text,
            argv,
            output,
        )
        self._events.append(event)
        if self._on_event is not None:
            self._on_event(event)
        return event


def _stamp_end(launched: _Launched, proc: subprocess.Popen[bytes]) -> None:
    """Note when an entry point exits (its agent thread's answer arrives), so the engine
    can take answers in the order they came even while it was busy with another."""
    proc.wait()
    launched.ended = time.monotonic()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


# --- CLI --------------------------------------------------------------------------------


def load_configuration(main_cf: Path) -> Configuration:
    """Read main.cf and the files it includes with jescore.tooling.vcsconf.parse_many.

    Includes are looked up next to main.cf, as VCS looks in its configuration directory.
    One that is not there but names a types file this project generates
    (SunJESMsgTypes50.cf, ...) is read from jescore.tooling.typesfile; any other missing include
    (the bundled types.cf) is only recorded, and its resources get no type definition.
    """
    from jescore.result import Failure
    from jescore.tooling import typesfile, vcsconf

    try:
        texts = [(main_cf.name, main_cf.read_text())]
    except OSError as error:
        raise EngineError(f"{main_cf}: {error.strerror}") from error
    generated = typesfile.all_files()
    first = vcsconf.parse(texts[0][1])
    if isinstance(first, Failure):
        raise EngineError(f"{main_cf}: {first.failure()}")
    for name in first.unwrap().includes:
        path = Path(name) if Path(name).is_absolute() else main_cf.parent / name
        if path.is_file():
            texts.append((name, path.read_text()))
        elif Path(name).name in generated:
            texts.append((name, generated[Path(name).name]))
    whole = vcsconf.parse_many(texts)
    if isinstance(whole, Failure):
        raise EngineError(str(whole.failure()))
    return whole.unwrap()


def _env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stubs.vcsengine",
        description="Stand-in VCS engine: drive installed agent entry points as VCS does.",
    )
    parser.add_argument("--config", type=Path, required=True, help="main.cf")
    parser.add_argument("--agents-dir", type=Path, required=True, help="DIR/<Type>/<entry>")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="time scale: 0.05 turns 60 s into 3 s; 0 virtual"
    )
    parser.add_argument("--timeout-scale", type=float, default=1.0, help="scales entry budgets")
    parser.add_argument(
        "--for",
        dest="run_for",
        type=float,
        default=0.0,
        help="keep monitoring this many wall-clock seconds afterwards (engine seconds at scale 0)",
    )
    parser.add_argument(
        "--limit",
        type=float,
        default=600.0,
        help="wall-clock seconds a command may wait for the groups to settle (default 600)",
    )
    parser.add_argument("--env", type=_env_pair, action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--color", action="store_true", help="colour the state words")
    parser.add_argument("--events", action="store_true", help="print events as they happen")
    parser.add_argument(
        "command",
        choices=["status", "online-all", "offline-all", "online", "offline", "switch"],
    )
    parser.add_argument("group", nargs="?")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("online", "offline", "switch") and not args.group:
        print(f"{args.command} needs a group name", file=sys.stderr)
        return 2
    try:
        config = load_configuration(args.config)
    except EngineError as error:
        print(f"configuration: {error}", file=sys.stderr)
        return 2

    def show(event: Event) -> None:
        print(format_event(event), flush=True)

    try:
        engine = Engine(
            config,
            agents_dir=args.agents_dir,
            env=dict(args.env),
            time_scale=args.scale,
            timeout_scale=args.timeout_scale,
            on_event=show if args.events else None,
        )
    except EngineError as error:
        print(f"configuration: {error}", file=sys.stderr)
        return 2
    with engine:
        try:
            limit = args.limit / args.scale if args.scale > 0 else 7200.0
            ok = _run_command(engine, args.command, args.group, limit)
            if args.run_for > 0:
                engine.run_for(args.run_for / args.scale if args.scale > 0 else args.run_for)
        except EngineError as error:
            print(f"refused: {error}", file=sys.stderr)
            return 1
        print(engine.status(color=args.color), end="")
    return 0 if ok else 1


def _run_command(engine: Engine, command: str, group: str | None, limit: float) -> bool:
    """Each CLI run is a fresh engine: probe everything first, as HAD does at start."""
    engine.probe()
    if command == "status":
        return True
    if command == "online-all":
        engine.online_all(wait=False)
    elif command == "offline-all":
        engine.offline_all(wait=False)
    else:
        assert group is not None
        if command == "online":
            engine.online(group, wait=False, with_children=True)
        elif command == "offline":
            engine.offline(group, wait=False)
        else:
            engine.switch(group, wait=False)
    settled = engine.settle(limit=limit)
    names = [group] if group is not None else [g.name for g in engine.config.groups]
    wanted = "OFFLINE" if command.startswith("offline") else "ONLINE"
    return settled and all(engine.group_state(name) == wanted for name in names)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through Engine.close(): nothing left running


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)
    sys.exit(main())
