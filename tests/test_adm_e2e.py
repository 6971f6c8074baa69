"""SunJESAdm end to end: the installed entry points against a stand-in Administration Server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jescore.policy.declaration import Raw
from jescore.policy.vcs import CleanReason
from stubs.adminserver import StandInAdmin, build_admin_root
from stubs.vcscrypt import PasswordHelper
from tests.agentcalls import Agents, Outcome

ADMIN_PASSWORD = "admin-secret"
DB_PASSWORD = "db-secret"


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[StandInAdmin]:
    built = build_admin_root(tmp_path / "adm", password=ADMIN_PASSWORD)
    yield built
    built.stop_all()


@pytest.fixture
def tls_admin(tmp_path: Path) -> Iterator[StandInAdmin]:
    built = build_admin_root(
        tmp_path / "tls", ssl=True, password=ADMIN_PASSWORD, ssl_db_password=DB_PASSWORD
    )
    yield built
    built.stop_all()


def attrs(admin: StandInAdmin, **more: str) -> dict[str, Raw]:
    values: dict[str, Raw] = {
        "ServerRoot": (str(admin.root),),
        "AdminHost": ("127.0.0.1",),
        "AdminPort": (str(admin.port),),
        "SSLEnabled": ("1" if admin.ssl else "0",),
        "ResLogLevel": ("TRACE",),
    }
    values.update({name: (value,) for name, value in more.items()})
    return values


def user(helper: PasswordHelper, password: str = ADMIN_PASSWORD) -> dict[str, str]:
    return {"AdminUser": "admin", "AdminPasswd": helper.encrypt(password)}


def call(agents: Agents, entry: str, values: dict[str, Raw], **kw: object) -> Outcome:
    outcome = agents.call("SunJESAdm", entry, "adm1", values, **kw)  # type: ignore[arg-type]
    assert "Traceback" not in outcome.output
    return outcome


def running(admin: StandInAdmin) -> bool:
    found = admin.pids()
    return bool(found["uxwdog"]) and bool(found["ns-httpd"])


def test_online_monitor_offline_with_admconfig(
    agents: Agents, admin: StandInAdmin, password_helper: PasswordHelper
) -> None:
    values = attrs(admin, SecondLevelMonitor="1", **user(password_helper))
    assert call(agents, "monitor", values).code == 100
    assert call(agents, "online", values).code == 0
    assert running(admin)
    watched = call(agents, "monitor", values)
    assert watched.code == 110, watched.lines
    assert watched.logged("admconfig synthetic transaction passed")
    assert call(agents, "offline", values).code == 0
    assert not running(admin)
    assert call(agents, "monitor", values).code == 100


def test_wrong_admin_password_fails_the_second_level(
    agents: Agents, admin: StandInAdmin, password_helper: PasswordHelper
) -> None:
    call(agents, "online", attrs(admin))
    wrong = attrs(admin, SecondLevelMonitor="1", **user(password_helper, "wrong"))
    outcome = call(agents, "monitor", wrong)
    assert outcome.code == 100
    assert outcome.logged("admconfig synthetic transaction failed")
    assert ADMIN_PASSWORD not in agents.log.read_text()


def test_without_a_user_the_port_is_checked(agents: Agents, admin: StandInAdmin) -> None:
    values = attrs(admin, SecondLevelMonitor="1")
    call(agents, "online", values)
    outcome = call(agents, "monitor", values)
    assert outcome.code == 110
    assert outcome.logged("admin port check")


def test_ssl_password_on_stdin_and_tls_checks(
    agents: Agents, tls_admin: StandInAdmin, password_helper: PasswordHelper
) -> None:
    wrong = attrs(tls_admin, SSLDbPasswd=password_helper.encrypt("nope"))
    refused = call(agents, "online", wrong, aep_timeout=20)
    assert refused.logged("start-admin failed")
    assert not running(tls_admin)
    values = attrs(
        tls_admin, SSLDbPasswd=password_helper.encrypt(DB_PASSWORD), SecondLevelMonitor="1"
    )
    assert call(agents, "online", values).code == 0
    assert running(tls_admin)
    handshake = call(agents, "monitor", values)
    assert handshake.code == 110, handshake.lines
    assert handshake.logged("accepts connections")
    with_user = {**values, **{k: (v,) for k, v in user(password_helper).items()}}
    assert call(agents, "monitor", with_user).code == 110
    assert DB_PASSWORD not in agents.log.read_text()


def test_a_plain_listener_fails_the_tls_check(agents: Agents, admin: StandInAdmin) -> None:
    call(agents, "online", attrs(admin))
    pretend = attrs(admin, SSLEnabled="1", SecondLevelMonitor="1")
    outcome = call(agents, "monitor", pretend, aep_timeout=10)
    assert outcome.code == 100
    assert outcome.logged("TLS handshake")


def test_watchdog_dies(agents: Agents, admin: StandInAdmin) -> None:
    call(agents, "online", attrs(admin))
    admin.kill_watchdog()
    outcome = call(agents, "monitor", attrs(admin))
    assert outcome.code == 100
    assert outcome.logged("watchdog uxwdog")


def test_server_dies_and_is_not_restarted(agents: Agents, admin: StandInAdmin) -> None:
    call(agents, "online", attrs(admin))
    admin.kill_server()
    outcome = call(agents, "monitor", attrs(admin))
    assert outcome.code == 100
    assert outcome.logged("server ns-httpd")
    cleaned = call(agents, "clean", attrs(admin), reason=CleanReason.UNEXPECTED_OFFLINE)
    assert cleaned.code == 0
    assert not any(admin.pids().values())


def test_a_hanging_listener_is_offline_in_time(
    agents: Agents, admin: StandInAdmin, password_helper: PasswordHelper
) -> None:
    call(agents, "online", attrs(admin))
    admin.inject("listener.hang")
    values = attrs(admin, SecondLevelMonitor="1", **user(password_helper))
    outcome = call(agents, "monitor", values, aep_timeout=8)
    assert outcome.code == 100
    assert outcome.seconds < 8


def test_stale_and_foreign_pid_files_never_count(agents: Agents, admin: StandInAdmin) -> None:
    call(agents, "online", attrs(admin))
    admin.write_stale_pid(os.getpid())  # a live process that is not ns-httpd
    outcome = call(agents, "monitor", attrs(admin))
    assert outcome.code == 110  # the process table still finds the real server
    assert outcome.logged(f"names pid {os.getpid()}, which is not this server: stale")
    admin.kill_server()
    admin.write_stale_pid(os.getpid())
    assert call(agents, "monitor", attrs(admin)).code == 100


def test_clean_leaves_another_instance_alone(
    agents: Agents, admin: StandInAdmin, tmp_path: Path
) -> None:
    other = build_admin_root(tmp_path / "adm2")
    try:
        call(agents, "online", attrs(admin))
        call(agents, "online", attrs(other))
        assert call(agents, "clean", attrs(admin), reason=CleanReason.ONLINE_INEFFECTIVE).code == 0
        assert not any(admin.pids().values())
        assert running(other)
    finally:
        other.stop_all()


def test_invalid_attributes(agents: Agents, admin: StandInAdmin) -> None:
    bad = attrs(admin, AdminUser="admin", AdminPort="70000", SSLEnabled="maybe")
    outcome = call(agents, "monitor", bad)
    assert outcome.code == 99
    assert outcome.logged("AdminPasswd: is empty, but AdminUser is set")
    assert outcome.logged("AdminPort: port 70000 is outside 1-65535")
    assert outcome.logged("SSLEnabled: 'maybe' is not a boolean")
    assert call(agents, "online", bad).code == 0
    assert not running(admin)
