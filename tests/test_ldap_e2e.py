"""SunJESLDAP end to end against a real 389 Directory Server laid out like a Sun instance.

In CI (CI=true) a missing server fails these tests; elsewhere they are skipped with a hint.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from jescore.policy.declaration import Raw
from jescore.policy.vcs import CleanReason
from stubs.demo_slapd import build_standin_ds
from stubs.dirsrv389 import (
    DsInstance,
    pick_free_port,
)
from stubs.dirsrv_standin import install_sun_ldapsearch, make_prompting_start_slapd
from stubs.vcscrypt import PasswordHelper
from tests.agentcalls import Agents, Outcome

pytestmark = pytest.mark.realserver


def attrs(ds: DsInstance, **more: str) -> dict[str, Raw]:
    values: dict[str, Raw] = {
        "InstanceRoot": (str(ds.instance_root),),
        "LDAPHost": ("127.0.0.1",),
        "LDAPPort": (str(ds.port),),
        "ResLogLevel": ("TRACE",),
    }
    values.update({k: (v,) for k, v in more.items()})
    return values


def call(agents: Agents, entry: str, values: dict[str, Raw], **kw: object) -> Outcome:
    outcome = agents.call("SunJESLDAP", entry, "ldap1", values, **kw)  # type: ignore[arg-type]
    assert "Traceback" not in outcome.output
    return outcome


def wait_gone(ds: DsInstance, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while ds.pids() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_online_monitor_offline(agents: Agents, ds: DsInstance) -> None:
    values = attrs(ds, SecondLevelMonitor="1")
    assert call(agents, "monitor", values).code == 100
    started = call(agents, "online", values)
    assert started.code == 0
    assert started.logged("online after")
    assert ds.pids()
    watched = call(agents, "monitor", values)
    assert watched.code == 110, watched.lines
    assert watched.logged("/usr/bin/ldapsearch, openldap dialect")
    again = call(agents, "online", values)
    assert again.logged("already online")
    assert call(agents, "offline", values).code == 0
    assert not ds.pids()
    assert ds.pid_file.exists()  # the server leaves its pid file behind
    assert call(agents, "monitor", values).code == 100


def test_a_stopped_process_fails_the_second_level_in_time(agents: Agents, ds: DsInstance) -> None:
    values = attrs(ds, SecondLevelMonitor="1")
    call(agents, "online", values)
    (pid,) = ds.pids()
    os.kill(pid, signal.SIGSTOP)
    try:
        outcome = call(agents, "monitor", values, aep_timeout=10)
        assert outcome.code == 100, outcome.lines
        assert outcome.seconds < 10
        assert outcome.logged("did not answer in time")
    finally:
        os.kill(pid, signal.SIGCONT)


def test_a_killed_server_with_a_stale_pid_file_is_offline(agents: Agents, ds: DsInstance) -> None:
    values = attrs(ds)
    call(agents, "online", values)
    (pid,) = ds.pids()
    os.kill(pid, signal.SIGKILL)
    wait_gone(ds)
    assert ds.pid_from_file() == pid
    assert call(agents, "monitor", values).code == 100


def test_a_reused_pid_is_not_the_server(agents: Agents, ds: DsInstance) -> None:
    values = attrs(ds)
    call(agents, "online", values)
    (pid,) = ds.pids()
    os.kill(pid, signal.SIGKILL)
    wait_gone(ds)
    ds.pid_file.write_text(f"{os.getpid()}\n")  # a live process that is not ns-slapd
    assert call(agents, "monitor", values).code == 100
    assert call(agents, "clean", values, reason=CleanReason.UNEXPECTED_OFFLINE).code == 0
    assert Path(f"/proc/{os.getpid()}").exists()  # clean did not touch it


def test_a_missing_pid_file_with_the_process_running_is_online(
    agents: Agents, ds: DsInstance
) -> None:
    values = attrs(ds)
    call(agents, "online", values)
    ds.pid_file.unlink()
    assert call(agents, "monitor", values).code == 110


def test_clean(agents: Agents, ds: DsInstance) -> None:
    values = attrs(ds)
    call(agents, "online", values)
    outcome = call(agents, "clean", values, reason=CleanReason.MONITOR_HUNG)
    assert outcome.code == 0
    assert not ds.pids()


def test_clean_leaves_another_instance_alone(agents: Agents, ds: DsInstance) -> None:
    """Another ns-slapd on the host, in the same ServerRoot and named like this instance
    but longer (-D .../slapd-<id>2), is another resource's: neither monitor nor clean
    takes it for this one's, and clean does not signal it."""
    neighbour = build_standin_ds(
        ds.server_root,
        port=pick_free_port(),
        instance_id=ds.instance_root.name.removeprefix("slapd-") + "2",
    )
    try:
        started = subprocess.run(
            [str(neighbour.instance_root / "start-slapd")], capture_output=True, check=False
        )
        assert started.returncode == 0, started.stderr
        (other,) = neighbour.pids()
        values = attrs(ds)
        assert call(agents, "monitor", values).code == 100
        assert call(agents, "online", values).code == 0
        assert ds.pids()
        cleaned = call(agents, "clean", values, reason=CleanReason.ONLINE_INEFFECTIVE)
        assert cleaned.code == 0, cleaned.lines
        assert not ds.pids()
        assert neighbour.pids() == [other]
    finally:
        neighbour.stop_all()


def test_the_secure_port(agents: Agents, ds: DsInstance) -> None:
    values = attrs(ds, SecondLevelMonitor="1", SSLPort=str(ds.ssl_port))
    call(agents, "online", values)
    assert call(agents, "monitor", values).code == 110
    plain = attrs(ds, SecondLevelMonitor="1", SSLPort=str(ds.port))  # no TLS there
    outcome = call(agents, "monitor", plain, aep_timeout=10)
    assert outcome.code == 100
    assert outcome.logged("TLS handshake")


def test_a_sun_dialect_ldapsearch_in_server_root_is_preferred(
    agents: Agents, ds: DsInstance
) -> None:
    install_sun_ldapsearch(ds.server_root)
    values = attrs(ds, SecondLevelMonitor="1")
    call(agents, "online", values)
    outcome = call(agents, "monitor", values)
    assert outcome.code == 110, outcome.lines
    assert outcome.logged("shared/bin/ldapsearch, sun dialect")


def test_the_5x_password_prompt(
    agents: Agents, ds: DsInstance, password_helper: PasswordHelper
) -> None:
    make_prompting_start_slapd(ds.instance_root, "pin-secret")
    wrong = attrs(ds, SSLDbPasswd=password_helper.encrypt("nope"))
    refused = call(agents, "online", wrong, aep_timeout=20)
    assert refused.logged("start-slapd failed")
    assert not ds.pids()
    right = attrs(ds, SSLDbPasswd=password_helper.encrypt("pin-secret"))
    assert call(agents, "online", right).code == 0
    assert ds.pids()
    assert "pin-secret" not in agents.log.read_text()
