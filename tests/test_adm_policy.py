"""SunJESAdm decisions: attributes, the instance's processes and pid files, what stop
reaches, and the second level (admconfig or the port)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jescore.policy.commands import Expect, ProgramProbe, TcpProbe
from jescore.policy.declaration import Config, Raw, validate
from jescore.policy.processes import ProcessInfo
from jescore.policy.resource import Snapshot
from jescore.policy.sunjesadm import DECLARATION, POLICY
from jescore.result import Failure, is_successful
from tests.strategies import absolute_paths

ROOT = "/var/opt/mps/serverroot"
CONFIG_DIR = f"{ROOT}/admin-serv/config"
ADMCONFIG = f"{ROOT}/bin/admin/admconfig"


def config(root: str = ROOT, **more: str) -> Config:
    values: dict[str, Raw] = {"ServerRoot": (root,), "AdminHost": ("admin.example.com",)}
    values.update({k: (v,) for k, v in more.items()})
    result = validate(DECLARATION, values)
    assert is_successful(result), result
    return result.unwrap()


def proc(pid: int, name: str, root: str = ROOT, *, ppid: int | None = None) -> ProcessInfo:
    return ProcessInfo(pid, name, (f"{root}/bin/{name}", "-d", f"{root}/admin-serv/config"),
                       float(pid), ppid=ppid)  # fmt: skip


def pid_files(root: str = ROOT, **pids: int) -> dict[str, str]:
    names = {"watchdog": "uxwdog.pid", "server": "pid"}
    return {f"{root}/admin-serv/logs/{names[role]}": f"{pid}\n" for role, pid in pids.items()}


# --- attributes, start and stop ------------------------------------------------------------


def test_a_user_needs_a_password() -> None:
    values: dict[str, Raw] = {"ServerRoot": (ROOT,), "AdminHost": ("h",), "AdminUser": ("admin",)}
    refused = validate(DECLARATION, values)
    assert isinstance(refused, Failure)
    (violation,) = refused.failure()
    assert violation.attribute == "AdminPasswd"
    assert "AdminUser is set" in violation.reason
    assert is_successful(validate(DECLARATION, {**values, "AdminPasswd": ("ENC",)}))


def test_start_gives_the_certificate_password_only_when_there_is_one() -> None:
    assert POLICY.start(config()).argv == (f"{ROOT}/start-admin",)
    assert POLICY.start(config()).stdin_secret is None
    assert POLICY.start(config(SSLDbPasswd="ENC")).stdin_secret == "SSLDbPasswd"
    assert POLICY.stop(config()).argv == (f"{ROOT}/stop-admin",)


# --- the second level ----------------------------------------------------------------------


@pytest.mark.parametrize("ssl", ["0", "1"])
def test_without_a_user_the_port_is_checked_over_tls_when_it_speaks_it(ssl: str) -> None:
    (probe,) = POLICY.second_level(config(SSLEnabled=ssl, AdminPort="8390"), Snapshot(()))
    assert probe == TcpProbe("admin port check", "admin.example.com", 8390, tls=ssl == "1")


@pytest.mark.parametrize(("ssl", "flag"), [("0", ()), ("1", ("-enc",))])
def test_with_a_user_admconfig_must_report_the_port(ssl: str, flag: tuple[str, ...]) -> None:
    cfg = config(SSLEnabled=ssl, AdminPort="8390", AdminUser="admin", AdminPasswd="ENC")
    (probe,) = POLICY.second_level(cfg, Snapshot(()))
    assert isinstance(probe, ProgramProbe)
    assert probe.argv == (
        ADMCONFIG, *flag, "-server", "admin.example.com:8390", "-user", "admin", "-getPort",
    )  # fmt: skip
    assert probe.expect is Expect.REPORTED_PORT and probe.port == 8390
    assert probe.stdin_secret == "AdminPasswd"  # the password goes on standard input only
    assert "ENC" not in probe.argv


# --- the first level -----------------------------------------------------------------------


def test_pid_files_that_name_the_processes_find_them() -> None:
    table = (proc(10, "uxwdog"), proc(11, "ns-httpd", ppid=10))
    level = POLICY.first_level(config(), Snapshot(table, pid_files(watchdog=10, server=11)))
    assert level.ok and [p.pid for p in level.found] == [10, 11] and level.notes == ()


def test_a_stale_pid_file_is_noted_and_the_table_decides() -> None:
    table = (proc(10, "uxwdog"), proc(11, "ns-httpd"), ProcessInfo(99, "sh", ("/bin/sh",), 9.0))
    level = POLICY.first_level(config(), Snapshot(table, pid_files(watchdog=99, server=11)))
    assert level.ok and sorted(p.pid for p in level.found) == [10, 11]
    (note,) = level.notes
    assert "names pid 99, which is not this watchdog: stale" in note


def test_what_is_missing_is_named() -> None:
    level = POLICY.first_level(config(), Snapshot((proc(10, "uxwdog"),)))
    assert not level.ok
    assert level.missing == (f"server ns-httpd -d {CONFIG_DIR}",)


@given(absolute_paths, st.sampled_from(["2", "-old", "/sub"]))
def test_a_neighbouring_server_root_is_never_this_instance(root: str, suffix: str) -> None:
    """Processes and pid files of ROOT+suffix (a second Administration Server, or one in a
    subdirectory) never count for ROOT, nor are they stopped with it."""
    other = root + suffix
    table = (proc(10, "uxwdog", other), proc(11, "ns-httpd", other, ppid=10))
    snap = Snapshot(table, pid_files(other, watchdog=10, server=11) | pid_files(root, server=11))
    level = POLICY.first_level(config(root), snap)
    assert level.found == () and len(level.missing) == 2
    assert POLICY.stop_targets(config(root), snap) == ()


# --- what stop reaches ---------------------------------------------------------------------


def test_stop_reaches_the_instance_and_its_children_under_the_server_root_only() -> None:
    assert POLICY.stop_watch(config()).descendants  # the look includes children
    assert not POLICY.watch(config()).descendants  # the monitor's does not need them
    cgi = ProcessInfo(12, "admpw", (f"{ROOT}/bin/admin/admpw",), 12.0, ppid=11)
    shell = ProcessInfo(13, "sh", ("/bin/sh", "-c", "x"), 13.0, ppid=11)  # not ours to kill
    table = (proc(10, "uxwdog"), proc(11, "ns-httpd", ppid=10), cgi, shell)
    targets = POLICY.stop_targets(config(), Snapshot(table))
    assert sorted(p.pid for p in targets) == [10, 11, 12]
