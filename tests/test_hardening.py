"""Regression tests for what an independent review found: time budgets, leaks, misreadings."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jescore.policy import argv as vcs_argv
from jescore.policy.declaration import Raw
from jescore.policy.secrets import secret_words
from jescore.policy.sunjesadm import DECLARATION as ADM
from jescore.policy.sunjesldap import DECLARATION as LDAP
from jescore.policy.sunjesmsg import DECLARATION as MSG
from jescore.policy.vcs import EntryPoint
from jescore.result import is_successful
from shell.run import connect, run_program
from shell.secrets import decrypt
from stubs.msgserver import StandInServer, build_server_root
from stubs.vcscrypt import PasswordHelper
from tests.agentcalls import Agents


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_a_daemon_left_writing_to_stdout_survives(tmp_path: Path) -> None:
    # A start script's child that keeps the inherited stdout must not die of SIGPIPE.
    marker = tmp_path / "survived"
    argv = ["/bin/sh", "-c", f"(sleep 0.5; echo late; touch {marker}) & echo started"]
    result = run_program(argv, timeout=5)
    assert result.exit_code == 0
    assert "started" in result.output
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists()


def test_a_timed_out_program_takes_its_children_along(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    hang = script(tmp_path / "hang", f"sleep 60 & echo $! > {pid_file}\nwait\n")
    result = run_program([str(hang)], timeout=0.5)
    assert result.exit_code is None
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 3
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(child)


def gone(pid: int) -> bool:
    """Exited (a zombie waiting for this machine's slow init counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_the_password_helper_s_chatter_on_stderr_is_not_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helper = script(tmp_path / "dec", 'echo "warning: locale not set" >&2\necho plain\n')
    monkeypatch.setenv("JESAGENT_DECRYPT", str(helper))
    result = decrypt("LDAPTestPasswd", "ENC")
    assert is_successful(result)
    assert result.unwrap() == "plain"


def test_a_name_that_does_not_resolve_says_nothing_about_the_server() -> None:
    result = connect("no-such-host.invalid", 143, timeout=2)
    assert not result.resolved


def test_omitted_empty_scalars_are_read_right() -> None:
    tokens = [
        "adm1", "ResLogLevel", "1", "INFO", "AdminHost", "1", "h", "AdminPort", "1", "390",
        "AdminUser", "1", "AdminPasswd", "1", "MonitorProgram", "1",
        "SecondLevelMonitor", "1", "0", "ServerRoot", "1", "/x", "SSLDbPasswd", "1",
        "SSLEnabled", "1", "0",
    ]  # fmt: skip
    values = vcs_argv.parse(ADM, EntryPoint.MONITOR, tokens).unwrap().values
    assert values["MonitorProgram"] == ()
    assert values["ServerRoot"] == ("/x",)
    zone_tail = [
        "l1",
        "InstanceRoot",
        "1",
        "/ds/slapd-a",
        "LDAPHost",
        "1",
        "h",
        "ContainerName",
        "1",
    ]
    parsed = vcs_argv.parse(LDAP, EntryPoint.MONITOR, zone_tail)
    assert is_successful(parsed)
    assert parsed.unwrap().values["ContainerName"] == ()


@pytest.mark.parametrize(
    "tokens",
    [
        ["r", "LDAPTestPasswd", "1", "SeCrEtEnC", "MsgHost", "x", "/a"],
        ["r", "INFO", "2", "0", "SeCrEtEnC"],
    ],
)
def test_a_parse_error_never_logs_the_encrypted_password(agents: Agents, tokens: list[str]) -> None:
    outcome = agents.call_raw("SunJESMsg", "monitor", tokens)
    assert outcome.code == 99
    assert agents.log.exists()
    assert "SeCrEtEnC" not in agents.log.read_text()
    assert "SeCrEtEnC" in secret_words(MSG, tokens)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandInServer]:
    built = build_server_root(tmp_path / "msg", stop_timeout=3)
    yield built
    built.stop_all()


