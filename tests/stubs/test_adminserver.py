"""The stand-in Administration Server looks and behaves like the real one to an agent."""

from __future__ import annotations

import base64
import http.client
import importlib.util
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from stubs.adminserver import (
    ADMCONFIG_TIMEOUT,
    FAULT_LISTENER_HANG,
    FAULT_SERVER_DIE,
    FAULT_WATCHDOG_DIE,
    FAULTS,
    SERVER,
    WATCHDOG,
    StandInAdmin,
    admconfig_main,
    build_admin_root,
    make_self_signed,
)

SSL_DB_PASSWORD = "db-secret"


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def alive(pid: int | None) -> bool:
    """Zombies count as gone: PID 1 here reaps orphans only every few seconds."""
    if pid is None:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def started(admin: StandInAdmin) -> StandInAdmin:
    result = admin.start()
    assert result.returncode == 0, result
    assert "Server started successfully" in result.stdout
    return admin


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[StandInAdmin]:
    """A built, not yet started stand-in; every process it ever ran is killed afterwards."""
    admin = build_admin_root(tmp_path / "root")
    try:
        yield admin
    finally:
        admin.stop_all()


@pytest.fixture
def running(fresh: StandInAdmin) -> StandInAdmin:
    return started(fresh)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInAdmin]:
    """One running plain server for the read-only tests."""
    admin = build_admin_root(tmp_path_factory.mktemp("shared") / "root")
    try:
        yield started(admin)
    finally:
        admin.stop_all()


# ---------------------------------------------------------------- layout and CLI


