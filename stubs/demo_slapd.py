"""A stand-in Directory Server instance for the demo, used when 389 is not installed.

It has what the SunJESLDAP agent looks at, and nothing more: ``start-slapd`` and
``stop-slapd`` in the InstanceRoot (the same scripts stubs.dirsrv389 writes for a real
389 instance), a process whose name is ``ns-slapd`` and whose command line is
``ns-slapd -D <InstanceRoot> -i <InstanceRoot>/logs/pid``, a listener on the LDAP port
(127.0.0.1) and a pid file that outlives the server, as Sun's does. It does not speak
LDAP, so a resource on it runs with SecondLevelMonitor 0.

Layout::

    <ServerRoot>/bin/slapd/server/ns-slapd      the launcher start-slapd runs
    <InstanceRoot>/start-slapd, stop-slapd
    <InstanceRoot>/standin.json                 {"port": N}
    <InstanceRoot>/logs/pid, logs/errors

The launcher forks a daemon and returns once it listens, as ns-slapd does. The daemon
re-executes the interpreter with an argument vector exactly as long as the real command
line, then writes the real one over it and renames itself with prctl (as the stand-in
Administration Server does), so ps, /proc and psutil all see ``ns-slapd``.

Everything the daemon runs is standard library: it runs without the virtualenv on its path.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn

DAEMON = "ns-slapd"
MODULE = "stubs.demo_slapd"
REPO = Path(__file__).resolve().parent.parent
ENV_ROOT = "DEMO_SLAPD_ROOT"
ENV_REPORT = "DEMO_SLAPD_REPORT_FD"
READY_TIMEOUT = 10.0
_PR_SET_NAME = 15

LAUNCHER = """#!{python} -I
# Stand-in ns-slapd launcher (written by stubs.demo_slapd): forks the server and returns.
import sys

sys.path.insert(0, {repo!r})
from stubs.demo_slapd import launch_main  # noqa: E402

