"""The stand-in VCS engine (stubs.vcsengine): one test per rule it plays, against tiny
fake agents (shell scripts steered through files), plus the real SunJESMsg agent against
the stand-in Messaging Server.

Most tests run on virtual time (time_scale 0): monitors come due at once, so a
MonitorInterval of 10 costs nothing. Only timeouts cost real time (a fraction of a second,
through timeout_scale).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from jescore.policy import argv as vcs_argv
from jescore.policy import sunjesmsg
from jescore.policy.declaration import Dimension, Raw, VcsType
from jescore.policy.monitoring import cycles_until_due
from jescore.policy.vcs import CleanReason, EntryPoint
from jescore.tooling.vcsconf_model import (
    Configuration,
    Group,
    GroupDependency,
    Resource,
    ResourceLink,
    TypeAttr,
    TypeDef,
)
from stubs import vcsengine
from stubs.msgserver import StandInServer, build_server_root
from stubs.vcsengine import (
    Engine,
    EngineError,
    Event,
    EventKind,
    MonitorResult,
    ResState,
    classify_monitor,
    params_for,
    typedef_from_declaration,
)
from stubs.vcsengine_status import format_event

FAKE = "Fake"

# One script plays every entry point; files under $FAKE_CTL steer it, per resource:
#   <res>.up                 the resource is up (online creates it, offline and clean remove it)
#   <res>.<entry>.hang       the entry point sleeps (until the engine kills it)
#   <res>.online.noop        online does nothing;  <res>.offline.noop  offline does nothing
#   <res>.clean.fail         holds N: clean fails N more times
#   <res>.monitor.seq        exit codes the next monitors answer, one a line
FAKE_AGENT = """#!/bin/sh
entry=${0##*/}
c=$FAKE_CTL/$1
printf '%s\\n' "$entry $*" >> "$FAKE_CTL/calls"
if [ -e "$c.$entry.hang" ]; then sleep 30; fi
case $entry in
online)
    if [ -s "$c.online.meet" ]; then  # wait (3 s at most) for another resource's online
        : > "$c.online.started"
        other=$FAKE_CTL/$(cat "$c.online.meet").online.started
        n=0
        while [ ! -e "$other" ] && [ $n -lt 30 ]; do sleep 0.1; n=$((n + 1)); done
        if [ -e "$other" ]; then echo met > "$c.met"; else echo alone > "$c.met"; fi
    fi
    [ -e "$c.online.noop" ] || : > "$c.up"
    exit 0 ;;
offline)
    [ -e "$c.offline.noop" ] || rm -f "$c.up"
    exit 0 ;;
clean)
    if [ -s "$c.clean.fail" ]; then
        left=$(cat "$c.clean.fail")
        if [ "$left" -gt 0 ]; then
            echo $((left - 1)) > "$c.clean.fail"
            exit 1
        fi
    fi
    rm -f "$c.up"
    exit 0 ;;
monitor)
    if [ -e "$c.monitor.slow" ]; then sleep 1; fi
    if [ -s "$c.monitor.seq" ]; then
        code=$(head -n 1 "$c.monitor.seq")
        tail -n +2 "$c.monitor.seq" > "$c.monitor.seq.new"
        mv "$c.monitor.seq.new" "$c.monitor.seq"
        exit "$code"
    fi
    [ -e "$c.up" ] && exit 110
    exit 100 ;;
