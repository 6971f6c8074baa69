"""SunJESMsg end to end: the installed entry points, called as VCS calls them, against a
stand-in Messaging Server."""

from __future__ import annotations

import re
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jescore.policy.declaration import Raw
from jescore.policy.vcs import CleanReason
from stubs.msgserver import StandInServer, build_server_root
from stubs.vcscrypt import PasswordHelper
from tests.agentcalls import Agents, Outcome

PASSWORD = "probe-secret"
LINE = re.compile(
    r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d VCS (ERROR|WARNING|INFO) V-16-10000-\d+ SunJESMsg:\w+:\w+:"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandInServer]:
    built = build_server_root(
        tmp_path / "msg", users={"probe": PASSWORD}, domain="jesagent.test", stop_timeout=5
    )
    yield built
    built.stop_all()


def attrs(server: StandInServer, *services: str, **more: str) -> dict[str, Raw]:
    flat: list[str] = []
    for key in services:
        flat += [key, str(server.ports[key])]
    values: dict[str, Raw] = {
        "ServerRoot": (str(server.root),),
        "MsgHost": ("127.0.0.1",),
        "MsgServices": tuple(flat),
        "ServerType": (server.server_type,),
        "ResLogLevel": ("TRACE",),
    }
    values.update({name: (value,) for name, value in more.items()})
    return values


def with_user(helper: PasswordHelper, password: str = PASSWORD) -> dict[str, str]:
    return {"LDAPTestUser": "probe", "LDAPTestPasswd": helper.encrypt(password)}


def call(agents: Agents, entry: str, values: dict[str, Raw], **kw: object) -> Outcome:
    outcome = agents.call("SunJESMsg", entry, "res1", values, **kw)  # type: ignore[arg-type]
    for line in outcome.lines:
        assert LINE.match(line), line
    assert "Traceback" not in outcome.output
    return outcome


def test_core_online_monitor_offline(agents: Agents, server: StandInServer) -> None:
    core = attrs(server, "core", SecondLevelMonitor="1")
    assert call(agents, "monitor", core).code == 100
    started = call(agents, "online", core)
    assert started.code == 0
    assert started.logged("online after")
    assert all(server.pids(name) for name in ("stored", "imsched", "watcher"))
    watched = call(agents, "monitor", core)
    assert watched.code == 110
    assert watched.logged("message store check (stored -t -v) passed")
    assert call(agents, "offline", core).code == 0
    assert not any(server.pids(name) for name in ("stored", "imsched", "watcher"))
    assert call(agents, "monitor", core).code == 100


def test_online_twice_is_harmless(agents: Agents, server: StandInServer) -> None:
    core = attrs(server, "core")
    call(agents, "online", core)
    pids = server.pids("stored")
    again = call(agents, "online", core)
    assert again.code == 0
    assert again.logged("already online")
    assert server.pids("stored") == pids


def test_stored_not_ready_is_caught_by_the_second_level(
    agents: Agents, server: StandInServer
) -> None:
    core = attrs(server, "core", SecondLevelMonitor="1")
    call(agents, "online", core)
    server.inject("stored.notready")
    outcome = call(agents, "monitor", core)
    assert outcome.code == 100
    assert outcome.logged("stored -t -v) failed")


def test_the_second_level_runs_every_nth_cycle(agents: Agents, server: StandInServer) -> None:
    core = attrs(server, "core", SecondLevelMonitor="3")
    call(agents, "online", core)
    server.inject("stored.notready")
    codes = [call(agents, "monitor", core).code for _ in range(6)]
    assert codes == [110, 110, 100, 110, 110, 100]
    state = next(agents.state.iterdir())
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


def test_a_corrupt_cycle_count_never_fails_the_monitor(
    agents: Agents, server: StandInServer
) -> None:
    core = attrs(server, "core", SecondLevelMonitor="2")
    call(agents, "online", core)
    agents.state.mkdir(exist_ok=True)
    (agents.state / "SunJESMsg.res1.cycle").write_bytes(b"\xff garbage")
    assert [call(agents, "monitor", core).code for _ in range(2)] == [110, 110]


@pytest.fixture
def core_up(agents: Agents, server: StandInServer) -> None:
    assert call(agents, "online", attrs(server, "core")).code == 0


@pytest.mark.usefixtures("core_up")
def test_imap_pop_with_a_test_user(
    agents: Agents, server: StandInServer, password_helper: PasswordHelper
) -> None:
    mail = attrs(server, "imap", "pop", SecondLevelMonitor="1", **with_user(password_helper))
    assert call(agents, "online", mail).code == 0
    assert server.pids("imapd") and server.pids("popd")
    watched = call(agents, "monitor", mail)
    assert watched.code == 110, watched.lines
    assert watched.logged("imap synthetic transaction passed")
    assert watched.logged("pop synthetic transaction passed")
    wrong = attrs(
        server, "imap", "pop", SecondLevelMonitor="1", **with_user(password_helper, "nope")
    )
    assert call(agents, "monitor", wrong).code == 100


@pytest.mark.usefixtures("core_up")
def test_imap_refuses_to_start_without_its_core_and_online_reports_it(
    agents: Agents, server: StandInServer
) -> None:
    call(agents, "offline", attrs(server, "core"))
    outcome = call(agents, "online", attrs(server, "imap"))
    assert outcome.code == 0
    assert outcome.logged("msstart failed (exit 1)")
    assert call(agents, "monitor", attrs(server, "imap")).code == 100


@pytest.mark.usefixtures("core_up")
def test_the_password_goes_on_stdin_never_in_argv_or_the_log(
    agents: Agents, server: StandInServer, password_helper: PasswordHelper, tmp_path: Path
) -> None:
    # Wrap immonitor-access so the test sees exactly what the agent handed it.
    real = server.immonitor_access.with_name("immonitor-access.real")
    server.immonitor_access.rename(real)
    record = tmp_path / "record"
    server.immonitor_access.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" >> {record}.argv\ntee -a {record}.stdin | {real} "$@"\n'
    )
    server.immonitor_access.chmod(0o755)
    mail = attrs(server, "imap", SecondLevelMonitor="1", **with_user(password_helper))
    call(agents, "online", mail)
    assert call(agents, "monitor", mail).code == 110
    assert PASSWORD not in Path(f"{record}.argv").read_text()
    assert Path(f"{record}.stdin").read_text() == PASSWORD + "\n"
    assert PASSWORD not in agents.log.read_text()
    encrypted = mail["LDAPTestPasswd"][0]
    assert encrypted not in agents.log.read_text()
    for path in agents.state.rglob("*"):
        assert PASSWORD not in path.read_text()


