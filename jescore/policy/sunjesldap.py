"""SunJESLDAP: the Directory Server (5.x, 6.x; 389 Directory Server) resource type.

The instance is the ns-slapd process whose -D argument is InstanceRoot. The pid file
InstanceRoot/logs/pid is only a cross-check: the server leaves it behind when it stops,
and its pid may since belong to anything, so it never proves by itself that the server
runs. The second level searches cn=monitor with whichever ldapsearch is found, spoken in
that client's own dialect, or itself (NativeProbes, or no ldapsearch found).
"""

from __future__ import annotations

import enum

from jescore.policy import checks
from jescore.policy.commands import (
    NATIVE_PROBES,
    Command,
    Expect,
    NativeProbe,
    Probe,
    ProgramProbe,
    Protocol,
    TcpProbe,
    ThresholdSlot,
)
from jescore.policy.declaration import Attr, Config, Declaration, Dimension, VcsType
from jescore.policy.processes import ProcessInfo, descendants, live, pid_in, runs_with, under
from jescore.policy.resource import (
    CONTAINER_NAME,
    MONITOR_PROGRAM,
    RES_LOG_LEVEL,
    SECOND_LEVEL_MONITOR,
    FirstLevel,
    Snapshot,
    Watch,
)

INSTANCE_ROOT: Attr[str] = Attr(
    "InstanceRoot", VcsType.STR, Dimension.SCALAR, ("",), True,
    "Absolute path of the Directory Server instance (ServerRoot/slapd-<id>).",
    checks.absolute_path,
)  # fmt: skip
LDAP_HOST: Attr[str] = Attr(
    "LDAPHost", VcsType.STR, Dimension.SCALAR, ("",), True,
    "Virtual host name, fully qualified domain name or IPv4 address of the server.",
    checks.host,
)  # fmt: skip
LDAP_PORT: Attr[int] = Attr(
    "LDAPPort", VcsType.INT, Dimension.SCALAR, ("389",), True,
    "The server's non-secure port, on which an online server always listens.",
    checks.port,
)  # fmt: skip
SSL_PORT: Attr[int] = Attr(
    "SSLPort", VcsType.INT, Dimension.SCALAR, ("0",), False,
    "The secure port; when set, the second level also requires a TLS handshake there. 0: none.",
    checks.optional_port,
)  # fmt: skip
SSL_DB_PASSWD: Attr[str] = Attr(
    "SSLDbPasswd", VcsType.STR, Dimension.SCALAR, ("",), False,
    "Certificate database password (Directory Server 5.x prompts for it), encrypted with "
    "vcsencrypt -agent; given to start-slapd on standard input when set.",
    checks.secret_text, secret=True,
)  # fmt: skip

MONITOR_BASE = "cn=monitor"

DECLARATION = Declaration(
    type_name="SunJESLDAP",
    attrs=(
        RES_LOG_LEVEL, INSTANCE_ROOT, LDAP_HOST, LDAP_PORT, MONITOR_PROGRAM, SSL_PORT,
        SSL_DB_PASSWD, SECOND_LEVEL_MONITOR, NATIVE_PROBES, CONTAINER_NAME,
    ),
    arglist=(
        "ResLogLevel", "State", "IState", "InstanceRoot", "LDAPHost", "LDAPPort",
        "MonitorProgram", "SSLPort", "SSLDbPasswd", "SecondLevelMonitor", "NativeProbes",
    ),
    added=(NATIVE_PROBES.name,),
    identity=("InstanceRoot",),
)  # fmt: skip

DAEMON = "ns-slapd"
# start-slapd and stop-slapd: 0 done, 1 failed, 2 already started / already stopped.
SCRIPT_OK = frozenset({0, 2})


class Dialect(enum.Enum):
    SUN = "Sun/Mozilla (-h host -p port)"
    OPENLDAP = "OpenLDAP (-x -H ldap://host:port)"


def server_root(cfg: Config) -> str:
    """ServerRoot is the directory above InstanceRoot."""
    return cfg[INSTANCE_ROOT].rsplit("/", 1)[0] or "/"


def ldapsearch_candidates(cfg: Config) -> tuple[str, ...]:
    """Where to look for ldapsearch, in order: the seed's locations, then the system's."""
    return (
        f"{server_root(cfg)}/shared/bin/ldapsearch",
        "/opt/SUNWdsee/dsee6/bin/ldapsearch",
        "/opt/SUNWdsee/dsee6/bin/sparcv9/ldapsearch",
        "/usr/bin/ldapsearch",
    )


def version_command(path: str) -> tuple[str, ...]:
    return (path, "-VV")


def dialect_of(version_output: str | None) -> Dialect:
    """OpenLDAP's client names itself when asked for its version; Sun's does not."""
    if version_output is not None and "openldap" in version_output.lower():
        return Dialect.OPENLDAP
    return Dialect.SUN


def pid_file(cfg: Config) -> str:
    return f"{cfg[INSTANCE_ROOT]}/logs/pid"


