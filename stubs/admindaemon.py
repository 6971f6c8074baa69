"""Daemon side of the stand-in Sun Administration Server: the uxwdog watchdog and ns-httpd.

Standard library only: the daemons run without the project's virtualenv on sys.path.

A daemon is started by exec'ing the Python interpreter with argv[0] set to the real program
name ("./uxwdog" or "ns-httpd") and a padding argument that makes the argv bytes exactly as
long as the real command line. Once running, the daemon writes the real command line over
its original argv area and sets its process name with prctl, so /proc/PID/cmdline, ps and
psutil show what the real server shows.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import hashlib
import hmac
import json
import os
import secrets
import select
import signal
import socket
import ssl
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import NamedTuple, NoReturn
from urllib.parse import urlsplit

WATCHDOG = "uxwdog"
SERVER = "ns-httpd"
ROLES = (WATCHDOG, SERVER)

MODULE = "stubs.admindaemon"
ENV_ROLE = "JESADM_ROLE"
ENV_CONFIG = "JESADM_CONFIG"

FAULT_WATCHDOG_DIE = "watchdog.die"
FAULT_SERVER_DIE = "server.die"
FAULT_LISTENER_HANG = "listener.hang"
FAULTS = (FAULT_WATCHDOG_DIE, FAULT_SERVER_DIE, FAULT_LISTENER_HANG)

TASK_PATH = "/admin-serv/tasks/configuration/ServerSetup"
SERVER_VERSION = "Sun-Java-System-Administration-Server/5.2"
AUTH_REALM = "Administration Server"
WORKERS = 2
POLL = 0.1
# Connections held open while listener.hang is on; beyond this the oldest is dropped.
MAX_HELD = 128

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
_PBKDF2_ITERATIONS = 20_000


class Layout:
    """Where everything lives under one stand-in ServerRoot."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_config_dir(cls, config_dir: Path) -> Layout:
        return cls(config_dir.parent.parent)

    @property
    def config_dir(self) -> Path:
        return self.root / "admin-serv" / "config"

    @property
    def logs_dir(self) -> Path:
        return self.root / "admin-serv" / "logs"

    @property
    def pid_file(self) -> Path:
        return self.logs_dir / "pid"

    @property
    def watchdog_pid_file(self) -> Path:
        return self.logs_dir / "uxwdog.pid"

    @property
    def errors_log(self) -> Path:
        return self.logs_dir / "errors"

    @property
    def access_log(self) -> Path:
        return self.logs_dir / "access"

    @property
    def faults_dir(self) -> Path:
        return self.root / "faults"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "standin.json"

    @property
    def users_file(self) -> Path:
        return self.config_dir / "admpw"

    @property
    def ssl_db_file(self) -> Path:
        return self.config_dir / "ssldb.pw"

    @property
    def cert_file(self) -> Path:
        return self.config_dir / "ssl" / "server-cert.pem"

    @property
    def key_file(self) -> Path:
        return self.config_dir / "ssl" / "server-key.pem"

    @property
    def https_bin(self) -> Path:
        return self.root / "bin" / "https" / "bin"

    @property
    def admin_bin(self) -> Path:
        return self.root / "bin" / "admin"

    def fault(self, name: str) -> Path:
        return self.faults_dir / name


class Settings(NamedTuple):
    """The non-secret settings the daemons read from standin.json."""

    port: int
    ssl: bool
    python: str
    python_home: str
    repo_root: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "port": self.port,
                "ssl": self.ssl,
                "python": self.python,
                "python_home": self.python_home,
                "repo_root": self.repo_root,
            },
            indent=2,
        )

    @classmethod
    def load(cls, layout: Layout) -> Settings:
        raw = json.loads(layout.settings_file.read_text())
        return cls(
            port=int(raw["port"]),
            ssl=bool(raw["ssl"]),
            python=str(raw["python"]),
            python_home=str(raw["python_home"]),
            repo_root=str(raw["repo_root"]),
        )


