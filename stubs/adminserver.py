"""Stand-in Sun Java System Administration Server (5.x) installation for tests and the demo.

build_admin_root() lays out a ServerRoot with start-admin, stop-admin and bin/admin/admconfig.
Started, it runs processes that look like the real ones in ps (see stubs.admindaemon):

    ./uxwdog -e -d ROOT/admin-serv/config        the watchdog (name "uxwdog")
    ns-httpd -d ROOT/admin-serv/config           the server, child of the watchdog
    ns-httpd -d ROOT/admin-serv/config  (x2)     its workers

The server answers admconfig's -getPort task over HTTP or TLS on 127.0.0.1. Faults are files
under ROOT/faults/ that the daemons watch live (see FAULTS), plus kill methods.

CLI: python -m stubs.adminserver build DIR [--port N] [--ssl] [--user U]
                                          [--password-stdin] [--ssl-db-password-stdin]
     python -m stubs.adminserver pids DIR
     python -m stubs.adminserver kill-all DIR
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import http.client
import importlib
import ipaddress
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import psutil

from stubs.admindaemon import (
    FAULT_LISTENER_HANG,
    FAULT_SERVER_DIE,
    FAULT_WATCHDOG_DIE,
    FAULTS,
    SERVER,
    TASK_PATH,
    WATCHDOG,
    Layout,
    Settings,
    check_secret,
    exec_argv,
    hash_secret,
    read_pid_file,
    spawn_detached_watchdog,
)

__all__ = [
    "ADMCONFIG_TIMEOUT",
    "ADMCONFIG_TIMEOUT_ENV",
    "FAULTS",
    "FAULT_LISTENER_HANG",
    "FAULT_SERVER_DIE",
    "FAULT_WATCHDOG_DIE",
    "SERVER",
    "WATCHDOG",
    "StandInAdmin",
    "admconfig_main",
    "build_admin_root",
    "find_pids",
    "kill_all",
    "main",
    "make_self_signed",
    "start_admin_main",
    "stop_admin_main",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
MINIMAL_ENV = {"PATH": "/usr/bin:/bin"}

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
SSL_PROMPT = "Enter SSL database password:"
SSL_PROMPT_TIMEOUT = 60.0
# admconfig never runs longer than this; the environment variable shortens it for tests.
ADMCONFIG_TIMEOUT = 10.0
ADMCONFIG_TIMEOUT_ENV = "JESADM_ADMCONFIG_TIMEOUT"

# admconfig exit codes (the real ones are undocumented): 0 ok, 1 task failed (wrong
# credentials, bad answer), 2 usage, 3 cannot reach the server, 4 timed out.
EXIT_TASK_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_TIMEOUT = 4


# ---------------------------------------------------------------- finding processes


def _config_arg_matches(cmdline: Sequence[str], config_dir: str) -> bool:
    return any(
        arg == "-d" and i + 1 < len(cmdline) and cmdline[i + 1] == config_dir
        for i, arg in enumerate(cmdline)
    )


def find_processes(root: Path) -> dict[str, list[psutil.Process]]:
    """Live (non-zombie) uxwdog and ns-httpd processes of this ServerRoot."""
    config_dir = str(Layout(root.resolve()).config_dir)
    found: dict[str, list[psutil.Process]] = {WATCHDOG: [], SERVER: []}
    for proc in psutil.process_iter(["name", "cmdline", "status"]):
        info = proc.info
        name = info.get("name")
        if name not in found or info.get("status") == psutil.STATUS_ZOMBIE:
            continue
        if _config_arg_matches(info.get("cmdline") or [], config_dir):
            found[name].append(proc)
    return found


def find_pids(root: Path) -> dict[str, list[int]]:
    return {role: sorted(p.pid for p in procs) for role, procs in find_processes(root).items()}


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_gone(procs: Sequence[psutil.Process], timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if _alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if _alive(p)]
    return alive


def _signal_all(procs: Sequence[psutil.Process], sig: signal.Signals) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(sig)


def _is_ours(pid: int | None, role: str, root: Path) -> bool:
    if pid is None:
        return False
    return any(p.pid == pid for p in find_processes(root)[role])


def kill_all(root: Path, timeout: float = 10.0) -> list[int]:
    """SIGKILL every process of this ServerRoot; return the pids still alive after timeout."""
    deadline = time.monotonic() + timeout
    survivors: list[psutil.Process] = []
    # Watchdog first so it cannot start anything; repeat in case something appeared meanwhile.
    while time.monotonic() < deadline:
        found = find_processes(root)
        procs = found[WATCHDOG] + found[SERVER]
        if not procs:
            return []
        _signal_all(found[WATCHDOG], signal.SIGKILL)
        _signal_all(found[SERVER], signal.SIGKILL)
        survivors = _wait_gone(procs, max(0.1, deadline - time.monotonic()))
    return [p.pid for p in survivors]


def _remove_pid_files(layout: Layout) -> None:
    for path in (layout.pid_file, layout.watchdog_pid_file):
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------- certificates


def make_self_signed(cert: Path, key: Path, backend: str | None = None) -> str:
    """Write a throwaway self-signed certificate for localhost/127.0.0.1.

    Uses the `cryptography` package when importable, else the openssl command line.
    Returns the backend used: "cryptography" or "openssl".
    """
    if backend is None:
        try:
            importlib.import_module("cryptography")
            backend = "cryptography"
        except ImportError:
            backend = "openssl"
    cert.parent.mkdir(parents=True, exist_ok=True)
    if backend == "cryptography":
        _self_signed_cryptography(cert, key)
    elif backend == "openssl":
        _self_signed_openssl(cert, key)
    else:
        raise ValueError(f"unknown certificate backend {backend!r}")
    key.chmod(0o600)
    return backend


def _self_signed_cryptography(cert_path: Path, key_path: Path) -> None:
    x509: Any = importlib.import_module("cryptography.x509")
    oid: Any = importlib.import_module("cryptography.x509.oid")
    hashes: Any = importlib.import_module("cryptography.hazmat.primitives.hashes")
    ser: Any = importlib.import_module("cryptography.hazmat.primitives.serialization")
    ec: Any = importlib.import_module("cryptography.hazmat.primitives.asymmetric.ec")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(oid.NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    alt = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(alt, critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem: bytes = key.private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()
    )
    key_path.touch(mode=0o600)
    key_path.write_bytes(key_pem)
    cert_path.write_bytes(cert.public_bytes(ser.Encoding.PEM))


def _self_signed_openssl(cert_path: Path, key_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("need the cryptography package or the openssl command")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key_path),
            "-out",
            str(cert_path),
            "-days",
            "365",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


# ---------------------------------------------------------------- the installation


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_SCRIPT = """#!{python}
# Stand-in for the Sun Administration Server's {name}; generated by stubs.adminserver.
import sys

