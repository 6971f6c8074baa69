"""The native probes' pure side: which probe each service gets, and how a dialogue's
result is read into a verdict and a log line (properties over every result)."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from jescore.policy import argv as vcs_argv
from jescore.policy.commands import (
    DIALOGUES,
    DialogueResult,
    NativeProbe,
    Phase,
    ProbeOutcome,
    ProgramProbe,
    Protocol,
    TcpProbe,
    Timed,
    failing_phase,
    judge_dialogue,
    passing_dialogue,
    shown_time,
)
from jescore.policy.declaration import Config, Raw, validate
from jescore.policy.resource import Snapshot, Watch
from jescore.policy.sunjesmsg import DECLARATION, POLICY
from jescore.policy.vcs import EntryPoint
from jescore.result import Success
from tests.strategies import hosts, ports, users

ROOT = "/opt/SUNWmsgsr"
IMMONITOR = f"{ROOT}/sbin/immonitor-access"
INSTALLED = Snapshot((), {}, frozenset({IMMONITOR}))
MISSING = Snapshot(())
USER: dict[str, Raw] = {"LDAPTestUser": ("probe",), "LDAPTestPasswd": ("ENCRYPTED",)}


def config(services: tuple[str, ...], *more: Mapping[str, Raw]) -> Config:
    values: dict[str, Raw] = {
        "ServerRoot": (ROOT,),
        "MsgHost": ("mail.example.com",),
        "MsgServices": services,
    }
    for extra in more:
        values.update(extra)
    return validate(DECLARATION, values).unwrap()


# --- which probe runs -----------------------------------------------------------------


def test_immonitor_access_runs_where_it_is_installed_and_nativeprobes_is_off() -> None:
    cfg = config(("imap", "143"), USER)
    (probe,) = POLICY.second_level(cfg, INSTALLED)
    assert isinstance(probe, ProgramProbe)
    assert POLICY.deep_watch(cfg) == Watch(paths=(IMMONITOR,))


def test_a_missing_immonitor_access_is_replaced_by_the_native_probes() -> None:
    cfg = config(("imap", "143", "smtp", "25", "http", "80", "imaps", "993"), USER)
    imap, smtp, http, imaps = POLICY.second_level(cfg, MISSING)
    host = "mail.example.com"
    why = f"{IMMONITOR} is missing or not executable"  # logged: NativeProbes 0 asked otherwise
    assert imap == NativeProbe(
        "imap native probe", Protocol.IMAP, host, 143, False, "probe", "LDAPTestPasswd",
        stands_in=why,
    )  # fmt: skip
    # The MTA gets the test address and no password; the web front end neither.
    assert smtp == NativeProbe(
        "smtp native probe", Protocol.SMTP, host, 25, False, "probe@example.com", stands_in=why
    )
    assert http == NativeProbe(
        "http native probe", Protocol.HTTP, host, 80, target="/", stands_in=why
    )
    # imaps has no immonitor-access flag: the guide's TCP check stays unless asked.
    assert imaps == TcpProbe("imaps port check", host, 993)


def test_nativeprobes_1_speaks_to_every_service_with_a_protocol() -> None:
    cfg = config(("imaps", "993", "pops", "995", "https", "443", "sms", "55000"), USER,
                 {"NativeProbes": ("1",)})  # fmt: skip
    imaps, pops, https, sms = POLICY.second_level(cfg, INSTALLED)
    assert isinstance(imaps, NativeProbe) and imaps.tls and imaps.user == "probe"
    assert imaps.phases == (Phase.CONNECT, Phase.TLS, Phase.GREETING, Phase.LOGIN, Phase.LOGOUT)
    assert isinstance(pops, NativeProbe) and pops.protocol is Protocol.POP3 and pops.tls
    assert isinstance(https, NativeProbe) and https.protocol is Protocol.HTTP and https.tls
    assert sms == TcpProbe("sms port check", "mail.example.com", 55000)  # no protocol known
    assert all(p.stands_in == "" for p in (imaps, pops, https))  # chosen, not a stand-in
    assert POLICY.deep_watch(cfg) == Watch()  # nothing to look for


def test_without_a_test_user_native_probes_leave_out_the_account_steps() -> None:
    plain = config(("imap", "143", "lmtp", "24"))
    assert all(isinstance(p, TcpProbe) for p in POLICY.second_level(plain, MISSING))
    native = config(("imap", "143", "lmtp", "24"), {"NativeProbes": ("1",)})
    imap, lmtp = POLICY.second_level(native, MISSING)
    assert isinstance(imap, NativeProbe) and isinstance(lmtp, NativeProbe)
    assert imap.phases == (Phase.CONNECT, Phase.GREETING, Phase.LOGOUT)
    assert imap.secret is None
    assert lmtp.phases == (Phase.CONNECT, Phase.GREETING, Phase.LHLO, Phase.QUIT)


def test_an_older_4x_vector_without_nativeprobes_still_reads() -> None:
    values = {"ServerRoot": (ROOT,), "MsgHost": ("m.example.com",), "MsgServices": ("imap", "143")}
    full = vcs_argv.render_v40(DECLARATION, "r1", values)
    assert full[-1] == "0"  # NativeProbes' default, last
    older = full[:-1]
    parsed = vcs_argv.parse(DECLARATION, EntryPoint.MONITOR, older)
    assert isinstance(parsed, Success)
    assert "NativeProbes" not in parsed.unwrap().values
    cut = full[:-2]  # ServerType missing too: that one is not an addition
    assert not isinstance(vcs_argv.parse(DECLARATION, EntryPoint.MONITOR, cut), Success)


# --- reading a dialogue's result --------------------------------------------------------


def test_the_issue_s_example_line() -> None:
    probe = NativeProbe("imap", Protocol.IMAP, "mail.example.com", 143, user="probe", secret="P")
    done = (Timed(Phase.CONNECT, 0.0003), Timed(Phase.GREETING, 0.0011))
    result = DialogueResult(done, Phase.LOGIN, "no answer", 2.0)
    judged = judge_dialogue(probe, result)
    assert judged.outcome is ProbeOutcome.FAILED
    assert judged.reason == (
        "IMAP mail.example.com:143 failed at LOGIN after 2.0 s "
        "(connect 0.3 ms, greeting 1.1 ms): no answer"
    )


probes = st.builds(
    NativeProbe,
    what=st.just("probe"),
    protocol=st.sampled_from(Protocol),
    host=hosts,
    port=ports,
    tls=st.booleans(),
    user=st.one_of(st.just(""), users),
)
times = st.floats(min_value=0, max_value=100, allow_nan=False)
timed = st.builds(Timed, st.sampled_from(Phase), times)
results = st.builds(
    DialogueResult,
    done=st.lists(timed, max_size=8).map(tuple),
    failed_at=st.one_of(st.none(), st.sampled_from(Phase)),
    error=st.text(max_size=20),
    seconds=times,
    ran=st.booleans(),
)


@st.composite
def probes_with_results(draw: st.DrawFn) -> tuple[NativeProbe, DialogueResult]:
    """Any result, often one that follows the probe's own phases part or all the way."""
    probe = draw(probes)
    if draw(st.booleans()):
        return probe, draw(results)
    reached = draw(st.integers(0, len(probe.phases)))
    done = tuple(Timed(p, draw(times)) for p in probe.phases[:reached])
    failed = probe.phases[reached] if reached < len(probe.phases) else None
    return probe, DialogueResult(done, failed, draw(st.text(max_size=20)), draw(times))


