"""ROOT/lib/msstart of the stand-in: `msstart [-k] name...`.

Start: each daemon behind the names, in start-msg's order; a running daemon is left alone.
imapd, popd and mshttpd refuse unless stored runs and is ready. Exit 0 when everything
asked for runs, 1 when something failed, 2 for a usage error. Daemons are forked from
this process (see msgdaemon.start_daemon), as the real msstart does.

Stop (-k): SIGTERM to this root's daemons behind the names, then wait (stop_timeout from
data/stub.json, 10 s by default) until they are gone; zombies count as gone. Exit 0, or 1
when some survived. A daemon stops and reaps its child programs (the dispatcher's
tcp_smtp_server and tcp_lmtp_server, the job controller's tcp_smtp_client) before it exits,
so they are gone too, unless the smtp.orphan-workers fault leaves them running.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

from stubs.msg_common import (
    DAEMONS,
    MSSTART_NAMES,
    MSSTOP_NAMES,
    NEEDS_STORE,
    PROC_DIR,
    fault_set,
    find_pids,
    locked,
    read_settings,
    signal_pids,
    store_ready,
    wait_gone,
)
from stubs.msgdaemon import start_daemon

USAGE: Final = "usage: msstart [-k] service... (services: " + " ".join(MSSTART_NAMES) + ")"


def daemons_for(names: Iterable[str], table: Mapping[str, tuple[str, ...]]) -> list[str]:
    wanted = {d for n in names for d in table[n]}
    return [d for d in DAEMONS if d in wanted]


def wait_store(root: Path, timeout: float) -> bool:
    """Wait while stored runs but is not ready yet; False when it stops or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if store_ready(root):
            return True
        if not find_pids(root, "stored") or time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def start(root: Path, names: Sequence[str]) -> int:
    # Enough for a fresh stored to finish its recovery, not enough to hang on a sick one.
    store_wait = read_settings(root)["store_ready_delay"] + 1.0
    failed = False
    store_bad = False  # wait for a sick store once per run, not once per daemon
    for daemon in daemons_for(names, MSSTART_NAMES):
        running = find_pids(root, daemon)
        if running:
            print(f"{daemon} is already running (pid {running[0]})")
            continue
        if daemon in NEEDS_STORE and (store_bad or not wait_store(root, store_wait)):
            print(f"starting {daemon} ... failed: the store is not running or not ready")
            failed = store_bad = True
            continue
        reason = start_daemon(daemon, root)
        if reason is not None:
            print(f"starting {daemon} ... failed: {reason}")
            failed = True
            continue
        print(f"starting {daemon} ... done")
        if daemon == "stored":
            store_bad = not wait_store(root, store_wait)
            print(f"checking store server status ... {'not ready' if store_bad else 'ready'}")
    return 1 if failed else 0


def stop(root: Path, names: Sequence[str]) -> int:
    if fault_set(root, "msstart.ignore-k"):
        return 0
    targets = {d: find_pids(root, d) for d in daemons_for(names, MSSTOP_NAMES)}
    every = [pid for pids in targets.values() for pid in pids]
    signal_pids(every, 15)
    survivors = set(wait_gone(every, read_settings(root)["stop_timeout"]))
    for daemon, pids in targets.items():
        left = [p for p in pids if p in survivors]
        if not pids:
            print(f"{daemon} is not running")
        elif left:
            print(f"stopping {daemon} ... failed: still running (pid {left[0]})")
        else:
            print(f"stopping {daemon} ... done")
    return 1 if survivors else 0


def msstart_main(root: str, argv: Sequence[str]) -> int:
    server_root = Path(root)
    if fault_set(server_root, "msstart.hang"):
        while True:
            time.sleep(3600)
    args = list(argv)
    stopping = bool(args) and args[0] == "-k"
    names = args[1:] if stopping else args
    if not names:
        print(USAGE, file=sys.stderr)
        return 2
    unknown = [n for n in names if n not in MSSTART_NAMES]
    if unknown:
        print(f"msstart: unknown service: {' '.join(unknown)}", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    if stopping:
        return stop(server_root, names)
    # One start at a time per root, so two resources starting together do not race.
    with locked(server_root / PROC_DIR / "msstart.lock"):
        return start(server_root, names)