sys.path.insert(0, {repo!r})
from stubs.adminserver import {func}  # noqa: E402

sys.exit({func}({arg}))
"""


def _write_script(path: Path, name: str, func: str, arg: str) -> None:
    path.write_text(
        _SCRIPT.format(python=sys.executable, name=name, repo=str(REPO_ROOT), func=func, arg=arg)
    )
    path.chmod(0o755)


@dataclass(frozen=True)
class StandInAdmin:
    """A built stand-in ServerRoot, with helpers to drive it and inject faults."""

    root: Path
    port: int
    ssl: bool
    user: str
    password: str = field(repr=False)
    ssl_db_password: str | None = field(repr=False)
    cert_backend: str | None

    @property
    def layout(self) -> Layout:
        return Layout(self.root)

    @property
    def config_dir(self) -> Path:
        return self.layout.config_dir

    @property
    def logs_dir(self) -> Path:
        return self.layout.logs_dir

    @property
    def pid_file(self) -> Path:
        return self.layout.pid_file

    @property
    def watchdog_pid_file(self) -> Path:
        return self.layout.watchdog_pid_file

    @property
    def faults_dir(self) -> Path:
        return self.layout.faults_dir

    @property
    def start_admin(self) -> Path:
        return self.root / "start-admin"

    @property
    def stop_admin(self) -> Path:
        return self.root / "stop-admin"

    @property
    def admconfig(self) -> Path:
        return self.layout.admin_bin / "admconfig"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- running the installation's own commands

    def admconfig_argv(self, *, enc: bool | None = None) -> list[str]:
        argv = [str(self.admconfig)]
        if self.ssl if enc is None else enc:
            argv.append("-enc")
        return [*argv, "-server", self.address, "-user", self.user, "-getPort"]

    def start(
        self,
        ssl_db_password: str | None = None,
        *,
        send_password: bool = True,
        timeout: float = 30.0,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run start-admin; the SSL prompt gets ssl_db_password (default: the right one)."""
        answer = ssl_db_password if ssl_db_password is not None else self.ssl_db_password
        stdin = f"{answer}\n" if send_password and answer is not None else ""
        return subprocess.run(
            [str(self.start_admin)],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=MINIMAL_ENV,
            cwd=cwd or Path("/"),
            check=False,
        )

    def stop(self, *, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.stop_admin)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=MINIMAL_ENV,
            cwd="/",
            check=False,
        )

    def run_admconfig(
        self,
        password: str | None = None,
        *,
        enc: bool | None = None,
        admconfig_timeout: float | None = None,
        timeout: float = 30.0,
    ) -> subprocess.CompletedProcess[str]:
        env = dict(MINIMAL_ENV)
        if admconfig_timeout is not None:
            env[ADMCONFIG_TIMEOUT_ENV] = str(admconfig_timeout)
        return subprocess.run(
            self.admconfig_argv(enc=enc),
            input=f"{self.password if password is None else password}\n",
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd="/",
            check=False,
        )

    # -- looking at it

    def pids(self) -> dict[str, list[int]]:
        """Live uxwdog / ns-httpd pids of this root, found by name and -d argument."""
        return find_pids(self.root)

    def server_pid(self) -> int | None:
        return read_pid_file(self.pid_file)

    def watchdog_pid(self) -> int | None:
        return read_pid_file(self.watchdog_pid_file)

    def is_running(self) -> bool:
        return bool(self.pids()[SERVER])

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Poll predicate until true or timeout; handy after inject()."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return bool(predicate())

    # -- faults

    def stop_all(self, timeout: float = 10.0) -> None:
        """SIGKILL every process of this root and wait until gone (teardown)."""
        left = kill_all(self.root, timeout)
        if left:
            raise RuntimeError(f"processes survived SIGKILL: {left}")

    def kill_watchdog(self) -> None:
        """SIGKILL the watchdog; its pid file stays behind, stale. The server keeps running."""
        procs = find_processes(self.root)[WATCHDOG]
        _signal_all(procs, signal.SIGKILL)
        _wait_gone(procs, 5.0)

    def kill_server(self) -> None:
        """SIGKILL the server and its workers; nothing restarts them."""
        procs = find_processes(self.root)[SERVER]
        _signal_all(procs, signal.SIGKILL)
        _wait_gone(procs, 5.0)

    def write_stale_pid(self, pid: int) -> None:
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(f"{pid}\n")

    def inject(self, name: str) -> None:
        self.layout.fault(_fault_name(name)).touch()

    def clear(self, name: str) -> None:
        self.layout.fault(_fault_name(name)).unlink(missing_ok=True)

    def faults(self) -> list[str]:
        return sorted(name for name in FAULTS if self.layout.fault(name).exists())

    def describe(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "port": self.port,
            "ssl": self.ssl,
            "user": self.user,
            "password": self.password,
            "ssl_db_password": self.ssl_db_password,
            "cert_backend": self.cert_backend,
            "start_admin": str(self.start_admin),
            "stop_admin": str(self.stop_admin),
            "admconfig": str(self.admconfig),
            "config_dir": str(self.config_dir),
            "pid_file": str(self.pid_file),
            "watchdog_pid_file": str(self.watchdog_pid_file),
            "faults_dir": str(self.faults_dir),
            "faults": list(FAULTS),
        }


