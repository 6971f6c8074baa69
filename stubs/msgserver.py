"""Build a stand-in Sun Java System Messaging Server installation (a "ServerRoot").

The real product cannot be installed here, so `build_server_root` lays out a directory that
looks and behaves like one to an agent: `lib/msstart`, daemons under `lib/` whose argv[0]
and process name match the real ones, the MTA's child programs (`lib/tcp_smtp_server`,
`lib/tcp_lmtp_server` forked by the dispatcher, `lib/tcp_smtp_client` by the job
controller), `lib/stored -t -v`, `sbin/immonitor-access`, `sbin/configutil`, listeners on
127.0.0.1, and fault switches under `faults/` (listed in stubs.msg_common).

    python -m stubs.msgserver build DIR [--type MSG|MMP] [--domain D] [--port KEY=N]...
    python -m stubs.msgserver stop-all DIR
    python -m stubs.msgserver inject|clear DIR FAULT

`build` prints a JSON summary (root, ports, user names, paths). Passwords are never
printed; they live in DIR/config/users only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from stubs.msg_common import (
    DAEMONS,
    FAULTS_DIR,
    KNOWN_FAULTS,
    LOG_DIR,
    PORT_KEYS,
    PROC_DIR,
    PROGRAMS,
    SETTINGS_FILE,
    USERS_FILE,
    find_pids,
    find_root_processes,
    read_config,
    read_settings,
    read_store_state,
    read_users,
    render_config,
    signal_pids,
    wait_gone,
    write_atomic,
)

DEFAULT_USERS: Final[Mapping[str, str]] = MappingProxyType({"probe": "probe-secret"})
REPO_ROOT: Final = Path(__file__).resolve().parent.parent
SERVER_TYPES: Final = ("MSG", "MMP")

# service.<svc>.enable switches written per server type.
ENABLED_SERVICES: Final[Mapping[str, tuple[str, ...]]] = {
    "MSG": ("imap", "pop", "http", "smtp", "lmtp", "ens", "sms", "snmp"),
    "MMP": ("mmp",),
}

# script name -> (directory, module, call)
SCRIPTS: Final[Mapping[str, tuple[str, str, str]]] = {
    "msstart": ("lib", "stubs.msg_msstart", "msstart_main(ROOT, sys.argv[1:])"),
    "immonitor-access": ("sbin", "stubs.msg_immonitor", "immonitor_main(ROOT, sys.argv[1:])"),
    "configutil": ("sbin", "stubs.msg_configutil", "configutil_main(ROOT, sys.argv[1:])"),
    **{d: ("lib", "stubs.msgdaemon", f"daemon_main({d!r}, ROOT, sys.argv[1:])") for d in DAEMONS},
    # Only their daemon runs them (forked); run directly, they refuse.
    **{p: ("lib", "stubs.msgdaemon", f"program_main({p!r}, ROOT, sys.argv[1:])") for p in PROGRAMS},
}

SCRIPT_TEMPLATE: Final = """#!{python}
# Stand-in for the Sun Java System Messaging Server ({name}); written by stubs.msgserver.
import sys

sys.path.insert(0, {repo!r})
ROOT = {root!r}
from {module} import {function}  # noqa: E402

