"""Running programs and opening connections, always bounded in time, never through a shell."""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence

from jescore.commands import ConnectResult, ProgramResult

OUTPUT_LIMIT = 64 * 1024  # more than any status tool prints; the rest is read and dropped
DRAIN_SECONDS = 0.3  # after the program ends, how long to wait for the pipe to close


def run_program(
    argv: Sequence[str],
    *,
    timeout: float,
    stdin_data: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> ProgramResult:
    """Run argv, feed stdin_data, collect stdout+stderr; stop the program at the timeout.

    Daemons a start script leaves behind may keep the output pipe open, so the end of the
    program, not the end of its output, ends the wait.
    """
    try:
        child = subprocess.Popen(  # noqa: S603 - argv from the policy; no shell, ever
            list(argv),
            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            close_fds=True,
            start_new_session=True,  # a terminal's signals aimed at us do not reach it
            env=dict(env) if env is not None else None,
        )
    except OSError as error:
        return ProgramResult(False, None, "", f"{argv[0]}: {error.strerror or error}")
    if stdin_data is not None and child.stdin is not None:
        try:
            child.stdin.write(stdin_data)
        except (BrokenPipeError, OSError):
            pass  # the program did not want its standard input
        finally:
            child.stdin.close()
    deadline = time.monotonic() + max(timeout, 0.0)
    output = _collect(child, deadline)
    try:
        # The output can end a moment before the program does: wait for it, in budget.
        code = child.wait(timeout=max(deadline - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:
        child.kill()  # our own unreaped child: its pid cannot have been reused
        child.wait()
        return ProgramResult(True, None, output)
    return ProgramResult(True, code, output)


def _collect(child: subprocess.Popen[bytes], deadline: float) -> str:
    assert child.stdout is not None
    chunks: list[bytes] = []
    kept = 0
    drain_until: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if child.poll() is not None and drain_until is None:
                drain_until = now + DRAIN_SECONDS
            limit = min(deadline, drain_until) if drain_until is not None else deadline
            if now >= limit:
                break
            if not selector.select(timeout=min(0.05, limit - now)):
                continue
            data = os.read(child.stdout.fileno(), 65536)
            if not data:
                break
            if kept < OUTPUT_LIMIT:
                chunks.append(data[: OUTPUT_LIMIT - kept])
                kept += len(chunks[-1])
    child.stdout.close()
    return b"".join(chunks).decode("utf-8", "replace")


def connect(host: str, port: int, *, timeout: float, tls: bool = False) -> ConnectResult:
    """Open a TCP connection (and, if asked, complete a TLS handshake), then close it."""
    try:
        with socket.create_connection((host, port), timeout=max(timeout, 0.1)) as raw:
            if not tls:
                return ConnectResult(True)
            import ssl  # only TLS probes pay for loading it

            # The check is that the port speaks TLS, not whom it claims to be.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            try:
                with context.wrap_socket(raw, server_hostname=host):
                    return ConnectResult(True, tls_ok=True)
            except OSError as error:  # ssl.SSLError is an OSError
                return ConnectResult(True, tls_ok=False, error=str(error) or type(error).__name__)
    except TimeoutError:
        return ConnectResult(False, error=f"no answer within {timeout:.0f} s")
    except OSError as error:
        return ConnectResult(False, error=error.strerror or str(error))