def _fault_name(name: str) -> str:
    if name not in FAULTS:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    return name


def build_admin_root(
    root: Path,
    *,
    port: int | None = None,
    ssl: bool = False,
    user: str = "admin",
    password: str = "admin-secret",  # noqa: S107 - the stand-in's documented test credential
    ssl_db_password: str | None = None,
) -> StandInAdmin:
    """Lay out a stand-in Administration Server under root (created if missing)."""
    if not user or any(c in user for c in ":\n\r"):
        raise ValueError(f"unusable admin user name {user!r}")
    if "\n" in password or (ssl_db_password is not None and "\n" in ssl_db_password):
        raise ValueError("passwords are read as one line and cannot contain newlines")
    root = root.resolve()
    layout = Layout(root)
    if any(find_processes(root).values()):
        raise RuntimeError(f"{root} has running processes; stop them before rebuilding")
    for role in (WATCHDOG, SERVER):
        exec_argv(role, str(layout.config_dir))  # raises if the path cannot be disguised
    for directory in (
        layout.config_dir,
        layout.logs_dir,
        layout.faults_dir,
        layout.https_bin,
        layout.admin_bin,
    ):
        directory.mkdir(parents=True, exist_ok=True)

    port = port if port is not None else _free_port()
    settings = Settings(
        port=port,
        ssl=ssl,
        python=sys.executable,
        python_home=sys.base_prefix,
        repo_root=str(REPO_ROOT),
    )
    layout.settings_file.write_text(settings.to_json() + "\n")
    # Only salted hashes of the passwords are stored.
    layout.users_file.touch(mode=0o600)
    layout.users_file.write_text(f"{user}:{hash_secret(password)}\n")
    if ssl_db_password is not None:
        layout.ssl_db_file.touch(mode=0o600)
        layout.ssl_db_file.write_text(hash_secret(ssl_db_password) + "\n")
    else:
        layout.ssl_db_file.unlink(missing_ok=True)
    backend = make_self_signed(layout.cert_file, layout.key_file) if ssl else None

    arg = repr(str(root))
    _write_script(root / "start-admin", "start-admin", "start_admin_main", arg)
    _write_script(root / "stop-admin", "stop-admin", "stop_admin_main", arg)
    _write_script(layout.admin_bin / "admconfig", "admconfig", "admconfig_main", "sys.argv[1:]")
    return StandInAdmin(
        root=root,
        port=port,
        ssl=ssl,
        user=user,
        password=password,
        ssl_db_password=ssl_db_password,
        cert_backend=backend,
    )


