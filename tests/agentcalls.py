"""Calling the installed entry points exactly as VCS does, and reading what they logged."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jescore.policy import argv as vcs_argv
from jescore.policy.declaration import Raw
from jescore.policy.registry import POLICIES
from jescore.policy.vcs import CleanReason


@dataclass(frozen=True)
class Outcome:
    code: int
    lines: list[str]
    seconds: float
    output: str

    def logged(self, words: str) -> bool:
        return any(words in line for line in self.lines)


@dataclass
class Agents:
    """Installed entry points plus the environment VCS would give them."""

    directory: Path
    log: Path
    state: Path
    env: dict[str, str] = field(default_factory=dict)

    def call(
        self,
        type_name: str,
        entry: str,
        resource: str,
        values: Mapping[str, Raw],
        *,
        aep_timeout: int | None = None,
        reason: CleanReason | None = None,
        form: str = "V50",
        extra: Mapping[str, str] | None = None,
    ) -> Outcome:
        decl = POLICIES[type_name].declaration
        engine = {"State": "2", "IState": "0", **(extra or {})}
        if aep_timeout is not None:
            engine["AEPTimeout"] = str(aep_timeout)
        render = vcs_argv.render_v50 if form == "V50" else vcs_argv.render_v40
        args = render(decl, resource, values, engine, reason)
        return self.call_raw(type_name, entry, list(args))

    def call_raw(
        self, type_name: str, entry: str, args: Sequence[str], timeout: float = 400
    ) -> Outcome:
        argv = [str(self.directory / type_name / entry), *args]
        return run_logged(argv, {**os.environ, **self.env}, self.log, timeout)


def run_logged(argv: Sequence[str], env: Mapping[str, str], log: Path, timeout: float) -> Outcome:
    """Run an agent; its exit code, what it added to `log`, its time and its output."""
    before = log.stat().st_size if log.exists() else 0
    started = time.monotonic()
    done = subprocess.run(
        list(argv), env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )
    seconds = time.monotonic() - started
    text = ""
    if log.exists():
        with log.open() as handle:
            handle.seek(before)
            text = handle.read()
    return Outcome(done.returncode, text.splitlines(), seconds, done.stdout + done.stderr)


@dataclass
class OcfAgents:
    """Installed OCF agents plus the environment Pacemaker would give them: parameters
    as OCF_RESKEY_<name>, the log in HA_LOGFILE, the monitor's memory under HA_RSCTMP."""

    directory: Path
    log: Path
    rsctmp: Path
    env: dict[str, str] = field(default_factory=dict)

    def call(
        self,
        type_name: str,
        action: str,
        resource: str,
        params: Mapping[str, str],
        *,
        extra: Mapping[str, str] | None = None,
        timeout: float = 400,
    ) -> Outcome:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OCF_", "HA_"))}
        env |= {"OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": resource}
        env |= {"HA_LOGFILE": str(self.log), "HA_RSCTMP": str(self.rsctmp), **self.env}
        env |= {f"OCF_RESKEY_{name}": value for name, value in params.items()}
        env |= dict(extra or {})
        return run_logged([str(self.directory / type_name), action], env, self.log, timeout)