esac
exit 0
"""


def fake_type(**statics: int) -> TypeDef:
    attrs = [
        TypeAttr("Payload", VcsType.STR, Dimension.SCALAR, ("",)),
        TypeAttr("Items", VcsType.STR, Dimension.VECTOR, ()),
        TypeAttr("SecondLevelMonitor", VcsType.INT, Dimension.SCALAR, ("0",)),
        TypeAttr(
            "ArgList",
            VcsType.STR,
            Dimension.VECTOR,
            ("State", "Payload", "Items", "SecondLevelMonitor"),
            static=True,
        ),
    ]
    attrs += [
        TypeAttr(name, VcsType.INT, Dimension.SCALAR, (str(value),), static=True)
        for name, value in statics.items()
    ]
    return TypeDef(FAKE, tuple(attrs))


def res(name: str, **values: str | tuple[str, ...]) -> Resource:
    raw = {k: (v,) if isinstance(v, str) else v for k, v in values.items()}
    return Resource(FAKE, name, raw)


def group(
    name: str,
    *resources: Resource,
    links: Sequence[tuple[str, str]] = (),
    deps: Sequence[GroupDependency] = (),
    systems: Sequence[str] = ("n1", "n2"),
) -> Group:
    flat: list[str] = []
    for priority, system in enumerate(systems):
        flat += [system, str(priority)]
    return Group(
        name,
        {"SystemList": tuple(flat)},
        tuple(resources),
        tuple(ResourceLink(p, c) for p, c in links),
        tuple(deps),
    )


def conf(*groups: Group, **statics: int) -> Configuration:
    base = {"MonitorInterval": 10, "OfflineMonitorInterval": 50, **statics}
    return Configuration(types=(fake_type(**base),), groups=groups)


@dataclass
class Fake:
    agents: Path
    ctl: Path
    engines: list[Engine] = field(default_factory=list)

    def engine(
        self, config: Configuration, time_scale: float = 0.0, timeout_scale: float = 1.0
    ) -> Engine:
        made = Engine(
            config,
            agents_dir=self.agents,
            env={"FAKE_CTL": str(self.ctl)},
            time_scale=time_scale,
            timeout_scale=timeout_scale,
        )
        self.engines.append(made)
        return made

    def flag(self, name: str, what: str, value: str = "") -> None:
        (self.ctl / f"{name}.{what}").write_text(value)

    def unflag(self, name: str, what: str) -> None:
        (self.ctl / f"{name}.{what}").unlink(missing_ok=True)

    def up(self, name: str) -> bool:
        return (self.ctl / f"{name}.up").exists()

    def go_down(self, name: str) -> None:
        self.unflag(name, "up")

    def leftovers(self) -> list[psutil.Process]:
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.environ().get("FAKE_CTL") == str(self.ctl):
                    found.append(proc)
            except (psutil.Error, OSError):
                continue
        return found


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Fake]:
    agents = tmp_path / "agents"
    folder = agents / FAKE
    folder.mkdir(parents=True)
    for entry in EntryPoint:
        script = folder / entry.value
        script.write_text(FAKE_AGENT)
        script.chmod(0o755)
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    made = Fake(agents, ctl)
    try:
        yield made
    finally:
        for engine in made.engines:
            engine.close()
        left = made.leftovers()
        for proc in left:
            proc.kill()
        assert not left, f"processes left behind: {left}"


def entries(engine: Engine, resource: str | None = None) -> list[str]:
    """The entry points called, as 'resource:entry' (clean with its reason)."""
    out = []
    for event in engine.calls(resource):
        name = f"{event.resource}:{event.entry}"
        if event.reason is not None:
            name += f"({event.reason.value})"
        out.append(name)
    return out


def after(engine: Engine, mark: int, resource: str | None = None) -> list[str]:
    """Entry points called since event number `mark`."""
    sub = [e for e in engine.calls(resource) if e.seq >= mark]
    return [
        f"{e.resource}:{e.entry}" + (f"({e.reason.value})" if e.reason is not None else "")
        for e in sub
    ]


def mark(engine: Engine) -> int:
    return len(engine.events)


def kinds(engine: Engine, kind: EventKind, since: int = 0) -> list[Event]:
    return [e for e in engine.events if e.kind is kind and e.seq >= since]


# --- entry points: argv, timeouts, exit codes -------------------------------------------


def test_argv_is_v50_tuples_with_the_entry_points_own_budget(fake: Fake) -> None:
    config = conf(
        group("g", res("r1", Payload="hello world", Items=("a", "b"))),
        AEPTimeout=1,
        MonitorTimeout=20,
        OnlineTimeout=30,
        OfflineTimeout=40,
        CleanTimeout=7,
    )
    engine = fake.engine(config)
    assert engine.online("g") == "ONLINE"
    online = engine.calls("r1", "online")[0]
    assert online.argv == (
        "r1", "State", "1", "1", "Payload", "1", "hello world", "Items", "2", "a", "b",
        "SecondLevelMonitor", "1", "0", "AEPTimeout", "1", "30",
    )  # fmt: skip
    confirm = engine.calls("r1", "monitor")[-1]
    assert confirm.argv[1:4] == ("State", "1", "1")  # still waiting for online then
    monitor = engine.monitor_now("r1")
    assert monitor.argv[-3:] == ("AEPTimeout", "1", "20")
    assert monitor.argv[1:4] == ("State", "1", "2")  # online now
    clean = engine.argv("r1", EntryPoint.CLEAN, CleanReason.UNEXPECTED_OFFLINE)
    assert clean[:2] == ("r1", "4")
    assert clean[-3:] == ("AEPTimeout", "1", "7")
    engine.offline("g")
    assert engine.calls("r1", "offline")[0].argv[-1] == "40"
    # Without AEPTimeout = 1 in the type, nothing is appended.
    plain = fake.engine(conf(group("g", res("r1"))))
    assert "AEPTimeout" not in plain.argv("r1", EntryPoint.MONITOR)
    # A timeout_scale shrinks the enforced budget, and AEPTimeout tells the agent so.
    scaled = fake.engine(config, timeout_scale=0.1)
    assert scaled.argv("r1", EntryPoint.ONLINE)[-1] == "3"


def test_our_types_get_render_v50_and_secrets_are_masked_in_the_log(fake: Fake) -> None:
    values: dict[str, Raw] = {
        "ServerRoot": ("/opt/SUNWmsgsr",),
        "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143"),
        "LDAPTestUser": ("probe",),
        "LDAPTestPasswd": ("BNCnCNc",),
    }
    typedef = typedef_from_declaration(sunjesmsg.DECLARATION, AEPTimeout=1)
    config = Configuration(
        types=(typedef,),
        groups=(Group("m", {}, (Resource("SunJESMsg", "msg1", values),)),),
    )
    engine = fake.engine(config)  # no SunJESMsg agent in the fake agents dir
    expected = vcs_argv.render_v50(
        sunjesmsg.DECLARATION, "msg1", values, {"State": "0", "IState": "0", "AEPTimeout": "60"}
    )
    assert engine.argv("msg1", EntryPoint.MONITOR) == expected
    event = engine.monitor_now("msg1")
    assert event.code is None and "cannot run" in event.text  # missing program: unknown
    assert "BNCnCNc" not in event.argv
    assert event.argv[event.argv.index("LDAPTestPasswd") + 2] == "****"
    assert engine.state_text("msg1") == "NOT PROBED|UNKNOWN"  # the probe gave no answer


def test_an_entry_point_past_its_timeout_is_killed_with_its_process_group(fake: Fake) -> None:
    engine = fake.engine(conf(group("g", res("r1")), MonitorTimeout=2), timeout_scale=0.1)
    fake.flag("r1", "monitor.hang")
    started = time.monotonic()
    event = engine.monitor_now("r1")
    assert event.timed_out and event.code is None
    assert 0.15 < time.monotonic() - started < 2
    # The shell and its sleep, both gone: SIGKILL reaches the group at once, but a loaded
    # machine may take a moment to end each member.
    deadline = time.monotonic() + 3
    while fake.leftovers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.leftovers() == []


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        (110, MonitorResult.ONLINE),
        (101, MonitorResult.ONLINE),
        (109, MonitorResult.ONLINE),
        (100, MonitorResult.OFFLINE),
        (200, MonitorResult.INTENTIONAL_OFFLINE),
        (99, MonitorResult.UNKNOWN),
        (0, MonitorResult.UNKNOWN),
        (1, MonitorResult.UNKNOWN),
        (111, MonitorResult.UNKNOWN),
    ],
)
def test_monitor_exit_codes(code: int, meaning: MonitorResult) -> None:
    assert classify_monitor(code) is meaning


def test_monitor_answers_drive_the_state(fake: Fake) -> None:
    engine = fake.engine(conf(group("g", res("r1"), res("r2"))))
    fake.flag("r1", "monitor.seq", "105\n99\n42\n110\n")
    engine.monitor_now("r1")
    assert engine.state_text("r1") == "ONLINE"  # 101-109: online, lower confidence
    engine.monitor_now("r1")
    assert engine.state_text("r1") == "ONLINE|UNKNOWN"
    engine.monitor_now("r1")
    assert engine.state_text("r1") == "ONLINE|UNKNOWN"  # unknown never faults
    engine.monitor_now("r1")
    assert engine.state_text("r1") == "ONLINE"
    engine.monitor_now("r2")
    assert engine.state("r2") is ResState.OFFLINE
    assert entries(engine) == ["r1:monitor"] * 4 + ["r2:monitor"]


def test_a_probe_without_an_answer_keeps_the_group_down_until_a_monitor_tells(
    fake: Fake,
) -> None:
    """VCS does not start a group on a system where one of its resources is not probed;
    a probe answering 99 (or timing out) leaves it so until a later monitor answers."""
    engine = fake.engine(conf(group("g", res("r1"), res("r2"))))
    fake.flag("r1", "monitor.seq", "99\n100\n")
    engine.probe()
    assert engine.state_text("r1") == "NOT PROBED|UNKNOWN"
    assert engine.state("r2") is ResState.OFFLINE
    engine.online("g", wait=False)
    engine.run_for(40)  # short of OfflineMonitorInterval (50): r1 is not asked again
    assert "r1:online" not in entries(engine) and "r2:online" not in entries(engine)
    assert engine.state("r1") is ResState.UNPROBED
    engine.run_for(20)  # the next monitor answers offline: the group starts
    engine.settle()
    assert engine.state("r1") is ResState.ONLINE and engine.state("r2") is ResState.ONLINE


# --- concurrency --------------------------------------------------------------------------


@pytest.mark.parametrize(("threads", "first_saw"), [(10, "met"), (1, "alone")])
def test_independent_resources_go_online_together_up_to_num_threads(
    fake: Fake, threads: int, first_saw: str
) -> None:
    """Each online waits (3 s at most) for the other's to begin: with NumThreads 10 both
    are running at once and meet; with NumThreads 1 the first runs alone."""
    fake.flag("a", "online.meet", "b")
    fake.flag("b", "online.meet", "a")
    engine = fake.engine(conf(group("g", res("a"), res("b")), NumThreads=threads))
    engine.online("g")
    assert engine.group_state("g").startswith("ONLINE")
    assert (fake.ctl / "a.met").read_text().strip() == first_saw
    assert (fake.ctl / "b.met").read_text().strip() == "met"
    a, b = engine.calls("a", "online")[0], engine.calls("b", "online")[0]
    if threads > 1:  # stamped when each call started: b began before a ended
        assert b.wall < a.wall + (a.seconds or 0)
    else:
        assert b.wall >= a.wall + (a.seconds or 0) - 0.05


def test_monitors_due_together_run_together(fake: Fake) -> None:
    for name in ("a", "b", "c"):
        fake.flag(name, "monitor.slow")  # each takes a second
    engine = fake.engine(conf(group("g", res("a"), res("b"), res("c"))))
    engine.probe()  # three probes in one batch
    probes = [engine.calls(name, "monitor")[0] for name in ("a", "b", "c")]
    ends = [p.wall + (p.seconds or 0) for p in probes]
    assert max(p.wall for p in probes) < min(ends)  # all three were running at one moment


def test_answers_are_acted_on_as_they_arrive_not_in_configuration_order(fake: Fake) -> None:
    """a comes first in the group but its monitor takes a second: b's answer is taken
    first, and what it starts (b's clean) runs while a's monitor is still running."""
    engine = fake.engine(conf(group("g", res("a", Critical="0"), res("b", Critical="0"))))
    engine.online("g")
    fake.flag("a", "monitor.slow")
    assert [e.resource for e in engine.cycle()] == ["b", "a"]
    fake.go_down("b")
    m = mark(engine)
    assert engine.tick()  # both monitors are due at the same moment
    assert after(engine, m) == ["b:monitor", "b:clean(4)", "a:monitor"]
    clean, slow = engine.calls("b", "clean")[-1], engine.calls("a", "monitor")[-1]
    assert slow.wall < clean.wall < slow.wall + (slow.seconds or 0)  # during a's monitor
    assert engine.state("b") is ResState.FAULTED and engine.state("a") is ResState.ONLINE


def test_a_persistent_resource_is_only_monitored(fake: Fake) -> None:
    """Operations None (the NIC type): never onlined or offlined; the group is offline
    once its other resources are, and a resource that requires it waits for it."""
    fake.flag("nic", "up")  # the card works
    config = conf(group("g", res("nic", Operations="None"), res("ip"), links=[("ip", "nic")]))
    engine = fake.engine(config)
    assert engine.online("g").startswith("ONLINE")
    assert entries(engine, "nic") == ["nic:monitor"]  # probed online, nothing else
    assert entries(engine, "ip")[:2] == ["ip:monitor", "ip:online"]
    with pytest.raises(EngineError, match="never taken offline"):
        engine.offline_resource("nic")
    assert engine.offline("g") == "OFFLINE"
    assert engine.state("nic") is ResState.ONLINE and not fake.up("ip")
    assert "nic:offline" not in entries(engine) and "nic:online" not in entries(engine)

    fake.unflag("nic", "up")  # a dead card: nothing can bring it, nor what needs it, up
    down = fake.engine(conf(group("h", res("nic", Operations="None"), res("ip2"),
                                  links=[("ip2", "nic")])))  # fmt: skip
    down.online("h")
    assert "nic:online" not in entries(down) and "ip2:online" not in entries(down)
    assert down.group_state("h") == "OFFLINE"


def test_an_on_only_resource_is_never_taken_offline(fake: Fake) -> None:
    engine = fake.engine(conf(group("g", res("once", Operations="OnOnly"), res("other"))))
    engine.online("g")
    assert "once:online" in entries(engine)
    engine.offline("g")
    assert "once:offline" not in entries(engine) and "other:offline" in entries(engine)
    assert engine.group_state("g") == "OFFLINE"


# --- monitor scheduling -----------------------------------------------------------------


def test_monitor_interval_online_and_offline_monitor_interval_offline(fake: Fake) -> None:
    engine = fake.engine(conf(group("up", res("on")), group("down", res("off"))))
    engine.online("up")
    start = engine.now()
    engine.run_for(200)
    on = [e.at for e in engine.calls("on", "monitor") if e.at > start]
    off = [e.at for e in engine.calls("off", "monitor")]
    assert [round(b - a) for a, b in itertools.pairwise(on)] == [10] * (len(on) - 1)
    assert len(on) == 20
    assert [round(b - a) for a, b in itertools.pairwise(off)] == [50] * (len(off) - 1)
    assert len(off) == 5  # the probe at 0, then 50, 100, 150, 200


def test_time_scale_runs_intervals_in_scaled_real_time(fake: Fake) -> None:
    engine = fake.engine(conf(group("g", res("r1"))), time_scale=0.01)
    engine.online("g")
    before = len(engine.calls("r1", "monitor"))
    started = time.monotonic()
    engine.run_for(50)  # five MonitorIntervals of 10 s, at 0.01: half a second
    took = time.monotonic() - started
    assert 0.45 < took < 1.5
    assert 4 <= len(engine.calls("r1", "monitor")) - before <= 6


def test_stepping_runs_one_monitor_cycle_now(fake: Fake) -> None:
    engine = fake.engine(conf(group("g", res("a"), res("b"))))
    engine.online("g")
    at = engine.now()
    events = engine.cycle()
    assert sorted(e.resource for e in events) == ["a", "b"]  # in the order they answered
    assert all(e.at == at for e in events)  # no time passed


# --- online and offline -----------------------------------------------------------------


def test_online_is_confirmed_by_monitor(fake: Fake) -> None:
    engine = fake.engine(conf(group("g", res("r1"))))
    assert engine.online("g") == "ONLINE"
    assert entries(engine) == ["r1:monitor", "r1:online", "r1:monitor"]  # probe first
    changes = [(e.old, e.new) for e in kinds(engine, EventKind.RESOURCE)]
    assert changes == [
        ("NOT PROBED", "OFFLINE"),
        ("OFFLINE", "W_ONLINE"),
        ("W_ONLINE", "ONLINE"),
    ]
    online = engine.calls("r1", "online")[0]
    assert online.code == 0 and online.seconds is not None and online.seconds > 0
    assert "r1" in format_event(online) and "online -> 0" in format_event(online)


def test_online_ineffective_is_cleaned_with_reason_3_after_online_wait_limit(
    fake: Fake,
) -> None:
    engine = fake.engine(conf(group("g", res("r1", Critical="0")), OnlineWaitLimit=2))
    fake.flag("r1", "online.noop")
    engine.online("g")
    calls = entries(engine)
    assert calls[1:] == ["r1:online", "r1:monitor", "r1:monitor", "r1:monitor", "r1:clean(3)"]
    times = [e.at for e in engine.calls("r1", "monitor")[1:]]
    assert [round(t - times[0]) for t in times] == [0, 10, 20]  # at once, then per interval
    assert engine.state("r1") is ResState.FAULTED


def test_online_timeout_is_cleaned_with_reason_2(fake: Fake) -> None:
    engine = fake.engine(
        conf(group("g", res("r1", Critical="0")), OnlineTimeout=2), timeout_scale=0.1
    )
    fake.flag("r1", "online.hang")
    engine.online("g")
    online = engine.calls("r1", "online")[0]
    assert online.timed_out
    assert entries(engine)[-1] == "r1:clean(2)"
    assert engine.state("r1") is ResState.FAULTED


def test_offline_is_confirmed_by_monitor(fake: Fake) -> None:
    engine = fake.engine(conf(group("g", res("r1"))))
    engine.online("g")
    at = mark(engine)
    assert engine.offline("g") == "OFFLINE"
    assert after(engine, at) == ["r1:offline", "r1:monitor"]
    assert not fake.up("r1")


def test_offline_timeout_is_cleaned_with_reason_0(fake: Fake) -> None:
    engine = fake.engine(conf(group("g", res("r1")), OfflineTimeout=2), timeout_scale=0.1)
    engine.online("g")
    fake.flag("r1", "offline.hang")
    at = mark(engine)
    assert engine.offline("g") == "OFFLINE"
    assert after(engine, at) == ["r1:offline", "r1:clean(0)"]
    assert engine.calls("r1", "offline")[0].timed_out
    assert not fake.up("r1")


def test_offline_ineffective_is_cleaned_with_reason_1(fake: Fake) -> None:
    engine = fake.engine(conf(group("g", res("r1"))))
    engine.online("g")
    fake.flag("r1", "offline.noop")
    at = mark(engine)
    assert engine.offline("g") == "OFFLINE"
    assert after(engine, at) == ["r1:offline", "r1:monitor", "r1:clean(1)"]
    assert not fake.up("r1")


def test_online_retry_limit_retries_an_ineffective_online(fake: Fake) -> None:
    config = conf(group("g", res("r1")), OnlineRetryLimit=1, OnlineWaitLimit=0)
    engine = fake.engine(config)
    engine.probe()
    fake.flag("r1", "monitor.seq", "100\n")  # the first monitor after online: not yet
    at = mark(engine)
    assert engine.online("g") == "ONLINE"
    assert after(engine, at) == [
        "r1:online", "r1:monitor", "r1:clean(3)", "r1:online", "r1:monitor",
    ]  # fmt: skip
    assert [e.text for e in kinds(engine, EventKind.RESTART)] == ["online retry 1 of 1"]


# --- faults of an online resource -------------------------------------------------------


def test_tolerance_limit_offline_results_before_the_fault(fake: Fake) -> None:
    engine = fake.engine(conf(group("g", res("r1", Critical="0")), ToleranceLimit=2))
    engine.online("g")
    fake.go_down("r1")
    at = mark(engine)
    engine.monitor_now("r1")
    engine.monitor_now("r1")
    assert engine.state("r1") is ResState.ONLINE
    assert engine.counters("r1").tolerance == 2
    assert after(engine, at) == ["r1:monitor", "r1:monitor"]
    engine.monitor_now("r1")
    assert after(engine, at)[2:] == ["r1:monitor", "r1:clean(4)"]
    assert engine.state("r1") is ResState.FAULTED  # RestartLimit 0


def test_restart_limit_restarts_locally_then_faults(fake: Fake) -> None:
    engine = fake.engine(conf(group("g", res("r1", Critical="0")), RestartLimit=1))
    engine.online("g")
    fake.go_down("r1")
    at = mark(engine)
    engine.monitor_now("r1")
    engine.settle()
    assert after(engine, at) == ["r1:monitor", "r1:clean(4)", "r1:online", "r1:monitor"]
    assert engine.state("r1") is ResState.ONLINE
    assert engine.counters("r1").restarts == 1
    assert [e.text for e in kinds(engine, EventKind.RESTART)] == [
        "local restart 1 of 1 (the resource went offline unexpectedly)"
    ]
    fake.go_down("r1")
    at = mark(engine)
    engine.monitor_now("r1")
    engine.settle()
    assert after(engine, at) == ["r1:monitor", "r1:clean(4)"]  # no restart left
    assert engine.state("r1") is ResState.FAULTED


def test_conf_interval_online_without_problems_clears_the_restart_count(fake: Fake) -> None:
    engine = fake.engine(
        conf(group("g", res("r1", Critical="0")), RestartLimit=1, ConfInterval=100)
    )
    engine.online("g")
    fake.go_down("r1")
    engine.monitor_now("r1")
    engine.settle()
    assert engine.counters("r1").restarts == 1
    engine.run_for(60)  # not yet ConfInterval
    assert engine.counters("r1").restarts == 1
    engine.run_for(50)
    assert engine.counters("r1").restarts == 0
    assert any("counters cleared" in e.text for e in kinds(engine, EventKind.NOTE))
    fake.go_down("r1")
    engine.monitor_now("r1")
    engine.settle()
    assert engine.state("r1") is ResState.ONLINE  # restarted again


def test_fault_on_monitor_timeouts_in_a_row_cleans_with_reason_5(fake: Fake) -> None:
    engine = fake.engine(
        conf(group("g", res("r1", Critical="0")), FaultOnMonitorTimeouts=2, MonitorTimeout=2),
        timeout_scale=0.1,
    )
    engine.online("g")
    fake.flag("r1", "monitor.hang")
    engine.monitor_now("r1")
    assert engine.state_text("r1") == "ONLINE|MONITOR_TIMEDOUT"
    fake.unflag("r1", "monitor.hang")
    engine.monitor_now("r1")  # an answer in between: the count starts again
    assert engine.counters("r1").monitor_timeouts == 0
    fake.flag("r1", "monitor.hang")
    at = mark(engine)
    engine.monitor_now("r1")
    assert engine.state("r1") is ResState.ONLINE
    engine.monitor_now("r1")
    assert after(engine, at) == ["r1:monitor", "r1:monitor", "r1:clean(5)"]
    assert engine.state("r1") is ResState.FAULTED
    assert not fake.up("r1")


def test_a_failed_clean_is_retried_after_the_next_monitor(fake: Fake) -> None:
    engine = fake.engine(conf(group("g", res("r1", Critical="0"))))
    engine.online("g")
    fake.flag("r1", "clean.fail", "2")
    fake.go_down("r1")
    at = mark(engine)
    engine.monitor_now("r1")
    assert engine.state_text("r1") == "ONLINE|CLEAN_FAILED"
    assert engine.settle()
    assert after(engine, at) == [
        "r1:monitor", "r1:clean(4)", "r1:monitor", "r1:clean(4)", "r1:monitor", "r1:clean(4)",
    ]  # fmt: skip
    assert engine.counters("r1").clean_retries == 2
    assert engine.state("r1") is ResState.FAULTED


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_clean_retry_limit_ends_in_admin_wait(fake: Fake, limit: int) -> None:
    engine = fake.engine(conf(group("g", res("r1", Critical="0")), CleanRetryLimit=limit))
    engine.online("g")
    fake.flag("r1", "clean.fail", "5")
    fake.go_down("r1")
    engine.monitor_now("r1")
    engine.settle()
    assert len(engine.calls("r1", "clean")) == limit  # that many clean calls, no more
    assert engine.state_text("r1") == "ONLINE|ADMIN_WAIT"


def test_conf_interval_is_never_shorter_than_the_tolerance_can_take() -> None:
    typedef = fake_type(MonitorInterval=60, MonitorTimeout=60, ToleranceLimit=2, ConfInterval=5)
    params = params_for(typedef, res("r1"))
    assert params.conf_interval == (60 + 60) * 2 + 60 + 10
    assert params_for(typedef, res("r1", ConfInterval="900")).conf_interval == 900


# --- service groups ---------------------------------------------------------------------


def test_group_online_follows_requires_links_and_offline_reverses(fake: Fake) -> None:
    config = conf(
        group(
            "g",
            res("a"),
            res("d"),
            res("b"),
            res("c"),
            links=[("a", "b"), ("b", "c")],
        )
    )
    engine = fake.engine(config)
    assert engine.online("g") == "ONLINE"
    starts = [e.resource for e in engine.calls(entry="online")]
    assert starts == ["d", "c", "b", "a"]  # d is independent: order of appearance
    engine.offline("g")
    stops = [e.resource for e in engine.calls(entry="offline")]
    assert stops == ["d", "a", "b", "c"]


def test_a_soft_group_dependency_orders_online_but_not_offline(fake: Fake) -> None:
    soft = GroupDependency("db", "online", "global", "soft")
    config = conf(group("app", res("web"), deps=[soft]), group("db", res("data")))
    engine = fake.engine(config)
    with pytest.raises(EngineError, match="requires group db online"):
        engine.online("app")
    states = engine.online_all()
    assert states == {"app": "ONLINE", "db": "ONLINE"}
    order = [e.resource for e in engine.calls(entry="online")]
    assert order == ["data", "web"]
    assert engine.offline("db") == "OFFLINE"
    assert engine.group_state("app") == "ONLINE"  # soft: the parent stays
    engine.offline("app")
    assert engine.online("app", with_children=True) == "ONLINE"
    assert engine.group_state("db") == "ONLINE"


def test_a_firm_group_dependency_follows_its_child(fake: Fake) -> None:
    firm = GroupDependency("db", "online", "global", "firm")
    config = conf(group("app", res("web"), deps=[firm]), group("db", res("data")))
    engine = fake.engine(config)
    engine.online_all()
    with pytest.raises(EngineError, match="firm"):
        engine.offline("db")
    fake.go_down("data")
    at = mark(engine)
    engine.monitor_now("data")
    engine.settle()
    assert after(engine, at) == [
        "data:monitor", "data:clean(4)", "web:offline", "web:monitor",
        "data:online", "data:monitor", "web:online", "web:monitor",
    ]  # fmt: skip
    assert engine.node("db") == "n2"
    assert engine.group_state("app") == "ONLINE"


def test_a_critical_fault_fails_the_group_over(fake: Fake) -> None:
    config = conf(group("g", res("top"), res("base"), links=[("top", "base")]))
    engine = fake.engine(config)
    engine.online("g")
    assert engine.node("g") == "n1"
    fake.go_down("base")
    at = mark(engine)
    engine.monitor_now("base")
    assert engine.state("base") is ResState.FAULTED
    assert engine.settle()
    assert after(engine, at) == [
        "base:monitor", "base:clean(4)", "top:offline", "top:monitor",
        "base:online", "base:monitor", "top:online", "top:monitor",
    ]  # fmt: skip
    failover = kinds(engine, EventKind.FAILOVER, at)
    assert [(e.node, e.text) for e in failover] == [("n2", "n1 -> n2")]
    assert engine.node("g") == "n2"
    assert engine.faulted_on("g") == ("n1",)
    assert engine.group_state("g") == "ONLINE"
    # A second fault finds no system left: the group stays offline and faulted.
    fake.go_down("base")
    engine.monitor_now("base")
    engine.settle()
    assert engine.group_state("g") == "OFFLINE|FAULTED"
    assert engine.faulted_on("g") == ("n1", "n2")
    engine.clear("g")
    assert engine.group_state("g") == "OFFLINE"
    assert engine.online("g") == "ONLINE"


def test_a_non_critical_fault_does_not_fail_the_group_over(fake: Fake) -> None:
    config = conf(group("g", res("main"), res("extra", Critical="0")))
    engine = fake.engine(config)
    engine.online("g")
    fake.go_down("extra")
    at = mark(engine)
    engine.monitor_now("extra")
    engine.settle()
    assert after(engine, at) == ["extra:monitor", "extra:clean(4)"]
    assert engine.state("main") is ResState.ONLINE
    assert engine.group_state("g") == "PARTIAL|FAULTED"
    assert engine.node("g") == "n1"
    assert not kinds(engine, EventKind.FAILOVER)


def test_a_fault_under_a_critical_parent_fails_the_group_over(fake: Fake) -> None:
    config = conf(group("g", res("top"), res("base", Critical="0"), links=[("top", "base")]))
    engine = fake.engine(config)
    engine.online("g")
    fake.go_down("base")
    engine.monitor_now("base")
    engine.settle()
    assert engine.node("g") == "n2"
    assert engine.group_state("g") == "ONLINE"


def test_switch_takes_the_group_offline_then_online_elsewhere(fake: Fake) -> None:
    top = res("top", Payload="here", **{"Payload@n2": "there"})  # a localised value
    config = conf(group("g", top, res("base"), links=[("top", "base")]))
    engine = fake.engine(config)
    engine.online("g")
    at = mark(engine)
    assert engine.switch("g") == "ONLINE"
    assert after(engine, at) == [
        "top:offline", "top:monitor", "base:offline", "base:monitor",
        "base:online", "base:monitor", "top:online", "top:monitor",
    ]  # fmt: skip
    assert engine.node("g") == "n2"
    assert [e.argv[6] for e in engine.calls("top", "online")] == ["here", "there"]
    assert [e.text for e in kinds(engine, EventKind.SWITCH, at)] == [
        "switch n1 -> n2",
        "n1 -> n2",
    ]


def test_disabled_resources_are_left_alone_and_auto_failover_0_keeps_the_group_here(
    fake: Fake,
) -> None:
    base = group("g", res("main"), res("spare", Enabled="0"))
    config = conf(Group("g", {**base.values, "AutoFailOver": ("0",)}, base.resources))
    engine = fake.engine(config)
    assert engine.online("g") == "ONLINE"
    engine.run_for(100)
    assert engine.calls("spare") == []
    assert "NOT PROBED (disabled)" in engine.status()
    fake.go_down("main")
    engine.monitor_now("main")
    engine.settle()
    assert engine.group_state("g") == "OFFLINE|FAULTED"
    assert engine.node("g") == "n1"
    assert any("AutoFailOver is 0" in e.text for e in kinds(engine, EventKind.FAULT))
    with pytest.raises(EngineError, match="faulted on n1"):
        engine.online("g")


def test_monitor_200_is_an_intentional_offline_only_when_the_type_says_so(fake: Fake) -> None:
    plain = fake.engine(conf(group("g", res("r1", Critical="0"))))
    plain.online("g")
    fake.flag("r1", "monitor.seq", "200\n")
    plain.monitor_now("r1")
    assert plain.state("r1") is ResState.FAULTED  # read as offline: a fault
    fake.flag("r1", "up")
    aware = fake.engine(conf(group("g", res("r1", Critical="0")), IntentionalOffline=1))
    aware.probe()
    fake.flag("r1", "monitor.seq", "200\n")
    aware.monitor_now("r1")
    assert aware.state("r1") is ResState.OFFLINE
    assert aware.calls("r1", "clean") == []


# --- status view and event log ----------------------------------------------------------


def test_status_view_reads_like_hastatus_and_counts_second_level_cycles(fake: Fake) -> None:
    config = conf(group("g", res("deep", SecondLevelMonitor="3"), res("flat", Critical="0")))
    engine = fake.engine(config)
    engine.online("g")
    assert engine.second_level_due_in("deep") == 2  # one monitor since online
    assert engine.second_level_due_in("flat") is None
    text = engine.status()
    assert "\x1b" not in text
    assert "-- GROUP STATE" in text and "-- RESOURCE DETAIL" in text
    groups = [line.split() for line in text.splitlines() if line.startswith("B  ")]
    assert groups == [["B", "g", "n1", "Y", "N", "ONLINE"], ["B", "g", "n2", "Y", "N", "OFFLINE"]]
    assert "-- RESOURCES FAILED" not in text
    rows = {line.split()[3]: line for line in text.splitlines() if line.startswith("R  ")}
    assert "ONLINE" in rows["deep"] and "110 online" in rows["deep"]
    assert "due in 2 cycles" in rows["deep"]
    assert rows["flat"].split()[6] == "off" or "off" in rows["flat"]
    header = next(line for line in text.splitlines() if "Resource" in line and "State" in line)
    column = header.index("State")
    assert all(line[column:].startswith("ONLINE") for line in rows.values())
    engine.monitor_now("deep")
    assert "due in 1 cycle " in engine.status() or "due in 1 cycle\n" in engine.status()
    engine.monitor_now("deep")
    assert engine.second_level_due_in("deep") == 3  # it just ran
    coloured = engine.status(color=True)
    assert "\x1b[32mONLINE\x1b[0m" in coloured
    lines = engine.event_lines()
    assert any(re.search(r"g/deep\s+monitor -> 110 online \(\d+\.\d\d s\)", s) for s in lines)
    assert all(e.wall > 0 for e in engine.events)


# --- the CLI ----------------------------------------------------------------------------


FAKE_TYPES_CF = """
type Fake (
    static int MonitorInterval = 10
    static int OfflineMonitorInterval = 50
    static str ArgList[] = { State, Payload, Items, SecondLevelMonitor }
    str Payload
    str Items[]
    int SecondLevelMonitor = 0
)
"""

MAIN_CF = """
include "types.cf"
include "FakeTypes.cf"

cluster demo ( )
system n1 ( )
system n2 ( )

group g (
    SystemList = { n1 = 0, n2 = 1 }
    )

    Fake top (
        Payload = hello
        )

    Fake base (
        Items = { x, y }
        )

    top requires base
"""


def test_status_lists_failed_and_unprobed_resources_as_hastatus_does(fake: Fake) -> None:
    fake.flag("odd", "monitor.seq", "99\n")  # the probe cannot tell
    engine = fake.engine(conf(group("g", res("odd")), group("h", res("bad"), systems=["n1"])))
    engine.probe()
    engine.online("h", wait=False)
    engine.settle()
    fake.unflag("bad", "up")  # gone behind the engine's back: faults at the next monitor
    engine.run_for(30)
    text = engine.status()
    lines = [line.split() for line in text.splitlines()]
    assert ["B", "g", "n1", "N", "N", "OFFLINE"] in lines  # Probed N
    assert "-- RESOURCES NOT PROBED" in text and ["D", "g", "Fake", "odd", "n1"] in lines
    assert "-- RESOURCES FAILED" in text and ["C", "h", "Fake", "bad", "n1"] in lines


def test_cli_reads_main_cf_and_its_includes(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "main.cf").write_text(MAIN_CF)
    (tmp_path / "FakeTypes.cf").write_text(FAKE_TYPES_CF)  # types.cf is absent: recorded only
    args = ["--config", str(tmp_path / "main.cf"), "--agents-dir", str(fake.agents)]
    args += ["--scale", "0", "--env", f"FAKE_CTL={fake.ctl}"]
    assert vcsengine.main([*args, "--events", "online-all"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"g/base\s+online -> 0", out)
    assert re.search(r"^B  g\s+n1\s+Y\s+N\s+ONLINE", out, re.MULTILINE)
    assert fake.up("top") and fake.up("base")
    calls = (fake.ctl / "calls").read_text().splitlines()
    assert "online top State 1 1 Payload 1 hello Items 0 SecondLevelMonitor 1 0" in calls
    assert vcsengine.main([*args, "--for", "100", "status"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^R  g\s+Fake\s+top\s+ONLINE", out, re.MULTILINE)
    assert vcsengine.main([*args, "offline-all"]) == 0
    assert not fake.up("top") and not fake.up("base")
    (tmp_path / "main.cf").write_text(MAIN_CF + "    top requires nothing\n")
    assert vcsengine.main([*args, "status"]) == 2
    assert "configuration:" in capsys.readouterr().err


# --- the real SunJESMsg agent -----------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandInServer]:
    built = build_server_root(tmp_path / "msg", users={"probe": "probe-secret"}, stop_timeout=5)
    yield built
    built.stop_all()


def _msg_values(server: StandInServer, level: str, *services: str) -> Mapping[str, Raw]:
    flat: list[str] = []
    for key in services:
        flat += [key, str(server.ports[key])]
    return {
        "ServerRoot": (str(server.root),),
        "MsgHost": ("127.0.0.1",),
        "MsgServices": tuple(flat),
        "SecondLevelMonitor": (level,),
        "ResLogLevel": ("INFO",),
    }


def test_the_real_sunjesmsg_agent_under_the_engine(
    agents_dir: Path, server: StandInServer, tmp_path: Path
) -> None:
    typedef = typedef_from_declaration(
        sunjesmsg.DECLARATION, AEPTimeout=1, RestartLimit=1, OnlineTimeout=60, MonitorTimeout=30
    )
    core = Resource("SunJESMsg", "msg_core", _msg_values(server, "2", "core"))
    mail = Resource("SunJESMsg", "msg_mail", _msg_values(server, "1", "imap", "pop"))
    sg = Group(
        "msg_sg",
        {"SystemList": ("nodeA", "0", "nodeB", "1")},
        (core, mail),
        (ResourceLink("msg_mail", "msg_core"),),
    )
    log, state = tmp_path / "SunJESMsg_A.log", tmp_path / "state"
    env = {
        "JESAGENT_LOG": str(log),
        "JESAGENT_STATE_DIR": str(state),
        "VCS_HOME": str(tmp_path / "no-vcs"),
    }
    with Engine(
        Configuration(types=(typedef,), groups=(sg,)), agents_dir=agents_dir, env=env
    ) as engine:
        assert engine.online("msg_sg") == "ONLINE", engine.event_lines()
        assert [e.resource for e in engine.calls(entry="online")] == ["msg_core", "msg_mail"]
        assert server.pids("stored") and server.pids("imapd") and server.pids("popd")
        # The engine's second-level count agrees with the agent's own cycle file.
        stored = (state / "SunJESMsg.msg_core.cycle").read_text().strip()
        assert engine.second_level_due_in("msg_core") == cycles_until_due(int(stored), 2)

        server.kill("imapd")
        at = mark(engine)
        assert engine.monitor_now("msg_mail").code == 100
        engine.settle()
        assert after(engine, at) == [
            "msg_mail:monitor", "msg_mail:clean(4)", "msg_mail:online", "msg_mail:monitor",
        ]  # fmt: skip
        assert engine.state("msg_mail") is ResState.ONLINE
        assert server.pids("imapd")
        assert "the resource went offline unexpectedly" in log.read_text()

        assert engine.offline("msg_sg") == "OFFLINE"
        assert [e.resource for e in engine.calls(entry="offline")] == ["msg_mail", "msg_core"]
        assert not server.pids("stored") and not server.pids("imapd")
        assert not any(e.timed_out for e in engine.calls())
        assert "msg_mail" in engine.status()
