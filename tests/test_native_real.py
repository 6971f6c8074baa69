"""The native probes against real servers: Dovecot (IMAP, POP3, LMTP, with and without
TLS), Postfix (SMTP), python's http.server (HTTP, HTTPS) and 389 Directory Server (LDAP,
LDAPS); and the faults: wrong password, port closed, server stopped by SIGSTOP, TLS
broken, a greeting of garbage, a server that echoes the password. Each fault gives the
right verdict within the threshold and names the phase that failed."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jescore.policy.commands import (
    DialogueResult,
    Judgement,
    NativeProbe,
    Phase,
    ProbeOutcome,
    Protocol,
    judge_dialogue,
)
from jescore.policy.declaration import Raw
from jescore.policy.secrets import MASK
from shell.probes import converse
from stubs.dirsrv389 import DsInstance
from stubs.mailservers import LOOPBACK, Daemon
from stubs.msgserver import StandInServer, build_server_root
from stubs.vcscrypt import PasswordHelper
from tests.agentcalls import Agents
from tests.conftest import MAIL_DOMAIN, MAIL_PASSWORD

pytestmark = pytest.mark.realserver

THRESHOLD = 2.0  # what the core would give each probe; every fault must end within it
HEALTHY = 10.0  # a healthy server's threshold: a busy CI machine must not fail it
SLACK = 0.5  # the probe's own bookkeeping past the threshold, at most
ADDRESS = f"probe@{MAIL_DOMAIN}"
AEP = 8  # the monitor's budget in the end-to-end test (AEPTimeout)


def probe(protocol: Protocol, port: int, *, tls: bool = False, user: str = "") -> NativeProbe:
    secret = "LDAPTestPasswd" if user and protocol in {Protocol.IMAP, Protocol.POP3} else None
    target = {Protocol.HTTP: "/", Protocol.LDAP: "cn=monitor"}.get(protocol, "")
    return NativeProbe("test", protocol, LOOPBACK, port, tls, user, secret, target)


def speak(
    native: NativeProbe, password: str = MAIL_PASSWORD, threshold: float = THRESHOLD
) -> tuple[DialogueResult, Judgement, float]:
    began = time.monotonic()
    result = converse(native, threshold, password)
    took = time.monotonic() - began
    assert took <= threshold + SLACK, f"{took:.2f} s for a {threshold} s threshold"
    return result, judge_dialogue(native, result), took


def passes(native: NativeProbe) -> DialogueResult:
    result, judged, _ = speak(native, threshold=HEALTHY)
    assert judged.outcome is ProbeOutcome.PASSED, judged.reason
    assert tuple(t.phase for t in result.done) == native.phases
    return result


def fails_at(native: NativeProbe, phase: Phase, password: str = MAIL_PASSWORD) -> Judgement:
    result, judged, _ = speak(native, password)
    assert judged.outcome is ProbeOutcome.FAILED, judged.reason
    assert result.failed_at is phase, judged.reason
    assert f"failed at {phase.value.upper()}" in judged.reason
    assert MAIL_PASSWORD not in judged.reason
    return judged


# --- every protocol passes against its real server --------------------------------------


@pytest.mark.parametrize(
    ("protocol", "port_name", "tls"),
    [
        (Protocol.IMAP, "imap", False),
        (Protocol.IMAP, "imaps", True),
        (Protocol.POP3, "pop3", False),
        (Protocol.POP3, "pop3s", True),
    ],
)
def test_imap_and_pop3_log_in_and_out_of_dovecot(
    dovecot: Daemon, protocol: Protocol, port_name: str, tls: bool
) -> None:
    result = passes(probe(protocol, dovecot.ports[port_name], tls=tls, user="probe"))
    assert [t.phase for t in result.done][-2:] == [Phase.LOGIN, Phase.LOGOUT]
    assert all(t.seconds < HEALTHY for t in result.done)


def test_without_a_user_imap_only_greets_and_logs_out(dovecot: Daemon) -> None:
    result = passes(probe(Protocol.IMAP, dovecot.ports["imap"]))
    assert Phase.LOGIN not in {t.phase for t in result.done}


def test_lmtp_names_the_test_address_to_dovecot_and_delivers_nothing(dovecot: Daemon) -> None:
    passes(probe(Protocol.LMTP, dovecot.ports["lmtp"], user=ADDRESS))
    home = dovecot.folder / "home"
    assert not list(home.rglob("Maildir/new/*"))  # RSET: nothing was delivered


def queued(postfix: Daemon) -> list[Path]:
    places = {"incoming", "active", "deferred", "maildrop"}
    return [p for p in (postfix.folder / "queue").rglob("*") if p.parent.name in places]


def test_smtp_names_the_test_address_to_postfix_and_queues_nothing(postfix: Daemon) -> None:
    passes(probe(Protocol.SMTP, postfix.ports["smtp"], user=ADDRESS))
    # Postfix logs each session's commands when it ends; it opens a queue file at MAIL
    # FROM and drops it after RSET, a moment later.
    session = "ehlo=1 mail=1 rcpt=1 rset=1 quit=1 commands=5"
    deadline = time.monotonic() + 10
    while (queued(postfix) or session not in postfix.tail()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session in postfix.tail()  # no DATA: nothing was sent to deliver
    assert not queued(postfix)


def test_http_and_https_get_an_answer_below_500(web: Daemon) -> None:
    ((name, port),) = web.ports.items()
    result = passes(probe(Protocol.HTTP, port, tls=name == "https"))
    assert result.answer == "HTTP 200"


def test_a_front_end_answering_500_fails_at_the_request() -> None:
    from stubs.mailservers import start_web

    server = start_web(status=503)
    try:
        judged = fails_at(probe(Protocol.HTTP, server.ports["http"]), Phase.REQUEST)
        assert "503" in judged.reason
    finally:
        server.destroy()


def test_ldap_and_ldaps_search_cn_monitor_of_389(ds: DsInstance) -> None:
    ds.start()
    for port, tls in ((ds.port, False), (ds.ssl_port, True)):
        result = passes(probe(Protocol.LDAP, port, tls=tls))
        assert result.answer.startswith("version: 389-Directory/"), result.answer


# --- faults -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "port_name"), [(Protocol.IMAP, "imap"), (Protocol.POP3, "pop3")]
)
def test_a_wrong_password_fails_at_login(
    dovecot: Daemon, protocol: Protocol, port_name: str
) -> None:
    native = probe(protocol, dovecot.ports[port_name], user="probe")
    fails_at(native, Phase.LOGIN, password="not-the-password")


def test_a_stopped_server_fails_at_connect(dovecot: Daemon) -> None:
    port = dovecot.ports["imap"]
    dovecot.stop()
    judged = fails_at(probe(Protocol.IMAP, port, user="probe"), Phase.CONNECT)
    assert "connection refused" in judged.reason


@pytest.mark.parametrize(
    ("protocol", "port_name", "tls", "phase"),
    [
        (Protocol.IMAP, "imap", False, Phase.GREETING),
        (Protocol.POP3, "pop3", False, Phase.GREETING),
        (Protocol.LMTP, "lmtp", False, Phase.GREETING),
        (Protocol.IMAP, "imaps", True, Phase.TLS),
    ],
)
def test_a_sigstopped_dovecot_fails_where_it_stalls_within_the_threshold(
    dovecot: Daemon, protocol: Protocol, port_name: str, tls: bool, phase: Phase
) -> None:
    dovecot.pause()
    user = ADDRESS if protocol is Protocol.LMTP else "probe"
    judged = fails_at(probe(protocol, dovecot.ports[port_name], tls=tls, user=user), phase)
    assert f"no answer within the {THRESHOLD:.1f} s threshold" in judged.reason


def test_a_sigstopped_postfix_fails_at_the_greeting(postfix: Daemon) -> None:
    postfix.pause()
    fails_at(probe(Protocol.SMTP, postfix.ports["smtp"], user=ADDRESS), Phase.GREETING)


def test_a_sigstopped_front_end_fails_at_the_request(web: Daemon) -> None:
    ((name, port),) = web.ports.items()
    web.pause()
    tls = name == "https"
    fails_at(probe(Protocol.HTTP, port, tls=tls), Phase.TLS if tls else Phase.REQUEST)


def test_a_sigstopped_directory_server_fails_at_the_search(ds: DsInstance) -> None:
    ds.start()
    pids = ds.pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        fails_at(probe(Protocol.LDAP, ds.port), Phase.SEARCH)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@pytest.mark.parametrize(
    ("protocol", "port_name"),
    [(Protocol.IMAP, "imap"), (Protocol.POP3, "pop3"), (Protocol.LMTP, "lmtp")],
)
def test_tls_to_a_port_that_does_not_speak_it_fails_at_tls(
    dovecot: Daemon, protocol: Protocol, port_name: str
) -> None:
    judged = fails_at(probe(protocol, dovecot.ports[port_name], tls=True), Phase.TLS)
    assert "SSL" in judged.reason or "TLS" in judged.reason


def test_ldaps_to_the_plain_ldap_port_fails_at_tls(ds: DsInstance) -> None:
    ds.start()
    fails_at(probe(Protocol.LDAP, ds.port, tls=True), Phase.TLS)


@contextlib.contextmanager
def fake_server(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback listener whose every connection `answer` handles; yields its port."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(THRESHOLD * 2)
                with contextlib.suppress(OSError):
                    answer(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def garbage(conn: socket.socket) -> None:
    conn.sendall(b"\x00\xffHELLO? 42 garbage\r\n")
    conn.recv(1024)


@pytest.mark.parametrize(
    ("protocol", "phase"),
    [
        (Protocol.IMAP, Phase.GREETING),
        (Protocol.POP3, Phase.GREETING),
        (Protocol.SMTP, Phase.GREETING),
        (Protocol.LMTP, Phase.GREETING),
        (Protocol.HTTP, Phase.REQUEST),
        (Protocol.LDAP, Phase.SEARCH),
    ],
)
def test_a_greeting_of_garbage_fails_at_the_first_answer(protocol: Protocol, phase: Phase) -> None:
    with fake_server(garbage) as port:
        fails_at(probe(protocol, port, user="probe"), phase)


def echoing_imap(conn: socket.socket) -> None:
    """Greets, answers CAPABILITY, then answers LOGIN with NO and all it was sent."""
    conn.sendall(b"* OK fake IMAP ready\r\n")
    for line in conn.makefile("rb"):
        tag, command = [*line.strip().split(b" "), b""][:2]
        if command.upper() == b"CAPABILITY":
            conn.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
        else:
            conn.sendall(tag + b" NO you sent: " + line.strip() + b"\r\n")


def test_a_password_the_server_echoes_never_leaves_the_probe() -> None:
    with fake_server(echoing_imap) as port:
        native = probe(Protocol.IMAP, port, user="probe")
        result, judged, _ = speak(native)
    assert result.failed_at is Phase.LOGIN
    assert "you sent" in result.error and MASK in result.error
    assert MAIL_PASSWORD not in result.error and MAIL_PASSWORD not in judged.reason


# --- through the installed entry points -------------------------------------------------


@pytest.fixture
def msg(tmp_path: Path) -> Iterator[StandInServer]:
    built = build_server_root(
        tmp_path / "msg", users={"probe": MAIL_PASSWORD}, domain=MAIL_DOMAIN, stop_timeout=5
    )
    yield built
    built.stop_all()


def test_monitor_speaks_imap_to_dovecot_when_immonitor_access_is_missing(
    agents: Agents, msg: StandInServer, dovecot: Daemon, password_helper: PasswordHelper
) -> None:
    """The stand-in's imapd is the first level; the second speaks to the real Dovecot."""
    values: dict[str, Raw] = {
        "ServerRoot": (str(msg.root),),
        "MsgHost": (LOOPBACK,),
        "MsgServices": ("imap", str(dovecot.ports["imap"])),
        "ResLogLevel": ("TRACE",),
        "SecondLevelMonitor": ("1",),
        "LDAPTestUser": ("probe",),
        "LDAPTestPasswd": (password_helper.encrypt(MAIL_PASSWORD),),
    }
    core: dict[str, Raw] = {
        "ServerRoot": (str(msg.root),),
        "MsgHost": (LOOPBACK,),
        "MsgServices": ("core", str(msg.ports["core"])),
    }
    assert agents.call("SunJESMsg", "online", "core1", core).code == 0
    assert agents.call("SunJESMsg", "online", "res1", values).code == 0
    msg.immonitor_access.unlink()
    # A short budget: the stalled server below costs the probe's whole share of it.
    healthy = agents.call("SunJESMsg", "monitor", "res1", values, aep_timeout=AEP)
    assert healthy.code == 110, healthy.lines
    assert healthy.logged(f"IMAP {LOOPBACK}:{dovecot.ports['imap']} answered (connect ")
    wrong = dict(values, LDAPTestPasswd=(password_helper.encrypt("Wrong-pw-9182"),))
    failed = agents.call("SunJESMsg", "monitor", "res1", wrong, aep_timeout=AEP)
    assert failed.code == 100
    assert failed.logged("failed at LOGIN after")
    dovecot.pause()
    stalled = agents.call("SunJESMsg", "monitor", "res1", values, aep_timeout=AEP)
    assert stalled.code == 100
    assert stalled.logged("failed at GREETING after")
    assert stalled.seconds < AEP
    text = agents.log.read_text()
    assert MAIL_PASSWORD not in text and "Wrong-pw-9182" not in text
    dovecot.resume()
    agents.call("SunJESMsg", "offline", "res1", values)
    agents.call("SunJESMsg", "offline", "core1", core)


