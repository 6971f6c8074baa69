"""The daemons of the stand-in Messaging Server.

`start_daemon` (used by msstart, and by each ROOT/lib/<daemon> script run without
arguments) forks twice; the grandchild detaches (setsid, stdio on /dev/null and
ROOT/log/<name>.log, every other fd closed), renames itself so that argv[0] is exactly
ROOT/lib/<name> and /proc/PID/comm is <name>, binds its listeners and only then reports
"OK" through a pipe, so the starter knows whether the start worked.

`ROOT/lib/stored -t -v` (also `-tv`) is the status check instead of a start.

Like the real MTA, the dispatcher forks its workers (ROOT/lib/tcp_smtp_server and
ROOT/lib/tcp_lmtp_server) and the job controller the master program of the tcp_local
channel (ROOT/lib/tcp_smtp_client), as its own children (CHILD_PROGRAMS), before it
reports "OK". They rename themselves the same way and idle (the daemon's listeners keep
answering). On SIGTERM the daemon stops them and reaps them before it exits; if the daemon
dies otherwise, they follow it (PR_SET_PDEATHSIG). With the smtp.orphan-workers fault they
do neither and keep running, reparented, until sent SIGTERM or SIGKILL.

The listeners speak just enough IMAP, POP, HTTP, SMTP and LMTP for immonitor-access and
for TCP probes; SSL ports accept and stay silent (nobody speaks TLS to them here).
"""

from __future__ import annotations

import contextlib
import ctypes
import hmac
import io
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Final, NoReturn

from stubs.msg_common import (
    CHILD_PROGRAMS,
    DAEMONS,
    LOG_DIR,
    ORPHAN_FAULT,
    PROC_DIR,
    PROGRAMS,
    STORE_FILE,
    config_port,
    fault_set,
    find_pids,
    read_config,
    read_settings,
    read_store_state,
    read_users,
    signal_pids,
    write_atomic,
)

PR_SET_PDEATHSIG: Final = 1
PR_SET_NAME: Final = 15
READY_TIMEOUT: Final = 10.0  # how long the starting process waits for the daemon's report
CHILD_READY_TIMEOUT: Final = 5.0  # how long a daemon waits for a child program's report
CHILD_STOP_TIMEOUT: Final = 2.0  # SIGTERM to SIGKILL, for a daemon stopping its children
PARENT_GONE: Final = signal.SIGUSR1  # a child program's parent-death signal
IDLE_TIMEOUT: Final = 120.0  # a silent client is dropped after this, so threads do not pile up
MAX_LINE: Final = 8192


class StartError(Exception):
    """The daemon cannot start; the message goes back to msstart."""


# --- what each daemon listens on ---------------------------------------------------------

Handler = Callable[["Context", "LineConn"], None]


@dataclass(frozen=True)
class Listener:
    config_key: str
    protocol: str  # imap, pop, http, smtp, lmtp or accept


LISTENERS: Final[Mapping[str, tuple[Listener, ...]]] = {
    "watcher": (Listener("local.watcher.port", "accept"),),
    "enpd": (Listener("service.ens.port", "accept"),),
    "stored": (),
    "imapd": (Listener("service.imap.port", "imap"), Listener("service.imap.sslport", "accept")),
    "popd": (Listener("service.pop.port", "pop"), Listener("service.pop.sslport", "accept")),
    "mshttpd": (
        Listener("service.http.port", "http"),
        Listener("service.http.sslport", "accept"),
    ),
    "imsched": (),
    "dispatcher": (Listener("service.smtp.port", "smtp"), Listener("service.lmtp.port", "lmtp")),
    "job_controller": (),
    "snmpagt": (),
    "sms_gateway": (Listener("service.sms.port", "accept"),),
    "AService": (
        Listener("service.mmp.imap.port", "imap"),
        Listener("service.mmp.pop.port", "pop"),
        Listener("service.mmp.imaps.port", "accept"),
        Listener("service.mmp.pops.port", "accept"),
    ),
}