# ---------------------------------------------------------------- start-admin / stop-admin


def _read_ssl_password() -> str | None:
    print(SSL_PROMPT, end=" ", flush=True)
    try:
        if sys.stdin is None:
            return None
        if sys.stdin.isatty():
            return getpass.getpass("")
        ready, _, _ = select.select([sys.stdin], [], [], SSL_PROMPT_TIMEOUT)
        line = sys.stdin.readline() if ready else ""
    except (OSError, EOFError, ValueError):
        return None
    finally:
        print(flush=True)
    return line.rstrip("\r\n") if line else None


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _wait_started(layout: Layout, settings: Settings, watchdog_pid: int) -> bool:
    try:
        watchdog: psutil.Process | None = psutil.Process(watchdog_pid)
    except psutil.NoSuchProcess:
        watchdog = None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        server_pid = read_pid_file(layout.pid_file)
        if _is_ours(server_pid, SERVER, layout.root) and _port_open(settings.port):
            return True
        if (watchdog is None or not _alive(watchdog)) and not find_processes(layout.root)[SERVER]:
            return False
        time.sleep(0.05)
    return False


def start_admin_main(root_arg: str) -> int:
    layout = Layout(Path(root_arg))
    settings = Settings.load(layout)
    if layout.ssl_db_file.exists():
        answer = _read_ssl_password()
        stored = layout.ssl_db_file.read_text().strip()
        if answer is None or not check_secret(answer, stored):
            print("Incorrect SSL database password")
            print("Server could not be started")
            return 1
    running = find_processes(layout.root)
    if running[SERVER]:
        print("Administration server is already running")
        return 0
    # A watchdog left without its server is replaced by the new one.
    _signal_all(running[WATCHDOG], signal.SIGTERM)
    _wait_gone(running[WATCHDOG], STOP_TIMEOUT)
    _remove_pid_files(layout)
    watchdog_pid = spawn_detached_watchdog(layout, settings)
    if _wait_started(layout, settings, watchdog_pid):
        print("Server started successfully")
        return 0
    kill_all(layout.root)  # leave nothing half started
    print("Server could not be started")
    return 1


