"""SunJESMsg: the Messaging Server (ServerType MSG) and Multiplexor (MMP) resource type."""

from __future__ import annotations

from jescore.policy import checks
from jescore.policy.commands import (
    DIALOGUES,
    NATIVE_PROBES,
    Command,
    NativeProbe,
    Phase,
    Probe,
    ProgramProbe,
    Protocol,
    TcpProbe,
    ThresholdSlot,
)
from jescore.policy.declaration import (
    Attr,
    Config,
    CrossCheck,
    Declaration,
    Dimension,
    Raw,
    VcsType,
    Violation,
)
from jescore.policy.msg_services import (
    ALL_KEYS,
    CORE,
    MTA_KEYS,
    NATIVE,
    SERVICE_PROCESSES,
    ProbeStyle,
    ServerType,
    Service,
    canonical,
    keys_for,
    lookup,
)
from jescore.policy.processes import ProcessInfo, descendants, programs_in, under
from jescore.policy.resource import (
    CONTAINER_NAME,
    MONITOR_PROGRAM,
    RES_LOG_LEVEL,
    SECOND_LEVEL_MONITOR,
    FirstLevel,
    Snapshot,
    Watch,
)
from jescore.record import record
from jescore.result import Failure, Result, Success


@record
class ServicePort:
    key: str
    port: int


def _server_type(raw: Raw) -> Result[ServerType, str]:
    return checks.one_of(("MSG", "MMP"), default="MSG")(raw).map(ServerType)


def _service_keys(raw: Raw) -> Result[tuple[ServicePort, ...], str]:
    """The services alone, ports unchecked (port 0 where one does not read): enough to
    tell which processes are the resource's, so offline and clean can still stop them."""
    fixed = list(raw)
    for index in range(1, len(fixed), 2):
        if not isinstance(checks.port_number(fixed[index]), Success):
            fixed[index] = "1"
    return _services(tuple(fixed)).map(lambda found: tuple(ServicePort(s.key, 0) for s in found))


def _services(raw: Raw) -> Result[tuple[ServicePort, ...], str]:
    if len(raw) % 2:
        return Failure(
            f"needs service and port pairs, but has an odd number of values ({len(raw)})"
        )
    pairs: list[ServicePort] = []
    problems: list[str] = []
    for index in range(0, len(raw), 2):
        key, port_text = canonical(raw[index]), raw[index + 1]
        if key not in ALL_KEYS:
            problems.append(f"{checks.shown(raw[index])} is not a Messaging Server service")
            continue
        if any(p.key == key for p in pairs):
            problems.append(f"service {key} is listed twice")
            continue
        match checks.port_number(port_text):
            case Success(number):
                pairs.append(ServicePort(key, number))
            case Failure(reason):
                problems.append(f"{key}: {reason}")
    if problems:
        return Failure("; ".join(problems))
    return Success(tuple(pairs))


LDAP_TEST_PASSWD: Attr[str] = Attr(
    "LDAPTestPasswd", VcsType.STR, Dimension.SCALAR, ("",), False,
    "Password of LDAPTestUser, encrypted with vcsencrypt -agent.",
    checks.secret_text, secret=True,
)  # fmt: skip
LDAP_TEST_USER: Attr[str] = Attr(
    "LDAPTestUser", VcsType.STR, Dimension.SCALAR, ("",), False,
    "Test user for the synthetic transactions of the second level (immonitor-access).",
    checks.account_name,
)  # fmt: skip
MSG_HOST: Attr[str] = Attr(
    "MsgHost", VcsType.STR, Dimension.SCALAR, ("",), True,
    "Virtual host name, fully qualified domain name or IPv4 address of the instance; "
    "fully qualified when smtp or lmtp is managed.",
    checks.host,
)  # fmt: skip
MSG_SERVICES: Attr[tuple[ServicePort, ...]] = Attr(
    "MsgServices", VcsType.STR, Dimension.ASSOCIATION, (), True,
    "Services managed by this resource, each with its port: {core 49994} alone, or for "
    "MSG any of imap imaps pop pops http https smtp lmtp ens snmp sms, for MMP any of "
    "imap imaps pop pops.",
    _services, identity_convert=_service_keys,
)  # fmt: skip
SERVER_ROOT: Attr[str] = Attr(
    "ServerRoot", VcsType.STR, Dimension.SCALAR, ("",), True,
    "Absolute path of the Messaging Server installation root.",
    checks.absolute_path,
)  # fmt: skip
SERVER_TYPE: Attr[ServerType] = Attr(
    "ServerType", VcsType.STR, Dimension.SCALAR, ("MSG",), True,
    "MSG for a Messaging Server, MMP for a Messaging Multiplexor.",
    _server_type,
)  # fmt: skip


