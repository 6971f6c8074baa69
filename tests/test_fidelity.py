"""Behaving as the original agent does where an administrator moving from it would notice:
through the installed entry points, against the stand-in Messaging Server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jescore.policy.commands import Expect, ProbeOutcome, ProgramProbe, ProgramResult, judge_program
from jescore.policy.declaration import Raw
from jescore.policy.vcs import CleanReason
from stubs.msgserver import StandInServer, build_server_root
from tests.agentcalls import Agents

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandInServer]:
    built = build_server_root(tmp_path / "msg", domain="jesagent.test", stop_timeout=5)
    yield built
    built.stop_all()


def values(server: StandInServer, *services: str, **more: str) -> dict[str, Raw]:
    flat: list[str] = []
    for key in services:
        flat += [key, str(server.ports[key])]
    found: dict[str, Raw] = {
        "ServerRoot": (str(server.root),),
        "MsgHost": ("127.0.0.1",),
        "MsgServices": tuple(flat),
        "ServerType": ("MSG",),
    }
    found.update({name: (value,) for name, value in more.items()})
    return found


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def start(server: StandInServer, *names: str) -> None:
    subprocess.run([str(server.msstart), *names], check=True, capture_output=True, timeout=30)


# --- a cosmetic mistake never freezes the resource -------------------------------------


def test_a_log_level_typo_is_a_warning_and_the_default_is_used(
    agents: Agents, server: StandInServer
) -> None:
    core = values(server, "core", ResLogLevel="INFOO")
    started = agents.call("SunJESMsg", "online", "r", core)
    assert started.logged("ResLogLevel:")
    assert started.logged("the default INFO")
    assert server.pids("stored")  # online did its work
    assert agents.call("SunJESMsg", "monitor", "r", core).code == 110
    assert agents.call("SunJESMsg", "clean", "r", core, reason=CleanReason.MONITOR_HUNG).code == 0
    assert not server.pids("stored")


def test_offline_and_clean_stop_the_instance_despite_an_invalid_port(
    agents: Agents, server: StandInServer
) -> None:
    good = values(server, "pop")
    start(server, "store", "pop")
    bad_port = {**good, "MsgServices": ("pop", "99999")}
    monitor = agents.call("SunJESMsg", "monitor", "r", bad_port)
    assert monitor.code == 99  # monitor still names the mistake and answers unknown
    assert monitor.logged("MsgServices:")
    clean = agents.call("SunJESMsg", "clean", "r", bad_port, reason=CleanReason.MONITOR_HUNG)
    assert clean.code == 0, clean.lines
    assert clean.logged("not needed to stop the resource")
    assert not server.pids("popd")
    start(server, "pop")
    wrong_host = {**good, "MsgHost": ("not a host",)}
    assert agents.call("SunJESMsg", "offline", "r", wrong_host).code == 0
    assert not server.pids("popd")


def test_offline_refuses_when_it_cannot_tell_what_is_its_own(
    agents: Agents, server: StandInServer
) -> None:
    start(server, "store", "pop")
    unknown_service = {**values(server, "pop"), "MsgServices": ("popx", "110")}
    refused = agents.call("SunJESMsg", "offline", "r", unknown_service)
    assert refused.logged("cannot tell which processes are this resource's")
    assert server.pids("popd")  # nothing was stopped
    relative = {**values(server, "pop"), "ServerRoot": ("opt/msg",)}
    clean = agents.call("SunJESMsg", "clean", "r", relative, reason=CleanReason.MONITOR_HUNG)
    assert clean.code == 1
    assert clean.logged("ServerRoot:")
    assert server.pids("popd")


# --- standby nodes stay quiet -----------------------------------------------------------


def test_a_standby_node_logs_the_verdict_once(agents: Agents, server: StandInServer) -> None:
    imap = values(server, "imap")
    outcomes = [agents.call("SunJESMsg", "monitor", "r", imap) for _ in range(4)]
    assert [o.code for o in outcomes] == [100] * 4
    verdicts = [o.logged("offline (100)") for o in outcomes]
    assert verdicts == [True, False, False, False]  # at INFO once, then only at TRACE
    start(server, "store", "imap")
    assert agents.call("SunJESMsg", "monitor", "r", imap).logged("online (110)")
    assert not agents.call("SunJESMsg", "monitor", "r", imap).logged("online (110)")


def test_a_half_running_resource_is_always_logged(agents: Agents, server: StandInServer) -> None:
    mta = {**values(server, "smtp"), "MsgHost": ("mail.jesagent.test",)}
    start(server, "store", "smtp")
    server.kill("job_controller")
    first = agents.call("SunJESMsg", "monitor", "r", mta)
    again = agents.call("SunJESMsg", "monitor", "r", mta)
    assert first.code == again.code == 100
    assert first.logged("offline (100)")
    assert again.logged("offline (100)")  # a fault, not a standby


# --- MonitorProgram as the guide reads it -----------------------------------------------


@pytest.mark.parametrize(("exit_code", "answer"), [(0, 110), (1, 100), (105, 99), (110, 110)])
def test_monitor_program_exit_codes(
    agents: Agents, server: StandInServer, tmp_path: Path, exit_code: int, answer: int
) -> None:
    program = script(tmp_path / "check", f"exit {exit_code}\n")
    imap = values(server, "imap", MonitorProgram=str(program))
    start(server, "store", "imap")
    assert agents.call("SunJESMsg", "monitor", "r", imap).code == answer


def test_a_monitor_program_that_is_not_executable_is_skipped(
    agents: Agents, server: StandInServer, tmp_path: Path
) -> None:
    plain = tmp_path / "check"
    plain.write_text("exit 1\n")  # not executable
    imap = values(server, "imap", MonitorProgram=str(plain))
    start(server, "store", "imap")
    outcome = agents.call("SunJESMsg", "monitor", "r", imap)
    assert outcome.code == 110
    assert outcome.logged("is not an executable file; skipped")


# --- probes as lenient as the original --------------------------------------------------


def test_an_ldap_search_without_a_version_line_passes() -> None:
    probe = ProgramProbe("cn=monitor search", ("ldapsearch",), Expect.VERSION_LINE)
    judged = judge_program(probe, ProgramResult(True, 0, "dn: cn=monitor\n"))
    assert judged.outcome is ProbeOutcome.PASSED
    assert "no version" in judged.reason
    assert judge_program(probe, ProgramResult(True, 32)).outcome is ProbeOutcome.FAILED


def test_admconfig_reporting_another_port_passes_with_a_warning() -> None:
    probe = ProgramProbe("admconfig", ("admconfig",), Expect.REPORTED_PORT, port=390)
    other = judge_program(probe, ProgramResult(True, 0, "nsServerPort = 391\n"))
    assert other.outcome is ProbeOutcome.PASSED
    assert "reports port 391, but AdminPort is 390" in other.warning
    same = judge_program(probe, ProgramResult(True, 0, "nsServerPort = 390\n"))
    assert same.outcome is ProbeOutcome.PASSED
    assert not same.warning
    assert judge_program(probe, ProgramResult(True, 1)).outcome is ProbeOutcome.FAILED


# --- debug lines the way the guide enables them -----------------------------------------


def test_debug_lines_go_to_halog_for_vcs_to_filter(
    agents: Agents, server: StandInServer, tmp_path: Path
) -> None:
    said = tmp_path / "halog.said"
    agents.env["JESAGENT_HALOG"] = str(script(tmp_path / "halog", f'echo "$@" >> {said}\n'))
    imap = values(server, "imap")
    agents.call("SunJESMsg", "monitor", "r", imap)
    lines = said.read_text().splitlines()
    assert any(line.endswith("-dbg 1") and ":monitor:monitor begins" in line for line in lines)
    assert any(line.endswith("-dbg 4") for line in lines)  # every level: VCS keeps LogDbg's
    assert any("-sev I -msgid" in line for line in lines)  # the verdict, at INFO
    said.unlink()
    agents.call("SunJESMsg", "monitor", "r", imap, extra={"LogDbg": "DBG_1"})
    told = said.read_text().splitlines()
    assert {line.rsplit(" ", 1)[1] for line in told if " -dbg " in line} == {"1"}


# --- every subcommand answers --help ----------------------------------------------------


@pytest.mark.parametrize("command", ["vcs", "explain", "doctor", "install", "uninstall"])
def test_every_subcommand_answers_help(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shell.cli", command, "--help"],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "usage" in done.stdout.lower()


# --- clean and offline leave nothing of the instance behind ------------------------------

MTA_HELPERS = ("tcp_smtp_server", "tcp_lmtp_server", "tcp_smtp_client")


def test_clean_stops_mta_workers_that_outlive_msstart(
    agents: Agents, server: StandInServer
) -> None:
    mta = {**values(server, "smtp"), "MsgHost": ("mail.jesagent.test",)}
    imap = values(server, "imap")
    start(server, "store", "imap")
    assert agents.call("SunJESMsg", "online", "mta", mta).code == 0
    assert all(server.pids(name) for name in MTA_HELPERS)
    server.inject("smtp.orphan-workers")
    outcome = agents.call(
        "SunJESMsg", "clean", "mta", mta, reason=CleanReason.MONITOR_HUNG, aep_timeout=12
    )
    assert outcome.code == 0, outcome.lines
    assert not any(server.pids(name) for name in (*MTA_HELPERS, "dispatcher"))
    assert outcome.logged("sent SIGTERM")
    assert server.pids("stored")  # the core's and the imap resource's processes live on
    assert server.pids("imapd")
    assert agents.call("SunJESMsg", "monitor", "imap", imap).code == 110


def test_offline_also_stops_orphaned_workers(agents: Agents, server: StandInServer) -> None:
    mta = {**values(server, "smtp"), "MsgHost": ("mail.jesagent.test",)}
    start(server, "store")
    agents.call("SunJESMsg", "online", "mta", mta)
    server.inject("smtp.orphan-workers")
    assert agents.call("SunJESMsg", "offline", "mta", mta, aep_timeout=12).code == 0
    assert not any(server.pids(name) for name in MTA_HELPERS)
    server.clear("smtp.orphan-workers")
    start(server, "smtp")  # the MTA starts again cleanly
    assert agents.call("SunJESMsg", "monitor", "mta", mta).code == 110


def test_orphaned_workers_alone_make_offline_act(agents: Agents, server: StandInServer) -> None:
    """The dispatcher is gone but its workers linger: offline still has work to do."""
    mta = {**values(server, "smtp"), "MsgHost": ("mail.jesagent.test",)}
    start(server, "store")
    agents.call("SunJESMsg", "online", "mta", mta)
    server.inject("smtp.orphan-workers")
    subprocess.run([str(server.msstart), "-k", "smtp"], check=True, capture_output=True)
    assert server.pids("tcp_smtp_server")
    assert agents.call("SunJESMsg", "monitor", "mta", mta).code == 100
    assert agents.call("SunJESMsg", "offline", "mta", mta, aep_timeout=12).code == 0
    assert not any(server.pids(name) for name in MTA_HELPERS)