sys.exit({call})
"""


@dataclass(frozen=True)
class StandInServer:
    """A built stand-in ServerRoot and the test controls over it."""

    root: Path
    server_type: str
    ports: Mapping[str, int]  # MsgServices key (core, imap, imaps, ...) -> port; 0 = none
    domain: str
    store_ready_delay: float
    stop_timeout: float
    users: Mapping[str, str] = field(repr=False)

    # --- paths ---
    @property
    def msstart(self) -> Path:
        return self.root / "lib" / "msstart"

    @property
    def stored(self) -> Path:
        return self.root / "lib" / "stored"

    @property
    def immonitor_access(self) -> Path:
        return self.root / "sbin" / "immonitor-access"

    @property
    def configutil(self) -> Path:
        return self.root / "sbin" / "configutil"

    def daemon_path(self, name: str) -> Path:
        return self.root / "lib" / name

    def config(self) -> dict[str, str]:
        return read_config(self.root)

    def store_state(self) -> str | None:
        """The store state from data/proc/store (init, ready); None without the file."""
        state = read_store_state(self.root)
        return None if state is None else state[1]

    # --- processes ---
    def pids(self, name: str) -> list[int]:
        """Live (non-zombie) processes of that daemon or child program (tcp_smtp_server,
        tcp_lmtp_server, tcp_smtp_client; orphaned ones too) whose argv[0] is
        ROOT/lib/<name>."""
        _check_daemon(name)
        return find_pids(self.root, name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> list[int]:
        """Signal every process of that daemon or child program; returns the pids
        signalled."""
        pids = self.pids(name)
        signal_pids(pids, sig)
        return pids

    def stop_all(self, timeout: float = 10.0) -> None:
        """SIGKILL every process started from this root (daemons, their child programs,
        orphaned or not, and msstart or immonitor-access runs still going) and wait until
        all are gone."""
        for _ in range(3):
            pids = find_root_processes(self.root)
            if not pids:
                return
            signal_pids(pids, signal.SIGKILL)
            left = wait_gone(pids, timeout)
            if left:
                raise RuntimeError(f"stand-in processes survived SIGKILL: {left}")
        # A daemon a killed msstart was just starting may appear late: one more sweep.
        left = find_root_processes(self.root)
        if left:
            raise RuntimeError(f"stand-in processes keep appearing: {left}")

    # --- faults ---
    def inject(self, fault: str) -> None:
        _check_fault(fault)
        (self.root / FAULTS_DIR / fault).touch()

    def clear(self, fault: str) -> None:
        _check_fault(fault)
        (self.root / FAULTS_DIR / fault).unlink(missing_ok=True)

    def faults(self) -> frozenset[str]:
        return frozenset(p.name for p in (self.root / FAULTS_DIR).iterdir())

    def summary(self) -> dict[str, Any]:
        """What the CLI prints: no passwords."""
        return {
            "root": str(self.root),
            "type": self.server_type,
            "domain": self.domain,
            "ports": dict(self.ports),
            "users": sorted(self.users),
            "users_file": str(self.root / USERS_FILE),
            "msstart": str(self.msstart),
            "stored": str(self.stored),
            "immonitor_access": str(self.immonitor_access),
            "configutil": str(self.configutil),
        }


def _check_daemon(name: str) -> None:
    if name not in DAEMONS and name not in PROGRAMS:
        known = ", ".join((*DAEMONS, *PROGRAMS))
        raise ValueError(f"unknown daemon or program {name!r}; known: {known}")


def _check_fault(fault: str) -> None:
    if fault not in KNOWN_FAULTS:
        raise ValueError(f"unknown fault {fault!r}; known: {', '.join(sorted(KNOWN_FAULTS))}")


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open together while picking)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def build_server_root(
    root: Path,
    *,
    ports: Mapping[str, int] | None = None,
    users: Mapping[str, str] = DEFAULT_USERS,
    domain: str = "example.com",
    store_ready_delay: float = 0.3,
    server_type: str = "MSG",
    autorestart: bool = False,
    stop_timeout: float = 10.0,
) -> StandInServer:
    """Lay out a stand-in ServerRoot at root (created if needed) and return its handle.

    ports maps MsgServices keys to ports (MSG: core imap imaps pop pops http https smtp lmtp
    ens sms; MMP: imap imaps pop pops); keys left out get free ephemeral ports, 0 means no
    listener. stop_timeout is how long `msstart -k` waits for its daemons.
    """
    if server_type not in SERVER_TYPES:
        raise ValueError(f"server_type must be one of {SERVER_TYPES}, not {server_type!r}")
    keys = PORT_KEYS[server_type]
    given = dict(ports or {})
    unknown = sorted(set(given) - set(keys))
    if unknown:
        raise ValueError(f"unknown port keys for {server_type}: {unknown}; known: {list(keys)}")
    for name, password in users.items():
        if not name or ":" in name or "\n" in name + password:
            raise ValueError(f"unusable user name or password for {name!r}")
    missing = [k for k in keys if k not in given]
    chosen = {**given, **dict(zip(missing, free_ports(len(missing)), strict=True))}
    port_map = {k: chosen[k] for k in keys}

    root = Path(os.path.abspath(root))
    for sub in ("lib", "sbin", "config", PROC_DIR, FAULTS_DIR, LOG_DIR):
        (root / sub).mkdir(parents=True, exist_ok=True)

    config: dict[str, str] = {keys[k]: str(p) for k, p in port_map.items()}
    config |= {
        "local.watcher.enable": "yes",
        "local.autorestart": "yes" if autorestart else "no",
        "service.imap.maxsessions": "4000",
        "service.http.maxsessions": "6000",
        "service.pop.maxsessions": "600",
        "service.defaultdomain": domain,
    }
    config |= {f"service.{svc}.enable": "1" for svc in ENABLED_SERVICES[server_type]}
    write_atomic(root / "config" / "configutil.conf", render_config(config))
    write_atomic(root / USERS_FILE, "".join(f"{u}:{p}\n" for u, p in users.items()), mode=0o600)
    os.chmod(root / USERS_FILE, 0o600)
    settings = {
        "type": server_type,
        "store_ready_delay": store_ready_delay,
        "stop_timeout": stop_timeout,
    }
    write_atomic(root / SETTINGS_FILE, json.dumps(settings, indent=2) + "\n")

    for name, (directory, module, call) in SCRIPTS.items():
        path = root / directory / name
        text = SCRIPT_TEMPLATE.format(
            python=sys.executable,
            name=name,
            repo=str(REPO_ROOT),
            root=str(root),
            module=module,
            function=call.split("(")[0],
            call=call,
        )
        write_atomic(path, text, mode=0o755)
        os.chmod(path, 0o755)  # noqa: S103 - executables everyone may run, like the product's

    return StandInServer(
        root=root,
        server_type=server_type,
        ports=MappingProxyType(port_map),
        domain=domain,
        store_ready_delay=store_ready_delay,
        stop_timeout=stop_timeout,
        users=MappingProxyType(dict(users)),
    )


def load_server_root(root: Path) -> StandInServer:
    """The handle of a ServerRoot built earlier (e.g. by the CLI)."""
    root = Path(os.path.abspath(root))
    try:
        raw = json.loads((root / SETTINGS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"{root} is not a stand-in ServerRoot") from exc
    server_type = str(raw.get("type", "MSG"))
    settings = read_settings(root)
    config = read_config(root)
    ports = {k: int(config.get(key, "0") or 0) for k, key in PORT_KEYS[server_type].items()}
    return StandInServer(
        root=root,
        server_type=server_type,
        ports=MappingProxyType(ports),
        domain=config.get("service.defaultdomain", ""),
        store_ready_delay=settings["store_ready_delay"],
        stop_timeout=settings["stop_timeout"],
        users=MappingProxyType(read_users(root)),
    )


def _port_arg(text: str) -> tuple[str, int]:
    key, eq, value = text.partition("=")
    if not eq or not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected KEY=PORT, got {text!r}")
    return key, int(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stubs.msgserver", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="lay out a stand-in ServerRoot, print a JSON summary")
    build.add_argument("dir", type=Path)
    build.add_argument("--type", choices=SERVER_TYPES, default="MSG")
    build.add_argument("--domain", default="example.com")
    build.add_argument("--port", type=_port_arg, action="append", default=[], metavar="KEY=N")
    build.add_argument("--autorestart", action="store_true")
    build.add_argument("--stop-timeout", type=float, default=10.0)
    stop = sub.add_parser("stop-all", help="SIGKILL every process of a stand-in root")
    stop.add_argument("dir", type=Path)
    for name in ("inject", "clear"):
        fault = sub.add_parser(name, help=f"{name} a fault ({', '.join(sorted(KNOWN_FAULTS))})")
        fault.add_argument("dir", type=Path)
        fault.add_argument("fault")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            server = build_server_root(
                args.dir,
                ports=dict(args.port),
                domain=args.domain,
                server_type=args.type,
                autorestart=args.autorestart,
                stop_timeout=args.stop_timeout,
            )
            print(json.dumps(server.summary(), indent=2))
            return 0
        server = load_server_root(args.dir)
        if args.command == "stop-all":
            server.stop_all()
        elif args.command == "inject":
            server.inject(args.fault)
        else:
            server.clear(args.fault)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"msgserver: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
