"""Bad input, from VCS or an administrator: arbitrary argument vectors, mangled ones and
hostile attribute values, for every type and entry point.

In process, through the real interpreter on the scripted system (thousands of examples in
the CI profile), and a few hundred times through the installed executables. Whatever
arrives: never a traceback or an internal error, always an exit code in the VCS domain,
never a command run or a signal sent on attributes that do not validate, and a hostile
value is data: it never changes which program runs nor widens what clean may kill.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jescore.policy import argv as vcs_argv
from jescore.policy.declaration import validate
from jescore.policy.processes import ProcessInfo
from jescore.policy.registry import POLICIES
from jescore.policy.resource import Snapshot
from jescore.policy.vcs import CleanReason, EntryPoint
from shell.engine import carry_out
from tests.agentcalls import Agents
from tests.conftest import IN_CI
from tests.fakesystem import FakeSystem
from tests.strategies import any_argv
from tests.test_procedures import DOMAIN, Situation, situations

TYPES = sorted(POLICIES)
ENTRIES = list(EntryPoint)
ACTING = {"run", "connect", "converse", "signal"}  # the operations that touch the world
EXAMPLES = int(os.environ.get("JESAGENT_BAD_INPUT_EXAMPLES") or (4000 if IN_CI else 400))

HOSTILE = [
    "; rm -rf /", "$(reboot)", "`id`", "a|b", "a&&b", "x\ny", "x\rReboot", "../../etc",
    "/opt/msg/../..", "-rf", "--help", "-D", "*", "?", "'", '"', "\\", "\x00", "\x7f",
    "\udcff\udcfe", "é" * 300, "a" * 5000, " ", "", "/", "//", "/opt/msg/", "\t",
]  # fmt: skip


def acted(system: FakeSystem) -> list[tuple[object, ...]]:
    return [op for op in system.ops if op[0] in ACTING]


def internal_errors(system: FakeSystem) -> list[tuple[object, ...]]:
    return [op for op in system.ops if "internal error" in str(op)]


def drive_raw(
    type_name: str, entry: EntryPoint, argv: list[str], table: list[ProcessInfo]
) -> tuple[FakeSystem, int]:
    system = FakeSystem(POLICIES[type_name], None, list(table))
    return system, carry_out(type_name, entry, argv, system)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.sampled_from(TYPES), st.sampled_from(ENTRIES), any_argv)
def test_arbitrary_argv_is_answered_and_acts_on_nothing_unreadable(
    type_name: str, entry: EntryPoint, argv: list[str]
) -> None:
    system, code = drive_raw(type_name, entry, argv, [])
    assert code in DOMAIN[entry]
    assert not internal_errors(system)
    if (
        not vcs_argv.parse(POLICIES[type_name].declaration, entry, argv)
        .map(lambda _: True)
        .value_or(False)
    ):
        assert not acted(system), system.ops


@st.composite
def mangled(draw: st.DrawFn) -> tuple[Situation, EntryPoint, list[str]]:
    """A valid call with its argument vector damaged: tokens dropped, repeated, swapped
    for hostile ones, or counts changed."""
    situation = draw(situations())
    type_name, values, _ = situation
    entry = draw(st.sampled_from(ENTRIES))
    reason = CleanReason.MONITOR_HUNG if entry is EntryPoint.CLEAN else None
    render = draw(st.sampled_from([vcs_argv.render_v50, vcs_argv.render_v40]))
    argv = list(render(POLICIES[type_name].declaration, "res1", values, {}, reason))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(argv) - 1, 0)))
        how = draw(st.sampled_from(["drop", "repeat", "hostile", "count"]))
        if not argv:
            break
        if how == "drop":
            del argv[at]
        elif how == "repeat":
            argv.insert(at, argv[at])
        elif how == "hostile":
            argv[at] = draw(st.sampled_from(HOSTILE))
        else:
            argv[at] = str(draw(st.integers(-2, 50)))
    return situation, entry, argv


@settings(max_examples=EXAMPLES, deadline=None)
@given(mangled())
def test_a_mangled_call_never_acts_on_invalid_attributes(
    case: tuple[Situation, EntryPoint, list[str]],
) -> None:
    (type_name, _, table), entry, argv = case
    decl = POLICIES[type_name].declaration
    system, code = drive_raw(type_name, entry, argv, table)
    assert code in DOMAIN[entry]
    assert not internal_errors(system)
    parsed = vcs_argv.parse(decl, entry, argv)
    if not parsed.map(lambda _: True).value_or(False):
        assert not acted(system), system.ops
        return
    values = dict(parsed.unwrap().values)
    for attr in decl.attrs:  # a bad logging value is logged and replaced by its default
        if attr.logging_only:
            values[attr.name] = attr.default
    full = validate(decl, values).map(lambda _: True).value_or(False)
    identified = validate(decl.identifying(), values).map(lambda _: True).value_or(False)
    stopping = entry in {EntryPoint.OFFLINE, EntryPoint.CLEAN}
    if not (full or (stopping and identified)):
        assert not acted(system), system.ops


ROOT_ATTRS = {"SunJESMsg": "ServerRoot", "SunJESLDAP": "InstanceRoot", "SunJESAdm": "ServerRoot"}


@settings(max_examples=300, deadline=None)
@given(situations(), st.sampled_from(HOSTILE), st.sampled_from(["prefix", "suffix", "whole"]))
def test_a_hostile_root_is_data_never_a_wider_kill_nor_another_program(
    situation: Situation, hostile: str, where: str
) -> None:
    type_name, values, table = situation
    policy = POLICIES[type_name]
    attr = ROOT_ATTRS[type_name]
    root = values[attr][0]
    changed = {"prefix": hostile + root, "suffix": root + hostile, "whole": hostile}[where]
    found = validate(policy.declaration, {**values, attr: (changed,)})
    if not found.map(lambda _: True).value_or(False):
        return  # refused: nothing runs (the properties above)
    cfg = found.unwrap()
    (declared,) = (a for a in policy.declaration.attrs if a.name == attr)
    accepted = str(cfg[declared])  # as validation normalised it ("//x/" is "/x")
    original = validate(policy.declaration, values).unwrap()
    if accepted == str(original[declared]):
        return  # nothing hostile was added (an empty prefix): the same resource
    assert accepted.replace("/", "") in changed.replace("/", "")  # the value, not another
    # The programs run are the value joined with fixed names: never split, never a shell.
    assert policy.start(cfg).argv[0].startswith(accepted.rstrip("/") + "/")
    # What clean stops is the instance under the value as given, and only that: the
    # original resource's processes, strangers and neighbours all stay.
    mine = policy.model_processes(cfg, 5000)
    targets = policy.stop_targets(cfg, Snapshot((*table, *mine)))
    assert {p.pid for p in targets} <= {p.pid for p in mine}
    assert targets or not mine  # and the instance itself is found


# --- through the installed executables ---------------------------------------------------


def calls(seed: int, count: int) -> list[tuple[str, str, list[bytes]]]:
    """Argument vectors as a broken or hostile caller would send them, bytes included
    (argv is bytes on Unix: invalid UTF-8 reaches the agent as it is)."""
    pick = random.Random(seed)
    words = [w.encode("utf-8", "surrogateescape") for w in HOSTILE if "\x00" not in w]
    words += [b"\xff\xfe", b"V50", b"1", b"0", b"-1", b"99999999999", b"ServerRoot",
              b"InstanceRoot", b"MsgServices", b"ResLogLevel", b"TRACE", b"AEPTimeout"]  # fmt: skip
    out: list[tuple[str, str, list[bytes]]] = []
    for _ in range(count):
        argv = [pick.choice(words) for _ in range(pick.randint(0, 12))]
        out.append((pick.choice(TYPES), pick.choice(ENTRIES).value, argv))
    return out


@pytest.mark.long
def test_hundreds_of_bad_calls_through_the_executables(agents: Agents, tmp_path: Path) -> None:
    seen_codes: set[int] = set()
    for type_name, entry, argv in calls(seed=12, count=240):
        program = agents.directory / type_name / entry
        done = subprocess.run(
            [bytes(program), *argv],
            env={**os.environ, **agents.env},
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode in DOMAIN[EntryPoint(entry)], (type_name, entry, argv, done.stderr)
        assert b"Traceback" not in done.stdout + done.stderr, (argv, done.stderr)
        seen_codes.add(done.returncode)
    assert {99, 1} <= seen_codes  # monitor's unknown and a refusing entry point were both met
