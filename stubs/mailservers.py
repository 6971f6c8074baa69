"""Real mail and web servers on the loopback, each in a private directory, for the native
probes' tests and the demo: Dovecot (IMAP, POP3, LMTP, and IMAPS/POP3S with a throwaway
self-signed certificate), Postfix (SMTP) and a python http.server front end (HTTP, HTTPS).

Everything runs as root here, as the packages install it (stubs/install_mail.sh); no
systemd, no syslog. Each server runs in its own session, so the tests can stop it whole
(SIGSTOP: it accepts connections and never answers) and let it go again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from stubs.dirsrv389 import pick_free_ports

LOOPBACK = "127.0.0.1"
DOVECOT = Path("/usr/sbin/dovecot")
DOVECOT_LMTP = Path("/usr/lib/dovecot/lmtp")
DOVECOT_POP3 = Path("/usr/lib/dovecot/pop3")
POSTFIX = Path("/usr/sbin/postfix")
POSTFIX_MASTER_CF = Path("/etc/postfix/master.cf")
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
READY_SECONDS = 15.0
INSTALL_HINT = "run stubs/install_mail.sh as root"


def dovecot_available() -> bool:
    return DOVECOT.is_file() and DOVECOT_LMTP.is_file() and DOVECOT_POP3.is_file()


def postfix_available() -> bool:
    return POSTFIX.is_file() and POSTFIX_MASTER_CF.is_file()


def private_dir(prefix: str) -> Path:
    """A short directory the servers' own users (nobody, postfix, dovenull) can enter:
    pytest's temporary directories are root's alone."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    return folder


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key for localhost."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o644)  # read by the servers' unprivileged processes
    return cert, key


def accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


def greeting(port: int, timeout: float) -> bytes:
    """The first line a mail server says on `port`."""
    with socket.create_connection((LOOPBACK, port), timeout=max(timeout, 0.5)) as sock:
        return sock.makefile("rb").readline()


@dataclass
class Daemon:
    """A server started in its own session, with the ports it listens on."""

    name: str
    process: subprocess.Popen[bytes]
    folder: Path
    ports: dict[str, int]
    stop_argv: tuple[str, ...] = ()
    log: Path | None = None
    pid_file: Path | None = None  # a master that leaves our session (Postfix's) writes it
    stop_signal: signal.Signals = signal.SIGTERM
    greeters: tuple[str, ...] = ()  # ports whose first greeting is awaited before use
    paused: bool = field(default=False)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.process.returncode}: {self.tail()}")
            if all(accepts(port) for port in self.ports.values()):
                # The first session spawns the server's workers, slowly on a busy machine:
                # done here, not inside a test's threshold.
                for name in self.greeters:
                    greeting(self.ports[name], deadline - time.monotonic())
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen on {self.ports} in time: {self.tail()}")

    def tail(self) -> str:
        if self.log is None or not self.log.is_file():
            return ""
        return self.log.read_text(errors="replace")[-2000:]

    def groups(self) -> set[int]:
        """The process groups the server runs in: the one we started, and its master's."""
        found = {self.process.pid}
        with contextlib.suppress(OSError, ValueError):
            if self.pid_file is not None:
                found.add(os.getpgid(int(self.pid_file.read_text().strip())))
        return found

    def pause(self) -> None:
        """SIGSTOP the whole server: the kernel still accepts connections, no one answers."""
        for group in self.groups():
            os.killpg(group, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        for group in self.groups():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGCONT)
        self.paused = False

    def stop(self) -> None:
        if self.paused:
            self.resume()
        if self.stop_argv:
            subprocess.run(self.stop_argv, capture_output=True, timeout=30, check=False)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, self.stop_signal)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # Its children may still hold the ports a moment: wait until nothing answers.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(accepts(p) for p in self.ports.values()):
            time.sleep(0.05)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _spawn(
    argv: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env,
        )  # fmt: skip


# --- Dovecot ------------------------------------------------------------------------------


