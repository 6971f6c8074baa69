"""A real 389 Directory Server instance laid out like a Sun Java System Directory Server.

389 Directory Server is the open-source descendant of the Netscape/Sun ns-slapd, so it
behaves like the Sun product where the SunJESLDAP agent looks: a process
``ns-slapd -D <InstanceRoot> -i <InstanceRoot>/logs/pid``, ``start-slapd`` and
``stop-slapd`` scripts in the InstanceRoot, a pid file left behind after shutdown, and a
``cn=monitor`` entry with a ``version`` attribute.

The instance is built with ``dscreate`` in a private PREFIX tree (the packaged defaults
assume systemd, which these machines do not run), with the configuration directory placed
directly at ``<server_root>/slapd-<id>``: that directory is what ns-slapd reads with -D,
so it *is* the InstanceRoot. dscreate takes about ten seconds (two RSA keys, a start and a
stop), so one instance is built per process and suffix and then copied and re-pointed for
every caller, which takes a fraction of a second.

CLI::

    python -m stubs.dirsrv389 create DIR --port N [--ssl-port M] [--start] [--fresh]
                                         [--show-password]   # prints JSON facts
    python -m stubs.dirsrv389 destroy DIR                    # kills DIR's servers, removes DIR
"""

from __future__ import annotations

import argparse
import atexit
import configparser
import contextlib
import grp
import itertools
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

NS_SLAPD = Path("/usr/sbin/ns-slapd")
DSCREATE = Path("/usr/sbin/dscreate")
SYSTEM_PYTHON = Path("/usr/bin/python3")
PACKAGED_DEFAULTS = Path("/usr/share/dirsrv/inf/defaults.inf")
PACKAGED_SYSCONF = Path("/etc/dirsrv")
PACKAGED_DATA = Path("/usr/share/dirsrv/data")

DEFAULT_SUFFIX = "dc=example,dc=com"
DEFAULT_INSTANCE_ID = "jes"
ROOT_DN = "cn=Directory Manager"
LOOPBACK = "127.0.0.1"

# The secure port ns-slapd is told about when TLS is off: it is not listened on then.
_UNUSED_SECURE_PORT = 636

# dse.ldif and the NSS module list name the directory they live in.
_FILES_NAMING_THE_ROOT = ("dse.ldif", "dse.ldif.bak", "dse.ldif.startOK", "pkcs11.txt")

# Variables that would make Debian's python3 (running dscreate) load the venv's modules.
_VENV_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONUSERBASE")


class DsError(RuntimeError):
    """Building, starting or stopping a 389 instance went wrong; the message says why."""


def ds_available() -> bool:
    """True when the 389 packages this module drives are installed."""
    return NS_SLAPD.is_file() and DSCREATE.is_file() and SYSTEM_PYTHON.is_file()


