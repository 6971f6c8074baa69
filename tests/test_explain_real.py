"""explain's prediction against the real thing: the installed entry points, called as VCS
calls them, on a stand-in Messaging Server, do what `jesagent explain` said they would:
the same commands, the same log messages in the same order, the same exit code."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from jescore.policy import argv as vcs_argv
from jescore.policy.declaration import Raw
from jescore.policy.registry import POLICIES
from jescore.policy.vcs import CleanReason, EntryPoint
from jescore.tooling import explain
from shell import explain as shell_explain
from stubs.msgserver import StandInServer, build_server_root
from stubs.vcscrypt import PasswordHelper
from tests.agentcalls import Agents

PASSWORD = "probe-secret"
MSG = POLICIES["SunJESMsg"].declaration
MSGID = re.compile(r" V-16-10000-(\d+) ")
RUNNING = re.compile(r":running (.*) \(limit [0-9]+ s\)$")
THRESHOLD = re.compile(r"=([0-9]+)\b")
OUTPUT = "4001"  # a program's own output: explain cannot know what it prints


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandInServer]:
    built = build_server_root(
        tmp_path / "msg", users={"probe": PASSWORD}, domain="jesagent.test", stop_timeout=5
    )
    yield built
    built.stop_all()


@pytest.fixture
def same_state(agents: Agents, monkeypatch: pytest.MonkeyPatch) -> Agents:
    """explain reads the cycle count where the agents keep it."""
    for name, value in agents.env.items():
        monkeypatch.setenv(name, value)
    return agents


def start(server: StandInServer, *names: str) -> None:
    subprocess.run([str(server.msstart), *names], check=True, capture_output=True, timeout=30)


def values(server: StandInServer, *services: str, **more: str) -> dict[str, Raw]:
    flat: list[str] = []
    for key in services:
        flat += [key, str(server.ports[key])]
    found: dict[str, Raw] = {
        "ServerRoot": (str(server.root),),
        "MsgHost": ("127.0.0.1",),
        "MsgServices": tuple(flat),
        "ServerType": ("MSG",),
        "ResLogLevel": ("TRACE",),
    }
    found.update({name: (value,) for name, value in more.items()})
    return found


def predicted_and_real(
    agents: Agents, entry: EntryPoint, attributes: dict[str, Raw]
) -> tuple[explain.Explanation, int, list[str]]:
    reason = CleanReason.MONITOR_HUNG if entry is EntryPoint.CLEAN else None
    engine = {"State": "2", "IState": "0", "AEPTimeout": "30"}
    argv = vcs_argv.render_v50(MSG, "res1", attributes, engine, reason)
    expl = shell_explain.explain_argv("SunJESMsg", entry, argv)
    outcome = agents.call_raw("SunJESMsg", entry.value, list(argv))
    return expl, outcome.code, outcome.lines


def messages(lines: list[str]) -> list[str]:
    found = [m.group(1) for m in (MSGID.search(line) for line in lines) if m]
    return [msgid for msgid in found if msgid != OUTPUT]


def commands_logged(lines: list[str]) -> list[str]:
    return [m.group(1) for m in (RUNNING.search(line) for line in lines) if m]


def agree(expl: explain.Explanation, code: int, lines: list[str]) -> None:
    assert expl.path is not None
    said = [s.text for s in expl.path.steps if s.kind == "log"]
    assert expl.path.exit_code == code, (said, lines)
    assert messages([f" {t.split(' ')[1]} " for t in said]) == messages(lines), (said, lines)
    runs = [" ".join(s.argv) for s in expl.path.steps if s.kind == "run"]
    real = commands_logged(lines)
    assert [THRESHOLD.sub("=N", r) for r in runs] == [THRESHOLD.sub("=N", r) for r in real]
    # A probe's threshold is its share of the time left: explain's clock stands still,
    # the real one has moved on a little.
    for expected, actual in zip(runs, real, strict=True):
        predicted = [int(n) for n in THRESHOLD.findall(expected)]
        performed = [int(n) for n in THRESHOLD.findall(actual)]
        for ahead, behind in zip(predicted, performed, strict=True):
            assert ahead - 1 <= behind <= ahead


def test_a_core_resource_through_its_life(same_state: Agents, server: StandInServer) -> None:
    core = values(server, "core", SecondLevelMonitor="1")
    for entry in (EntryPoint.MONITOR, EntryPoint.CLEAN, EntryPoint.OFFLINE, EntryPoint.ONLINE):
        expl, code, lines = predicted_and_real(same_state, entry, core)
        agree(expl, code, lines)
        if entry is EntryPoint.MONITOR:
            assert expl.exit_code == 100  # nothing runs: certain, whatever the outcomes
    assert all(server.pids(name) for name in ("stored", "imsched", "watcher"))
    for entry in (EntryPoint.MONITOR, EntryPoint.ONLINE, EntryPoint.OFFLINE):
        expl, code, lines = predicted_and_real(same_state, entry, core)
        agree(expl, code, lines)
    assert not server.pids("stored")


def test_a_synthetic_transaction_with_the_password_on_stdin(
    same_state: Agents, server: StandInServer, password_helper: PasswordHelper
) -> None:
    secret = password_helper.encrypt(PASSWORD)
    imap = values(
        server, "imap", SecondLevelMonitor="1", LDAPTestUser="probe", LDAPTestPasswd=secret
    )
    start(server, "store", "imap")
    expl, code, lines = predicted_and_real(same_state, EntryPoint.MONITOR, imap)
    agree(expl, code, lines)
    assert code == 110
    assert secret not in explain.render_text(expl)


def test_a_stuck_stop_is_predicted_when_told(same_state: Agents, server: StandInServer) -> None:
    pop = values(server, "pop")
    start(server, "store", "pop")
    server.inject("msstart.ignore-k")
    reason = CleanReason.MONITOR_HUNG
    argv = vcs_argv.render_v50(MSG, "res1", pop, {"AEPTimeout": "12"}, reason)
    stuck = shell_explain.read_given(["command=fails"])
    expl = shell_explain.explain_argv("SunJESMsg", EntryPoint.CLEAN, argv, stuck)
    outcome = same_state.call_raw("SunJESMsg", "clean", list(argv))
    assert outcome.code == expl.exit_code == 0
    assert expl.path is not None
    predicted = [(s.pid, s.signal) for s in expl.path.steps if s.kind == "signal"]
    sent = [line for line in outcome.lines if "sent SIGTERM" in line]
    assert [f"sent SIGTERM to pid {pid}" for pid, _ in predicted] == [
        line.split(":clean:", 1)[1].split(" (", 1)[0] for line in sent
    ]
