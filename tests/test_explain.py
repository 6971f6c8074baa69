"""jesagent explain: the pure explanation, its secrecy, and the command against stand-ins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jescore.policy import argv as vcs_argv
from jescore.policy.declaration import Raw
from jescore.policy.processes import ProcessInfo
from jescore.policy.registry import POLICIES
from jescore.policy.resource import Snapshot
from jescore.policy.secrets import MASK
from jescore.policy.vcs import FAILURE_EXIT, CleanReason, EntryPoint
from jescore.result import is_successful
from jescore.tooling import configured, explain
from jescore.tooling.vcsconf import parse_many
from shell import explain as shell_explain
from stubs.msgserver import StandInServer, build_server_root
from tests.strategies import any_argv, passwords, valid_msg_values

ROOT = "/opt/SUNWmsgsr"
MSG = POLICIES["SunJESMsg"]
LDAP = POLICIES["SunJESLDAP"]
ADM = POLICIES["SunJESAdm"]
REPO = Path(__file__).resolve().parent.parent


def msg_values(**more: str | tuple[str, ...]) -> dict[str, Raw]:
    values: dict[str, Raw] = {
        "ServerRoot": (ROOT,),
        "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143"),
        "ServerType": ("MSG",),
    }
    for name, value in more.items():
        values[name] = (value,) if isinstance(value, str) else value
    return values


def v50(
    values: dict[str, Raw],
    *,
    policy: object = MSG,
    engine_values: dict[str, str] | None = None,
    reason: CleanReason | None = None,
) -> tuple[str, ...]:
    decl = POLICIES[_type_of(policy)].declaration
    rendered = vcs_argv.render_v50(decl, "res1", values, engine_values, reason)
    # render_v50 follows the plain ArgList; the zone types append ContainerName.
    extra = [
        w
        for a in decl.attrs
        if a.zone_only and a.name in values
        for w in (a.name, "1", *values[a.name])
    ]
    return (*rendered, *extra)


def _type_of(policy: object) -> str:
    return next(name for name, known in POLICIES.items() if known is policy)


def proc(pid: int, path: str, *args: str, zone: str | None = None) -> ProcessInfo:
    return ProcessInfo(pid, path.rsplit("/", 1)[-1], (path, *args), float(pid), zone=zone)


def run(
    entry: EntryPoint,
    argv: Sequence[str],
    *,
    processes: tuple[ProcessInfo, ...] = (),
    stored: int | None = None,
    executables: frozenset[str] = frozenset(),
    outputs: dict[tuple[str, ...], str] | None = None,
    agent_zone: str | None = None,
    zones_exist: bool = False,
    policy: object = MSG,
    given: explain.Given | None = None,
) -> explain.Explanation:
    reading = explain.read(POLICIES[_type_of(policy)], entry, argv)
    snapshot = Snapshot(processes, {}, executables, outputs or {})
    observed = explain.Observed(snapshot, stored, agent_zone, zones_exist, executables)
    return explain.explain(reading, observed, given or explain.Given())


def everything_said(expl: explain.Explanation) -> str:
    return explain.render_text(expl) + json.dumps(explain.as_json(expl))


def steps(expl: explain.Explanation, kind: str) -> list[explain.Step]:
    assert expl.path is not None
    return [s for s in expl.path.steps if s.kind == kind]


def commands(expl: explain.Explanation) -> list[tuple[str, ...]]:
    return [s.argv for s in steps(expl, "run")]


def logged(expl: explain.Explanation) -> str:
    return "\n".join(s.text for s in steps(expl, "log"))


def answers(expl: explain.Explanation) -> dict[tuple[str, str], int]:
    """(the step that went otherwise, its outcome) -> exit code."""
    return {(a.met.what, a.outcome.value): a.exit_code for a in expl.alternatives}


# --- reading and validation -----------------------------------------------------------


def test_secrets_are_masked_and_defaults_marked() -> None:
    argv = v50(msg_values(LDAPTestUser="probe", LDAPTestPasswd="ENCRYPTEDxyz"))
    expl = run(EntryPoint.MONITOR, argv)
    shown = {a.name: a for a in expl.attributes}
    assert shown["LDAPTestPasswd"].values == (MASK,)
    assert shown["LDAPTestPasswd"].secret
    assert "ENCRYPTEDxyz" not in everything_said(expl)
    assert shown["ServerRoot"].given
    assert not shown["ContainerName"].given
    assert expl.form == "V50"


def test_every_violation_is_listed_and_nothing_would_run() -> None:
    argv = v50(msg_values(MsgHost="mail", MsgServices=("smtp", "25", "bogus", "1")))
    for entry, code in FAILURE_EXIT.items():
        expl = run(entry, (*argv[:1], *(("3",) if entry is EntryPoint.CLEAN else ()), *argv[1:]))
        assert expl.violations, entry
        assert expl.exit_code == code
        assert not steps(expl, "run")
        assert not steps(expl, "signal")
        assert expl.observation is None
        assert "is not a Messaging Server service" in logged(expl)
    text = explain.render_text(run(EntryPoint.MONITOR, argv))
    assert "'bogus' is not a Messaging Server service" in text


def test_a_long_secret_in_unreadable_arguments_is_masked_even_where_cut_short() -> None:
    secret = "S3cr3t" * 20
    argv = ["res1", "MsgHost", "1", "h", "LDAPTestPasswd", secret]  # its count is missing
    expl = run(EntryPoint.MONITOR, argv)
    assert expl.argv_error is not None
    assert secret[:60] in expl.argv_error  # the parser quotes it, cut short
    said = everything_said(expl)
    assert secret[:60] not in said
    assert MASK in said


def test_unreadable_arguments_are_explained() -> None:
    expl = run(EntryPoint.MONITOR, ["res1", "MsgHost", "7", "x"])
    assert expl.argv_error is not None
    assert "runs past the end" in expl.argv_error
    assert expl.exit_code == 99
    assert json.loads(json.dumps(explain.as_json(expl)))["validation"]["valid"] is False


def test_budget_comes_from_aeptimeout_or_the_vcs_default() -> None:
    argv = v50(msg_values(), engine_values={"AEPTimeout": "30"})
    with_aep = run(EntryPoint.MONITOR, argv).budget
    assert with_aep is not None
    assert with_aep.seconds == 30
    assert "AEPTimeout" in with_aep.source
    default = run(EntryPoint.OFFLINE, v50(msg_values())).budget
    assert default is not None
    assert default.seconds == 300
    assert default.phases[-1][1] == pytest.approx(default.usable)  # KILL ends the usable budget


# --- online, offline, clean -----------------------------------------------------------


def test_online_runs_the_start_command_when_something_is_missing() -> None:
    expl = run(EntryPoint.ONLINE, v50(msg_values(MsgServices=("core", "49994"))))
    (start,) = steps(expl, "run")
    assert start.argv == (f"{ROOT}/lib/msstart", "store", "sched")
    assert expl.budget is not None
    assert start.seconds == pytest.approx(expl.budget.usable * 0.6)
    assert start.assumed
    assert expl.exit_code == 0  # online answers 0 whatever happens: monitor decides
    assert "online after" in logged(expl)  # the assumed start made the processes appear
    alternatives = answers(expl)
    assert set(alternatives.values()) == {0}
    assert len(alternatives) == 3


def test_online_with_a_missing_msstart_is_known_not_assumed() -> None:
    argv = v50(msg_values(MsgServices=("core", "49994")))
    reading = explain.read(MSG, EntryPoint.ONLINE, argv)
    observed = explain.Observed(Snapshot(()), checked=frozenset(reading.programs()))
    expl = explain.explain(reading, observed)
    (start,) = steps(expl, "run")
    assert not start.assumed
    assert "could not run" in start.result
    assert not expl.alternatives
    assert "could not run msstart" in logged(expl)


def test_online_starts_nothing_when_everything_runs() -> None:
    running = (proc(10, f"{ROOT}/lib/imapd"),)
    expl = run(EntryPoint.ONLINE, v50(msg_values()), processes=running)
    assert not steps(expl, "run")
    assert "already online" in logged(expl)
    assert [s.text for s in steps(expl, "count")] == ["remove the stored count"]
    assert expl.exit_code == 0


def test_ldap_online_sends_the_certificate_password_on_stdin_masked() -> None:
    values: dict[str, Raw] = {
        "InstanceRoot": ("/ds/slapd-a",),
        "LDAPHost": ("ldap.example.com",),
        "LDAPPort": ("389",),
        "SSLDbPasswd": ("DBSECRET99",),
    }
    expl = run(EntryPoint.ONLINE, v50(values, policy=LDAP), policy=LDAP)
    (start,) = steps(expl, "run")
    assert "standard input: SSLDbPasswd" in start.text
    assert [s.text.split(":")[0] for s in steps(expl, "connect")] == ["LDAP port"]
    said = everything_said(expl)
    assert "DBSECRET99" not in said
    assert MASK in said


def test_offline_and_clean_run_the_stop_command_and_signal_what_stays() -> None:
    mine = proc(10, f"{ROOT}/lib/imapd")
    other = proc(11, "/opt/SUNWmsgsr2/lib/imapd")
    argv = v50(msg_values(), engine_values={"AEPTimeout": "100"})
    offline = run(EntryPoint.OFFLINE, argv, processes=(mine, other))
    assert offline.observation is not None
    assert [p.pid for p in offline.observation.stop_targets] == [10]
    assert commands(offline) == [(f"{ROOT}/lib/msstart", "-k", "imap")]
    assert not steps(offline, "signal")  # the stop command is assumed to work
    assert offline.exit_code == 0
    nothing = run(EntryPoint.OFFLINE, argv, processes=(other,))
    assert not steps(nothing, "run")
    clean_argv = v50(msg_values(), reason=CleanReason.UNEXPECTED_OFFLINE)
    stubborn = run(
        EntryPoint.CLEAN,
        clean_argv,
        processes=(mine,),
        given=explain.Given({explain.Point.COMMAND: explain.Outcome.FAILS}),
    )
    assert stubborn.clean_reason is CleanReason.UNEXPECTED_OFFLINE
    signals = steps(stubborn, "signal")
    assert [(s.pid, s.signal) for s in signals] == [(10, "SIGTERM")]  # once, then it is gone
    assert signals[0].at >= stubborn.budget.phases[1][1] - 0.25  # type: ignore[union-attr]
    assert stubborn.exit_code == 0
    assert "the 2 steps above again" in explain.render_text(stubborn)  # the wait loop, folded
    assert run(EntryPoint.CLEAN, clean_argv).exit_code == 0


def test_signals_never_reach_a_process_of_another_installation() -> None:
    mine = proc(10, f"{ROOT}/lib/imapd")
    other = proc(11, "/opt/SUNWmsgsr2/lib/imapd")
    argv = v50(msg_values(), reason=CleanReason.MONITOR_HUNG)
    failing = explain.Given({explain.Point.COMMAND: explain.Outcome.HANGS})
    expl = run(EntryPoint.CLEAN, argv, processes=(mine, other), given=failing)
    assert {s.pid for s in steps(expl, "signal")} == {10}


def test_zoned_commands_go_through_zlogin_and_other_zones_do_not_count() -> None:
    argv = v50(msg_values(ContainerName="mailzone"))
    elsewhere = proc(10, f"{ROOT}/lib/imapd", zone="otherzone")
    expl = run(
        EntryPoint.ONLINE, argv, processes=(elsewhere,), agent_zone="global", zones_exist=True
    )
    (start,) = steps(expl, "run")
    assert start.argv[:2] == ("/usr/sbin/zlogin", "mailzone")
    assert expl.observation is not None
    assert not expl.observation.found


# --- monitor --------------------------------------------------------------------------


def test_monitor_offline_when_a_process_is_missing() -> None:
    expl = run(EntryPoint.MONITOR, v50(msg_values(SecondLevelMonitor="1")))
    assert expl.exit_code == 100
    assert f"offline (100): missing: {ROOT}/lib/imapd" in logged(expl)
    assert not steps(expl, "run")  # the second level is skipped after a first-level failure


def test_monitor_second_level_due_runs_the_probes_with_their_shares() -> None:
    values = msg_values(
        LDAPTestUser="probe",
        LDAPTestPasswd="ENC",
        SecondLevelMonitor="1",
        MsgServices=("imap", "143", "imaps", "993"),
    )
    running = (proc(10, f"{ROOT}/lib/imapd"),)
    argv = v50(values, engine_values={"AEPTimeout": "40"})
    installed = frozenset({f"{ROOT}/sbin/immonitor-access"})
    expl = run(EntryPoint.MONITOR, argv, processes=running, executables=installed)
    (imap,) = steps(expl, "run")
    assert imap.argv == (
        f"{ROOT}/sbin/immonitor-access",
        "-u",
        "probe",
        "-I",
        "mail.example.com:143=18",
        "-w",
        "-",
    )
    assert "standard input: LDAPTestPasswd" in imap.text
    (imaps,) = steps(expl, "connect")
    assert imaps.seconds == 36
    assert expl.exit_code is None  # the probes' outcomes decide
    assert expl.path is not None
    assert expl.path.exit_code == 110
    codes = answers(expl)
    imap_what = expl.path.met[0].what
    assert codes[(imap_what, "fails")] == 100
    assert codes[(imap_what, "cannot-run")] == 99
    assert codes[(imap_what, "hangs")] == 100  # no answer in time is a failed transaction
    assert imap.seconds == 19  # its threshold plus a second to report
    hung = walk_with(expl, argv, running, {0: explain.Outcome.HANGS})
    assert not [s for s in hung.steps if s.kind == "connect"]  # the first failure ends it
    assert hung.steps[-1].at == 19


def walk_with(
    expl: explain.Explanation,
    argv: Sequence[str],
    processes: tuple[ProcessInfo, ...],
    overrides: dict[int, explain.Outcome],
    executables: frozenset[str] = frozenset({f"{ROOT}/sbin/immonitor-access"}),
) -> explain.Path:
    reading = explain.read(MSG, expl.entry, argv)
    observed = explain.Observed(Snapshot(processes, {}, executables))
    return explain.walk(reading, observed, explain.Given(), overrides)


def test_given_outcomes_make_the_answer_certain() -> None:
    values = msg_values(SecondLevelMonitor="1")
    running = (proc(10, f"{ROOT}/lib/imapd"),)
    argv = v50(values)
    failing = run(
        EntryPoint.MONITOR,
        argv,
        processes=running,
        given=explain.Given({explain.Point.PROBE: explain.Outcome.FAILS}),
    )
    assert failing.exit_code == 100
    assert not failing.alternatives
    passing = run(
        EntryPoint.MONITOR,
        argv,
        processes=running,
        given=explain.Given({explain.Point.PROBE: explain.Outcome.PASSES}),
    )
    assert passing.exit_code == 110


def test_monitor_cycle_is_read_not_advanced() -> None:
    running = (proc(10, f"{ROOT}/lib/imapd"),)
    argv = v50(msg_values(SecondLevelMonitor="3"))
    first = run(EntryPoint.MONITOR, argv, processes=running, stored=None)
    assert first.exit_code == 110
    assert [s.text for s in steps(first, "count")][-1] == "store the count 1"
    due = run(EntryPoint.MONITOR, argv, processes=running, stored=2)
    assert [s.text for s in steps(due, "count")][-1] == "store the count 0"
    assert steps(due, "connect")
    assert due.exit_code is None


def test_monitor_program_decides_when_the_second_level_does_not_run() -> None:
    running = (proc(10, f"{ROOT}/lib/imapd"),)
    argv = v50(msg_values(MonitorProgram="/usr/local/bin/check --deep"))
    there = frozenset({"/usr/local/bin/check"})
    expl = run(EntryPoint.MONITOR, argv, processes=running, executables=there)
    assert commands(expl) == [("/usr/local/bin/check", "--deep")]
    assert expl.exit_code is None
    assert expl.path is not None
    what = expl.path.met[0].what
    assert answers(expl) == {(what, "fails"): 100, (what, "hangs"): 99, (what, "cannot-run"): 99}
    for code, expected in ((0, 110), (1, 100), (105, 99), (7, 99)):
        given = run(
            EntryPoint.MONITOR,
            argv,
            processes=running,
            executables=there,
            given=explain.Given(program_exit=code),
        )
        assert given.exit_code == expected, code
    missing = run(EntryPoint.MONITOR, argv, processes=running)
    assert missing.exit_code == 110  # not an executable file: skipped, with a warning
    assert not commands(missing)
    assert "is not an executable file; skipped" in logged(missing)


def test_ldap_probe_speaks_the_dialect_its_client_reports() -> None:
    values: dict[str, Raw] = {
        "InstanceRoot": ("/ds/slapd-a",),
        "LDAPHost": ("ldap.example.com",),
        "SecondLevelMonitor": ("1",),
    }
    daemon = ProcessInfo(5, "ns-slapd", ("/ds/bin/ns-slapd", "-D", "/ds/slapd-a"), 5.0)
    client = "/usr/bin/ldapsearch"
    openldap: dict[tuple[str, ...], str] = {
        (client, "-VV"): "ldapsearch: @(#) $OpenLDAP: ldapsearch 2.5.13"
    }
    expl = run(
        EntryPoint.MONITOR,
        v50(values, policy=LDAP),
        processes=(daemon,),
        executables=frozenset({client}),
        outputs=openldap,
        policy=LDAP,
    )
    (search,) = commands(expl)
    assert search[:3] == (client, "-x", "-LLL")
    sun = run(
        EntryPoint.MONITOR,
        v50(values, policy=LDAP),
        processes=(daemon,),
        executables=frozenset({client}),
        policy=LDAP,
    )
    assert commands(sun)[0][:3] == (client, "-h", "ldap.example.com")


# --- main.cf --------------------------------------------------------------------------

MAIN_CF = """
include "SunJESMsgTypes50.cf"
group g (
    SystemList = { n1 = 0, n2 = 1 }
)
    SunJESMsg m1 (
        ServerRoot = "/opt/SUNWmsgsr"
        ServerRoot@n2 = "/opt/other"
        MsgHost = "mail.example.com"
        MsgServices = { imap = 143 }
        LDAPTestUser = probe
        LDAPTestPasswd = SECRETVALUE
        MonitorTimeout = 90
    )
