"""jesagent doctor: each check's judgement, and the command against stand-ins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jescore.policy import argv as vcs_argv
from jescore.policy.commands import ProgramResult
from jescore.policy.declaration import Raw
from jescore.policy.registry import POLICIES
from jescore.tooling import diagnosis
from jescore.tooling.diagnosis import Check, Findings, Status
from shell import doctor
from stubs.adminserver import StandInAdmin, build_admin_root
from stubs.msgserver import StandInServer, build_server_root
from stubs.vcscrypt import PasswordHelper
from tests.strategies import any_argv, passwords

ROOT = "/opt/SUNWmsgsr"
REPO = Path(__file__).resolve().parent.parent


def argv_of(type_name: str, values: Mapping[str, Raw]) -> tuple[str, ...]:
    return vcs_argv.render_v50(POLICIES[type_name].declaration, "res1", values)


def msg(**more: str | tuple[str, ...]) -> tuple[str, ...]:
    values: dict[str, Raw] = {
        "ServerRoot": (ROOT,),
        "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143"),
    }
    for name, value in more.items():
        values[name] = (value,) if isinstance(value, str) else value
    return argv_of("SunJESMsg", values)


def answered(value: str | None) -> ProgramResult:
    """configutil's answer: the value, or an unset option (empty line, exit 1)."""
    return ProgramResult(True, 0 if value is not None else 1, f"{value or ''}\n")


def judge(
    argv: tuple[str, ...],
    *,
    type_name: str = "SunJESMsg",
    settings_: Mapping[str, str | None] | None = None,
    executables: frozenset[str] | None = None,
    **found: object,
) -> tuple[Check, ...]:
    subject = diagnosis.read_subject(POLICIES[type_name].declaration, argv)
    plan = diagnosis.plan(subject)
    present = (
        executables
        if executables is not None
        else frozenset(p.path for p in plan.programs) | frozenset(plan.ldapsearch[-1:])
    )
    config = {
        o: answered((settings_ or {}).get(o, DEFAULTS.get(o))) for o in plan.configutil_options
    }
    findings = Findings(executables=present, configutil=config, **found)  # type: ignore[arg-type]
    return diagnosis.diagnose(subject, plan, findings)


DEFAULTS: dict[str, str | None] = {
    "local.watcher.enable": "yes",
    "local.autorestart": "yes",
    diagnosis.SCHEDULER: "1",
    "service.imap.enable": "1",
    "service.pop.enable": "1",
    "service.http.enable": "1",
}


def only(checks: tuple[Check, ...], name: str) -> Check:
    (found,) = [c for c in checks if c.name == name]
    return found


def named(checks: tuple[Check, ...], name: str) -> list[Check]:
    return [c for c in checks if c.name == name]


# --- pure judgement -------------------------------------------------------------------


def test_a_healthy_resource_passes_everything() -> None:
    checks = judge(msg())
    assert {c.status for c in checks} <= {Status.PASS, Status.SKIP}, checks
    assert diagnosis.exit_code([diagnosis.Report("SunJESMsg", "res1", None, checks)]) == 0


def test_watcher_off_fails_with_the_seed_fix() -> None:
    check = only(judge(msg(), settings_={"local.watcher.enable": "no"}), "watcher")
    assert check.status is Status.FAIL
    assert check.fix == f"{ROOT}/sbin/configutil -o local.watcher.enable -v yes"
    unset = only(judge(msg(), settings_={"local.watcher.enable": None}), "watcher")
    assert unset.status is Status.PASS  # yes by default


def test_autorestart_off_or_unset_warns() -> None:
    for value in ("no", None):
        check = only(judge(msg(), settings_={"local.autorestart": value}), "autorestart")
        assert check.status is Status.WARN
        assert check.fix == f"{ROOT}/sbin/configutil -o local.autorestart -v yes"


CORE = ("core", "49994")


