"""Shared layout, configuration and process lookup of the stand-in Messaging Server.

Everything here is used by the build library (msgserver), by the scripts installed in a
ServerRoot (msstart, the daemons, immonitor-access, configutil) and by the tests, so the
file layout is written down once.

Layout of a stand-in ServerRoot:

    lib/msstart, lib/<daemon>          executables (Python scripts)
    sbin/immonitor-access, sbin/configutil
    config/configutil.conf             key=value lines (ports, switches, domain)
    config/users                       user:password lines (the stand-in's own secret file)
    data/stub.json                     stub-internal timings
    data/proc/<daemon>.pid, data/proc/store
    faults/<fault>                     present = fault injected
    log/<daemon>.log, log/<program>.log

Faults (a file faults/<name> switches one on; most are read when they matter, so they can
be toggled on a running server):

    <daemon>.nostart       the daemon refuses to start
    <daemon>.hang          its listeners accept connections and never answer
    <daemon>.ignore-term   it ignores SIGTERM (msstart -k then fails; SIGKILL still works)
    msstart.hang           msstart sleeps forever
    msstart.ignore-k       msstart -k does nothing and exits 0
    stored.notready        stored reports "init", stored -t -v fails
    smtp.orphan-workers    the MTA's child programs (tcp_smtp_server, tcp_lmtp_server,
                           tcp_smtp_client) outlive their dispatcher / job_controller:
                           when the parent exits (msstart -k smtp, SIGTERM, SIGKILL) they
                           keep running, reparented, until sent SIGTERM or SIGKILL.
                           Read when the parent exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

import psutil

# Every daemon the stand-in can run, in the canonical start order.
DAEMONS: Final[tuple[str, ...]] = (
    "watcher",
    "enpd",
    "stored",
    "imapd",
    "popd",
    "mshttpd",
    "imsched",
    "dispatcher",
    "job_controller",
    "snmpagt",
    "sms_gateway",
    "AService",
)

# Programs a daemon forks as its own children (argv[0] ROOT/lib/<program>, comm <program>),
# as the real MTA does: the dispatcher's SMTP and LMTP servers, and the job controller's
# master program of the tcp_local channel. They are not started on their own.
CHILD_PROGRAMS: Final[Mapping[str, tuple[str, ...]]] = {
    "dispatcher": ("tcp_smtp_server", "tcp_lmtp_server"),
    "job_controller": ("tcp_smtp_client",),
}
PROGRAMS: Final[tuple[str, ...]] = tuple(p for d in DAEMONS for p in CHILD_PROGRAMS.get(d, ()))

# msstart service names -> daemons, in the order start-msg uses.
MSSTART_NAMES: Final[Mapping[str, tuple[str, ...]]] = {
    "watcher": ("watcher",),
    "ens": ("enpd",),
    "store": ("watcher", "stored"),
    "imap": ("imapd",),
    "pop": ("popd",),
    "http": ("mshttpd",),
    "sched": ("imsched",),
    "smtp": ("dispatcher", "job_controller"),
    "mta": ("dispatcher", "job_controller"),
    "dispatcher": ("dispatcher", "job_controller"),
    "job_controller": ("dispatcher", "job_controller"),
    "snmp": ("snmpagt",),
    "sms": ("sms_gateway",),
    "mmp": ("AService",),
}

# What `msstart -k NAME` stops: stopping the store leaves the watcher alone (the core
# resource stops it explicitly with `-k sched store watcher`).
MSSTOP_NAMES: Final[Mapping[str, tuple[str, ...]]] = {
    **MSSTART_NAMES,
    "store": ("stored",),
}

# Daemons that refuse to start unless stored runs and is ready.
NEEDS_STORE: Final[frozenset[str]] = frozenset({"imapd", "popd", "mshttpd"})

# MsgServices key -> configutil key holding its port, per server type.
MSG_PORT_KEYS: Final[Mapping[str, str]] = {
    "core": "local.watcher.port",
    "imap": "service.imap.port",
    "imaps": "service.imap.sslport",
    "pop": "service.pop.port",
    "pops": "service.pop.sslport",
    "http": "service.http.port",
    "https": "service.http.sslport",
    "smtp": "service.smtp.port",
    "lmtp": "service.lmtp.port",
    "ens": "service.ens.port",
    "sms": "service.sms.port",
}
MMP_PORT_KEYS: Final[Mapping[str, str]] = {
    "imap": "service.mmp.imap.port",
    "imaps": "service.mmp.imaps.port",
    "pop": "service.mmp.pop.port",
    "pops": "service.mmp.pops.port",
}
PORT_KEYS: Final[Mapping[str, Mapping[str, str]]] = {"MSG": MSG_PORT_KEYS, "MMP": MMP_PORT_KEYS}

# Fault names that apply to every daemon, and the ones that stand alone (the module
# docstring says what each does).
DAEMON_FAULTS: Final[tuple[str, ...]] = ("nostart", "hang", "ignore-term")
ORPHAN_FAULT: Final = "smtp.orphan-workers"
OTHER_FAULTS: Final[tuple[str, ...]] = (
    "msstart.hang",
    "msstart.ignore-k",
    "stored.notready",
    ORPHAN_FAULT,
)
KNOWN_FAULTS: Final[frozenset[str]] = frozenset(
    {f"{d}.{f}" for d in DAEMONS for f in DAEMON_FAULTS} | set(OTHER_FAULTS)
)

CONFIG_FILE: Final = "config/configutil.conf"
USERS_FILE: Final = "config/users"
SETTINGS_FILE: Final = "data/stub.json"
PROC_DIR: Final = "data/proc"
STORE_FILE: Final = "data/proc/store"
FAULTS_DIR: Final = "faults"
LOG_DIR: Final = "log"

DEFAULT_STOP_TIMEOUT: Final = 10.0
DEFAULT_STORE_READY_DELAY: Final = 0.3


# --- configuration -----------------------------------------------------------------------


def parse_config(text: str) -> dict[str, str]:
    """key=value lines; blank lines and # comments are skipped."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def render_config(values: Mapping[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in sorted(values.items()))


