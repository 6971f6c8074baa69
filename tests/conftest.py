"""Shared fixtures: installed agents, a password helper, stand-in servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from stubs.dirsrv389 import DsInstance, create_instance, ds_available, pick_free_ports
from stubs.mailservers import (
    Daemon,
    dovecot_available,
    postfix_available,
    start_dovecot,
    start_postfix,
    start_web,
)
from stubs.msgserver import StandInServer, build_server_root
from stubs.ocfinstall import Installed, world_readable_install
from stubs.vcscrypt import PasswordHelper, install_password_helper
from tests.agentcalls import Agents, OcfAgents

IN_CI = os.environ.get("CI") == "true"
MARKER = "Q7vX2kLp9Zr4wT"  # a password that must never be seen outside standard input
MTA_HOST = "mail.jesagent.test"  # .ci/run maps it to 127.0.0.1 in /etc/hosts


@pytest.fixture(scope="session")
def agents_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("agents")
    conf = tmp_path_factory.mktemp("conf")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "shell.cli",
            "install",
            "--agents-dir",
            str(folder),
            "--conf-dir",
            str(conf),
        ],
        check=True,
        capture_output=True,
    )
    return folder


@pytest.fixture(scope="session")
def ocf_install() -> Iterator[Installed]:
    """The OCF agents as `jesagent install --ocf` writes them, from a copy of the code that
    every user can read (Pacemaker's tools run meta-data as nobody), started by the
    system's python3 when there is one."""
    with world_readable_install() as installed:
        yield installed


@pytest.fixture(scope="session")
def ocf_agents_dir(ocf_install: Installed) -> Path:
    return ocf_install.agents


@pytest.fixture
def ocf_agents(ocf_agents_dir: Path, tmp_path: Path) -> OcfAgents:
    return OcfAgents(ocf_agents_dir, tmp_path / "ha.log", tmp_path / "rsctmp")


@pytest.fixture
def password_helper(tmp_path: Path) -> PasswordHelper:
    return install_password_helper(tmp_path / "vcs")


@pytest.fixture
def agents(agents_dir: Path, tmp_path: Path, password_helper: PasswordHelper) -> Agents:
    log = tmp_path / "agent.log"
    state = tmp_path / "state"
    env = {
        "JESAGENT_LOG": str(log),
        "JESAGENT_STATE_DIR": str(state),
        "JESAGENT_DECRYPT": str(password_helper.decrypt_program),
        "VCS_HOME": str(tmp_path / "no-vcs"),
    }
    return Agents(agents_dir, log, state, env)


@pytest.fixture
def ds(tmp_path: Path) -> Iterator[DsInstance]:
    """A running real 389 Directory Server instance in Sun layout; in CI its absence fails."""
    if not ds_available():
        message = "389 Directory Server is not installed: run stubs/install_389.sh as root"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    port, ssl_port = pick_free_ports(2)
    instance = create_instance(tmp_path / "ds", port=port, ssl_port=ssl_port)
    yield instance
    instance.destroy()


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[StandInServer]:
    """A stand-in Messaging Server whose test user's password is MARKER."""
    built = build_server_root(tmp_path / "msg", users={"probe": MARKER}, stop_timeout=5)
    yield built
    built.stop_all()


@pytest.fixture
def mta_host() -> str:
    try:
        socket.gethostbyname(MTA_HOST)
    except OSError:
        message = f"{MTA_HOST} does not resolve; add '127.0.0.1 {MTA_HOST}' to /etc/hosts"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return MTA_HOST


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, object, None]:
    """In CI a test that needs a real server never skips, whatever its fixture remembers:
    a skip becomes a failure that says which server was missing."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and item.get_closest_marker("realserver") is not None:
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid} needs a real server and skipped in CI: {report.longrepr}"


# The long runs (every program hung in turn; hundreds of calls through the executables)
# keep `make test` short where it is run by hand: CI, or JESAGENT_LONG=1, runs them.
RUN_LONG = IN_CI or os.environ.get("JESAGENT_LONG") == "1"


# Under mutation testing (make mutate sets MUTANT_UNDER_TEST for each mutant), every
# property test tries at most this many examples: thousands of mutants times the full
# example counts would take hours; a mutant that survives this many is reported as such.
MUTATION_EXAMPLES = 25


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("MUTANT_UNDER_TEST"):
        for item in items:
            test = getattr(item, "obj", None)
            chosen = getattr(test, "_hypothesis_internal_use_settings", None)
            if isinstance(chosen, settings) and chosen.max_examples > MUTATION_EXAMPLES:
                fewer = settings(chosen, max_examples=MUTATION_EXAMPLES)
                test._hypothesis_internal_use_settings = fewer  # type: ignore[union-attr]
            machine = getattr(item, "cls", None)  # a state machine's TestCase keeps its own
            chosen = getattr(machine, "settings", None)
            if isinstance(chosen, settings) and chosen.max_examples > MUTATION_EXAMPLES:
                machine.settings = settings(chosen, max_examples=MUTATION_EXAMPLES)  # type: ignore[union-attr]
    if RUN_LONG:
        return
    long = [item for item in items if item.get_closest_marker("long") is not None]
    if long:
        items[:] = [item for item in items if item.get_closest_marker("long") is None]
        config.hook.pytest_deselected(items=long)


def pytest_report_header(config: pytest.Config) -> str:
    if RUN_LONG:
        return "long runs included"
    return "long runs (marker `long`) left out: CI=true or JESAGENT_LONG=1 runs them"


# --- real mail and web servers for the native probes (stubs/mailservers.py) ------------------

MAIL_DOMAIN = "jesagent.test"
MAIL_PASSWORD = "Dovecot-pw-7351"  # the test user's, in the servers' own files only
MAIL_USERS = {"probe": MAIL_PASSWORD, f"probe@{MAIL_DOMAIN}": MAIL_PASSWORD}


def _need(available: bool, what: str) -> None:
    """Skip where the server is not installed; in CI that fails (the realserver hook)."""
    if not available:
        message = f"{what} is not installed: run stubs/install_mail.sh as root"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def dovecot() -> Iterator[Daemon]:
    """A real Dovecot: IMAP, POP3, LMTP, IMAPS and POP3S (self-signed) on the loopback."""
    _need(dovecot_available(), "Dovecot (dovecot-imapd, dovecot-pop3d, dovecot-lmtpd)")
    server = start_dovecot(users=MAIL_USERS)
    yield server
    server.destroy()


@pytest.fixture
def postfix() -> Iterator[Daemon]:
    """A real Postfix smtpd on the loopback, accepting RCPT TO any address of MAIL_DOMAIN."""
    _need(postfix_available(), "Postfix")
    server = start_postfix(domain=MAIL_DOMAIN)
    yield server
    server.destroy()


@pytest.fixture(params=[False, True], ids=["http", "https"])
def web(request: pytest.FixtureRequest) -> Iterator[Daemon]:
    """python's http.server as a webmail front end, plain and over TLS."""
    server = start_web(tls=request.param)
    yield server
    server.destroy()
