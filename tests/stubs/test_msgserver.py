"""The stand-in Messaging Server behaves like the real one where the agent looks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path

import psutil
import pytest

from stubs.msg_common import (
    CHILD_PROGRAMS,
    DAEMONS,
    ORPHAN_FAULT,
    PROGRAMS,
    find_root_processes,
    wait_gone,
)
from stubs.msgserver import StandInServer, build_server_root

# The agent may run the tools from anywhere, with almost no environment.
REPO = Path(__file__).resolve().parents[2]
MINIMAL_ENV = {"PATH": "/usr/bin:/bin"}
PASSWORD = "probe-secret"
CORE = ("watcher", "stored", "imsched")
MSG_STARTED = (*CORE, "enpd", "imapd", "popd", "mshttpd", "dispatcher", "job_controller")
# (parent daemon, child program) pairs of the MTA.
MTA_CHILDREN = [(parent, child) for parent, kids in CHILD_PROGRAMS.items() for child in kids]


def run(
    cmd: Sequence[str | Path], *, stdin: str = "", timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    # capture_output also proves the daemons let go of the caller's pipes: otherwise
    # run() would wait for them and time out.
    return subprocess.run(
        [str(c) for c in cmd],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
        env=MINIMAL_ENV,
        check=False,
    )


def eventually(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def msstart(server: StandInServer, *names: str) -> subprocess.CompletedProcess[str]:
    return run([server.msstart, *names])


def monitor(
    server: StandInServer, user: str, *flags: str, password: str = PASSWORD
) -> subprocess.CompletedProcess[str]:
    return run([server.immonitor_access, "-u", user, *flags, "-w", "-"], stdin=f"{password}\n")


def target(server: StandInServer, key: str, threshold: float = 5.0) -> str:
    return f"127.0.0.1:{server.ports[key]}={threshold:g}"


def assert_nothing_left(server: StandInServer) -> None:
    assert find_root_processes(server.root) == []
    for name in (*DAEMONS, *PROGRAMS):
        assert server.pids(name) == []


def make_server(root: Path, server_type: str = "MSG") -> StandInServer:
    return build_server_root(root, store_ready_delay=0.2, stop_timeout=1.0, server_type=server_type)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInServer]:
    """One stand-in with every MSG service up, shared by the tests that only look."""
    server = make_server(tmp_path_factory.mktemp("msg-running") / "root")
    try:
        done = msstart(server, "store", "sched", "ens", "imap", "pop", "http", "smtp")
        assert done.returncode == 0, done.stdout + done.stderr
        yield server
    finally:
        server.stop_all()
        assert_nothing_left(server)


@pytest.fixture
def msg(tmp_path: Path) -> Iterator[StandInServer]:
    """A fresh stand-in with nothing running, for the tests that break things."""
    server = make_server(tmp_path / "root")
    try:
        yield server
    finally:
        server.stop_all()
        assert_nothing_left(server)


# --- starting -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", MSG_STARTED)
def test_daemon_has_real_argv0_and_name(running: StandInServer, name: str) -> None:
    pids = running.pids(name)
    assert len(pids) == 1
    proc = psutil.Process(pids[0])
    assert proc.cmdline()[0] == str(running.root / "lib" / name)
    assert proc.name() == name
    assert proc.ppid() != os.getpid()  # detached, not our child
    assert os.readlink(f"/proc/{pids[0]}/fd/0") == os.devnull
    assert (running.root / "data/proc" / f"{name}.pid").read_text().strip() == str(pids[0])


def test_start_is_idempotent(running: StandInServer) -> None:
    before = {name: running.pids(name) for name in CORE}
    done = msstart(running, "store", "sched")
    assert done.returncode == 0
    assert "already running" in done.stdout
    assert {name: running.pids(name) for name in CORE} == before


def test_core_start_reports_store_ready(msg: StandInServer) -> None:
    done = msstart(msg, "store", "sched")
    assert done.returncode == 0, done.stderr
    assert "checking store server status ... ready" in done.stdout
    for name in CORE:
        assert len(msg.pids(name)) == 1
    assert msg.store_state() == "ready"


def test_imap_refuses_without_store(msg: StandInServer) -> None:
    done = msstart(msg, "imap")
    assert done.returncode == 1
    assert "store" in done.stdout
    assert msg.pids("imapd") == []


def test_imap_refuses_while_store_not_ready(msg: StandInServer) -> None:
    assert msstart(msg, "store").returncode == 0
    msg.inject("stored.notready")
    assert eventually(lambda: msg.store_state() == "init")
    done = msstart(msg, "imap", "http")
    assert done.returncode == 1
    assert done.stdout.count("not running or not ready") == 2
    assert msg.pids("imapd") == msg.pids("mshttpd") == []
    msg.clear("stored.notready")
    assert msstart(msg, "imap").returncode == 0
    assert len(msg.pids("imapd")) == 1


def test_daemon_binary_run_directly(msg: StandInServer) -> None:
    assert run([msg.daemon_path("enpd"), "-d", "5"]).returncode == 0
    assert len(msg.pids("enpd")) == 1
    second = run([msg.daemon_path("enpd")])  # the port is taken by the first one
    assert second.returncode == 1
    assert "cannot listen" in second.stderr
    assert len(msg.pids("enpd")) == 1


def test_unknown_service_name(msg: StandInServer) -> None:
    done = msstart(msg, "store", "bogus")
    assert done.returncode == 2
    assert "bogus" in done.stderr
    assert msg.pids("stored") == []


# --- stored -t -v -------------------------------------------------------------------------


def test_stored_status_follows_notready(running: StandInServer) -> None:
    assert run([running.stored, "-t", "-v"]).returncode == 0
    try:
        running.inject("stored.notready")
        failed = run([running.stored, "-t", "-v"])
        assert failed.returncode != 0
        assert "not ready" in failed.stderr
        assert eventually(lambda: running.store_state() == "init")
    finally:
        running.clear("stored.notready")
    assert eventually(lambda: run([running.stored, "-tv"]).returncode == 0)
    assert running.store_state() == "ready"


def test_stored_status_when_not_running(msg: StandInServer) -> None:
    done = run([msg.stored, "-t", "-v"])
    assert done.returncode != 0
    assert "not running" in done.stderr


# --- immonitor-access ---------------------------------------------------------------------


def test_immonitor_passes_with_password_on_stdin(running: StandInServer) -> None:
    flags = ["-I", target(running, "imap"), "-P", target(running, "pop")]
    done = monitor(running, "probe", *flags, "-H", target(running, "http"))
    assert done.returncode == 0, done.stderr
    for label, key in (("IMAP", "imap"), ("POP", "pop"), ("HTTP", "http")):
        assert f"{label} statistics for: 127.0.0.1:{running.ports[key]}" in done.stdout
        assert f"Total {label} time = " in done.stdout
    for line in ("Connect Time: ", "Greeting Time: ", "LOGIN Time: ", "LOGOUT Time: "):
        assert done.stdout.count(line) == 3
    assert PASSWORD not in done.stdout + done.stderr


def test_immonitor_fails_with_wrong_password(running: StandInServer) -> None:
    flags = ["-I", target(running, "imap"), "-P", target(running, "pop")]
    done = monitor(running, "probe", *flags, "-H", target(running, "http"), password="wrong")
    assert done.returncode == 1
    reasons = done.stderr.splitlines()
    assert len(reasons) == 3
    assert all(": LOGIN failed: " in reason for reason in reasons)


def test_immonitor_hosted_user_and_host_name(running: StandInServer) -> None:
    imap = f"localhost:{running.ports['imap']}=5"
    assert monitor(running, f"probe@{running.domain}", "-I", imap).returncode == 0
    assert monitor(running, "probe@elsewhere.org", "-I", imap).returncode == 1


def test_immonitor_smtp_and_lmtp(running: StandInServer) -> None:
    flags = ["-S", target(running, "smtp"), "-C", target(running, "lmtp")]
    assert monitor(running, f"probe@{running.domain}", *flags).returncode == 0
    for address in (f"nobody@{running.domain}", "probe@elsewhere.org"):
        done = monitor(running, address, *flags)
        assert done.returncode == 1
        assert done.stderr.count("RCPT TO refused") == 2


def test_immonitor_refused_port(msg: StandInServer) -> None:
    done = monitor(msg, "probe", "-I", target(msg, "imap"))
    assert done.returncode == 1
    assert "refused" in done.stderr


@pytest.mark.parametrize(
    ("daemon", "flag", "key"),
    [("imapd", "-I", "imap"), ("mshttpd", "-H", "http"), ("dispatcher", "-S", "smtp")],
)
def test_hang_fault_times_out_and_toggles(
    running: StandInServer, daemon: str, flag: str, key: str
) -> None:
    user = f"probe@{running.domain}" if key == "smtp" else "probe"
    try:
        running.inject(f"{daemon}.hang")
        started = time.monotonic()
        done = monitor(running, user, flag, target(running, key, 0.5))
        assert done.returncode == 1
        assert "timed out" in done.stderr
        assert time.monotonic() - started < 3.0
    finally:
        running.clear(f"{daemon}.hang")
    assert monitor(running, user, flag, target(running, key, 5)).returncode == 0


def test_ssl_and_silent_ports_accept(running: StandInServer) -> None:
    for key in ("imaps", "pops", "https", "core", "ens"):
        with socket.create_connection(("127.0.0.1", running.ports[key]), timeout=2):
            pass


# --- configutil ---------------------------------------------------------------------------


def test_configutil_get_set(running: StandInServer) -> None:
    tool = running.configutil
    assert run([tool, "-o", "service.imap.maxsessions"]).stdout == "4000\n"
    assert run([tool, "-o", "local.watcher.enable"]).stdout == "yes\n"
    assert run([tool, "-o", "local.autorestart"]).stdout == "no\n"
    unset = run([tool, "-o", "local.stub.test"])
    assert (unset.returncode, unset.stdout) == (1, "\n")
    assert run([tool, "-o", "local.stub.test", "-v", "42"]).stdout == "OK SET\n"
    assert run([tool, "-o", "local.stub.test"]).stdout == "42\n"
    assert running.config()["service.http.port"] == str(running.ports["http"])


# --- stopping and faults ------------------------------------------------------------------


def test_msstart_k_stops(msg: StandInServer) -> None:
    assert msstart(msg, "store", "sched", "imap").returncode == 0
    imapd = msg.pids("imapd")
    started = time.monotonic()
    done = msstart(msg, "-k", "imap")
    assert done.returncode == 0
    assert "stopping imapd ... done" in done.stdout
    assert msg.pids("imapd") == []
    assert all(not psutil.pid_exists(p) or psutil.Process(p).status() == "zombie" for p in imapd)
    assert len(msg.pids("stored")) == 1
    assert msstart(msg, "-k", "sched", "store", "watcher").returncode == 0
    assert time.monotonic() - started < 5.0
    for name in CORE:
        assert msg.pids(name) == []
    again = msstart(msg, "-k", "sched", "store", "watcher")
    assert again.returncode == 0
    assert "not running" in again.stdout


def test_sigterm_is_prompt(msg: StandInServer) -> None:
    assert msstart(msg, "ens").returncode == 0
    (pid,) = msg.kill("enpd", signal.SIGTERM)
    started = time.monotonic()
    assert wait_gone([pid], timeout=2.0) == []
    assert time.monotonic() - started < 0.5
    assert msg.pids("enpd") == []


def test_ignore_term_fault(msg: StandInServer) -> None:
    assert msstart(msg, "watcher").returncode == 0
    msg.inject("watcher.ignore-term")
    done = msstart(msg, "-k", "watcher")
    assert done.returncode == 1
    assert "failed" in done.stdout
    assert len(msg.pids("watcher")) == 1
    msg.clear("watcher.ignore-term")
    assert msstart(msg, "-k", "watcher").returncode == 0
    assert msg.pids("watcher") == []


def test_ignore_k_fault(msg: StandInServer) -> None:
    assert msstart(msg, "ens").returncode == 0
    msg.inject("msstart.ignore-k")
    assert msstart(msg, "-k", "ens").returncode == 0
    assert len(msg.pids("enpd")) == 1
    msg.clear("msstart.ignore-k")
    assert msstart(msg, "-k", "ens").returncode == 0
    assert msg.pids("enpd") == []


def test_msstart_hang_fault(msg: StandInServer) -> None:
    msg.inject("msstart.hang")
    with pytest.raises(subprocess.TimeoutExpired):
        run([msg.msstart, "store"], timeout=0.5)
    assert msg.pids("stored") == []


def test_nostart_fault(msg: StandInServer) -> None:
    msg.inject("imsched.nostart")
    done = msstart(msg, "store", "sched")
    assert done.returncode == 1
    assert "starting imsched ... failed" in done.stdout
    assert msg.pids("imsched") == []
    assert len(msg.pids("stored")) == 1


def test_kill_counts_zombies_as_gone(msg: StandInServer) -> None:
    assert msstart(msg, "store").returncode == 0
    killed = msg.kill("stored")
    assert len(killed) == 1
    assert eventually(lambda: msg.pids("stored") == [], timeout=2.0)
    done = run([msg.stored, "-t", "-v"])
    assert done.returncode != 0
    assert "not running" in done.stderr
    # The stale state file is left behind, as after a real crash.
    assert msg.store_state() == "ready"
    assert msstart(msg, "store").returncode == 0


def test_stop_all_leaves_nothing(msg: StandInServer) -> None:
    assert msstart(msg, "store", "sched", "ens", "sms", "snmp", "smtp").returncode == 0
    msg.inject("msstart.hang")
    msg.inject("stored.ignore-term")
    hung = subprocess.Popen(
        [str(msg.msstart), "imap"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert eventually(lambda: hung.pid in find_root_processes(msg.root))
        msg.stop_all()
        assert_nothing_left(msg)
    finally:
        hung.kill()
        hung.wait()


# --- the MTA's child programs -------------------------------------------------------------


def mta_children(server: StandInServer) -> dict[str, list[int]]:
    return {name: server.pids(name) for name in PROGRAMS}


def all_gone(pids: Sequence[int]) -> bool:
    """Gone for good: not even a zombie left to reap."""
    return not any(psutil.pid_exists(pid) for pid in pids)


def test_mta_child_programs_are_known() -> None:
    assert set(PROGRAMS) == {"tcp_smtp_server", "tcp_lmtp_server", "tcp_smtp_client"}
    assert ORPHAN_FAULT == "smtp.orphan-workers"


@pytest.mark.parametrize(("parent", "child"), MTA_CHILDREN)
def test_child_program_runs_under_its_daemon(
    running: StandInServer, parent: str, child: str
) -> None:
    (ppid,) = running.pids(parent)
    (pid,) = running.pids(child)
    proc = psutil.Process(pid)
    assert proc.cmdline() == [str(running.root / "lib" / child)]
    assert Path(f"/proc/{pid}/comm").read_text() == f"{child}\n"
    assert proc.name() == child
    assert proc.ppid() == ppid
    assert pid in [kid.pid for kid in psutil.Process(ppid).children()]
    assert os.readlink(f"/proc/{pid}/fd/0") == os.devnull
    # The children hold none of the daemon's listeners, so only the daemon answers.
    assert not [c for c in proc.net_connections() if c.status == psutil.CONN_LISTEN]


def test_msstart_k_smtp_takes_the_children_along(msg: StandInServer) -> None:
    assert msstart(msg, "smtp").returncode == 0
    children = mta_children(msg)
    assert all(len(pids) == 1 for pids in children.values()), children
    done = msstart(msg, "-k", "smtp")
    assert done.returncode == 0, done.stdout
    # Gone (and reaped by their parent) by the time msstart returns.
    assert all_gone([pid for pids in children.values() for pid in pids])
    assert mta_children(msg) == {name: [] for name in PROGRAMS}


def test_children_follow_a_killed_daemon(msg: StandInServer) -> None:
    assert msstart(msg, "smtp").returncode == 0
    children = [pid for pids in mta_children(msg).values() for pid in pids]
    msg.kill("dispatcher")
    msg.kill("job_controller")
    assert wait_gone(children, timeout=3.0) == []


def test_sigterm_to_a_child_is_reaped(msg: StandInServer) -> None:
    assert msstart(msg, "smtp").returncode == 0
    (pid,) = msg.kill("tcp_smtp_server", signal.SIGTERM)
    assert eventually(lambda: all_gone([pid]))  # no zombie left under the dispatcher
    assert len(msg.pids("dispatcher")) == 1
    assert msstart(msg, "-k", "smtp").returncode == 0


def reparented(pid: int, old_parent: int) -> bool:
    return psutil.Process(pid).ppid() != old_parent


def test_orphan_workers_fault(msg: StandInServer) -> None:
    assert msstart(msg, "smtp").returncode == 0
    parents = {name: msg.pids(name)[0] for name in CHILD_PROGRAMS}
    children = mta_children(msg)
    msg.inject(ORPHAN_FAULT)  # read when the parent exits: works on a running MTA
    done = msstart(msg, "-k", "smtp")
    assert done.returncode == 0, done.stdout
    assert msg.pids("dispatcher") == msg.pids("job_controller") == []
    assert mta_children(msg) == children
    for parent, child in MTA_CHILDREN:
        (pid,) = children[child]
        # Reparented (to init, or to a subreaper), still running under its own name.
        assert eventually(partial(reparented, pid, parents[parent]))
        assert psutil.Process(pid).cmdline() == [str(msg.root / "lib" / child)]
    # The orphans hold no port: the MTA starts again beside them and answers.
    assert msstart(msg, "smtp").returncode == 0
    flags = ["-S", target(msg, "smtp"), "-C", target(msg, "lmtp")]
    assert monitor(msg, f"probe@{msg.domain}", *flags).returncode == 0
    assert all(len(pids) == 2 for pids in mta_children(msg).values())
    orphans = [pid for pids in children.values() for pid in pids]
    for name in PROGRAMS:
        msg.kill(name, signal.SIGTERM)
    assert wait_gone(orphans, timeout=2.0) == []
    # The fresh children were SIGTERMed too; the daemons reap them.
    assert eventually(lambda: mta_children(msg) == {name: [] for name in PROGRAMS})
    assert msstart(msg, "-k", "smtp").returncode == 0


def test_stop_all_takes_orphans(msg: StandInServer) -> None:
    msg.inject(ORPHAN_FAULT)
    assert msstart(msg, "smtp").returncode == 0
    msg.kill("dispatcher")  # SIGKILL: the workers stay, orphaned
    assert len(msg.pids("tcp_smtp_server")) == 1
    msg.stop_all()
    assert_nothing_left(msg)


def test_child_program_refuses_to_run_alone(msg: StandInServer) -> None:
    done = run([msg.daemon_path("tcp_smtp_server")])
    assert done.returncode == 1
    assert "dispatcher" in done.stderr
    assert msg.pids("tcp_smtp_server") == []


def test_unknown_name_is_rejected(msg: StandInServer) -> None:
    with pytest.raises(ValueError, match="unknown daemon"):
        msg.pids("tcp_bogus_server")


# --- MMP and the command line -------------------------------------------------------------


def test_mmp_aservice(tmp_path: Path) -> None:
    server = make_server(tmp_path / "mmp", server_type="MMP")
    try:
        assert set(server.ports) == {"imap", "imaps", "pop", "pops"}
        assert msstart(server, "mmp").returncode == 0
        (pid,) = server.pids("AService")
        proc = psutil.Process(pid)
        assert (proc.name(), proc.cmdline()[0]) == ("AService", str(server.root / "lib/AService"))
        flags = ["-I", target(server, "imap"), "-P", target(server, "pop")]
        assert monitor(server, "probe", *flags).returncode == 0
        with socket.create_connection(("127.0.0.1", server.ports["pops"]), timeout=2):
            pass
        assert msstart(server, "-k", "mmp").returncode == 0
        assert server.pids("AService") == []
    finally:
        server.stop_all()
        assert_nothing_left(server)


def test_cli_build_prints_summary(tmp_path: Path) -> None:
    root = tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "stubs.msgserver", "build", str(root), "--type", "MMP"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        check=True,
    )
    summary = json.loads(done.stdout)
    assert summary["root"] == str(root)
    assert summary["type"] == "MMP"
    assert summary["users"] == ["probe"]
    assert set(summary["ports"]) == {"imap", "imaps", "pop", "pops"}
    assert PASSWORD not in done.stdout
    assert (root / "lib" / "msstart").stat().st_mode & 0o111


def test_unknown_fault_is_rejected(msg: StandInServer) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        msg.inject("imapd.explode")
