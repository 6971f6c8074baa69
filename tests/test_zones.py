"""Zones: the pure policy (the Solaris shell path itself cannot run here)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jescore.policy.processes import ProcessInfo
from jescore.policy.zones import GLOBAL_ZONE, ZLOGIN, effective_zone, in_zone, visible

zone_names = st.sampled_from(["global", "mailzone", "ldapzone", ""])


def proc(pid: int, zone: str | None) -> ProcessInfo:
    return ProcessInfo(pid, "imapd", ("/opt/SUNWmsgsr/lib/imapd",), 1.0, zone=zone)


def test_commands_reach_the_zone_through_zlogin_from_the_global_zone() -> None:
    argv = ("/opt/SUNWmsgsr/lib/msstart", "imap")
    assert in_zone(argv, "mailzone", GLOBAL_ZONE) == (ZLOGIN, "mailzone", *argv)
    assert in_zone(argv, "mailzone", "mailzone") == argv  # VCS already runs us in the zone
    assert in_zone(argv, "", GLOBAL_ZONE) == argv
    assert in_zone(argv, "mailzone", None) == argv  # no zones on this system


def test_only_the_zones_processes_count() -> None:
    table = (proc(1, "mailzone"), proc(2, "global"), proc(3, "other"), proc(4, None))
    assert [p.pid for p in visible(table, "mailzone")] == [1]  # unknown zone: not ours
    assert [p.pid for p in visible(table, "global")] == [2]
    assert [p.pid for p in visible(table, None)] == [1, 2, 3, 4]  # no zones on this system


def test_whose_processes_count() -> None:
    assert effective_zone("mailzone", "global", zones_exist=True) == "mailzone"
    assert effective_zone("", "global", zones_exist=True) == "global"
    assert effective_zone("mailzone", None, zones_exist=False) is None


@given(st.lists(st.tuples(st.integers(1, 99), st.one_of(st.none(), zone_names))), zone_names)
def test_a_process_of_another_zone_never_counts(
    entries: list[tuple[int, str | None]], zone: str
) -> None:
    kept = visible([proc(pid, z) for pid, z in entries], zone)
    assert all(p.zone == zone for p in kept)
    assert len(kept) == sum(1 for _, z in entries if z == zone)