@pytest.mark.usefixtures("core_up")
def test_a_password_that_no_longer_decrypts_is_unknown(
    agents: Agents, server: StandInServer, password_helper: PasswordHelper
) -> None:
    mail = attrs(server, "imap", SecondLevelMonitor="1", **with_user(password_helper))
    call(agents, "online", mail)
    password_helper.regenerate_key()
    outcome = call(agents, "monitor", mail)
    assert outcome.code == 99
    assert outcome.logged("LDAPTestPasswd: the password helper")
    assert outcome.logged("could not decrypt")


@pytest.mark.usefixtures("core_up")
def test_a_hanging_listener_gives_offline_within_the_budget(
    agents: Agents, server: StandInServer, password_helper: PasswordHelper
) -> None:
    mail = attrs(server, "imap", SecondLevelMonitor="1", **with_user(password_helper))
    call(agents, "online", mail)
    server.inject("imapd.hang")
    outcome = call(agents, "monitor", mail, aep_timeout=8)
    assert outcome.code == 100
    assert outcome.seconds < 8
    plain = attrs(server, "imap", SecondLevelMonitor="1")
    assert call(agents, "monitor", plain, aep_timeout=8).code == 110  # TCP accept still works


@pytest.mark.usefixtures("core_up")
def test_a_dead_process_clean_and_online_again(agents: Agents, server: StandInServer) -> None:
    mail = attrs(server, "imap", "pop")
    call(agents, "online", mail)
    stored = server.pids("stored")
    server.kill("imapd")
    gone = call(agents, "monitor", mail)
    assert gone.code == 100
    assert gone.logged("missing:")
    cleaned = call(agents, "clean", mail, reason=CleanReason.UNEXPECTED_OFFLINE)
    assert cleaned.code == 0
    assert cleaned.logged("the resource went offline unexpectedly")
    assert not server.pids("popd")
    assert server.pids("stored") == stored  # the core belongs to another resource
    assert call(agents, "online", mail).code == 0
    assert call(agents, "monitor", mail).code == 110