def _services_fit_type(cfg: Config) -> tuple[Violation, ...]:
    server_type = cfg[SERVER_TYPE]
    keys = [s.key for s in cfg[MSG_SERVICES]]
    wrong = [k for k in keys if lookup(server_type, k) is None]
    found: list[Violation] = []
    if wrong:
        valid = " ".join(keys_for(server_type))
        found.append(
            Violation(
                MSG_SERVICES.name,
                f"{', '.join(wrong)} not valid for ServerType {server_type.value} (valid: {valid})",
            )
        )
    if CORE in keys and len(keys) > 1:
        found.append(
            Violation(
                MSG_SERVICES.name,
                "core must stand alone; manage other services in their own resource",
            )
        )
    return tuple(found)


def _mta_needs_fqdn(cfg: Config) -> tuple[Violation, ...]:
    mta = sorted(MTA_KEYS & {s.key for s in cfg[MSG_SERVICES]})
    if mta and not checks.is_fqdn(cfg[MSG_HOST]):
        return (
            Violation(
                MSG_HOST.name,
                f"{checks.shown(cfg[MSG_HOST])} is not a fully qualified domain name, "
                f"which {' and '.join(mta)} {'needs' if len(mta) == 1 else 'need'}",
            ),
        )
    return ()


def _user_and_password_together(cfg: Config) -> tuple[Violation, ...]:
    if bool(cfg[LDAP_TEST_USER]) == bool(cfg[LDAP_TEST_PASSWD]):
        return ()
    if cfg[LDAP_TEST_USER]:
        return (Violation(LDAP_TEST_PASSWD.name, "is empty, but LDAPTestUser is set"),)
    return (Violation(LDAP_TEST_USER.name, "is empty, but LDAPTestPasswd is set"),)


DECLARATION = Declaration(
    type_name="SunJESMsg",
    attrs=(
        RES_LOG_LEVEL, LDAP_TEST_PASSWD, LDAP_TEST_USER, MONITOR_PROGRAM, MSG_HOST,
        MSG_SERVICES, NATIVE_PROBES, SECOND_LEVEL_MONITOR, SERVER_ROOT, SERVER_TYPE,
        CONTAINER_NAME,
    ),
    arglist=(
        "ResLogLevel", "State", "IState", "LDAPTestPasswd", "LDAPTestUser", "MonitorProgram",
        "MsgHost", "MsgServices", "SecondLevelMonitor", "ServerRoot", "ServerType",
        "NativeProbes",
    ),
    cross_checks=(
        CrossCheck((SERVER_TYPE, MSG_SERVICES), _services_fit_type),
        CrossCheck((MSG_HOST, MSG_SERVICES), _mta_needs_fqdn),
        CrossCheck((LDAP_TEST_USER, LDAP_TEST_PASSWD), _user_and_password_together),
    ),
    added=(NATIVE_PROBES.name,),
    identity=("ServerRoot", "ServerType", "MsgServices"),
)  # fmt: skip


def services(cfg: Config) -> tuple[Service, ...]:
    """The table entries of the configured services (validation guarantees they exist)."""
    found = (lookup(cfg[SERVER_TYPE], s.key) for s in cfg[MSG_SERVICES])
    return tuple(s for s in found if s is not None)


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def msstart(cfg: Config) -> str:
    return f"{cfg[SERVER_ROOT]}/lib/msstart"


def lib_dir(cfg: Config) -> str:
    return f"{cfg[SERVER_ROOT]}/lib"


def start_names(cfg: Config) -> tuple[str, ...]:
    return _unique([name for s in services(cfg) for name in s.start_names])


def stop_names(cfg: Config) -> tuple[str, ...]:
    return _unique([name for s in services(cfg) for name in s.stop_names])


def process_names(cfg: Config) -> tuple[str, ...]:
    return _unique([name for s in services(cfg) for name in s.processes])


def helper_names(cfg: Config) -> tuple[str, ...]:
    return _unique([name for s in services(cfg) for name in s.helpers])


def immonitor_access(cfg: Config) -> str:
    return f"{cfg[SERVER_ROOT]}/sbin/immonitor-access"


def uses_immonitor(cfg: Config) -> bool:
    """Whether immonitor-access would run, were it installed: a service probed by it, a
    test user, and NativeProbes off."""
    has_user = bool(cfg[LDAP_TEST_USER]) and bool(cfg[LDAP_TEST_PASSWD])
    return (
        has_user
        and not cfg[NATIVE_PROBES]
        and any(s.with_user is ProbeStyle.IMMONITOR for s in services(cfg))
    )


def probe_user(cfg: Config, service: Service) -> str:
    """The account a synthetic transaction uses: user@<domain of MsgHost> for the MTA."""
    user = cfg[LDAP_TEST_USER]
    if service.key in MTA_KEYS and "@" not in user:
        domain = cfg[MSG_HOST].rstrip(".").split(".", 1)[1]
        return f"{user}@{domain}"
    return user