# ---------------------------------------------------------------- secrets (hashed only)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, _PBKDF2_ITERATIONS)
    return f"{{PBKDF2-SHA256}}{_PBKDF2_ITERATIONS}${salt.hex()}${digest.hex()}"


def check_secret(secret: str, stored: str) -> bool:
    prefix = "{PBKDF2-SHA256}"
    if not stored.startswith(prefix):
        return False
    try:
        rounds, salt, digest = stored[len(prefix) :].split("$")
        got = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt), int(rounds))
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def check_user(layout: Layout, user: str, password: str) -> bool:
    try:
        lines = layout.users_file.read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        name, sep, stored = line.partition(":")
        if sep and name == user:
            return check_secret(password, stored)
    return False


# ---------------------------------------------------------------- process identity


def real_argv(role: str, config_dir: str) -> list[str]:
    """The command line the real program shows in ps."""
    if role == WATCHDOG:
        return ["./uxwdog", "-e", "-d", config_dir]
    return ["ns-httpd", "-d", config_dir]


def _argv_bytes(argv: list[str]) -> bytes:
    return b"".join(os.fsencode(arg) + b"\0" for arg in argv)


def exec_argv(role: str, config_dir: str) -> list[str]:
    """Interpreter argv whose bytes are exactly as long as real_argv(role, config_dir)."""
    want = len(_argv_bytes(real_argv(role, config_dir)))
    head = [real_argv(role, config_dir)[0], "-m", MODULE]
    pad = want - len(_argv_bytes(head)) - 1
    if pad < 0:
        raise ValueError(f"config path too short to disguise the {role} command line")
    return [*head, "_" * pad]


def daemon_env(role: str, layout: Layout, settings: Settings) -> dict[str, str]:
    # PYTHONHOME pins the standard library: argv[0] is not the interpreter's path.
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONHOME": settings.python_home,
        "PYTHONPATH": settings.repo_root,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        ENV_ROLE: role,
        ENV_CONFIG: str(layout.config_dir),
    }


def exec_daemon(role: str, layout: Layout, settings: Settings) -> NoReturn:
    os.chdir(layout.https_bin)
    os.execve(  # noqa: S606 - exec of our own interpreter, fixed argv
        settings.python,
        exec_argv(role, str(layout.config_dir)),
        daemon_env(role, layout, settings),
    )


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _proc_stat_fields() -> list[bytes]:
    with open("/proc/self/stat", "rb") as f:
        raw = f.read()
    # Fields after the parenthesised comm start at field 3 (state).
    return raw[raw.rindex(b")") + 2 :].split()


def take_identity(role: str, config_dir: str) -> None:
    """Show the real program's name and command line for this process."""
    blob = _argv_bytes(real_argv(role, config_dir))
    fields = _proc_stat_fields()
    arg_start, arg_end = int(fields[45]), int(fields[46])
    if arg_end - arg_start == len(blob):
        ctypes.memmove(arg_start, blob, len(blob))
    else:
        _log(f"cannot rewrite command line: {arg_end - arg_start} != {len(blob)} bytes")
    _libc().prctl(_PR_SET_NAME, role.encode(), 0, 0, 0)


# ---------------------------------------------------------------- small helpers


def _log(message: str) -> None:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S")
    with contextlib.suppress(OSError):
        print(f"[{stamp}] {os.getpid()} {message}", file=sys.stderr, flush=True)


def write_pid_file(path: Path, pid: int) -> None:
    tmp = path.with_name(f".{path.name}.{pid}")
    tmp.write_text(f"{pid}\n")
    tmp.replace(path)


def read_pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _max_fd() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (OSError, ValueError):
        return 1024


def _die_now() -> NoReturn:
    os.kill(os.getpid(), signal.SIGKILL)
    raise SystemExit(137)  # not reached


