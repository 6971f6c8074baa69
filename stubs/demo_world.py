"""The world `make demo` runs in: stand-in installations, installed agents, configuration 2.

Everything lives in one temporary directory and every process started here is stopped by
World.close(), which the demo calls in a `finally`:

    work/agents/<Type>/          the installed SunJES entry points (jesagent install)
    work/bundled/<Type>/         stand-in agents for NIC, IP, DiskGroup and Mount
    work/config/                 main.cf (the seed's configuration 2), types.cf (the bundled
                                 stand-in types) and the installed SunJES*Types50.cf
    work/dir/serverroot/         Directory Server instance slapd-ldap (real 389, or the
                                 stand-in of stubs.demo_slapd) and the Administration Server
    work/store, work/webmail, work/mta/SUNWmsgsr   one Messaging Server install per group
    work/vcs/log/engine_A.log    what the agents log, through the stand-in halog

The configuration is read with the engine's loader and then re-pointed at the stand-ins:
paths, hosts, ports, encrypted passwords, RestartLimit and SecondLevelMonitor.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from jescore.policy.declaration import Dimension, Raw, VcsType, validate
from jescore.policy.registry import POLICIES
from jescore.record import replace
from jescore.result import Failure
from jescore.tooling import vcsconf
from jescore.tooling.vcsconf_model import Configuration, Group, Resource, TypeAttr, TypeDef
from stubs.adminserver import StandInAdmin, build_admin_root
from stubs.demo_slapd import StandInDs, build_standin_ds
from stubs.dirsrv389 import (
    DsError,
    DsInstance,
    create_instance,
    destroy_tree,
    ds_available,
    pick_free_ports,
)
from stubs.halog import engine_log, install_halog
from stubs.msgserver import StandInServer, build_server_root
from stubs.vcscrypt import PasswordHelper, install_password_helper
from stubs.vcsengine import load_configuration

REPO: Final = Path(__file__).resolve().parent.parent
SAMPLE: Final = REPO / "docs" / "samples" / "config2-group-per-component.cf"
MTA_FQDN: Final = "mail.jesagent.test"
SUN_TYPES: Final = ("SunJESMsg", "SunJESAdm", "SunJESLDAP")

# Test credentials of the stand-ins; the configuration only ever holds them encrypted.
PROBE_USER: Final = "vcsprobe"
PROBE_PASSWORD: Final = "probe-demo-secret"  # noqa: S105
ADMIN_USER: Final = "admin"
ADMIN_PASSWORD: Final = "admin-demo-secret"  # noqa: S105
DS_PIN: Final = "token-demo-pin"

# The bundled types the seed's configuration uses, as arguments their stand-ins receive.
BUNDLED: Final[Mapping[str, tuple[str, ...]]] = {
    "NIC": ("Device",),
    "IP": ("Device", "Address", "NetMask"),
    "DiskGroup": ("DiskGroup",),
    "Mount": ("MountPoint", "BlockDevice", "FSType", "FsckOpt"),
}

# Bundled types that are persistent (static Operations = None in VCS's types.cf): the
# engine only monitors them; their stand-ins are up from the start, as a working NIC is.
PERSISTENT: Final = frozenset({"NIC"})

# One script plays every entry point of a bundled type: the resource is "up" while a file
# named after it exists. Monitor answers 110 or 100; nothing else can go wrong.
BUNDLED_AGENT: Final = """#!/bin/sh
# Stand-in for the bundled {type} agent (written by stubs.demo_world): no device, no
# disk, just a file that says the resource is up.
state={state}/"$1"
case ${{0##*/}} in
online) : > "$state" ;;
offline | clean) rm -f "$state" ;;
monitor) if [ -e "$state" ]; then exit 110; else exit 100; fi ;;
esac
exit 0
"""


def resolves_to_loopback(name: str) -> bool:
    """True when `name` resolves (IPv4) to 127.0.0.1 and nothing else."""
    try:
        found = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(found) and {str(info[4][0]) for info in found} == {"127.0.0.1"}


@dataclass(frozen=True)
class Installs:
    """The stand-in installations, built and stopped."""

    helper: PasswordHelper
    store: StandInServer  # core, imap, pop
    webmail: StandInServer  # core, http
    mta: StandInServer  # core, and smtp, or sms when there is no fully qualified host name
    admin: StandInAdmin
    ds: DsInstance | StandInDs
    mta_fqdn: str | None  # the MTA's MsgHost; None: the MTA resource manages sms instead

    @property
    def real_389(self) -> bool:
        return isinstance(self.ds, DsInstance)

    def mta_daemons(self) -> tuple[str, ...]:
        return ("dispatcher", "job_controller") if self.mta_fqdn else ("sms_gateway",)


@dataclass(frozen=True)
class Deployment:
    installs: Installs
    config: Configuration
    env: Mapping[str, str]  # the entry points' environment
    log: Path  # what the agents write, through the stand-in halog


@dataclass
class World:
    """The demo's temporary directory and what runs in it; build() then, always, close()."""

    work: Path
    use_389: bool | None = None  # None: the real 389 when it is installed
    use_fqdn: bool | None = None  # None: smtp when mail.jesagent.test resolves to 127.0.0.1
    notes: list[str] = field(default_factory=list)  # what was set up, one line each
    changes: list[str] = field(default_factory=list)  # how the configuration was re-pointed
    real_389: bool = False
    _cleanups: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    @property
    def vcs_home(self) -> Path:
        return self.work / "vcs"

    @property
    def log(self) -> Path:
        return engine_log(self.vcs_home)

    def _env(self, helper: PasswordHelper) -> dict[str, str]:
        """VCS_HOME holds the stand-in halog (the agents log through it, as under VCS) and
        the password helper; our state directory."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("JESAGENT_")}
        return {
            **base,
            "JESAGENT_STATE_DIR": str(self.work / "state"),
            "JESAGENT_DECRYPT": str(helper.decrypt_program),
            "VCS_HOME": str(self.vcs_home),
        }

    def _on_close(self, what: str, action: Callable[[], None]) -> None:
        self._cleanups.append((what, action))

    def close(self) -> list[str]:
        """Stop every stand-in (last built first), remove the directory; the problems."""
        problems: list[str] = []
        while self._cleanups:
            what, action = self._cleanups.pop()
            try:
                action()
            except Exception as exc:  # keep going: everything must stop
                problems.append(f"{what}: {exc}")
        shutil.rmtree(self.work, ignore_errors=True)
        return problems

    # --- building ------------------------------------------------------------------------

    def build(self) -> Deployment:
        (self.work / "log").mkdir(parents=True, exist_ok=True)
        (self.work / "state").mkdir(exist_ok=True)
        helper = install_password_helper(self.vcs_home)
        install_halog(self.vcs_home)
        self._install_agents()
        self._bundled_agents()
        ds, admin = self._directory()
        store, webmail, mta, fqdn = self._messaging()
        installs = Installs(helper, store, webmail, mta, admin, ds, fqdn)
        self.real_389 = installs.real_389
        return Deployment(installs, self._configuration(installs), self._env(helper), self.log)

    def _install_agents(self) -> None:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "shell.cli",
                "install",
                "--agents-dir",
                str(self.work / "agents"),
                "--conf-dir",
                str(self.work / "conf"),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )
        if done.returncode != 0:
            raise RuntimeError(f"jesagent install failed:\n{done.stdout}{done.stderr}")
        self.notes.append(
            f"agents installed with `jesagent install` into {self.work / 'agents'}"
            f" ({', '.join(SUN_TYPES)})"
        )

    def _bundled_agents(self) -> None:
        state = self.work / "bundled" / "state"
        state.mkdir(parents=True)
        for type_name in BUNDLED:
            folder = self.work / "bundled" / type_name
            folder.mkdir()
            text = BUNDLED_AGENT.format(type=type_name, state=str(state))
            for entry in ("online", "offline", "monitor", "clean"):
                path = folder / entry
                path.write_text(text)
                path.chmod(0o755)
        self.notes.append(
            f"NIC, IP, DiskGroup, Mount: stand-in agents in {self.work / 'bundled'}"
            " (a file per resource says it is up)"
        )

    def _directory(self) -> tuple[DsInstance | StandInDs, StandInAdmin]:
        server_root = self.work / "dir" / "serverroot"
        built: DsInstance | StandInDs | None = None
        if self.use_389 is not False and ds_available():
            try:
                built = self._real_389(server_root)
            except (DsError, OSError) as exc:
                # As a user outside the dirsrv group, /etc/dirsrv cannot be read, for one.
                if self.use_389:
                    raise
                shutil.rmtree(server_root, ignore_errors=True)
                why = (str(exc).splitlines() or [type(exc).__name__])[0]
                self.notes.append(f"389 is installed, but no instance could be made: {why}")
        if built is None:
            (port,) = pick_free_ports(1)
            standin = build_standin_ds(server_root, port=port, instance_id="ldap")
            self._on_close("stand-in Directory Server", standin.stop_all)
            built = standin
            if self.use_389 is False:
                why = "--standin-ds was given"
            elif ds_available():
                why = "see above"
            else:
                why = "389 is not installed; stubs/install_389.sh installs it"
            self.notes.append(
                f"Directory Server: a stand-in ns-slapd ({why}), {standin.instance_root}"
                f" (port {port}); it speaks no LDAP, so its resource runs without a second"
                " level"
            )
        admin = build_admin_root(server_root, user=ADMIN_USER, password=ADMIN_PASSWORD)
        self._on_close("Administration Server", admin.stop_all)
        self.notes.append(
            f"Administration Server: stand-in in the same ServerRoot, {server_root}"
            f" (port {admin.port})"
        )
        return built, admin

    def _real_389(self, server_root: Path) -> DsInstance:
        from stubs.dirsrv_standin import make_prompting_start_slapd

        port, ssl_port = pick_free_ports(2)
        self._on_close("389 Directory Server", lambda: destroy_tree(server_root))
        ds = create_instance(server_root, port=port, ssl_port=ssl_port, instance_id="ldap")
        # Like a 5.x instance with TLS: start-slapd asks for the token PIN on stdin.
        make_prompting_start_slapd(ds.instance_root, DS_PIN)
        self.notes.append(
            f"Directory Server: a real 389 Directory Server instance, {ds.instance_root}"
            f" (LDAP port {port}, TLS port {ssl_port}; start-slapd asks for the"
            " certificate PIN)"
        )
        return ds

    def _messaging(self) -> tuple[StandInServer, StandInServer, StandInServer, str | None]:
        users = {PROBE_USER: PROBE_PASSWORD}
        store = self._msg_root("store", users)
        webmail = self._msg_root("webmail", users)
        mta = self._msg_root("mta", users)
        self.notes.append(
            f"Messaging Server: three stand-in installations, {self.work}/<store|webmail|mta>"
            "/SUNWmsgsr, each with its own core processes (stored, imsched, watcher) under"
            " its group's core resource"
        )
        use_fqdn = resolves_to_loopback(MTA_FQDN) if self.use_fqdn is None else self.use_fqdn
        fqdn = MTA_FQDN if use_fqdn else None
        if fqdn is None:
            self.notes.append(
                f"{MTA_FQDN} does not resolve to 127.0.0.1 here (or --no-fqdn was given),"
                " and smtp needs a fully qualified MsgHost: the MTA group manages the SMS"
                " gateway (sms, port check) instead. Add"
                f" '127.0.0.1 {MTA_FQDN}' to /etc/hosts to see smtp."
            )
        return store, webmail, mta, fqdn

    def _msg_root(self, name: str, users: Mapping[str, str]) -> StandInServer:
        server = build_server_root(
            self.work / name / "SUNWmsgsr", users=users, domain="jesagent.test"
        )
        self._on_close(f"{name} Messaging Server", server.stop_all)
        return server

    # --- the configuration ---------------------------------------------------------------

    def _configuration(self, installs: Installs) -> Configuration:
        folder = self.work / "config"
        folder.mkdir()
        shutil.copy(SAMPLE, folder / "main.cf")
        for type_name in SUN_TYPES:
            shutil.copy(self.work / "conf" / type_name / f"{type_name}Types50.cf", folder)
        (folder / "types.cf").write_text(self._bundled_types())
        loaded = load_configuration(folder / "main.cf")
        types = tuple(self._agent_directory(t) for t in loaded.types)
        groups = tuple(self._group(g, installs) for g in loaded.groups)
        config = replace(loaded, types=types, groups=groups)
        self._validate(config)
        for group in config.groups:  # the network cards work before the cluster starts
            for resource in group.resources:
                if resource.type_name in PERSISTENT:
                    (self.work / "bundled" / "state" / resource.name).touch()
        # What the engine runs, for anyone who stops the demo half-way to look.
        (folder / "main.cf").write_text(vcsconf.render(config))
        return config

    def _bundled_types(self) -> str:
        types = []
        for type_name, args in BUNDLED.items():
            attrs = [
                TypeAttr(
                    "AgentDirectory",
                    VcsType.STR,
                    Dimension.SCALAR,
                    (str(self.work / "bundled" / type_name),),
                    static=True,
                ),
                TypeAttr("ArgList", VcsType.STR, Dimension.VECTOR, args, static=True),
                *(TypeAttr(a, VcsType.STR, Dimension.SCALAR, ()) for a in args),
            ]
            if type_name in PERSISTENT:
                attrs.append(
                    TypeAttr("Operations", VcsType.STR, Dimension.SCALAR, ("None",), static=True)
                )
            types.append(TypeDef(type_name, tuple(attrs)))
        head = "// Stand-in bundled types for the demo (stubs.demo_world): not VCS's types.cf.\n"
        return head + vcsconf.render(Configuration(types=tuple(types)))

    def _agent_directory(self, typedef: TypeDef) -> TypeDef:
        if typedef.name not in SUN_TYPES:
            return typedef
        where = (str(self.work / "agents" / typedef.name),)
        attrs = tuple(
            replace(a, default=where) if a.name == "AgentDirectory" else a for a in typedef.attrs
        )
        return replace(typedef, attrs=attrs)

    def _group(self, group: Group, installs: Installs) -> Group:
        return replace(group, resources=tuple(self._resource(r, installs) for r in group.resources))

    def _resource(self, resource: Resource, installs: Installs) -> Resource:
        new = self._values(resource, installs)
        if not new:
            return resource
        values: dict[str, Raw] = dict(resource.values)
        for name, raw in new.items():
            if raw is None:
                values.pop(name, None)
            else:
                values[name] = raw
        shown = ", ".join(
            f"{n}={'(removed)' if r is None else _show(n, r)}" for n, r in new.items()
        )
        self.changes.append(f"{resource.name}: {shown}")
        return replace(resource, values=values)

    @staticmethod
    def _values(resource: Resource, i: Installs) -> dict[str, Raw | None]:
        """The attributes to set (None: remove) so the resource runs on the stand-ins."""
        name = resource.name
        if name == "dir_ldap":
            if isinstance(i.ds, DsInstance):
                return {
                    "InstanceRoot": (str(i.ds.instance_root),),
                    "LDAPHost": ("127.0.0.1",),
                    "LDAPPort": (str(i.ds.port),),
                    "SSLPort": (str(i.ds.ssl_port),),
                    "SSLDbPasswd": (i.helper.encrypt(DS_PIN),),
                    "SecondLevelMonitor": ("1",),
                }
            return {
                "InstanceRoot": (str(i.ds.instance_root),),
                "LDAPHost": ("127.0.0.1",),
                "LDAPPort": (str(i.ds.port),),
                "SSLPort": ("0",),
                "SSLDbPasswd": None,
                "SecondLevelMonitor": ("0",),
            }
        if name == "dir_adm":
            return {
                "ServerRoot": (str(i.admin.root),),
                "AdminHost": ("127.0.0.1",),
                "AdminPort": (str(i.admin.port),),
                "AdminUser": (ADMIN_USER,),
                "AdminPasswd": (i.helper.encrypt(ADMIN_PASSWORD),),
                "SecondLevelMonitor": ("3",),
            }
        store, ports = str(i.store.root), i.store.ports
        if name == "store_core":
            return {
                "ServerRoot": (store,),
                "MsgHost": ("127.0.0.1",),
                "MsgServices": ("core", str(ports["core"])),
                "SecondLevelMonitor": ("1",),
                "RestartLimit": ("1",),
            }
        if name == "store_access":
            return {
                "ServerRoot": (store,),
                "MsgHost": ("127.0.0.1",),
                "MsgServices": ("imap", str(ports["imap"]), "pop", str(ports["pop"])),
                "LDAPTestUser": (PROBE_USER,),
                "LDAPTestPasswd": (i.helper.encrypt(PROBE_PASSWORD),),
                "SecondLevelMonitor": ("2",),
                "RestartLimit": ("2",),
                # So the log shows each probe: its command, its time limit, its answer.
                "ResLogLevel": ("TRACE",),
            }
        if name in ("webmail_core", "mta_core"):
            server = i.webmail if name == "webmail_core" else i.mta
            return {
                "ServerRoot": (str(server.root),),
                "MsgHost": ("127.0.0.1",),
                "MsgServices": ("core", str(server.ports["core"])),
                "SecondLevelMonitor": ("1",),
            }
        if name == "webmail_http":
            return {
                "ServerRoot": (str(i.webmail.root),),
                "MsgHost": ("127.0.0.1",),
                "MsgServices": ("http", str(i.webmail.ports["http"])),
                "SecondLevelMonitor": ("2",),
            }
        if name == "mta_smtp":
            mta = str(i.mta.root)
            if i.mta_fqdn is not None:
                return {
                    "ServerRoot": (mta,),
                    "MsgHost": (i.mta_fqdn,),
                    "MsgServices": ("smtp", str(i.mta.ports["smtp"])),
                    "SecondLevelMonitor": ("2",),
                }
            return {
                "ServerRoot": (mta,),
                "MsgHost": ("127.0.0.1",),
                "MsgServices": ("sms", str(i.mta.ports["sms"])),
                "SecondLevelMonitor": ("2",),
            }
        return {}

    def _validate(self, config: Configuration) -> None:
        """Every SunJES resource must pass the agents' own validation before it runs."""
        problems: list[str] = []
        for _, resource in config.resources():
            policy = POLICIES.get(resource.type_name)
            if policy is None:
                continue
            found = validate(policy.declaration, vcsconf.values_for(policy.declaration, resource))
            if isinstance(found, Failure):
                problems += [f"{resource.name}: {v}" for v in found.failure()]
        if problems:
            raise RuntimeError("the re-pointed configuration is not valid: " + "; ".join(problems))


def _show(name: str, raw: Raw) -> str:
    if name.endswith("Passwd"):
        return "<encrypted>"
    if len(raw) == 1:
        return raw[0]
    return "{" + ", ".join(f"{k}={v}" for k, v in zip(raw[0::2], raw[1::2], strict=False)) + "}"
