"""SunJESAdm: the Administration Server (5.x) resource type.

The instance is the watchdog `uxwdog` and its `ns-httpd` server processes whose `-d`
argument is ServerRoot/admin-serv/config. Pid files are read first, and a pid file only
counts when the pid it names is that very process; otherwise the process table decides.
"""

from __future__ import annotations

from jescore.policy import checks
from jescore.policy.commands import Command, Expect, Probe, ProgramProbe, TcpProbe
from jescore.policy.declaration import (
    Attr,
    Config,
    CrossCheck,
    Declaration,
    Dimension,
    VcsType,
    Violation,
)
from jescore.policy.processes import ProcessInfo, descendants, live, pid_in, runs_with, under
from jescore.policy.resource import (
    MONITOR_PROGRAM,
    RES_LOG_LEVEL,
    SECOND_LEVEL_MONITOR,
    FirstLevel,
    Snapshot,
    Watch,
)
from jescore.record import record, replace

ADMIN_HOST: Attr[str] = Attr(
    "AdminHost", VcsType.STR, Dimension.SCALAR, ("",), True,
    "Virtual host name, fully qualified domain name or IPv4 address of the server.",
    checks.host,
)  # fmt: skip
ADMIN_PORT: Attr[int] = Attr(
    "AdminPort", VcsType.INT, Dimension.SCALAR, ("390",), True,
    "Port the Administration Server listens on.",
    checks.port,
)  # fmt: skip
ADMIN_USER: Attr[str] = Attr(
    "AdminUser", VcsType.STR, Dimension.SCALAR, ("",), False,
    "Administrator for the admconfig synthetic transaction; without it the second level "
    "connects to AdminPort.",
    checks.account_name,
)  # fmt: skip
ADMIN_PASSWD: Attr[str] = Attr(
    "AdminPasswd", VcsType.STR, Dimension.SCALAR, ("",), False,
    "Password of AdminUser, encrypted with vcsencrypt -agent; required with AdminUser.",
    checks.secret_text, secret=True,
)  # fmt: skip
SERVER_ROOT: Attr[str] = Attr(
    "ServerRoot", VcsType.STR, Dimension.SCALAR, ("",), True,
    "Absolute path of the Administration Server's installation root.",
    checks.absolute_path,
)  # fmt: skip
SSL_DB_PASSWD: Attr[str] = Attr(
    "SSLDbPasswd", VcsType.STR, Dimension.SCALAR, ("",), False,
    "Certificate database password, encrypted with vcsencrypt -agent; given to start-admin "
    "on standard input when set.",
    checks.secret_text, secret=True,
)  # fmt: skip
SSL_ENABLED: Attr[bool] = Attr(
    "SSLEnabled", VcsType.BOOLEAN, Dimension.SCALAR, ("0",), True,
    "1 when AdminPort speaks HTTPS: admconfig gets -enc and the port check completes a TLS "
    "handshake.",
    checks.boolean,
)  # fmt: skip


def _password_with_user(cfg: Config) -> tuple[Violation, ...]:
    if cfg[ADMIN_USER] and not cfg[ADMIN_PASSWD]:
        return (Violation(ADMIN_PASSWD.name, "is empty, but AdminUser is set"),)
    return ()


DECLARATION = Declaration(
    type_name="SunJESAdm",
    attrs=(
        RES_LOG_LEVEL, ADMIN_HOST, ADMIN_PORT, ADMIN_USER, ADMIN_PASSWD, MONITOR_PROGRAM,
        SECOND_LEVEL_MONITOR, SERVER_ROOT, SSL_DB_PASSWD, SSL_ENABLED,
    ),
    arglist=(
        "ResLogLevel", "AdminHost", "AdminPort", "AdminUser", "AdminPasswd", "MonitorProgram",
        "SecondLevelMonitor", "ServerRoot", "SSLDbPasswd", "SSLEnabled",
    ),
    cross_checks=(CrossCheck((ADMIN_USER, ADMIN_PASSWD), _password_with_user),),
    identity=("ServerRoot",),
)  # fmt: skip


