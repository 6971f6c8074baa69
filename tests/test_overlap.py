"""Entry points that overlap, as VCS runs them: up to NumThreads (10) of one agent at once,
so two monitors of one resource, a clean during a monitor, offline while online still
waits, and the resources of one ServerRoot acting side by side.

What must hold: every call answers in the VCS domain; the cycle count and the cached
state stay readable (no torn or half-written file, no temporary file left); a resource
never touches another resource's processes; the answers agree once the calls are over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jescore.policy.declaration import Raw
from jescore.policy.vcs import CleanReason
from stubs.msgserver import StandInServer, build_server_root
from tests.agentcalls import Agents, Outcome

MONITOR = {99, 100, *range(101, 111)}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandInServer]:
    built = build_server_root(tmp_path / "msg", stop_timeout=3)
    yield built
    built.stop_all()


def values(server: StandInServer, service: str, **more: str) -> dict[str, Raw]:
    found: dict[str, Raw] = {
        "ServerRoot": (str(server.root),),
        "MsgHost": ("127.0.0.1",),
        "MsgServices": (service, str(server.ports[service])),
    }
    found.update({k: (v,) for k, v in more.items()})
    return found


def together(*calls: Callable[[], Outcome]) -> list[Outcome]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def state_is_whole(agents: Agents) -> None:
    """Every file the agents keep is complete, and no temporary file is left behind."""
    for path in agents.state.iterdir():
        assert not path.name.startswith(".cycle-"), path.name
        text = path.read_text()
        assert text.endswith("\n"), (path.name, text)
        if path.name.endswith(".cycle"):
            assert text.strip().isdigit(), text


def test_ten_monitors_of_one_resource_at_once(agents: Agents, server: StandInServer) -> None:
    core = values(server, "core")
    imap = values(server, "imap", SecondLevelMonitor="2")
    assert agents.call("SunJESMsg", "online", "core", core).code == 0
    assert agents.call("SunJESMsg", "online", "imap", imap).code == 0
    for _ in range(3):
        outcomes = together(
            *(lambda: agents.call("SunJESMsg", "monitor", "imap", imap) for _ in range(10))
        )
        assert [o.code for o in outcomes] == [110] * 10, [o.lines for o in outcomes]
        state_is_whole(agents)
    assert (agents.state / "SunJESMsg.imap.cycle").exists()


def test_clean_during_a_monitor_leaves_no_doubt_after(
    agents: Agents, server: StandInServer, tmp_path: Path
) -> None:
    slow = tmp_path / "slow-check"
    slow.write_text("#!/bin/sh\nsleep 2\nexit 110\n")
    slow.chmod(0o755)
    core = values(server, "core")
    imap = values(server, "imap", MonitorProgram=str(slow))
    assert agents.call("SunJESMsg", "online", "core", core).code == 0
    assert agents.call("SunJESMsg", "online", "imap", imap).code == 0
    store = sorted(server.pids("stored"))
    monitor, clean = together(
        lambda: agents.call("SunJESMsg", "monitor", "imap", imap, aep_timeout=20),
        lambda: agents.call(
            "SunJESMsg", "clean", "imap", imap, reason=CleanReason.MONITOR_HUNG, aep_timeout=20
        ),
    )
    assert monitor.code in MONITOR
    assert clean.code == 0, clean.lines
    assert not server.pids("imapd")
    assert sorted(server.pids("stored")) == store  # the core resource was not touched
    after = agents.call("SunJESMsg", "monitor", "imap", imap, aep_timeout=20)
    assert after.code == 100
    state_is_whole(agents)


def test_offline_while_online_still_waits(agents: Agents, tmp_path: Path) -> None:
    slow = build_server_root(tmp_path / "slow", store_ready_delay=3, stop_timeout=3)
    try:
        core = values(slow, "core")
        online, offline = together(
            lambda: agents.call("SunJESMsg", "online", "core", core, aep_timeout=30),
            lambda: agents.call("SunJESMsg", "offline", "core", core, aep_timeout=30),
        )
        assert (online.code, offline.code) == (0, 0)
        # Whatever the order, a last offline leaves nothing, and monitor agrees.
        assert agents.call("SunJESMsg", "offline", "core", core, aep_timeout=30).code == 0
        assert not slow.pids("stored")
        assert agents.call("SunJESMsg", "monitor", "core", core).code == 100
        state_is_whole(agents)
    finally:
        slow.stop_all()


def test_resources_of_one_server_root_side_by_side(agents: Agents, server: StandInServer) -> None:
    core = values(server, "core")
    imap = values(server, "imap")
    pop = values(server, "pop")
    # The services depend on the core in every configuration (msstart itself refuses to
    # start them before the store is ready), so VCS starts the core first; the services,
    # each depending only on the core, together.
    assert agents.call("SunJESMsg", "online", "core", core, aep_timeout=60).code == 0
    starts = together(
        lambda: agents.call("SunJESMsg", "online", "imap", imap, aep_timeout=60),
        lambda: agents.call("SunJESMsg", "online", "pop", pop, aep_timeout=60),
        lambda: agents.call("SunJESMsg", "monitor", "core", core),
    )
    assert [o.code for o in starts] == [0, 0, 110]
    assert len(server.pids("stored")) == 1  # one store, however many calls went by
    checks = together(
        *(
            lambda v=v, r=r: agents.call("SunJESMsg", "monitor", r, v)
            for r, v in (("core", core), ("imap", imap), ("pop", pop))
            for _ in range(3)
        )
    )
    assert {o.code for o in checks} == {110}, [(o.code, o.lines) for o in checks if o.code != 110]
    imapd, popd = sorted(server.pids("imapd")), sorted(server.pids("popd"))
    cleaned, watched = together(
        lambda: agents.call(
            "SunJESMsg", "clean", "core", core, reason=CleanReason.MONITOR_HUNG, aep_timeout=30
        ),
        lambda: agents.call("SunJESMsg", "monitor", "imap", imap),
    )
    assert cleaned.code == 0
    assert watched.code in MONITOR
    assert not server.pids("stored")
    # The core's clean stopped the core's processes, not the services' resources.
    assert sorted(server.pids("imapd")) == imapd
    assert sorted(server.pids("popd")) == popd
    state_is_whole(agents)
