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
        before = self.log.stat().st_size if self.log.exists() else 0
        started = time.monotonic()
        done = subprocess.run(
            [str(self.directory / type_name / entry), *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        seconds = time.monotonic() - started
        text = ""
        if self.log.exists():
            with self.log.open() as handle:
                handle.seek(before)
                text = handle.read()
        return Outcome(done.returncode, text.splitlines(), seconds, done.stdout + done.stderr)