def pick_free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on the loopback that nothing listens on right now."""
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            ports.append(sock.getsockname()[1])
        return ports


def pick_free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    return pick_free_ports(1)[0]


# ---------------------------------------------------------------------------------------
# The instance


@dataclass(frozen=True)
class DsInstance:
    """One 389 instance in Sun layout: ``<server_root>/slapd-<id>`` is the InstanceRoot."""

    instance_root: Path
    port: int
    ssl_port: int
    suffix: str
    root_dn: str
    root_password: str

    @property
    def server_root(self) -> Path:
        return self.instance_root.parent

    @property
    def pid_file(self) -> Path:
        return self.instance_root / "logs" / "pid"

    @property
    def start_script(self) -> Path:
        return self.instance_root / "start-slapd"

    @property
    def stop_script(self) -> Path:
        return self.instance_root / "stop-slapd"

    @property
    def errors_log(self) -> Path:
        return self.instance_root / "logs" / "errors"

    @property
    def ca_cert(self) -> Path:
        """PEM of the CA that signed the server certificate (for TLS clients)."""
        return self.instance_root / "ca.crt"

    @property
    def ldap_url(self) -> str:
        return f"ldap://{LOOPBACK}:{self.port}"

    def pids(self) -> list[int]:
        """Live (not zombie) ns-slapd processes started with ``-D`` this InstanceRoot."""
        return sorted(_slapd_pids(lambda root: root == _norm(self.instance_root)))

    def pid_from_file(self) -> int | None:
        """The pid recorded in logs/pid, which may be stale: it outlives the server."""
        try:
            text = self.pid_file.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() else None

    def start(self, *, wait: bool = True, timeout: float = 30.0) -> int:
        """Run start-slapd; with ``wait``, also wait until the server answers on its ports.

        Returns start-slapd's exit code (0 started, 1 failed, 2 already running).
        """
        code = _run_script(self.start_script, timeout=timeout)
        if code == 0 and wait and not self.wait_ready(timeout=timeout):
            raise DsError(f"ns-slapd did not come up within {timeout} s\n{self.errors_tail()}")
        return code

    def stop(self, *, timeout: float = 90.0) -> int:
        """Run stop-slapd: 0 stopped, 1 failed, 2 was not running."""
        return _run_script(self.stop_script, timeout=timeout)

    def wait_ready(self, *, timeout: float = 30.0) -> bool:
        """Wait until logs/pid names a live server of this instance and its ports accept."""
        deadline = time.monotonic() + timeout
        ports = [self.port] + ([self.ssl_port] if self.ssl_port else [])
        while time.monotonic() < deadline:
            pid = self.pid_from_file()
            if pid is not None and pid in self.pids() and all(map(_accepts, ports)):
                return True
            time.sleep(0.05)
        return False

    def errors_tail(self, lines: int = 15) -> str:
        """The end of the server's errors log, for failure messages."""
        try:
            text = self.errors_log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no errors log)"
        return "\n".join(text.splitlines()[-lines:])

    def destroy(self) -> None:
        """Kill the server if it runs and remove the whole server root."""
        destroy_tree(self.server_root)

    def describe(self, *, with_password: bool = False) -> dict[str, object]:
        """The facts a caller needs, as plain JSON-able values."""
        facts: dict[str, object] = {
            "server_root": str(self.server_root),
            "instance_root": str(self.instance_root),
            "port": self.port,
            "ssl_port": self.ssl_port,
            "suffix": self.suffix,
            "root_dn": self.root_dn,
            "pid_file": str(self.pid_file),
            "start_slapd": str(self.start_script),
            "stop_slapd": str(self.stop_script),
            "ca_cert": str(self.ca_cert),
        }
        if with_password:
            facts["root_password"] = self.root_password
        return facts


def create_instance(
    base: Path,
    *,
    port: int,
    ssl_port: int = 0,
    suffix: str = DEFAULT_SUFFIX,
    instance_id: str = DEFAULT_INSTANCE_ID,
    fresh: bool = False,
) -> DsInstance:
    """Make ``base/slapd-<instance_id>``, a stopped 389 instance in Sun layout.

    ``base`` becomes the ServerRoot. The server listens on 127.0.0.1:``port`` and, when
    ``ssl_port`` is not 0, speaks TLS on 127.0.0.1:``ssl_port`` with a self-signed
    certificate whose PIN is in the instance's pin.txt (no prompt at start).
    ``fresh`` runs dscreate for this instance instead of copying the per-process template.
    """
    if not ds_available():
        raise DsError(
            f"389 Directory Server is not installed ({NS_SLAPD}); run stubs/install_389.sh"
        )
    if not re.fullmatch(r"[A-Za-z0-9_-]+", instance_id):
        raise ValueError(f"instance id must be letters, digits, - or _: {instance_id!r}")
    base = Path(os.path.abspath(base))
    instance_root = base / f"slapd-{instance_id}"
    if instance_root.exists():
        raise DsError(f"{instance_root} already exists")
    base.mkdir(parents=True, exist_ok=True)
    if fresh:
        root_password = secrets.token_urlsafe(18)
        _dscreate(instance_root, suffix=suffix, instance_id=instance_id, password=root_password)
    else:
        template = _template(suffix, instance_id)
        root_password = template.root_password
        _copy_template(template.instance_root, instance_root)
    _configure(instance_root, port=port, ssl_port=ssl_port)
    write_script(instance_root / "start-slapd", render_start_slapd(instance_root))
    write_script(instance_root / "stop-slapd", render_stop_slapd(instance_root))
    return DsInstance(
        instance_root=instance_root,
        port=port,
        ssl_port=ssl_port,
        suffix=suffix,
        root_dn=ROOT_DN,
        root_password=root_password,
    )


def destroy_tree(server_root: Path) -> None:
    """Kill every ns-slapd serving an instance under ``server_root``, then remove it."""
    server_root = Path(os.path.abspath(server_root))
    inside = _norm(server_root) + os.sep
    _kill_and_wait(_slapd_pids(lambda root: root.startswith(inside)))
    if server_root.exists():
        shutil.rmtree(server_root)


