"""The VCS script-agent contract, as data: entry points, exit codes, clean reasons, budgets."""

from __future__ import annotations

import enum


class EntryPoint(enum.Enum):
    """The VCS entry points an agent provides: online, offline, monitor, clean."""

    ONLINE = "online"
    OFFLINE = "offline"
    MONITOR = "monitor"
    CLEAN = "clean"


class MonitorCode(enum.IntEnum):
    """Exit codes of the monitor entry point (101-109 are online with lower confidence)."""

    UNKNOWN = 99
    OFFLINE = 100
    ONLINE = 110


class CleanReason(enum.IntEnum):
    """Why VCS calls clean: the argument after the resource name."""

    OFFLINE_TIMED_OUT = 0
    OFFLINE_INEFFECTIVE = 1
    ONLINE_TIMED_OUT = 2
    ONLINE_INEFFECTIVE = 3
    UNEXPECTED_OFFLINE = 4
    MONITOR_HUNG = 5

    @property
    def text(self) -> str:
        return _CLEAN_REASON_TEXT[self]


_CLEAN_REASON_TEXT = {
    CleanReason.OFFLINE_TIMED_OUT: "offline did not finish in time",
    CleanReason.OFFLINE_INEFFECTIVE: "offline did not take the resource offline",
    CleanReason.ONLINE_TIMED_OUT: "online did not finish in time",
    CleanReason.ONLINE_INEFFECTIVE: "online did not bring the resource online",
    CleanReason.UNEXPECTED_OFFLINE: "the resource went offline unexpectedly",
    CleanReason.MONITOR_HUNG: "monitor timed out too many times in a row",
}

CLEAN_SUCCEEDED = 0
CLEAN_FAILED = 1
# online and offline exit with the number of seconds VCS should wait before monitoring.
NO_EXTRA_WAIT = 0

# What each entry point answers when it cannot do its job (bad arguments or attributes,
# out of time): unknown for monitor, never offline, so no failover follows a mistake.
FAILURE_EXIT: dict[EntryPoint, int] = {
    EntryPoint.MONITOR: int(MonitorCode.UNKNOWN),
    EntryPoint.CLEAN: CLEAN_FAILED,
    EntryPoint.ONLINE: NO_EXTRA_WAIT,
    EntryPoint.OFFLINE: NO_EXTRA_WAIT,
}

# VCS's documented defaults, used when the type does not set AEPTimeout = 1.
DEFAULT_TIMEOUT_SECONDS: dict[EntryPoint, int] = {
    EntryPoint.ONLINE: 300,
    EntryPoint.OFFLINE: 300,
    EntryPoint.MONITOR: 60,
    EntryPoint.CLEAN: 60,
}

# The message-id category of this agent suite's log lines (V-16-<category>-<id>).
# Custom agents without a category assigned by the vendor conventionally use 10000.
MESSAGE_CATEGORY = 10000
DEBUG_CATEGORY = 50