def test_cli_build_prints_json_and_keeps_passwords_hashed(tmp_path: Path) -> None:
    root = tmp_path / "cli"
    result = subprocess.run(
        [sys.executable, "-m", "stubs.adminserver", "build", str(root), "--ssl"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    info = json.loads(result.stdout)
    assert info["root"] == str(root.resolve())
    assert info["ssl"] is True
    assert info["cert_backend"] in ("cryptography", "openssl")
    assert info["faults"] == list(FAULTS)
    assert info["pid_file"] == str(root / "admin-serv" / "logs" / "pid")
    assert info["watchdog_pid_file"] == str(root / "admin-serv" / "logs" / "uxwdog.pid")
    for script in ("start-admin", "stop-admin", "bin/admin/admconfig"):
        path = root / script
        assert os.access(path, os.X_OK)
        assert path.read_text().splitlines()[0] == f"#!{sys.executable}"
    key = root / "admin-serv" / "config" / "ssl" / "server-key.pem"
    assert key.stat().st_mode & 0o077 == 0
    for path in root.rglob("*"):
        if path.is_file():
            assert b"admin-secret" not in path.read_bytes(), path


@pytest.mark.parametrize("backend", ["openssl", "cryptography"])
def test_certificate_backends(tmp_path: Path, backend: str) -> None:
    if backend == "openssl" and shutil.which("openssl") is None:
        pytest.skip("no openssl command")
    if backend == "cryptography" and importlib.util.find_spec("cryptography") is None:
        pytest.skip("cryptography not installed")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    assert make_self_signed(cert, key, backend) == backend
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)


# ---------------------------------------------------------------- processes as in ps


def test_process_shapes_and_pid_files(shared: StandInAdmin) -> None:
    config = str(shared.config_dir)
    pids = shared.pids()
    assert len(pids[WATCHDOG]) == 1
    watchdog = psutil.Process(pids[WATCHDOG][0])
    assert watchdog.name() == "uxwdog"
    assert watchdog.cmdline() == ["./uxwdog", "-e", "-d", config]
    assert Path(f"/proc/{watchdog.pid}/comm").read_text().strip() == "uxwdog"
    assert watchdog.cwd() == str(shared.root / "bin" / "https" / "bin")
    assert shared.watchdog_pid() == watchdog.pid

    server_pid = shared.server_pid()
    assert server_pid is not None
    assert server_pid in pids[SERVER]
    server = psutil.Process(server_pid)
    assert server.name() == "ns-httpd"
    assert server.cmdline() == ["ns-httpd", "-d", config]
    assert server.ppid() == watchdog.pid

    workers = [psutil.Process(pid) for pid in pids[SERVER] if pid != server_pid]
    assert 1 <= len(workers) <= 2
    for worker in workers:
        assert worker.name() == "ns-httpd"
        assert worker.cmdline() == ["ns-httpd", "-d", config]
        assert worker.ppid() == server_pid

    # Fully detached: own session, stdin /dev/null, output to the log, no caller pipes.
    for proc in (watchdog, server):
        assert os.getsid(proc.pid) != os.getsid(0)
        fds = {fd: os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in (0, 1, 2)}
        assert fds[0] == os.devnull
        assert fds[1] == fds[2] == str(shared.logs_dir / "errors")


def test_start_when_running_says_so(shared: StandInAdmin) -> None:
    before = shared.pids()
    result = shared.start()
    assert result.returncode == 0
    assert "already running" in result.stdout
    assert shared.pids() == before


def test_start_admin_runs_with_empty_env_from_any_cwd(fresh: StandInAdmin, tmp_path: Path) -> None:
    t0 = time.monotonic()
    result = subprocess.run(
        [str(fresh.start_admin)],
        env={},
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,  # would time out if a daemon kept our pipes open
        text=True,
        timeout=15,
        check=False,
    )
    assert result.returncode == 0, result
    assert result.stdout.strip() == "Server started successfully"
    assert time.monotonic() - t0 < 10
    assert fresh.is_running()


# ---------------------------------------------------------------- admconfig


def test_admconfig_gets_the_port(shared: StandInAdmin) -> None:
    result = shared.run_admconfig()
    assert result.returncode == 0, result
    assert result.stdout.splitlines() == [
        "Task -getPort (-getport) succeeded with status = 0",
        f"configuration.nsserverport = {shared.port}",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["-getport", "-u", "{user}", "-s", "{addr}"],
        ["-serv", "localhost:{port}", "-getP", "-user", "{user}"],
        ["-user", "{user}", "-getPort", "-server", "{addr}", "-verbose"],
    ],
)
def test_admconfig_accepts_abbreviations_in_any_order(
    shared: StandInAdmin, args: list[str]
) -> None:
    argv = [a.format(user=shared.user, addr=shared.address, port=shared.port) for a in args]
    result = subprocess.run(
        [str(shared.admconfig), *argv],
        input=f"{shared.password}\n",
        capture_output=True,
        text=True,
        timeout=30,
        env={},
        check=False,
    )
    assert result.returncode == 0, result
    assert f"configuration.nsserverport = {shared.port}" in result.stdout


def test_admconfig_wrong_password_fails(shared: StandInAdmin) -> None:
    result = shared.run_admconfig("not-the-password")
    assert result.returncode == 1
    assert "nsserverport" not in result.stdout
    assert "authentication failed" in result.stderr


def test_admconfig_encryption_against_plain_server_fails(shared: StandInAdmin) -> None:
    result = shared.run_admconfig(enc=True)
    assert result.returncode != 0
    assert "nsserverport" not in result.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["-server", "127.0.0.1:1", "-user", "admin"],  # no task
        ["-user", "admin", "-getPort"],  # no server
        ["-server", "127.0.0.1", "-user", "admin", "-getPort"],  # no port
        ["-server", "127.0.0.1:1", "-user", "admin", "-getPort", "-bogus"],
        ["-server", "127.0.0.1:1", "-user"],  # missing value
    ],
)
def test_admconfig_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # Usage errors are found before stdin is read, so this can run in-process.
    assert admconfig_main(argv) == 2
    assert "usage" in capsys.readouterr().err


