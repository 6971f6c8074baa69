"""SunJESLDAP decisions: processes and pid files, ldapsearch location and dialect."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jescore.policy.commands import NativeProbe, ProgramProbe, Protocol, TcpProbe, fill
from jescore.policy.declaration import Config, Raw, validate
from jescore.policy.processes import ProcessInfo
from jescore.policy.resource import Snapshot
from jescore.policy.sunjesldap import (
    DECLARATION,
    POLICY,
    Dialect,
    dialect_of,
    ldapsearch_candidates,
    version_command,
)
from jescore.result import is_successful
from tests.strategies import absolute_paths, segment

ROOT = "/sunone/dirsrv/slapd-prod1"


def config(**more: str) -> Config:
    values: dict[str, Raw] = {"InstanceRoot": (ROOT,), "LDAPHost": ("ldap.example.com",)}
    values.update({k: (v,) for k, v in more.items()})
    result = validate(DECLARATION, values)
    assert is_successful(result), result
    return result.unwrap()


def slapd(
    pid: int, instance: str = ROOT, *, zombie: bool = False, name: str = "ns-slapd"
) -> ProcessInfo:
    return ProcessInfo(
        pid,
        name,
        ("./ns-slapd", "-D", instance, "-i", f"{instance}/logs/pid"),
        5.0,
        zombie,
        cwd="/x",
    )


def test_defaults_and_start_stop() -> None:
    cfg = config()
    assert POLICY.start(cfg).argv == (f"{ROOT}/start-slapd",)
    assert POLICY.start(cfg).ok_exit_codes == {0, 2}
    assert POLICY.stop(cfg).argv == (f"{ROOT}/stop-slapd",)
    assert POLICY.start(config(SSLDbPasswd="Enc")).stdin_secret == "SSLDbPasswd"


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"InstanceRoot": "slapd-x"}, "InstanceRoot: 'slapd-x' is not an absolute path"),
        ({"LDAPPort": "0"}, "LDAPPort: port 0 is outside"),
        ({"SSLPort": "65536"}, "SSLPort: port 65536 is outside"),
        ({"LDAPHost": "ldap host"}, "LDAPHost: 'ldap host' is not a host name"),
    ],
)
def test_validation(values: dict[str, str], words: str) -> None:
    raw: dict[str, Raw] = {"InstanceRoot": (ROOT,), "LDAPHost": ("h",)}
    raw.update({k: (v,) for k, v in values.items()})
    result = validate(DECLARATION, raw)
    assert not is_successful(result)
    assert any(words in str(v) for v in result.failure())


def test_the_instance_is_found_by_its_dash_d_argument() -> None:
    cfg = config()
    pid_file = f"{ROOT}/logs/pid"
    assert POLICY.first_level(cfg, Snapshot((slapd(7),), {pid_file: "7\n"})).ok
    assert POLICY.first_level(cfg, Snapshot((slapd(7),), {pid_file: None})).ok  # no pid file
    assert not POLICY.first_level(cfg, Snapshot((slapd(7, ROOT + "2"),), {})).ok
    assert not POLICY.first_level(cfg, Snapshot((slapd(7, zombie=True),), {})).ok
    assert not POLICY.first_level(cfg, Snapshot((slapd(7, name="bash"),), {})).ok


def test_a_stale_or_reused_pid_never_counts() -> None:
    cfg = config()
    pid_file = f"{ROOT}/logs/pid"
    reused = ProcessInfo(42, "bash", ("bash",), 1.0)
    level = POLICY.first_level(cfg, Snapshot((reused,), {pid_file: "42"}))
    assert not level.ok
    running = POLICY.first_level(cfg, Snapshot((slapd(9),), {pid_file: "42"}))
    assert running.ok
    assert "stale" in running.notes[0]


def test_ldapsearch_locations_follow_the_seed() -> None:
    assert ldapsearch_candidates(config()) == (
        "/sunone/dirsrv/shared/bin/ldapsearch",
        "/opt/SUNWdsee/dsee6/bin/ldapsearch",
        "/opt/SUNWdsee/dsee6/bin/sparcv9/ldapsearch",
        "/usr/bin/ldapsearch",
    )


def test_the_search_speaks_the_clients_dialect() -> None:
    cfg = config(LDAPPort="3389", SSLPort="636")
    sun_path = "/sunone/dirsrv/shared/bin/ldapsearch"
    sun = POLICY.second_level(
        cfg, Snapshot((), executables=frozenset({sun_path, "/usr/bin/ldapsearch"}))
    )
    assert isinstance(sun[0], ProgramProbe)
    assert fill(sun[0].argv, 5) == (
        sun_path, "-h", "ldap.example.com", "-p", "3389", "-l", "5",
        "-b", "cn=monitor", "-s", "base", "(objectclass=*)", "version",
    )  # fmt: skip
    assert sun[1] == TcpProbe("secure port", "ldap.example.com", 636, tls=True)
    system = "/usr/bin/ldapsearch"
    banner = {version_command(system): "ldapsearch: @(#) $OpenLDAP: ldapsearch 2.5.13 $"}
    modern = POLICY.second_level(cfg, Snapshot((), executables=frozenset({system}), outputs=banner))
    assert isinstance(modern[0], ProgramProbe)
    assert fill(modern[0].argv, 4)[:9] == (
        system, "-x", "-LLL", "-H", "ldap://ldap.example.com:3389", "-o", "nettimeout=4", "-l", "4",
    )  # fmt: skip


def test_without_any_ldapsearch_the_agent_searches_itself() -> None:
    (probe,) = POLICY.second_level(config(), Snapshot(()))
    assert probe == NativeProbe(
        "cn=monitor native search", Protocol.LDAP, "ldap.example.com", 389, target="cn=monitor",
        stands_in=f"no executable ldapsearch ({', '.join(ldapsearch_candidates(config()))})",
    )  # fmt: skip
    (chosen,) = POLICY.second_level(config(NativeProbes="1"), Snapshot(()))
    assert isinstance(chosen, NativeProbe) and chosen.stands_in == ""  # asked for: no warning


@given(st.one_of(st.none(), st.text()))
def test_dialect_detection_is_total(text: str | None) -> None:
    assert dialect_of(text) in set(Dialect)


def test_clean_reaches_the_server_s_children_under_its_server_root_only() -> None:
    server = ProcessInfo(10, "ns-slapd", ("/sunone/dirsrv/bin/ns-slapd", "-D", ROOT), 10.0)
    mine = ProcessInfo(11, "ldif2db", ("/sunone/dirsrv/bin/ldif2db",), 11.0, ppid=10)
    stranger = ProcessInfo(12, "sh", ("/bin/sh", "-c", "x"), 12.0, ppid=10)
    neighbour = slapd(13, "/sunone/dirsrv/slapd-prod2")
    table = (server, mine, stranger, neighbour)
    assert {p.pid for p in POLICY.stop_targets(config(), Snapshot(table))} == {10, 11}
    assert POLICY.stop_watch(config()).descendants


@st.composite
def slapd_hosts(draw: st.DrawFn) -> tuple[str, tuple[ProcessInfo, ...], set[int]]:
    """An InstanceRoot, a process table of ns-slapd servers with every -D spelling of that
    instance and of its neighbours (siblings sharing a prefix, parent, child, the same name
    in another ServerRoot), and the pids that serve the instance: live ns-slapd processes
    whose -D, resolved against their working directory, is the InstanceRoot."""
    server_root = draw(absolute_paths)
    name = f"slapd-{draw(segment)}"
    root = f"{server_root}/{name}"
    parent = server_root.rsplit("/", 1)[1]
    ours: list[tuple[str, str | None]] = [
        (root, None),
        (root + "/", None),
        ("/" + root, None),
        (f"{server_root}/./{name}", None),
        (f"{server_root}//{name}/.", None),
        (f"{root}/logs/..", None),
        (name, server_root),
        (f"../{name}", f"{server_root}/bin"),
        (f"../{parent}/{name}", server_root),
        (".", root),
    ]
    theirs: list[tuple[str, str | None]] = [
        (root + "2", None),
        (f"{server_root}/{name}-b", None),
        (f"{server_root}/{name}.old", None),
        (server_root, None),
        (f"{root}/db", None),
        (f"/other.d{root}", None),
        (name, "/other.d"),
        (name, None),  # relative, and the working directory unknown: not provably ours
        (f"{root}/..", None),
    ]
    table: list[ProcessInfo] = []
    mine: set[int] = set()
    for pid in range(100, 100 + draw(st.integers(1, 12))):
        own = draw(st.booleans())
        directory, cwd = draw(st.sampled_from(ours if own else theirs))
        zombie = draw(st.booleans()) and draw(st.booleans())
        program = draw(st.sampled_from(["ns-slapd", "./ns-slapd", f"{server_root}/bin/ns-slapd"]))
        tail = ("-i", f"{directory}/logs/pid")
        argv = (
            (program, "-D", directory, *tail)
            if draw(st.booleans())
            else (program, *tail, "-D", directory)
        )
        table.append(ProcessInfo(pid, "ns-slapd", argv, float(pid), zombie, cwd=cwd))
        if own and not zombie:
            mine.add(pid)
    return root, tuple(table), mine


@given(slapd_hosts())
def test_clean_and_the_first_level_take_exactly_this_instance_s_servers(
    host: tuple[str, tuple[ProcessInfo, ...], set[int]],
) -> None:
    """Every ns-slapd on the host is looked at (stop_watch names the daemon only); only
    those whose -D is this InstanceRoot, however spelled, are signalled by offline and
    clean or count for monitor."""
    root, table, mine = host
    cfg = config(InstanceRoot=root)
    snap = Snapshot(table)
    assert {p.pid for p in POLICY.stop_targets(cfg, snap)} == mine
    level = POLICY.first_level(cfg, snap)
    assert level.ok == bool(mine)
    assert {p.pid for p in level.found} == mine
