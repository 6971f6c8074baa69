"""The real 389 Directory Server in Sun layout, and the Sun-only stand-ins around it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from stubs import dirsrv389
from stubs.dirsrv389 import DsInstance, create_instance, pick_free_ports, set_config_attributes
from stubs.dirsrv_standin import PIN_PROMPT, install_sun_ldapsearch, make_prompting_start_slapd

MONITOR_PROBE = ["-b", "cn=monitor", "-s", "base", "(objectclass=*)", "version"]


def require_389() -> None:
    """Skip without 389 on a developer machine; in CI its absence is a failure."""
    if dirsrv389.ds_available() and shutil.which("ldapsearch"):
        return
    message = (
        "389 Directory Server (ns-slapd, dscreate, python3-lib389) or ldap-utils is "
        "missing: run stubs/install_389.sh as root"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def make_instance(base: Path, *, ssl: bool) -> DsInstance:
    port, ssl_port = pick_free_ports(2)
    return create_instance(base, port=port, ssl_port=ssl_port if ssl else 0)


@pytest.fixture
def ds(tmp_path: Path) -> Iterator[DsInstance]:
    """A stopped instance with TLS; whatever the test started is killed afterwards."""
    require_389()
    instance = make_instance(tmp_path / "server-root", ssl=True)
    try:
        yield instance
    finally:
        instance.destroy()


@pytest.fixture
def running_ds(ds: DsInstance) -> DsInstance:
    assert ds.start() == 0
    return ds


def run(argv: list[str], *, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def openldap_probe(port: int) -> subprocess.CompletedProcess[str]:
    return run(["ldapsearch", "-x", "-LLL", "-H", f"ldap://127.0.0.1:{port}", *MONITOR_PROBE])


def listening_ports(pid: int) -> set[tuple[str, int]]:
    return {
        (conn.laddr.ip, conn.laddr.port)
        for conn in psutil.Process(pid).net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN
    }


# ---------------------------------------------------------------------------------------
# The real server


@pytest.mark.realserver
def test_sun_layout_and_probe(running_ds: DsInstance) -> None:
    ds = running_ds
    root = ds.instance_root
    assert root == ds.server_root / "slapd-jes"
    assert (root / "dse.ldif").is_file()
    assert os.access(ds.start_script, os.X_OK)
    assert os.access(ds.stop_script, os.X_OK)

    pid = ds.pid_from_file()
    assert pid is not None
    assert ds.pids() == [pid]
    assert psutil.Process(pid).cmdline() == [
        str(dirsrv389.NS_SLAPD),
        "-D",
        str(root),
        "-i",
        str(root / "logs" / "pid"),
    ]
    assert listening_ports(pid) == {("127.0.0.1", ds.port), ("127.0.0.1", ds.ssl_port)}

    probe = openldap_probe(ds.port)
    assert probe.returncode == 0, probe.stderr
    assert "dn: cn=monitor\nversion: 389-Directory/" in probe.stdout


@pytest.mark.realserver
def test_start_stop_exit_codes_and_stale_pid_file(running_ds: DsInstance) -> None:
    ds = running_ds
    first = ds.pid_from_file()
    assert first is not None

    assert ds.start() == 2, "start-slapd on a running instance"
    assert ds.pids() == [first]

    assert ds.stop() == 0
    assert ds.pids() == []
    assert ds.pid_file.exists(), "ns-slapd leaves its pid file behind"
    assert ds.pid_from_file() == first
    assert openldap_probe(ds.port).returncode != 0
    assert ds.stop() == 2, "stop-slapd on a stopped instance"

    # Straight away, while the old process may still be an unreaped zombie.
    assert ds.start() == 0
    second = ds.pid_from_file()
    assert second is not None
    assert second != first
    assert ds.pids() == [second]
    assert openldap_probe(ds.port).returncode == 0


@pytest.mark.realserver
def test_start_slapd_fails_when_the_port_is_taken(ds: DsInstance) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", ds.port))
        squatter.listen()
        started = run([str(ds.start_script)])
    assert started.returncode == 1
    assert "failed to start" in started.stderr
    assert ds.pids() == []


@pytest.mark.realserver
def test_ssl_port_completes_a_handshake(running_ds: DsInstance) -> None:
    context = ssl.create_default_context(cafile=str(running_ds.ca_cert))
    with (
        socket.create_connection(("127.0.0.1", running_ds.ssl_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.version() in {"TLSv1.2", "TLSv1.3"}
        assert tls.getpeercert() is not None


@pytest.mark.realserver
def test_no_ssl_port_means_plain_ldap_only(tmp_path: Path) -> None:
    require_389()
    ds = make_instance(tmp_path / "server-root", ssl=False)
    try:
        assert ds.start() == 0
        pid = ds.pid_from_file()
        assert pid is not None
        assert listening_ports(pid) == {("127.0.0.1", ds.port)}
    finally:
        ds.destroy()
    assert not ds.server_root.exists()


@pytest.mark.realserver
def test_cli_create_and_destroy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_389()
    root = tmp_path / "cli-root"
    port = pick_free_ports(1)[0]
    try:
        # In-process, so it copies this process's template instead of running dscreate.
        assert dirsrv389.main(["create", str(root), "--port", str(port), "--start"]) == 0
        facts = json.loads(capsys.readouterr().out)
        assert facts["instance_root"] == str(root / "slapd-jes")
        assert (facts["port"], facts["ssl_port"]) == (port, 0)
        assert "root_password" not in facts
        assert openldap_probe(port).returncode == 0
        assert run([facts["start_slapd"]]).returncode == 2
    finally:
        gone = run([sys.executable, "-m", "stubs.dirsrv389", "destroy", str(root)])
    assert gone.returncode == 0, gone.stderr
    assert not root.exists()
    assert openldap_probe(port).returncode != 0


# ---------------------------------------------------------------------------------------
# Stand-ins


def test_sun_ldapsearch_refuses_openldap_options(tmp_path: Path) -> None:
    tool = str(install_sun_ldapsearch(tmp_path))
    assert tool == str(tmp_path / "shared" / "bin" / "ldapsearch")
    openldap_style = run([tool, "-x", "-LLL", "-H", "ldap://127.0.0.1:1", *MONITOR_PROBE])
    assert openldap_style.returncode == 89
    assert "usage" in openldap_style.stderr
    assert run([tool, "-x", "-h", "127.0.0.1", "-p", "1", *MONITOR_PROBE]).returncode == 89
    assert run([tool, "-h", "127.0.0.1", "-p", "1", "(objectclass=*)"]).returncode == 89, (
        "no base DN"
    )


@pytest.mark.realserver
def test_sun_ldapsearch_against_the_instance(running_ds: DsInstance) -> None:
    ds = running_ds
    tool = str(install_sun_ldapsearch(ds.server_root))
    expected_start = "version: 1\ndn: cn=monitor\nversion: 389-Directory/"

    seed_form = run([tool, "-h", f"127.0.0.1:{ds.port}", *MONITOR_PROBE])
    assert seed_form.returncode == 0, seed_form.stderr
    assert seed_form.stdout.startswith(expected_start)

    split_form = run([tool, "-h", "127.0.0.1", "-p", str(ds.port), *MONITOR_PROBE])
    assert split_form.returncode == 0, split_form.stderr
    assert split_form.stdout.startswith(expected_start)

    assert run([tool, "-H", f"ldap://127.0.0.1:{ds.port}", *MONITOR_PROBE]).returncode != 0

    # A bound search, the password read from standard input (-w -).
    connect = ["-h", "127.0.0.1", "-p", str(ds.port), "-D", ds.root_dn, "-w", "-"]
    config_search = ["-b", "cn=config", "-s", "base", "(objectclass=*)", "nsslapd-port"]
    bound = run([tool, *connect, *config_search], stdin=ds.root_password + "\n")
    assert bound.returncode == 0, bound.stderr
    assert f"nsslapd-port: {ds.port}" in bound.stdout

    assert ds.stop() == 0
    down = run([tool, "-h", f"127.0.0.1:{ds.port}", *MONITOR_PROBE])
    assert down.returncode == 81, (down.returncode, down.stderr)


@pytest.mark.realserver
def test_prompting_start_slapd(ds: DsInstance) -> None:
    pin = "token-pin-4711"
    make_prompting_start_slapd(ds.instance_root, pin)
    script = str(ds.start_script)
    assert pin not in ds.start_script.read_text(encoding="utf-8")

    wrong = run([script], stdin="not-the-pin\n")
    assert wrong.returncode == 1
    assert wrong.stdout.startswith(PIN_PROMPT)
    assert "incorrect PIN" in wrong.stderr
    assert run([script]).returncode == 1, "no PIN at all"
    assert ds.pids() == []

    right = run([script], stdin=pin + "\n")
    assert right.returncode == 0, right.stderr
    assert ds.wait_ready(timeout=30), ds.errors_tail()
    assert openldap_probe(ds.port).returncode == 0


def test_set_config_attributes_replaces_and_adds() -> None:
    ldif = (
        "dn: cn=config\n"
        "cn: config\n"
        "nsslapd-port: 389\n"
        "nsslapd-security: on\n"
        "nsslapd-listenhost: a-very-long-\n"
        " continued-value\n"
        "\n"
        "dn: cn=other,cn=config\n"
        "nsslapd-port: 7\n"
    )
    out = set_config_attributes(
        ldif, {"nsslapd-port": "1389", "nsslapd-listenhost": "127.0.0.1", "nsslapd-new": "x"}
    )
    assert out == (
        "dn: cn=config\n"
        "cn: config\n"
        "nsslapd-security: on\n"
        "nsslapd-port: 1389\n"
        "nsslapd-listenhost: 127.0.0.1\n"
        "nsslapd-new: x\n"
        "\n"
        "dn: cn=other,cn=config\n"
        "nsslapd-port: 7\n"
    )