@dataclass(frozen=True)
class Context:
    """What a connection handler needs to know about its daemon."""

    name: str
    root: Path

    def log(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        print(f"[{stamp}] {self.name}[{os.getpid()}]: {text}", file=sys.stderr, flush=True)

    def login_ok(self, user: str, password: str) -> bool:
        """user or user@<domain> with the password from config/users."""
        name = user
        if "@" in user:
            name, _, domain = user.rpartition("@")
            if domain.lower() != self.domain().lower():
                return False
        expected = read_users(self.root).get(name)
        if expected is None:
            return False
        return hmac.compare_digest(expected.encode(), password.encode())

    def domain(self) -> str:
        return read_config(self.root).get("service.defaultdomain", "")

    def mailbox_ok(self, address: str) -> bool:
        """<user@domain> with a known user and the build domain."""
        addr = address.strip()
        if addr.startswith("<") and addr.endswith(">"):
            addr = addr[1:-1]
        local, at, domain = addr.rpartition("@")
        if not at or domain.lower() != self.domain().lower():
            return False
        return local in read_users(self.root)


# --- line-oriented connections -----------------------------------------------------------


class LineConn:
    """A socket with CRLF lines both ways."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.settimeout(IDLE_TIMEOUT)
        self.reader: io.BufferedReader = sock.makefile("rb")

    def send(self, *lines: str) -> None:
        self.sock.sendall("".join(f"{line}\r\n" for line in lines).encode())

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def readline(self) -> str | None:
        """One line without its end, None at EOF."""
        raw = self.reader.readline(MAX_LINE)
        if not raw:
            return None
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.reader.close()
        with contextlib.suppress(OSError):
            self.sock.close()


def imap_words(text: str) -> list[str]:
    """Split IMAP arguments: atoms and "quoted strings" with backslash escapes."""
    words: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == " ":
            i += 1
        elif text[i] == '"':
            i += 1
            word: list[str] = []
            while i < len(text) and text[i] != '"':
                if text[i] == "\\" and i + 1 < len(text):
                    i += 1
                word.append(text[i])
                i += 1
            words.append("".join(word))
            i += 1
        else:
            end = text.find(" ", i)
            end = len(text) if end < 0 else end
            words.append(text[i:end])
            i = end
    return words


def serve_imap(ctx: Context, conn: LineConn) -> None:
    conn.send(f"* OK [CAPABILITY IMAP4rev1] stand-in {ctx.name} ready")
    while (line := conn.readline()) is not None:
        tag, _, rest = line.partition(" ")
        command, _, args = rest.partition(" ")
        command = command.upper()
        if not tag or not command:
            conn.send("* BAD empty command")
        elif command == "CAPABILITY":
            conn.send("* CAPABILITY IMAP4rev1", f"{tag} OK CAPABILITY completed")
        elif command == "NOOP":
            conn.send(f"{tag} OK NOOP completed")
        elif command == "LOGIN":
            words = imap_words(args)
            if len(words) == 2 and ctx.login_ok(words[0], words[1]):
                ctx.log(f"IMAP LOGIN {words[0]} ok")
                conn.send(f"{tag} OK LOGIN completed")
            else:
                ctx.log("IMAP LOGIN failed")
                conn.send(f"{tag} NO authentication failed")
        elif command == "LOGOUT":
            conn.send("* BYE stand-in logging out", f"{tag} OK LOGOUT completed")
            return
        else:
            conn.send(f"{tag} BAD unknown command")


def serve_pop(ctx: Context, conn: LineConn) -> None:
    conn.send(f"+OK stand-in {ctx.name} ready")
    user: str | None = None
    while (line := conn.readline()) is not None:
        command, _, arg = line.partition(" ")
        command = command.upper()
        if command == "USER":
            user = arg
            conn.send("+OK send PASS")
        elif command == "PASS":
            if user is not None and ctx.login_ok(user, arg):
                ctx.log(f"POP login {user} ok")
                conn.send("+OK logged in")
            else:
                ctx.log("POP login failed")
                conn.send("-ERR authentication failed")
            user = None
        elif command == "NOOP":
            conn.send("+OK")
        elif command == "QUIT":
            conn.send("+OK bye")
            return
        else:
            conn.send("-ERR unknown command")


def http_answer(ctx: Context, target: str) -> tuple[int, str]:
    url = urllib.parse.urlsplit(target)
    if url.path == "/login.msc":
        query = urllib.parse.parse_qs(url.query)
        user = query.get("user", [""])[0]
        password = query.get("password", [""])[0]
        if ctx.login_ok(user, password):
            ctx.log(f"HTTP login {user} ok")
            return 200, "OK"
        ctx.log("HTTP login failed")
        return 403, "Forbidden"
    if url.path == "/logout.msc":
        return 200, "OK"
    return 404, "Not Found"


def serve_http(ctx: Context, conn: LineConn) -> None:
    while (request := conn.readline()) is not None:
        if not request:
            continue
        headers: dict[str, str] = {}
        while (header := conn.readline()) not in (None, ""):
            assert header is not None
            key, _, value = header.partition(":")
            headers[key.strip().lower()] = value.strip()
        parts = request.split()
        if len(parts) != 3 or parts[0] not in ("GET", "HEAD"):
            status, reason = 400, "Bad Request"
            version = "HTTP/1.0"
        else:
            status, reason = http_answer(ctx, parts[1])
            version = parts[2]
        body = f"{status} {reason}\n".encode()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        head = (
            f"HTTP/1.1 {status} {reason}\r\nServer: stand-in {ctx.name}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n"
        )
        conn.send_bytes(head.encode() + (b"" if parts[:1] == ["HEAD"] else body))
        if not keep:
            return


def serve_mta(ctx: Context, conn: LineConn, *, lmtp: bool) -> None:
    kind = "LMTP" if lmtp else "ESMTP"
    hello = ("LHLO",) if lmtp else ("EHLO", "HELO")
    conn.send(f"220 localhost stand-in {kind} ready")
    greeted = False
    sender: str | None = None
    recipients = 0
    while (line := conn.readline()) is not None:
        verb = line[:4].upper()
        upper = line.upper()
        if verb in hello:
            greeted, sender, recipients = True, None, 0
            conn.send("250-localhost hello", "250-8BITMIME", "250 PIPELINING")
        elif verb in ("EHLO", "HELO", "LHLO"):
            conn.send(f"500 5.5.1 {verb} is not {kind}")
        elif upper.startswith("MAIL FROM:"):
            if not greeted:
                conn.send(f"503 5.5.1 say {hello[0]} first")
            else:
                sender, recipients = line[10:].strip(), 0
                conn.send("250 2.1.0 sender ok")
        elif upper.startswith("RCPT TO:"):
            if sender is None:
                conn.send("503 5.5.1 MAIL FROM first")
            elif ctx.mailbox_ok(line[8:]):
                recipients += 1
                conn.send("250 2.1.5 recipient ok")
            else:
                ctx.log("RCPT TO refused")
                conn.send("550 5.1.1 unknown recipient")
        elif verb == "DATA":
            if not recipients:
                conn.send("503 5.5.1 RCPT TO first")
                continue
            conn.send("354 end with <CRLF>.<CRLF>")
            while conn.readline() not in (None, "."):
                pass
            # LMTP answers once per recipient, SMTP once per message.
            for _ in range(recipients if lmtp else 1):
                conn.send("250 2.0.0 delivered nowhere (stand-in)")
            sender, recipients = None, 0
        elif verb == "RSET":
            sender, recipients = None, 0
            conn.send("250 2.0.0 ok")
        elif verb == "NOOP":
            conn.send("250 2.0.0 ok")
        elif verb == "QUIT":
            conn.send("221 2.0.0 bye")
            return
        else:
            conn.send("500 5.5.2 unknown command")


def serve_silent(ctx: Context, conn: LineConn) -> None:
    """Accept, say nothing, drop whatever arrives until the peer closes."""
    del ctx
    while conn.reader.read1(4096):
        pass


PROTOCOLS: Final[Mapping[str, Handler]] = {
    "imap": serve_imap,
    "pop": serve_pop,
    "http": serve_http,
    "smtp": lambda ctx, conn: serve_mta(ctx, conn, lmtp=False),
    "lmtp": lambda ctx, conn: serve_mta(ctx, conn, lmtp=True),
    "accept": serve_silent,
}


# --- the daemon process ------------------------------------------------------------------


class Daemon:
    def __init__(self, name: str, root: Path) -> None:
        self.ctx = Context(name, root)
        self.name = name
        self.root = root
        self.sockets: list[tuple[socket.socket, Listener]] = []
        self.parked: list[socket.socket] = []  # connections held open by the hang fault
        self.parked_lock = threading.Lock()
        self.children: list[int] = []  # child programs not reaped yet
        self.children_lock = threading.Lock()

    def bind(self) -> None:
        config = read_config(self.root)
        plan = [(lsn, config_port(config, lsn.config_key)) for lsn in LISTENERS[self.name]]
        active = [(lsn, port) for lsn, port in plan if port > 0]
        if plan and not active:
            keys = ", ".join(lsn.config_key for lsn in LISTENERS[self.name])
            raise StartError(f"no port configured ({keys})")
        for lsn, port in active:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
                sock.listen(64)
            except OSError as exc:
                sock.close()
                raise StartError(
                    f"cannot listen on 127.0.0.1:{port} ({lsn.config_key}): {exc}"
                ) from exc
            self.sockets.append((sock, lsn))

    def start_children(self) -> None:
        """Fork this daemon's child programs; each reports once it runs under its name.

        Called while the daemon is still single-threaded, so forking is safe; a reaper
        thread per child is started only after the last fork.
        """
        for program in CHILD_PROGRAMS.get(self.name, ()):
            ready_r, ready_w = os.pipe()
            parent = os.getpid()
            child = os.fork()
            if child == 0:
                os.close(ready_r)
                run_child_program(program, self.root, parent, ready_w, self.sockets)
            os.close(ready_w)
            with self.children_lock:
                self.children.append(child)
            report = read_report(ready_r, CHILD_READY_TIMEOUT)
            os.close(ready_r)
            if not report.startswith("OK"):
                reason = report.removeprefix("ERR ").strip() or "exited during startup"
                raise StartError(f"cannot start {program}: {reason}")
            self.ctx.log(f"started {program} (pid {child})")
        for child in self.children:
            threading.Thread(target=self.reap_child, args=(child,), daemon=True).start()

    def reap_child(self, pid: int) -> None:
        """Wait for one child program, so it never lingers as a zombie."""
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        self.forget_child(pid)

    def forget_child(self, pid: int) -> None:
        with self.children_lock:
            if pid in self.children:
                self.children.remove(pid)
                self.ctx.log(f"child program {pid} exited")

    def live_children(self) -> list[int]:
        """The children not reaped yet (reaping those that have exited meanwhile)."""
        for pid in self.children[:]:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # its reaper thread was first
                done = pid
            if done:
                self.forget_child(pid)
        with self.children_lock:
            return list(self.children)

    def stop_children(self, sig: int = signal.SIGTERM) -> None:
        """Signal the child programs and wait until they are reaped (SIGKILL after
        CHILD_STOP_TIMEOUT); with the orphan fault, leave them running instead."""
        if not self.live_children():
            return
        if fault_set(self.root, ORPHAN_FAULT):
            self.ctx.log(f"leaving child programs running (fault {ORPHAN_FAULT} injected)")
            return
        signal_pids(self.live_children(), sig)
        deadline = time.monotonic() + CHILD_STOP_TIMEOUT
        while self.live_children() and time.monotonic() < deadline:
            time.sleep(0.01)
        if left := self.live_children():
            signal_pids(left, signal.SIGKILL)
            for pid in left:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
                self.forget_child(pid)

    def serve_forever(self) -> None:
        for sock, lsn in self.sockets:
            threading.Thread(target=self.accept_loop, args=(sock, lsn), daemon=True).start()
        if self.name == "stored":
            self.store_loop()
        while True:
            time.sleep(1.0)

    def accept_loop(self, sock: socket.socket, lsn: Listener) -> None:
        handler = PROTOCOLS[lsn.protocol]
        while True:
            try:
                client, _ = sock.accept()
            except OSError:
                time.sleep(0.05)
                continue
            # Checked per connection so the fault can be toggled on a running daemon.
            if fault_set(self.root, f"{self.name}.hang"):
                with self.parked_lock:
                    self.parked.append(client)
                    while len(self.parked) > 256:
                        self.parked.pop(0).close()
                continue
            threading.Thread(target=self.run_handler, args=(handler, client), daemon=True).start()

    def run_handler(self, handler: Handler, client: socket.socket) -> None:
        conn = LineConn(client)
        try:
            handler(self.ctx, conn)
        except (OSError, ValueError):
            pass  # the peer went away or sent garbage: drop it
        finally:
            conn.close()

    def store_loop(self) -> None:
        """Report "init" until the ready delay has passed, then "ready" (unless the
        stored.notready fault says otherwise)."""
        delay = read_settings(self.root)["store_ready_delay"]
        started = time.monotonic()
        shown = ""
        while True:
            ready = time.monotonic() - started >= delay and not fault_set(
                self.root, "stored.notready"
            )
            state = "ready" if ready else "init"
            if state != shown:
                write_atomic(self.root / STORE_FILE, f"{os.getpid()} {state}\n")
                self.ctx.log(f"store {state}")
                shown = state
            time.sleep(0.05)

    def on_term(self, signum: int, frame: FrameType | None) -> None:
        del signum, frame
        if fault_set(self.root, f"{self.name}.ignore-term"):
            self.ctx.log("SIGTERM ignored (fault injected)")
            return
        self.ctx.log("SIGTERM: exiting")
        self.stop_children()
        owned = [f"{PROC_DIR}/{self.name}.pid"] + ([STORE_FILE] if self.name == "stored" else [])
        for rel in owned:
            with contextlib.suppress(OSError, ValueError):
                path = self.root / rel
                if int(path.read_text().split()[0]) == os.getpid():
                    path.unlink()
        os._exit(0)


def set_process_identity(comm: str, argv0: str) -> None:
    """Make /proc/PID/comm `comm` and /proc/PID/cmdline exactly `argv0`.

    The command line is rewritten in place (as setproctitle does): the inherited argv area
    (interpreter path, then the script path under ROOT/lib) is longer than the new one.
    Ending the area with a non-NUL byte tells the kernel to report the text up to the
    first NUL only.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NAME, comm.encode(), 0, 0, 0) != 0:
        raise StartError(f"prctl(PR_SET_NAME) failed: errno {ctypes.get_errno()}")
    stat = Path("/proc/self/stat").read_bytes()
    fields = stat[stat.rindex(b")") + 2 :].split()
    # fields[0] is field 3 of proc(5); arg_start and arg_end are fields 48 and 49.
    arg_start, arg_end = int(fields[45]), int(fields[46])
    size = arg_end - arg_start
    title = argv0.encode()
    if len(title) + 2 > size:
        raise StartError("argument area too small for the process title")
    ctypes.memmove(arg_start, title + b"\0" * (size - len(title) - 1) + b" ", size)


