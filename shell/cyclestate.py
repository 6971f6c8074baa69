"""What a resource's monitor remembers between calls: the SecondLevelMonitor cycle count
and the state its last monitor answered on this node.

Every monitor call is a new process, so each lives in a small file: written atomically (a
temporary file renamed over the old one), readable by its owner only. A missing or
corrupt file reads as None (the count restarts; the next verdict counts as a change);
saving may fail, which costs a warning, never the monitor.
"""

from __future__ import annotations

import contextlib
import os
import stat

DEFAULT_STATE_DIR = "/var/VRTSvcs/lock/jesagent"
MAX_BYTES = 32


# Paths are plain strings: pathlib costs a monitor call more than everything here does.


def state_dir() -> str:
    return os.environ.get("JESAGENT_STATE_DIR") or DEFAULT_STATE_DIR


def state_file(type_name: str, resource: str, kind: str = "cycle") -> str:
    # The resource name was checked to be a VCS name (no '/'), so it is safe in a path.
    return os.path.join(state_dir(), f"{type_name}.{resource}.{kind}")


def _read(target: str, limit: int = MAX_BYTES) -> str | None:
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None  # a FIFO or a device planted there is never read
        return os.read(fd, limit).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)


def read_count(type_name: str, resource: str) -> int | None:
    text = _read(state_file(type_name, resource))
    return int(text) if text is not None and text.isascii() and text.isdigit() else None


def read_verdict(type_name: str, resource: str) -> str | None:
    return _read(state_file(type_name, resource, "verdict"))


def save_verdict(type_name: str, resource: str, state: str) -> str | None:
    """Keep the state; the reason it could not be kept, or None."""
    try:
        _write(state_file(type_name, resource, "verdict"), state)
    except OSError as error:
        return error.strerror or str(error)
    return None


PIDS_LIMIT = 4096  # a resource has a handful of processes; more is not a cache of ours


def read_pids(type_name: str, resource: str) -> tuple[tuple[int, float], ...] | None:
    """The (pid, start time) pairs kept by the last monitor; None when missing or damaged."""
    text = _read(state_file(type_name, resource, "pids"), PIDS_LIMIT)
    if not text:
        return None
    found: list[tuple[int, float]] = []
    for line in text.splitlines():
        pid, _, started = line.partition(" ")
        if not (pid.isascii() and pid.isdigit()):
            return None
        try:
            found.append((int(pid), float(started)))
        except ValueError:
            return None
    return tuple(found)


def save_pids(type_name: str, resource: str, pids: tuple[tuple[int, float], ...]) -> str | None:
    """Keep the pairs (repr keeps each start time exact); why not, or None."""
    try:
        _write(state_file(type_name, resource, "pids"), "\n".join(f"{p} {t!r}" for p, t in pids))
    except OSError as error:
        return error.strerror or str(error)
    return None


def write_count(type_name: str, resource: str, count: int) -> None:
    _write(state_file(type_name, resource), str(count))


def _write(target: str, text: str) -> None:
    import tempfile  # only when something changed

    folder = os.path.dirname(target)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".cycle-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{text}\n")
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def forget(type_name: str, resource: str) -> None:
    with contextlib.suppress(OSError):  # the next monitor restarts the count either way
        os.unlink(state_file(type_name, resource))


def save(type_name: str, resource: str, count: int) -> str | None:
    """Store the count; the reason it could not be stored, or None."""
    try:
        write_count(type_name, resource, count)
    except OSError as error:
        return error.strerror or str(error)
    return None