@pytest.mark.parametrize("value", ["1", "yes", "YES", "true", "True"])
def test_a_core_resource_passes_when_the_scheduler_is_enabled(value: str) -> None:
    check = only(judge(msg(MsgServices=CORE), settings_={diagnosis.SCHEDULER: value}), "scheduler")
    assert check.status is Status.PASS
    assert check.looked_at == f"{ROOT}/sbin/configutil -o {diagnosis.SCHEDULER}"


@pytest.mark.parametrize("value", ["0", "no", "off", "false"])
def test_a_core_resource_fails_when_the_scheduler_is_disabled(value: str) -> None:
    argv = msg(MsgServices=CORE)
    check = only(judge(argv, settings_={diagnosis.SCHEDULER: value}), "scheduler")
    assert check.status is Status.FAIL
    assert f"{diagnosis.SCHEDULER} is {value}" in check.finding
    assert check.fix.startswith(f"{ROOT}/sbin/configutil -o {diagnosis.SCHEDULER} -v 1, then")
    assert "hares -offline res1" in check.fix
    assert "hares -online res1" in check.fix


@pytest.mark.parametrize(
    ("result", "why"),
    [
        (ProgramResult(False, None, "", "permission denied"), "could not run"),
        (ProgramResult(True, None, ""), "did not answer in time"),
        (None, "was not run"),
    ],
)
def test_a_core_resource_warns_when_the_scheduler_setting_cannot_be_read(
    result: ProgramResult | None, why: str
) -> None:
    subject = diagnosis.read_subject(POLICIES["SunJESMsg"].declaration, msg(MsgServices=CORE))
    plan = diagnosis.plan(subject)
    assert diagnosis.SCHEDULER in plan.configutil_options
    config = {o: answered(DEFAULTS.get(o)) for o in plan.configutil_options}
    if result is None:
        del config[diagnosis.SCHEDULER]
    else:
        config[diagnosis.SCHEDULER] = result
    present = frozenset(p.path for p in plan.programs)
    found = Findings(executables=present, configutil=config)
    check = only(diagnosis.diagnose(subject, plan, found), "scheduler")
    assert check.status is Status.WARN
    assert why in check.finding
    assert check.fix == "run it by hand"


def test_a_core_resource_warns_when_the_scheduler_is_not_set() -> None:
    check = only(judge(msg(MsgServices=CORE), settings_={diagnosis.SCHEDULER: None}), "scheduler")
    assert check.status is Status.WARN
    assert check.fix.startswith(f"{ROOT}/sbin/configutil -o {diagnosis.SCHEDULER} -v 1")


@pytest.mark.parametrize(
    "services",
    [("imap", "143"), ("smtp", "25", "pop", "110"), ("http", "80")],
)
def test_the_scheduler_is_asked_about_for_core_resources_only(
    services: tuple[str, ...],
) -> None:
    argv = msg(MsgServices=services)
    subject = diagnosis.read_subject(POLICIES["SunJESMsg"].declaration, argv)
    assert diagnosis.SCHEDULER not in diagnosis.plan(subject).configutil_options
    disabled = judge(argv, settings_={diagnosis.SCHEDULER: "0"})
    assert not named(disabled, "scheduler")
    assert not named(judge(msg(ServerType="MMP", MsgServices=("imap", "143"))), "scheduler")


def test_a_disabled_service_fails_for_each_configured_service() -> None:
    argv = msg(MsgServices=("imaps", "993", "pop", "110", "https", "443"))
    checks = judge(argv, settings_={"service.http.enable": "0"})
    enabled = {c.looked_at.rsplit(" ", 1)[-1]: c for c in named(checks, "service enabled")}
    assert set(enabled) == {"service.imap.enable", "service.pop.enable", "service.http.enable"}
    http = enabled["service.http.enable"]
    assert http.status is Status.FAIL
    assert http.fix == f"{ROOT}/sbin/configutil -o service.http.enable -v 1"
    assert enabled["service.imap.enable"].status is Status.PASS


def test_mmp_is_not_asked_about_message_store_services() -> None:
    checks = judge(msg(ServerType="MMP"))
    assert not named(checks, "service enabled")
    assert not named(checks, "maxsessions")