def run_child_program(
    program: str,
    root: Path,
    parent: int,
    ready_fd: int,
    sockets: Sequence[tuple[socket.socket, Listener]],
) -> NoReturn:
    """A forked child program (tcp_smtp_server, ...): rename itself, report "OK" on
    ready_fd, then idle until SIGTERM, or until its parent dies unless the orphan fault
    is injected then."""
    try:
        # First the name, so the child stops looking like its parent as soon as it can.
        set_process_identity(program, str(root / "lib" / program))
        for sock, _ in sockets:  # the parent answers on them; an orphan must not hold them
            sock.close()
        detach_stdio(root / LOG_DIR / f"{program}.log", ready_fd)
        ctx = Context(program, root)

        def on_term(signum: int, frame: FrameType | None) -> None:
            del signum, frame
            ctx.log("SIGTERM: exiting")
            os._exit(0)

        def on_parent_gone(signum: int, frame: FrameType | None) -> None:
            del signum, frame
            if os.getppid() == parent:
                return  # a stray SIGUSR1: the parent is still there
            if fault_set(root, ORPHAN_FAULT):
                ctx.log(f"parent {parent} gone: staying (fault {ORPHAN_FAULT} injected)")
                return
            ctx.log(f"parent {parent} gone: exiting")
            os._exit(0)

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(PARENT_GONE, on_parent_gone)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(PARENT_GONE), 0, 0, 0) != 0:
            raise StartError(f"prctl(PR_SET_PDEATHSIG) failed: errno {ctypes.get_errno()}")
        if os.getppid() != parent:  # the parent died before prctl: no signal will come
            on_parent_gone(int(PARENT_GONE), None)
        ctx.log(f"started as {root / 'lib' / program} (parent {parent})")
        os.write(ready_fd, b"OK\n")
        os.close(ready_fd)
    except BaseException as exc:  # a forked child must never return into its parent's code
        with contextlib.suppress(OSError):
            os.write(ready_fd, f"ERR {exc}\n".encode())
        os._exit(1)
    while True:
        signal.pause()


