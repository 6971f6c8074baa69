"""make demo end to end (`python -m stubs.demo` in a subprocess), and the stand-in Directory
Server the demo falls back on when 389 is not installed, under the real SunJESLDAP agent."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from jescore.policy.declaration import Raw
from jescore.policy.vcs import CleanReason
from stubs.demo import leftovers
from stubs.demo_slapd import StandInDs, build_standin_ds
from stubs.demo_world import World
from stubs.dirsrv389 import pick_free_port
from stubs.vcsengine import Engine
from tests.agentcalls import Agents

REPO = Path(__file__).resolve().parent.parent
DEMO_LIMIT = 150.0  # seconds; the demo itself takes about one minute


def _templates(folder: Path) -> set[Path]:
    return set(folder.glob("ds389-tpl-*"))


@pytest.fixture
def demo_tmp() -> Iterator[Path]:
    """The demo's own temporary directory: what it leaves there is its alone, whatever
    other tests running beside it do. Open to all and short: the directory server runs as
    its own user, and its socket path must stay under 108 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="demo-", dir="/tmp"))
    folder.chmod(0o755)  # the directory server's user must enter it
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _run_demo(folder: Path) -> tuple[int, str]:
    """Run the demo; past the limit, SIGTERM it (it cleans up), then SIGKILL its group."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TMPDIR"] = str(folder)
    proc = subprocess.Popen(
        [sys.executable, "-m", "stubs.demo"],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
    try:
        out, _ = proc.communicate(timeout=DEMO_LIMIT)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        pytest.fail(f"the demo did not finish within {DEMO_LIMIT} s:\n{out.decode()[-4000:]}")
    return proc.returncode, out.decode("utf-8", "replace")


def test_the_demo_tells_the_whole_story_and_leaves_nothing_behind(demo_tmp: Path) -> None:
    started = time.monotonic()
    code, out = _run_demo(demo_tmp)
    took = time.monotonic() - started
    found = re.search(r"\$D below is the demo's temporary directory, (\S+)\.", out)
    assert found, out[-4000:]
    work = Path(found.group(1))
    # Nothing left running or on disk, whatever the outcome.
    assert leftovers(work) == []
    assert not work.exists()
    assert work.parent == demo_tmp
    assert not _templates(demo_tmp)
    assert not list(demo_tmp.iterdir())
    assert code == 0, out[-6000:]
    assert "\x1b[" not in out  # piped: no colour
    story = [
        "=== 1. Everything online, in dependency order",
        "check: dir_sg was wholly online before any resource of the groups that need it",
        "=== 2. imapd is killed",
        "store_sg/store_access    monitor -> 100 offline",
        "store_sg/store_access    clean(4: the resource went offline unexpectedly) -> 0",
        "local restart 1 of 2",
        "=== 3. The message store stops being ready",
        "message store check (stored -t -v) failed",
        "store_sg/store_core      clean(4: the resource went offline unexpectedly) -> 0",
        "=== 4. IMAP stops answering (a hung probe)",
        "[first level only]",
        "immonitor-access -u vcsprobe -I 127.0.0.1:",
        "local restart 2 of 2",
        "timing: that monitor took",
        "=== 5. Switch the message store group to the standby node, and back",
        "switch node2 -> node4",
        "switch node4 -> node2",
        "=== 6. The agent's own IMAP probe (NativeProbes = 1)",
        "answered (connect",
        "failed at LOGIN after",
        "=== 7. Everything offline",
        "hastatus -sum (everything offline)",
        "demo: every step behaved as the story says",
        "nothing left running",
    ]
    position = 0
    for line in story:
        at = out.find(line, position)
        assert at >= 0, f"missing, or out of order: {line!r}\n{out[-6000:]}"
        position = at
    # The demo's own failure marks; a server's words (Dovecot's AUTHENTICATIONFAILED) aside.
    assert not re.search(r"\.\.\. FAILED|FAILED in |FAILED: ", out)
    assert "Traceback" not in out
    assert "LDAPTestPasswd 1 ****" in out  # the argument vector is shown, the password not
    assert "probe-demo-secret" not in out
    assert took < DEMO_LIMIT


# --- the stand-in Directory Server ------------------------------------------------------


@pytest.fixture
def standin_ds(tmp_path: Path) -> Iterator[StandInDs]:
    ds = build_standin_ds(tmp_path / "serverroot", port=pick_free_port())
    yield ds
    ds.stop_all()


def _ldap(ds: StandInDs) -> dict[str, Raw]:
    return {
        "InstanceRoot": (str(ds.instance_root),),
        "LDAPHost": ("127.0.0.1",),
        "LDAPPort": (str(ds.port),),
        "SecondLevelMonitor": ("0",),
        "ResLogLevel": ("TRACE",),
    }


def test_the_standin_directory_server_looks_like_ns_slapd(standin_ds: StandInDs) -> None:
    start = subprocess.run(
        [str(standin_ds.instance_root / "start-slapd")], capture_output=True, check=False
    )
    assert start.returncode == 0, start.stderr
    (pid,) = standin_ds.pids()
    proc = psutil.Process(pid)
    assert proc.name() == "ns-slapd"
    assert proc.cmdline() == [
        "ns-slapd", "-D", str(standin_ds.instance_root), "-i", str(standin_ds.pid_file),
    ]  # fmt: skip
    assert standin_ds.pid_file.read_text().strip() == str(pid)
    again = subprocess.run(
        [str(standin_ds.instance_root / "start-slapd")], capture_output=True, check=False
    )
    assert again.returncode == 2  # already running, as Sun's script says
    stop = subprocess.run(
        [str(standin_ds.instance_root / "stop-slapd")], capture_output=True, check=False
    )
    assert stop.returncode == 0
    assert standin_ds.pids() == []
    assert standin_ds.pid_file.exists()  # left behind, like the real server's


def test_the_ldap_agent_drives_the_standin_directory_server(
    agents: Agents, standin_ds: StandInDs
) -> None:
    values = _ldap(standin_ds)
    assert agents.call("SunJESLDAP", "monitor", "dir_ldap", values).code == 100
    online = agents.call("SunJESLDAP", "online", "dir_ldap", values, aep_timeout=30)
    assert online.code == 0, online.lines
    assert standin_ds.pids()
    assert agents.call("SunJESLDAP", "monitor", "dir_ldap", values).code == 110
    offline = agents.call("SunJESLDAP", "offline", "dir_ldap", values, aep_timeout=30)
    assert offline.code == 0, offline.lines
    assert standin_ds.pids() == []
    assert agents.call("SunJESLDAP", "monitor", "dir_ldap", values).code == 100
    agents.call("SunJESLDAP", "online", "dir_ldap", values, aep_timeout=30)
    clean = agents.call("SunJESLDAP", "clean", "dir_ldap", values, reason=CleanReason.MONITOR_HUNG)
    assert clean.code == 0, clean.lines
    assert standin_ds.pids() == []


# --- the world without 389 and without a fully qualified MTA host -----------------------


def test_the_fallback_world_runs_under_the_engine(tmp_path: Path) -> None:
    """What a newcomer without 389 or /etc/hosts entry gets: configuration 2 on the stand-in
    Directory Server, the MTA group on sms; online and offline in virtual time."""
    world = World(tmp_path / "work", use_389=False, use_fqdn=False)
    try:
        dep = world.build()
        assert not dep.installs.real_389
        mta = dep.config.group("mta_sg")
        assert mta is not None
        smtp = mta.resource("mta_smtp")
        assert smtp is not None
        assert smtp.values["MsgServices"][0] == "sms"
        ldap = dep.config.group("dir_sg")
        assert ldap is not None
        dir_ldap = ldap.resource("dir_ldap")
        assert dir_ldap is not None
        assert dir_ldap.values["SecondLevelMonitor"] == ("0",)
        assert "SSLDbPasswd" not in dir_ldap.values
        with Engine(dep.config, env=dep.env) as engine:
            states = engine.online_all()
            assert set(states.values()) == {"ONLINE"}, engine.event_lines()
            assert dep.installs.ds.pids()
            assert dep.installs.mta.pids("sms_gateway")
            states = engine.offline_all()
            assert set(states.values()) == {"OFFLINE"}, engine.event_lines()
            assert not dep.installs.ds.pids()
            assert not any(e.timed_out for e in engine.calls())
    finally:
        assert world.close() == []
    assert leftovers(tmp_path / "work") == []