class MsgPolicy:
    declaration = DECLARATION

    def watch(self, cfg: Config) -> Watch:
        return Watch(frozenset(process_names(cfg)))

    def start(self, cfg: Config) -> Command:
        return Command((msstart(cfg), *start_names(cfg)), "start the services with msstart")

    def stop(self, cfg: Config) -> Command:
        return Command((msstart(cfg), "-k", *stop_names(cfg)), "stop the services with msstart -k")

    def first_level(self, cfg: Config, snap: Snapshot) -> FirstLevel:
        owned = programs_in(snap.processes, lib_dir(cfg), process_names(cfg))
        found = tuple(p for procs in owned.values() for p in procs)
        missing = tuple(f"{lib_dir(cfg)}/{name}" for name, procs in owned.items() if not procs)
        return FirstLevel(found, missing)

    def stop_watch(self, cfg: Config) -> Watch:
        return Watch(frozenset((*process_names(cfg), *helper_names(cfg))), descendants=True)

    def stop_targets(self, cfg: Config, snap: Snapshot) -> tuple[ProcessInfo, ...]:
        own = self.first_level(cfg, snap).found
        others = SERVICE_PROCESSES - set(process_names(cfg))
        offspring = [
            p for p in descendants(snap.processes, own, stop_at=others)
            if under(p, cfg[SERVER_ROOT])
        ]  # fmt: skip
        helpers = programs_in(snap.processes, lib_dir(cfg), helper_names(cfg))
        found = (*own, *offspring, *(p for procs in helpers.values() for p in procs))
        return tuple({p.pid: p for p in found}.values())

    def model_processes(self, cfg: Config, first_pid: int) -> tuple[ProcessInfo, ...]:
        return tuple(
            ProcessInfo(first_pid + i, name, (f"{lib_dir(cfg)}/{name}",), float(first_pid + i))
            for i, name in enumerate(process_names(cfg))
        )

    def deep_watch(self, cfg: Config) -> Watch:
        return Watch(paths=(immonitor_access(cfg),)) if uses_immonitor(cfg) else Watch()

    def ready_probes(self, cfg: Config) -> tuple[Probe, ...]:
        return ()

    def second_level(self, cfg: Config, snap: Snapshot) -> tuple[Probe, ...]:
        has_user = bool(cfg[LDAP_TEST_USER]) and bool(cfg[LDAP_TEST_PASSWD])
        # The native probe stands in for immonitor-access when asked, or when it is missing.
        program = immonitor_access(cfg)
        native = cfg[NATIVE_PROBES] or program not in snap.executables
        stands_in = "" if cfg[NATIVE_PROBES] else f"{program} is missing or not executable"
        host = cfg[MSG_HOST]
        probes: list[Probe] = []
        for configured in cfg[MSG_SERVICES]:
            service = lookup(cfg[SERVER_TYPE], configured.key)
            if service is None:
                continue
            style = service.with_user if has_user else service.without_user
            speaks = NATIVE.get(service.key)
            if speaks is not None and style is ProbeStyle.IMMONITOR and native:
                probes.append(native_probe(cfg, service, configured.port, has_user, stands_in))
            elif speaks is not None and style is ProbeStyle.CONNECT and cfg[NATIVE_PROBES]:
                probes.append(native_probe(cfg, service, configured.port, has_user))
            elif style is ProbeStyle.STORED:
                argv = (f"{lib_dir(cfg)}/stored", "-t", "-v")
                probes.append(ProgramProbe("message store check (stored -t -v)", argv))
            elif style is ProbeStyle.IMMONITOR:
                slot = ThresholdSlot(prefix=f"{host}:{configured.port}=")
                argv_t = (
                    immonitor_access(cfg),
                    "-u",
                    probe_user(cfg, service),
                    service.immonitor_flag,
                    slot,
                    "-w",
                    "-",
                )
                probes.append(
                    ProgramProbe(
                        f"{service.key} synthetic transaction", argv_t,
                        stdin_secret=LDAP_TEST_PASSWD.name,
                    )
                )  # fmt: skip
            elif style is ProbeStyle.CONNECT:
                probes.append(TcpProbe(f"{service.key} port check", host, configured.port))
        return tuple(probes)


def native_probe(
    cfg: Config, service: Service, port: int, has_user: bool, stands_in: str = ""
) -> NativeProbe:
    """The service's own protocol spoken to MsgHost:port. With a test user, a protocol
    whose dialogue has account steps uses it: IMAP and POP3 log in with its password,
    SMTP and LMTP name its address (nothing is delivered); HTTP needs no account."""
    protocol, tls = NATIVE[service.key]
    steps = DIALOGUES[protocol]
    account = has_user and any(needs for _, needs in steps)
    user = probe_user(cfg, service) if account else ""
    secret = LDAP_TEST_PASSWD.name if account and (Phase.LOGIN, True) in steps else None
    target = "/" if protocol is Protocol.HTTP else ""
    return NativeProbe(
        f"{service.key} native probe",
        protocol, cfg[MSG_HOST], port, tls, user, secret, target, stands_in,
    )  # fmt: skip


POLICY = MsgPolicy()
