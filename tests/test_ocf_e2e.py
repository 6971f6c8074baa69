"""The OCF agents end to end: installed by `jesagent install --ocf`, called as Pacemaker
calls them (an action argument, the parameters in OCF_RESKEY_*), checked by ocf-tester,
and compared with the VCS entry points on the same stand-in servers.

ocf-tester comes with Debian's resource-agents (and xmllint with libxml2-utils): in CI
its absence fails these tests; elsewhere they are skipped with a hint.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from jescore.policy.declaration import Raw
from jescore.policy.ocf import OcfCode
from shell import install
from stubs.adminserver import StandInAdmin, build_admin_root
from stubs.dirsrv389 import DsInstance
from stubs.msgserver import StandInServer
from tests.agentcalls import Agents, OcfAgents, Outcome
from tests.conftest import IN_CI, MARKER
from tests.test_secret_marker import leaks, wrap_all

OCF_TESTER = "/usr/sbin/ocf-tester"
LINE = re.compile(
    r"^SunJES\w+\(\w+\)\[\d+\]:\t\w{3} [ \d]\d \d\d:\d\d:\d\d (ERROR|WARNING|INFO|DEBUG): "
    r"(V-16-10000-\d+|DBG_\d+) SunJES\w+:\w+:[\w-]+:"
)


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[StandInAdmin]:
    built = build_admin_root(tmp_path / "adm", password=MARKER)
    yield built
    built.stop_all()


@pytest.fixture
def ocf_tester() -> str:
    if not (os.access(OCF_TESTER, os.X_OK) and shutil.which("xmllint")):
        message = "ocf-tester or xmllint missing: apt-get install resource-agents libxml2-utils"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return OCF_TESTER


def msg_params(server: StandInServer, *services: str, **more: str) -> dict[str, str]:
    words = " ".join(f"{key} {server.ports[key]}" for key in services)
    return {
        "ServerRoot": str(server.root),
        "MsgHost": "127.0.0.1",
        "MsgServices": words,
        "ResLogLevel": "TRACE",
        **more,
    }


def call(
    agents: OcfAgents, type_name: str, action: str, params: Mapping[str, str], **kw: str
) -> Outcome:
    outcome = agents.call(type_name, action, "r1", params, extra=kw)
    assert "Traceback" not in outcome.output
    for line in outcome.lines:
        assert LINE.match(line), line
    return outcome


def run_ocf_tester(
    tester: str, agent: Path, name: str, params: Mapping[str, str], rsctmp: Path
) -> str:
    argv = [tester, "-n", name]
    for key, value in params.items():
        argv += ["-o", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCF_RESKEY", "HA_"))}
    env["HA_RSCTMP"] = str(rsctmp)
    done = subprocess.run(
        [*argv, str(agent)], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"{agent} passed all tests" in output, output
    return output


# --- ocf-tester on the three agents ---------------------------------------------------------


@pytest.mark.realserver
def test_ocf_tester_passes_on_the_messaging_server_core_and_a_service(
    ocf_tester: str, ocf_agents: OcfAgents, mail: StandInServer
) -> None:
    agent = ocf_agents.directory / "SunJESMsg"
    run_ocf_tester(ocf_tester, agent, "core1", msg_params(mail, "core"), ocf_agents.rsctmp)
    assert not mail.pids("stored")  # ocf-tester ends with the resource stopped
    core = msg_params(mail, "core")
    assert call(ocf_agents, "SunJESMsg", "start", core).code == OcfCode.SUCCESS
    imap = msg_params(mail, "imap", LDAPTestUser="probe", LDAPTestPasswd=MARKER)
    output = run_ocf_tester(ocf_tester, agent, "imap1", imap, ocf_agents.rsctmp)
    assert MARKER not in output
    assert call(ocf_agents, "SunJESMsg", "stop", core).code == OcfCode.SUCCESS


@pytest.mark.realserver
def test_ocf_tester_passes_on_the_administration_server(
    ocf_tester: str, ocf_agents: OcfAgents, admin: StandInAdmin
) -> None:
    params = {"ServerRoot": str(admin.root), "AdminHost": "127.0.0.1"}
    params |= {"AdminPort": str(admin.port), "AdminUser": "admin", "AdminPasswd": MARKER}
    agent = ocf_agents.directory / "SunJESAdm"
    output = run_ocf_tester(ocf_tester, agent, "adm1", params, ocf_agents.rsctmp)
    assert MARKER not in output
    assert not any(admin.pids().values())


@pytest.mark.realserver
def test_ocf_tester_passes_on_a_real_directory_server(
    ocf_tester: str, ocf_agents: OcfAgents, ds: DsInstance
) -> None:
    ds.stop()
    params = {"InstanceRoot": str(ds.instance_root), "LDAPHost": "127.0.0.1"}
    params |= {"LDAPPort": str(ds.port), "ResLogLevel": "TRACE"}
    agent = ocf_agents.directory / "SunJESLDAP"
    run_ocf_tester(ocf_tester, agent, "ldap1", params, ocf_agents.rsctmp)
    assert not ds.pids()
    deep = call(ocf_agents, "SunJESLDAP", "start", params)
    assert deep.code == OcfCode.SUCCESS
    checked = call(ocf_agents, "SunJESLDAP", "monitor", params, OCF_CHECK_LEVEL="10")
    assert checked.code == OcfCode.SUCCESS
    assert checked.logged("second level passed")
    assert call(ocf_agents, "SunJESLDAP", "stop", params).code == OcfCode.SUCCESS


# --- exit codes -------------------------------------------------------------------------------


def test_bad_parameters_missing_binaries_and_unknown_actions(
    ocf_agents: OcfAgents, mail: StandInServer, tmp_path: Path
) -> None:
    good = msg_params(mail, "core")
    missing = {k: v for k, v in good.items() if k != "ServerRoot"}
    for action in ("validate-all", "start", "monitor"):
        refused = call(ocf_agents, "SunJESMsg", action, missing)
        assert refused.code == OcfCode.ERR_CONFIGURED, refused.lines
        assert refused.logged("ServerRoot: is required but empty")
    # Stop cannot tell which processes are the resource's without its identity.
    assert call(ocf_agents, "SunJESMsg", "stop", missing).code == OcfCode.ERR_CONFIGURED
    bad_port = {**good, "MsgServices": "core seventy"}
    assert call(ocf_agents, "SunJESMsg", "validate-all", bad_port).code == OcfCode.ERR_CONFIGURED

    # The shared disk mounted on another node: nothing of the installation is here.
    elsewhere = {**good, "ServerRoot": str(tmp_path / "not-mounted")}
    assert call(ocf_agents, "SunJESMsg", "validate-all", elsewhere).code == OcfCode.ERR_INSTALLED
    started = call(ocf_agents, "SunJESMsg", "start", elsewhere)
    assert started.code == OcfCode.ERR_INSTALLED
    assert started.logged("is not an executable file on this node")
    probe = {"OCF_RESKEY_CRM_meta_interval": "0"}
    probed = call(ocf_agents, "SunJESMsg", "monitor", elsewhere, **probe)
    assert probed.code == OcfCode.NOT_RUNNING  # never an error that blocks it everywhere
    assert call(ocf_agents, "SunJESMsg", "stop", elsewhere).code == OcfCode.SUCCESS

    agent = str(ocf_agents.directory / "SunJESMsg")
    for action in ("notify", "promote", "demote", "reload", "migrate_to", "status"):
        done = subprocess.run([agent, action], capture_output=True, text=True, check=False)
        assert done.returncode == OcfCode.ERR_UNIMPLEMENTED, action
    assert subprocess.run([agent], capture_output=True, check=False).returncode == 2
    usage = subprocess.run([agent, "usage"], capture_output=True, text=True, check=False)
    assert usage.returncode == 0 and "validate-all" in usage.stdout
    nameless = ocf_agents.call("SunJESMsg", "monitor", "", good)
    assert nameless.code == OcfCode.ERR_ARGS
    assert "OCF_RESOURCE_INSTANCE is not set" in nameless.output + "\n".join(nameless.lines)


def test_meta_data_runs_as_another_user_and_lists_the_parameters(ocf_agents: OcfAgents) -> None:
    for type_name in ("SunJESMsg", "SunJESAdm", "SunJESLDAP"):
        agent = ocf_agents.directory / type_name
        argv = [str(agent), "meta-data"]
        if os.geteuid() == 0:
            argv = ["su", "nobody", "-s", "/bin/sh", "-c", f"{agent} meta-data"]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert f'<resource-agent name="{type_name}"' in done.stdout
        if shutil.which("xmllint") and os.path.isdir("/usr/share/resource-agents"):
            valid = subprocess.run(
                ["xmllint", "--noout", "--valid", "-"],
                input=done.stdout,
                capture_output=True,
                text=True,
                cwd="/usr/share/resource-agents",
                check=False,
            )
            assert valid.returncode == 0, valid.stderr


# --- monitor depth, budget, logging, secrets ---------------------------------------------


def test_the_check_level_decides_the_second_level(
    ocf_agents: OcfAgents, mail: StandInServer
) -> None:
    core = msg_params(mail, "core")
    assert call(ocf_agents, "SunJESMsg", "monitor", core).code == OcfCode.NOT_RUNNING
    assert call(ocf_agents, "SunJESMsg", "start", core).code == OcfCode.SUCCESS
    mail.inject("stored.notready")
    shallow = call(ocf_agents, "SunJESMsg", "monitor", core)
    assert shallow.code == OcfCode.SUCCESS  # level 0: the processes are there
    assert not shallow.logged("stored -t")
    deep = call(ocf_agents, "SunJESMsg", "monitor", core, OCF_CHECK_LEVEL="10")
    assert deep.code == OcfCode.ERR_GENERIC  # running but failing: Pacemaker recovers it
    assert deep.logged("second level failed")
    mail.clear("stored.notready")
    assert call(ocf_agents, "SunJESMsg", "monitor", core, OCF_CHECK_LEVEL="10").code == 0
    mail.kill("imsched")
    half = call(ocf_agents, "SunJESMsg", "monitor", core)
    assert half.code == OcfCode.ERR_GENERIC  # some processes there, some missing
    assert call(ocf_agents, "SunJESMsg", "stop", core).code == OcfCode.SUCCESS
    assert call(ocf_agents, "SunJESMsg", "monitor", core).code == OcfCode.NOT_RUNNING


def test_the_operation_timeout_is_the_budget(
    ocf_agents: OcfAgents, mail: StandInServer, tmp_path: Path
) -> None:
    hangs = tmp_path / "hangs"
    hangs.write_text("#!/bin/sh\nsleep 60\n")
    hangs.chmod(0o755)
    core = msg_params(mail, "core", MonitorProgram=str(hangs))
    assert call(ocf_agents, "SunJESMsg", "start", core).code == OcfCode.SUCCESS
    timed = call(ocf_agents, "SunJESMsg", "monitor", core, OCF_RESKEY_CRM_meta_timeout="6000")
    assert timed.code == OcfCode.ERR_GENERIC
    assert timed.seconds < 6.0, timed.seconds
    assert timed.logged("MonitorProgram did not finish in time")
    assert call(ocf_agents, "SunJESMsg", "stop", core).code == OcfCode.SUCCESS


def test_log_lines_go_the_ha_log_way(ocf_agents: OcfAgents, mail: StandInServer) -> None:
    quiet = {**msg_params(mail, "core"), "ResLogLevel": "INFO"}
    standby = call(ocf_agents, "SunJESMsg", "monitor", quiet)
    assert standby.code == OcfCode.NOT_RUNNING
    assert standby.logged("V-16-10000-3005 SunJESMsg:r1:monitor:offline: missing")
    again = call(ocf_agents, "SunJESMsg", "monitor", quiet)
    assert again.lines == []  # a standby node that finds nothing, cycle after cycle, is quiet
    debugged = call(ocf_agents, "SunJESMsg", "monitor", quiet, HA_debug="1")
    assert any(" DEBUG: V-16-10000-3001 " in line for line in debugged.lines)
    # Without HA_LOGFILE (and no syslog), lines go to standard error for pacemaker-execd.
    plain = ocf_agents.call("SunJESMsg", "validate-all", "r1", quiet, extra={"HA_LOGFILE": ""})
    assert plain.code == 0
    assert "INFO: V-16-10000-3006 SunJESMsg:r1:validate-all:answers 0" in plain.output


def test_the_password_reaches_only_standard_input(
    ocf_agents: OcfAgents, mail: StandInServer, admin: StandInAdmin, tmp_path: Path
) -> None:
    record = tmp_path / "children"
    assert wrap_all(mail.root, record) >= 2
    assert wrap_all(admin.root, record) >= 3
    # NativeProbes 0: Sun's immonitor-access, which takes the password on standard input.
    secret = {"LDAPTestUser": "probe", "LDAPTestPasswd": MARKER, "NativeProbes": "0"}
    core = msg_params(mail, "core")
    imap = msg_params(mail, "imap", **secret)
    outcomes = [call(ocf_agents, "SunJESMsg", "start", core)]
    outcomes.append(call(ocf_agents, "SunJESMsg", "start", imap))
    outcomes.append(call(ocf_agents, "SunJESMsg", "monitor", imap, OCF_CHECK_LEVEL="10"))
    assert outcomes[-1].code == OcfCode.SUCCESS  # the synthetic transaction logged in
    wrong = {**imap, "LDAPTestPasswd": MARKER[::-1] + MARKER}
    outcomes.append(call(ocf_agents, "SunJESMsg", "monitor", wrong, OCF_CHECK_LEVEL="10"))
    assert outcomes[-1].code == OcfCode.ERR_GENERIC
    adm = {"ServerRoot": str(admin.root), "AdminHost": "127.0.0.1", "ResLogLevel": "TRACE"}
    adm |= {"AdminPort": str(admin.port), "AdminUser": "admin", "AdminPasswd": MARKER}
    outcomes.append(call(ocf_agents, "SunJESAdm", "start", adm))
    outcomes.append(call(ocf_agents, "SunJESAdm", "monitor", adm, OCF_CHECK_LEVEL="10"))
    assert outcomes[-1].code == OcfCode.SUCCESS
    outcomes.append(call(ocf_agents, "SunJESAdm", "stop", adm))
    outcomes.append(call(ocf_agents, "SunJESMsg", "stop", imap))
    outcomes.append(call(ocf_agents, "SunJESMsg", "stop", core))
    assert all(o.code == 0 for o in outcomes[-3:])
    children = record.read_text()
    assert "immonitor-access" in children and "admconfig" in children
    assert "OCF_RESKEY_ServerRoot" in children  # the wrappers did record the environment
    assert not leaks(children)  # neither in an argument nor in an inherited variable
    for outcome in outcomes:
        assert not leaks(outcome.output + "\n".join(outcome.lines))
    assert not leaks(ocf_agents.log.read_text())


# --- one policy, two front ends -----------------------------------------------------------


def test_vcs_and_pacemaker_read_the_same_situations_alike(
    agents: Agents, ocf_agents: OcfAgents, mail: StandInServer
) -> None:
    params = msg_params(mail, "core")
    values: dict[str, Raw] = {k: tuple(v.split()) for k, v in params.items()}
    deep: dict[str, Raw] = {**values, "SecondLevelMonitor": ("1",)}

    def both(*, check: bool = False) -> tuple[int, int]:
        vcs = agents.call("SunJESMsg", "monitor", "r1", deep if check else values).code
        level = {"OCF_CHECK_LEVEL": "10"} if check else {}
        return vcs, call(ocf_agents, "SunJESMsg", "monitor", params, **level).code

    assert both() == (100, OcfCode.NOT_RUNNING)
    assert agents.call("SunJESMsg", "online", "r1", values).code == 0
    assert both() == (110, OcfCode.SUCCESS)
    mail.inject("stored.notready")
    assert both(check=True) == (100, OcfCode.ERR_GENERIC)
    assert both() == (110, OcfCode.SUCCESS)
    mail.clear("stored.notready")
    mail.kill("watcher")
    assert both() == (100, OcfCode.ERR_GENERIC)
    assert call(ocf_agents, "SunJESMsg", "stop", params).code == OcfCode.SUCCESS
    assert both() == (100, OcfCode.NOT_RUNNING)


# --- install and uninstall ------------------------------------------------------------------


def test_install_ocf_writes_and_removes_exactly_its_own_files(tmp_path: Path) -> None:
    folder = tmp_path / "resource.d" / "jesagent"
    first = install.install_ocf(folder, "/usr/bin/python3")
    assert sorted(p.name for p in first.written) == ["SunJESAdm", "SunJESLDAP", "SunJESMsg"]
    assert all(os.access(p, os.X_OK) for p in first.written)
    assert install.install_ocf(folder, "/usr/bin/python3").written == []  # nothing changed
    (folder / "Other").write_text("someone else's agent\n")
    (folder / "SunJESAdm").write_text("#!/bin/sh\n# edited by hand\n")
    second = install.uninstall_ocf(folder)
    assert sorted(p.name for p in second.removed) == ["SunJESLDAP", "SunJESMsg"]
    assert any("SunJESAdm was changed after install" in k for k in second.kept)
    assert (folder / "Other").exists() and (folder / "SunJESAdm").exists()
    refused = install.install_ocf(folder, "/usr/bin/python3")
    assert refused.problems and not refused.written  # all or nothing


def test_install_ocf_warns_when_other_users_cannot_reach_the_interpreter(tmp_path: Path) -> None:
    base = Path(tempfile.mkdtemp(dir="/tmp"))  # open to all, unlike pytest's own tmp_path
    try:
        base.chmod(0o755)
        private = base / "home"
        (private / "bin").mkdir(parents=True)
        python = private / "bin" / "python3"
        python.write_text("")
        private.chmod(0o700)
        report = install.install_ocf(tmp_path / "agents", str(python))
        assert [w for w in report.warnings if w.startswith(f"{private} is closed to other users")]
        private.chmod(0o755)
        python.chmod(0o600)
        assert install.closed_to_others(str(python)) == f"{python} cannot be read by other users"
        python.chmod(0o644)
        assert install.closed_to_others(str(python)) is None
    finally:
        shutil.rmtree(base)


@pytest.mark.parametrize("args", [["--ocf", "--agents-dir", "/x"], ["--ocf-dir", "/x"]])
def test_the_ocf_options_do_not_mix_with_the_vcs_ones(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shell.cli", "install", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "--ocf" in done.stderr


def test_a_private_interpreter_gives_way_to_a_shared_one_of_the_same_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        base.chmod(0o755)
        private = base / "private"
        private.mkdir(mode=0o700)
        (private / "python3").write_text("")
        link = base / "python"  # an open path whose target is not: the kernel follows it
        link.symlink_to(private / "python3")
        assert install.closed_to_others(str(link)) == f"{private} is closed to other users"
        shared = base / "python3"
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        shared.write_text(f"#!/bin/sh\necho {version}\n")
        shared.chmod(0o755)
        other = base / "python3-other"
        other.write_text("#!/bin/sh\necho 2.7\n")
        other.chmod(0o755)
        monkeypatch.setattr(sys, "executable", str(link))
        monkeypatch.setattr(install, "SHARED_PYTHONS", (str(other), str(shared)))
        report = install.install_ocf(tmp_path / "agents")
        assert (tmp_path / "agents" / "SunJESMsg").read_text().startswith(f"#!{shared} -IS\n")
        assert report.notes == [f"the agents start {shared}: other users cannot run {link}"]
        explicit = install.install_ocf(tmp_path / "explicit", str(link))  # asked for: kept
        assert not explicit.notes and explicit.warnings
    finally:
        shutil.rmtree(base)


def test_under_pacemaker_the_second_level_speaks_imap_itself(
    ocf_agents: OcfAgents, mail: StandInServer
) -> None:
    """No NativeProbes given: Pacemaker's default, the agent's own IMAP dialogue."""
    core = msg_params(mail, "core")
    imap = msg_params(mail, "imap", LDAPTestUser="probe", LDAPTestPasswd=MARKER)
    call(ocf_agents, "SunJESMsg", "start", core)
    call(ocf_agents, "SunJESMsg", "start", imap)
    try:
        deep = call(ocf_agents, "SunJESMsg", "monitor", imap, OCF_CHECK_LEVEL="10")
        assert deep.code == OcfCode.SUCCESS, deep.lines
        assert any(f"IMAP 127.0.0.1:{mail.ports['imap']} answered (connect" in line
                   for line in deep.lines)  # fmt: skip
        assert not any("immonitor-access" in line for line in deep.lines)
        assert not leaks(deep.output + "\n".join(deep.lines))
    finally:
        call(ocf_agents, "SunJESMsg", "stop", imap)
        call(ocf_agents, "SunJESMsg", "stop", core)
