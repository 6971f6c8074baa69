"""A real one-node Pacemaker + Corosync cluster for the tests, started without systemd.

Corosync runs from a private configuration on 127.0.0.1; Pacemaker starts from a CIB
seeded with the three options that make a lone node useful at once (no fencing, a short
DC dead time, no quorum needed), so the node elects itself DC in seconds. The CIB lives
where Pacemaker was built to keep it (/var/lib/pacemaker/cib): it is wiped before the
cluster starts and after it stops. Only one such cluster can run on a machine.

    cluster = OneNodeCluster(Path("/tmp/c"))
    cluster.start()
    cluster.load_resources(xml)       # primitives, groups, constraints (cibadmin)
    cluster.wait_for(lambda s: s.started("ldap"))
    cluster.stop()                    # stops every resource, then the stack

Needs root and the Debian packages pacemaker, corosync and pacemaker-cli-utils.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

CIB_DIR = Path("/var/lib/pacemaker/cib")
PROGRAMS = ("corosync", "pacemakerd", "cibadmin", "crm_mon", "crm_attribute")
SEED_OPTIONS = {"stonith-enabled": "false", "dc-deadtime": "2s", "no-quorum-policy": "ignore"}


def cluster_available() -> str | None:
    """Why a cluster cannot run here, or None."""
    missing = [p for p in PROGRAMS if shutil.which(p, path="/usr/sbin:/usr/bin") is None]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install pacemaker corosync)"
    if os.geteuid() != 0:
        return "a cluster needs root"
    return None


def _program(name: str) -> str:
    return shutil.which(name, path="/usr/sbin:/usr/bin") or name


def corosync_conf(base: Path, node: str) -> str:
    return f"""totem {{
    version: 2
    cluster_name: jesagent-test
    transport: knet
    crypto_cipher: none
    crypto_hash: none
}}
logging {{
    to_logfile: yes
    logfile: {base}/corosync.log
    to_stderr: no
    to_syslog: no
    timestamp: on
}}
quorum {{
    provider: corosync_votequorum
}}
nodelist {{
    node {{
        name: {node}
        nodeid: 1
        ring0_addr: 127.0.0.1
    }}
}}
"""


@dataclass(frozen=True)
class ResourceState:
    id: str
    agent: str
    role: str
    active: bool
    failed: bool


@dataclass(frozen=True)
class Status:
    """What crm_mon says: each resource's state and fail counts."""

    dc: bool
    resources: Mapping[str, ResourceState]
    fail_counts: Mapping[str, int]
    text: str

    def started(self, *ids: str) -> bool:
        return all(i in self.resources and self.resources[i].role == "Started" for i in ids)

    def stopped(self, *ids: str) -> bool:
        return all(i in self.resources and self.resources[i].role == "Stopped" for i in ids)