def read_config(root: Path) -> dict[str, str]:
    try:
        return parse_config((root / CONFIG_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace a file in one rename so a reader never sees half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive flock on a lock file, held for the with block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def set_config(root: Path, key: str, value: str) -> None:
    with locked(root / "config" / ".configutil.lock"):
        values = read_config(root)
        values[key] = value
        write_atomic(root / CONFIG_FILE, render_config(values))


def config_port(config: Mapping[str, str], key: str) -> int:
    """The port under key, 0 when unset or not a number (0 = no listener)."""
    try:
        return int(config.get(key, "0"))
    except ValueError:
        return 0


def read_users(root: Path) -> dict[str, str]:
    users: dict[str, str] = {}
    try:
        text = (root / USERS_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return users
    for line in text.splitlines():
        if ":" in line:
            name, _, password = line.partition(":")
            users[name] = password
    return users


def read_settings(root: Path) -> dict[str, float]:
    try:
        raw = json.loads((root / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        raw = {}
    return {
        "store_ready_delay": float(raw.get("store_ready_delay", DEFAULT_STORE_READY_DELAY)),
        "stop_timeout": float(raw.get("stop_timeout", DEFAULT_STOP_TIMEOUT)),
    }


def fault_set(root: Path, fault: str) -> bool:
    return (root / FAULTS_DIR / fault).exists()


# --- store state -------------------------------------------------------------------------


def read_store_state(root: Path) -> tuple[int, str] | None:
    """(pid, "init"|"ready") from data/proc/store, None when missing or garbled."""
    try:
        pid_text, _, state = (root / STORE_FILE).read_text(encoding="utf-8").partition(" ")
        return int(pid_text), state.strip()
    except (FileNotFoundError, ValueError):
        return None


def store_ready(root: Path) -> bool:
    """True when stored of this root runs and reports ready (and no notready fault)."""
    if fault_set(root, "stored.notready"):
        return False
    state = read_store_state(root)
    return state is not None and state[1] == "ready" and state[0] in find_pids(root, "stored")


# --- processes ---------------------------------------------------------------------------


def daemon_path(root: Path, name: str) -> str:
    return str(root / "lib" / name)


def _live_cmdline(proc: psutil.Process) -> list[str]:
    """The command line of a live process; [] for zombies and vanished ones."""
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return []
        return proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def find_pids(root: Path, name: str) -> list[int]:
    """Live, non-zombie processes whose argv[0] is ROOT/lib/<name> (a daemon, or a
    program a daemon forked, running or orphaned)."""
    wanted = daemon_path(root, name)
    found: list[int] = []
    for proc in psutil.process_iter():
        # Read the cheap name first; the daemon sets it before its command line.
        try:
            if proc.name() != name[:15]:
                continue
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        cmdline = _live_cmdline(proc)
        if cmdline and cmdline[0] == wanted:
            found.append(proc.pid)
    return sorted(found)


def find_root_processes(root: Path) -> list[int]:
    """Every live process started from this ServerRoot: daemons (argv[0] under ROOT) and
    scripts run through their interpreter (argv[1] under ROOT)."""
    prefix = str(root) + os.sep
    me = os.getpid()
    found: list[int] = []
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        cmdline = _live_cmdline(proc)
        if any(arg.startswith(prefix) for arg in cmdline[:2]):
            found.append(proc.pid)
    return sorted(found)


def is_gone(pid: int) -> bool:
    """A pid that no longer exists or is a zombie counts as gone."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False


def wait_gone(pids: Sequence[int], timeout: float) -> list[int]:
    """Wait until every pid is gone; return the survivors (empty = all gone)."""
    deadline = time.monotonic() + timeout
    left = [p for p in pids if not is_gone(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if not is_gone(p)]
    return left


def signal_pids(pids: Sequence[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