def test_admconfig_refuses_password_on_command_line(fresh: StandInAdmin) -> None:
    argv = ["-server", fresh.address, "-user", "admin", "-getPort", "-password", "pw"]
    result = subprocess.run(
        [str(fresh.admconfig), *argv],
        input="pw\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "standard input" in result.stderr


def test_admconfig_server_not_running(fresh: StandInAdmin) -> None:
    result = fresh.run_admconfig()
    assert result.returncode == 3
    assert "cannot talk to" in result.stderr


def test_admconfig_bounded_when_stdin_never_closes(fresh: StandInAdmin) -> None:
    env = {"JESADM_ADMCONFIG_TIMEOUT": "1"}
    with subprocess.Popen(
        fresh.admconfig_argv(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        t0 = time.monotonic()
        try:
            proc.wait(timeout=10)
        finally:
            proc.kill()
        assert proc.returncode == 4
        assert time.monotonic() - t0 < 5


def test_server_http_api(shared: StandInAdmin) -> None:
    task = "/admin-serv/tasks/configuration/ServerSetup"

    def get(path: str, user: str, password: str) -> tuple[int, str]:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=5)
        try:
            conn.request("GET", path, headers={"Authorization": f"Basic {token}"})
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    code, body = get(task, shared.user, shared.password)
    assert code == 200
    assert f"configuration.nsserverport: {shared.port}" in body
    assert get(task, shared.user, "wrong")[0] == 401
    assert get(task, "nobody", shared.password)[0] == 401
    assert get("/other", shared.user, shared.password)[0] == 404


# ---------------------------------------------------------------- SSL


def test_ssl_prompt_and_tls(tmp_path: Path) -> None:
    admin = build_admin_root(tmp_path / "root", ssl=True, ssl_db_password=SSL_DB_PASSWORD)
    try:
        for wrong in (admin.start("wrong"), admin.start(send_password=False)):
            assert wrong.returncode == 1
            assert wrong.stdout.startswith("Enter SSL database password:")
            assert "Server could not be started" in wrong.stdout
            assert admin.pids() == {WATCHDOG: [], SERVER: []}

        ok = admin.start()
        assert ok.returncode == 0, ok
        assert ok.stdout.startswith("Enter SSL database password:")
        assert ok.stdout.splitlines()[-1] == "Server started successfully"

        result = admin.run_admconfig(enc=True)
        assert result.returncode == 0, result
        assert f"configuration.nsserverport = {admin.port}" in result.stdout
        assert admin.run_admconfig("wrong", enc=True).returncode == 1
        assert admin.run_admconfig(enc=False).returncode != 0

        # Real TLS with the self-signed certificate.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with (
            socket.create_connection(("127.0.0.1", admin.port), timeout=5) as raw,
            context.wrap_socket(raw) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            assert tls.getpeercert(binary_form=True)

        # A hung listener stalls the TLS handshake; admconfig -enc still gives up in time.
        admin.inject(FAULT_LISTENER_HANG)
        t0 = time.monotonic()
        hung = admin.run_admconfig(enc=True, admconfig_timeout=1.0)
        assert hung.returncode == 4
        assert time.monotonic() - t0 < 5
    finally:
        admin.stop_all()


# ---------------------------------------------------------------- stop-admin


def test_stop_admin(running: StandInAdmin) -> None:
    assert running.pid_file.exists()
    assert running.watchdog_pid_file.exists()
    result = running.stop()
    assert result.returncode == 0
    assert "stopped" in result.stdout
    assert running.pids() == {WATCHDOG: [], SERVER: []}
    assert not running.pid_file.exists()
    assert not running.watchdog_pid_file.exists()

    again = running.stop()
    assert again.returncode == 0
    assert "not running" in again.stdout


# ---------------------------------------------------------------- faults


def test_kill_watchdog_leaves_server_orphaned(running: StandInAdmin) -> None:
    old_watchdog = running.watchdog_pid()
    server = running.server_pid()
    running.kill_watchdog()
    assert running.pids()[WATCHDOG] == []
    assert not alive(old_watchdog)
    assert running.watchdog_pid() == old_watchdog  # stale pid file left behind
    assert alive(server)
    assert psutil.Process(server).ppid() != old_watchdog
    assert running.run_admconfig().returncode == 0

    result = running.stop()
    assert result.returncode == 0
    assert running.pids() == {WATCHDOG: [], SERVER: []}
    assert not running.watchdog_pid_file.exists()


def test_watchdog_die_fault_file(running: StandInAdmin) -> None:
    server = running.server_pid()
    running.inject(FAULT_WATCHDOG_DIE)
    assert running.faults() == [FAULT_WATCHDOG_DIE]
    assert wait_until(lambda: not running.pids()[WATCHDOG])
    assert alive(server)
    assert running.stop().returncode == 0

    # While the file is there a new watchdog dies at once: start fails, nothing runs.
    failed = running.start()
    assert failed.returncode == 1
    assert "Server could not be started" in failed.stdout
    assert running.pids() == {WATCHDOG: [], SERVER: []}

    running.clear(FAULT_WATCHDOG_DIE)
    assert running.faults() == []
    started(running)


def test_kill_server_is_not_restarted(running: StandInAdmin) -> None:
    old_server = running.server_pid()
    watchdog = running.watchdog_pid()
    running.kill_server()
    assert running.pids()[SERVER] == []
    assert running.server_pid() == old_server  # stale
    assert alive(watchdog)
    time.sleep(0.5)
    assert running.pids()[SERVER] == []  # the watchdog restarts nothing
    assert running.run_admconfig().returncode == 3

    # start-admin replaces the lone watchdog and starts a new server.
    started(running)
    assert running.server_pid() != old_server
    assert not alive(watchdog)
    assert len(running.pids()[WATCHDOG]) == 1


def test_server_die_fault_file(running: StandInAdmin) -> None:
    running.inject(FAULT_SERVER_DIE)
    assert wait_until(lambda: not running.pids()[SERVER])
    assert running.pids()[WATCHDOG] != []

    failed = running.start()
    assert failed.returncode == 1
    assert "Server could not be started" in failed.stdout
    assert running.pids() == {WATCHDOG: [], SERVER: []}

    running.clear(FAULT_SERVER_DIE)
    started(running)


def test_listener_hang(running: StandInAdmin) -> None:
    running.inject(FAULT_LISTENER_HANG)
    t0 = time.monotonic()
    result = running.run_admconfig(admconfig_timeout=1.5)
    elapsed = time.monotonic() - t0
    assert result.returncode == 4
    assert "nsserverport" not in result.stdout
    assert elapsed < 5
    # The process is still there and still listening: only the answers are missing.
    assert running.is_running()
    with socket.create_connection(("127.0.0.1", running.port), timeout=2):
        pass

    running.clear(FAULT_LISTENER_HANG)
    assert running.run_admconfig().returncode == 0


def test_admconfig_default_timeout_is_about_ten_seconds() -> None:
    assert 5 <= ADMCONFIG_TIMEOUT <= 15


def test_stale_pid_of_dead_process(fresh: StandInAdmin) -> None:
    with subprocess.Popen(["true"]) as gone:
        gone.wait()
    fresh.write_stale_pid(gone.pid)
    assert fresh.server_pid() == gone.pid
    result = fresh.stop()
    assert result.returncode == 0
    assert "not running" in result.stdout
    assert not fresh.pid_file.exists()

    fresh.write_stale_pid(gone.pid)
    started(fresh)
    assert fresh.server_pid() in fresh.pids()[SERVER]


def test_stale_pid_of_unrelated_process_is_never_signalled(fresh: StandInAdmin) -> None:
    with subprocess.Popen(["sleep", "60"]) as other:
        try:
            fresh.write_stale_pid(other.pid)
            assert fresh.stop().returncode == 0
            assert other.poll() is None
            fresh.write_stale_pid(other.pid)
            started(fresh)
            assert fresh.server_pid() != other.pid
            assert fresh.stop().returncode == 0
            assert other.poll() is None
        finally:
            other.kill()


def test_port_in_use_fails_start(fresh: StandInAdmin) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", fresh.port))
        blocker.listen(1)
        result = fresh.start()
    assert result.returncode == 1
    assert "Server could not be started" in result.stdout
    assert fresh.pids() == {WATCHDOG: [], SERVER: []}


def test_unknown_fault_name_rejected(fresh: StandInAdmin) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        fresh.inject("disk.full")
