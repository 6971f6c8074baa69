"""How a probe's result is judged: every branch of judge_program and judge_connect."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jescore.policy.commands import (
    ConnectResult,
    Expect,
    ProbeOutcome,
    ProgramProbe,
    ProgramResult,
    TcpProbe,
    judge_connect,
    judge_program,
    passing_result,
)

STORE = ProgramProbe("message store check", ("stored", "-t", "-v"))
SEARCH = ProgramProbe("cn=monitor search", ("ldapsearch",), Expect.VERSION_LINE)
ADMIN = ProgramProbe("admconfig", ("admconfig",), Expect.REPORTED_PORT, port=390)
PORT = TcpProbe("imap port check", "mail.example.com", 143)
SECURE = TcpProbe("secure port", "ldap.example.com", 636, tls=True)


@pytest.mark.parametrize(
    ("probe", "result", "outcome", "says"),
    [
        (
            STORE,
            ProgramResult(False, None, "", "no such file"),
            ProbeOutcome.INCONCLUSIVE,
            "could not run",
        ),
        (STORE, ProgramResult(True, None), ProbeOutcome.FAILED, "did not answer in time"),
        (STORE, ProgramResult(True, 3), ProbeOutcome.FAILED, "exit 3"),
        (STORE, ProgramResult(True, 0), ProbeOutcome.PASSED, "passed"),
        (SEARCH, ProgramResult(True, 0, "version: 1\n"), ProbeOutcome.PASSED, "passed"),
        (SEARCH, ProgramResult(True, 0, "dn: cn=monitor\n"), ProbeOutcome.PASSED, "no version"),
        (SEARCH, ProgramResult(True, 32), ProbeOutcome.FAILED, "exit 32"),
        (ADMIN, ProgramResult(True, 0, "nsserverport = 390"), ProbeOutcome.PASSED, "passed"),
        (ADMIN, ProgramResult(True, 0, ""), ProbeOutcome.PASSED, "reported no port"),
        (ADMIN, ProgramResult(True, 1), ProbeOutcome.FAILED, "exit 1"),
    ],
)
def test_program_probes(
    probe: ProgramProbe, result: ProgramResult, outcome: ProbeOutcome, says: str
) -> None:
    judged = judge_program(probe, result)
    assert judged.outcome is outcome
    assert says in judged.reason
    assert not judged.warning


def test_a_port_reported_otherwise_is_a_warning_not_a_failure() -> None:
    judged = judge_program(ADMIN, ProgramResult(True, 0, "configuration.nsServerPort = 391"))
    assert judged.outcome is ProbeOutcome.PASSED
    assert "391" in judged.warning
    assert "390" in judged.warning


@pytest.mark.parametrize(
    ("probe", "result", "outcome", "says"),
    [
        (PORT, ConnectResult(True), ProbeOutcome.PASSED, "accepts connections"),
        (PORT, ConnectResult(False, error="refused"), ProbeOutcome.FAILED, "no connection"),
        (
            PORT,
            ConnectResult(False, error="no host", resolved=False),
            ProbeOutcome.INCONCLUSIVE,
            "no host",
        ),
        (SECURE, ConnectResult(True, tls_ok=True), ProbeOutcome.PASSED, "accepts connections"),
        (
            SECURE,
            ConnectResult(True, tls_ok=False, error="EOF"),
            ProbeOutcome.FAILED,
            "TLS handshake",
        ),
    ],
)
def test_connection_probes(
    probe: TcpProbe, result: ConnectResult, outcome: ProbeOutcome, says: str
) -> None:
    judged = judge_connect(probe, result)
    assert judged.outcome is outcome
    assert says in judged.reason


@given(st.sampled_from([STORE, SEARCH, ADMIN]), st.integers(1, 255))
def test_only_exit_zero_passes_and_a_healthy_answer_always_does(
    probe: ProgramProbe, code: int
) -> None:
    assert judge_program(probe, ProgramResult(True, code)).outcome is ProbeOutcome.FAILED
    healthy = judge_program(probe, passing_result(probe))
    assert healthy.outcome is ProbeOutcome.PASSED
    assert not healthy.warning