sys.exit(launch_main(sys.argv[1:]))
"""


@dataclass(frozen=True)
class StandInDs:
    """A built stand-in instance: ``<server_root>/slapd-<id>`` is the InstanceRoot."""

    instance_root: Path
    port: int

    @property
    def server_root(self) -> Path:
        return self.instance_root.parent

    @property
    def pid_file(self) -> Path:
        return self.instance_root / "logs" / "pid"

    def pids(self) -> list[int]:
        """Live ns-slapd processes started with -D this InstanceRoot."""
        return sorted(_pids_of(self.instance_root))

    def stop_all(self, timeout: float = 10.0) -> None:
        """SIGKILL every server of this instance and wait until they are gone."""
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while self.pids():
            if time.monotonic() > deadline:
                raise RuntimeError(f"stand-in ns-slapd survived SIGKILL: {self.pids()}")
            time.sleep(0.05)


def build_standin_ds(server_root: Path, *, port: int, instance_id: str = "ldap") -> StandInDs:
    """Lay out ``server_root/slapd-<instance_id>`` (stopped) and the launcher."""
    from stubs.dirsrv389 import NS_SLAPD, render_start_slapd, render_stop_slapd, write_script

    server_root = Path(os.path.abspath(server_root))
    root = server_root / f"slapd-{instance_id}"
    (root / "logs").mkdir(parents=True, exist_ok=True)
    launcher = server_root / "bin" / "slapd" / "server" / DAEMON
    launcher.parent.mkdir(parents=True, exist_ok=True)
    launcher.write_text(LAUNCHER.format(python=sys.executable, repo=str(REPO)))
    launcher.chmod(0o755)
    (root / "standin.json").write_text(json.dumps({"port": port}) + "\n")
    # The scripts 389 gets, pointed at the launcher instead of /usr/sbin/ns-slapd.
    real = f"NS_SLAPD={NS_SLAPD}\n"
    for name, text in (
        ("start-slapd", render_start_slapd(root)),
        ("stop-slapd", render_stop_slapd(root)),
    ):
        if real not in text:
            raise RuntimeError(f"{name}: the script no longer names ns-slapd as {real.strip()}")
        write_script(root / name, text.replace(real, f"NS_SLAPD={launcher}\n"))
    return StandInDs(root, port)


# --- processes ---------------------------------------------------------------------------


def _pids_of(instance_root: Path) -> set[int]:
    wanted = os.path.normpath(instance_root)
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
            if f"({DAEMON}) ".encode() not in stat:
                continue
            if stat[stat.rindex(b")") + 2 :].split()[0] in (b"Z", b"X"):
                continue
            words = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        for flag, value in itertools.pairwise(words):
            if flag == b"-D" and os.path.normpath(os.fsdecode(value)) == wanted:
                found.add(int(entry))
    return found


def real_argv(instance_root: str, pid_file: str) -> list[str]:
    return [DAEMON, "-D", instance_root, "-i", pid_file]


def _argv_bytes(argv: list[str]) -> bytes:
    return b"".join(os.fsencode(arg) + b"\0" for arg in argv)


def _exec_argv(real: list[str]) -> list[str]:
    """Interpreter argv whose bytes are exactly as long as the real command line."""
    head = [DAEMON, "-m", MODULE]
    pad = len(_argv_bytes(real)) - len(_argv_bytes(head)) - 1
    if pad < 1:
        raise ValueError("instance path too short to show the ns-slapd command line")
    return [*head, "_" * pad]


# --- the launcher ------------------------------------------------------------------------


def launch_main(argv: list[str]) -> int:
    """``ns-slapd -D <InstanceRoot> -i <pidfile>``: start the server, 0 once it listens."""
    root = pid_file = None
    words = list(argv)
    while words:
        flag = words.pop(0)
        if flag in ("-D", "-i") and words:
            value = words.pop(0)
            if flag == "-D":
                root = value
            else:
                pid_file = value
    if root is None or pid_file is None:
        print("usage: ns-slapd -D instance-dir -i pid-file", file=sys.stderr)
        return 1
    root = os.path.normpath(os.path.abspath(root))
    if os.path.normpath(os.path.abspath(pid_file)) != os.path.join(root, "logs", "pid"):
        print("ns-slapd (stand-in): the pid file must be <instance>/logs/pid", file=sys.stderr)
        return 1
    report_r, report_w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        try:
            os.close(report_r)
            os.setsid()
            if os.fork() == 0:
                _exec_daemon(root, pid_file, report_w)
        finally:
            os._exit(0)
    os.close(report_w)
    os.waitpid(child, 0)
    report = _read_report(report_r)
    os.close(report_r)
    if report.startswith("OK"):
        return 0
    print(f"ns-slapd (stand-in): {report or 'the server exited during startup'}", file=sys.stderr)
    return 1


def _exec_daemon(root: str, pid_file: str, report_fd: int) -> NoReturn:
    os.chdir("/")
    os.set_inheritable(report_fd, True)
    errors = os.open(os.path.join(root, "logs", "errors"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(errors, 1)
    os.dup2(errors, 2)
    os.closerange(3, report_fd)
    os.closerange(report_fd + 1, 4096)
    env = {
        "PATH": "/usr/bin:/bin",
        # argv[0] is not the interpreter's path: pin the standard library and our module.
        "PYTHONHOME": sys.base_prefix,
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        ENV_ROOT: root,
        ENV_REPORT: str(report_fd),
    }
    try:
        os.execve(sys.executable, _exec_argv(real_argv(root, pid_file)), env)  # noqa: S606
    except (OSError, ValueError) as exc:
        os.write(report_fd, f"ERR cannot start: {exc}\n".encode())
    os._exit(1)


def _read_report(fd: int) -> str:
    # Like stubs.msgdaemon.read_report, kept apart on purpose: this module also runs as the
    # daemon under a bare interpreter, where msgdaemon's imports (psutil) are not found.
    chunks: list[bytes] = []
    deadline = time.monotonic() + READY_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace").strip()


# --- the daemon --------------------------------------------------------------------------


def _log(message: str) -> None:
    stamp = time.strftime("[%d/%b/%Y:%H:%M:%S]")
    with contextlib.suppress(OSError):
        print(f"{stamp} - {message}", flush=True)


def _take_identity(real: list[str]) -> None:
    blob = _argv_bytes(real)
    stat = Path("/proc/self/stat").read_bytes()
    fields = stat[stat.rindex(b")") + 2 :].split()
    # arg_start and arg_end are fields 48 and 49 of proc(5); fields[0] is field 3.
    arg_start, arg_end = int(fields[45]), int(fields[46])
    if arg_end - arg_start != len(blob):
        raise OSError(f"argument area is {arg_end - arg_start} bytes, not {len(blob)}")
    ctypes.memmove(arg_start, blob, len(blob))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NAME, DAEMON.encode(), 0, 0, 0) != 0:
        raise OSError(f"prctl(PR_SET_NAME) failed: errno {ctypes.get_errno()}")


def serve() -> int:
    root = os.environ[ENV_ROOT]
    report = int(os.environ[ENV_REPORT])
    pid_file = os.path.join(root, "logs", "pid")
    try:
        _take_identity(real_argv(root, pid_file))
        port = int(json.loads(Path(root, "standin.json").read_text())["port"])
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        tmp = f"{pid_file}.{os.getpid()}"
        Path(tmp).write_text(f"{os.getpid()}\n")
        os.replace(tmp, pid_file)
    except (OSError, ValueError, KeyError) as exc:
        _log(f"ERR - startup failed: {exc}")
        os.write(report, f"ERR {exc}\n".encode())
        return 1

    def on_term(signum: int, frame: FrameType | None) -> None:
        del frame
        # Like ns-slapd: shut down on SIGTERM, leaving the pid file behind.
        _log(f"NOTICE - signal {signum} received: slapd shutting down")
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _log(f"NOTICE - stand-in slapd started: listening on 127.0.0.1:{port}")
    os.write(report, f"OK {os.getpid()}\n".encode())
    os.close(report)
    while True:
        # Accept and hang up: enough for a TCP check; there is no LDAP behind it.
        with contextlib.suppress(OSError):
            client, _ = listener.accept()
            client.close()


if __name__ == "__main__":
    sys.exit(serve())
