"""jesagent install / uninstall into temporary directories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jescore.policy.registry import POLICIES
from jescore.policy.vcs import EntryPoint
from shell.install import MANIFEST


def jesagent(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shell.cli", *args], capture_output=True, text=True, check=False
    )


def dirs(tmp_path: Path) -> tuple[str, ...]:
    return ("--agents-dir", str(tmp_path / "bin"), "--conf-dir", str(tmp_path / "conf"))


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_install_lays_out_every_entry_point_and_says_what_next(tmp_path: Path) -> None:
    done = jesagent("install", *dirs(tmp_path))
    assert done.returncode == 0, done.stderr
    for type_name in POLICIES:
        for entry in EntryPoint:
            script = tmp_path / "bin" / type_name / entry.value
            assert os.access(script, os.X_OK)
            assert script.read_text().startswith(f"#!{sys.executable} -IS\n")
    assert "hacf -verify" in done.stdout


def test_an_installed_entry_point_answers_like_vcs_expects(tmp_path: Path) -> None:
    jesagent("install", *dirs(tmp_path))
    monitor = tmp_path / "bin" / "SunJESMsg" / "monitor"
    done = subprocess.run([str(monitor), "r1"], capture_output=True, text=True, check=False)
    assert done.returncode == 99  # unreadable arguments: unknown, never a traceback
    assert "no attribute values" in done.stderr
    assert "Traceback" not in done.stderr


def test_install_is_idempotent(tmp_path: Path) -> None:
    jesagent("install", *dirs(tmp_path))
    before = {p: p.read_bytes() for p in files_under(tmp_path)}
    again = jesagent("install", *dirs(tmp_path))
    assert again.returncode == 0
    assert "wrote" not in again.stdout
    assert {p: p.read_bytes() for p in files_under(tmp_path)} == before


def test_install_refuses_to_overwrite_a_foreign_file_and_writes_nothing(tmp_path: Path) -> None:
    foreign = tmp_path / "bin" / "SunJESAdm" / "online"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("#!/bin/sh\necho site script\n")
    done = jesagent("install", *dirs(tmp_path))
    assert done.returncode == 1
    assert "was not written by jesagent install" in done.stderr
    assert files_under(tmp_path) == {foreign}
    assert foreign.read_text() == "#!/bin/sh\necho site script\n"


def test_uninstall_removes_exactly_what_install_wrote(tmp_path: Path) -> None:
    jesagent("install", *dirs(tmp_path))
    site_file = tmp_path / "bin" / "SunJESMsg" / "notes.txt"
    site_file.write_text("mine")
    changed = tmp_path / "bin" / "SunJESLDAP" / "monitor"
    changed.write_text(changed.read_text() + "# local change\n")
    done = jesagent("uninstall", *dirs(tmp_path))
    assert done.returncode == 0
    assert "hares -list Type=SunJESMsg" in done.stdout
    left = files_under(tmp_path)
    assert site_file in left
    assert changed in left
    assert "left in place" in done.stdout
    assert all(p.name in {"notes.txt", "monitor", MANIFEST} for p in left)
    again = jesagent("uninstall", *dirs(tmp_path))
    assert again.returncode == 0
    assert files_under(tmp_path) == left
