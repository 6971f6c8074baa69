"""A model of one Messaging Server host, driven by Hypothesis: daemons start, die, turn into
zombies, get their pids reused, and look-alikes of other installations come and go. After
every step the core's decisions must agree with the model's truth."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from jescore.policy.declaration import validate
from jescore.policy.monitoring import SecondLevel, State, decide
from jescore.policy.processes import ProcessInfo
from jescore.policy.resource import Snapshot
from jescore.policy.sunjesmsg import DECLARATION, POLICY, process_names

ROOT = "/opt/msg"
SERVICES = ("imap", "143", "pop", "110", "http", "80")
CFG = validate(
    DECLARATION,
    {"ServerRoot": (ROOT,), "MsgHost": ("127.0.0.1",), "MsgServices": SERVICES},
).unwrap()
WANTED = process_names(CFG)
OTHER_PLACES = ("/opt/msg2/lib", "/opt/lib", "/opt/msg/bin", "/opt/msg/lib/old")


class Host(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.table: dict[int, ProcessInfo] = {}
        self.ours: set[int] = set()  # the model's truth: live daemons of this instance
        self.next_pid = 100

    def _spawn(self, name: str, directory: str, shown: str | None = None) -> int:
        pid = self.next_pid
        self.next_pid += 1
        cmd = (f"{directory}/{name}", "-d", "5")
        self.table[pid] = ProcessInfo(pid, shown or name, cmd, float(pid))
        return pid

    @rule(name=st.sampled_from(WANTED))
    def start_daemon(self, name: str) -> None:
        self.ours.add(self._spawn(name, f"{ROOT}/lib"))

    @rule(name=st.sampled_from([*WANTED, "stored", "bash"]), where=st.sampled_from(OTHER_PLACES))
    def start_look_alike(self, name: str, where: str) -> None:
        self._spawn(name, where)

    @rule(name=st.sampled_from(WANTED))
    def start_impostor_named_differently(self, name: str) -> None:
        self._spawn(name, f"{ROOT}/lib", shown="python3")

    @rule(data=st.data())
    def kill_to_zombie(self, data: st.DataObject) -> None:
        if self.table:
            pid = data.draw(st.sampled_from(sorted(self.table)))
            old = self.table[pid]
            self.table[pid] = ProcessInfo(pid, old.name, old.cmdline, old.create_time, zombie=True)
            self.ours.discard(pid)

    @rule(data=st.data())
    def reap_and_reuse_pid(self, data: st.DataObject) -> None:
        zombies = sorted(p for p, info in self.table.items() if info.zombie)
        if zombies:
            pid = data.draw(st.sampled_from(zombies))
            self.table[pid] = ProcessInfo(pid, "bash", ("/bin/bash",), float(self.next_pid))
            self.next_pid += 1

    def snapshot(self) -> Snapshot:
        return Snapshot(tuple(self.table.values()))

    @invariant()
    def clean_selects_only_this_instances_live_daemons(self) -> None:
        targets = {p.pid for p in POLICY.stop_targets(CFG, self.snapshot())}
        assert targets == self.ours

    @invariant()
    def first_level_matches_the_truth(self) -> None:
        level = POLICY.first_level(CFG, self.snapshot())
        running = {self.table[p].name for p in self.ours}
        assert level.ok == set(WANTED).issubset(running)

    @invariant()
    def monitor_never_says_online_without_evidence(self) -> None:
        level = POLICY.first_level(CFG, self.snapshot())
        verdict = decide(level.ok, level.summary, SecondLevel.NOT_DUE, "", None)
        if verdict.state is State.ONLINE:
            assert all(any(self.table[p].name == n for p in self.ours) for n in WANTED)


TestHost = Host.TestCase
TestHost.settings = settings(max_examples=60, stateful_step_count=30)