def core(server: StandInServer, **more: str) -> dict[str, Raw]:
    values: dict[str, Raw] = {
        "ServerRoot": (str(server.root),),
        "MsgHost": ("127.0.0.1",),
        "MsgServices": ("core", str(server.ports["core"])),
    }
    values.update({k: (v,) for k, v in more.items()})
    return values


def test_an_unwritable_state_dir_runs_the_second_level_every_cycle(
    agents: Agents, server: StandInServer, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    agents.env["JESAGENT_STATE_DIR"] = str(blocker / "state")
    values = core(server, SecondLevelMonitor="5")
    agents.call("SunJESMsg", "online", "r", values)
    server.inject("stored.notready")
    outcome = agents.call("SunJESMsg", "monitor", "r", values)
    assert outcome.code == 100  # the deep check still ran
    assert outcome.logged("runs on every cycle")


def test_a_hung_halog_cannot_make_the_monitor_late(
    agents: Agents, server: StandInServer, tmp_path: Path
) -> None:
    agents.env["JESAGENT_HALOG"] = str(script(tmp_path / "halog", "sleep 30\n"))
    outcome = agents.call(
        "SunJESMsg", "monitor", "r", core(server, ResLogLevel="TRACE"), aep_timeout=6
    )
    assert outcome.code in {99, 100}
    assert outcome.seconds < 6


def test_a_slow_password_helper_counts_against_the_budget(
    agents: Agents, server: StandInServer, tmp_path: Path, password_helper: PasswordHelper
) -> None:
    agents.env["JESAGENT_DECRYPT"] = str(script(tmp_path / "slow", "sleep 4\necho x\n"))
    server.inject("imapd.hang")
    agents.call("SunJESMsg", "online", "r", core(server))
    mail = {
        **core(server, SecondLevelMonitor="1", LDAPTestUser="probe", LDAPTestPasswd="ENC"),
        "MsgServices": ("imap", str(server.ports["imap"])),
    }
    agents.call("SunJESMsg", "online", "m", mail)
    outcome = agents.call("SunJESMsg", "monitor", "m", mail, aep_timeout=8)
    assert outcome.code == 100
    assert outcome.seconds < 8


def test_a_fifo_for_a_pid_file_cannot_block_the_monitor(agents: Agents, tmp_path: Path) -> None:
    root = tmp_path / "ds" / "slapd-x"
    (root / "logs").mkdir(parents=True)
    os.mkfifo(root / "logs" / "pid")
    values: dict[str, Raw] = {"InstanceRoot": (str(root),), "LDAPHost": ("127.0.0.1",)}
    outcome = agents.call("SunJESLDAP", "monitor", "l", values, aep_timeout=5)
    assert outcome.code == 100
    assert outcome.seconds < 5


def test_a_hung_halog_cannot_make_a_misconfigured_monitor_late(
    agents: Agents, server: StandInServer, tmp_path: Path
) -> None:
    """The watchdog is armed as soon as the budget is known, before the violations are
    logged (each line waits for halog)."""
    agents.env["JESAGENT_HALOG"] = str(script(tmp_path / "halog", "sleep 30\n"))
    values = {
        **core(server, ResLogLevel="LOUD", SecondLevelMonitor="x"),
        "MsgHost": ("not a host",),
    }
    outcome = agents.call("SunJESMsg", "monitor", "r", values, aep_timeout=6)
    assert outcome.code == 99
    assert outcome.seconds < 6


def test_a_log_file_nobody_reads_cannot_make_the_monitor_late(
    agents: Agents, server: StandInServer, tmp_path: Path
) -> None:
    """A FIFO without a reader as JESAGENT_LOG stands in for a log that cannot take a
    line: opening it used to wait for a reader forever, the watchdog's last line too."""
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    agents.env["JESAGENT_LOG"] = str(fifo)
    outcome = agents.call(
        "SunJESMsg", "monitor", "r", core(server, ResLogLevel="TRACE"), aep_timeout=8
    )
    assert outcome.code == 100
    assert outcome.seconds < 8
    assert "V-16-10000-3005" in outcome.output  # the verdict line went to standard error