def _reap(pid: int) -> bool:
    """True once child pid has exited (and is reaped)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def _wait_children(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if not _reap(pid)]
        if alive:
            time.sleep(0.02)
    return alive


class _Stop:
    requested = False

    def handler(self, signum: int, frame: FrameType | None) -> None:
        del signum, frame
        self.requested = True


# ---------------------------------------------------------------- launching


def spawn_detached_watchdog(layout: Layout, settings: Settings) -> int:
    """Double fork + setsid; return the watchdog's pid. Its stdio never touches ours."""
    rfd, wfd = os.pipe()
    first = os.fork()
    if first == 0:  # intermediate: new session, fork the daemon, report its pid, leave
        try:
            os.close(rfd)
            os.setsid()
            daemon = os.fork()
            if daemon == 0:
                try:
                    os.close(wfd)
                    _become_daemon_stdio(layout)
                    exec_daemon(WATCHDOG, layout, settings)
                finally:
                    os._exit(127)
            os.write(wfd, str(daemon).encode())
        finally:
            os._exit(0)
    os.close(wfd)
    chunks = []
    while chunk := os.read(rfd, 64):
        chunks.append(chunk)
    os.close(rfd)
    os.waitpid(first, 0)
    return int(b"".join(chunks) or b"0")


def _become_daemon_stdio(layout: Layout) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    log = os.open(layout.errors_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.closerange(3, _max_fd())


def _spawn_server(layout: Layout, settings: Settings) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.closerange(3, _max_fd())
            exec_daemon(SERVER, layout, settings)
        finally:
            os._exit(127)
    return pid


# ---------------------------------------------------------------- uxwdog


def run_watchdog(layout: Layout, settings: Settings) -> int:
    if layout.fault(FAULT_WATCHDOG_DIE).exists():
        _die_now()
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop.handler)
    write_pid_file(layout.watchdog_pid_file, os.getpid())
    server: int | None = _spawn_server(layout, settings)
    _log(f"uxwdog: started ns-httpd as pid {server}")
    while True:
        if layout.fault(FAULT_WATCHDOG_DIE).exists():
            _log("uxwdog: fault watchdog.die")
            _die_now()
        if stop.requested:
            if server is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(server, signal.SIGTERM)
                for pid in _wait_children([server], 10.0):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    _wait_children([pid], 2.0)
            _log("uxwdog: stopped")
            return 0
        if server is not None and _reap(server):
            ready = read_pid_file(layout.pid_file) == server
            _log(f"uxwdog: ns-httpd {server} exited; not restarting")
            if not ready:
                _log("uxwdog: server failed during startup")
                return 1
            server = None
        time.sleep(POLL)


# ---------------------------------------------------------------- ns-httpd


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method Not Allowed",
}
_MAX_HEAD = 16384


def _read_head(stream: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > _MAX_HEAD:
            return None
        chunk = stream.recv(4096)
        if not chunk:
            return None
        data += chunk
        if not data[:1].isalpha():
            return data[:0]  # not HTTP at all (a TLS hello, say): answer 400 at once
    return data.split(b"\r\n\r\n", 1)[0]


def _authorized(layout: Layout, header: str) -> bool:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return False
    user, sep, password = decoded.partition(":")
    return bool(sep) and check_user(layout, user, password)


def answer_request(layout: Layout, port: int, head: bytes) -> tuple[int, str]:
    """Status and body for one request head (request line + headers)."""
    lines = head.decode("latin-1").split("\r\n")
    request = lines[0].split()
    if len(request) != 3 or not request[2].startswith("HTTP/"):
        return 400, "NMC_Status: 1\nNMC_ErrInfo: bad request\n"
    method, target, _ = request
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if method not in ("GET", "POST"):
        return 405, "NMC_Status: 1\nNMC_ErrInfo: method not allowed\n"
    if urlsplit(target).path.rstrip("/").lower() != TASK_PATH.lower():
        return 404, "NMC_Status: 1\nNMC_ErrInfo: no such task\n"
    if not _authorized(layout, headers.get("authorization", "")):
        return 401, "NMC_Status: 1\nNMC_ErrInfo: authentication failed\n"
    return 200, f"NMC_Status: 0\nconfiguration.nsserverport: {port}\n"


def _send(stream: socket.socket, code: int, body: str) -> None:
    data = body.encode()
    head = [
        f"HTTP/1.0 {code} {_REASONS[code]}",
        f"Server: {SERVER_VERSION}",
        f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}",
        "Content-Type: text/plain",
        f"Content-Length: {len(data)}",
        "Connection: close",
    ]
    if code == 401:
        head.append(f'WWW-Authenticate: Basic realm="{AUTH_REALM}"')
    stream.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)