# ---------------------------------------------------------------------------------------
# start-slapd and stop-slapd

# Shell functions both scripts use. A zombie keeps its pid and its name but loses its
# command line, so "serves this instance" is only decidable for live processes.
_SCRIPT_FUNCTIONS = r"""
PIDFILE="$INSTANCE_ROOT/logs/pid"

# Prints the state letter (R, S, Z, ...) of PID when it is an ns-slapd, else nothing.
slapd_state() {
    stat=
    { read -r stat < "/proc/$1/stat"; } 2>/dev/null
    case $stat in
        *"(ns-slapd) "*) rest=${stat##*") "}; printf '%s\n' "${rest%% *}" ;;
    esac
}

# True when PID is a live (not zombie) ns-slapd started with -D for this instance.
serves_here() {
    case $(slapd_state "$1") in
        '' | Z | X | x) return 1 ;;
    esac
    { tr '\000' '\n' < "/proc/$1/cmdline"; } 2>/dev/null |
        SLAPD_ROOT="$INSTANCE_ROOT" awk '
            BEGIN { root = ENVIRON["SLAPD_ROOT"] }
            prev == "-D" && ($0 == root || $0 == root "/") { hit = 1 }
            { prev = $0 }
            END { exit !hit }'
}

# The live ns-slapd processes of this instance, one pid a line.
running_pids() {
    for dir in /proc/[0-9]*; do
        stat=
        { read -r stat < "$dir/stat"; } 2>/dev/null
        case $stat in
            *"(ns-slapd) "*) serves_here "${dir#/proc/}" && printf '%s\n' "${dir#/proc/}" ;;
        esac
    done
    return 0
}
"""

_START_BODY = r"""
if [ -n "$(running_pids)" ]; then
    echo "start-slapd: the server is already running" >&2
    exit 2
fi

# A predecessor that has exited but not been reaped yet still holds the instance lock,
# and ns-slapd refuses to start "because it is already running". Give its reaper time.
lingers() {
    for pid in $(cat "$PIDFILE" 2>/dev/null) $(ls "$INSTANCE_ROOT/lock/server" 2>/dev/null); do
        case $pid in '' | *[!0-9]*) continue ;; esac
        case $(slapd_state "$pid") in Z | X | x) return 0 ;; esac
    done
    return 1
}
tries=100
while lingers && [ "$tries" -gt 0 ]; do
    sleep 0.1
    tries=$((tries - 1))
done

# The old pid file outlives its server; ns-slapd writes a new one once it listens.
rm -f "$PIDFILE"
# The daemon keeps the launcher's stdout and stderr: send them to a file, or a caller
# reading this script's output would wait for the server to exit.
OUT="$INSTANCE_ROOT/logs/ns-slapd.out"
if ! "$NS_SLAPD" -D "$INSTANCE_ROOT" -i "$PIDFILE" "$@" < /dev/null > "$OUT" 2>&1; then
    grep -E ' - (ERR|CRIT|EMERG) - ' "$OUT" >&2
    echo "start-slapd: the server failed to start (see $INSTANCE_ROOT/logs/errors)" >&2
    exit 1
fi
exit 0
"""

_STOP_BODY = r"""
pid=
{ read -r pid < "$PIDFILE"; } 2>/dev/null
case $pid in '' | *[!0-9]*) pid= ;; esac
if [ -z "$pid" ] || ! serves_here "$pid"; then
    echo "stop-slapd: the server is not running" >&2
    exit 2
fi
kill -TERM "$pid" 2>/dev/null
tries=900
while serves_here "$pid"; do
    if [ "$tries" -le 0 ]; then
        echo "stop-slapd: the server (pid $pid) did not stop" >&2
        exit 1
    fi
    sleep 0.1
    tries=$((tries - 1))
done
exit 0
"""


def _script_head(instance_root: Path, title: str, interpreter: str) -> str:
    return (
        f"#!{interpreter}\n"
        f"# {title} for the Directory Server instance in this directory.\n"
        "# Exit codes as Sun's: 0 done, 1 failed, 2 already started/stopped.\n"
        f"INSTANCE_ROOT={shlex.quote(str(instance_root))}\n"
        f"NS_SLAPD={shlex.quote(str(NS_SLAPD))}\n"
    )


