"""jesagent install / uninstall: the entry points VCS calls and the types files to import,
or (--ocf) the OCF resource agents Pacemaker calls.

    <agents-dir>/<Type>/{online,offline,monitor,clean}   (AgentDirectory, Script50Agent)
    <conf-dir>/<Type>/<Type>Types*.cf                     (every VCS version's variant)
    <ocf-dir>/<Type>                                      (provider jesagent, with --ocf)

Each directory gets a manifest of what was written and its SHA-256, so that uninstall
removes exactly those files, and neither command ever replaces or removes a file it did
not write (or one changed since). Everything is checked before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from jescore.policy.registry import POLICIES
from jescore.policy.vcs import EntryPoint

MARKER = "# Written by `jesagent install`; `jesagent uninstall` removes it. Do not edit."
MANIFEST = ".jesagent-manifest"
DEFAULT_AGENTS_DIR = Path("/opt/VRTSagents/ha/bin")
DEFAULT_CONF_DIR = Path("/etc/VRTSagents/ha/conf")
OCF_PROVIDER = "jesagent"
DEFAULT_OCF_DIR = Path("/usr/lib/ocf/resource.d") / OCF_PROVIDER


def entry_script(type_name: str, entry: EntryPoint, python: str) -> str:
    # -I: VCS's environment (PYTHONPATH, user site) cannot change which code runs. -S: nor
    # can the site's .pth files, and the call saves the site module's start-up (a few ms,
    # much of a monitor's cost); the directories the agent imports from are named here.
    return (
        f"#!{python} -IS\n"
        f"{MARKER}\n"
        "import sys\n\n"
        f"sys.path[:0] = {import_roots()!r}\n\n"
        "from shell.cli import run_and_exit\n\n"
        f"run_and_exit({type_name!r}, {entry.value!r}, sys.argv[1:])\n"
    )


def ocf_script(type_name: str, python: str) -> str:
    # Pacemaker's environment cannot change which code runs either (see entry_script).
    return (
        f"#!{python} -IS\n"
        f"{MARKER}\n"
        "import sys\n\n"
        f"sys.path[:0] = {import_roots()!r}\n\n"
        "from shell.ocf import run_and_exit\n\n"
        f"run_and_exit({type_name!r}, sys.argv[1:])\n"
    )


def import_roots() -> list[str]:
    """The directories holding jesagent's packages and psutil, as this interpreter finds
    them (a source tree, a virtual environment's site-packages, or both)."""
    import psutil

    import jescore
    import shell

    roots: list[str] = []
    for package in (jescore, shell, psutil):
        root = os.path.dirname(os.path.dirname(os.path.abspath(package.__file__ or "")))
        if root not in roots:
            roots.append(root)
    return roots


def types_files(type_name: str) -> dict[str, str]:
    from jescore.tooling.typesfile import all_files

    return {
        name: text for name, text in all_files().items() if name.startswith(f"{type_name}Types")
    }


@dataclass(frozen=True)
class Planned:
    path: Path
    text: str
    mode: int


@dataclass
class Report:
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: Path) -> dict[str, str]:
    """File name -> SHA-256 of what install wrote there."""
    try:
        lines = (folder / MANIFEST).read_text(errors="replace").splitlines()
    except OSError:
        return {}
    entries = (line.split("  ", 1) for line in lines if "  " in line)
    # Only plain names of this folder: a manifest never sends us anywhere else.
    return {name: sha for sha, name in entries if _plain_name(name)}


def _plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and not name.startswith(".") and "\0" not in name


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def plan(agents_dir: Path, conf_dir: Path, python: str) -> list[Planned]:
    planned: list[Planned] = []
    for type_name in POLICIES:
        for entry in EntryPoint:
            text = entry_script(type_name, entry, python)
            planned.append(Planned(agents_dir / type_name / entry.value, text, 0o755))
        for name, text in types_files(type_name).items():
            planned.append(Planned(conf_dir / type_name / name, text, 0o644))
    return planned


def _ours(path: Path, manifest: dict[str, str], new_text: str) -> bool:
    data = path.read_bytes()
    return manifest.get(path.name) == digest(data) or data == new_text.encode()


def plan_ocf(ocf_dir: Path, python: str) -> list[Planned]:
    return [Planned(ocf_dir / name, ocf_script(name, python), 0o755) for name in POLICIES]


def install(agents_dir: Path, conf_dir: Path, python: str | None = None) -> Report:
    return write_planned(plan(agents_dir, conf_dir, python or sys.executable))


SHARED_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")


def install_ocf(ocf_dir: Path, python: str | None = None) -> Report:
    """The OCF agents; with a warning for each path that another user cannot reach, since
    Pacemaker's tools (ocf-tester, crm) may run meta-data as user nobody. Unless told which
    interpreter to use, a private one (under /root, say) gives way to the system's python3
    of the same version."""
    interpreter, note = python, ""
    if interpreter is None:
        interpreter, note = shared_interpreter()
    report = write_planned(plan_ocf(ocf_dir, interpreter))
    if report.problems:
        return report
    if note:
        report.notes.append(note)
    for path in (interpreter, *import_roots()):
        problem = closed_to_others(path)
        if problem:
            report.warnings.append(
                f"{problem}: meta-data run as another user (ocf-tester runs it as nobody) "
                "will fail; install from an interpreter and tree every user can read"
            )
    return report