def _access_log(layout: Layout, addr: tuple[str, int], first_line: str, code: int) -> None:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z")
    with contextlib.suppress(OSError), layout.access_log.open("a") as f:
        f.write(f'{addr[0]} - - [{stamp}] "{first_line}" {code}\n')


def _serve_connection(
    conn: socket.socket,
    addr: tuple[str, int],
    tls: ssl.SSLContext | None,
    layout: Layout,
    port: int,
) -> None:
    try:
        stream = tls.wrap_socket(conn, server_side=True) if tls is not None else conn
        head = _read_head(stream)
        if head is None:
            return
        code, body = answer_request(layout, port, head)
        _send(stream, code, body)
        _access_log(layout, addr, head.split(b"\r\n", 1)[0].decode("latin-1"), code)
    except (OSError, ssl.SSLError, ValueError):
        pass
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def _run_worker(listener: socket.socket, layout: Layout, settings: Settings, parent: int) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _libc().prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:
        return
    tls: ssl.SSLContext | None = None
    if settings.ssl:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(layout.cert_file, layout.key_file)
    hang = layout.fault(FAULT_LISTENER_HANG)
    held: list[socket.socket] = []
    while True:
        if held and not hang.exists():
            for conn in held:
                conn.close()
            held.clear()
        ready, _, _ = select.select([listener], [], [], 0.5)
        if not ready:
            continue
        try:
            conn, addr = listener.accept()
        except (BlockingIOError, InterruptedError):
            continue  # the other worker took it
        if hang.exists():
            held.append(conn)  # accepted, never answered
            if len(held) > MAX_HELD:
                held.pop(0).close()
            continue
        conn.settimeout(5.0)
        threading.Thread(
            target=_serve_connection, args=(conn, addr, tls, layout, settings.port), daemon=True
        ).start()


def run_server(layout: Layout, settings: Settings) -> int:
    if layout.fault(FAULT_SERVER_DIE).exists():
        _die_now()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", settings.port))
        listener.listen(64)
    except OSError as exc:
        _log(f"ns-httpd: cannot listen on 127.0.0.1:{settings.port}: {exc}")
        return 1
    listener.setblocking(False)
    me = os.getpid()
    workers: list[int] = []
    for _ in range(WORKERS):
        pid = os.fork()
        if pid == 0:
            try:
                _run_worker(listener, layout, settings, me)
            except BaseException as exc:
                _log(f"ns-httpd worker: {exc!r}")
            finally:
                os._exit(0)
        workers.append(pid)
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop.handler)
    write_pid_file(layout.pid_file, me)
    _log(f"ns-httpd: listening on 127.0.0.1:{settings.port} (ssl={settings.ssl})")
    while True:
        if layout.fault(FAULT_SERVER_DIE).exists():
            _log("ns-httpd: fault server.die")
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            _die_now()
        if stop.requested:
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            for pid in _wait_children(workers, 5.0):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            _log("ns-httpd: stopped")
            return 0
        workers = [pid for pid in workers if not _reap(pid)]
        time.sleep(POLL)


def main() -> int:
    role = os.environ.get(ENV_ROLE, "")
    config = os.environ.get(ENV_CONFIG, "")
    if role not in ROLES or not config:
        print(f"usage: run through stubs.adminserver ({ENV_ROLE}, {ENV_CONFIG})", file=sys.stderr)
        return 2
    take_identity(role, config)
    layout = Layout.from_config_dir(Path(config))
    settings = Settings.load(layout)
    if role == WATCHDOG:
        return run_watchdog(layout, settings)
    return run_server(layout, settings)


if __name__ == "__main__":
    sys.exit(main())
