"""Every external program hung, missing or not executable in turn: each entry point still
answers before its budget, with a log line naming the program.

A hung program is a wrapper that sleeps for an hour in its place (or, for a program that
is also a daemon, only when called as the probe); a missing one is moved away, and one
that is not executable loses its x bits, for the length of one call (the servers were
started before, with the real program). The hung cases run FAULT_RUNS times
(JESAGENT_FAULT_RUNS, default 1; CI runs 3) and the smallest margin left before the budget
is recorded; `JESAGENT_FAULT_REPORT=<file>` appends the figures as JSON lines, which
docs/reliability.md reports. A missing or closed program must not cost the wait: its call
answers within half the budget, and a stop goes to the signals at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jescore.policy.declaration import Raw
from jescore.policy.vcs import CleanReason
from stubs.adminserver import StandInAdmin, build_admin_root
from stubs.dirsrv389 import DsInstance
from stubs.dirsrv_standin import install_sun_ldapsearch
from stubs.msgserver import StandInServer, build_server_root
from stubs.vcscrypt import PasswordHelper
from tests.agentcalls import Agents, Outcome

FAULT_RUNS = int(os.environ.get("JESAGENT_FAULT_RUNS", "1"))
BUDGET = 8  # AEPTimeout of every call here: long enough for the stand-ins, short to wait
PASSWORD = "probe-secret"

# How a program fails. The hung cases wait out their budget, so they are long runs.
FAULTS = [
    pytest.param("hung", marks=pytest.mark.long),
    "missing",
    "not executable",
]


@contextlib.contextmanager
def broken(program: Path, fault: str, when: str = "") -> Iterator[None]:
    """`program` hung (with `when`, a shell `case` pattern of its first argument, only
    then; otherwise it runs the real program), missing or not executable, for the block."""
    real = program.with_name(program.name + ".real")
    shutil.move(program, real)
    try:
        if fault == "hung":
            if when:
                body = f'case "$1" in {when}) exec sleep 3600;; esac\nexec {real} "$@"\n'
            else:
                body = "exec sleep 3600\n"
            script(program, body)
        elif fault == "not executable":
            shutil.copy(real, program)
            program.chmod(0o644)
        yield
    finally:
        program.unlink(missing_ok=True)
        shutil.move(real, program)


def script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}")
    path.chmod(0o755)
    return path


def faulty(path: Path, fault: str) -> Path:
    """A program of our own (MonitorProgram, the password helper, halog) that fails so."""
    if fault == "hung":
        return script(path, "exec sleep 3600\n")
    if fault == "not executable":
        script(path, "exit 0\n").chmod(0o644)
    return path  # missing: nothing there


# What each entry point answers when the program is missing or not executable: a start or
# stop program still lets online and offline return (the signals stop what runs; the next
# monitor tells VCS the truth), MonitorProgram is skipped as the guide says, immonitor-access
# and ldapsearch give way to the native probes, a halog that cannot run to the log file;
# a second level that cannot be judged (stored, admconfig, no password) is unknown (99).
ANSWER_WITHOUT_PROGRAM = {
    "msstart (start)": 0, "msstart -k (offline)": 0, "msstart -k (clean)": 0,
    "stored -t -v": 99, "immonitor-access": 110, "MonitorProgram": 110,
    "decrypt helper": 99, "halog": 110,
    "start-admin": 0, "stop-admin": 0, "admconfig": 99,
    "start-slapd": 0, "stop-slapd": 0, "ldapsearch": 110,
}  # fmt: skip


@dataclass(frozen=True)
class Case:
    label: str  # the failing program
    entry: str
    run: Callable[[Agents, Path], Outcome]  # sets the fault up, then makes the one call
    named: str  # what the log must name
    prepare: Callable[[Agents], None] | None = None  # before each run: what it meets
    program: Path | None = None  # a program of the installation, broken for the call
    when: str = ""  # hung only for these first arguments


def record(case: Case, fault: str, outcomes: list[Outcome]) -> None:
    target = os.environ.get("JESAGENT_FAULT_REPORT")
    if target:
        margin = min(BUDGET - o.seconds for o in outcomes)
        row = {"program": case.label, "fault": fault, "entry": case.entry,
               "runs": len(outcomes), "budget": BUDGET, "smallest_margin": round(margin, 3),
               "answers": sorted({o.code for o in outcomes})}  # fmt: skip
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")


def check(case: Case, fault: str, agents: Agents, tmp_path: Path) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for attempt in range(FAULT_RUNS if fault == "hung" else 1):
        where = tmp_path / f"run{attempt}"
        where.mkdir()
        agents.env["JESAGENT_STATE_DIR"] = str(where / "state")
        if case.prepare is not None:
            case.prepare(agents)
        with broken(case.program, fault, case.when) if case.program else contextlib.nullcontext():
            outcome = case.run(agents, where)
        outcomes.append(outcome)
        assert "Traceback" not in outcome.output
        limit = BUDGET if fault == "hung" else BUDGET / 2
        assert outcome.seconds < limit, (case.label, fault, outcome.seconds, outcome.lines)
        text = "\n".join(outcome.lines) + outcome.output
        assert case.named in text, (case.label, fault, outcome.lines)
        if fault != "hung":
            assert outcome.code == ANSWER_WITHOUT_PROGRAM[case.label], (case.label, outcome.lines)
        if fault != "hung" and case.entry in {"offline", "clean"} and "sending TERM" in text:
            assert "(the stop command did not run)" in text  # no wait for it to work
    record(case, fault, outcomes)
    return outcomes


# --- Messaging Server ---------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandInServer]:
    built = build_server_root(tmp_path / "msg", users={"probe": PASSWORD}, stop_timeout=3)
    yield built
    built.stop_all()


def msg(server: StandInServer, service: str, **more: str) -> dict[str, Raw]:
    values: dict[str, Raw] = {
        "ServerRoot": (str(server.root),),
        "MsgHost": ("127.0.0.1",),
        "MsgServices": (service, str(server.ports[service])),
        "ResLogLevel": ("TRACE",),
    }
    values.update({k: (v,) for k, v in more.items()})
    return values


# The Messaging Server's programs: which entry point meets each hung, and what its log
# must then name.
MSG_FAULTS: dict[str, tuple[str, str]] = {
    "msstart (start)": ("online", "msstart"),
    "stored -t -v": ("monitor", "stored"),
    "immonitor-access": ("monitor", "immonitor-access"),
    "MonitorProgram": ("monitor", "MonitorProgram"),
    "decrypt helper": ("monitor", "LDAPTestPasswd"),
    "halog": ("monitor", "V-16-10000"),
    "msstart -k (offline)": ("offline", "msstart"),
    "msstart -k (clean)": ("clean", "msstart"),
}


def msg_calls(
    server: StandInServer, helper: PasswordHelper, entry: str, fault: str
) -> dict[str, Callable[[Agents, Path], Outcome]]:
    """For each program, the call that meets it (after setting up what is not a program of
    the installation)."""

    def call(agents: Agents, values: dict[str, Raw]) -> Outcome:
        reason = CleanReason.MONITOR_HUNG if entry == "clean" else None
        return agents.call("SunJESMsg", entry, "m", values, aep_timeout=BUDGET, reason=reason)

    user = {"LDAPTestUser": "probe", "LDAPTestPasswd": helper.encrypt(PASSWORD)}
    deep = msg(server, "imap", SecondLevelMonitor="1", **user)

    def monitor_program(agents: Agents, where: Path) -> Outcome:
        program = faulty(where / "check", fault)
        return call(agents, msg(server, "imap", MonitorProgram=str(program)))

    def decrypt(agents: Agents, where: Path) -> Outcome:
        agents.env["JESAGENT_DECRYPT"] = str(faulty(where / "vcsdecrypt", fault))
        return call(agents, deep)

    def halog(agents: Agents, where: Path) -> Outcome:
        agents.env["JESAGENT_HALOG"] = str(faulty(where / "halog", fault))
        try:
            return call(agents, deep)
        finally:
            del agents.env["JESAGENT_HALOG"]

    return {
        "msstart (start)": lambda agents, _: call(agents, msg(server, "core")),
        "stored -t -v": lambda agents, _: call(agents, msg(server, "core", SecondLevelMonitor="1")),
        "immonitor-access": lambda agents, _: call(agents, deep),
        "MonitorProgram": monitor_program,
        "decrypt helper": decrypt,
        "halog": halog,
        "msstart -k (offline)": lambda agents, _: call(agents, msg(server, "imap")),
        "msstart -k (clean)": lambda agents, _: call(agents, msg(server, "imap")),
    }


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("label", sorted(MSG_FAULTS))
def test_a_failing_messaging_server_program(
    label: str,
    fault: str,
    *,
    agents: Agents,
    server: StandInServer,
    password_helper: PasswordHelper,
    tmp_path: Path,
) -> None:
    entry, named = MSG_FAULTS[label]
    calls = msg_calls(server, password_helper, entry, fault)
    assert set(calls) == set(MSG_FAULTS)

    def service_up(agents: Agents) -> None:  # the store and the service run
        assert agents.call("SunJESMsg", "online", "c", msg(server, "core")).code == 0
        assert agents.call("SunJESMsg", "online", "m", msg(server, "imap")).code == 0

    program, when = None, ""
    if label.startswith("msstart"):
        program, when = server.msstart, "-k" if entry != "online" else ""
    elif label.startswith("stored"):
        program, when = server.stored, "-t"
    elif label == "immonitor-access":
        program = server.immonitor_access
    prepare = None if entry == "online" else service_up
    case = Case(label, entry, calls[label], named, prepare, program, when)
    check(case, fault, agents, tmp_path)


# --- Administration Server ---------------------------------------------------------------


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[StandInAdmin]:
    built = build_admin_root(tmp_path / "adm", password=PASSWORD)
    yield built
    built.stop_all()


def adm(admin: StandInAdmin, **more: str) -> dict[str, Raw]:
    values: dict[str, Raw] = {
        "ServerRoot": (str(admin.root),),
        "AdminHost": ("127.0.0.1",),
        "AdminPort": (str(admin.port),),
        "ResLogLevel": ("TRACE",),
    }
    values.update({k: (v,) for k, v in more.items()})
    return values


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("program", ["start-admin", "stop-admin", "admconfig"])
def test_a_failing_administration_server_program(
    program: str,
    fault: str,
    *,
    agents: Agents,
    admin: StandInAdmin,
    password_helper: PasswordHelper,
    tmp_path: Path,
) -> None:
    entry = {"start-admin": "online", "stop-admin": "offline", "admconfig": "monitor"}[program]
    user = {"AdminUser": "admin", "AdminPasswd": password_helper.encrypt(PASSWORD)}
    values = adm(admin, SecondLevelMonitor="1", **user)
    (path,) = (p for p in admin.root.rglob(program) if p.is_file())

    def up(agents: Agents) -> None:
        assert agents.call("SunJESAdm", "online", "a", values, aep_timeout=30).code == 0

    def run(agents: Agents, _: Path) -> Outcome:
        return agents.call("SunJESAdm", entry, "a", values, aep_timeout=BUDGET)

    prepare = None if entry == "online" else up
    check(Case(program, entry, run, program, prepare, path), fault, agents, tmp_path)


# --- Directory Server (the real 389, in Sun layout) ---------------------------------------


@pytest.mark.realserver
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("program", ["start-slapd", "stop-slapd", "ldapsearch"])
def test_a_failing_directory_server_program(
    program: str, fault: str, agents: Agents, ds: DsInstance, tmp_path: Path
) -> None:
    entry = {"start-slapd": "online", "stop-slapd": "offline", "ldapsearch": "monitor"}[program]
    values: dict[str, Raw] = {
        "InstanceRoot": (str(ds.instance_root),),
        "LDAPHost": ("127.0.0.1",),
        "LDAPPort": (str(ds.port),),
        "ResLogLevel": ("TRACE",),
        "SecondLevelMonitor": ("1",),
    }
    ldapsearch = install_sun_ldapsearch(ds.server_root)
    if entry == "online":
        ds.stop()
    programs = {
        "start-slapd": ds.start_script,
        "stop-slapd": ds.stop_script,
        "ldapsearch": ldapsearch,
    }

    def up(agents: Agents) -> None:
        assert agents.call("SunJESLDAP", "online", "l", values, aep_timeout=60).code == 0

    def run(agents: Agents, _: Path) -> Outcome:
        return agents.call("SunJESLDAP", entry, "l", values, aep_timeout=BUDGET)

    prepare = None if entry == "online" else up
    case = Case(program, entry, run, program, prepare, programs[program])
    check(case, fault, agents, tmp_path)
