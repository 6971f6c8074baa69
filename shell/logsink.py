"""Writing agent log lines: through halog when VCS is there, else to JESAGENT_LOG, else
to standard error. Every line passes the level filter and the secret mask first."""

from __future__ import annotations

import os
import sys
import time

from jescore.policy.agentlog import (
    HALOG_SEVERITY,
    LogRecord,
    Msg,
    body,
    format_debug_line,
    format_line,
    wanted,
)
from jescore.policy.checks import LogLevel
from jescore.policy.monitoring import HALOG_SECONDS
from jescore.policy.secrets import mask
from shell.run import run_program


def halog_present() -> bool:
    """Whether log lines go to VCS through halog (which then filters debug lines)."""
    return _halog_path() is not None


def _halog_path() -> str | None:
    named = os.environ.get("JESAGENT_HALOG")
    if named:
        return named
    candidate = os.path.join(os.environ.get("VCS_HOME", "/opt/VRTSvcs"), "bin", "halog")
    return candidate if os.access(candidate, os.X_OK) else None


class AgentLog:
    """The log of one entry point call of one resource."""

    def __init__(
        self,
        type_name: str,
        resource: str,
        entry: str,
        level: LogLevel,
        debug: frozenset[int] = frozenset(),
    ) -> None:
        self.type_name = type_name
        self.resource = resource
        self.entry = entry
        self.level = level
        self.debug_levels = debug
        self.deadline: float | None = None  # monotonic; halog is skipped past it
        self._secrets: list[str] = []
        self.lines: list[str] = []  # what this call logged, for explain and the demo

    def add_secret(self, value: str) -> None:
        if value:
            self._secrets.append(value)

    def mask(self, text: str) -> str:
        return mask(text, self._secrets)

    def emit(self, level: LogLevel, msg: Msg, text: str) -> None:
        self._emit(LogRecord(level, msg, text))

    def error(self, msg: Msg, text: str) -> None:
        self._emit(LogRecord(LogLevel.ERROR, msg, text))

    def warn(self, msg: Msg, text: str) -> None:
        self._emit(LogRecord(LogLevel.WARN, msg, text))

    def info(self, msg: Msg, text: str) -> None:
        self._emit(LogRecord(LogLevel.INFO, msg, text))

    def trace(self, msg: Msg, text: str) -> None:
        self._emit(LogRecord(LogLevel.TRACE, msg, text))

    def debug(self, level: int, text: str) -> None:
        """A debug message. Through halog as VCS's own script helpers send them
        (`halog -add TEXT -dbg N`), VCS keeping those its LogDbg names; on the fallback
        routes, only when the LogDbg the agent was given names DBG_<level>."""
        where = body(self.type_name, self.resource, self.entry, self.mask(text))
        line = format_debug_line(time.strftime("%Y/%m/%d %H:%M:%S"), level, where)
        if self._halog((where, "-dbg", str(level))):
            self.lines.append(line)
            return
        if level in self.debug_levels:
            self._write(line, None)

    def _emit(self, record: LogRecord) -> None:
        if not wanted(self.level, record.level):
            return
        record = LogRecord(record.level, record.msg, self.mask(record.text))
        stamp = time.strftime("%Y/%m/%d %H:%M:%S")
        line = format_line(stamp, record, self.type_name, self.resource, self.entry)
        where = body(self.type_name, self.resource, self.entry, record.text)
        severity = HALOG_SEVERITY[record.level]
        self._write(line, (where, "-sev", severity, "-msgid", str(int(record.msg))))

    def _halog(self, arguments: tuple[str, ...]) -> bool:
        """Hand a line to halog (`halog -add TEXT ...`); whether it took it."""
        halog = _halog_path()
        limit = HALOG_SECONDS
        if self.deadline is not None:
            limit = min(limit, self.deadline - time.monotonic())
        if halog is None or limit <= 0:
            return False
        return run_program((halog, "-add", *arguments), timeout=limit).exit_code == 0

    def _write(self, line: str, halog_arguments: tuple[str, ...] | None) -> None:
        self.lines.append(line)
        if halog_arguments is not None and self._halog(halog_arguments):
            return
        target = os.environ.get("JESAGENT_LOG")
        if target and append_line(target, line):
            return
        print(line, file=sys.stderr, flush=True)  # a log line is never lost silently


# Never blocking: a FIFO nobody reads (or whose reader stalled) fails at once, and the
# line goes to standard error; otherwise opening it would wait for a reader forever, past
# the budget and the watchdog, whose own last line goes the same way.
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOCTTY


def append_line(target: str, line: str) -> bool:
    """Append one line to the log file; whether all of it was written."""
    data = f"{line}\n".encode("utf-8", "replace")
    try:
        fd = os.open(target, _APPEND, 0o666)  # the umask decides, as for any log file
    except OSError:
        return False
    try:
        return os.write(fd, data) == len(data)
    except OSError:
        return False
    finally:
        os.close(fd)