def start_dovecot(*, users: dict[str, str], tls: bool = True) -> Daemon:
    """Dovecot with IMAP, POP3 and LMTP on free loopback ports (and IMAPS, POP3S with a
    self-signed certificate when `tls`). `users` maps login to password; LMTP takes any
    recipient and delivers nothing the probes send (they end with RSET)."""
    if not dovecot_available():
        raise RuntimeError(f"Dovecot (imapd, pop3d, lmtpd) is not installed: {INSTALL_HINT}")
    folder = private_dir("jesdc-")
    for sub in ("run", "state", "home"):
        (folder / sub).mkdir()
    shutil.chown(folder / "home", "nobody", "nogroup")
    names = ("imap", "pop3", "lmtp", "imaps", "pop3s") if tls else ("imap", "pop3", "lmtp")
    ports = dict(zip(names, pick_free_ports(len(names)), strict=True))
    (folder / "users").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in users.items()))
    ssl_lines = "ssl = no\n"
    if tls:
        cert, key = self_signed(folder)
        ssl_lines = f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\n"
    conf = folder / "dovecot.conf"
    conf.write_text(
        f"""base_dir = {folder}/run
state_dir = {folder}/state
instance_name = jesagent-{folder.name}
log_path = {folder}/dovecot.log
protocols = imap pop3 lmtp
listen = {LOOPBACK}
{ssl_lines}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = home={folder}/home/%u allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    port = {ports["imap"]}
  }}
  inet_listener imaps {{
    port = {ports.get("imaps", 0)}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {ports["pop3"]}
  }}
  inet_listener pop3s {{
    port = {ports.get("pop3s", 0)}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {LOOPBACK}
    port = {ports["lmtp"]}
  }}
}}
"""
    )
    log = folder / "dovecot.log"
    process = _spawn([str(DOVECOT), "-c", str(conf), "-F"], folder / "dovecot.out")
    # SIGTERM makes Dovecot linger 6 s for its clients; the tests need no clean shutdown.
    daemon = Daemon(
        "dovecot", process, folder, ports, log=log, stop_signal=signal.SIGKILL,
        greeters=("imap", "pop3", "lmtp"),
    )  # fmt: skip
    try:
        daemon.wait_ready()
    except RuntimeError:
        daemon.destroy()
        raise
    return daemon


# --- Postfix ------------------------------------------------------------------------------


def _master_cf(port: int) -> str:
    """The packaged master.cf with smtpd on 127.0.0.1:port and no service chrooted (the
    private queue has none of the chroot's files)."""
    lines = []
    for line in POSTFIX_MASTER_CF.read_text().splitlines():
        fields = line.split()
        if line[:1] in {"", "#", " ", "\t"} or len(fields) < 8:
            lines.append(line)
            continue
        if fields[0] == "smtp" and fields[1] == "inet":
            fields[0] = f"{LOOPBACK}:{port}"
        fields[4] = "n"
        lines.append("  ".join(fields))
    return "\n".join(lines) + "\n"


def start_postfix(*, domain: str) -> Daemon:
    """Postfix's smtpd on a free loopback port, accepting RCPT TO any address of `domain`
    (no mailbox lookup); nothing the probes send is ever queued (they end with RSET)."""
    if not postfix_available():
        raise RuntimeError(f"Postfix is not installed: {INSTALL_HINT}")
    folder = private_dir("jespf-")
    (port,) = pick_free_ports(1)
    config = folder / "etc"
    config.mkdir()
    (folder / "queue").mkdir()  # postfix check makes what goes inside
    data = folder / "data"
    data.mkdir()
    shutil.chown(data, "postfix")
    (config / "main.cf").write_text(
        f"""compatibility_level = 3.6
queue_directory = {folder}/queue
data_directory = {data}
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = {LOOPBACK}
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
myhostname = mail.{domain}
mydomain = {domain}
mydestination = {domain}
local_recipient_maps =
alias_maps =
alias_database =
maillog_file = /dev/stdout
smtpd_banner = $myhostname ESMTP
"""
    )
    (config / "master.cf").write_text(_master_cf(port))
    log = folder / "postfix.log"
    check = subprocess.run(
        [str(POSTFIX), "-c", str(config), "check"], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"postfix check failed: {check.stdout}{check.stderr}")
    process = _spawn([str(POSTFIX), "-c", str(config), "start-fg"], log)
    stop = (str(POSTFIX), "-c", str(config), "stop")
    master_pid = folder / "queue" / "pid" / "master.pid"
    daemon = Daemon(
        "postfix", process, folder, {"smtp": port}, stop, log, master_pid, greeters=("smtp",)
    )
    try:
        daemon.wait_ready()
    except RuntimeError:
        daemon.destroy()
        raise
    return daemon


# --- a web front end ----------------------------------------------------------------------


def start_web(*, tls: bool = False, status: int = 200) -> Daemon:
    """python's http.server answering every GET with `status`, over TLS when `tls`."""
    folder = private_dir("jesweb-")
    (port,) = pick_free_ports(1)
    argv = [sys.executable, "-m", "stubs.webfront", str(port), "--status", str(status)]
    if tls:
        cert, key = self_signed(folder)
        argv += ["--cert", str(cert), "--key", str(key)]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    log = folder / "web.log"
    daemon = Daemon(
        "webfront", _spawn(argv, log, env), folder, {"https" if tls else "http": port}, log=log
    )
    try:
        daemon.wait_ready()
    except RuntimeError:
        daemon.destroy()
        raise
    return daemon