def shared_interpreter() -> tuple[str, str]:
    """This interpreter, or, when other users cannot run it, the system's python3 of the
    same version (which can load the same compiled modules); and a note saying so."""
    if closed_to_others(sys.executable) is None:
        return sys.executable, ""
    import subprocess

    wanted = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for candidate in SHARED_PYTHONS:
        if not os.access(candidate, os.X_OK) or closed_to_others(candidate):
            continue
        found = subprocess.run(  # noqa: S603 - a fixed interpreter path, no shell
            [candidate, "-IS", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if found.stdout.strip() == wanted:
            return candidate, (
                f"the agents start {candidate}: other users cannot run {sys.executable}"
            )
    return sys.executable, ""


def closed_to_others(path: str) -> str | None:
    """The first place on the way to `path` (or to what its symbolic links lead to) that
    users other than its owner cannot pass: a directory without o+x, the file itself
    without o+r. None when every user can reach it."""
    for target in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
        problem = _closed_on(target)
        if problem:
            return problem
    return None


def _closed_on(target: str) -> str | None:
    import stat

    parts = target.split(os.sep)
    for depth in range(2, len(parts) + 1):
        place = os.sep.join(parts[:depth]) or os.sep
        try:
            mode = os.stat(place).st_mode
        except OSError as error:
            return f"{place}: {error.strerror or error}"
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return f"{place} is closed to other users"
        if not stat.S_ISDIR(mode) and not mode & stat.S_IROTH:
            return f"{place} cannot be read by other users"
    return None


def write_planned(planned: list[Planned]) -> Report:
    """Write every planned file, or none if any would replace a file not ours."""
    report = Report()
    manifests = {p.path.parent: read_manifest(p.path.parent) for p in planned}
    for item in planned:
        if item.path.exists() and not _ours(item.path, manifests[item.path.parent], item.text):
            report.problems.append(
                f"{item.path} exists and was not written by jesagent install (or was changed "
                "since): move it away first"
            )
    if report.problems:
        return report  # nothing written: all or nothing
    for folder in manifests:
        folder.mkdir(parents=True, exist_ok=True)
    for item in planned:
        data = item.text.encode()
        if not item.path.exists() or item.path.read_bytes() != data:
            _write_atomically(item.path, data, item.mode)
            report.written.append(item.path)
        manifests[item.path.parent][item.path.name] = digest(data)
    for folder, entries in manifests.items():
        body = "".join(f"{sha}  {name}\n" for name, sha in sorted(entries.items()))
        _write_atomically(folder / MANIFEST, body.encode(), 0o644)
    return report


def uninstall(agents_dir: Path, conf_dir: Path) -> Report:
    return remove_written(_type_folders(agents_dir, conf_dir))


def uninstall_ocf(ocf_dir: Path) -> Report:
    return remove_written([ocf_dir])


def remove_written(folders: Iterable[Path]) -> Report:
    """Remove what the folders' manifests list, unless changed since; then the folders,
    when nothing else is left in them."""
    report = Report()
    for folder in folders:
        manifest = read_manifest(folder)
        left: dict[str, str] = {}
        for name, sha in manifest.items():
            path = folder / name
            if not path.exists():
                continue
            if digest(path.read_bytes()) != sha:
                report.kept.append(f"{path} was changed after install; left in place")
                left[name] = sha
                continue
            path.unlink()
            report.removed.append(path)
        if left:
            body = "".join(f"{sha}  {name}\n" for name, sha in sorted(left.items()))
            _write_atomically(folder / MANIFEST, body.encode(), 0o644)
            continue
        (folder / MANIFEST).unlink(missing_ok=True)
        if folder.exists() and not any(folder.iterdir()):
            folder.rmdir()
    return report


def _type_folders(agents_dir: Path, conf_dir: Path) -> Iterable[Path]:
    for type_name in POLICIES:
        yield agents_dir / type_name
        yield conf_dir / type_name


def next_steps_after_install(conf_dir: Path) -> str:
    files = " ".join(
        str(conf_dir / t / f"{t}Types50.cf") for t in POLICIES if (conf_dir / t).exists()
    )
    includes = " ".join(f"{t}Types50.cf" for t in POLICIES)
    return (
        "Next, on one node of the cluster, import the types (VCS 5.0 files shown; the\n"
        "directories also hold the 4.x, 5.1 and Solaris-zone variants):\n"
        "  mkdir /tmp/jesagent-types && cd /tmp/jesagent-types\n"
        f"  cp {files} .\n"
        f'  for f in {includes}; do echo "include \\"$f\\""; done > main.cf\n'
        "  hacf -verify . && haconf -makerw && sh main.cmd && haconf -dump -makero\n"
        "Then create the resources (docs/admin-guide.md, docs/samples/)."
    )


def next_steps_after_ocf_install(ocf_dir: Path) -> str:
    if ocf_dir.parent == DEFAULT_OCF_DIR.parent:
        found = f"Pacemaker finds them as ocf:{ocf_dir.name}:<Type> (install on every node)."
    else:
        found = (
            f"Pacemaker looks for agents only under {DEFAULT_OCF_DIR.parent}/<provider>/: "
            f"link or copy {ocf_dir} there (on every node)."
        )
    return (
        f"{found}\nCheck one where starting and stopping it does no harm:\n"
        f"  ocf-tester -n check -o ServerRoot=... -o MsgHost=... -o MsgServices='core 49994' "
        f"{ocf_dir}/SunJESMsg\nthen create the resources (docs/pacemaker.md)."
    )


def steps_before_ocf_uninstall(ocf_dir: Path) -> str:
    return (
        "Before removing the OCF agents, check on one node that no resource uses them:\n"
        f"  cibadmin --query --scope resources | grep 'provider=\"{ocf_dir.name}\"'"
        "   # must print nothing"
    )


def steps_before_uninstall() -> str:
    lines = ["Before removing the agent, on one node:", "  haconf -makerw"]
    lines += [f"  hares -list Type={t}    # must list nothing" for t in POLICIES]
    lines += [f"  hatype -delete {t}" for t in POLICIES]
    lines += ["  haconf -dump -makero"]
    return "\n".join(lines)
