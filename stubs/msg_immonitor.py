"""ROOT/sbin/immonitor-access of the stand-in.

    immonitor-access -u USER [-I host:port[=threshold]] [-P ...] [-H ...] [-S ...] [-C ...]
                     [-L ...] [-w PASSWORD|-]

For each service flag, in the order given: connect, read the greeting, log in, log out,
all within `threshold` seconds (default 10), and print the timings the way the real tool
does. SMTP (-S) and LMTP (-C) "log in" with EHLO/LHLO, MAIL FROM:<USER>, RCPT TO:<USER>;
LDAP (-L) is a connect only. `-w -` reads the password from the first line of stdin.
Exit 0 when every service passed, 1 when one failed (a one-line reason on stderr per
failure), 2 on a usage error.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

DEFAULT_THRESHOLD: Final = 10.0
READ_STDIN: Final = "-"  # `-w -`: the password comes on the first line of stdin

# flag -> (label, default port)
SERVICES: Final[dict[str, tuple[str, int]]] = {
    "-I": ("IMAP", 143),
    "-P": ("POP", 110),
    "-H": ("HTTP", 80),
    "-S": ("SMTP", 25),
    "-C": ("LMTP", 225),
    "-L": ("LDAP", 389),
}
USAGE: Final = (
    "usage: immonitor-access -u user [-I imaphost:port=threshold] [-P pophost:port=threshold]"
    " [-H httphost:port=threshold] [-S smtphost:port=threshold] [-C lmtphost:port=threshold]"
    " [-L ldaphost:port=threshold] [-w password|-]"
)


class UsageError(Exception):
    pass


class CheckFailed(Exception):
    """The transaction failed; the message is the one-line reason."""


@dataclass(frozen=True)
class Target:
    label: str
    host: str
    port: int
    threshold: float

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def parse_target(flag: str, text: str) -> Target:
    label, default_port = SERVICES[flag]
    spec, _, threshold_text = text.partition("=")
    host, colon, port_text = spec.rpartition(":")
    if not colon:
        host, port_text = spec, ""
    try:
        port = int(port_text) if port_text else default_port
        threshold = float(threshold_text) if threshold_text else DEFAULT_THRESHOLD
    except ValueError as exc:
        raise UsageError(f"bad {flag} argument {text!r}") from exc
    if not host or not 0 < port < 65536 or threshold <= 0:
        raise UsageError(f"bad {flag} argument {text!r}")
    return Target(label, host, port, threshold)


class Session:
    """One connection with a deadline covering the whole transaction."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.deadline = time.monotonic() + target.threshold
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.doing = "connecting"

    def timed_out(self) -> CheckFailed:
        return CheckFailed(f"timed out after {self.target.threshold:g} s ({self.doing})")

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.timed_out()
        return left

    def resolve(self) -> str:
        """The host's first IPv4 address; getaddrinfo cannot time out by itself, so it runs
        in a helper thread that is abandoned when the deadline passes."""
        found: list[str] = []
        errors: list[OSError] = []

        def lookup() -> None:
            try:
                infos = socket.getaddrinfo(self.target.host, self.target.port, socket.AF_INET)
                found.extend(str(info[4][0]) for info in infos)
            except OSError as exc:
                errors.append(exc)

        worker = threading.Thread(target=lookup, daemon=True)
        worker.start()
        worker.join(self.left())
        if worker.is_alive():
            raise self.timed_out()
        if errors or not found:
            raise CheckFailed(f"cannot resolve {self.target.host}: {errors[0] if errors else ''}")
        return found[0]

    def connect(self) -> None:
        try:
            address = self.resolve()
            self.sock = socket.create_connection((address, self.target.port), timeout=self.left())
        except TimeoutError as exc:
            raise self.timed_out() from exc
        except ConnectionRefusedError as exc:
            raise CheckFailed("connection refused") from exc
        except OSError as exc:
            raise CheckFailed(f"cannot connect: {exc}") from exc

    def send(self, text: str) -> None:
        assert self.sock is not None
        try:
            self.sock.settimeout(self.left())
            self.sock.sendall(text.encode())
        except TimeoutError as exc:
            raise self.timed_out() from exc
        except OSError as exc:
            raise CheckFailed(f"connection lost ({self.doing}): {exc}") from exc

    def readline(self) -> str:
        assert self.sock is not None
        while b"\n" not in self.buffer:
            self._receive()
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", "replace").rstrip("\r")

    def read_exact(self, size: int) -> None:
        while len(self.buffer) < size:
            self._receive()
        self.buffer = self.buffer[size:]

    def _receive(self) -> None:
        """Append the next chunk to the buffer, within the transaction's threshold."""
        assert self.sock is not None
        try:
            self.sock.settimeout(self.left())
            chunk = self.sock.recv(4096)
        except TimeoutError as exc:
            raise self.timed_out() from exc
        except OSError as exc:
            raise CheckFailed(f"connection lost ({self.doing}): {exc}") from exc
        if not chunk:
            raise CheckFailed(f"connection closed by the server ({self.doing})")
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


