"""How a monitor cycle reaches its verdict, and how time and cycles are shared out.

The whole monitor policy, common to the three resource types, is here as data and small
pure functions: the verdict table, the reading of MonitorProgram's exit code, when the
second level is due, and how much time each step may take.
"""

from __future__ import annotations

import enum

from jescore.policy.vcs import MonitorCode
from jescore.record import record, replace


class State(enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


@record
class Verdict:
    state: State
    reason: str
    confidence: int = 100  # percent, for ONLINE only: 10-100 in steps of 10

    @property
    def code(self) -> int:
        """The monitor exit code VCS reads."""
        if self.state is State.OFFLINE:
            return MonitorCode.OFFLINE
        if self.state is State.UNKNOWN:
            return MonitorCode.UNKNOWN
        tenths = max(1, min(10, self.confidence // 10))
        return MonitorCode.OFFLINE + tenths


def online(reason: str, confidence: int = 100) -> Verdict:
    return Verdict(State.ONLINE, reason, confidence)


def offline(reason: str) -> Verdict:
    return Verdict(State.OFFLINE, reason)


def unknown(reason: str) -> Verdict:
    return Verdict(State.UNKNOWN, reason)


# MonitorProgram's exit codes, as the original guide reads them: 110 or 0 online, 100 or 1
# offline, every other value (101-109 included) unknown.
PROGRAM_EXITS: dict[int, State] = {
    110: State.ONLINE,
    0: State.ONLINE,
    100: State.OFFLINE,
    1: State.OFFLINE,
}


def read_program_exit(code: int | None) -> Verdict:
    """MonitorProgram's exit code read by PROGRAM_EXITS; any other code, a signal or a
    timeout (None) is unknown."""
    if code is None:
        return unknown("MonitorProgram did not finish in time")
    state = PROGRAM_EXITS.get(code, State.UNKNOWN)
    return Verdict(state, f"MonitorProgram exited {code}: {state.value}")


class SecondLevel(enum.Enum):
    """What the second level gave this cycle."""

    NOT_DUE = "not due this cycle"
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "could not be judged"


class Next(enum.Enum):
    OFFLINE = "report offline"
    UNKNOWN = "report unknown"
    PROGRAM_OR_ONLINE = "run MonitorProgram if set, else report online"


# The verdict table: (first level found everything, second level) -> what happens next.
# Auditors read this table; docs/policy.md is generated from it.
VERDICT_TABLE: dict[tuple[bool, SecondLevel], Next] = {
    (False, SecondLevel.NOT_DUE): Next.OFFLINE,
    (False, SecondLevel.PASSED): Next.OFFLINE,
    (False, SecondLevel.FAILED): Next.OFFLINE,
    (False, SecondLevel.INCONCLUSIVE): Next.OFFLINE,
    (True, SecondLevel.NOT_DUE): Next.PROGRAM_OR_ONLINE,
    (True, SecondLevel.PASSED): Next.PROGRAM_OR_ONLINE,
    (True, SecondLevel.FAILED): Next.OFFLINE,
    (True, SecondLevel.INCONCLUSIVE): Next.UNKNOWN,
}


def next_step(first_level_ok: bool, second: SecondLevel) -> Next:
    return VERDICT_TABLE[(first_level_ok, second)]


def decide(
    first_level_ok: bool,
    first_level_summary: str,
    second: SecondLevel,
    second_reason: str,
    program: Verdict | None,
) -> Verdict:
    """The monitor verdict. `program` is MonitorProgram's verdict when it ran, None when it
    is not configured (it runs only when the table says so)."""
    match next_step(first_level_ok, second):
        case Next.OFFLINE:
            return offline(second_reason if first_level_ok else first_level_summary)
        case Next.UNKNOWN:
            return unknown(second_reason)
        case Next.PROGRAM_OR_ONLINE:
            return program if program is not None else online(first_level_summary)


@record
class Cycle:
    """This monitor call's place in the SecondLevelMonitor rhythm."""

    position: int  # 1..every; 0 when the second level is off
    due: bool
    to_store: int  # what the next call reads back

    @property
    def until_due(self) -> int | None:
        return None if self.position == 0 else 0 if self.due else self.position


def advance_cycle(stored: int | None, every: int) -> Cycle:
    """Count this monitor cycle: the second level is due on every `every`-th cycle.

    A missing or unreadable count (None, or out of range) restarts the count; it never
    fails the monitor.
    """
    if every <= 0:
        return Cycle(0, False, 0)
    previous = stored if stored is not None and 0 <= stored < every else 0
    position = previous + 1
    due = position == every
    return Cycle(position, due, 0 if due else position)


def unsaved(cycle: Cycle) -> Cycle:
    """When the count cannot be kept, the second level runs on every cycle: a full disk or
    a read-only state directory must never switch the deep check off."""
    return replace(cycle, due=cycle.position > 0)


def cycles_until_due(stored: int | None, every: int) -> int | None:
    """How many monitor calls from now until the second level runs (1 = the next call)."""
    if every <= 0:
        return None
    previous = stored if stored is not None and 0 <= stored < every else 0
    return every - previous


class Phase(enum.Enum):
    """The phases of an entry point that end at a set share of the usable budget."""

    START_COMMAND = "online: the start command may run until"
    STOP_COMMAND = "offline and clean: the stop command may run until"
    STOP_WAIT = "offline and clean: the processes are awaited until"
    TERM = "offline and clean: SIGTERM to what remains, then awaited until"
    KILL = "offline and clean: SIGKILL to what still remains, then awaited until"


# Where each phase ends, as a share of the usable budget (the budget less the margin).
PHASE_ENDS: dict[Phase, float] = {
    Phase.START_COMMAND: 0.6,
    Phase.STOP_COMMAND: 0.5,
    Phase.STOP_WAIT: 0.7,
    Phase.TERM: 0.9,
    Phase.KILL: 1.0,
}

# The margin kept back for logging and exiting after the last step: this share of the
# budget, at least MARGIN_FLOOR and at most MARGIN_CAP seconds, never over half the budget.
MARGIN_SHARE = 0.1
MARGIN_FLOOR = 2.0
MARGIN_CAP = 10.0

ONLINE_POLL_SECONDS = 0.5  # how often online looks for the processes
STOP_POLL_SECONDS = 0.25  # how often offline and clean look again while they wait
READY_PROBE_SECONDS = 2  # each readiness probe's threshold after online
IDENTIFY_SECONDS = 3.0  # the most an identify command (ldapsearch -VV) may take
DEEP_IDENTIFY_SHARE = 0.25  # ... and at most this share of the time left, in monitor
PROBE_REPORT_SECONDS = 1.0  # a probe program's grace beyond its threshold, to report
OUTPUT_LINES_LOGGED = 20  # the last lines of a command's output logged at TRACE
DECRYPT_SECONDS = 10.0  # the most the password helper may take (within the command's limit)
HALOG_SECONDS = 5.0  # the most one log line may wait for halog (never past the watchdog)

# The numbers above, for docs/policy.md: (value, unit, what it governs).
TIMING: tuple[tuple[float, str, str], ...] = (
    (MARGIN_SHARE * 100, "% of the budget", "margin kept back for logging and exiting"),
    (MARGIN_FLOOR, "s", "smallest margin (never over half the budget)"),
    (MARGIN_CAP, "s", "largest margin"),
    (ONLINE_POLL_SECONDS, "s", "online looks for the processes again every"),
    (STOP_POLL_SECONDS, "s", "offline and clean look again every"),
    (READY_PROBE_SECONDS, "s", "threshold of each readiness probe after online"),
    (IDENTIFY_SECONDS, "s", "longest an identify command (ldapsearch -VV) may take"),
    (DEEP_IDENTIFY_SHARE * 100, "% of the time left", "... and no more, in monitor"),
    (PROBE_REPORT_SECONDS, "s", "a probe program runs this long past its threshold"),
    (OUTPUT_LINES_LOGGED, "lines", "of a command's output logged at TRACE"),
    (DECRYPT_SECONDS, "s", "longest the password helper may take, within the command's limit"),
    (HALOG_SECONDS, "s", "longest one log line may wait for halog, never past the watchdog"),
)


@record
class Budget:
    """An entry point's time budget and how it is shared out."""

    seconds: float

    @property
    def margin(self) -> float:
        """Kept back for logging and exiting after the last step (never over half the budget,
        so every phase, and the watchdog after them, still fits in a tiny one)."""
        return min(max(MARGIN_FLOOR, self.seconds * MARGIN_SHARE), MARGIN_CAP, self.seconds / 2)

    @property
    def watchdog_at(self) -> float:
        """Seconds after the start when the entry point gives up and answers anyway."""
        return self.seconds - self.margin / 2

    @property
    def usable(self) -> float:
        return self.seconds - self.margin

    def phase_end(self, phase: Phase) -> float:
        """Seconds after the start when `phase` must be over."""
        return self.usable * PHASE_ENDS[phase]

    @property
    def start_command_until(self) -> float:
        return self.phase_end(Phase.START_COMMAND)

    def step_timeout(self, time_left: float, steps_left: int) -> int | None:
        """Whole seconds one of `steps_left` remaining steps may take, or None if under 1 s.

        Probe thresholds (immonitor-access -I host:port=N, ldapsearch time limits) come from
        here, so a hanging server costs at most its share and the monitor still answers.
        """
        spare = time_left - self.margin
        if steps_left <= 0 or spare < 1:
            return None
        return max(1, int(spare / steps_left))

    def probe_hard_limit(self, threshold: int, time_left: float) -> float:
        """When a probe program is stopped: its threshold plus time to report, never past
        half the margin before the end."""
        return min(threshold + PROBE_REPORT_SECONDS, time_left - self.margin / 2)

    def identify_limit(self, time_left: float) -> float:
        return min(IDENTIFY_SECONDS, max(time_left, 0.1))

    def deep_identify_limit(self, time_left: float) -> float:
        return self.identify_limit(time_left * DEEP_IDENTIFY_SHARE)


@record
class StopTimeline:
    """When each phase of offline/clean ends, in seconds from the entry point's start."""

    command_timeout: float  # msstart -k, stop-slapd, stop-admin
    wait_until: float  # processes should be gone by now
    term_until: float  # after SIGTERM to what remains
    kill_until: float  # after SIGKILL to what still remains


def stop_timeline(budget: Budget) -> StopTimeline:
    return StopTimeline(
        command_timeout=budget.phase_end(Phase.STOP_COMMAND),
        wait_until=budget.phase_end(Phase.STOP_WAIT),
        term_until=budget.phase_end(Phase.TERM),
        kill_until=budget.phase_end(Phase.KILL),
    )
