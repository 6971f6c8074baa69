"""A marker password, followed everywhere the agents could leave it.

Every password attribute is set to the encrypted marker, and the entry points run
through the installed executables: online, monitor with the second level, offline and
clean, malformed argument vectors, explain and doctor. Then every log line, every
output, every state and temporary file, and the argument vector and environment of
every program the agents ran (captured by wrappers while they run) are searched for the
marker and for every fragment of it of 4 characters: none may appear. The plaintext
reaches only the programs' standard input, which the wrappers pass on unread.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jescore.policy.declaration import Raw
from jescore.policy.vcs import CleanReason
from stubs.adminserver import StandInAdmin, build_admin_root
from stubs.msgserver import StandInServer
from stubs.vcscrypt import PasswordHelper
from tests.agentcalls import Agents
from tests.conftest import MARKER

FRAGMENTS = {MARKER[i : i + 4] for i in range(len(MARKER) - 3)}
WRAPPED = {"msstart", "immonitor-access", "configutil", "start-admin", "stop-admin", "admconfig"}


def leaks(text: str) -> set[str]:
    return {fragment for fragment in FRAGMENTS if fragment in text}


def wrap(program: Path, record: Path) -> None:
    """Put a recorder in front of `program`: it appends its argument vector and its
    environment to `record`, then becomes the real program (standard input untouched)."""
    real = program.with_name(program.name + ".real")
    program.rename(real)
    program.write_text(
        "#!/bin/sh\n"
        f'{{ echo "=== $0"; printf "%s\\n" "$@"; echo "--- environment"; env; }} >> {record}\n'
        f'exec {real} "$@"\n'
    )
    program.chmod(0o755)


def wrap_all(root: Path, record: Path) -> int:
    found = [p for p in root.rglob("*") if p.name in WRAPPED and p.is_file()]
    for program in found:
        wrap(program, record)
    return len(found)


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[StandInAdmin]:
    built = build_admin_root(tmp_path / "adm", ssl=True, password=MARKER, ssl_db_password=MARKER)
    yield built
    built.stop_all()


def jesagent(agents: Agents, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "shell.cli", *args],
        env={**os.environ, **agents.env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout + done.stderr


def test_the_marker_password_is_nowhere_but_on_standard_input(
    agents: Agents,
    mail: StandInServer,
    admin: StandInAdmin,
    password_helper: PasswordHelper,
    tmp_path: Path,
) -> None:
    record = tmp_path / "children"
    temp = tmp_path / "tmp"
    temp.mkdir()
    agents.env["TMPDIR"] = str(temp)
    assert wrap_all(mail.root, record) >= 2
    assert wrap_all(admin.root, record) >= 3
    wrap(password_helper.decrypt_program, record)
    secret = password_helper.encrypt(MARKER)
    outputs: list[str] = []

    def run(type_name: str, entry: str, values: dict[str, Raw], **kw: object) -> int:
        outcome = agents.call(type_name, entry, "r1", values, **kw)  # type: ignore[arg-type]
        outputs.append(outcome.output)
        return outcome.code

    msg_values: dict[str, Raw] = {
        "ServerRoot": (str(mail.root),),
        "MsgHost": ("127.0.0.1",),
        "ResLogLevel": ("TRACE",),
        "SecondLevelMonitor": ("1",),
        "LDAPTestUser": ("probe",),
        "LDAPTestPasswd": (secret,),
    }
    core = {**msg_values, "MsgServices": ("core", str(mail.ports["core"]))}
    imap = {**msg_values, "MsgServices": ("imap", str(mail.ports["imap"]))}
    assert run("SunJESMsg", "online", core) == 0
    assert run("SunJESMsg", "online", imap) == 0
    assert run("SunJESMsg", "monitor", imap) == 110  # the synthetic transaction logged in
    wrong = {**imap, "LDAPTestPasswd": (password_helper.encrypt(MARKER[::-1]),)}
    assert run("SunJESMsg", "monitor", wrong) == 100  # refused: its error is searched too
    adm_values: dict[str, Raw] = {
        "ServerRoot": (str(admin.root),),
        "AdminHost": ("127.0.0.1",),
        "AdminPort": (str(admin.port),),
        "SSLEnabled": ("1",),
        "ResLogLevel": ("TRACE",),
        "SecondLevelMonitor": ("1",),
        "AdminUser": ("admin",),
        "AdminPasswd": (secret,),
        "SSLDbPasswd": (secret,),
    }
    assert run("SunJESAdm", "online", adm_values, aep_timeout=30) == 0
    assert run("SunJESAdm", "monitor", adm_values) == 110
    # Malformed: the encrypted value where a count or a name belongs, and cut short.
    for broken in (["r1", "AdminPasswd", secret], ["r1", secret, "1", "x"], ["r1", "V50", secret]):
        outputs.append(agents.call_raw("SunJESAdm", "monitor", broken).output)
    outputs.append(jesagent(agents, "explain", "SunJESMsg", "monitor", "r1", *_v50(imap)))
    outputs.append(jesagent(agents, "doctor", "SunJESMsg", "r1", *_v50(imap)))
    assert run("SunJESAdm", "offline", adm_values, aep_timeout=30) == 0
    assert run("SunJESMsg", "clean", imap, reason=CleanReason.MONITOR_HUNG) in {0, 1}
    assert run("SunJESMsg", "offline", core, aep_timeout=30) == 0

    children = record.read_text()
    assert children.count("=== ") >= 6  # the wrappers saw the programs run
    assert "immonitor-access" in children and "admconfig" in children
    places = {
        "the agent log": agents.log.read_text(),
        "entry point, explain and doctor output": "\n".join(outputs),
        "child argument vectors and environments": children,
        **{
            f"state file {p.name}": p.read_text(errors="replace")
            for p in agents.state.rglob("*")
            if p.is_file()
        },
        **{
            f"temporary file {p.name}": p.read_text(errors="replace")
            for p in temp.rglob("*")
            if p.is_file()
        },
    }
    found = {where: sorted(leaks(text)) for where, text in places.items() if leaks(text)}
    assert found == {}, found


def _v50(values: dict[str, Raw]) -> list[str]:
    words: list[str] = []
    for name, value in values.items():
        words += [name, str(len(value)), *value]
    return words
