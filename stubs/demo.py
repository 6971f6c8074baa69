"""make demo: the SunJESMsg agent driven as VCS drives it, against a stand-in Messaging
Server in a temporary directory. No VCS and no root needed; it leaves nothing behind.

It exits 0 only when every call answered what the story expects.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jescore import argv as vcs_argv
from jescore.agentlog import MASK
from jescore.declaration import Raw
from jescore.sunjesmsg import DECLARATION
from jescore.vcs import CleanReason
from stubs.msgserver import StandInServer, build_server_root
from stubs.vcscrypt import install_password_helper

MEANING = {
    ("monitor", 110): "online",
    ("monitor", 100): "offline",
    ("monitor", 99): "unknown",
    ("clean", 0): "clean succeeded",
    ("clean", 1): "clean failed",
    ("online", 0): "done (VCS monitors at once)",
    ("offline", 0): "done (VCS monitors at once)",
}


@dataclass(frozen=True)
class Step:
    say: str
    resource: str
    entry: str
    expect: int
    before: Callable[[], object] | None = None
    reason: CleanReason | None = None


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="jesagent-demo-"))
    server: StandInServer | None = None
    try:
        server = build_server_root(work / "SUNWmsgsr", users={"probe": "probe-secret"})
        agents = work / "agents"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "shell.cli",
                "install",
                "--agents-dir",
                str(agents),
                "--conf-dir",
                str(work / "conf"),
            ],
            check=True,
            capture_output=True,
        )
        helper = install_password_helper(work / "vcs")
        env = {
            **os.environ,
            "JESAGENT_LOG": str(work / "SunJESMsg_A.log"),
            "JESAGENT_STATE_DIR": str(work / "state"),
            "JESAGENT_DECRYPT": str(helper.decrypt_program),
        }
        resources: dict[str, dict[str, Raw]] = {
            "msg_core": {
                "ServerRoot": (str(server.root),),
                "MsgHost": ("127.0.0.1",),
                "MsgServices": ("core", str(server.ports["core"])),
                "SecondLevelMonitor": ("1",),
            },
            "msg_mail": {
                "ServerRoot": (str(server.root),),
                "MsgHost": ("127.0.0.1",),
                "MsgServices": ("imap", str(server.ports["imap"]), "pop", str(server.ports["pop"])),
                "LDAPTestUser": ("probe",),
                "LDAPTestPasswd": (helper.encrypt("probe-secret"),),
                "SecondLevelMonitor": ("2",),
                "ResLogLevel": ("TRACE",),
            },
        }
        stand_in = server
        steps = [
            Step("Nothing runs yet: the monitor says offline.", "msg_core", "monitor", 100),
            Step("Bring the core (stored, imsched, watcher) online.", "msg_core", "online", 0),
            Step("First level and stored -t -v both pass.", "msg_core", "monitor", 110),
            Step("Bring IMAP and POP online.", "msg_mail", "online", 0),
            Step("Cycle 1 of 2: processes only.", "msg_mail", "monitor", 110),
            Step("Cycle 2 of 2: synthetic IMAP and POP logins too.", "msg_mail", "monitor", 110),
            Step(
                "Fault: imapd is killed. The first level notices.",
                "msg_mail", "monitor", 100, before=lambda: stand_in.kill("imapd"),
            ),
            Step(
                "VCS calls clean (reason 4): only this resource's processes go; the core stays.",
                "msg_mail", "clean", 0, reason=CleanReason.UNEXPECTED_OFFLINE,
            ),
            Step("Online again.", "msg_mail", "online", 0),
            Step("Back to online.", "msg_mail", "monitor", 110),
            Step(
                "Fault: stored stops being ready. Its second level catches it.",
                "msg_core", "monitor", 100, before=lambda: stand_in.inject("stored.notready"),
            ),
            Step(
                "The store recovers.",
                "msg_core", "monitor", 110, before=lambda: stand_in.clear("stored.notready"),
            ),
            Step("Take IMAP and POP offline.", "msg_mail", "offline", 0),
            Step("Take the core offline.", "msg_core", "offline", 0),
            Step("All gone.", "msg_core", "monitor", 100),
        ]  # fmt: skip
        failures = 0
        for number, step in enumerate(steps, 1):
            failures += run_step(
                number,
                step,
                resources=resources,
                agents=agents,
                env=env,
                log=work / "SunJESMsg_A.log",
            )
        print()
        if failures:
            print(f"demo: {failures} step(s) did not behave as expected")
            return 1
        print(f"demo: all {len(steps)} steps behaved as expected")
        return 0
    finally:
        if server is not None:
            server.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def run_step(
    number: int,
    step: Step,
    *,
    resources: dict[str, dict[str, Raw]],
    agents: Path,
    env: dict[str, str],
    log: Path,
) -> int:
    if step.before is not None:
        step.before()
    values = resources[step.resource]
    args = vcs_argv.render_v50(
        DECLARATION, step.resource, values, {"AEPTimeout": "30"}, step.reason
    )
    secret = values.get("LDAPTestPasswd", ("",))[0]
    shown = " ".join(MASK if secret and a == secret else (a or "''") for a in args)
    before = log.stat().st_size if log.exists() else 0
    done = subprocess.run(
        [str(agents / "SunJESMsg" / step.entry), *args], env=env, capture_output=True, check=False
    )
    print(f"\n[{number}] {step.say}")
    print(f"  $ SunJESMsg/{step.entry} {shown}")
    meaning = MEANING.get((step.entry, done.returncode), "")
    ok = done.returncode == step.expect
    mark = "ok" if ok else f"UNEXPECTED (wanted {step.expect})"
    print(f"  exit {done.returncode}: {meaning or 'unexpected'} - {mark}")
    if log.exists():
        with log.open() as handle:
            handle.seek(before)
            for line in handle.read().splitlines():
                print(f"    {line}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
