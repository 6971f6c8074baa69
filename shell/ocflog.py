"""Agent log lines under Pacemaker, the ha_log way: to HA_LOGFILE (debug lines to
HA_DEBUGLOG when set), to syslog at HA_LOGFACILITY (unless "none"), and to standard error,
which pacemaker-execd keeps, when neither is set. The same level filter, secret mask and
message ids as under VCS."""

from __future__ import annotations

import os
import sys
import time

from jescore.policy.agentlog import (
    OCF_PRIORITY,
    LogRecord,
    format_ocf_line,
    ocf_debug_message,
    ocf_message,
    ocf_tag,
    wanted,
)
from jescore.policy.checks import LogLevel
from jescore.typenames import TYPE_CHECKING
from shell.logsink import AgentLog, append_line

if TYPE_CHECKING:
    from collections.abc import Mapping

_SYSLOG_PRIORITY = {"ERROR": "LOG_ERR", "WARNING": "LOG_WARNING", "INFO": "LOG_INFO"}


class OcfLog(AgentLog):
    """The log of one OCF action of one resource."""

    def __init__(self, type_name: str, entry: str, env: Mapping[str, str]) -> None:
        super().__init__(type_name, "?", entry, LogLevel.INFO)
        self.logfile = env.get("HA_LOGFILE", "")
        self.debuglog = env.get("HA_DEBUGLOG", "")
        facility = env.get("HA_LOGFACILITY", env.get("HA_logfacility", "")).strip().lower()
        self.facility = "" if facility == "none" else facility
        self._syslog_open = False

    def _emit(self, record: LogRecord) -> None:
        if not wanted(self.level, record.level):
            return
        record = LogRecord(record.level, record.msg, self.mask(record.text))
        message = ocf_message(record, self.type_name, self.resource, self.entry)
        self._out(OCF_PRIORITY[record.level], message)

    def debug(self, level: int, text: str) -> None:
        """A DBG_<level> line, when the levels asked for (JESAGENT_LOGDBG) include it."""
        if level in self.debug_levels:
            message = ocf_debug_message(
                level, self.type_name, self.resource, self.entry, self.mask(text)
            )
            self._out("DEBUG", message)

    def _out(self, priority: str, message: str) -> None:
        tag = ocf_tag(self.type_name, self.resource, os.getpid())
        line = format_ocf_line(tag, time.strftime("%b %d %H:%M:%S"), priority, message)
        self.lines.append(line)
        sent = False
        if self.facility:
            sent = self._syslog(tag, priority, message)
        target = self.debuglog if priority == "DEBUG" and self.debuglog else self.logfile
        if target:
            sent = append_line(target, line) or sent
        if not sent:
            print(f"{priority}: {message}", file=sys.stderr, flush=True)

    def _syslog(self, tag: str, priority: str, message: str) -> bool:
        import syslog  # only when a facility is set

        facility = getattr(syslog, f"LOG_{self.facility.upper()}", None)
        if not isinstance(facility, int) or not os.path.exists("/dev/log"):
            return False  # no such facility, or no syslog daemon: the line goes elsewhere
        if not self._syslog_open:
            syslog.openlog(tag, 0, facility)
            self._syslog_open = True
        syslog.syslog(getattr(syslog, _SYSLOG_PRIORITY.get(priority, "LOG_DEBUG")), message)
        return True