def test_maxsessions_against_the_synthetic_login_rate() -> None:
    user = {"LDAPTestUser": "probe", "LDAPTestPasswd": "ENC"}
    services = ("imap", "143", "pop", "110", "http", "80", "imaps", "993")
    every_minute = judge(msg(SecondLevelMonitor="1", MsgServices=services, **user))
    found = {c.looked_at.rsplit(" ", 1)[-1]: c for c in named(every_minute, "maxsessions")}
    assert set(found) == {f"service.{s}.maxsessions" for s in ("imap", "pop", "http")}
    imap = found["service.imap.maxsessions"]
    assert imap.status is Status.WARN
    assert "2 days 18 hours" in imap.finding  # 4000 logins, one a minute
    assert "service.imap.maxsessions -v 10080" in imap.fix
    assert "SecondLevelMonitor to 3" in imap.fix
    assert "10 hours" in found["service.pop.maxsessions"].finding  # 600 a minute apart
    slow = judge(msg(SecondLevelMonitor="3", **user), monitor_interval=60)
    assert only(slow, "maxsessions").status is Status.PASS  # 4000 * 180 s > 8 days
    raised = judge(
        msg(SecondLevelMonitor="1", **user), settings_={"service.imap.maxsessions": "24000"}
    )
    assert only(raised, "maxsessions").status is Status.PASS
    no_user = only(judge(msg(SecondLevelMonitor="1")), "maxsessions")
    assert no_user.status is Status.SKIP


def test_duration_reads_like_a_person_would_say_it() -> None:
    assert diagnosis.duration(240000) == "2 days 18 hours"
    assert diagnosis.duration(36000) == "10 hours"
    assert diagnosis.duration(90) == "1 minute 30 seconds"
    assert diagnosis.duration(0) == "0 seconds"


def test_msghost_must_be_fully_qualified_for_the_mta() -> None:
    bad = judge(msg(MsgHost="mail", MsgServices=("smtp", "25")))
    assert only(bad, "MsgHost").status is Status.FAIL
    assert only(bad, "attributes").status is Status.FAIL
    assert only(judge(msg(MsgServices=("lmtp", "225"))), "MsgHost").status is Status.PASS
    assert only(judge(msg()), "MsgHost").status is Status.SKIP


def test_missing_programs_fail_and_settings_are_then_skipped() -> None:
    argv = msg(MsgServices=("core", "49994"), LDAPTestUser="probe", LDAPTestPasswd="ENC")
    checks = judge(argv, executables=frozenset({f"{ROOT}/lib/msstart"}))
    failing = {c.looked_at for c in named(checks, "program") if c.status is Status.FAIL}
    assert failing == {f"{ROOT}/lib/stored", f"{ROOT}/sbin/configutil"}
    # The native probes stand in for a missing immonitor-access: a warning.
    warned = {c.looked_at for c in named(checks, "program") if c.status is Status.WARN}
    assert warned == {f"{ROOT}/sbin/immonitor-access"}
    assert only(checks, "configutil").status is Status.SKIP


def test_other_checks_run_when_one_attribute_is_bad() -> None:
    checks = judge(msg(SecondLevelMonitor="-1"))
    assert only(checks, "attributes").status is Status.FAIL
    assert named(checks, "program")
    assert only(checks, "watcher").status is Status.PASS


def test_unreadable_arguments_fail_and_nothing_else_is_judged() -> None:
    checks = judge(("res1", "MsgHost", "9", "x"))
    assert only(checks, "attributes").status is Status.FAIL


def ldap(**more: str) -> tuple[str, ...]:
    values: dict[str, Raw] = {
        "InstanceRoot": ("/ds/slapd-a",),
        "LDAPHost": ("ldap.example.com",),
        **{k: (v,) for k, v in more.items()},
    }
    return argv_of("SunJESLDAP", values)