@given(probes_with_results())
def test_a_dialogue_passes_exactly_when_every_phase_completed_in_order(
    case: tuple[NativeProbe, DialogueResult],
) -> None:
    probe, result = case
    judged = judge_dialogue(probe, result)
    complete = tuple(t.phase for t in result.done) == probe.phases and result.failed_at is None
    if not result.ran:
        assert judged.outcome is ProbeOutcome.INCONCLUSIVE
    elif complete:
        assert judged.outcome is ProbeOutcome.PASSED
    else:
        assert judged.outcome is ProbeOutcome.FAILED


@given(probes_with_results())
def test_a_failure_names_its_phase_and_every_completed_phase_s_time(
    case: tuple[NativeProbe, DialogueResult],
) -> None:
    probe, result = case
    judged = judge_dialogue(probe, result)
    assert judged.reason.startswith(probe.label)
    if judged.outcome is not ProbeOutcome.FAILED:
        return
    phase = failing_phase(probe, result)
    assert phase is not None
    assert f" failed at {phase.value.upper()} after {result.seconds:.1f} s" in judged.reason
    if result.failed_at is None:  # read from the phases: the first one missing or out of place
        reached = tuple(t.phase for t in result.done)
        assert phase in probe.phases
        assert reached[: probe.phases.index(phase)] == probe.phases[: probe.phases.index(phase)]
    for step in result.done:
        assert f"{step.phase.value} {shown_time(step.seconds)}" in judged.reason


@given(times)
def test_phase_times_under_a_second_are_shown_in_milliseconds(seconds: float) -> None:
    shown = shown_time(seconds)
    assert shown.endswith(" ms") == (seconds < 1)


@given(probes)
def test_what_explain_assumes_of_a_healthy_server_passes(probe: NativeProbe) -> None:
    assert judge_dialogue(probe, passing_dialogue(probe)).outcome is ProbeOutcome.PASSED


def test_every_dialogue_opens_with_connect_and_tls_only_where_asked() -> None:
    for protocol in DIALOGUES:
        plain = NativeProbe("p", protocol, "h", 1, user="u")
        secure = NativeProbe("p", protocol, "h", 1, tls=True, user="u")
        assert plain.phases[0] is Phase.CONNECT and Phase.TLS not in plain.phases
        assert secure.phases[:2] == (Phase.CONNECT, Phase.TLS)
        assert secure.phases[2:] == plain.phases[1:]
