"""LogDbg debug levels: parsing and the lines each level adds, end to end."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jescore.policy.agentlog import DEBUG_LEVELS, debug_levels
from jescore.policy.declaration import Raw
from stubs.halog import engine_log, install_halog, set_logdbg
from stubs.msgserver import StandInServer, build_server_root
from tests.agentcalls import Agents

DEBUG_LINE = re.compile(
    r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d VCS DBG_(\d+) V-16-50-0 SunJESMsg:dbg:\w+:"
)


def test_levels_are_read_from_logdbg_words() -> None:
    assert debug_levels(["DBG_1 DBG_3", "dbg_5,DBG_21", "DBG_AGINFO", "DBG_0", "DBG_22"]) == {
        1,
        3,
        5,
        21,
    }


@given(st.lists(st.text(max_size=12), max_size=6))
def test_reading_levels_never_fails(words: list[str]) -> None:
    assert all(1 <= level <= 21 for level in debug_levels(words))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandInServer]:
    built = build_server_root(tmp_path / "msg", stop_timeout=3)
    yield built
    built.stop_all()


def core(server: StandInServer) -> dict[str, Raw]:
    return {
        "ServerRoot": (str(server.root),),
        "MsgHost": ("127.0.0.1",),
        "MsgServices": ("core", str(server.ports["core"])),
        "ResLogLevel": ("ERROR",),
    }


def levels_logged(lines: list[str]) -> set[int]:
    return {int(m.group(1)) for line in lines if (m := DEBUG_LINE.match(line))}


def test_logdbg_in_the_arglist_adds_exactly_those_levels(
    agents: Agents, server: StandInServer
) -> None:
    outcome = agents.call(
        "SunJESMsg", "online", "dbg", core(server), extra={"LogDbg": "DBG_1 DBG_2"}
    )
    assert outcome.code == 0
    assert levels_logged(outcome.lines) == {1, 2}
    assert outcome.logged("online begins; budget 300 s")
    assert outcome.logged("/lib/msstart store sched: exit 0 after")


def test_logdbg_from_the_environment(agents: Agents, server: StandInServer) -> None:
    agents.env["JESAGENT_LOGDBG"] = "DBG_4"
    outcome = agents.call("SunJESMsg", "monitor", "dbg", core(server))
    assert levels_logged(outcome.lines) == {4}
    assert outcome.logged("processes seen:")


def test_without_logdbg_no_debug_line(agents: Agents, server: StandInServer) -> None:
    outcome = agents.call("SunJESMsg", "monitor", "dbg", core(server))
    assert levels_logged(outcome.lines) == set()


def test_every_level_is_documented() -> None:
    assert sorted(DEBUG_LEVELS) == [1, 2, 3, 4, 5]


# --- through VCS: the stand-in halog (stubs/halog.py) ----------------------------------


def test_through_halog_vcs_keeps_the_lines_and_the_debug_levels_its_logdbg_names(
    agents: Agents, server: StandInServer, tmp_path: Path
) -> None:
    home = tmp_path / "vcs-home"
    install_halog(home)
    agents.env["VCS_HOME"] = str(home)
    set_logdbg(home, "SunJESMsg", ["DBG_4"])
    values = {**core(server), "ResLogLevel": ("INFO",)}
    outcome = agents.call("SunJESMsg", "monitor", "dbg", values)
    assert outcome.code == 100
    assert not agents.log.exists()  # every line went through halog
    lines = engine_log(home).read_text().splitlines()
    assert any(
        re.match(
            r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d VCS INFO V-16-10000-3005 SunJESMsg:dbg:monitor:offline",
            line,
        )
        for line in lines
    ), lines
    assert levels_logged(lines) == {4}  # the agent sent every level; VCS kept DBG_4
    set_logdbg(home, "SunJESMsg", [])
    before = len(lines)
    agents.call("SunJESMsg", "monitor", "dbg", values)
    assert levels_logged(engine_log(home).read_text().splitlines()[before:]) == set()


def test_the_stand_in_halog_refuses_what_halog_refuses(tmp_path: Path) -> None:
    program = install_halog(tmp_path)
    for argv in ([], ["-add"], ["-add", "x", "-sev"], ["-add", "x", "-sev", "Q"], ["-dbg", "1"]):
        done = subprocess.run([str(program), *argv], capture_output=True, check=False)
        assert done.returncode == 1, argv
    assert not engine_log(tmp_path).exists()