def stop_admin_main(root_arg: str) -> int:
    layout = Layout(Path(root_arg))
    found = find_processes(layout.root)
    procs = found[WATCHDOG] + found[SERVER]
    if not procs:
        _remove_pid_files(layout)
        print("Administration server is not running")
        return 0
    # Only processes identified by name and -d ServerRoot/admin-serv/config are signalled.
    _signal_all(found[WATCHDOG], signal.SIGTERM)
    _signal_all(found[SERVER], signal.SIGTERM)
    left = _wait_gone(procs, STOP_TIMEOUT)
    if left:
        _signal_all(left, signal.SIGKILL)
        left = _wait_gone(left, 5.0)
    _remove_pid_files(layout)
    if left:
        print(f"Administration server could not be stopped (pids {[p.pid for p in left]})")
        return 1
    print("Administration server stopped")
    return 0


# ---------------------------------------------------------------- admconfig

# name -> takes a value. Any unambiguous prefix is accepted, case-insensitively.
_ADMCONFIG_OPTIONS = {
    "server": True,
    "user": True,
    "password": True,
    "encryption": False,
    "getport": False,
    "verbose": False,
}
_ADMCONFIG_USAGE = (
    "usage: admconfig [-encryption] -server host:port -user name -getPort "
    "(password on standard input)"
)


@dataclass
class _AdmconfigRequest:
    host: str = ""
    port: int = 0
    user: str = ""
    encryption: bool = False
    getport: bool = False
    verbose: bool = False


def _parse_admconfig(argv: Sequence[str]) -> _AdmconfigRequest | str:
    req = _AdmconfigRequest()
    i = 0
    while i < len(argv):
        arg = argv[i]
        key = arg.lstrip("-").lower()
        if not arg.startswith("-") or not key:
            return f"unexpected argument {arg!r}"
        names = [n for n in _ADMCONFIG_OPTIONS if n.startswith(key)]
        if key in _ADMCONFIG_OPTIONS:
            names = [key]
        if len(names) != 1:
            return f"{'ambiguous' if names else 'unknown'} option {arg!r}"
        name = names[0]
        value = ""
        if _ADMCONFIG_OPTIONS[name]:
            if i + 1 >= len(argv):
                return f"option {arg!r} needs a value"
            i += 1
            value = argv[i]
        i += 1
        if name == "password":
            return "passwords are not taken on the command line; give it on standard input"
        if name == "server":
            host, sep, port = value.rpartition(":")
            if not sep or not host or not port.isdigit():
                return f"-server wants host:port, got {value!r}"
            req.host, req.port = host.strip("[]"), int(port)
        elif name == "user":
            req.user = value
        else:
            setattr(req, name, True)
    if not req.host or not req.user:
        return "-server and -user are required"
    if not req.getport:
        return "no task given (supported: -getPort)"
    return req


def _admconfig_deadline(seconds: float) -> None:
    def expired(signum: int, frame: FrameType | None) -> NoReturn:
        del signum, frame
        # os._exit: nothing in flight (a handshake, a read) may delay or swallow the exit.
        with contextlib.suppress(OSError):
            sys.stdout.flush()
            os.write(2, f"admconfig: no answer within {seconds:g} seconds\n".encode())
        os._exit(EXIT_TIMEOUT)

    signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _admconfig_timeout() -> float:
    raw = os.environ.get(ADMCONFIG_TIMEOUT_ENV)
    try:
        value = float(raw) if raw else ADMCONFIG_TIMEOUT
    except ValueError:
        value = ADMCONFIG_TIMEOUT
    return min(max(value, 0.1), ADMCONFIG_TIMEOUT)


