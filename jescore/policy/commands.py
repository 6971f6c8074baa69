"""Commands and probes as values: what the shell is asked to run, and how results read.

A command never holds a password. Where a program needs one, the command names the
attribute whose decrypted value the shell writes to the program's standard input.
Thresholds that depend on the time left are slots filled in at the last moment.
"""

from __future__ import annotations

import enum
import re

from jescore.record import record


@record
class Command:
    argv: tuple[str, ...]
    purpose: str
    stdin_secret: str | None = None  # attribute name; its decrypted value goes to stdin
    ok_exit_codes: frozenset[int] = frozenset({0})


@record
class ThresholdSlot:
    """Stands in an argument for a number of seconds decided just before running."""

    prefix: str = ""
    suffix: str = ""


ArgvTemplate = tuple[str | ThresholdSlot, ...]


def fill(template: ArgvTemplate, seconds: int) -> tuple[str, ...]:
    return tuple(
        part if isinstance(part, str) else f"{part.prefix}{seconds}{part.suffix}"
        for part in template
    )


class Expect(enum.Enum):
    """What a probe program's answer must show. Exit status 0 always decides, as in the
    original agent; the rest is checked and reported, never failed on."""

    EXIT_ZERO = "exit status 0"
    VERSION_LINE = "exit status 0; a 'version' value in the answer is noted (TRACE)"
    REPORTED_PORT = "exit status 0; a reported port other than the configured one is a warning"


@record
class ProgramProbe:
    what: str  # for the log: "imap synthetic transaction"
    argv: ArgvTemplate
    expect: Expect = Expect.EXIT_ZERO
    stdin_secret: str | None = None
    port: int = 0  # for REPORTED_PORT


@record
class TcpProbe:
    what: str
    host: str
    port: int
    tls: bool = False  # a completed TLS handshake, not just an accepted connection


Probe = ProgramProbe | TcpProbe


@record
class ProgramResult:
    """How a program run ended: exit code, or None if it was stopped at its timeout."""

    started: bool
    exit_code: int | None
    output: str = ""
    error: str = ""  # why it could not start, when started is False
    secret_unavailable: bool = False  # not started: its password could not be decrypted


@record
class ConnectResult:
    """The answer to Connect: connected, TLS completed, or why not."""

    connected: bool
    tls_ok: bool = False
    error: str = ""
    resolved: bool = True  # False: the name did not resolve, which says nothing of the server


class ProbeOutcome(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"


@record
class Judgement:
    outcome: ProbeOutcome
    reason: str
    warning: str = ""  # something an administrator should see (WARN), whatever the outcome


_VERSION = re.compile(r"^version:\s*\S", re.MULTILINE | re.IGNORECASE)
_PORT = re.compile(r"nsserverport\s*=\s*([0-9]+)", re.IGNORECASE)


def judge_program(probe: ProgramProbe, result: ProgramResult) -> Judgement:
    """A probe program that could not start says nothing about the server: inconclusive.
    One that ran out of time or failed says the server did not answer: failed."""
    if not result.started:
        return Judgement(ProbeOutcome.INCONCLUSIVE, f"{probe.what} could not run: {result.error}")
    if result.exit_code is None:
        return Judgement(ProbeOutcome.FAILED, f"{probe.what} did not answer in time")
    if result.exit_code != 0:
        return Judgement(ProbeOutcome.FAILED, f"{probe.what} failed (exit {result.exit_code})")
    if probe.expect is Expect.VERSION_LINE and not _VERSION.search(result.output):
        return Judgement(
            ProbeOutcome.PASSED,
            f"{probe.what} passed; its answer had no version (a cn=monitor ACI that hides it?)",
        )
    if probe.expect is Expect.REPORTED_PORT:
        match = _PORT.search(result.output)
        if match is None:
            return Judgement(ProbeOutcome.PASSED, f"{probe.what} passed; it reported no port")
        if int(match.group(1)) != probe.port:
            reported = match.group(1)
            return Judgement(
                ProbeOutcome.PASSED,
                f"{probe.what} passed",
                f"{probe.what} reports port {reported}, but AdminPort is {probe.port}",
            )
    return Judgement(ProbeOutcome.PASSED, f"{probe.what} passed")


def passing_result(probe: ProgramProbe) -> ProgramResult:
    """What a healthy server's probe program answers: what `jesagent explain` assumes when
    it is told nothing else (judge_program passes it, as a test checks)."""
    output = {
        Expect.EXIT_ZERO: "",
        Expect.VERSION_LINE: "dn: cn=monitor\nversion: (assumed)\n",
        Expect.REPORTED_PORT: f"nsserverport = {probe.port}\n",
    }[probe.expect]
    return ProgramResult(True, 0, output)


def judge_connect(probe: TcpProbe, result: ConnectResult) -> Judgement:
    where = f"{probe.host}:{probe.port}"
    if not result.resolved:
        return Judgement(ProbeOutcome.INCONCLUSIVE, f"{probe.what}: {result.error}")
    if not result.connected:
        return Judgement(
            ProbeOutcome.FAILED, f"{probe.what}: no connection to {where} ({result.error})"
        )
    if probe.tls and not result.tls_ok:
        return Judgement(
            ProbeOutcome.FAILED, f"{probe.what}: TLS handshake with {where} failed ({result.error})"
        )
    return Judgement(ProbeOutcome.PASSED, f"{probe.what}: {where} accepts connections")