@record
class Role:
    """One kind of process of the instance, and the pid file it may leave."""

    name: str
    what: str
    pid_file: str  # relative to ServerRoot; the names are not documented publicly


WATCHDOG = Role("uxwdog", "watchdog", "admin-serv/logs/uxwdog.pid")
SERVER = Role("ns-httpd", "server", "admin-serv/logs/pid")
ROLES = (WATCHDOG, SERVER)


def config_dir(cfg: Config) -> str:
    return f"{cfg[SERVER_ROOT]}/admin-serv/config"


def pid_file(cfg: Config, role: Role) -> str:
    return f"{cfg[SERVER_ROOT]}/{role.pid_file}"


def belongs(cfg: Config, proc: ProcessInfo, role: Role) -> bool:
    return runs_with(proc, role.name, "-d", config_dir(cfg))


class AdmPolicy:
    declaration = DECLARATION

    def watch(self, cfg: Config) -> Watch:
        return Watch(frozenset(r.name for r in ROLES), files=tuple(pid_file(cfg, r) for r in ROLES))

    def start(self, cfg: Config) -> Command:
        secret = SSL_DB_PASSWD.name if cfg[SSL_DB_PASSWD] else None
        return Command(
            (f"{cfg[SERVER_ROOT]}/start-admin",), "start the server with start-admin", secret
        )

    def stop(self, cfg: Config) -> Command:
        return Command((f"{cfg[SERVER_ROOT]}/stop-admin",), "stop the server with stop-admin")

    def first_level(self, cfg: Config, snap: Snapshot) -> FirstLevel:
        found: list[ProcessInfo] = []
        missing: list[str] = []
        notes: list[str] = []
        for role in ROLES:
            path = pid_file(cfg, role)
            pid = pid_in(snap.files.get(path))
            by_pid = [p for p in snap.processes if p.pid == pid and belongs(cfg, p, role)]
            if by_pid:
                found.extend(by_pid)
                continue
            if pid is not None:
                notes.append(f"{path} names pid {pid}, which is not this {role.what}: stale")
            scanned = [p for p in live(snap.processes) if belongs(cfg, p, role)]
            if scanned:
                found.extend(scanned)
            else:
                missing.append(f"{role.what} {role.name} -d {config_dir(cfg)}")
        return FirstLevel(tuple(found), tuple(missing), tuple(notes))

    def stop_watch(self, cfg: Config) -> Watch:
        return replace(self.watch(cfg), descendants=True)

    def stop_targets(self, cfg: Config, snap: Snapshot) -> tuple[ProcessInfo, ...]:
        own = tuple(p for role in ROLES for p in snap.processes if belongs(cfg, p, role))
        offspring = (p for p in descendants(snap.processes, own) if under(p, cfg[SERVER_ROOT]))
        return tuple({p.pid: p for p in (*own, *offspring)}.values())

    def model_processes(self, cfg: Config, first_pid: int) -> tuple[ProcessInfo, ...]:
        return tuple(
            ProcessInfo(
                first_pid + i, role.name, (role.name, "-d", config_dir(cfg)), float(first_pid + i)
            )
            for i, role in enumerate(ROLES)
        )

    def deep_watch(self, cfg: Config) -> Watch:
        return Watch()

    def ready_probes(self, cfg: Config) -> tuple[Probe, ...]:
        return ()

    def second_level(self, cfg: Config, snap: Snapshot) -> tuple[Probe, ...]:
        host, port = cfg[ADMIN_HOST], cfg[ADMIN_PORT]
        if not cfg[ADMIN_USER]:
            return (TcpProbe("admin port check", host, port, tls=cfg[SSL_ENABLED]),)
        argv = (
            f"{cfg[SERVER_ROOT]}/bin/admin/admconfig",
            *(("-enc",) if cfg[SSL_ENABLED] else ()),
            "-server", f"{host}:{port}", "-user", cfg[ADMIN_USER], "-getPort",
        )  # fmt: skip
        return (
            ProgramProbe(
                "admconfig synthetic transaction", argv, Expect.REPORTED_PORT,
                stdin_secret=ADMIN_PASSWD.name, port=port,
            ),
        )  # fmt: skip


POLICY = AdmPolicy()