def _fail(message: str, code: int) -> int:
    print(f"Task -getPort (-getport) failed: {message}", file=sys.stderr)
    return code


def admconfig_main(argv: Sequence[str]) -> int:
    parsed = _parse_admconfig(argv)
    if isinstance(parsed, str):
        print(f"admconfig: {parsed}\n{_ADMCONFIG_USAGE}", file=sys.stderr)
        return EXIT_USAGE
    timeout = _admconfig_timeout()
    _admconfig_deadline(timeout)
    try:
        line = sys.stdin.readline() if sys.stdin is not None else ""
    except (OSError, ValueError):
        line = ""
    password = line.rstrip("\r\n")
    if not line:
        return _fail("no password on standard input", EXIT_TASK_FAILED)

    conn: http.client.HTTPConnection
    if parsed.encryption:
        # The stand-in's certificate is self-signed and throwaway: accept it as is.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(
            parsed.host, parsed.port, timeout=timeout, context=context
        )
    else:
        conn = http.client.HTTPConnection(parsed.host, parsed.port, timeout=timeout)
    token = base64.b64encode(f"{parsed.user}:{password}".encode()).decode()
    try:
        conn.request(
            "GET",
            f"{TASK_PATH}?op=getPort",
            headers={"Authorization": f"Basic {token}", "User-Agent": "admconfig/5.2"},
        )
        response = conn.getresponse()
        status = response.status
        body = response.read().decode(errors="replace")
    except TimeoutError:
        return _fail(f"no answer from {parsed.host}:{parsed.port}", EXIT_TIMEOUT)
    except (OSError, http.client.HTTPException) as exc:
        return _fail(f"cannot talk to {parsed.host}:{parsed.port}: {exc!r}", EXIT_UNREACHABLE)
    finally:
        conn.close()
    if status == 401:
        return _fail(f"authentication failed for user {parsed.user}", EXIT_TASK_FAILED)
    if status != 200:
        return _fail(f"server answered HTTP {status}", EXIT_TASK_FAILED)
    answers = dict(
        (k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in body.splitlines())
    )
    port = answers.get("configuration.nsserverport", "")
    if answers.get("NMC_Status") != "0" or not port:
        return _fail("unexpected answer from the server", EXIT_TASK_FAILED)
    print("Task -getPort (-getport) succeeded with status = 0")
    print(f"configuration.nsserverport = {port}")
    return 0


# ---------------------------------------------------------------- CLI


def _stdin_line() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def main(argv: Sequence[str] | None = None) -> int:
    import argparse  # here, not at the top: keeps the generated scripts quick to start

    parser = argparse.ArgumentParser(prog="python -m stubs.adminserver", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="lay out a stand-in ServerRoot and print it as JSON")
    build.add_argument("dir", type=Path)
    build.add_argument("--port", type=int, default=None)
    build.add_argument("--ssl", action="store_true")
    build.add_argument("--user", default="admin")
    build.add_argument(
        "--password-stdin", action="store_true", help="read the admin password from stdin"
    )
    build.add_argument(
        "--ssl-db-password-stdin",
        action="store_true",
        help="read the SSL database password from stdin (after the admin password, if any)",
    )
    for name in ("pids", "kill-all"):
        sub.add_parser(name).add_argument("dir", type=Path)
    args = parser.parse_args(argv)

    if args.command == "build":
        password = _stdin_line() if args.password_stdin else "admin-secret"
        ssl_db_password = _stdin_line() if args.ssl_db_password_stdin else None
        admin = build_admin_root(
            args.dir,
            port=args.port,
            ssl=args.ssl,
            user=args.user,
            password=password,
            ssl_db_password=ssl_db_password,
        )
        print(json.dumps(admin.describe(), indent=2))
        return 0
    if args.command == "pids":
        print(json.dumps(find_pids(args.dir)))
        return 0
    left = kill_all(args.dir)
    print(json.dumps({"survivors": left}))
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
