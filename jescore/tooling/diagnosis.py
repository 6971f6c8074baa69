"""The seed guide's troubleshooting chapter as checks, judged from what the shell observed.

`jesagent doctor` asks `plan` what to look at (programs, configutil options, the LDAP
client, dsadm, which secrets to try), gathers it, and hands the findings to `diagnose`.
Each check ends PASS, WARN, FAIL or SKIP, says what it looked at and, unless it passed,
how to fix it. Nothing here ever holds a decrypted password: the shell only reports
whether each secret decrypts.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jescore.policy import argv as vcs_argv
from jescore.policy import checks, sunjesadm, sunjesldap, sunjesmsg
from jescore.policy.commands import NATIVE_PROBES, ProgramResult
from jescore.policy.declaration import Attr, Config, Declaration, Violation, validate
from jescore.policy.msg_services import ProbeStyle, ServerType, lookup
from jescore.policy.resource import MONITOR_PROGRAM, SECOND_LEVEL_MONITOR
from jescore.policy.secrets import mask as scrub
from jescore.policy.secrets import secret_words
from jescore.policy.vcs import EntryPoint
from jescore.record import field, record, replace
from jescore.result import Failure, Success

CONFIGUTIL_SECONDS = 15.0  # the most one `configutil -o` may take
DSADM_SECONDS = 30.0  # the most `dsadm get-flags` may take


class Status(enum.Enum):
    PASS = "PASS"  # noqa: S105 - a check's outcome, not a password
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


@record
class Check:
    name: str
    status: Status
    looked_at: str
    finding: str
    fix: str = ""


# --- the resource, read as far as it can be ------------------------------------------


@record
class Subject:
    """One resource: its arguments read as the monitor would, and every attribute that
    converts on its own (so one bad attribute does not hide the other checks)."""

    decl: Declaration
    argv: tuple[str, ...]
    resource: str
    form: str | None
    argv_error: str | None
    warnings: tuple[str, ...]
    violations: tuple[Violation, ...]
    cfg: Config  # only the attributes that convert
    raw: Mapping[str, tuple[str, ...]]
    secrets: frozenset[str]  # words to scrub from every output


def read_subject(decl: Declaration, argv: Sequence[str]) -> Subject:
    tokens = tuple(argv)
    words = secret_words(decl, tokens)
    resource = tokens[0] if tokens and vcs_argv.looks_like_resource(tokens[0]) else "?"
    match vcs_argv.parse(decl, EntryPoint.MONITOR, tokens):
        case Failure(problem):
            return Subject(
                decl, tokens, resource, None, str(problem), (), (), Config({}), {}, words
            )
        case Success(parsed):
            pass
    values = dict(parsed.values)
    words |= frozenset(v for name in decl.secret_names for v in values.get(name, ()) if v)
    violations: tuple[Violation, ...] = ()
    match validate(decl, values):
        case Failure(found):
            violations = tuple(found)
        case Success(_):
            pass
    partial: dict[str, object] = {}
    for attr in decl.attrs:
        raw = values.get(attr.name, attr.default)
        if attr.required and all(v == "" for v in raw):
            continue
        match attr.convert(raw):
            case Success(value):
                partial[attr.name] = value
            case Failure(_):
                pass
    return Subject(
        decl, tokens, parsed.resource, parsed.form.value, None, parsed.warnings,
        violations, Config(partial), values, words,
    )  # fmt: skip


# --- what to look at -----------------------------------------------------------------


@record
class Program:
    path: str
    why: str
    fix: str = ""  # when missing; by default, check the installation root
    stand_in: str = ""  # what takes its place when it is missing: then a warning, not a failure


def _installed(path: str, why: str, root_attr: str) -> Program:
    return Program(
        path,
        why,
        f"check that {root_attr} names the installation and that {path} is an executable "
        "file there",
    )


@record
class Plan:
    """What the shell gathers for one resource. `secrets` holds encrypted values: the
    shell passes them to the password helper and prints none of it."""

    programs: tuple[Program, ...] = ()
    ldapsearch: tuple[str, ...] = ()  # candidates, in the agent's order
    configutil: str | None = None
    configutil_options: tuple[str, ...] = ()
    instance_root: str | None = None  # for dsadm get-flags
    secrets: tuple[tuple[str, str], ...] = field(default=(), repr=False)


DSADM_PATHS = ("/opt/SUNWdsee/ds6/bin/dsadm",)  # else dsadm on PATH
WATCHER = "local.watcher.enable"
AUTORESTART = "local.autorestart"
# The seed guide: "The scheduler must be enabled if you are using ServerType core." It
# names no option; Messaging Server 6.3's Administration Reference (start-msg) names the
# scheduler's switch local.sched.enable (local.schedule.<task> are the scheduled tasks).
SCHEDULER = "local.sched.enable"
MAXSESSIONS_DEFAULT = {"imap": 4000, "pop": 600, "http": 6000}
# The configutil service each MsgServices key runs as (imaps is the imap server's SSL port).
CONFIG_SERVICE = {
    "imap": "imap", "imaps": "imap", "pop": "pop", "pops": "pop", "http": "http", "https": "http",
}  # fmt: skip
SEVEN_DAYS = 7 * 24 * 3600
_NUMBER = re.compile(r"^[0-9]{1,12}$")  # str.isdigit also takes digits int() refuses


def _has(cfg: Config, *attrs: Attr[Any]) -> bool:
    return all(cfg.has(a) for a in attrs)


def plan(subject: Subject) -> Plan:
    cfg = subject.cfg
    programs: list[Program] = []
    ldapsearch: tuple[str, ...] = ()
    configutil = None
    options: list[str] = []
    instance_root = None
    name = subject.decl.type_name
    if name == sunjesmsg.DECLARATION.type_name:
        programs, configutil, options = _msg_plan(cfg)
    elif name == sunjesldap.DECLARATION.type_name and cfg.has(sunjesldap.INSTANCE_ROOT):
        root = cfg[sunjesldap.INSTANCE_ROOT]
        programs = [
            _installed(f"{root}/start-slapd", "online starts the server with it", "InstanceRoot"),
            _installed(f"{root}/stop-slapd", "offline and clean stop it with it", "InstanceRoot"),
        ]
        ldapsearch = sunjesldap.ldapsearch_candidates(cfg)
        instance_root = root
    elif name == sunjesadm.DECLARATION.type_name and cfg.has(sunjesadm.SERVER_ROOT):
        root = cfg[sunjesadm.SERVER_ROOT]
        programs = [
            _installed(f"{root}/start-admin", "online starts the server with it", "ServerRoot"),
            _installed(f"{root}/stop-admin", "offline and clean stop it with it", "ServerRoot"),
        ]
        if cfg.has(sunjesadm.ADMIN_USER) and cfg[sunjesadm.ADMIN_USER]:
            why = "the second level's synthetic transaction with AdminUser"
            programs.append(_installed(f"{root}/bin/admin/admconfig", why, "ServerRoot"))
    if cfg.has(MONITOR_PROGRAM) and cfg[MONITOR_PROGRAM]:
        path = cfg[MONITOR_PROGRAM][0]
        fix = f"install {path} as an executable file, or correct or empty MonitorProgram"
        programs.append(Program(path, "MonitorProgram: monitor runs it last", fix))
    secrets = tuple(
        (attr, value)
        for attr in sorted(subject.decl.secret_names)
        for value in subject.raw.get(attr, ())[:1]
        if value
    )
    return Plan(
        tuple(programs), ldapsearch, configutil, tuple(dict.fromkeys(options)), instance_root,
        secrets,
    )  # fmt: skip


def _msg_plan(cfg: Config) -> tuple[list[Program], str | None, list[str]]:
    if not cfg.has(sunjesmsg.SERVER_ROOT):
        return [], None, []
    root = cfg[sunjesmsg.SERVER_ROOT]
    programs = [_installed(f"{root}/lib/msstart", "online, offline and clean run it", "ServerRoot")]
    keys = _service_keys(cfg)
    if "core" in keys:
        why = "the message store check (stored -t -v)"
        programs.append(_installed(f"{root}/lib/stored", why, "ServerRoot"))
    native = cfg.has(NATIVE_PROBES) and cfg[NATIVE_PROBES]
    if cfg.has(sunjesmsg.LDAP_TEST_USER) and cfg[sunjesmsg.LDAP_TEST_USER] and not native:
        why = "the second level's synthetic transactions with LDAPTestUser"
        immonitor = _installed(sunjesmsg.immonitor_access(cfg), why, "ServerRoot")
        programs.append(replace(immonitor, stand_in=NATIVE_STAND_IN))
    configutil = f"{root}/sbin/configutil"
    why = "doctor reads the settings below with it"
    programs.append(_installed(configutil, why, "ServerRoot"))
    options = [WATCHER, AUTORESTART]
    if _server_type(cfg) is ServerType.MSG:
        if "core" in keys:
            options.append(SCHEDULER)
        for key in keys:
            service = CONFIG_SERVICE.get(key)
            if service is not None:
                options.append(f"service.{service}.enable")
        options += [f"service.{key}.maxsessions" for key, _ in _synthetic_logins(cfg)]
    return programs, configutil, options


def _service_keys(cfg: Config) -> tuple[str, ...]:
    if not cfg.has(sunjesmsg.MSG_SERVICES):
        return ()
    return tuple(s.key for s in cfg[sunjesmsg.MSG_SERVICES])


def _server_type(cfg: Config) -> ServerType | None:
    return cfg[sunjesmsg.SERVER_TYPE] if cfg.has(sunjesmsg.SERVER_TYPE) else None


def _synthetic_logins(cfg: Config) -> tuple[tuple[str, int], ...]:
    """(maxsessions service, SecondLevelMonitor) for each service the second level logs in
    to with the test user, on a Messaging Server (MSG)."""
    server_type = _server_type(cfg)
    if server_type is not ServerType.MSG or not _has(
        cfg, sunjesmsg.LDAP_TEST_USER, sunjesmsg.LDAP_TEST_PASSWD, SECOND_LEVEL_MONITOR
    ):
        return ()
    every = cfg[SECOND_LEVEL_MONITOR]
    if every <= 0 or not (cfg[sunjesmsg.LDAP_TEST_USER] and cfg[sunjesmsg.LDAP_TEST_PASSWD]):
        return ()
    found: list[tuple[str, int]] = []
    for key in _service_keys(cfg):
        service = lookup(server_type, key)
        if service is None or service.with_user is not ProbeStyle.IMMONITOR:
            continue
        if key in MAXSESSIONS_DEFAULT and all(k != key for k, _ in found):
            found.append((key, every))
    return tuple(found)


# --- what the shell found ------------------------------------------------------------


@record
class Findings:
    executables: frozenset[str] = frozenset()
    versions: Mapping[str, str] = field(default_factory=dict)  # ldapsearch path -> -VV output
    configutil: Mapping[str, ProgramResult] = field(default_factory=dict)  # option -> run
    dsadm: str | None = None  # the dsadm found, if any
    dsadm_result: ProgramResult | None = None
    secrets: Mapping[str, str | None] = field(default_factory=dict)  # attr -> None or reason
    monitor_interval: int = 60
    helper: str = ""  # the password helper program
    helper_usable: bool = True  # False: it is not an executable file


# --- judging -------------------------------------------------------------------------


def diagnose(subject: Subject, plan_: Plan, found: Findings) -> tuple[Check, ...]:
    out: list[Check] = [_attributes(subject)]
    out += [_program(p, found) for p in plan_.programs]
    if not plan_.programs and subject.argv_error is None:
        out.append(Check("programs", Status.SKIP, "the installation root", "its path is not valid"))
    name = subject.decl.type_name
    if name == sunjesmsg.DECLARATION.type_name:
        out += _msg_checks(subject, plan_, found)
    elif name == sunjesldap.DECLARATION.type_name:
        out += _ldap_checks(subject, plan_, found)
    out += _secret_checks(subject, plan_, found)
    return tuple(out)


def _attributes(subject: Subject) -> Check:
    looked = f"the arguments of {subject.resource} ({subject.form or 'unreadable'})"
    if subject.argv_error is not None:
        return Check(
            "attributes", Status.FAIL, looked, f"cannot be read: {subject.argv_error}",
            "give the arguments as VCS passes them: the resource name, then each ArgList "
            "attribute as name, count, values (V50) or by position (V40)",
        )  # fmt: skip
    if subject.violations:
        listed = "; ".join(str(v) for v in subject.violations)
        return Check(
            "attributes", Status.FAIL, looked, listed,
            f"correct each attribute named (hares -modify {subject.resource} <attribute> "
            "<value>); the rules are in docs/policy.md",
        )  # fmt: skip
    if subject.warnings:
        return Check(
            "attributes", Status.WARN, looked,
            "valid, but " + "; ".join(subject.warnings),
            "compare the type's ArgList with the agent's (docs/policy.md)",
        )  # fmt: skip
    return Check("attributes", Status.PASS, looked, "every attribute valid, every rule holds")


def _program(program: Program, found: Findings) -> Check:
    if program.path in found.executables:
        return Check("program", Status.PASS, program.path, f"executable ({program.why})")
    if program.stand_in:
        return Check(
            "program", Status.WARN, program.path,
            f"missing or not executable ({program.why}); {program.stand_in}", program.fix,
        )  # fmt: skip
    return Check(
        "program", Status.FAIL, program.path,
        f"missing or not executable ({program.why})", program.fix,
    )  # fmt: skip


# --- Messaging Server ----------------------------------------------------------------


def configutil_value(result: ProgramResult | None) -> str | None:
    """The value configutil printed; None when the option is not set."""
    if result is None or not result.started or result.exit_code is None:
        return None
    lines = [line.strip() for line in result.output.splitlines() if line.strip()]
    if result.exit_code != 0 or not lines:
        return None
    return lines[-1]


def _config_unread(result: ProgramResult | None) -> str | None:
    """Why an option could not be read at all (None: it was read, set or not)."""
    if result is None:
        return "configutil was not run"
    if not result.started:
        return f"configutil could not run: {result.error}"
    if result.exit_code is None:
        return "configutil did not answer in time"
    return None


_YES = frozenset({"yes", "1", "on", "true"})


def _msg_checks(subject: Subject, plan_: Plan, found: Findings) -> list[Check]:
    cfg = subject.cfg
    out: list[Check] = []
    tool = plan_.configutil
    if tool is not None:
        if tool not in found.executables:
            out.append(
                Check(
                    "configutil", Status.SKIP, tool,
                    "settings not checked: configutil is not there (see above)",
                )
            )  # fmt: skip
        else:
            out += _watcher_checks(tool, found)
            out += _scheduler_checks(subject, tool, found)
            out += _service_checks(cfg, tool, found)
            out += _maxsessions_checks(subject, tool, found)
    out.append(_fqdn_check(subject))
    return out


def _ask(tool: str, option: str) -> str:
    return f"{tool} -o {option}"


def _set(tool: str, option: str, value: str) -> str:
    return f"{tool} -o {option} -v {value}"


def _watcher_checks(tool: str, found: Findings) -> list[Check]:
    out: list[Check] = []
    result = found.configutil.get(WATCHER)
    unread = _config_unread(result)
    value = configutil_value(result)
    if unread is not None:
        out.append(Check("watcher", Status.WARN, _ask(tool, WATCHER), unread, "run it by hand"))
    elif value is None or value.lower() in _YES:
        said = "not set (the default is yes)" if value is None else f"is {value}"
        out.append(Check("watcher", Status.PASS, _ask(tool, WATCHER), f"{WATCHER} {said}"))
    else:
        out.append(
            Check(
                "watcher", Status.FAIL, _ask(tool, WATCHER),
                f"{WATCHER} is {value}: no watcher restarts or reports failed services",
                _set(tool, WATCHER, "yes"),
            )
        )  # fmt: skip
    result = found.configutil.get(AUTORESTART)
    unread = _config_unread(result)
    value = configutil_value(result)
    if unread is not None:
        out.append(
            Check("autorestart", Status.WARN, _ask(tool, AUTORESTART), unread, "run it by hand")
        )
    elif value is not None and value.lower() in _YES:
        out.append(
            Check("autorestart", Status.PASS, _ask(tool, AUTORESTART), f"{AUTORESTART} is {value}")
        )
    else:
        said = "not set (the default is no)" if value is None else f"is {value}"
        out.append(
            Check(
                "autorestart", Status.WARN, _ask(tool, AUTORESTART),
                f"{AUTORESTART} {said}: the watcher does not restart a failed service, so "
                "it stays down until VCS faults the resource",
                _set(tool, AUTORESTART, "yes"),
            )
        )  # fmt: skip
    return out


def _scheduler_checks(subject: Subject, tool: str, found: Findings) -> list[Check]:
    """A core resource starts the scheduler (msstart store sched); the seed guide says
    it must be enabled. Only for core: the other services do not start it."""
    cfg = subject.cfg
    if _server_type(cfg) is not ServerType.MSG or "core" not in _service_keys(cfg):
        return []
    result = found.configutil.get(SCHEDULER)
    unread = _config_unread(result)
    value = configutil_value(result)
    looked = _ask(tool, SCHEDULER)
    restart = (
        f"{_set(tool, SCHEDULER, '1')}, then restart the core processes: hares -offline "
        f"{subject.resource} -sys <node>, then hares -online {subject.resource} -sys <node>"
    )
    if unread is not None:
        return [Check("scheduler", Status.WARN, looked, unread, "run it by hand")]
    if value is None:
        return [
            Check(
                "scheduler", Status.WARN, looked,
                f"{SCHEDULER} is not set, so doctor cannot tell whether the scheduler is "
                "enabled; the seed guide requires it for a core resource",
                restart,
            )
        ]  # fmt: skip
    if value.lower() in _YES:
        return [Check("scheduler", Status.PASS, looked, f"{SCHEDULER} is {value}")]
    return [
        Check(
            "scheduler", Status.FAIL, looked,
            f"{SCHEDULER} is {value}: the scheduler is disabled, and the seed guide "
            "requires it for a core resource (msstart store sched starts it)",
            restart,
        )
    ]  # fmt: skip


def _service_checks(cfg: Config, tool: str, found: Findings) -> list[Check]:
    if _server_type(cfg) is not ServerType.MSG:
        return []
    out: list[Check] = []
    seen: set[str] = set()
    for key in _service_keys(cfg):
        service = CONFIG_SERVICE.get(key)
        if service is None or service in seen:
            continue
        seen.add(service)
        option = f"service.{service}.enable"
        result = found.configutil.get(option)
        unread = _config_unread(result)
        value = configutil_value(result)
        looked = _ask(tool, option)
        if unread is not None:
            out.append(Check("service enabled", Status.WARN, looked, unread, "run it by hand"))
        elif value is None:
            out.append(
                Check(
                    "service enabled", Status.WARN, looked,
                    f"{option} is not set; msstart starts only enabled services",
                    _set(tool, option, "1"),
                )
            )  # fmt: skip
        elif value.lower() in _YES:
            out.append(Check("service enabled", Status.PASS, looked, f"{option} is {value}"))
        else:
            out.append(
                Check(
                    "service enabled", Status.FAIL, looked,
                    f"{option} is {value}: the {service} service is disabled, so msstart "
                    "will not start it and the resource cannot come online",
                    _set(tool, option, "1"),
                )
            )  # fmt: skip
    return out


def duration(seconds: float) -> str:
    """Seconds as the two largest units a person reads: '2 days 18 hours'."""
    whole = max(int(seconds), 0)
    units = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
    parts: list[str] = []
    for name, size in units:
        count, whole = divmod(whole, size)
        if count or parts:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
        if len(parts) == 2:
            break
    parts = [p for p in parts if not p.startswith("0 ")] or ["0 seconds"]
    return " ".join(parts)


def _maxsessions_checks(subject: Subject, tool: str, found: Findings) -> list[Check]:
    cfg = subject.cfg
    if _server_type(cfg) is not ServerType.MSG:
        return []
    relevant = [k for k in _service_keys(cfg) if k in MAXSESSIONS_DEFAULT]
    logins = _synthetic_logins(cfg)
    if not logins:
        if not relevant:
            return []
        why = "SecondLevelMonitor is 0" if not _uses_second_level(cfg) else "no LDAPTestUser"
        return [
            Check(
                "maxsessions", Status.SKIP, "service.<svc>.maxsessions",
                f"the second level logs in to nothing ({why})",
            )
        ]  # fmt: skip
    interval = max(found.monitor_interval, 1)
    out: list[Check] = []
    for key, every in logins:
        option = f"service.{key}.maxsessions"
        looked = _ask(tool, option)
        result = found.configutil.get(option)
        unread = _config_unread(result)
        if unread is not None:
            out.append(Check("maxsessions", Status.WARN, looked, unread, "run it by hand"))
            continue
        value = configutil_value(result)
        default = MAXSESSIONS_DEFAULT[key]
        if value is not None and not _NUMBER.match(value):
            out.append(
                Check(
                    "maxsessions", Status.WARN, looked,
                    f"{option} is {checks.shown(value)}, not a number",
                    _set(tool, option, str(default)),
                )
            )  # fmt: skip
            continue
        limit = int(value) if value is not None else default
        named = f"{option} {limit}" + (" (default)" if value is None else "")
        step = every * interval  # one synthetic login every `step` seconds
        lasts = limit * step
        finding = (
            f"{named}; with SecondLevelMonitor {every} and MonitorInterval {interval} s the "
            f"probes alone log in every {step} s and use it up in {duration(lasts)}"
        )
        if lasts >= SEVEN_DAYS:
            out.append(Check("maxsessions", Status.PASS, looked, finding))
            continue
        needed_limit = -(-SEVEN_DAYS // step)
        needed_every = -(-SEVEN_DAYS // (limit * interval)) if limit > 0 else every
        fix = (
            f"{_set(tool, option, str(needed_limit))} (a week of probes), or raise "
            f"SecondLevelMonitor to {needed_every} (hares -modify {subject.resource} "
            f"SecondLevelMonitor {needed_every})"
        )
        out.append(Check("maxsessions", Status.WARN, looked, finding + ", under 7 days", fix))
    return out


def _uses_second_level(cfg: Config) -> bool:
    return cfg.has(SECOND_LEVEL_MONITOR) and cfg[SECOND_LEVEL_MONITOR] > 0


def _fqdn_check(subject: Subject) -> Check:
    cfg = subject.cfg
    mta = sorted(k for k in _service_keys(cfg) if k in {"smtp", "lmtp"})
    looked = "MsgHost"
    if not mta:
        return Check("MsgHost", Status.SKIP, looked, "no smtp or lmtp in MsgServices")
    if not cfg.has(sunjesmsg.MSG_HOST):
        return Check("MsgHost", Status.SKIP, looked, "MsgHost is not valid (see attributes)")
    host = cfg[sunjesmsg.MSG_HOST]
    looked = f"MsgHost {host}"
    if checks.is_fqdn(host):
        need = "needs" if len(mta) == 1 else "need"
        return Check(
            "MsgHost", Status.PASS, looked, f"fully qualified, as {' and '.join(mta)} {need}"
        )
    return Check(
        "MsgHost", Status.FAIL, looked,
        f"not a fully qualified domain name; the {' and '.join(mta)} synthetic transaction "
        "sends to <LDAPTestUser>@<domain of MsgHost>",
        f"hares -modify {subject.resource} MsgHost <host.domain> (the virtual host's full name)",
    )  # fmt: skip


# --- Directory Server ----------------------------------------------------------------

_PROMPT = re.compile(r"cert-pwd-prompt\s*[:=]\s*(on|off)\b", re.IGNORECASE)
SEED_LDAPSEARCH = "/opt/SUNWdsee/dsee6/bin/sparcv9/ldapsearch"
NATIVE_STAND_IN = (
    "the second level speaks the protocol itself instead (native probes; NativeProbes = 1 "
    "asks for that on purpose)"
)


def dsadm_command(dsadm: str, instance_root: str) -> tuple[str, ...]:
    return (dsadm, "get-flags", instance_root, "cert-pwd-prompt")


def _ldap_checks(subject: Subject, plan_: Plan, found: Findings) -> list[Check]:
    cfg = subject.cfg
    out: list[Check] = []
    if plan_.ldapsearch:
        out.append(_ldapsearch_check(cfg, plan_.ldapsearch, found))
    if plan_.instance_root is not None:
        out.append(_dsadm_check(plan_.instance_root, found))
    return out


def _ldapsearch_check(cfg: Config, candidates: tuple[str, ...], found: Findings) -> Check:
    looked = ", ".join(candidates)
    present = [p for p in candidates if p in found.executables]
    if cfg.has(NATIVE_PROBES) and cfg[NATIVE_PROBES]:
        return Check(
            "ldapsearch", Status.PASS, looked,
            "not used: NativeProbes = 1, the second level searches cn=monitor itself",
        )  # fmt: skip
    if present:
        path = present[0]
        dialect = sunjesldap.dialect_of(found.versions.get(path))
        return Check(
            "ldapsearch", Status.PASS, looked,
            f"the second level will use {path}, in the {dialect.value} dialect",
        )  # fmt: skip
    root = sunjesldap.server_root(cfg)
    return Check(
        "ldapsearch", Status.WARN, looked,
        f"no ldapsearch in any of these places; {NATIVE_STAND_IN}",
        f"mkdir -p {root}/shared/bin && ln -s {SEED_LDAPSEARCH} {root}/shared/bin/ldapsearch "
        "(or install an LDAP client as /usr/bin/ldapsearch)",
    )  # fmt: skip


def _dsadm_check(instance_root: str, found: Findings) -> Check:
    if found.dsadm is None:
        places = " or ".join(DSADM_PATHS)
        return Check(
            "certificate prompt", Status.SKIP, f"{places}, dsadm on PATH",
            "no dsadm here: not a Directory Server 6 (5.x takes SSLDbPasswd instead)",
        )  # fmt: skip
    command = " ".join(dsadm_command(found.dsadm, instance_root))
    result = found.dsadm_result
    fix = (
        f"take the resource out of VCS control, then {instance_root}/stop-slapd; "
        f"{found.dsadm} set-flags {instance_root} cert-pwd-prompt=off; "
        f"{instance_root}/start-slapd"
    )
    if result is None or not result.started or result.exit_code is None:
        why = "did not run" if result is None else result.error or "did not answer in time"
        return Check("certificate prompt", Status.WARN, command, f"dsadm {why}", "run it by hand")
    match = _PROMPT.search(result.output)
    if match is None:
        return Check(
            "certificate prompt", Status.WARN, command,
            f"dsadm answered neither on nor off (exit {result.exit_code})",
            "run it by hand",
        )  # fmt: skip
    if match.group(1).lower() == "off":
        return Check("certificate prompt", Status.PASS, command, "cert-pwd-prompt is off")
    return Check(
        "certificate prompt", Status.FAIL, command,
        "cert-pwd-prompt is on: start-slapd would wait for a certificate password nobody types",
        fix,
    )  # fmt: skip


# --- passwords -----------------------------------------------------------------------


def _secret_checks(subject: Subject, plan_: Plan, found: Findings) -> list[Check]:
    out: list[Check] = []
    given = {attr for attr, _ in plan_.secrets}
    for attr in sorted(subject.decl.secret_names):
        looked = f"{attr} through the password helper"
        if attr not in given:
            out.append(Check("password", Status.SKIP, attr, f"{attr} is not set"))
            continue
        if not found.helper_usable:
            out.append(
                Check(
                    "password", Status.FAIL, f"{attr}: the password helper {found.helper}",
                    f"the password helper {found.helper} is not an executable file, so no "
                    "secret can be decrypted",
                    "install VCS on this node ($VCS_HOME/bin/vcsdecrypt, VCS_HOME defaults to "
                    "/opt/VRTSvcs), or name the helper in JESAGENT_DECRYPT",
                )
            )  # fmt: skip
            continue
        reason = found.secrets.get(attr, "the password helper was not asked")
        if reason is None:
            out.append(Check("password", Status.PASS, looked, f"{attr} decrypts"))
            continue
        out.append(
            Check(
                "password", Status.FAIL, looked, reason,
                f"encrypt the password again with `vcsencrypt -agent` on this cluster and "
                f"set it: hares -modify {subject.resource} {attr} <the new value>",
            )
        )  # fmt: skip
    return out


# --- the report ----------------------------------------------------------------------


@record
class Report:
    type_name: str
    resource: str
    group: str | None
    checks: tuple[Check, ...]
    secrets: frozenset[str] = field(default=frozenset(), repr=False)


def failed(reports: Sequence[Report]) -> bool:
    return any(c.status is Status.FAIL for r in reports for c in r.checks)


def exit_code(reports: Sequence[Report]) -> int:
    return 1 if failed(reports) else 0


def tally(reports: Sequence[Report]) -> dict[str, int]:
    counts = {s.value: 0 for s in Status}
    for report in reports:
        for check in report.checks:
            counts[check.status.value] += 1
    return counts


def as_json(reports: Sequence[Report]) -> dict[str, object]:
    return {
        "resources": [
            {
                "type": r.type_name,
                "resource": scrub(r.resource, r.secrets),
                "group": r.group,
                "checks": [
                    {
                        "check": c.name,
                        "status": c.status.value,
                        "looked_at": scrub(c.looked_at, r.secrets),
                        "finding": scrub(c.finding, r.secrets),
                        "fix": scrub(c.fix, r.secrets) or None,
                    }
                    for c in r.checks
                ],
            }
            for r in reports
        ],
        "summary": tally(reports),
        "failed": failed(reports),
    }


def render_text(reports: Sequence[Report]) -> str:
    out: list[str] = []
    for report in reports:
        where = f" (group {report.group})" if report.group else ""
        lines = [f"{report.type_name} {report.resource}{where}"]
        for check in report.checks:
            lines.append(f"  {check.status.value}  {check.name}: {check.finding}")
            lines.append(f"        looked at: {check.looked_at}")
            if check.fix and check.status is not Status.PASS:
                lines.append(f"        fix: {check.fix}")
        out.append(scrub("\n".join(lines), report.secrets))
    counts = tally(reports)
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    verdict = "something failed" if failed(reports) else "nothing failed"
    out.append(f"{summary}: {verdict}")
    return "\n\n".join(out) + "\n"
