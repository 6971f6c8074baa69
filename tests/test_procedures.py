"""The entry-point procedures under a virtual clock: the interpreter (shell.engine) drives
the core's machines against a scripted system, over generated attributes, process tables,
outcomes and hangs; `jesagent explain` predicts exactly what the interpreter performs."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jescore.policy import argv as vcs_argv
from jescore.policy.actions import MachineMisuse, Reply
from jescore.policy.declaration import Config, Raw, validate
from jescore.policy.monitoring import Budget, advance_cycle
from jescore.policy.procedures import entry_point
from jescore.policy.processes import ProcessInfo
from jescore.policy.registry import POLICIES
from jescore.policy.resource import ResourcePolicy, Snapshot
from jescore.policy.vcs import DEFAULT_TIMEOUT_SECONDS, CleanReason, EntryPoint
from jescore.record import replace
from jescore.tooling import explain
from shell.engine import carry_out
from tests.fakesystem import FakeSystem, Scenario
from tests.strategies import absolute_paths, fqdns, ports, valid_msg_values

Outcome = explain.Outcome


@st.composite
def ldap_values(draw: st.DrawFn) -> dict[str, Raw]:
    root = draw(absolute_paths)
    return {
        "InstanceRoot": (f"{root}/slapd-{draw(st.sampled_from(['a', 'b']))}",),
        "LDAPHost": (draw(fqdns),),
        "LDAPPort": (str(draw(ports)),),
        "SSLPort": (str(draw(st.sampled_from([0, 636]))),),
        "SSLDbPasswd": (draw(st.sampled_from(["", "ENCdb"])),),
        "SecondLevelMonitor": (str(draw(st.integers(0, 3))),),
        "MonitorProgram": (draw(st.sampled_from(["", "/usr/local/bin/check"])),),
    }


@st.composite
def adm_values(draw: st.DrawFn) -> dict[str, Raw]:
    user = draw(st.sampled_from(["", "admin"]))
    return {
        "ServerRoot": (draw(absolute_paths),),
        "AdminHost": (draw(fqdns),),
        "AdminPort": (str(draw(ports)),),
        "AdminUser": (user,),
        "AdminPasswd": ("ENCadm" if user else "",),
        "SSLEnabled": (draw(st.sampled_from(["0", "1"])),),
        "SecondLevelMonitor": (str(draw(st.integers(0, 3))),),
        "MonitorProgram": (draw(st.sampled_from(["", "/usr/local/bin/check"])),),
    }


VALUES = {
    "SunJESMsg": valid_msg_values(),
    "SunJESLDAP": ldap_values(),
    "SunJESAdm": adm_values(),
}


def config(type_name: str, values: dict[str, Raw]) -> Config:
    return validate(POLICIES[type_name].declaration, values).unwrap()


def neighbour(type_name: str, values: dict[str, Raw]) -> dict[str, Raw]:
    """The same resource under a neighbouring root: its processes are never ours."""
    root_attr = "InstanceRoot" if type_name == "SunJESLDAP" else "ServerRoot"
    return {**values, root_attr: (values[root_attr][0] + "2",)}


@st.composite
def situations(draw: st.DrawFn) -> tuple[str, dict[str, Raw], list[ProcessInfo]]:
    """A resource and a process table: some of its processes, a neighbour's, zombies."""
    type_name = draw(st.sampled_from(sorted(POLICIES)))
    values = draw(VALUES[type_name])
    policy = POLICIES[type_name]
    mine = policy.model_processes(config(type_name, values), 1000)
    other = policy.model_processes(config(type_name, neighbour(type_name, values)), 2000)
    table = [p for p in mine if draw(st.booleans())]
    table += [p for p in other if draw(st.booleans())]
    if draw(st.booleans()) and len(mine) > 0:
        ghost = mine[0]
        table.append(ProcessInfo(3000, ghost.name, (), 0.0, zombie=True))
    return type_name, values, table


scenarios = st.builds(
    Scenario,
    command=st.sampled_from(list(Outcome)),
    probe=st.sampled_from(list(Outcome)),
    program_exit=st.one_of(
        st.sampled_from([0, 1, 100, 105, 110, 2, 99]),
        st.sampled_from([Outcome.HANGS, Outcome.CANNOT_RUN]),
    ),
    stop_effective=st.booleans(),
    ignores_term=st.frozensets(st.sampled_from([1000, 1001, 1002])),
    unkillable=st.frozensets(st.sampled_from([1000, 1001, 1002]), max_size=1),
    replaced_on_signal=st.frozensets(st.sampled_from([1000, 1001]), max_size=1),
    store_fails=st.booleans(),
    stored=st.one_of(st.none(), st.integers(-1, 4)),
)
budgets = st.one_of(st.none(), st.integers(1, 400))