def detach_stdio(log_path: Path, keep_fd: int) -> None:
    """stdin from /dev/null, stdout/stderr to the log, every other fd but keep_fd closed,
    so the daemon never holds a caller's pipe open."""
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    for entry in os.listdir("/proc/self/fd"):
        fd = int(entry)
        if fd > 2 and fd != keep_fd:
            with contextlib.suppress(OSError):
                os.close(fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)


def become_daemon(name: str, root: Path, report_fd: int) -> None:
    """The grandchild: set up, report "OK" or "ERR reason" on report_fd, then serve."""
    os.chdir("/")
    os.umask(0o022)
    detach_stdio(root / LOG_DIR / f"{name}.log", report_fd)
    daemon = Daemon(name, root)
    try:
        set_process_identity(name, str(root / "lib" / name))
        daemon.bind()
        signal.signal(signal.SIGTERM, daemon.on_term)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        write_atomic(root / PROC_DIR / f"{name}.pid", f"{os.getpid()}\n")
        if name == "stored":
            write_atomic(root / STORE_FILE, f"{os.getpid()} init\n")
        daemon.start_children()
    except (StartError, OSError) as exc:
        daemon.ctx.log(f"start failed: {exc}")
        signal_pids(daemon.live_children(), signal.SIGKILL)
        os.write(report_fd, f"ERR {exc}\n".encode())
        os._exit(1)
    daemon.ctx.log(f"started as {root / 'lib' / name}")
    os.write(report_fd, f"OK {os.getpid()}\n".encode())
    os.close(report_fd)
    daemon.serve_forever()


