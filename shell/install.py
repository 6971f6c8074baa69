"""Laying out the entry-point executables VCS calls (AgentFile Script50Agent,
AgentDirectory DIR/<Type>)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from jescore.registry import POLICIES
from jescore.vcs import EntryPoint

MARKER = "# Written by `jesagent install`; `jesagent uninstall` removes it. Do not edit."


def entry_script(type_name: str, entry: EntryPoint, python: str) -> str:
    # -I: VCS's environment (PYTHONPATH, user site) cannot change which code runs.
    return (
        f"#!{python} -I\n"
        f"{MARKER}\n"
        "import sys\n\n"
        "from shell.cli import entry_point\n\n"
        f"sys.exit(entry_point({type_name!r}, {entry.value!r}, sys.argv[1:]))\n"
    )


def install(agents_dir: Path, python: str | None = None) -> list[Path]:
    """Write DIR/<Type>/{online,offline,monitor,clean} for every type; returns the files."""
    interpreter = python or sys.executable
    written: list[Path] = []
    for type_name in POLICIES:
        folder = agents_dir / type_name
        folder.mkdir(parents=True, exist_ok=True)
        for entry in EntryPoint:
            target = folder / entry.value
            if target.exists() and MARKER not in target.read_text(errors="replace"):
                raise FileExistsError(f"{target} exists and was not written by jesagent install")
            temp = target.with_name(f".{entry.value}.new")
            temp.write_text(entry_script(type_name, entry, interpreter))
            os.chmod(temp, 0o755)  # noqa: S103 - VCS must be able to execute it
            os.replace(temp, target)
            written.append(target)
    return written