def argv_for(
    type_name: str, entry: EntryPoint, values: dict[str, Raw], budget: int | None
) -> tuple[str, ...]:
    engine = {} if budget is None else {"AEPTimeout": str(budget)}
    reason = CleanReason.MONITOR_HUNG if entry is EntryPoint.CLEAN else None
    decl = POLICIES[type_name].declaration
    return vcs_argv.render_v50(decl, "res1", values, engine, reason)


def owned(policy: ResourcePolicy, cfg: Config, table: Sequence[ProcessInfo]) -> set[int]:
    return {p.pid for p in policy.stop_targets(cfg, Snapshot(tuple(table)))}


Situation = tuple[str, dict[str, Raw], list[ProcessInfo]]


def drive(
    situation: Situation, entry: EntryPoint, scenario: Scenario, budget: int | None
) -> tuple[ResourcePolicy, Config, FakeSystem, int]:
    """Carry out the entry point through the real interpreter on the scripted system."""
    type_name, values, table = situation
    policy = POLICIES[type_name]
    cfg = config(type_name, values)
    system = FakeSystem(policy, cfg, list(table), scenario)
    code = carry_out(type_name, entry, argv_for(type_name, entry, values, budget), system)
    return policy, cfg, system, code


DOMAIN = {
    EntryPoint.MONITOR: {99, 100, *range(101, 111)},
    EntryPoint.ONLINE: {0},
    EntryPoint.OFFLINE: {0},
    EntryPoint.CLEAN: {0, 1},
}


@settings(max_examples=300, deadline=None)
@given(situations(), st.sampled_from(list(EntryPoint)), scenarios, budgets)
def test_every_path_answers_in_the_vcs_domain_within_the_budget(
    situation: Situation,
    entry: EntryPoint,
    scenario: Scenario,
    budget: int | None,
) -> None:
    table = situation[2]
    policy, cfg, system, code = drive(situation, entry, scenario, budget)
    ours_before = owned(policy, cfg, table)

    assert code in DOMAIN[entry]
    seconds = Budget(float(budget or DEFAULT_TIMEOUT_SECONDS[entry]))
    assert system.clock <= seconds.watchdog_at, system.ops  # the watchdog never has to act
    assert system.watchdog is not None
    assert system.watchdog[0] == seconds.watchdog_at
    # Only processes of this resource are ever signalled: never a neighbour's, a
    # stranger that took a pid over, or a zombie.
    for victim in system.killed:
        assert victim.pid in ours_before or victim.pid >= 900_000_000, victim
        assert not victim.zombie
    strangers = {p.pid for p in table} - ours_before
    assert not any(op[0] == "signal" and op[1] in strangers for op in system.ops)
    if entry is EntryPoint.CLEAN:
        left = owned(policy, cfg, system.processes)
        assert (code == 0) == (not left), (code, left)


@settings(max_examples=200, deadline=None)
@given(situations(), st.sampled_from([EntryPoint.OFFLINE, EntryPoint.CLEAN]), scenarios, budgets)
def test_signals_wait_for_a_stop_command_only_when_it_ran(
    situation: Situation, entry: EntryPoint, scenario: Scenario, budget: int | None
) -> None:
    """After a stop command that ran, what remains gets time to stop on its own before the
    first SIGTERM; after one that could not even start (missing, not executable), nothing
    is stopping, so the signals come at once."""
    _, _, system, _ = drive(situation, entry, scenario, budget)
    kinds = [op[0] for op in system.ops]
    if "signal" not in kinds:
        return
    ran = next(i for i, op in enumerate(system.ops) if op[0] == "run")
    waits = kinds[ran : kinds.index("signal")].count("wait")
    if scenario.command is Outcome.CANNOT_RUN:
        assert waits == 0, system.ops
    elif scenario.command is not Outcome.HANGS:  # a hung command used its time already
        assert waits > 0, system.ops


@settings(max_examples=200, deadline=None)
@given(situations(), scenarios)
def test_online_never_starts_what_already_runs(situation: Situation, scenario: Scenario) -> None:
    table = situation[2]
    policy, cfg, system, _ = drive(situation, EntryPoint.ONLINE, scenario, 60)
    started = any(op[0] == "run" and op[1] == policy.start(cfg).argv for op in system.ops)
    already = policy.first_level(cfg, Snapshot(tuple(table))).ok
    assert started == (not already)
    assert system.stored is None  # online always resets the count