def test_the_directory_server_agent_searches_cn_monitor_itself(
    agents: Agents, ds: DsInstance
) -> None:
    values: dict[str, Raw] = {
        "InstanceRoot": (str(ds.instance_root),),
        "LDAPHost": (LOOPBACK,),
        "LDAPPort": (str(ds.port),),
        "SSLPort": (str(ds.ssl_port),),
        "ResLogLevel": ("TRACE",),
        "SecondLevelMonitor": ("1",),
        "NativeProbes": ("1",),
    }
    assert agents.call("SunJESLDAP", "online", "ldap1", values).code == 0
    watched = agents.call("SunJESLDAP", "monitor", "ldap1", values, aep_timeout=AEP)
    assert watched.code == 110, watched.lines
    assert watched.logged(f"LDAP {LOOPBACK}:{ds.port} answered (connect ")
    assert watched.logged(f"LDAPS {LOOPBACK}:{ds.ssl_port} answered (connect ")
    assert watched.logged("; version: 389-Directory/")
    assert not watched.logged("ldapsearch")  # the agent's own search, no program run
    (pid,) = ds.pids()
    os.kill(pid, signal.SIGSTOP)
    try:
        stalled = agents.call("SunJESLDAP", "monitor", "ldap1", values, aep_timeout=AEP)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert stalled.code == 100
    assert stalled.logged("failed at SEARCH after")
    assert stalled.seconds < AEP
    agents.call("SunJESLDAP", "offline", "ldap1", values)
