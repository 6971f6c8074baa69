"""The SecondLevelMonitor cycle count of each resource, kept between monitor calls.

Every monitor call is a new process, so the count lives in a small file: written
atomically (a temporary file renamed over the old one), readable by its owner only. A
missing or corrupt file reads as None, which restarts the count; saving may fail, which
costs a warning, never the monitor.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

DEFAULT_STATE_DIR = "/var/VRTSvcs/lock/jesagent"
MAX_BYTES = 32


def state_dir() -> Path:
    return Path(os.environ.get("JESAGENT_STATE_DIR") or DEFAULT_STATE_DIR)


def state_file(type_name: str, resource: str) -> Path:
    # The resource name was checked to be a VCS name (no '/'), so it is safe in a path.
    return state_dir() / f"{type_name}.{resource}.cycle"


def read_count(type_name: str, resource: str) -> int | None:
    try:
        with state_file(type_name, resource).open("rb") as handle:
            text = handle.read(MAX_BYTES).decode("ascii").strip()
        return int(text) if text.isdigit() else None
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def write_count(type_name: str, resource: str, count: int) -> None:
    target = state_file(type_name, resource)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".cycle-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{count}\n")
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def forget(type_name: str, resource: str) -> None:
    with contextlib.suppress(OSError):  # the next monitor restarts the count either way
        state_file(type_name, resource).unlink(missing_ok=True)


def save(type_name: str, resource: str, count: int) -> str | None:
    """Store the count; the reason it could not be stored, or None."""
    try:
        write_count(type_name, resource, count)
    except OSError as error:
        return error.strerror or str(error)
    return None