@settings(max_examples=300, deadline=None)
@given(situations(), scenarios, budgets)
def test_the_second_level_runs_only_when_due_and_never_after_a_first_level_failure(
    situation: Situation,
    scenario: Scenario,
    budget: int | None,
) -> None:
    _, values, table = situation
    policy, cfg, system, code = drive(situation, EntryPoint.MONITOR, scenario, budget)
    every = int(values.get("SecondLevelMonitor", ("0",))[0])
    cycle = advance_cycle(scenario.stored, every)
    due = cycle.due or (every > 0 and scenario.store_fails)
    first_ok = policy.first_level(cfg, Snapshot(tuple(table))).ok
    probed = [
        op
        for op in system.ops
        if op[0] in {"connect", "converse"}
        or (op[0] == "run" and program_name(op[1]) in PROBE_NAMES)
    ]
    if probed:
        assert due and first_ok
    ran = any(op[0] == "log" and "V-16-10000-3002" in str(op[1]) for op in system.ops)
    assert ran == (due and first_ok)  # and when it is due after a passing first level, it runs
    if not first_ok:
        assert code == 100
    if every > 0 and not scenario.store_fails:
        assert system.stored == cycle.to_store


PROBE_NAMES = {"immonitor-access", "stored", "ldapsearch", "admconfig"}


def program_name(argv: object) -> str:
    assert isinstance(argv, tuple)
    return str(argv[0]).rsplit("/", 1)[-1]


def test_a_stale_pid_is_never_signalled() -> None:
    """A process replaced between the look and the signal (pid reuse) is left alone."""
    values: dict[str, Raw] = {
        "ServerRoot": ("/opt/msg",),
        "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143"),
        "ServerType": ("MSG",),
    }
    policy = POLICIES["SunJESMsg"]
    cfg = config("SunJESMsg", values)
    table = list(policy.model_processes(cfg, 1000))
    scenario = Scenario(stop_effective=False, replaced_on_signal=frozenset({1000}))
    system = FakeSystem(policy, cfg, table, scenario)
    code = carry_out(
        "SunJESMsg", EntryPoint.CLEAN, argv_for("SunJESMsg", EntryPoint.CLEAN, values, 30), system
    )
    assert not system.killed
    assert [p.cmdline for p in system.processes] == [("/bin/bash",)]  # the stranger lives
    assert code == 0  # nothing of the resource is left: its pid now belongs to the stranger
    assert any("pid now belongs to another process" in str(op) for op in system.ops)


@pytest.mark.parametrize(
    ("probe", "code", "said"),
    [
        (Outcome.PASSES, 110, "second level passed: IMAP mail.example.com:143 answered"),
        (Outcome.FAILS, 100, "IMAP mail.example.com:143 failed at CONNECT"),
        (Outcome.HANGS, 100, "IMAP mail.example.com:143 failed at CONNECT"),
        (Outcome.CANNOT_RUN, 99, "no such host"),
    ],
)
def test_a_native_probe_is_spoken_and_judged_by_the_monitor(
    probe: Outcome, code: int, said: str
) -> None:
    values: dict[str, Raw] = {
        "ServerRoot": ("/opt/msg",),
        "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143"),
        "NativeProbes": ("1",),
        "SecondLevelMonitor": ("1",),
        "LDAPTestUser": ("probe",),
        "LDAPTestPasswd": ("ENC",),
    }
    policy = POLICIES["SunJESMsg"]
    cfg = config("SunJESMsg", values)
    table = list(policy.model_processes(cfg, 1000))
    system = FakeSystem(policy, cfg, table, Scenario(probe=probe))
    argv = argv_for("SunJESMsg", EntryPoint.MONITOR, values, 30)
    assert carry_out("SunJESMsg", EntryPoint.MONITOR, argv, system) == code
    ((spoken, password),) = system.spoken
    assert (spoken.host, spoken.port, spoken.user) == ("mail.example.com", 143, "probe")
    assert password == "plain-LDAPTestPasswd"  # decrypted for the dialogue, in memory only
    assert any(said in str(op) for op in system.ops if op[0] == "log"), system.ops


def test_a_misbehaving_interpreter_is_told_so() -> None:
    machine = entry_point(
        POLICIES["SunJESMsg"], EntryPoint.MONITOR, ["r1", "ServerRoot", "1", "/x"]
    )
    next(machine)
    with pytest.raises(MachineMisuse):
        machine.send(Reply(0.0, "not what was asked"))