"""


def test_a_main_cf_resource_becomes_the_argv_vcs_would_pass() -> None:
    from jescore.tooling import typesfile

    name = "SunJESMsgTypes50.cf"
    conf = parse_many([("main.cf", MAIN_CF), (name, typesfile.all_files()[name])]).unwrap()
    decls = {n: p.declaration for n, p in POLICIES.items()}
    call = configured.configured_call(conf, decls, "m1", EntryPoint.MONITOR, system="n2")
    assert is_successful(call), call
    found = call.unwrap()
    parsed = vcs_argv.parse(MSG.declaration, EntryPoint.MONITOR, found.argv).unwrap()
    assert parsed.values["ServerRoot"] == ("/opt/other",)
    assert parsed.aep_timeout == 90
    assert found.monitor_interval == 60
    missing = configured.configured_call(conf, decls, "nope", EntryPoint.MONITOR)
    assert not is_successful(missing)
    assert "m1" in missing.failure()


# --- properties -----------------------------------------------------------------------


@given(
    st.sampled_from(sorted(POLICIES)),
    st.sampled_from(list(EntryPoint)),
    any_argv,
)
def test_explain_never_raises_on_any_argv(
    type_name: str, entry: EntryPoint, argv: list[str]
) -> None:
    reading = explain.read(POLICIES[type_name], entry, argv)
    expl = explain.explain(reading, explain.Observed(Snapshot(())))
    json.dumps(explain.as_json(expl))
    explain.render_text(expl)


secrets_strategy = passwords.map(lambda p: "~" + p)  # '~' appears nowhere else in the output


@settings(max_examples=60)
@given(
    valid_msg_values(),
    secrets_strategy,
    st.sampled_from(list(EntryPoint)),
    st.sampled_from(["V50", "V40"]),
    st.integers(0, 60),
)
def test_explain_never_shows_a_secret(
    values: dict[str, Raw], secret: str, entry: EntryPoint, form: str, cut: int
) -> None:
    values = {**values, "LDAPTestUser": ("probe",), "LDAPTestPasswd": (secret,)}
    render = vcs_argv.render_v50 if form == "V50" else vcs_argv.render_v40
    reason = CleanReason.MONITOR_HUNG if entry is EntryPoint.CLEAN else None
    argv = render(MSG.declaration, "res1", values, {"AEPTimeout": "30"}, reason)
    for tokens in (argv, argv[: len(argv) - cut]):
        reading = explain.read(MSG, entry, tokens)
        expl = explain.explain(reading, explain.Observed(Snapshot(())))
        said = explain.render_text(expl) + json.dumps(explain.as_json(expl), ensure_ascii=False)
        assert secret not in said


@settings(max_examples=50)
@given(secrets_strategy, secrets_strategy, st.sampled_from(list(EntryPoint)))
def test_admin_secrets_never_show(admin: str, db: str, entry: EntryPoint) -> None:
    values: dict[str, Raw] = {
        "ServerRoot": ("/adm",),
        "AdminHost": ("admin.example.com",),
        "AdminUser": ("admin",),
        "AdminPasswd": (admin,),
        "SSLDbPasswd": (db,),
    }
    reason = CleanReason.MONITOR_HUNG if entry is EntryPoint.CLEAN else None
    argv = vcs_argv.render_v40(ADM.declaration, "adm1", values, None, reason)
    expl = explain.explain(explain.read(ADM, entry, argv), explain.Observed(Snapshot(())))
    said = explain.render_text(expl) + json.dumps(explain.as_json(expl), ensure_ascii=False)
    assert admin not in said
    assert db not in said


# --- end to end -----------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandInServer]:
    built = build_server_root(tmp_path / "msg", domain="jesagent.test", stop_timeout=5)
    yield built
    built.stop_all()


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("JESAGENT_STATE_DIR", str(folder))
    return folder


def stand_in_argv(server: StandInServer, *services: str, **more: str) -> list[str]:
    flat: list[str] = []
    for key in services:
        flat += [key, str(server.ports[key])]
    values: dict[str, Raw] = {
        "ServerRoot": (str(server.root),),
        "MsgHost": ("127.0.0.1",),
        "MsgServices": tuple(flat),
        "ServerType": ("MSG",),
    }
    values.update({name: (value,) for name, value in more.items()})
    return list(vcs_argv.render_v50(MSG.declaration, "res1", values, {"AEPTimeout": "30"}))


def explain_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert shell_explain.main(["--json", *args]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, dict)
    return data


def start(server: StandInServer, *names: str) -> None:
    subprocess.run([str(server.msstart), *names], check=True, capture_output=True, timeout=30)


@pytest.mark.usefixtures("state_dir")
def test_a_running_and_a_stopped_instance(
    server: StandInServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = stand_in_argv(server, "core", SecondLevelMonitor="1")
    stopped = explain_json(capsys, "SunJESMsg", "monitor", *argv)
    assert stopped["exit_code"] == 100
    online = explain_json(capsys, "SunJESMsg", "online", *argv)
    runs = [s["argv"] for s in online["steps"] if s["kind"] == "run"]
    assert runs == [[str(server.msstart), "store", "sched"]]
    start(server, "store", "sched")
    running = explain_json(capsys, "SunJESMsg", "monitor", *argv)
    observation = running["observation"]
    assert isinstance(observation, dict)
    found = {p["name"]: p["pid"] for p in observation["found"]}
    assert found["stored"] in server.pids("stored")
    probes = [s["argv"] for s in running["steps"] if s["kind"] == "run"]
    assert probes == [[str(server.stored), "-t", "-v"]]
    assert running["exit_code"] is None  # the probe's outcome decides
    offline = explain_json(capsys, "SunJESMsg", "offline", *argv)
    targets = offline["observation"]["stop_targets"]
    assert {t["pid"] for t in targets} == {found["stored"], found["imsched"], found["watcher"]}
    stops = [s["argv"] for s in offline["steps"] if s["kind"] == "run"]
    assert stops == [[str(server.msstart), "-k", "sched", "store", "watcher"]]
    assert all(server.pids(n) for n in ("stored", "imsched", "watcher"))  # nothing was stopped


def test_the_cycle_count_is_read_and_left_alone(
    server: StandInServer, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_dir.mkdir()
    count = state_dir / "SunJESMsg.res1.cycle"
    count.write_text("1\n")
    before = count.stat().st_mtime_ns
    argv = stand_in_argv(server, "imap", SecondLevelMonitor="2")
    data = explain_json(capsys, "SunJESMsg", "monitor", *argv)
    counts = [s["text"] for s in data["steps"] if s["kind"] == "count"]
    assert counts == ["read the SecondLevelMonitor count", "store the count 0"]
    assert data["observation"]["stored_cycle"] == 1
    assert count.read_text() == "1\n"
    assert count.stat().st_mtime_ns == before


def test_text_output_and_the_config_form(server: StandInServer, tmp_path: Path) -> None:
    main_cf = tmp_path / "main.cf"
    main_cf.write_text(
        'include "types.cf"\ninclude "SunJESMsgTypes50.cf"\n'
        "group g ( SystemList = { n1 = 0 } )\n"
        f'    SunJESMsg core_res ( ServerRoot = "{server.root}" MsgHost = "127.0.0.1"\n'
        f"        MsgServices = {{ core = {server.ports['core']} }} LDAPTestUser = probe\n"
        "        LDAPTestPasswd = ABCDEFSECRET )\n"
    )
    env = {**os.environ, "JESAGENT_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run(
        [sys.executable, "-m", "shell.explain", "--config", str(main_cf), "--resource",
         "core_res", "--entry", "clean", "--reason", "2"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "clean reason 2: online did not finish in time" in done.stdout
    assert f"{server.root}/lib/msstart -k sched store watcher" in done.stdout
    assert "AEPTimeout=60" in done.stdout  # CleanTimeout's VCS default, as the type passes it
    assert "ABCDEFSECRET" not in done.stdout + done.stderr
    assert MASK in done.stdout


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert shell_explain.main([]) == 2
    assert shell_explain.main(["SunJESMsg", "restart", "r"]) == 2
    assert shell_explain.main(["--bogus"]) == 2
    assert shell_explain.main(["--config", "/nonexistent/main.cf"]) == 2  # needs --resource
    assert shell_explain.main(["--config", "/nonexistent/main.cf", "--resource", "r"]) == 1
    assert "usage" in capsys.readouterr().err


def test_explain_works_with_what_the_agent_itself_works_with() -> None:
    running = (proc(10, f"{ROOT}/lib/imapd"),)
    typo = run(EntryPoint.MONITOR, v50(msg_values(ResLogLevel="INFOO")), processes=running)
    assert typo.exit_code == 110  # a logging typo does not stop the monitor
    assert "ResLogLevel:" in logged(typo)
    bad_host = v50(msg_values(MsgHost="bad_host!"), reason=CleanReason.MONITOR_HUNG)
    clean = run(EntryPoint.CLEAN, bad_host, processes=running)
    assert clean.violations  # still named
    assert clean.observation is not None
    assert [p.pid for p in clean.observation.stop_targets] == [10]
    assert commands(clean) == [(f"{ROOT}/lib/msstart", "-k", "imap")]