def read_report(fd: int, timeout: float) -> str:
    """Everything the daemon reports before closing its end (or until timeout)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace").strip()


def start_daemon(name: str, root: Path) -> str | None:
    """Start the daemon in the background: None once it reports it is up, else the reason.

    Called by ROOT/lib/<name> and, to save a Python start-up per daemon, by msstart
    in its own process (it is single-threaded, so forking it is safe).
    """
    if fault_set(root, f"{name}.nostart"):
        return f"cannot start (fault {name}.nostart injected)"
    (root / PROC_DIR).mkdir(parents=True, exist_ok=True)
    (root / LOG_DIR).mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    report_r, report_w = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(report_r)
            os.setsid()
            if os.fork() == 0:
                become_daemon(name, root, report_w)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    os.close(report_w)
    os.waitpid(child, 0)
    report = read_report(report_r, READY_TIMEOUT)
    os.close(report_r)
    if report.startswith("OK"):
        return None
    return report.removeprefix("ERR ").strip() or "exited during startup"


def stored_status(root: Path, verbose: bool) -> int:
    """`stored -t [-v]`: 0 when stored runs and the store is ready."""
    pids = find_pids(root, "stored")
    if not pids:
        print("stored: not running", file=sys.stderr)
        return 1
    state = read_store_state(root)
    shown = state[1] if state is not None and state[0] in pids else "no state"
    if shown != "ready" or fault_set(root, "stored.notready"):
        shown = "init" if shown == "ready" else shown
        print(
            f"stored: running (pid {pids[0]}) but the store is not ready ({shown})",
            file=sys.stderr,
        )
        return 2
    if verbose:
        print(f"stored: running (pid {pids[0]}), store is ready")
    return 0


def program_main(name: str, root: str, argv: Sequence[str]) -> int:
    """Entry point of ROOT/lib/<program> (tcp_smtp_server, ...): only its daemon runs it."""
    del root, argv
    parents = [d for d, programs in CHILD_PROGRAMS.items() if name in programs]
    if name not in PROGRAMS or not parents:
        print(f"unknown program {name}", file=sys.stderr)
        return 2
    print(f"{name}: started by the {parents[0]} only (msstart smtp)", file=sys.stderr)
    return 1


def daemon_main(name: str, root: str, argv: Sequence[str]) -> int:
    """Entry point of ROOT/lib/<name>."""
    if name not in DAEMONS:
        print(f"unknown daemon {name}", file=sys.stderr)
        return 2
    flags = {c for arg in argv if arg.startswith("-") for c in arg[1:]}
    if name == "stored" and "t" in flags:
        return stored_status(Path(root), verbose="v" in flags)
    # Other options (-d 5, -D 6 on the real binaries) are accepted and ignored.
    reason = start_daemon(name, Path(root))
    if reason is not None:
        print(f"{name}: {reason}", file=sys.stderr)
        return 1
    return 0
