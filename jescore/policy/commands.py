"""Commands and probes as values: what the shell is asked to run, and how results read.

A command never holds a password. Where a program needs one, the command names the
attribute whose decrypted value the shell writes to the program's standard input.
Thresholds that depend on the time left are slots filled in at the last moment.
"""

from __future__ import annotations

import enum
import re

from jescore.policy import checks
from jescore.policy.declaration import Attr, Dimension, VcsType
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


class Protocol(enum.Enum):
    """The protocols the shell's own probes speak (jescore.policy.commands.DIALOGUES)."""

    IMAP = "IMAP"
    POP3 = "POP3"
    SMTP = "SMTP"
    LMTP = "LMTP"
    HTTP = "HTTP"
    LDAP = "LDAP"


class Phase(enum.Enum):
    """One step of a probe's dialogue, timed on its own."""

    CONNECT = "connect"
    TLS = "tls"
    GREETING = "greeting"
    LOGIN = "login"
    LOGOUT = "logout"
    EHLO = "ehlo"
    LHLO = "lhlo"
    MAIL = "mail"
    RCPT = "rcpt"
    RSET = "rset"
    QUIT = "quit"
    REQUEST = "request"
    SEARCH = "search"


# What each protocol's probe says after connecting (and completing TLS when the service
# has it), in order; True marks a step that needs the test account, left out without one.
# SMTP and LMTP deliver nothing: RSET undoes MAIL FROM and RCPT TO.
DIALOGUES: dict[Protocol, tuple[tuple[Phase, bool], ...]] = {
    Protocol.IMAP: ((Phase.GREETING, False), (Phase.LOGIN, True), (Phase.LOGOUT, False)),
    Protocol.POP3: ((Phase.GREETING, False), (Phase.LOGIN, True), (Phase.LOGOUT, False)),
    Protocol.SMTP: (
        (Phase.GREETING, False), (Phase.EHLO, False), (Phase.MAIL, True), (Phase.RCPT, True),
        (Phase.RSET, True), (Phase.QUIT, False),
    ),
    Protocol.LMTP: (
        (Phase.GREETING, False), (Phase.LHLO, False), (Phase.MAIL, True), (Phase.RCPT, True),
        (Phase.RSET, True), (Phase.QUIT, False),
    ),
    Protocol.HTTP: ((Phase.REQUEST, False),),  # GET target: any status below 500 passes
    Protocol.LDAP: ((Phase.SEARCH, False),),  # anonymous base search of target
}  # fmt: skip

NATIVE_PROBES: Attr[bool] = Attr(
    "NativeProbes", VcsType.BOOLEAN, Dimension.SCALAR, ("0",), False,
    "1: the second level speaks each service's protocol itself (IMAP, POP3, SMTP, LMTP, "
    "HTTP, LDAP, over TLS where the service has it) and names the step that failed; 0: it "
    "runs immonitor-access or ldapsearch as the guide does, and speaks the protocol itself "
    "only where that program is not installed.",
    checks.boolean,
)  # fmt: skip


@record
class NativeProbe:
    """A dialogue the shell holds with the server itself. The password, when one is
    needed, is named by its attribute; the shell decrypts it and keeps it in memory."""

    what: str
    protocol: Protocol
    host: str
    port: int
    tls: bool = False
    user: str = ""  # IMAP, POP3: the login; SMTP, LMTP: the MAIL FROM and RCPT TO address
    secret: str | None = None  # the attribute holding the user's password (IMAP, POP3)
    target: str = ""  # HTTP: the path requested; LDAP: the base entry searched
    stands_in: str = ""  # why it runs in place of the program NativeProbes 0 asks for

    @property
    def label(self) -> str:
        return f"{self.protocol.value}{'S' if self.tls else ''} {self.host}:{self.port}"

    @property
    def phases(self) -> tuple[Phase, ...]:
        """Every phase the dialogue must complete, in order."""
        opening = (Phase.CONNECT, Phase.TLS) if self.tls else (Phase.CONNECT,)
        talk = tuple(
            p for p, needs_account in DIALOGUES[self.protocol] if self.user or not needs_account
        )
        return opening + talk


Probe = ProgramProbe | TcpProbe | NativeProbe


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


@record
class Timed:
    phase: Phase
    seconds: float


@record
class DialogueResult:
    """How a native probe's dialogue went: the phases completed with their times, where it
    stopped and why, and what the server said worth noting (an HTTP status, a version)."""

    done: tuple[Timed, ...] = ()
    failed_at: Phase | None = None
    error: str = ""  # never holds the password: the shell removes it, the core masks it
    seconds: float = 0.0  # from the start of the connect to the end
    ran: bool = True  # False: it could not start (unknown host name, no password)
    secret_unavailable: bool = False  # not run: the password could not be decrypted
    answer: str = ""


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


def shown_time(seconds: float) -> str:
    """Milliseconds under a second, where phases of a healthy server live; seconds above."""
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.1f} s"


def failing_phase(probe: NativeProbe, result: DialogueResult) -> Phase | None:
    """The phase the dialogue did not complete, or None when it completed every one in
    order. A result that stops short without saying where is read at the first phase it
    lacks: an incomplete dialogue never passes."""
    expected = probe.phases
    reached = tuple(t.phase for t in result.done)
    if result.failed_at is not None:
        return result.failed_at
    if reached == expected:
        return None
    for index, phase in enumerate(expected):
        if index >= len(reached) or reached[index] is not phase:
            return phase
    return expected[-1]  # more phases than asked for: something else answered


def judge_dialogue(probe: NativeProbe, result: DialogueResult) -> Judgement:
    """A dialogue that could not start says nothing of the server: inconclusive. One that
    stopped at any phase failed there; the reason names it, with the phases' times."""
    timings = ", ".join(f"{t.phase.value} {shown_time(t.seconds)}" for t in result.done)
    if not result.ran:
        return Judgement(ProbeOutcome.INCONCLUSIVE, f"{probe.label} not probed: {result.error}")
    failed = failing_phase(probe, result)
    if failed is None:
        answer = f"; {result.answer}" if result.answer else ""
        return Judgement(ProbeOutcome.PASSED, f"{probe.label} answered ({timings}){answer}")
    why = result.error or "the dialogue ended early"
    return Judgement(
        ProbeOutcome.FAILED,
        f"{probe.label} failed at {failed.value.upper()} after {result.seconds:.1f} s "
        f"({timings or 'no phase completed'}): {why}",
    )


def passing_dialogue(probe: NativeProbe) -> DialogueResult:
    """What a healthy server's dialogue gives: what explain and the API assume."""
    done = tuple(Timed(phase, 0.001) for phase in probe.phases)
    return DialogueResult(done, seconds=0.001 * len(done))
