"""The OCF agents in a real one-node Pacemaker + Corosync cluster: a group of the
Directory Server (real 389, Sun layout), the Messaging Server core and an imap service
(stand-ins), recovered by Pacemaker's own recurring monitor when imapd is killed.

Needs root and the packages pacemaker, corosync and pacemaker-cli-utils; in CI their
absence fails the test. Only one cluster can run on a machine: the CIB is wiped before
the cluster starts and after it stops.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from shell import install as installer
from stubs.cluster import OneNodeCluster, cluster_available
from stubs.dirsrv389 import DsInstance
from stubs.msgserver import StandInServer, build_server_root
from stubs.ocfinstall import Installed, install
from tests.conftest import IN_CI

pytestmark = pytest.mark.realserver

PROVIDER = "jesagent-test"  # never the provider a real installation uses
OCF_DIR = Path("/usr/lib/ocf/resource.d") / PROVIDER


@pytest.fixture
def provider(ocf_install: Installed) -> Iterator[Path]:
    """The agents where Pacemaker looks for ocf:jesagent-test:<Type>."""
    problem = cluster_available()
    if problem:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)
    install(OCF_DIR, python=ocf_install.python, lib=ocf_install.lib)
    yield OCF_DIR
    report = installer.uninstall_ocf(OCF_DIR)
    assert not report.kept and not OCF_DIR.exists()


@pytest.fixture
def cluster(provider: Path, tmp_path: Path) -> Iterator[OneNodeCluster]:
    node = OneNodeCluster(tmp_path / "cluster")
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[StandInServer]:
    built = build_server_root(tmp_path / "msg", users={"probe": "imap-secret"}, stop_timeout=5)
    yield built
    built.stop_all()


def primitive(ident: str, agent: str, params: dict[str, str], ops: str) -> str:
    pairs = "".join(
        f"<nvpair id={quoteattr(f'{ident}-{name}')} name={quoteattr(name)} "
        f"value={quoteattr(value)}/>"
        for name, value in params.items()
    )
    return (
        f'<primitive id="{ident}" class="ocf" provider="{PROVIDER}" type="{agent}">'
        f'<instance_attributes id="{ident}-params">{pairs}</instance_attributes>'
        f"<operations>{ops}</operations></primitive>"
    )


def op(ident: str, name: str, timeout: str, interval: str = "0s", depth: str = "") -> str:
    level = ""
    if depth:
        level = (
            f'<instance_attributes id="{ident}-{name}-{interval}-ia">'
            f'<nvpair id="{ident}-{name}-{interval}-depth" name="OCF_CHECK_LEVEL" '
            f'value="{depth}"/></instance_attributes>'
        )
    return (
        f'<op id="{ident}-{name}-{interval}" name="{name}" interval="{interval}" '
        f'timeout="{timeout}">{level}</op>'
    )


def lifecycle(ident: str, monitor: str) -> str:
    return op(ident, "start", "60s") + op(ident, "stop", "60s") + monitor


def test_pacemaker_recovers_a_killed_imapd_and_stops_everything(
    cluster: OneNodeCluster, ds: DsInstance, mail: StandInServer
) -> None:
    ds.stop()
    ldap = {"InstanceRoot": str(ds.instance_root), "LDAPHost": "127.0.0.1"}
    ldap["LDAPPort"] = str(ds.port)
    common = {"ServerRoot": str(mail.root), "MsgHost": "127.0.0.1", "ResLogLevel": "TRACE"}
    core = {**common, "MsgServices": f"core {mail.ports['core']}"}
    imap = {**common, "MsgServices": f"imap {mail.ports['imap']}"}
    group = (
        '<group id="jes">'
        + primitive(
            "ldap", "SunJESLDAP", ldap, lifecycle("ldap", op("ldap", "monitor", "30s", "20s"))
        )
        + primitive(
            "msg-core",
            "SunJESMsg",
            core,
            lifecycle("msg-core", op("msg-core", "monitor", "30s", "5s", depth="10")),
        )
        + primitive(
            "msg-imap",
            "SunJESMsg",
            imap,
            lifecycle("msg-imap", op("msg-imap", "monitor", "20s", "3s")),
        )
        + "</group>"
    )
    cluster.load_resources(f"<resources>{group}</resources>")
    cluster.wait_for(lambda s: s.started("ldap", "msg-core", "msg-imap"), timeout=120)
    slapd, stored, imapd = ds.pids(), mail.pids("stored"), mail.pids("imapd")
    assert slapd and stored and imapd

    mail.kill("imapd")
    status = cluster.wait_for(
        lambda s: s.fail_counts.get("msg-imap", 0) >= 1 and s.started("msg-imap"), timeout=60
    )
    assert mail.pids("imapd") and mail.pids("imapd") != imapd  # a new imapd: recovered
    assert ds.pids() == slapd and mail.pids("stored") == stored  # the others untouched
    assert not status.fail_counts.get("ldap") and not status.fail_counts.get("msg-core")
    shown = cluster.human_status()
    assert "msg-imap" in shown and "fail-count=1" in shown, shown

    log = cluster.pacemaker_log.read_text(errors="replace")
    assert "V-16-10000-2002 SunJESMsg:msg-imap:start:online after" in log  # ha_log to HA_LOGFILE
    assert "SunJESMsg:msg-core:monitor:second level passed" in log  # OCF_CHECK_LEVEL=10 arrived

    cluster.stop()
    assert not ds.pids()
    assert not any(mail.pids(name) for name in ("stored", "imsched", "watcher", "imapd"))


def test_crm_reads_the_agents_meta_data(provider: Path) -> None:
    crm_resource = shutil.which("crm_resource", path="/usr/sbin:/usr/bin")
    assert crm_resource is not None
    for agent in ("SunJESMsg", "SunJESAdm", "SunJESLDAP"):
        done = subprocess.run(
            [crm_resource, "--show-metadata", f"ocf:{PROVIDER}:{agent}"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert f'<resource-agent name="{agent}"' in done.stdout


SAMPLES = Path(__file__).resolve().parent.parent / "docs" / "samples"


@pytest.mark.parametrize("sample", ["pacemaker-config1.crm", "pacemaker-config2.crm"])
def test_the_crm_samples_load_against_the_agents_meta_data(
    provider: Path, sample: str, tmp_path: Path
) -> None:
    """crmsh checks every parameter against the agent's meta-data: a misspelt or missing
    one fails the load, so a sample that loads names only what the agents take."""
    crm = shutil.which("crm", path="/usr/sbin:/usr/bin")
    if crm is None:
        message = "crmsh is not installed: apt-get install crmsh"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    text = (SAMPLES / sample).read_text().replace("ocf:jesagent:", f"ocf:{PROVIDER}:")
    primitives = sum(1 for line in text.splitlines() if line.startswith("primitive "))

    def load(config: str) -> tuple[subprocess.CompletedProcess[str], str]:
        cib = tmp_path / "cib.xml"
        cib.write_text(
            subprocess.run(
                ["cibadmin", "--empty"], capture_output=True, text=True, check=True
            ).stdout
        )
        for name, value in (("stonith-enabled", "false"), ("no-quorum-policy", "ignore")):
            subprocess.run(
                ["crm_attribute", "--type", "crm_config", "--name", name, "--update", value],
                env={**os.environ, "CIB_file": str(cib)},
                check=True,
                capture_output=True,
            )
        source = tmp_path / "sample.crm"
        source.write_text(config)
        done = subprocess.run(
            [crm, "configure", "load", "update", str(source)],
            env={**os.environ, "CIB_file": str(cib)},
            capture_output=True,
            text=True,
            check=False,
        )
        return done, cib.read_text()

    done, cib = load(text)
    assert done.returncode == 0, done.stderr
    assert cib.count("<primitive ") == primitives
    assert "OCF_CHECK_LEVEL" in cib
    broken, _ = load(text.replace("ServerRoot=", "ServerRooot=", 1))
    assert broken.returncode != 0 and "ServerRooot" in broken.stderr