def imap_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_command(s: Session, tag: str, command: str) -> str:
    s.send(f"{tag} {command}\r\n")
    while True:
        line = s.readline()
        if line.startswith(f"{tag} "):
            return line[len(tag) + 1 :]


Step = tuple[str, Callable[[Session], None]]


def imap_steps(user: str, password: str) -> list[Step]:
    def greeting(s: Session) -> None:
        line = s.readline()
        if not line.startswith("* OK"):
            raise CheckFailed(f"bad greeting: {line[:60]!r}")

    def login(s: Session) -> None:
        answer = imap_command(s, "a1", f"LOGIN {imap_quote(user)} {imap_quote(password)}")
        if not answer.upper().startswith("OK"):
            raise CheckFailed(f"LOGIN failed: {answer[:60]}")

    def logout(s: Session) -> None:
        answer = imap_command(s, "a2", "LOGOUT")
        if not answer.upper().startswith("OK"):
            raise CheckFailed(f"LOGOUT failed: {answer[:60]}")

    return [("Greeting", greeting), ("LOGIN", login), ("LOGOUT", logout)]


def pop_steps(user: str, password: str) -> list[Step]:
    def expect_ok(s: Session, what: str) -> None:
        line = s.readline()
        if not line.startswith("+OK"):
            raise CheckFailed(f"{what}: {line[:60]}")

    def greeting(s: Session) -> None:
        expect_ok(s, "bad greeting")

    def login(s: Session) -> None:
        s.send(f"USER {user}\r\n")
        expect_ok(s, "USER refused")
        s.send(f"PASS {password}\r\n")
        expect_ok(s, "LOGIN failed")

    def logout(s: Session) -> None:
        s.send("QUIT\r\n")
        expect_ok(s, "QUIT failed")

    return [("Greeting", greeting), ("LOGIN", login), ("LOGOUT", logout)]


def http_request(s: Session, path: str) -> int:
    s.send(f"GET {path} HTTP/1.1\r\nHost: {s.target.where}\r\nConnection: keep-alive\r\n\r\n")
    status_line = s.readline()
    parts = status_line.split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise CheckFailed(f"not an HTTP answer: {status_line[:60]!r}")
    length = 0
    while header := s.readline():
        key, _, value = header.partition(":")
        if key.strip().lower() == "content-length" and value.strip().isdigit():
            length = int(value.strip())
    s.read_exact(length)
    return int(parts[1])


def http_steps(user: str, password: str) -> list[Step]:
    def greeting(s: Session) -> None:
        http_request(s, "/")  # any HTTP answer proves the server speaks

    def login(s: Session) -> None:
        query = urllib.parse.urlencode({"user": user, "password": password})
        status = http_request(s, f"/login.msc?{query}")
        if status != 200:
            raise CheckFailed(f"LOGIN failed: HTTP {status}")

    def logout(s: Session) -> None:
        status = http_request(s, "/logout.msc")
        if status != 200:
            raise CheckFailed(f"LOGOUT failed: HTTP {status}")

    return [("Greeting", greeting), ("LOGIN", login), ("LOGOUT", logout)]