def test_the_interpreter_answers_even_when_it_breaks_down() -> None:
    class Broken(FakeSystem):
        def observe(self, watch: object, identify_limit: float) -> Snapshot:
            raise RuntimeError("the process table is on fire")

    values: dict[str, Raw] = {
        "ServerRoot": ("/opt/msg",),
        "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143"),
    }
    policy = POLICIES["SunJESMsg"]
    system = Broken(policy, config("SunJESMsg", values), [])
    argv = argv_for("SunJESMsg", EntryPoint.MONITOR, values, 30)
    assert carry_out("SunJESMsg", EntryPoint.MONITOR, argv, system) == 99
    assert any("internal error: RuntimeError" in str(op) for op in system.ops)


# --- explain predicts what the interpreter performs ----------------------------------


OUTPUT_LINE = "V-16-10000-4001"  # a program's output: explain cannot know what it prints


def performed(ops: Sequence[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """The operations, with log lines reduced to level and message id (the world's
    programs print other words than the fake's)."""
    out: list[tuple[object, ...]] = []
    for op in ops:
        if op[0] == "log" and OUTPUT_LINE in str(op[1]):
            continue
        if op[0] == "log":
            out.append(("log", " ".join(str(op[1]).split(" ")[:2])))
        elif op[0] in {"connect", "converse"}:
            out.append((op[0], op[3]))
        elif op[0] != "debug":
            out.append(op)
    return out


def predicted(path: explain.Path) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for step in path.steps:
        if step.kind == "log" and OUTPUT_LINE in step.text:
            continue
        if step.kind == "log":
            out.append(("log", " ".join(step.text.split(" ")[:2])))
        elif step.kind == "run":
            out.append(("run", step.argv, round(step.seconds or 0.0, 6)))
        elif step.kind in {"connect", "converse"}:
            out.append((step.kind, round(step.seconds or 0.0, 6)))
        elif step.kind == "signal":
            out.append(("signal", step.pid, step.signal))
        elif step.kind == "wait":
            out.append(("wait", step.seconds))
    return out


explainable = st.builds(
    Scenario,
    command=st.sampled_from(list(Outcome)),
    probe=st.sampled_from(list(Outcome)),
    program_exit=st.one_of(
        st.sampled_from([0, 1, 100, 105, 110, 7]),
        st.sampled_from([Outcome.HANGS, Outcome.CANNOT_RUN]),
    ),
    stored=st.one_of(st.none(), st.integers(0, 3)),
)


@settings(max_examples=300, deadline=None)
@given(situations(), st.sampled_from(list(EntryPoint)), explainable, budgets)
def test_explain_predicts_every_action_the_interpreter_performs(
    situation: Situation,
    entry: EntryPoint,
    scenario: Scenario,
    budget: int | None,
) -> None:
    type_name, values, table = situation
    policy, _, system, code = drive(situation, entry, scenario, budget)
    argv = argv_for(type_name, entry, values, budget)

    program = scenario.program_exit
    outcomes = {explain.Point.COMMAND: scenario.command, explain.Point.PROBE: scenario.probe}
    if isinstance(program, Outcome):
        outcomes[explain.Point.PROGRAM] = program
    given_outcomes = explain.Given(outcomes, program if isinstance(program, int) else None)
    reading = explain.read(policy, entry, argv)
    snapshot = Snapshot(tuple(table), {}, frozenset(reading.programs()))
    observed = explain.Observed(snapshot, scenario.stored)
    expl = explain.explain(reading, observed, given_outcomes)

    assert expl.path is not None
    assert not expl.path.met  # every outcome was given: nothing was assumed
    assert expl.exit_code == code
    assert predicted(expl.path) == performed(system.ops)


@settings(max_examples=100, deadline=None)
@given(situations(), st.sampled_from(list(EntryPoint)), scenarios)
def test_what_a_password_fed_program_prints_is_never_logged(
    situation: Situation, entry: EntryPoint, scenario: Scenario
) -> None:
    """A program given a password on its standard input may echo it: none of its output
    reaches the log, at any level."""
    type_name, values, table = situation
    policy = POLICIES[type_name]
    cfg = config(type_name, values)
    echoing = replace(scenario, echo="ECHOED-PASSWORD-LINE\n")
    system = FakeSystem(policy, cfg, list(table), echoing)
    logged_values = {**values, "ResLogLevel": ("TRACE",)}
    argv = argv_for(type_name, entry, logged_values, 60)
    argv = (*argv, "LogDbg", "5", "DBG_1", "DBG_2", "DBG_3", "DBG_4", "DBG_5")
    carry_out(type_name, entry, argv, system)
    said = "\n".join(str(op[1]) for op in system.ops if op[0] in {"log", "debug"})
    assert "ECHOED-PASSWORD-LINE" not in said
