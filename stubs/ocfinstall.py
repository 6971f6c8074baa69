"""Install the OCF agents from a copy of the code that every user can read.

Pacemaker's tools run an agent's meta-data as user nobody (ocf-tester does so first of
all), so the interpreter an agent starts and the directories it imports from must be
reachable by any user. A source tree or a virtual environment under a private home
directory is not; this copies jescore/, shell/ and psutil into a fresh directory under
/tmp, readable by all, and runs `jesagent install --ocf` from there with the system's
python3 (the same minor version as the project's, on Debian 12), as an administrator
would from a venv made under /opt.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

import jescore
import shell

SYSTEM_PYTHON = "/usr/bin/python3"


@dataclass(frozen=True)
class Installed:
    base: Path
    agents: Path  # the agents, one file per type (an OCF provider directory)
    python: str

    @property
    def lib(self) -> Path:
        return self.base / "lib"


def _same_minor(python: str) -> bool:
    done = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() == str(tuple(sys.version_info[:2]))


def pick_python() -> str:
    """The system's python3 when it can load psutil's compiled part, else this one."""
    if os.access(SYSTEM_PYTHON, os.X_OK) and _same_minor(SYSTEM_PYTHON):
        return SYSTEM_PYTHON
    return sys.executable


def _open_to_all(top: Path) -> None:
    for folder, _, files in os.walk(top):
        os.chmod(folder, 0o755)  # noqa: S103 - readable by every user is the point
        for name in files:
            path = os.path.join(folder, name)
            os.chmod(path, os.stat(path).st_mode | 0o444)


def install(agents: Path, *, python: str | None = None, lib: Path | None = None) -> str:
    """Run `jesagent install --ocf --ocf-dir AGENTS` with `python`, importing from `lib`
    (default: where this interpreter finds the code); its output."""
    interpreter = python or sys.executable
    roots = [str(lib)] if lib is not None else [os.path.dirname(os.path.dirname(shell.__file__))]
    code = (
        "import sys; sys.path[:0] = " + repr(roots) + "; from shell.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    argv = ["install", "--ocf", "--ocf-dir", str(agents), "--python", interpreter]
    done = subprocess.run(
        [interpreter, "-I", "-c", code, *argv], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"jesagent install --ocf failed: {done.stdout}{done.stderr}")
    return done.stdout + done.stderr


@contextlib.contextmanager
def world_readable_install() -> Iterator[Installed]:
    base = Path(tempfile.mkdtemp(prefix="jesagent-ocf-", dir="/tmp"))
    try:
        lib = base / "lib"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for package in (jescore, shell, psutil):
            source = Path(package.__file__ or "").parent
            shutil.copytree(source, lib / source.name, ignore=ignore)
        _open_to_all(base)
        python = pick_python()
        agents = base / "resource.d" / "jesagent"
        install(agents, python=python, lib=lib)
        _open_to_all(base / "resource.d")
        yield Installed(base, agents, python)
    finally:
        shutil.rmtree(base, ignore_errors=True)