def render_start_slapd(
    instance_root: Path, *, preamble: str = "", interpreter: str = "/bin/sh"
) -> str:
    """The text of start-slapd; ``preamble`` runs first (the stand-ins' PIN prompt)."""
    head = _script_head(instance_root, "start-slapd", interpreter)
    return head + _SCRIPT_FUNCTIONS + preamble + _START_BODY


def render_stop_slapd(instance_root: Path) -> str:
    """The text of stop-slapd."""
    return _script_head(instance_root, "stop-slapd", "/bin/sh") + _SCRIPT_FUNCTIONS + _STOP_BODY


def write_script(path: Path, text: str) -> None:
    """Write an executable script readable by its owner only (it may hold a hash)."""
    tmp = path.with_name(f".{path.name}.new")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o700)
    tmp.replace(path)


def _run_script(script: Path, *, timeout: float) -> int:
    done = subprocess.run(
        [str(script)], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
    )
    return done.returncode


# ---------------------------------------------------------------------------------------
# Building with dscreate


@dataclass(frozen=True)
class _Template:
    instance_root: Path
    root_password: str


_templates: dict[tuple[str, str], _Template] = {}
_templates_lock = threading.Lock()
_template_dir: list[Path] = []


def _template(suffix: str, instance_id: str) -> _Template:
    """The process-wide built instance for this suffix, made on first use."""
    with _templates_lock:
        found = _templates.get((suffix, instance_id))
        if found is not None:
            return found
        if not _template_dir:
            _template_dir.append(Path(tempfile.mkdtemp(prefix="ds389-tpl-")))
            atexit.register(destroy_tree, _template_dir[0])
        home = Path(tempfile.mkdtemp(dir=_template_dir[0]))
        root = home / f"slapd-{instance_id}"
        password = secrets.token_urlsafe(18)
        _dscreate(root, suffix=suffix, instance_id=instance_id, password=password)
        made = _Template(instance_root=root, root_password=password)
        _templates[(suffix, instance_id)] = made
        return made


# Runs dscreate with two test-only shortcuts: lib389 counts a zombie as gone (its stop()
# polls until the pid disappears, and here orphans are reaped only every few seconds), and
# the self-signed keys are 2048-bit RSA instead of 4096 (whose prime search takes 1-5 s).
_DSCREATE_RUNNER = """
import runpy, sys
import lib389
import lib389.nss_ssl

lib389.nss_ssl.KEYBITS = 2048

_exists = lib389.pid_exists

def pid_exists(pid):
    try:
        with open("/proc/%d/stat" % int(pid)) as stat:
            if stat.read().rsplit(") ", 1)[1].split()[0] in ("Z", "X", "x"):
                return False
    except (OSError, ValueError, IndexError, TypeError):
        pass
    return _exists(pid)

lib389.pid_exists = pid_exists
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _dscreate(instance_root: Path, *, suffix: str, instance_id: str, password: str) -> None:
    """Run dscreate so that its config directory is ``instance_root``; leave it stopped."""
    # A short private PREFIX keeps dscreate's LDAPI socket path under the 108-byte limit.
    prefix = Path(tempfile.mkdtemp(prefix="ds389-"))
    try:
        (prefix / "share/dirsrv/inf").mkdir(parents=True)
        for part in ("config", "schema"):
            shutil.copytree(PACKAGED_SYSCONF / part, prefix / "etc/dirsrv" / part)
        # Even the short-lived server dscreate starts must listen on the loopback only.
        shutil.copytree(PACKAGED_DATA, prefix / "share/dirsrv/data")
        template_dse = prefix / "share/dirsrv/data/template-dse.ldif"
        template_dse.write_text(
            template_dse.read_text(encoding="utf-8").replace(
                "nsslapd-port: %ds_port%\n",
                "nsslapd-port: %ds_port%\n"
                f"nsslapd-listenhost: {LOOPBACK}\nnsslapd-securelistenhost: {LOOPBACK}\n",
            ),
            encoding="utf-8",
        )
        (prefix / "share/dirsrv/inf/defaults.inf").write_text(
            _defaults_inf(prefix, instance_root), encoding="utf-8"
        )
        ports = pick_free_ports(2)
        inf = prefix / "instance.inf"
        inf.touch(mode=0o600)
        inf.write_text(
            _instance_inf(
                instance_id=instance_id,
                port=ports[0],
                secure_port=ports[1],
                password=password,
                suffix=suffix,
            ),
            encoding="utf-8",
        )
        env = _system_python_env(prefix)
        try:
            done = subprocess.run(
                [str(SYSTEM_PYTHON), "-c", _DSCREATE_RUNNER, str(DSCREATE), "from-file", str(inf)],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DsError(f"dscreate did not finish within {exc.timeout} s") from exc
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
            raise DsError(f"dscreate failed ({done.returncode}):\n{tail}")
    finally:
        # Normally dscreate has stopped its server; this is for when it failed half-way.
        _stop_cleanly(instance_root)
        shutil.rmtree(prefix, ignore_errors=True)


def _defaults_inf(prefix: Path, root: Path) -> str:
    """The packaged defaults.inf with every writable path moved to the instance or PREFIX."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(PACKAGED_DEFAULTS, encoding="utf-8")
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    logs = root / "logs"
    overrides = {
        "with_systemd": "0",
        "with_selinux": "no",
        "enable_rust": "no",
        "prefix": prefix,
        "data_dir": prefix / "share",
        "sysconf_dir": prefix / "etc",
        "initconfig_dir": prefix / "etc/default",
        "local_state_dir": prefix / "var",
        "tmpfiles_d": prefix / "tmpfiles.d",
        "ldapi": prefix / "ldapi",
        # Runs as the calling user (root here, like the seed's ps listing), so the tree
        # can live under a private temp directory.
        "user": user,
        "group": group,
        "config_dir": root,
        "inst_dir": root,
        "cert_dir": root,
        "schema_dir": root / "schema",
        "run_dir": root / "run",
        "lock_dir": root / "lock",
        "pid_file": logs / "pid",
        "log_dir": logs,
        "access_log": logs / "access",
        "audit_log": logs / "audit",
        "error_log": logs / "errors",
        "security_log": logs / "security",
        "db_dir": root / "db",
        # The packaged /dev/shm/slapd-<id> would be shared by all same-named instances.
        "db_home_dir": root / "db",
        "backup_dir": root / "bak",
        "ldif_dir": root / "ldif",
    }
    for key, value in overrides.items():
        parser.set("slapd", key, str(value))
    lines: list[str] = []
    for section in parser.sections():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {value}" for key, value in parser.items(section))
    return "\n".join(lines) + "\n"