@pytest.mark.usefixtures("core_up")
def test_offline_of_one_resource_leaves_the_core(agents: Agents, server: StandInServer) -> None:
    mail = attrs(server, "http", "ens")
    call(agents, "online", mail)
    assert server.pids("mshttpd") and server.pids("enpd")
    assert call(agents, "offline", mail).code == 0
    assert not server.pids("mshttpd") and not server.pids("enpd")
    assert server.pids("stored") and server.pids("watcher")
    again = call(agents, "offline", mail)
    assert again.logged("nothing to stop")


@pytest.mark.usefixtures("core_up")
def test_smtp_uses_user_at_domain(
    agents: Agents, server: StandInServer, password_helper: PasswordHelper, mta_host: str
) -> None:
    mta = attrs(server, "smtp", "lmtp", SecondLevelMonitor="1", **with_user(password_helper))
    mta["MsgHost"] = (mta_host,)
    call(agents, "online", mta)
    assert server.pids("dispatcher") and server.pids("job_controller")
    outcome = call(agents, "monitor", mta)
    assert outcome.code == 110, outcome.lines
    assert outcome.logged("probe@jesagent.test")
    assert outcome.logged("smtp synthetic transaction passed")
    assert outcome.logged("lmtp synthetic transaction passed")


def test_the_multiplexor(tmp_path: Path, agents: Agents, password_helper: PasswordHelper) -> None:
    mmp = build_server_root(tmp_path / "mmp", server_type="MMP", users={"probe": PASSWORD})
    try:
        values = attrs(
            mmp, "imap", "pop", "imaps", SecondLevelMonitor="1", **with_user(password_helper)
        )
        assert call(agents, "online", values).code == 0
        assert mmp.pids("AService")
        watched = call(agents, "monitor", values)
        assert watched.code == 110, watched.lines
        assert watched.logged("imaps port check")
        assert call(agents, "offline", values).code == 0
        assert not mmp.pids("AService")
        assert call(agents, "monitor", values).code == 100
    finally:
        mmp.stop_all()


def test_msstart_hanging_does_not_hang_online(agents: Agents, server: StandInServer) -> None:
    server.inject("msstart.hang")
    outcome = call(agents, "online", attrs(server, "core"), aep_timeout=6)
    assert outcome.code == 0
    assert outcome.seconds < 6
    assert outcome.logged("did not finish in time")


def test_offline_escalates_when_msstart_ignores_k(agents: Agents, server: StandInServer) -> None:
    core = attrs(server, "core")
    call(agents, "online", core)
    server.inject("msstart.ignore-k")
    outcome = call(agents, "offline", core, aep_timeout=10)
    assert outcome.code == 0
    assert outcome.logged("sending TERM")
    assert not any(server.pids(name) for name in ("stored", "imsched", "watcher"))


@pytest.mark.usefixtures("core_up")
def test_clean_kills_a_process_that_ignores_term(agents: Agents, server: StandInServer) -> None:
    mail = attrs(server, "pop")
    call(agents, "online", mail)
    server.inject("msstart.ignore-k")
    server.inject("popd.ignore-term")
    outcome = call(agents, "clean", mail, reason=CleanReason.MONITOR_HUNG, aep_timeout=12)
    assert outcome.code == 0, outcome.lines
    assert outcome.logged("sent SIGKILL")
    assert not server.pids("popd")
    assert server.pids("stored")


def test_a_process_that_cannot_start_is_reported(agents: Agents, server: StandInServer) -> None:
    server.inject("imsched.nostart")
    outcome = call(agents, "online", attrs(server, "core"), aep_timeout=8)
    assert outcome.code == 0
    assert outcome.logged("msstart failed")
    assert call(agents, "monitor", attrs(server, "core")).code == 100


def test_clean_touches_only_its_own_installation(tmp_path: Path, agents: Agents) -> None:
    # /x/msg and /x/msg2: a path prefix is not a parent directory.
    first = build_server_root(tmp_path / "msg", stop_timeout=3)
    second = build_server_root(tmp_path / "msg2", stop_timeout=3)
    try:
        for one in (first, second):
            call(agents, "online", attrs(one, "core"))
            call(agents, "online", attrs(one, "imap"))
        first.inject("msstart.ignore-k")
        # A 12 s budget: the signals come after the stop wait (70 % of it), not after 40 s.
        cleaned = call(
            agents,
            "clean",
            attrs(first, "imap"),
            reason=CleanReason.ONLINE_INEFFECTIVE,
            aep_timeout=12,
        )
        assert cleaned.code == 0
        assert cleaned.logged("sending TERM")
        assert not first.pids("imapd")
        assert second.pids("imapd")
    finally:
        first.stop_all()
        second.stop_all()


