"""SunJESMsg decisions: validation, msstart arguments, processes, probes, clean targets."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from jescore.policy import argv
from jescore.policy.commands import ProgramProbe, TcpProbe, fill
from jescore.policy.declaration import Config, Raw, validate
from jescore.policy.msg_services import SERVICES
from jescore.policy.processes import ProcessInfo
from jescore.policy.resource import Snapshot
from jescore.policy.sunjesmsg import DECLARATION, POLICY, process_names
from jescore.policy.vcs import EntryPoint
from jescore.result import is_successful
from tests.strategies import process_tables, valid_msg_values

ROOT = "/opt/SUNWmsgsr"
KNOWN_MSSTART_NAMES = {
    "watcher", "ens", "store", "imap", "pop", "http", "sched", "smtp", "snmp", "sms", "mmp",
}  # fmt: skip


def config(**overrides: str | tuple[str, ...]) -> Config:
    values: dict[str, Raw] = {
        "ServerRoot": (ROOT,),
        "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143"),
    }
    for name, value in overrides.items():
        values[name] = (value,) if isinstance(value, str) else value
    result = validate(DECLARATION, values)
    assert is_successful(result), result
    return result.unwrap()


def violations(**overrides: str | tuple[str, ...]) -> list[str]:
    values: dict[str, Raw] = {
        "ServerRoot": (ROOT,),
        "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143"),
    }
    for name, value in overrides.items():
        values[name] = (value,) if isinstance(value, str) else value
    result = validate(DECLARATION, values)
    assert not is_successful(result)
    return [str(v) for v in result.failure()]


@pytest.mark.parametrize(
    ("services", "start", "stop"),
    [
        (("core", "49994"), ("store", "sched"), ("-k", "sched", "store", "watcher")),
        (("imap", "143", "imaps", "993"), ("imap",), ("-k", "imap")),
        (("http", "80", "https", "443", "pop", "110"), ("http", "pop"), ("-k", "http", "pop")),
        (("smtp", "25", "lmtp", "225"), ("smtp",), ("-k", "smtp")),
        (("lmtpt", "225",), ("smtp",), ("-k", "smtp")),
        (("ens", "7997", "snmp", "161", "sms", "6001"), ("ens", "snmp", "sms"), ("-k", "ens", "snmp", "sms")),
    ],
)  # fmt: skip
def test_msstart_arguments(
    services: tuple[str, ...], start: tuple[str, ...], stop: tuple[str, ...]
) -> None:
    cfg = config(MsgServices=services)
    assert POLICY.start(cfg).argv == (f"{ROOT}/lib/msstart", *start)
    assert POLICY.stop(cfg).argv == (f"{ROOT}/lib/msstart", *stop)


def test_the_multiplexor_starts_and_stops_mmp() -> None:
    cfg = config(ServerType="MMP", MsgServices=("imap", "143", "pop", "110"))
    assert POLICY.start(cfg).argv == (f"{ROOT}/lib/msstart", "mmp")
    assert POLICY.stop(cfg).argv == (f"{ROOT}/lib/msstart", "-k", "mmp")
    assert process_names(cfg) == ("AService",)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ServerType": "POP"}, "ServerType: 'POP' is not one of MSG, MMP"),
        ({"MsgServices": ()}, "MsgServices: is required but empty"),
        ({"MsgServices": ("core", "1", "imap", "2")}, "core must stand alone"),
        ({"MsgServices": ("imap", "0")}, "port 0 is outside 1-65535"),
        ({"MsgServices": ("imap", "x")}, "port 'x' is not a whole number"),
        ({"MsgServices": ("gopher", "70")}, "'gopher' is not a Messaging Server service"),
        ({"MsgServices": ("imap",)}, "odd number of values"),
        ({"ServerType": "MMP", "MsgServices": ("smtp", "25")}, "smtp not valid for ServerType MMP"),
        ({"MsgHost": "mail", "MsgServices": ("smtp", "25")}, "MsgHost: 'mail' is not a fully qualified"),
        ({"MsgHost": "10.0.0.1", "MsgServices": ("lmtp", "24")}, "which lmtp needs"),
        ({"MsgHost": "-w"}, "MsgHost: '-w' is not a host name"),
        ({"ServerRoot": "opt/msg"}, "ServerRoot: 'opt/msg' is not an absolute path"),
        ({"ServerRoot": "/opt/../etc"}, "contains '..'"),
        ({"MonitorProgram": "chk.sh"}, "MonitorProgram: program 'chk.sh' is not an absolute path"),
        ({"MonitorProgram": "/x 'unterminated"}, "unterminated"),
        ({"SecondLevelMonitor": "often"}, "SecondLevelMonitor: 'often' is not a whole number"),
        ({"ResLogLevel": "DEBUG"}, "ResLogLevel: 'DEBUG' is not one of"),
        ({"LDAPTestUser": "probe"}, "LDAPTestPasswd: is empty, but LDAPTestUser is set"),
        ({"LDAPTestPasswd": "XyZ"}, "LDAPTestUser: is empty, but LDAPTestPasswd is set"),
        ({"LDAPTestUser": "-u", "LDAPTestPasswd": "x"}, "would be read as an option"),
    ],
)  # fmt: skip
def test_each_violation_names_the_attribute_and_the_reason(
    overrides: dict[str, str | tuple[str, ...]], expected: str
) -> None:
    found = violations(**overrides)
    assert any(expected in v for v in found), found


def test_all_violations_are_reported_at_once() -> None:
    found = violations(
        ServerRoot="rel", MsgHost="bad host", ResLogLevel="LOUD", SecondLevelMonitor="-2"
    )
    assert [v.split(":")[0] for v in found] == [
        "ResLogLevel",
        "MsgHost",
        "SecondLevelMonitor",
        "ServerRoot",
    ]


def test_a_secret_value_is_never_shown_in_a_violation() -> None:
    found = violations(LDAPTestPasswd="Sec\x01ret", LDAPTestUser="u")
    assert not any("Sec" in v for v in found)


# What the second level sees of an installation whose immonitor-access is in place.
INSTALLED = Snapshot((), {}, frozenset({f"{ROOT}/sbin/immonitor-access"}))


def test_second_level_probes_follow_the_seed() -> None:
    cfg = config(
        MsgServices=("imap", "143", "imaps", "993", "smtp", "25", "ens", "7997"),
        LDAPTestUser="probe",
        LDAPTestPasswd="BNCnCNc",
    )
    probes = POLICY.second_level(cfg, INSTALLED)
    assert isinstance(probes[0], ProgramProbe)
    assert fill(probes[0].argv, 7) == (
        f"{ROOT}/sbin/immonitor-access", "-u", "probe", "-I", "mail.example.com:143=7", "-w", "-",
    )  # fmt: skip
    assert probes[0].stdin_secret == "LDAPTestPasswd"
    assert probes[1] == TcpProbe("imaps port check", "mail.example.com", 993)
    assert isinstance(probes[2], ProgramProbe)
    assert fill(probes[2].argv, 3)[2:5] == ("probe@example.com", "-S", "mail.example.com:25=3")
    assert len(probes) == 3  # ens has no second level


def test_without_a_test_user_the_second_level_connects() -> None:
    cfg = config(MsgServices=("pop", "110", "http", "80"))
    assert POLICY.second_level(cfg, Snapshot(())) == (
        TcpProbe("pop port check", "mail.example.com", 110),
        TcpProbe("http port check", "mail.example.com", 80),
    )


def test_the_core_is_checked_with_stored() -> None:
    probes = POLICY.second_level(config(MsgServices=("core", "49994")), Snapshot(()))
    assert len(probes) == 1
    assert isinstance(probes[0], ProgramProbe)
    assert probes[0].argv == (f"{ROOT}/lib/stored", "-t", "-v")


def test_a_hosted_domain_user_is_used_as_given() -> None:
    cfg = config(MsgServices=("lmtp", "24"), LDAPTestUser="probe@hosted.org", LDAPTestPasswd="x")
    (probe,) = POLICY.second_level(cfg, INSTALLED)
    assert isinstance(probe, ProgramProbe)
    assert fill(probe.argv, 1)[2:4] == ("probe@hosted.org", "-C")


def proc(pid: int, program: str, name: str | None = None, *, zombie: bool = False) -> ProcessInfo:
    return ProcessInfo(pid, name or program.rsplit("/", 1)[-1], (program, "-d"), 1.0, zombie)


def test_first_level_needs_every_process_of_this_root() -> None:
    cfg = config(MsgServices=("core", "49994"))
    table = (
        proc(1, f"{ROOT}/lib/stored"),
        proc(2, f"{ROOT}/lib/imsched"),
        proc(3, f"{ROOT}2/lib/watcher"),  # another installation
        proc(4, f"{ROOT}/lib/watcher", zombie=True),
    )
    level = POLICY.first_level(cfg, Snapshot(table))
    assert not level.ok
    assert level.missing == (f"{ROOT}/lib/watcher",)
    assert POLICY.first_level(cfg, Snapshot((*table, proc(5, f"{ROOT}/lib/watcher")))).ok


def test_a_look_alike_name_or_path_does_not_count() -> None:
    cfg = config()
    assert not POLICY.first_level(cfg, Snapshot((proc(1, "imapd"),))).ok
    assert not POLICY.first_level(cfg, Snapshot((proc(1, f"{ROOT}/bin/imapd"),))).ok
    assert not POLICY.first_level(cfg, Snapshot((proc(1, f"{ROOT}/lib/imapd", "python3"),))).ok
    relative = ProcessInfo(9, "imapd", ("./imapd",), 1.0, cwd=f"{ROOT}/lib")
    assert POLICY.first_level(cfg, Snapshot((relative,))).ok


def test_clean_of_imap_leaves_the_core_alone() -> None:
    table = (
        proc(1, f"{ROOT}/lib/stored"),
        proc(2, f"{ROOT}/lib/imapd"),
        proc(3, f"{ROOT}/lib/watcher"),
    )
    targets = POLICY.stop_targets(config(), Snapshot(table))
    assert [p.pid for p in targets] == [2]


@given(valid_msg_values(), st.data())
def test_clean_never_selects_a_process_outside_its_instance_and_services(
    values: dict[str, Raw], data: st.DataObject
) -> None:
    cfg = validate(DECLARATION, values).unwrap()
    root = values["ServerRoot"][0]
    table = data.draw(process_tables([root]))
    wanted = set(process_names(cfg))
    for target in POLICY.stop_targets(cfg, Snapshot(table)):
        assert not target.zombie
        program = PurePosixPath(target.program_path or "")
        assert program.parent == PurePosixPath(root) / "lib"
        assert program.name in wanted
        assert PurePosixPath(root) in program.parents


@given(valid_msg_values())
def test_msstart_arguments_come_from_the_known_service_names(values: dict[str, Raw]) -> None:
    cfg = validate(DECLARATION, values).unwrap()
    start, stop = POLICY.start(cfg).argv, POLICY.stop(cfg).argv
    assert start[0] == stop[0] == values["ServerRoot"][0] + "/lib/msstart"
    assert start[1:] and set(start[1:]) <= KNOWN_MSSTART_NAMES
    assert stop[1] == "-k"
    assert stop[2:] and set(stop[2:]) <= KNOWN_MSSTART_NAMES
    assert len(set(start[1:])) == len(start[1:])


@given(valid_msg_values(), st.integers(1, 100))
def test_no_command_or_probe_carries_the_password(values: dict[str, Raw], seconds: int) -> None:
    cfg = validate(DECLARATION, values).unwrap()
    secret = values["LDAPTestPasswd"][0]
    others = [v for name, raw in values.items() if name != "LDAPTestPasswd" for v in raw]
    assume(not any(secret and secret in v for v in others))  # a coincidence is not a leak
    words: list[str] = [*POLICY.start(cfg).argv, *POLICY.stop(cfg).argv]
    for probe in POLICY.second_level(cfg, Snapshot(())):
        if isinstance(probe, ProgramProbe):
            words += fill(probe.argv, seconds)
        else:
            words += [probe.host, str(probe.port)]
    if secret:
        assert not any(secret in word for word in words)


def test_the_service_table_is_consistent() -> None:
    for service in SERVICES:
        assert service.processes
        assert set(service.start_names) <= KNOWN_MSSTART_NAMES
        assert (service.immonitor_flag != "") == (service.with_user.name == "IMMONITOR")


def test_invalid_attributes_parse_from_argv_too() -> None:
    tokens = [
        "r",
        "MsgHost",
        "1",
        "mail",
        "MsgServices",
        "2",
        "smtp",
        "25",
        "ServerRoot",
        "1",
        "/x",
    ]
    values = argv.parse(DECLARATION, EntryPoint.ONLINE, tokens).unwrap().values
    assert not is_successful(validate(DECLARATION, values))


# --- what clean and offline reach beyond the service's own processes ---------------------


def child(pid: int, ppid: int, path: str) -> ProcessInfo:
    return ProcessInfo(pid, path.rsplit("/", 1)[-1], (path,), float(pid), ppid=ppid)


def test_clean_reaches_the_mta_workers_and_channel_programs_even_orphaned() -> None:
    mta = config(MsgServices=("smtp", "25"))
    table = (
        child(10, 1, f"{ROOT}/lib/dispatcher"),
        child(11, 1, f"{ROOT}/lib/job_controller"),
        child(12, 10, f"{ROOT}/lib/tcp_smtp_server"),  # the dispatcher's worker
        child(13, 1, f"{ROOT}/lib/tcp_lmtp_server"),  # a worker whose dispatcher is gone
        child(14, 11, f"{ROOT}/lib/ims_master"),  # a channel program
        child(15, 10, "/usr/bin/logger"),  # a child outside ServerRoot: not ours
        child(16, 1, "/opt/other/lib/tcp_smtp_server"),  # another installation's
        child(17, 1, f"{ROOT}/lib/stored"),  # the core's: never the MTA resource's
        child(18, 10, f"{ROOT}/lib/stored"),  # ... not even as a descendant
        child(19, 12, f"{ROOT}/bin/helper"),  # a grandchild under ServerRoot
    )
    targets = {p.pid for p in POLICY.stop_targets(mta, Snapshot(table))}
    assert targets == {10, 11, 12, 13, 14, 19}
    watch = POLICY.stop_watch(mta)
    assert watch.descendants
    assert {"tcp_smtp_server", "tcp_lmtp_server", "tcp_smtp_client"} <= watch.process_names


def test_the_imap_resource_never_touches_the_core_or_the_mta() -> None:
    imap = config(MsgServices=("imap", "143"))
    table = (
        child(10, 1, f"{ROOT}/lib/imapd"),
        child(11, 10, f"{ROOT}/lib/stored"),
        child(12, 1, f"{ROOT}/lib/tcp_smtp_server"),
        child(13, 10, f"{ROOT}/lib/imapd-helper"),
    )
    assert {p.pid for p in POLICY.stop_targets(imap, Snapshot(table))} == {10, 13}
    assert "tcp_smtp_server" not in POLICY.stop_watch(imap).process_names


def test_what_another_service_started_is_never_reached_through_it() -> None:
    """A watcher that restarted the dispatcher is its parent: the core's clean must not
    reach the MTA's workers through it."""
    core = config(MsgServices=("core", "49994"))
    table = (
        child(10, 1, f"{ROOT}/lib/watcher"),
        child(11, 1, f"{ROOT}/lib/stored"),
        child(12, 1, f"{ROOT}/lib/imsched"),
        child(20, 10, f"{ROOT}/lib/dispatcher"),  # restarted by the watcher
        child(21, 20, f"{ROOT}/lib/tcp_smtp_server"),
        child(22, 10, f"{ROOT}/lib/job_controller"),
        child(23, 22, f"{ROOT}/lib/ims_master"),
        child(24, 10, f"{ROOT}/lib/msprobe"),  # the watcher's own helper: the core's
    )
    assert {p.pid for p in POLICY.stop_targets(core, Snapshot(table))} == {10, 11, 12, 24}
