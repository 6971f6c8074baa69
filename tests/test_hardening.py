"""Regression tests for what an independent review found (time budgets, leaks, misreadings),
and the state directory under hostile conditions."""

from __future__ import annotations

import contextlib
import os
import subprocess
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
from tests.agentcalls import Agents, Outcome


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


@pytest.mark.parametrize("sink", ["halog refuses", "no such directory", "a directory", "full"])
def test_a_log_that_refuses_a_line_passes_it_on(
    agents: Agents, server: StandInServer, tmp_path: Path, sink: str
) -> None:
    """Each route that cannot take a line hands it to the next (halog, the log file,
    standard error): never lost, never late, no traceback."""
    file_route = tmp_path / "agent.log"
    if sink == "halog refuses":  # halog answers, but with a failure
        agents.env["JESAGENT_HALOG"] = str(script(tmp_path / "halog", "exit 1\n"))
    elif sink == "no such directory":
        file_route = tmp_path / "gone" / "agent.log"
    elif sink == "a directory":
        file_route = tmp_path / "logs"
        file_route.mkdir()
    else:
        file_route = Path("/dev/full")  # every write fails: no space left
    agents.env["JESAGENT_LOG"] = str(file_route)
    outcome = agents.call("SunJESMsg", "monitor", "r", core(server), aep_timeout=8)
    assert outcome.code == 100
    assert outcome.seconds < 8
    assert "Traceback" not in outcome.output
    if sink == "halog refuses":
        assert "V-16-10000-3005" in file_route.read_text()  # the log file took it
    else:
        assert "V-16-10000-3005" in outcome.output  # standard error took it
        assert not (tmp_path / "gone").exists()  # no directory made for a log


# --- the state directory: missing, full, or holding what was planted there --------------
# Everything a monitor keeps (the cycle count, the last verdict, the pid cache) lives in
# the state directory; whatever happens to it, the monitor answers in time and nothing
# outside the directory is written or followed.

STATE_KINDS = ("cycle", "verdict", "pids")
PLANTED = ("symlink to a file", "symlink to a directory", "fifo", "huge file", "junk", "directory")


def plant(target: Path, kind: str, outside: Path) -> None:
    if kind == "symlink to a file":
        target.symlink_to(outside / "victim")
    elif kind == "symlink to a directory":
        target.symlink_to(outside)
    elif kind == "fifo":
        os.mkfifo(target)  # a blocking open would wait forever for a writer
    elif kind == "huge file":
        with target.open("wb") as handle:  # digits, then 64 MiB of hole
            handle.write(b"9" * 40)
            handle.truncate(64 << 20)
    elif kind == "junk":
        target.write_bytes(b"\x00\xff-1 2\n\x80" * 8)
    else:
        target.mkdir()
        (target / "inside").write_text("left alone\n")


def tree(root: Path) -> dict[str, tuple[str, int, bytes]]:
    """Every entry under root: its kind, its mtime, and a regular file's contents."""
    found: dict[str, tuple[str, int, bytes]] = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        kind = "dir" if path.is_dir() else "file" if path.is_file() else "other"
        body = path.read_bytes() if kind == "file" else b""
        found[str(path.relative_to(root))] = (kind, info.st_mtime_ns, body)
    return found


def second_levels(outcomes: list[Outcome]) -> list[bool]:
    """Whether each monitor ran its second level and saw it pass (at ResLogLevel TRACE
    every monitor logs what it did)."""
    return [o.logged("second level passed") for o in outcomes]


@pytest.mark.parametrize("kind", PLANTED)
def test_whatever_is_planted_in_the_state_directory_the_monitor_answers(
    agents: Agents, server: StandInServer, tmp_path: Path, kind: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("precious\n")
    values = core(server, SecondLevelMonitor="2", ResLogLevel="TRACE")
    assert agents.call("SunJESMsg", "online", "r", values).code == 0
    agents.state.mkdir(exist_ok=True)
    for what in STATE_KINDS:
        plant(agents.state / f"SunJESMsg.r.{what}", kind, outside)
    before = tree(outside)
    outcomes = [agents.call("SunJESMsg", "monitor", "r", values, aep_timeout=8) for _ in range(4)]
    assert [o.code for o in outcomes] == [110] * 4
    assert max(o.seconds for o in outcomes) < 8
    assert tree(outside) == before  # nothing outside written, nothing followed
    assert not list(agents.state.glob(".cycle-*"))  # no temporary file left
    if kind == "directory":  # cannot be replaced: the count is never kept, so the deep
        assert second_levels(outcomes) == [True] * 4  # check runs on every cycle
        assert all(o.logged("cannot save the monitor cycle count") for o in outcomes)
        assert (agents.state / "SunJESMsg.r.cycle" / "inside").read_text() == "left alone\n"
    else:  # read as nothing, then replaced by the monitor's own files: the rhythm holds
        assert second_levels(outcomes) == [False, True, False, True]
        for what in STATE_KINDS:
            kept = agents.state / f"SunJESMsg.r.{what}"
            assert kept.is_file() and not kept.is_symlink()
            assert kept.stat().st_mode & 0o077 == 0  # the owner's alone


def test_a_missing_state_directory_is_made_for_its_owner_alone(
    agents: Agents, server: StandInServer
) -> None:
    agents.env["JESAGENT_STATE_DIR"] = str(agents.state / "not" / "there" / "yet")
    values = core(server, SecondLevelMonitor="2", ResLogLevel="TRACE")
    agents.call("SunJESMsg", "online", "r", values)
    outcomes = [agents.call("SunJESMsg", "monitor", "r", values) for _ in range(3)]
    assert [o.code for o in outcomes] == [110] * 3
    assert second_levels(outcomes) == [False, True, False]
    made = agents.state / "not" / "there" / "yet"
    assert (made / "SunJESMsg.r.cycle").read_text() == "1\n"
    assert made.stat().st_mode & 0o777 == 0o700


@pytest.fixture
def full_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs filled to the last byte (root only: mounting needs it)."""
    where = tmp_path / "small"
    where.mkdir()
    if os.geteuid() != 0:
        message = "mounting a small tmpfs needs root"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}, and CI runs as root")
        pytest.skip(message)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs as root: {mounted.stderr.strip()}")
    try:
        (where / "state").mkdir(mode=0o700)
        with (where / "filler").open("wb", buffering=0) as handle, contextlib.suppress(OSError):
            while True:  # until the filesystem says it is full
                handle.write(b"\0" * 4096)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_state_directory_costs_a_warning_never_the_monitor(
    agents: Agents, server: StandInServer, full_filesystem: Path
) -> None:
    state = full_filesystem / "state"
    agents.env["JESAGENT_STATE_DIR"] = str(state)
    values = core(server, SecondLevelMonitor="3", ResLogLevel="TRACE")
    agents.call("SunJESMsg", "online", "r", values)
    outcomes = [agents.call("SunJESMsg", "monitor", "r", values, aep_timeout=8) for _ in range(3)]
    assert [o.code for o in outcomes] == [110] * 3
    assert second_levels(outcomes) == [True] * 3  # the deep check is never switched off
    assert all(o.logged("No space left on device") for o in outcomes)
    assert list(state.iterdir()) == []  # no half-written file, no temporary file