def _instance_inf(
    *, instance_id: str, port: int, secure_port: int, password: str, suffix: str
) -> str:
    return (
        "[general]\n"
        "full_machine_name = localhost\n"
        "start = False\n"
        "selinux = False\n"
        "[slapd]\n"
        f"instance_name = {instance_id}\n"
        f"port = {port}\n"
        f"secure_port = {secure_port}\n"
        f"root_dn = {ROOT_DN}\n"
        f"root_password = {password}\n"
        "self_sign_cert = True\n"
        "[backend-userroot]\n"
        f"suffix = {suffix}\n"
        "create_suffix_entry = True\n"
    )


def _system_python_env(prefix: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _VENV_VARIABLES}
    venv = os.environ.get("VIRTUAL_ENV")
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    if venv:
        path = [p for p in path if not p.startswith(venv)]
    env["PATH"] = os.pathsep.join(path or ["/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    env["PREFIX"] = str(prefix)
    return env


def _stop_cleanly(instance_root: Path) -> None:
    """SIGTERM the instance's servers and wait, so the database is closed cleanly."""
    pids = _slapd_pids(lambda root: root == _norm(instance_root))
    _signal_and_wait(pids, signal.SIGTERM, timeout=90.0)
    # Anything still up after that gets no more courtesy.
    _kill_and_wait(_slapd_pids(lambda root: root == _norm(instance_root)))


# ---------------------------------------------------------------------------------------
# Copying and configuring


def _copy_template(source: Path, target: Path) -> None:
    shutil.copytree(source, target, symlinks=True)
    old, new = os.fsencode(source), os.fsencode(target)
    for name in _FILES_NAMING_THE_ROOT:
        path = target / name
        if path.exists():
            path.write_bytes(path.read_bytes().replace(old, new))
    # Start with empty logs and no stale locks, pid file or shared-memory regions.
    for pattern in ("logs/*", "lock/*/*", "run/*", "db/__db.*"):
        for leftover in target.glob(pattern):
            if leftover.is_file() or leftover.is_symlink():
                leftover.unlink()


def _configure(instance_root: Path, *, port: int, ssl_port: int) -> None:
    """Set ports, TLS and loopback-only listening in dse.ldif (server stopped)."""
    settings = {
        "nsslapd-port": str(port),
        "nsslapd-listenhost": LOOPBACK,
        "nsslapd-securelistenhost": LOOPBACK,
        "nsslapd-securePort": str(ssl_port or _UNUSED_SECURE_PORT),
        "nsslapd-security": "on" if ssl_port else "off",
        # Sun DS 5.x had no LDAPI; a socket under a long temp path would not fit anyway.
        "nsslapd-ldapilisten": "off",
        "nsslapd-ldapifilepath": str(instance_root / "run" / "slapd.socket"),
    }
    dse = instance_root / "dse.ldif"
    dse.write_text(
        set_config_attributes(dse.read_text(encoding="utf-8"), settings), encoding="utf-8"
    )
    for stale in ("dse.ldif.bak", "dse.ldif.startOK"):
        with contextlib.suppress(FileNotFoundError):
            (instance_root / stale).unlink()


def set_config_attributes(ldif: str, settings: dict[str, str]) -> str:
    """Replace (or add) single-valued attributes of the ``cn=config`` entry of a dse.ldif."""
    wanted = {name.lower() for name in settings}
    out: list[str] = []
    in_config = skipping = False
    entry_lines = iter(ldif.splitlines())
    for line in entry_lines:
        if line.startswith(" ") and skipping:
            continue  # continuation of a dropped value
        skipping = False
        if line.lower().startswith("dn:"):
            in_config = line[3:].strip().lower() == "cn=config"
        elif in_config and line == "":
            out.extend(f"{name}: {value}" for name, value in settings.items())
            in_config = False
        elif in_config and line.split(":", 1)[0].lower() in wanted:
            skipping = True
            continue
        out.append(line)
    if in_config:
        out.extend(f"{name}: {value}" for name, value in settings.items())
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------
# Processes


def _norm(path: Path | str) -> str:
    return os.path.normpath(os.path.abspath(path))


def _config_dir_of(cmdline: Sequence[str]) -> str | None:
    for flag, value in itertools.pairwise(cmdline):
        if flag == "-D":
            return _norm(value)
    return None


def _slapd_pids(wanted: Callable[[str], bool]) -> set[int]:
    """Live, non-zombie ns-slapd processes whose -D directory passes ``wanted``."""
    found: set[int] = set()
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] != "ns-slapd":
            continue
        with contextlib.suppress(psutil.Error):
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            root = _config_dir_of(proc.cmdline())
            if root is not None and wanted(root):
                found.add(proc.pid)
    return found


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def _signal_and_wait(pids: set[int], sig: signal.Signals, *, timeout: float) -> bool:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_gone(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return all(_gone(pid) for pid in pids)


def _kill_and_wait(pids: set[int]) -> None:
    if pids and not _signal_and_wait(pids, signal.SIGKILL, timeout=10.0):
        raise DsError(f"ns-slapd processes {sorted(pids)} survived SIGKILL")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


def iter_instance_roots(server_root: Path) -> Iterator[Path]:
    """The slapd-* InstanceRoots under a ServerRoot."""
    yield from sorted(p for p in server_root.glob("slapd-*") if (p / "dse.ldif").is_file())


# ---------------------------------------------------------------------------------------
# CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stubs.dirsrv389", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="make DIR/slapd-<id>, print JSON facts")
    create.add_argument("dir", type=Path)
    create.add_argument("--port", type=int, required=True)
    create.add_argument("--ssl-port", type=int, default=0)
    create.add_argument("--suffix", default=DEFAULT_SUFFIX)
    create.add_argument("--instance-id", default=DEFAULT_INSTANCE_ID)
    create.add_argument("--start", action="store_true", help="also start it and wait")
    create.add_argument(
        "--fresh", action="store_true", help="run dscreate for it (in-process template otherwise)"
    )
    create.add_argument(
        "--show-password", action="store_true", help="include the Directory Manager password"
    )
    destroy = commands.add_parser("destroy", help="kill DIR's servers and remove DIR")
    destroy.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "destroy":
            destroy_tree(args.dir)
            return 0
        instance = create_instance(
            args.dir,
            port=args.port,
            ssl_port=args.ssl_port,
            suffix=args.suffix,
            instance_id=args.instance_id,
            fresh=args.fresh,
        )
        if args.start and instance.start() != 0:
            raise DsError(f"start-slapd failed\n{instance.errors_tail()}")
    except DsError as exc:
        print(f"dirsrv389: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(instance.describe(with_password=args.show_password), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