def mta_reply(s: Session) -> tuple[int, str]:
    """A (possibly multi-line) SMTP reply: its code and last line."""
    while True:
        line = s.readline()
        if len(line) < 3 or not line[:3].isdigit():
            raise CheckFailed(f"not an SMTP answer: {line[:60]!r}")
        if line[3:4] != "-":
            return int(line[:3]), line


def mta_steps(user: str, hello: str) -> list[Step]:
    def greeting(s: Session) -> None:
        code, line = mta_reply(s)
        if code != 220:
            raise CheckFailed(f"bad greeting: {line[:60]}")

    def expect(s: Session, command: str, code: int, what: str) -> None:
        s.send(f"{command}\r\n")
        got, line = mta_reply(s)
        if got != code:
            raise CheckFailed(f"{what}: {line[:60]}")

    def login(s: Session) -> None:
        expect(s, f"{hello} localhost", 250, f"{hello} refused")
        expect(s, f"MAIL FROM:<{user}>", 250, "MAIL FROM refused")
        expect(s, f"RCPT TO:<{user}>", 250, "RCPT TO refused")

    def logout(s: Session) -> None:
        expect(s, "QUIT", 221, "QUIT failed")

    return [("Greeting", greeting), ("LOGIN", login), ("LOGOUT", logout)]


def steps_for(label: str, user: str, password: str) -> list[Step]:
    if label == "IMAP":
        return imap_steps(user, password)
    if label == "POP":
        return pop_steps(user, password)
    if label == "HTTP":
        return http_steps(user, password)
    if label == "SMTP":
        return mta_steps(user, "EHLO")
    if label == "LMTP":
        return mta_steps(user, "LHLO")
    return []  # LDAP: a connect proves the listener


def check(target: Target, user: str, password: str) -> str | None:
    """Run one transaction, print its statistics; None when it passed, else the reason."""
    print(f"{target.label} statistics for: {target.where}")
    session = Session(target)
    started = time.monotonic()
    try:
        steps: list[Step] = [("Connect", lambda s: s.connect())]
        steps += steps_for(target.label, user, password)
        for name, step in steps:
            session.doing = f"{name.lower()} step"
            t0 = time.monotonic()
            step(session)
            print(f"{name} Time: {(time.monotonic() - t0) * 1000:.3f} ms")
    except CheckFailed as exc:
        return str(exc)
    finally:
        session.close()
    print(f"Total {target.label} time = {(time.monotonic() - started) * 1000:.3f} ms")
    return None


def parse_args(argv: Sequence[str]) -> tuple[str, str | None, list[Target]]:
    user: str | None = None
    password: str | None = None
    targets: list[Target] = []
    i = 0
    while i < len(argv):
        flag = argv[i]
        if flag not in SERVICES and flag not in ("-u", "-w"):
            raise UsageError(f"unknown option {flag!r}")
        if i + 1 >= len(argv):
            raise UsageError(f"{flag} needs a value")
        value = argv[i + 1]
        if flag == "-u":
            user = value
        elif flag == "-w":
            password = value
        else:
            targets.append(parse_target(flag, value))
        i += 2
    if not user:
        raise UsageError("-u user is required")
    if not targets:
        raise UsageError("name at least one service (-I, -P, -H, -S, -C or -L)")
    return user, password, targets


def immonitor_main(root: str, argv: Sequence[str]) -> int:
    del root  # the tool talks to servers over the network only
    try:
        user, password, targets = parse_args(argv)
        if password == READ_STDIN:
            password = sys.stdin.readline().rstrip("\r\n")
        needs_password = any(t.label in ("IMAP", "POP", "HTTP") for t in targets)
        if needs_password and not password:
            raise UsageError("a password is required (-w password, or -w - to read stdin)")
    except UsageError as exc:
        print(f"immonitor-access: {exc}", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    failed = False
    for target in targets:
        reason = check(target, user, password or "")
        sys.stdout.flush()
        if reason is not None:
            failed = True
            print(f"{target.label} {target.where}: {reason}", file=sys.stderr, flush=True)
    return 1 if failed else 0