def test_ldapsearch_and_its_dialect() -> None:
    openldap = {"/usr/bin/ldapsearch": "ldapsearch: @(#) $OpenLDAP: ldapsearch 2.5.13 $"}
    found = only(judge(ldap(), type_name="SunJESLDAP", versions=openldap), "ldapsearch")
    assert found.status is Status.PASS
    assert "/usr/bin/ldapsearch, in the OpenLDAP" in found.finding
    sun = only(
        judge(
            ldap(),
            type_name="SunJESLDAP",
            executables=frozenset({"/ds/shared/bin/ldapsearch"}),
        ),
        "ldapsearch",
    )
    assert "/ds/shared/bin/ldapsearch, in the Sun/Mozilla" in sun.finding
    none = only(
        judge(ldap(SecondLevelMonitor="2"), type_name="SunJESLDAP", executables=frozenset()),
        "ldapsearch",
    )
    assert none.status is Status.WARN  # the agent's own search stands in
    assert "speaks the protocol itself" in none.finding
    assert "ln -s /opt/SUNWdsee/dsee6/bin/sparcv9/ldapsearch /ds/shared/bin/ldapsearch" in none.fix
    native = only(
        judge(ldap(NativeProbes="1"), type_name="SunJESLDAP", versions=openldap), "ldapsearch"
    )
    assert native.status is Status.PASS and "not used" in native.finding


@pytest.mark.parametrize(
    ("output", "status"),
    [
        ("cert-pwd-prompt: off\n", Status.PASS),
        ("cert-pwd-prompt: on\n", Status.FAIL),
        ("dsadm: no such instance\n", Status.WARN),
    ],
)
def test_directory_server_6_certificate_prompt(output: str, status: Status) -> None:
    dsadm = "/opt/SUNWdsee/ds6/bin/dsadm"
    checks = judge(
        ldap(),
        type_name="SunJESLDAP",
        dsadm=dsadm,
        dsadm_result=ProgramResult(True, 0, output),
    )
    check = only(checks, "certificate prompt")
    assert check.status is status
    if status is Status.FAIL:
        assert f"{dsadm} set-flags /ds/slapd-a cert-pwd-prompt=off" in check.fix
        assert "/ds/slapd-a/stop-slapd" in check.fix
    skipped = only(judge(ldap(), type_name="SunJESLDAP"), "certificate prompt")
    assert skipped.status is Status.SKIP


def test_passwords_are_judged_without_being_shown() -> None:
    argv = msg(LDAPTestUser="probe", LDAPTestPasswd="ENCRYPTEDVALUE")
    good = only(judge(argv, secrets={"LDAPTestPasswd": None}), "password")
    assert good.status is Status.PASS
    bad = only(judge(argv, secrets={"LDAPTestPasswd": "LDAPTestPasswd: no"}), "password")
    assert bad.status is Status.FAIL
    assert "vcsencrypt -agent" in bad.fix
    no_helper = only(
        judge(argv, helper="/opt/VRTSvcs/bin/vcsdecrypt", helper_usable=False), "password"
    )
    assert no_helper.status is Status.FAIL
    assert "JESAGENT_DECRYPT" in no_helper.fix
    subject = diagnosis.read_subject(POLICIES["SunJESMsg"].declaration, argv)
    report = diagnosis.Report("SunJESMsg", "res1", None, (bad,), subject.secrets)
    said = diagnosis.render_text([report]) + json.dumps(diagnosis.as_json([report]))
    assert "ENCRYPTEDVALUE" not in said


def test_the_adm_programs_follow_admin_user() -> None:
    values: dict[str, Raw] = {"ServerRoot": ("/adm",), "AdminHost": ("h",)}
    without = judge(argv_of("SunJESAdm", values), type_name="SunJESAdm")
    assert [c.looked_at for c in named(without, "program")] == [
        "/adm/start-admin",
        "/adm/stop-admin",
    ]
    values |= {"AdminUser": ("admin",), "AdminPasswd": ("ENC",)}
    with_user = judge(argv_of("SunJESAdm", values), type_name="SunJESAdm")
    assert "/adm/bin/admin/admconfig" in [c.looked_at for c in named(with_user, "program")]


