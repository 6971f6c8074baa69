"""docs/policy.md follows the policy: change the data, a procedure or a rule, and the page
changes with it (nothing on it is typed by hand in docgen)."""

from __future__ import annotations

import pytest

from jescore.policy import monitoring, procedures, sunjesadm, sunjesldap
from jescore.policy.commands import Expect, Judgement, Probe, ProbeOutcome, ProgramProbe
from jescore.policy.declaration import Config
from jescore.policy.monitoring import VERDICT_TABLE, Budget, Next, Phase, SecondLevel
from jescore.policy.processes import ProcessInfo
from jescore.policy.registry import POLICIES
from jescore.policy.resource import Snapshot
from jescore.policy.vcs import DEFAULT_TIMEOUT_SECONDS, FAILURE_EXIT, EntryPoint
from jescore.record import replace
from jescore.tooling import docgen

LDAP, ADM, MSG = "SunJESLDAP", "SunJESAdm", "SunJESMsg"


@pytest.fixture(scope="module")
def page() -> str:
    return docgen.policy_page()


def section(page: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = page.index(f"\n{heading}\n")
    rest = page[start + len(heading) + 2 :]
    ends = [rest.find(f"\n{'#' * n} ") for n in range(1, len(level) + 1)]
    found = [e for e in ends if e >= 0]
    return rest[: min(found)] if found else rest


# --- what the page must name ------------------------------------------------------------


def test_every_entry_point_has_its_section(page: str) -> None:
    for heading in ("### online", "### offline", "### clean", "## Monitor"):
        assert f"\n{heading}\n" in page
    assert "\n### The stop timeline (offline and clean)\n" in page
    assert "\n### What offline and clean signal\n" in page
    entry_points = section(page, "## What each entry point does, in order")
    for entry in (EntryPoint.ONLINE, EntryPoint.OFFLINE, EntryPoint.CLEAN):
        assert f"Example: {MSG} {entry.value} when nothing runs." in entry_points
    monitor = section(page, "## Monitor")
    assert f"Example: {MSG} monitor when the second level is due" in monitor


def test_the_page_names_every_phase_and_its_end(page: str) -> None:
    for phase, share in monitoring.PHASE_ENDS.items():
        assert phase.value in page
        assert docgen._share(share) in page


def test_the_page_names_every_expect_value(page: str) -> None:
    for expect in Expect:
        assert expect.value in page
        assert expect.name in page


def test_the_page_names_every_ldapsearch_candidate(page: str) -> None:
    cfg = docgen.sample_config(LDAP)
    for candidate in sunjesldap.ldapsearch_candidates(cfg):
        assert f"`{candidate}`" in page
    assert "openldap dialect" in page
    assert "sun dialect" in page
    for dialect in sunjesldap.Dialect:
        assert dialect.value in page


def test_the_page_shows_the_admconfig_command_and_the_port_check(page: str) -> None:
    cfg = docgen.sample_config(ADM, docgen.WITH_USER[ADM])
    (probe,) = sunjesadm.POLICY.second_level(cfg, Snapshot(()))
    assert isinstance(probe, ProgramProbe)
    assert f"run `{' '.join(str(p) for p in probe.argv)}`" in page
    assert "admconfig -enc" in page
    assert "AdminPasswd (decrypted)" in page
    assert "connect to `admin.example.com:390` and complete a TLS handshake" in page


def test_worked_budgets_are_computed_from_budget(page: str) -> None:
    for entry, seconds in DEFAULT_TIMEOUT_SECONDS.items():
        b = Budget(float(seconds))
        row = (
            f"| {entry.value} | {b.seconds:g} s | {b.margin:g} s | {b.usable:g} s "
            f"| {b.watchdog_at:g} s | {FAILURE_EXIT[entry]} |"
        )
        assert row in page


def test_the_readiness_threshold_stated_is_the_one_the_procedure_uses(page: str) -> None:
    online = section(page, "### online")
    seconds = docgen._sec(monitoring.READY_PROBE_SECONDS)
    assert f"READY_PROBE_SECONDS = {seconds}" in online
    assert f"LDAP port: connect to ldap.example.com:389 (limit {seconds})" in online


def test_only_the_instance_s_own_processes_are_signalled() -> None:
    table = docgen.signalled()
    for name, policy in POLICIES.items():
        cfg = docgen.sample_config(name)
        own = {" ".join(p.cmdline) for p in policy.model_processes(cfg, docgen.SAMPLE_PID)}
        yes = {
            line.split("`")[1]
            for line in table.splitlines()
            if line.startswith(f"| {name} |") and line.endswith("| no | yes |")
        }
        assert yes == own


# --- the page follows the data ----------------------------------------------------------


def test_phases_follow_phase_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    before = docgen.phases()
    monkeypatch.setitem(monitoring.PHASE_ENDS, Phase.TERM, 0.85)
    after = docgen.phases()
    assert after != before
    term = next(line for line in after.splitlines() if Phase.TERM.value in line)
    assert "| 85% |" in term
    assert f"| {docgen._sec(Budget(300.0).usable * 0.85)} |" in term


def test_the_stop_examples_follow_phase_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    clean = Budget(float(DEFAULT_TIMEOUT_SECONDS[EntryPoint.CLEAN]))
    monkeypatch.setitem(monitoring.PHASE_ENDS, Phase.STOP_WAIT, 0.6)
    text = docgen.clean_section()
    assert f"limit {clean.usable * 0.5:.1f} s" in text  # the stop command's phase, unchanged
    wait_end = clean.usable * 0.6
    sent = [line for line in text.splitlines() if "signal: SIGTERM" in line]
    assert sent
    assert all(wait_end <= float(line.split(" s ")[0]) < wait_end + 0.5 for line in sent)


def test_timing_follows_the_timing_table(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = ((12.5, "s", "a number that changed"), *monitoring.TIMING[1:])
    monkeypatch.setattr(monitoring, "TIMING", changed)
    assert "| 12.5 | s | a number that changed |" in docgen.timing()


def test_the_margin_rule_follows_its_constants(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monitoring, "MARGIN_CAP", 7.0)
    text = docgen.margin_rule()
    assert "at most 7 s" in text
    assert "| online | 300 s | 7 s | 293 s | 296.5 s |" in docgen.worked_budgets()


def test_the_readiness_threshold_follows_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monitoring, "READY_PROBE_SECONDS", 3)
    monkeypatch.setattr(procedures, "READY_PROBE_SECONDS", 3)
    text = docgen.online_section()
    assert "READY_PROBE_SECONDS = 3 s" in text
    assert "LDAP port: connect to ldap.example.com:389 (limit 3 s)" in text


def test_examples_are_the_procedures_own_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "wait 0.25 s" in docgen.clean_section()
    monkeypatch.setattr(procedures, "STOP_POLL_SECONDS", 0.75)
    assert "wait 0.75 s" in docgen.clean_section()


def test_docstrings_are_quoted_from_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(procedures.online, "__doc__", "Patched   words\n   of the rule.")
    assert "> `procedures.online`: Patched words of the rule." in docgen.online_section()


def test_monitor_program_rows_follow_the_verdict_table(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "found everything, second level failed" not in docgen.levels()
    monkeypatch.setitem(VERDICT_TABLE, (True, SecondLevel.FAILED), Next.PROGRAM_OR_ONLINE)
    assert "found everything, second level failed" in docgen.levels()


def test_the_cycle_table_follows_unsaved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docgen, "unsaved", lambda cycle: cycle)
    rows = [line for line in docgen.cycle_count().splitlines() if line.startswith("| ")][1:]
    assert rows
    assert all(row.split(" | ")[2] == row.split(" | ")[4].rstrip(" |") for row in rows)


def test_probe_judging_is_computed(monkeypatch: pytest.MonkeyPatch) -> None:
    patched = Judgement(ProbeOutcome.PASSED, "patched judgement")
    monkeypatch.setattr(docgen, "judge_program", lambda probe, result: patched)
    text = docgen.judging()
    assert "patched judgement" in text
    assert "| could not start | passed |" in text


def test_probe_judging_as_the_functions_say(page: str) -> None:
    judged = section(page, "## How a probe is judged")
    assert "| could not start | inconclusive |" in judged
    assert "| no exit within its limit | failed |" in judged
    assert "| exit 1 | failed |" in judged
    assert "| connection refused | failed |" in judged
    assert "| connected, TLS handshake failed | failed |" in judged
    assert "| the name does not resolve | inconclusive |" in judged


def test_what_is_signalled_follows_stop_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    def everything(self: object, cfg: object, snap: Snapshot) -> tuple[ProcessInfo, ...]:
        return snap.processes

    monkeypatch.setattr(type(POLICIES[LDAP]), "stop_targets", everything)
    assert "tail -f /var/opt/mps/serverroot/slapd-ds1/logs/errors` | no | yes |" in (
        docgen.signalled()
    )


def test_the_ldap_probes_follow_the_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    def candidates(cfg: object) -> tuple[str, ...]:
        return ("/opt/elsewhere/ldapsearch", "/usr/local/bin/ldapsearch")

    monkeypatch.setattr(sunjesldap, "ldapsearch_candidates", candidates)
    text = docgen.ldap_probes()
    assert "1. `/opt/elsewhere/ldapsearch`\n2. `/usr/local/bin/ldapsearch`\n" in text


def test_the_probe_share_table_follows_step_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    before = docgen.probe_shares()
    monkeypatch.setattr(Budget, "step_timeout", lambda self, left, steps: None)
    after = docgen.probe_shares()
    assert after != before
    assert "| 1 | none | none | none | none |" in after


def test_a_changed_expectation_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sunjesadm.AdmPolicy.second_level

    def cheaper(self: sunjesadm.AdmPolicy, cfg: Config, snap: Snapshot) -> tuple[Probe, ...]:
        return tuple(
            replace(p, expect=Expect.EXIT_ZERO) if isinstance(p, ProgramProbe) else p
            for p in real(self, cfg, snap)
        )

    monkeypatch.setattr(sunjesadm.AdmPolicy, "second_level", cheaper)
    text = docgen.adm_probes()
    assert "REPORTED_PORT" not in text
    assert "admconfig synthetic transaction" in text