def test_invalid_attributes(agents: Agents, server: StandInServer) -> None:
    bad = attrs(server, "core", "imap", MsgHost="not a host")
    monitored = call(agents, "monitor", bad)
    assert monitored.code == 99
    assert monitored.logged("MsgServices: core must stand alone")
    assert monitored.logged("MsgHost: 'not a host' is not a host name")
    assert call(agents, "online", bad).code == 0
    assert not server.pids("stored")
    assert call(agents, "clean", bad, reason=CleanReason.ONLINE_INEFFECTIVE).code == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["res1", "MsgServices", "4", "imap"], "past the end"),
        (["res1"], "no attribute values"),
        ([], "no resource name"),
        (["res1", "2", "MsgHost"], "missing"),
    ],
)
def test_unreadable_argv_answers_and_logs(agents: Agents, args: list[str], words: str) -> None:
    assert agents.call_raw("SunJESMsg", "monitor", args).code == 99
    assert words in agents.log.read_text()
    assert agents.call_raw("SunJESMsg", "clean", ["res1", "4", *args[1:]]).code == 1


def test_v40_positional_arguments(agents: Agents, server: StandInServer) -> None:
    core = attrs(server, "core", SecondLevelMonitor="1")
    assert call(agents, "online", core, form="V40").code == 0
    assert call(agents, "monitor", core, form="V40").code == 110


def test_monitor_program(agents: Agents, server: StandInServer, tmp_path: Path) -> None:
    program = tmp_path / "chk.sh"
    ran = tmp_path / "ran"
    program.write_text(f'#!/bin/sh\necho "$1" >> {ran}\nexit "$1"\n')
    program.chmod(0o755)
    assert (
        call(agents, "monitor", attrs(server, "core", MonitorProgram=f"{program} 105")).code == 100
    )
    assert not ran.exists()  # first level failed: the program is not run
    call(agents, "online", attrs(server, "core"))
    for exit_code, verdict in [(0, 110), (105, 99), (1, 100), (7, 99), (110, 110)]:
        values = attrs(server, "core", MonitorProgram=f"{program} {exit_code}")
        assert call(agents, "monitor", values).code == verdict
    assert ran.read_text().split() == ["0", "105", "1", "7", "110"]


def test_res_log_level_filters(agents: Agents, server: StandInServer) -> None:
    quiet = attrs(server, "core", ResLogLevel="ERROR")
    assert call(agents, "online", quiet).code == 0
    assert not agents.log.exists()  # nothing at ERROR level happened
    loud = attrs(server, "core", ResLogLevel="TRACE")
    assert call(agents, "monitor", loud).logged("all processes present")


def test_unknown_arguments_are_warned_about(agents: Agents, server: StandInServer) -> None:
    outcome = call(agents, "monitor", attrs(server, "core"), extra={"SiteNote": "x"})
    assert outcome.code == 100
    assert outcome.logged("'SiteNote' is not an attribute of SunJESMsg")


def test_log_through_halog_when_vcs_is_there(
    agents: Agents, server: StandInServer, tmp_path: Path
) -> None:
    halog = tmp_path / "halog"
    record = tmp_path / "halog.args"
    halog.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {record}\necho >> {record}\n')
    halog.chmod(0o755)
    agents.env["JESAGENT_HALOG"] = str(halog)
    call(agents, "monitor", attrs(server, "core", ResLogLevel="INFO"))
    lines = [line.split("|") for line in record.read_text().splitlines()]
    assert all(line[0] == "-add" for line in lines)
    assert all(line[1].startswith("SunJESMsg:res1:monitor:") for line in lines)
    verdicts = [line for line in lines if line[2:4] == ["-sev", "I"]]
    assert verdicts  # the verdict, at INFO
    assert all(line[2] in {"-sev", "-dbg"} for line in lines)  # the rest: debug, for VCS
    assert not agents.log.exists()  # halog took every line


def test_a_zombie_does_not_count(agents: Agents, server: StandInServer) -> None:
    core = attrs(server, "core")
    call(agents, "online", core)
    server.kill("watcher", signal.SIGKILL)  # may linger as a zombie on this machine
    deadline = time.monotonic() + 5
    while server.pids("watcher") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert call(agents, "monitor", core).code == 100
