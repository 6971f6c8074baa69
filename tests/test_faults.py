"""Every external program hung in turn: each entry point still answers before its budget,
with a log line naming what hung.

A hung program is a wrapper that sleeps for an hour in its place (or, for a program that
is also a daemon, only when called as the probe). Each case runs FAULT_RUNS times
(JESAGENT_FAULT_RUNS, default 1; CI runs 3) and the smallest margin left before the
budget is recorded; `JESAGENT_FAULT_REPORT=<file>` appends the figures as JSON lines,
which docs/reliability.md reports.
"""

from __future__ import annotations

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

pytestmark = pytest.mark.long

FAULT_RUNS = int(os.environ.get("JESAGENT_FAULT_RUNS", "1"))
BUDGET = 8  # AEPTimeout of every call here: long enough for the stand-ins, short to wait
PASSWORD = "probe-secret"


def hang(program: Path, when: str = "") -> None:
    """Replace `program` by one that never answers (with `when`, a shell `case` pattern of
    its first argument, only then; otherwise it runs the real program)."""
    real = program.with_name(program.name + ".real")
    shutil.move(program, real)
    if when:
        body = f'case "$1" in {when}) exec sleep 3600;; esac\nexec {real} "$@"\n'
    else:
        body = "exec sleep 3600\n"
    program.write_text(f"#!/bin/sh\n{body}")
    program.chmod(0o755)


def script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}")
    path.chmod(0o755)
    return path


@dataclass(frozen=True)
class Case:
    label: str  # the hung program
    entry: str
    run: Callable[[Agents, Path], Outcome]  # sets the fault up, then makes the one call
    named: str  # what the log must name
    prepare: Callable[[Agents], None] | None = None  # before each run: what it meets


def record(case: Case, margins: list[float]) -> None:
    target = os.environ.get("JESAGENT_FAULT_REPORT")
    if target:
        row = {"program": case.label, "entry": case.entry, "runs": len(margins),
               "budget": BUDGET, "smallest_margin": round(min(margins), 3)}  # fmt: skip
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")


def check(case: Case, agents: Agents, tmp_path: Path) -> None:
    margins: list[float] = []
    for attempt in range(FAULT_RUNS):
        where = tmp_path / f"run{attempt}"
        where.mkdir()
        agents.env["JESAGENT_STATE_DIR"] = str(where / "state")
        if case.prepare is not None:
            case.prepare(agents)
        outcome = case.run(agents, where)
        assert "Traceback" not in outcome.output
        assert outcome.seconds < BUDGET, (case.label, outcome.seconds, outcome.lines)
        text = "\n".join(outcome.lines) + outcome.output
        assert case.named in text, (case.label, outcome.lines)
        margins.append(BUDGET - outcome.seconds)
    record(case, margins)


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
    server: StandInServer, helper: PasswordHelper, entry: str
) -> dict[str, Callable[[Agents, Path], Outcome]]:
    """For each fault, the call that meets it (after setting up what is not a program)."""

    def call(agents: Agents, values: dict[str, Raw]) -> Outcome:
        reason = CleanReason.MONITOR_HUNG if entry == "clean" else None
        return agents.call("SunJESMsg", entry, "m", values, aep_timeout=BUDGET, reason=reason)

    user = {"LDAPTestUser": "probe", "LDAPTestPasswd": helper.encrypt(PASSWORD)}
    deep = msg(server, "imap", SecondLevelMonitor="1", **user)

    def monitor_program(agents: Agents, where: Path) -> Outcome:
        program = script(where / "check", "exec sleep 3600\n")
        return call(agents, msg(server, "imap", MonitorProgram=str(program)))

    def decrypt(agents: Agents, where: Path) -> Outcome:
        agents.env["JESAGENT_DECRYPT"] = str(script(where / "vcsdecrypt", "exec sleep 3600\n"))
        return call(agents, deep)

    def halog(agents: Agents, where: Path) -> Outcome:
        agents.env["JESAGENT_HALOG"] = str(script(where / "halog", "exec sleep 3600\n"))
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


@pytest.mark.parametrize("label", sorted(MSG_FAULTS))
def test_a_hung_messaging_server_program(
    label: str,
    agents: Agents,
    server: StandInServer,
    password_helper: PasswordHelper,
    tmp_path: Path,
) -> None:
    entry, named = MSG_FAULTS[label]
    calls = msg_calls(server, password_helper, entry)
    assert set(calls) == set(MSG_FAULTS)

    def service_up(agents: Agents) -> None:  # the store and the service run
        assert agents.call("SunJESMsg", "online", "c", msg(server, "core")).code == 0
        assert agents.call("SunJESMsg", "online", "m", msg(server, "imap")).code == 0

    if label.startswith("msstart"):
        hang(server.msstart, "-k" if entry != "online" else "")
    elif label.startswith("stored"):
        hang(server.stored, "-t")
    elif label == "immonitor-access":
        hang(server.immonitor_access)
    prepare = None if entry == "online" else service_up
    check(Case(label, entry, calls[label], named, prepare), agents, tmp_path)


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


@pytest.mark.parametrize("program", ["start-admin", "stop-admin", "admconfig"])
def test_a_hung_administration_server_program(
    program: str,
    agents: Agents,
    admin: StandInAdmin,
    password_helper: PasswordHelper,
    tmp_path: Path,
) -> None:
    entry = {"start-admin": "online", "stop-admin": "offline", "admconfig": "monitor"}[program]
    user = {"AdminUser": "admin", "AdminPasswd": password_helper.encrypt(PASSWORD)}
    values = adm(admin, SecondLevelMonitor="1", **user)
    (path,) = (p for p in admin.root.rglob(program) if p.is_file())
    hang(path)

    def up(agents: Agents) -> None:  # start-admin still answers unless it is the one hung
        assert agents.call("SunJESAdm", "online", "a", values, aep_timeout=30).code == 0

    def run(agents: Agents, _: Path) -> Outcome:
        return agents.call("SunJESAdm", entry, "a", values, aep_timeout=BUDGET)

    prepare = None if entry == "online" else up
    check(Case(program, entry, run, program, prepare), agents, tmp_path)


# --- Directory Server (the real 389, in Sun layout) ---------------------------------------


@pytest.mark.realserver
@pytest.mark.parametrize("program", ["start-slapd", "stop-slapd", "ldapsearch"])
def test_a_hung_directory_server_program(
    program: str, agents: Agents, ds: DsInstance, tmp_path: Path
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
    hang(programs[program])

    def up(agents: Agents) -> None:  # start-slapd still answers unless it is the one hung
        assert agents.call("SunJESLDAP", "online", "l", values, aep_timeout=60).code == 0

    def run(agents: Agents, _: Path) -> Outcome:
        return agents.call("SunJESLDAP", entry, "l", values, aep_timeout=BUDGET)

    prepare = None if entry == "online" else up
    check(Case(program, entry, run, program, prepare), agents, tmp_path)
