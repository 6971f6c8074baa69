"""jescore: the pure policy core of the jesagent VCS agents (no I/O).
from jescore.typenames import TYPE_CHECKING

Its public API for embedders (other Python tools that use the agents' decisions) is
jescore.api; the names of jescore.api are also available here. They are imported on
first use: every VCS entry point call is a new process that imports jescore, and must
not pay for jescore.api. See docs/api.md.
"""

from __future__ import annotations

from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from jescore.api import *  # noqa: F403 - the same names, for the type checker

__all__ = [  # the names of jescore.api.__all__ (a test keeps the two equal)
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


def __getattr__(name: str) -> object:
    """The names of jescore.api, imported on first use."""
    if name in __all__:
        from jescore import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