@given(st.sampled_from(sorted(POLICIES)), any_argv)
def test_doctor_judges_any_argv_without_raising(type_name: str, argv: list[str]) -> None:
    subject = diagnosis.read_subject(POLICIES[type_name].declaration, argv)
    plan = diagnosis.plan(subject)
    checks = diagnosis.diagnose(subject, plan, Findings())
    report = diagnosis.Report(type_name, subject.resource, None, checks, subject.secrets)
    json.dumps(diagnosis.as_json([report]))
    diagnosis.render_text([report])


@settings(max_examples=40)
@given(passwords.map(lambda p: "~" + p), st.sampled_from(["V50", "V40"]))
def test_doctor_never_shows_a_secret(secret: str, form: str) -> None:
    values: dict[str, Raw] = {
        "ServerRoot": (ROOT,),
        "MsgHost": ("mail",),
        "MsgServices": ("smtp", "25"),
        "LDAPTestUser": ("probe",),
        "LDAPTestPasswd": (secret,),
    }
    render = vcs_argv.render_v50 if form == "V50" else vcs_argv.render_v40
    argv = render(POLICIES["SunJESMsg"].declaration, "res1", values)
    subject = diagnosis.read_subject(POLICIES["SunJESMsg"].declaration, argv)
    plan = diagnosis.plan(subject)
    found = Findings(secrets={"LDAPTestPasswd": f"LDAPTestPasswd: refused {secret}"})
    report = diagnosis.Report(
        "SunJESMsg",
        subject.resource,
        None,
        diagnosis.diagnose(subject, plan, found),
        subject.secrets,
    )
    said = diagnosis.render_text([report]) + json.dumps(
        diagnosis.as_json([report]), ensure_ascii=False
    )
    assert secret not in said


# --- end to end -----------------------------------------------------------------------

PASSWORD = "probe-secret"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandInServer]:
    built = build_server_root(
        tmp_path / "msg", users={"probe": PASSWORD}, domain="jesagent.test", stop_timeout=5
    )
    yield built
    built.stop_all()


@pytest.fixture
def helper_env(password_helper: PasswordHelper, monkeypatch: pytest.MonkeyPatch) -> PasswordHelper:
    monkeypatch.setenv("JESAGENT_DECRYPT", str(password_helper.decrypt_program))
    return password_helper


def server_argv(server: StandInServer, *services: str, **more: str) -> list[str]:
    flat: list[str] = []
    for key in services:
        flat += [key, str(server.ports[key])]
    values: dict[str, Raw] = {
        "ServerRoot": (str(server.root),),
        "MsgHost": ("mail.jesagent.test",),
        "MsgServices": tuple(flat),
        "ServerType": ("MSG",),
    }
    values.update({name: (value,) for name, value in more.items()})
    return list(argv_of("SunJESMsg", values))


def run_doctor(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, dict[str, object]]]:
    code = doctor.main(["--json", *args])
    data = json.loads(capsys.readouterr().out)
    (resource,) = data["resources"]
    assert data["failed"] is (code == 1)
    by_check: dict[str, dict[str, object]] = {}
    for check in resource["checks"]:
        by_check[f"{check['check']} {check['looked_at']}"] = check
    return code, by_check


def status_of(checks: dict[str, dict[str, object]], start: str) -> list[object]:
    return [c["status"] for key, c in checks.items() if key.startswith(start)]


def configutil(server: StandInServer, option: str, value: str) -> None:
    subprocess.run(
        [str(server.configutil), "-o", option, "-v", value], check=True, capture_output=True
    )


