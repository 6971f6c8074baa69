"""The Messaging Server service table: the one place that says, per MsgServices key,
how it is started and stopped, which processes show it is running, and how it is probed.

Entries marked unconfirmed rest on no public source (the process names of the SNMP and
SMS services): correct them here and every decision follows.
"""

from __future__ import annotations

import enum

from jescore.policy.commands import Protocol
from jescore.record import record


class ServerType(enum.Enum):
    MSG = "MSG"
    MMP = "MMP"


class ProbeStyle(enum.Enum):
    STORED = "ServerRoot/lib/stored -t -v"
    IMMONITOR = "immonitor-access synthetic transaction"
    CONNECT = "TCP connect to the service port"
    NONE = "no second level"


@record
class Service:
    key: str
    server_type: ServerType
    start_names: tuple[str, ...]
    stop_names: tuple[str, ...]
    processes: tuple[str, ...]
    with_user: ProbeStyle
    without_user: ProbeStyle
    immonitor_flag: str = ""  # -I, -P, -H, -S, -C
    confirmed: bool = True
    # Programs under ServerRoot/lib that the service's processes start and that may
    # outlive them: offline and clean stop them too, even orphaned.
    helpers: tuple[str, ...] = ()


def _msg(
    key: str,
    name: str,
    processes: tuple[str, ...],
    with_user: ProbeStyle,
    flag: str = "",
    *,
    confirmed: bool = True,
    helpers: tuple[str, ...] = (),
) -> Service:
    without = ProbeStyle.NONE if with_user is ProbeStyle.NONE else ProbeStyle.CONNECT
    return Service(
        key, ServerType.MSG, (name,), (name,), processes, with_user, without, flag, confirmed,
        helpers,
    )  # fmt: skip


def _mmp(key: str, with_user: ProbeStyle, flag: str = "") -> Service:
    return Service(
        key, ServerType.MMP, ("mmp",), ("mmp",), ("AService",), with_user, ProbeStyle.CONNECT, flag
    )


# The MTA's workers: the dispatcher's SMTP and LMTP servers (dispatcher.cnf IMAGE=), and
# the channel master and slave programs job_controller runs (job_controller.cnf
# MASTER_COMMAND / SLAVE_COMMAND defaults), all in ServerRoot/lib.
MTA_HELPERS = (
    "tcp_smtp_server", "tcp_lmtp_server", "tcp_smtp_client", "ims_master", "l_master",
    "bsout_master", "bsin_master", "conversion", "defragment", "reprocess", "bitbucket",
)  # fmt: skip

_IMM = ProbeStyle.IMMONITOR
_TCP = ProbeStyle.CONNECT

SERVICES: tuple[Service, ...] = (
    Service(
        "core", ServerType.MSG, ("store", "sched"), ("sched", "store", "watcher"),
        ("stored", "imsched", "watcher"), ProbeStyle.STORED, ProbeStyle.STORED,
    ),
    _msg("imap", "imap", ("imapd",), _IMM, "-I"),
    _msg("imaps", "imap", ("imapd",), _TCP),
    _msg("pop", "pop", ("popd",), _IMM, "-P"),
    _msg("pops", "pop", ("popd",), _TCP),
    _msg("http", "http", ("mshttpd",), _IMM, "-H"),
    _msg("https", "http", ("mshttpd",), _TCP),
    _msg("smtp", "smtp", ("dispatcher", "job_controller"), _IMM, "-S", helpers=MTA_HELPERS),
    _msg("lmtp", "smtp", ("dispatcher", "job_controller"), _IMM, "-C", helpers=MTA_HELPERS),
    _msg("ens", "ens", ("enpd",), ProbeStyle.NONE),
    _msg("snmp", "snmp", ("snmpagt",), ProbeStyle.NONE, confirmed=False),
    _msg("sms", "sms", ("sms_gateway",), _TCP, confirmed=False),
    _mmp("imap", _IMM, "-I"),
    _mmp("imaps", _TCP),
    _mmp("pop", _IMM, "-P"),
    _mmp("pops", _TCP),
)  # fmt: skip

# The protocol each service speaks, and whether over TLS from the first byte: what the
# native probe says to it (the same for a Messaging Server and a Multiplexor).
NATIVE: dict[str, tuple[Protocol, bool]] = {
    "imap": (Protocol.IMAP, False),
    "imaps": (Protocol.IMAP, True),
    "pop": (Protocol.POP3, False),
    "pops": (Protocol.POP3, True),
    "http": (Protocol.HTTP, False),
    "https": (Protocol.HTTP, True),
    "smtp": (Protocol.SMTP, False),
    "lmtp": (Protocol.LMTP, False),
}

# Other spellings found in the seed guide, read as the service they mean.
ALIASES = {"lmtpt": "lmtp"}
MTA_KEYS = frozenset({"smtp", "lmtp"})  # need MsgHost to be fully qualified
CORE = "core"


def canonical(key: str) -> str:
    lowered = key.strip().lower()
    return ALIASES.get(lowered, lowered)


def lookup(server_type: ServerType, key: str) -> Service | None:
    for service in SERVICES:
        if service.server_type is server_type and service.key == key:
            return service
    return None


def keys_for(server_type: ServerType) -> tuple[str, ...]:
    return tuple(s.key for s in SERVICES if s.server_type is server_type)


ALL_KEYS = frozenset(s.key for s in SERVICES)
# Every process name of a service: a descendant bearing one is that service's, never
# another resource's leftover.
SERVICE_PROCESSES = frozenset(name for s in SERVICES for name in s.processes)
