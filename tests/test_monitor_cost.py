"""The cheap monitor gives the same answers as the thorough one: the verified pid cache
falls back to the full look on any doubt, and the /proc scan reads what psutil reads."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jescore.policy import argv as vcs_argv
from jescore.policy.declaration import Config, Raw, validate
from jescore.policy.processes import ProcessInfo
from jescore.policy.registry import POLICIES
from jescore.policy.vcs import EntryPoint
from jescore.record import replace
from shell import cyclestate, procfs, proctable
from shell.engine import carry_out
from tests.fakesystem import FakeSystem, Scenario

MSG = POLICIES["SunJESMsg"]
VALUES: dict[str, Raw] = {
    "ServerRoot": ("/opt/msg",),
    "MsgHost": ("mail.example.com",),
    "MsgServices": ("imap", "143", "pop", "110"),
}


def config(values: dict[str, Raw]) -> Config:
    return validate(MSG.declaration, values).unwrap()


def monitor(system: FakeSystem, values: dict[str, Raw] = VALUES) -> int:
    argv = vcs_argv.render_v50(MSG.declaration, "r1", values, {"AEPTimeout": "30"})
    return carry_out("SunJESMsg", EntryPoint.MONITOR, argv, system)


def looks(system: FakeSystem, since: int = 0) -> list[str]:
    """Which looks the monitor took: 'cache' (the kept pids only) or 'full'."""
    return [str(op[1]) for op in system.ops[since:] if op[0] == "look"]


class Watching(FakeSystem):
    """The scripted system, noting each look at the process table."""

    def observe(self, watch, identify_limit):  # type: ignore[no-untyped-def]
        if watch.process_names:
            self.ops.append(("look", "cache" if watch.pids is not None else "full"))
        return super().observe(watch, identify_limit)


@pytest.fixture
def system() -> Watching:
    table = list(MSG.model_processes(config(VALUES), 1000))
    return Watching(MSG, config(VALUES), table, Scenario())


def test_a_running_resource_is_checked_on_its_own_pids(system: Watching) -> None:
    assert monitor(system) == 110
    assert looks(system) == ["full"]
    assert system.pids == ((1000, 1000.0), (1001, 1001.0))
    mark = len(system.ops)
    assert monitor(system) == 110
    assert looks(system, mark) == ["cache"]


def test_a_reused_pid_means_a_full_look(system: Watching) -> None:
    monitor(system)
    imapd = system.processes[0]
    system.processes[0] = replace(imapd, create_time=imapd.create_time + 5)  # same pid, later
    mark = len(system.ops)
    assert monitor(system) == 110  # it is running: the full look finds it
    assert looks(system, mark) == ["cache", "full"]
    assert system.pids is not None
    assert (1000, 1005.0) in system.pids  # the new identity is kept


def test_a_replaced_process_means_a_full_look(system: Watching) -> None:
    monitor(system)
    system.processes[0] = replace(system.processes[0], pid=4242)  # restarted under a new pid
    mark = len(system.ops)
    assert monitor(system) == 110
    assert looks(system, mark) == ["cache", "full"]


def test_a_stranger_on_a_cached_pid_means_a_full_look(system: Watching) -> None:
    monitor(system)
    system.processes[0] = replace(system.processes[0], name="bash", cmdline=("/bin/bash",))
    mark = len(system.ops)
    assert monitor(system) == 100  # imapd is gone: the stranger never counts
    assert looks(system, mark) == ["cache", "full"]
    assert system.pids == ()


def test_a_new_server_root_means_a_full_look(system: Watching) -> None:
    monitor(system)
    moved = {**VALUES, "ServerRoot": ("/opt/msg2",)}
    mark = len(system.ops)
    assert monitor(system, moved) == 100
    assert looks(system, mark) == ["cache", "full"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["kill", "reuse", "restart", "stranger", "nothing"]), max_size=6))
def test_the_cache_never_changes_an_answer(events: list[str]) -> None:
    cfg = config(VALUES)
    cached = Watching(MSG, cfg, list(MSG.model_processes(cfg, 1000)), Scenario())
    for step, event in enumerate(events):
        table = cached.processes
        if table and event != "nothing":
            victim = table[step % len(table)]
            if event == "kill":
                table.remove(victim)
            elif event == "reuse":
                table[table.index(victim)] = replace(victim, create_time=victim.create_time + 1)
            elif event == "restart":
                table[table.index(victim)] = replace(victim, pid=victim.pid + 5000)
            else:
                table[table.index(victim)] = replace(victim, name="sh", cmdline=("/bin/sh",))
        fresh = Watching(MSG, cfg, list(table), Scenario())
        assert monitor(cached) == monitor(fresh), events


def test_a_damaged_pid_cache_reads_as_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JESAGENT_STATE_DIR", str(tmp_path))
    assert cyclestate.save_pids("SunJESMsg", "r1", ((10, 1.5), (11, 2.25))) is None
    assert cyclestate.read_pids("SunJESMsg", "r1") == ((10, 1.5), (11, 2.25))
    target = Path(cyclestate.state_file("SunJESMsg", "r1", "pids"))
    for junk in ("10 x\n", "-1 2.0\n", "ten 2.0\n", "\x00\x01", "10\n"):
        target.write_text(junk)
        assert cyclestate.read_pids("SunJESMsg", "r1") is None, junk
    target.unlink()
    os.mkfifo(target)  # a FIFO planted there is never opened for a blocking read
    assert cyclestate.read_pids("SunJESMsg", "r1") is None
    target.unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("10 1.5\n")
    target.symlink_to(elsewhere)  # nor is a symlink followed
    assert cyclestate.read_pids("SunJESMsg", "r1") is None


# --- the /proc scan against psutil, on this machine's own processes ---------------------


@pytest.fixture
def odd_processes(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes with a long name, a relative program path, spaces in argv, a zombie."""
    long_name = tmp_path / "a_very_long_program_name"
    long_name.symlink_to("/bin/sleep")
    children = [
        subprocess.Popen([str(long_name), "300"]),
        subprocess.Popen(["./a_very_long_program_name", "301"], cwd=tmp_path),
        subprocess.Popen(["sleep", "302 with spaces"[:3]]),
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "x y"]),
        subprocess.Popen(["true"]),  # exits at once: a zombie until waited for
    ]
    time.sleep(0.3)
    yield children
    for child in children:
        child.kill()
        child.wait()


@pytest.mark.skipif(not procfs.AVAILABLE, reason="no Linux /proc here")
@pytest.mark.usefixtures("odd_processes")
def test_the_proc_scan_reads_what_psutil_reads() -> None:
    names = {"a_very_long_pro", "a_very_long_program_name", "sleep", "python3", "true", "bash"}
    for descendants in (False, True):
        for _ in range(3):  # the table moves under us: agree on one of a few tries
            fast = sorted(procfs.scan(names, descendants=descendants), key=lambda p: p.pid)
            slow = sorted(proctable.scan_psutil(names, descendants=descendants), key=pid_of)
            if fast == slow:
                break
        assert fast == slow
        assert any(p.zombie for p in fast)
        assert any(p.cwd for p in fast)
        assert any(p.name == "a_very_long_program_name" for p in fast)
    mine = os.getpid()
    assert procfs.scan({"python3", "python"}, pids=[mine]) == proctable.scan_psutil(
        {"python3", "python"}, pids=[mine]
    )


def pid_of(proc: ProcessInfo) -> int:
    return proc.pid
