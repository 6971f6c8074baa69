"""Running programs and opening connections, always bounded in time, never through a shell."""

from __future__ import annotations

import contextlib
import os
import signal
import time

from jescore.policy.commands import ConnectResult, ProgramResult
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


if TYPE_CHECKING:  # loaded when first needed: a monitor that runs nothing never pays
    import socket
    import subprocess

OUTPUT_LIMIT = 64 * 1024  # more than any status tool prints; the rest is not read
REAP_SECONDS = 1.0

# The program running right now, so the budget watchdog can stop it before exiting.
running: list[subprocess.Popen[bytes]] = []


def run_program(
    argv: Sequence[str],
    *,
    timeout: float,
    stdin_data: bytes | None = None,
    env: Mapping[str, str] | None = None,
    merge_stderr: bool = True,
) -> ProgramResult:
    """Run argv, feed stdin_data, collect its output; stop it (and its own process group)
    at the timeout.

    Output goes to an unlinked temporary file, not a pipe: a daemon a start script leaves
    behind may keep writing to the standard output it inherited, and on a pipe whose reader
    has gone that write would kill it (SIGPIPE).
    """
    import subprocess
    import tempfile

    with tempfile.TemporaryFile() as sink:
        try:
            child = subprocess.Popen(  # noqa: S603 - argv from the policy; no shell, ever
                list(argv),
                stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT if merge_stderr else subprocess.DEVNULL,
                close_fds=True,
                start_new_session=True,  # its own process group, which we may stop whole
                env=dict(env) if env is not None else None,
            )
        except OSError as error:
            return ProgramResult(False, None, "", f"{argv[0]}: {error.strerror or error}")
        running.append(child)
        try:
            code = _wait(child, stdin_data, timeout)
        finally:
            running.remove(child)
        sink.seek(0)
        output = sink.read(OUTPUT_LIMIT).decode("utf-8", "replace")
    return ProgramResult(True, code, output)


def _wait(child: subprocess.Popen[bytes], stdin_data: bytes | None, timeout: float) -> int | None:
    import subprocess

    if stdin_data is not None and child.stdin is not None:
        try:
            child.stdin.write(stdin_data)
        except OSError:
            pass  # the program did not want its standard input
        finally:
            with contextlib.suppress(OSError):
                child.stdin.close()
    try:
        return child.wait(timeout=max(timeout, 0.0))
    except subprocess.TimeoutExpired:
        stop_group(child)
        return None


def stop_group(child: subprocess.Popen[bytes], *, reap: bool = True) -> None:
    """SIGKILL our own child and the process group it leads. The group id is the child's
    pid, which cannot be reused while the child is unreaped; daemons it started have left
    the group (setsid) and are not touched. Without `reap` (inside a signal handler, where
    waiting could deadlock on the interrupted wait) the child is left to init."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except OSError:
        with contextlib.suppress(OSError):
            os.kill(child.pid, signal.SIGKILL)
    if not reap:
        return
    import subprocess

    with contextlib.suppress(subprocess.TimeoutExpired):  # stuck in the kernel: reaped at exit
        child.wait(timeout=REAP_SECONDS)


def connect(host: str, port: int, *, timeout: float, tls: bool = False) -> ConnectResult:
    """Open a TCP connection (and, if asked, complete a TLS handshake), then close it."""
    import socket

    deadline = time.monotonic() + max(timeout, 0.1)
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        return ConnectResult(False, error=f"cannot resolve {host}: {error}", resolved=False)
    last = "no address"
    for family, kind, proto, _, address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with socket.socket(family, kind, proto) as raw:
                raw.settimeout(left)
                raw.connect(address)
                if not tls:
                    return ConnectResult(True)
                return _handshake(raw, host, deadline)
        except TimeoutError:
            last = f"no answer within {timeout:.0f} s"
        except OSError as error:
            last = error.strerror or str(error)
    return ConnectResult(False, error=last)


def _handshake(raw: socket.socket, host: str, deadline: float) -> ConnectResult:
    import ssl  # only TLS probes pay for loading it

    # The check is that the port speaks TLS, not whom it claims to be.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw.settimeout(max(deadline - time.monotonic(), 0.1))
    try:
        with context.wrap_socket(raw, server_hostname=host):
            return ConnectResult(True, tls_ok=True)
    except OSError as error:  # ssl.SSLError is an OSError
        return ConnectResult(True, tls_ok=False, error=str(error) or type(error).__name__)
