"""What the stand-in VCS engine shows: its event log entries and a `hastatus -sum` view.

Plain data and formatting only, so the view can be rendered (and tested) without running
anything. The engine (stubs.vcsengine) fills these records; nothing here imports it.

Text is plain ASCII laid out in fixed columns, so it reads the same in a terminal and in a
file. Colour (ANSI escapes on the state words) only when the caller asks for it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from jescore.policy.vcs import CleanReason


class EventKind(enum.Enum):
    ENTRY = "entry"  # an entry point ran: entry, code (None when killed), seconds
    RESOURCE = "resource"  # a resource changed state: old -> new
    GROUP = "group"  # a service group changed state: old -> new
    FAULT = "fault"  # a resource or group faulted
    RESTART = "restart"  # a local restart (RestartLimit) or an online retry
    FAILOVER = "failover"  # a group moves to another (simulated) system after a fault
    SWITCH = "switch"  # a group moves on request
    NOTE = "note"  # anything else worth reading: tolerated results, counters cleared, ...


@dataclass(frozen=True)
class Event:
    """One entry of the engine's event log.

    `at` is engine time in VCS seconds since the engine started (virtual when the engine
    runs with time_scale 0, real seconds divided by the scale otherwise); `wall` is the
    host clock (time.time()) when it was recorded.
    """

    seq: int
    at: float
    wall: float
    kind: EventKind
    group: str = ""
    resource: str = ""
    entry: str = ""
    code: int | None = None
    seconds: float | None = None
    timed_out: bool = False
    reason: CleanReason | None = None
    old: str = ""
    new: str = ""
    node: str = ""
    text: str = ""
    argv: tuple[str, ...] = ()  # as given to the entry point, secret attribute values masked
    output: str = ""  # the last lines the entry point printed, if any

    @property
    def line(self) -> str:
        return format_event(self)


_MONITOR_WORDS = {100: "offline", 99: "unknown", 110: "online", 200: "intentional offline"}


def monitor_word(code: int | None, timed_out: bool = False) -> str:
    """What a monitor exit code means, in one word."""
    if timed_out:
        return "timed out"
    if code is None:
        return "-"
    if 101 <= code <= 109:
        return f"online {(code - 100) * 10}%"
    return _MONITOR_WORDS.get(code, "unknown")


def format_event(event: Event) -> str:
    """One log line: engine time, where, what."""
    where = "/".join(part for part in (event.group, event.resource) if part) or "-"
    head = f"{event.at:9.1f}s  {where:<24} "
    if event.kind is EventKind.ENTRY:
        name = event.entry
        if event.reason is not None:
            name += f"({event.reason.value}: {event.reason.text})"
        took = f" ({event.seconds:.2f} s)" if event.seconds is not None else ""
        if event.timed_out:
            result = "killed: timed out"
        elif event.code is None:
            result = f"not run: {event.text}"
        elif event.entry == "monitor":
            result = f"{event.code} {monitor_word(event.code)}"
        else:
            result = str(event.code)
        return f"{head}{name} -> {result}{took}"
    text = f"{event.kind.value}: "
    if event.old or event.new:
        text += f"{event.old or '-'} -> {event.new or '-'}"
        if event.text:
            text += f" ({event.text})"
    else:
        text += event.text
    if event.node:
        text += f" [system {event.node}]"
    return head + text


@dataclass(frozen=True)
class ResourceRow:
    group: str
    type_name: str
    name: str
    state: str
    critical: bool
    enabled: bool
    last_code: int | None
    last_timed_out: bool
    monitors: int  # monitor calls since the last online call
    second_level_in: int | None  # monitor calls until the second level runs; None: off
    restarts: int
    clean_retries: int


@dataclass(frozen=True)
class GroupRow:
    name: str
    node: str
    state: str
    faulted_on: tuple[str, ...]
    systems: tuple[str, ...] = ()  # its SystemList, in priority order
    probed: bool = True  # no resource of the group is NOT PROBED


@dataclass(frozen=True)
class StatusSnapshot:
    at: float
    systems: tuple[str, ...]
    groups: tuple[GroupRow, ...]
    resources: tuple[ResourceRow, ...]


_COLOURS = {"ONLINE": "32", "OFFLINE": "0", "FAULTED": "31", "PARTIAL": "33"}


def _paint(word: str, width: int, color: bool) -> str:
    padded = f"{word:<{width}}"
    if not color:
        return padded
    base = word.split("|", maxsplit=1)[0]
    code = "31" if "FAULTED" in word else _COLOURS.get(base, "33")
    return f"\x1b[{code}m{word}\x1b[0m" + " " * (len(padded) - len(word))


def _table(
    tag: str, head: Sequence[str], rows: Sequence[Sequence[str]], state_col: int, color: bool
) -> list[str]:
    widths = [max([len(head[i])] + [len(row[i]) for row in rows]) for i in range(len(head))]
    lines = ["-- " + "  ".join(f"{h:<{w}}" for h, w in zip(head, widths, strict=True)).rstrip()]
    for row in rows:
        cells = [
            _paint(cell, w, color) if i == state_col else f"{cell:<{w}}"
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append(f"{tag}  " + "  ".join(cells).rstrip())
    return lines


def second_level_text(cycles: int | None) -> str:
    if cycles is None:
        return "off"
    return f"due in {cycles} cycle{'s' if cycles != 1 else ''}"


def _last_monitor(row: ResourceRow) -> str:
    if row.last_timed_out:
        return "- timed out"
    if row.last_code is None:
        return "-"
    return f"{row.last_code} {monitor_word(row.last_code)}"


def render(snap: StatusSnapshot, *, color: bool = False) -> str:
    """`hastatus -sum`'s sections (A systems, B each group on each system of its
    SystemList, C resources failed, D resources not probed), then one the stand-in adds:
    every resource with its last monitor and counters, which hastatus -sum does not show."""
    lines = [f"-- STAND-IN VCS ENGINE (engine time {snap.at:.1f} s)", "", "-- SYSTEM STATE"]
    system_rows = [[name, "RUNNING", "0"] for name in snap.systems]
    lines += _table("A", ["System", "State", "Frozen"], system_rows, 1, color)
    lines += ["", "-- GROUP STATE"]
    group_rows = []
    for g in snap.groups:
        for system in g.systems or (g.node,):
            state = g.state if system == g.node else "OFFLINE"
            if system != g.node and system in g.faulted_on:
                state += "|FAULTED"
            group_rows.append([g.name, system, "Y" if g.probed else "N", "N", state])
    head = ["Group", "System", "Probed", "AutoDisabled", "State"]
    lines += _table("B", head, group_rows, 4, color)
    for tag, title, word in (("C", "FAILED", "FAULTED"), ("D", "NOT PROBED", "NOT PROBED")):
        nodes = {g.name: g.node for g in snap.groups}
        rows = [
            [r.group, r.type_name, r.name, nodes.get(r.group, "")]
            for r in snap.resources
            if r.state.startswith(word)
        ]
        if rows:
            lines += ["", f"-- RESOURCES {title}"]
            lines += _table(tag, ["Group", "Type", "Resource", "System"], rows, 2, color)
    lines += ["", "-- RESOURCE DETAIL (the stand-in engine's own; not in hastatus -sum)"]
    resource_rows = [
        [
            r.group,
            r.type_name,
            r.name,
            r.state if r.enabled else f"{r.state} (disabled)",
            "yes" if r.critical else "no",
            _last_monitor(r),
            str(r.monitors),
            second_level_text(r.second_level_in),
            str(r.restarts),
            str(r.clean_retries),
        ]
        for r in snap.resources
    ]
    head = [
        "Group",
        "Type",
        "Resource",
        "State",
        "Critical",
        "Last monitor",
        "Monitors",
        "Second level",
        "Restarts",
        "Clean retries",
    ]
    lines += _table("R", head, resource_rows, 3, color)
    return "\n".join(lines) + "\n"
