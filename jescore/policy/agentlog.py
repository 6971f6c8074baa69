"""Agent log lines in the VCS form, filtered by ResLogLevel, with secrets masked.

    2026/11/25 12:00:00 VCS INFO V-16-10000-2001 SunJESMsg:msg1:monitor:text

The clock reading comes in as an argument; writing the line is the shell's business.
"""

from __future__ import annotations

import enum
import re

from jescore.policy.checks import LogLevel
from jescore.policy.vcs import DEBUG_CATEGORY, MESSAGE_CATEGORY
from jescore.record import record
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


_DBG = re.compile(r"(?i:DBG_)([0-9]{1,2})")
VCS_DEBUG_LEVELS = 21  # VCS knows DBG_1 to DBG_21


class Msg(enum.IntEnum):
    """Message ids: stable numbers an administrator can search the log and the docs for."""

    BAD_ARGUMENTS = 1001
    BAD_ATTRIBUTES = 1002
    IGNORED_ARGUMENT = 1003
    SECRET_UNAVAILABLE = 1004
    COMMAND_FAILED = 1010
    COMMAND_TIMED_OUT = 1011
    COMMAND_NOT_RUN = 1012
    RUN = 1013
    STATE_NOT_SAVED = 1020
    START = 2001
    STARTED = 2002
    NOT_STARTED = 2003
    ALREADY_ONLINE = 2004
    STOP = 2010
    STOPPED = 2011
    STOP_ESCALATED = 2012
    ALREADY_OFFLINE = 2013
    CLEAN = 2020
    SIGNAL = 2021
    SIGNAL_SKIPPED = 2022
    CLEAN_LEFT_PROCESSES = 2023
    FIRST_LEVEL = 3001
    SECOND_LEVEL = 3002
    PROBE = 3003
    PROGRAM = 3004
    VERDICT = 3005
    OCF_ANSWER = 3006
    OUTPUT = 4001


_SEVERITY_WORD = {
    LogLevel.ERROR: "ERROR",
    LogLevel.WARN: "WARNING",
    LogLevel.INFO: "INFO",
    LogLevel.TRACE: "INFO",  # VCS knows no trace severity; the level still filters it
}
HALOG_SEVERITY = {LogLevel.ERROR: "E", LogLevel.WARN: "W", LogLevel.INFO: "I", LogLevel.TRACE: "I"}


@record
class LogRecord:
    level: LogLevel
    msg: Msg
    text: str


# LogDbg: which debug messages each level adds (documented in docs/policy.md).
DEBUG_LEVELS: dict[int, str] = {
    1: "each entry point's start and end, with its budget and time taken",
    2: "every command run, its exit code and how long it took",
    3: "the output of every command",
    4: "the process-table scan and the pid files read",
    5: "the argument vector as read (secrets masked) and each probe's time share",
}


def debug_levels(words: Iterable[str]) -> frozenset[int]:
    """The DBG_n levels named in a LogDbg value ("DBG_1 DBG_3", "DBG_5"); others ignored."""
    found: set[int] = set()
    for word in words:
        for part in word.replace(",", " ").split():
            match = _DBG.fullmatch(part)  # digits only: str.isdigit() also takes '²'
            if match and 1 <= int(match.group(1)) <= VCS_DEBUG_LEVELS:
                found.add(int(match.group(1)))
    return frozenset(found)


def unknown_debug_words(words: Iterable[str]) -> tuple[str, ...]:
    """The words of a LogDbg value that name no debug level (they are ignored)."""
    found: list[str] = []
    for word in words:
        for part in word.replace(",", " ").split():
            match = _DBG.fullmatch(part)
            if not match or not 1 <= int(match.group(1)) <= VCS_DEBUG_LEVELS:
                found.append(part)
    return tuple(found)


def format_debug_line(stamp: str, level: int, where: str) -> str:
    """A debug line; `where` is body(type, resource, entry point, text)."""
    return f"{stamp} VCS DBG_{level} V-16-{DEBUG_CATEGORY}-0 {where}"


def wanted(configured: LogLevel, record_level: LogLevel) -> bool:
    return record_level <= configured


def one_line(text: str) -> str:
    """Log lines stay one line: control characters are shown, not obeyed."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def message_id(msg: Msg) -> str:
    return f"V-16-{MESSAGE_CATEGORY}-{int(msg)}"


def body(type_name: str, resource: str, entry: str, text: str) -> str:
    return f"{type_name}:{resource}:{entry}:{one_line(text)}"


def format_line(stamp: str, record: LogRecord, type_name: str, resource: str, entry: str) -> str:
    severity = _SEVERITY_WORD[record.level]
    where = body(type_name, resource, entry, record.text)
    return f"{stamp} VCS {severity} {message_id(record.msg)} {where}"


# Pacemaker's priorities (the ocf_log / ha_log words) for each level.
OCF_PRIORITY = {
    LogLevel.ERROR: "ERROR",
    LogLevel.WARN: "WARNING",
    LogLevel.INFO: "INFO",
    LogLevel.TRACE: "DEBUG",
}


def ocf_tag(type_name: str, resource: str, pid: int) -> str:
    """The ha_log tag: the agent, the resource instance and the process."""
    return f"{type_name}({resource})[{pid}]"


def ocf_message(record: LogRecord, type_name: str, resource: str, entry: str) -> str:
    """A line's message under Pacemaker: the same message id and body as under VCS."""
    return f"{message_id(record.msg)} {body(type_name, resource, entry, record.text)}"


def ocf_debug_message(level: int, type_name: str, resource: str, entry: str, text: str) -> str:
    return f"DBG_{level} {body(type_name, resource, entry, text)}"


def format_ocf_line(tag: str, stamp: str, priority: str, message: str) -> str:
    """A line of HA_LOGFILE, as ha_log writes one."""
    return f"{tag}:\t{stamp} {priority}: {message}"