def test_a_stopped_and_a_running_instance(
    server: StandInServer, helper_env: PasswordHelper, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = server_argv(
        server, "core", LDAPTestUser="probe", LDAPTestPasswd=helper_env.encrypt(PASSWORD)
    )
    code, checks = run_doctor(capsys, "SunJESMsg", *argv)
    assert code == 0, checks
    assert status_of(checks, "autorestart") == ["WARN"]  # the stand-in's default, as Sun's
    assert status_of(checks, "watcher") == ["PASS"]
    assert status_of(checks, "password") == ["PASS"]
    # The stand-in's configutil knows no scheduler switch until it is set: not set, WARN.
    assert status_of(checks, "scheduler") == ["WARN"]
    subprocess.run([str(server.msstart), "store", "sched"], check=True, capture_output=True)
    assert server.pids("stored")
    configutil(server, "local.autorestart", "yes")
    configutil(server, diagnosis.SCHEDULER, "1")
    code, checks = run_doctor(capsys, "SunJESMsg", *argv)
    assert code == 0
    assert set(status_of(checks, "")) <= {"PASS", "SKIP"}
    assert server.pids("stored")  # doctor changed nothing


def test_watcher_off_and_a_disabled_service_fail_with_the_fix(
    server: StandInServer, capsys: pytest.CaptureFixture[str]
) -> None:
    configutil(server, "local.watcher.enable", "no")
    configutil(server, "service.http.enable", "0")
    assert doctor.main(["SunJESMsg", *server_argv(server, "imap", "https")]) == 1
    text = capsys.readouterr().out
    assert f"fix: {server.configutil} -o local.watcher.enable -v yes" in text
    assert f"fix: {server.configutil} -o service.http.enable -v 1" in text
    assert "FAIL  service enabled: service.http.enable is 0" in text
    assert "PASS  service enabled: service.imap.enable is 1" in text
    assert "something failed" in text


def test_a_core_resource_with_the_scheduler_disabled_fails_with_the_fix(
    server: StandInServer, capsys: pytest.CaptureFixture[str]
) -> None:
    configutil(server, diagnosis.SCHEDULER, "no")
    assert doctor.main(["SunJESMsg", *server_argv(server, "core")]) == 1
    text = capsys.readouterr().out
    assert f"FAIL  scheduler: {diagnosis.SCHEDULER} is no" in text
    assert f"fix: {server.configutil} -o {diagnosis.SCHEDULER} -v 1, then restart" in text
    configutil(server, diagnosis.SCHEDULER, "Yes")
    code, checks = run_doctor(capsys, "SunJESMsg", *server_argv(server, "core"))
    assert code == 0
    assert status_of(checks, "scheduler") == ["PASS"]
    # The same installation's other services are not asked about the scheduler.
    code, checks = run_doctor(capsys, "SunJESMsg", *server_argv(server, "imap"))
    assert status_of(checks, "scheduler") == []


def test_maxsessions_warning_and_a_missing_binary(
    server: StandInServer, helper_env: PasswordHelper, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = helper_env.encrypt(PASSWORD)
    argv = server_argv(
        server, "pop", SecondLevelMonitor="2", LDAPTestUser="probe", LDAPTestPasswd=secret
    )
    code, checks = run_doctor(capsys, "--monitor-interval", "30", "SunJESMsg", *argv)
    assert code == 0
    (pop,) = [c for k, c in checks.items() if k.startswith("maxsessions")]
    assert pop["status"] == "WARN"
    assert "use it up in 10 hours" in str(pop["finding"])  # 600 logins, one a minute
    server.immonitor_access.unlink()  # the native probes stand in: a warning
    code, checks = run_doctor(capsys, "SunJESMsg", *argv)
    assert status_of(checks, f"program {server.immonitor_access}") == ["WARN"]
    native = server_argv(
        server, "pop", SecondLevelMonitor="2", LDAPTestUser="probe", LDAPTestPasswd=secret,
        NativeProbes="1",
    )  # fmt: skip
    code, checks = run_doctor(capsys, "SunJESMsg", *native)
    assert status_of(checks, f"program {server.immonitor_access}") == []  # not needed


def test_an_undecryptable_password_fails_and_is_never_printed(
    server: StandInServer, helper_env: PasswordHelper, tmp_path: Path
) -> None:
    secret = helper_env.encrypt(PASSWORD)
    helper_env.regenerate_key()  # as after vcsencrypt -gensecinfo
    argv = server_argv(server, "imap", LDAPTestUser="probe", LDAPTestPasswd=secret)
    env = {**os.environ, "JESAGENT_DECRYPT": str(helper_env.decrypt_program)}
    done = subprocess.run(
        [sys.executable, "-m", "shell.doctor", "SunJESMsg", *argv],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "FAIL  password: LDAPTestPasswd: the password helper" in done.stdout
    assert secret not in done.stdout + done.stderr
    assert PASSWORD not in done.stdout + done.stderr


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[StandInAdmin]:
    built = build_admin_root(tmp_path / "adm", password="admin-secret")
    yield built
    built.stop_all()


def test_the_config_form_checks_every_sunjes_resource(
    server: StandInServer,
    admin: StandInAdmin,
    helper_env: PasswordHelper,
    tmp_path: Path,
) -> None:
    main_cf = tmp_path / "main.cf"
    main_cf.write_text(
        'include "types.cf"\ninclude "SunJESMsgTypes50.cf"\ninclude "SunJESAdmTypes50.cf"\n'
        "group g ( SystemList = { n1 = 0 } )\n"
        f'    SunJESMsg mail ( ServerRoot = "{server.root}" MsgHost = "127.0.0.1"\n'
        f"        MsgServices = {{ imap = {server.ports['imap']} }} )\n"
        f'    SunJESAdm adm ( ServerRoot = "{admin.root}" AdminHost = "127.0.0.1"\n'
        f"        AdminPort = {admin.port} AdminUser = admin\n"
        f"        AdminPasswd = {helper_env.encrypt('admin-secret')} )\n"
        "    NIC nic ( Device = eth0 )\n"
    )
    env = {**os.environ, "JESAGENT_DECRYPT": str(helper_env.decrypt_program)}
    done = subprocess.run(
        [sys.executable, "-m", "shell.doctor", "--json", "--config", str(main_cf)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=60, check=False,
    )  # fmt: skip
    data = json.loads(done.stdout)
    assert done.returncode == 0, done.stdout
    assert [(r["type"], r["resource"], r["group"]) for r in data["resources"]] == [
        ("SunJESMsg", "mail", "g"), ("SunJESAdm", "adm", "g"),
    ]  # fmt: skip
    adm_checks = {c["looked_at"]: c["status"] for c in data["resources"][1]["checks"]}
    assert adm_checks["AdminPasswd through the password helper"] == "PASS"
    assert adm_checks["SSLDbPasswd"] == "SKIP"
    assert set(data["summary"]) == {"PASS", "WARN", "FAIL", "SKIP"}


def test_a_directory_server_6_that_prompts_for_its_certificate_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "ds" / "slapd-a"
    instance.mkdir(parents=True)
    for name in ("start-slapd", "stop-slapd"):
        (instance / name).write_text("#!/bin/sh\nexit 0\n")
        (instance / name).chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dsadm = bin_dir / "dsadm"
    dsadm.write_text('#!/bin/sh\necho "cert-pwd-prompt: on"\n')
    dsadm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    values: dict[str, Raw] = {"InstanceRoot": (str(instance),), "LDAPHost": ("127.0.0.1",)}
    code, checks = run_doctor(capsys, "SunJESLDAP", *argv_of("SunJESLDAP", values))
    assert code == 1
    (prompt,) = [c for k, c in checks.items() if k.startswith("certificate prompt")]
    assert prompt["status"] == "FAIL"
    assert f"{dsadm} set-flags {instance} cert-pwd-prompt=off" in str(prompt["fix"])
    assert status_of(checks, "program") == ["PASS", "PASS"]


def test_help_prints_the_usage_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "jesagent doctor [--json] [--monitor-interval S] <Type>" in out
    assert "--config MAIN.CF" in out
    done = subprocess.run(
        [sys.executable, "-m", "shell.cli", "doctor", "--help"],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "jesagent doctor [--json]" in done.stdout


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor.main([]) == 2
    assert doctor.main(["--monitor-interval", "0", "SunJESMsg", "r"]) == 2
    assert doctor.main(["--resource", "x", "SunJESMsg", "r"]) == 2
    assert doctor.main(["--config", "/nonexistent/main.cf"]) == 1
    assert "usage" in capsys.readouterr().err