class OneNodeCluster:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.node = os.uname().nodename
        self.corosync: subprocess.Popen[bytes] | None = None
        self.pacemaker: subprocess.Popen[bytes] | None = None

    @property
    def pacemaker_log(self) -> Path:
        return self.base / "pacemaker.log"

    def env(self) -> dict[str, str]:
        # Pacemaker's tools and daemons must not see a test's Python environment.
        keep = ("PATH", "LANG", "LC_ALL", "TERM")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
        return env

    def start(self, timeout: float = 60.0) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        wipe_cib()
        self._seed_cib()
        conf = self.base / "corosync.conf"
        conf.write_text(corosync_conf(self.base, self.node))
        self._run(_program("corosync"), "-t", "-c", str(conf))
        with open(self.base / "corosync.out", "wb") as out:
            self.corosync = subprocess.Popen(
                [_program("corosync"), "-f", "-c", str(conf)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env(),
                start_new_session=True,
            )
        self._until(lambda: self._quiet("corosync-cfgtool", "-s"), timeout, "corosync")
        env = self.env() | {"PCMK_logfile": str(self.pacemaker_log)}
        with open(self.base / "pacemakerd.out", "wb") as out:
            self.pacemaker = subprocess.Popen(
                [_program("pacemakerd")],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self._until(lambda: self.status().dc, timeout, "a designated controller")

    def _seed_cib(self) -> None:
        seed = self.base / "seed.xml"
        seed.write_text(self._run(_program("cibadmin"), "--empty"))
        for name, value in SEED_OPTIONS.items():
            self._run(
                _program("crm_attribute"),
                "--type",
                "crm_config",
                "--name",
                name,
                "--update",
                value,
                env={"CIB_file": str(seed)},
            )
        target = CIB_DIR / "cib.xml"
        shutil.copyfile(seed, target)
        user = pwd.getpwnam("hacluster")
        os.chown(target, user.pw_uid, user.pw_gid)
        os.chmod(target, 0o600)

    def stop(self, timeout: float = 90.0) -> None:
        """Stop Pacemaker (which stops every resource first), then Corosync; wipe the CIB."""
        for proc in (self.pacemaker, self.corosync):
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.pacemaker = self.corosync = None
        wipe_cib()

    def load_resources(self, xml: str) -> None:
        """Add primitives, groups and constraints (a <resources> and a <constraints>
        section, either may be empty)."""
        root = ET.fromstring(f"<cib-sections>{xml}</cib-sections>")  # noqa: S314 - the test's own
        for section in root:
            text = ET.tostring(section, encoding="unicode")
            self._run(_program("cibadmin"), "--modify", "--scope", section.tag, "--xml-text", text)

    def status(self) -> Status:
        try:
            text = self._run(_program("crm_mon"), "-1", "-r", "-f", "--output-as=xml", timeout=20)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return Status(False, {}, {}, "")
        root = ET.fromstring(text)  # noqa: S314 - crm_mon of the test's own cluster
        dc = root.find("./summary/current_dc")
        resources: dict[str, ResourceState] = {}
        for res in root.iter("resource"):
            ident = res.get("id", "")
            resources[ident] = ResourceState(
                ident,
                res.get("resource_agent", ""),
                res.get("role", ""),
                res.get("active") == "true",
                res.get("failed") == "true",
            )
        fails: dict[str, int] = {}
        for history in root.iter("resource_history"):
            count = history.get("fail-count")
            if count is not None:
                fails[history.get("id", "")] = int(count) if count.isdigit() else 1_000_000
        return Status(dc is not None and dc.get("present") == "true", resources, fails, text)

    def human_status(self) -> str:
        return self._run(_program("crm_mon"), "-1", "-r", "-f", timeout=20)

    def wait_for(self, ready: Callable[[Status], bool], timeout: float = 60.0) -> Status:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if ready(status):
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"cluster did not get there in {timeout:.0f} s:\n{status.text}")
            time.sleep(0.5)

    def _until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for proc in (self.corosync, self.pacemaker):
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"{proc.args!r} exited {proc.returncode} ({self.base})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} after {timeout:.0f} s (logs in {self.base})")
            time.sleep(0.25)

    def _quiet(self, *argv: str) -> bool:
        done = subprocess.run(
            [_program(argv[0]), *argv[1:]],
            capture_output=True,
            env=self.env(),
            timeout=10,
            check=False,
        )
        return done.returncode == 0

    def _run(self, *argv: str, env: Mapping[str, str] | None = None, timeout: float = 30) -> str:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            env=self.env() | dict(env or {}),
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise subprocess.CalledProcessError(
                done.returncode, list(argv), done.stdout, done.stderr
            )
        return done.stdout


def wipe_cib() -> None:
    """Remove every file of the CIB, so that no cluster configuration survives a run."""
    if not CIB_DIR.is_dir():
        return
    for path in CIB_DIR.iterdir():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def running_cluster(base: Path) -> Iterator[OneNodeCluster]:
    cluster = OneNodeCluster(base)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