def belongs(cfg: Config, proc: ProcessInfo) -> bool:
    return runs_with(proc, DAEMON, "-D", cfg[INSTANCE_ROOT])


def search_argv(cfg: Config, path: str, dialect: Dialect) -> tuple[str | ThresholdSlot, ...]:
    host, port = cfg[LDAP_HOST], str(cfg[LDAP_PORT])
    query = ("-b", MONITOR_BASE, "-s", "base", "(objectclass=*)", "version")
    if dialect is Dialect.OPENLDAP:
        url = f"ldap://{host}:{port}"
        limits = ("-o", ThresholdSlot("nettimeout="), "-l", ThresholdSlot())
        return (path, "-x", "-LLL", "-H", url, *limits, *query)
    return (path, "-h", host, "-p", port, "-l", ThresholdSlot(), *query)


class LdapPolicy:
    declaration = DECLARATION

    def watch(self, cfg: Config) -> Watch:
        return Watch(frozenset({DAEMON}), files=(pid_file(cfg),))

    def deep_watch(self, cfg: Config) -> Watch:
        candidates = ldapsearch_candidates(cfg)
        return Watch(paths=candidates, identify=tuple(version_command(p) for p in candidates))

    def start(self, cfg: Config) -> Command:
        secret = SSL_DB_PASSWD.name if cfg[SSL_DB_PASSWD] else None
        argv = (f"{cfg[INSTANCE_ROOT]}/start-slapd",)
        return Command(argv, "start the server with start-slapd", secret, SCRIPT_OK)

    def stop(self, cfg: Config) -> Command:
        argv = (f"{cfg[INSTANCE_ROOT]}/stop-slapd",)
        return Command(argv, "stop the server with stop-slapd", None, SCRIPT_OK)

    def first_level(self, cfg: Config, snap: Snapshot) -> FirstLevel:
        mine = tuple(p for p in live(snap.processes) if belongs(cfg, p))
        notes: list[str] = []
        pid = pid_in(snap.files.get(pid_file(cfg)))
        if pid is not None and mine and all(p.pid != pid for p in mine):
            notes.append(f"{pid_file(cfg)} names pid {pid}, not the running server: stale")
        if not mine:
            return FirstLevel((), (f"{DAEMON} -D {cfg[INSTANCE_ROOT]}",), tuple(notes))
        return FirstLevel(mine, (), tuple(notes))

    def stop_watch(self, cfg: Config) -> Watch:
        return Watch(frozenset({DAEMON}), files=(pid_file(cfg),), descendants=True)

    def stop_targets(self, cfg: Config, snap: Snapshot) -> tuple[ProcessInfo, ...]:
        own = tuple(p for p in snap.processes if belongs(cfg, p))
        offspring = (p for p in descendants(snap.processes, own) if under(p, server_root(cfg)))
        return tuple({p.pid: p for p in (*own, *offspring)}.values())

    def model_processes(self, cfg: Config, first_pid: int) -> tuple[ProcessInfo, ...]:
        argv = (DAEMON, "-D", cfg[INSTANCE_ROOT], "-i", pid_file(cfg))
        return (ProcessInfo(first_pid, DAEMON, argv, float(first_pid)),)

    def ready_probes(self, cfg: Config) -> tuple[Probe, ...]:
        return (TcpProbe("LDAP port", cfg[LDAP_HOST], cfg[LDAP_PORT]),)

    def second_level(self, cfg: Config, snap: Snapshot) -> tuple[Probe, ...]:
        candidates = ldapsearch_candidates(cfg)
        found = [p for p in candidates if p in snap.executables]
        if cfg[NATIVE_PROBES]:
            return native_probes(cfg)
        if not found:  # no ldapsearch to run: the agent's own search stands in
            why = f"no executable ldapsearch ({', '.join(candidates)})"
            return native_probes(cfg, why)
        path = found[0]
        dialect = dialect_of(snap.outputs.get(version_command(path)))
        what = f"cn=monitor search ({path}, {dialect.name.lower()} dialect)"
        probes: list[Probe] = [
            ProgramProbe(what, search_argv(cfg, path, dialect), Expect.VERSION_LINE)
        ]
        if cfg[SSL_PORT]:
            probes.append(TcpProbe("secure port", cfg[LDAP_HOST], cfg[SSL_PORT], tls=True))
        return tuple(probes)


def native_probes(cfg: Config, stands_in: str = "") -> tuple[NativeProbe, ...]:
    """The anonymous base search of cn=monitor spoken by the agent itself, on the port and,
    when there is one, over TLS on the secure port."""
    host = cfg[LDAP_HOST]
    probes = [NativeProbe("cn=monitor native search", Protocol.LDAP, host, cfg[LDAP_PORT],
                          target=MONITOR_BASE, stands_in=stands_in)]  # fmt: skip
    if cfg[SSL_PORT]:
        probes.append(
            NativeProbe("cn=monitor native search over TLS", Protocol.LDAP, host,
                        cfg[SSL_PORT], tls=True, target=MONITOR_BASE, stands_in=stands_in)
        )  # fmt: skip
    return tuple(probes)


POLICY = LdapPolicy()
