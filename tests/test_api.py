"""jescore.api, the embedders' API: its documented examples, its functions, and that it
agrees with the policy it wraps."""

from __future__ import annotations

import doctest
import inspect
import pickle
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jescore
from jescore import api
from jescore.api import (
    TYPE_NAMES,
    AttributeValue,
    InvalidAttributes,
    Outcome,
    ProbeResult,
    ProcessInfo,
    argument_vector,
    monitor,
    read_monitor_program_exit,
    second_level_due,
    start_command,
    stop_command,
    validate,
)
from jescore.policy import argv as vcs_argv
from jescore.policy.declaration import Dimension, Raw
from jescore.policy.monitoring import advance_cycle
from jescore.policy.registry import POLICIES
from jescore.policy.resource import Snapshot
from jescore.policy.vcs import EntryPoint
from jescore.record import FrozenRecord
from jescore.tooling import explain
from tests.strategies import process_tables, valid_msg_values

ROOT = Path(__file__).resolve().parent.parent
API_DOC = ROOT / "docs" / "api.md"

MSG: dict[str, AttributeValue] = {
    "ServerRoot": "/opt/SUNWmsgsr",
    "MsgHost": "mail.example.com",
    "MsgServices": {"imap": "143"},
    "ServerType": "MSG",
}
IMAP_AT_OPT_MSG: dict[str, AttributeValue] = {**MSG, "ServerRoot": "/opt/msg"}
LDAP: dict[str, AttributeValue] = {
    "InstanceRoot": "/var/ds/slapd-a",
    "LDAPHost": "ldap.example.com",
}
ADM: dict[str, AttributeValue] = {"ServerRoot": "/var/ds", "AdminHost": "adm.example.com"}
VALID = {"SunJESMsg": MSG, "SunJESLDAP": LDAP, "SunJESAdm": ADM}
PASSED = ProbeResult(Outcome.PASSED)


# --- the documentation's examples ------------------------------------------------------

FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def doc_blocks() -> list[tuple[int, str]]:
    """The fenced python blocks of docs/api.md, each with the line it starts on."""
    text = API_DOC.read_text()
    return [(text.count("\n", 0, m.start(1)), m.group(1)) for m in FENCE.finditer(text)]


def test_every_example_in_the_api_doc_runs() -> None:
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    globs: dict[str, object] = {"__name__": "api_doc"}
    blocks = doc_blocks()
    assert len(blocks) >= 10
    for lineno, block in blocks:
        test = parser.get_doctest(block, globs, f"docs/api.md:{lineno + 1}", str(API_DOC), lineno)
        assert test.examples, f"the block at docs/api.md:{lineno + 1} has no >>> example"
        runner.run(test, clear_globs=False)
        globs.update(test.globs)  # later blocks use what earlier ones defined
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples failed"


def test_the_api_doc_shows_every_function() -> None:
    code = "\n".join(block for _, block in doc_blocks())
    for name in (
        "validate(", "start_command(", "stop_command(", "second_level_due(",
        "read_monitor_program_exit(", "monitor(", "probe_results=", "InvalidAttributes",
        "entry_point(", "machine.send(",
    ):  # fmt: skip
        assert name in code, f"docs/api.md has no example of {name}"


# --- the module itself -------------------------------------------------------------------


def test_importing_jescore_does_not_import_the_api() -> None:
    probe = "import jescore, sys; print('jescore.api' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "False"


def test_jescore_reexports_the_api_lazily() -> None:
    assert sorted(jescore.__all__) == sorted(api.__all__)
    for name in api.__all__:
        assert getattr(jescore, name) is getattr(api, name)
    with pytest.raises(AttributeError):
        _ = jescore.no_such_name


def test_every_public_name_has_a_docstring() -> None:
    assert api.__doc__
    assert jescore.__doc__
    for name in api.__all__:
        value = getattr(api, name)
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        doc = value.__doc__ or ""
        generated = doc.startswith(f"{value.__name__}(")  # a dataclass's own signature
        assert doc.strip() and not generated, f"{name} has no docstring"


def test_the_promised_names_are_exported() -> None:
    promised = {
        "validate", "start_command", "stop_command", "second_level_due",
        "read_monitor_program_exit", "monitor", "MonitorResult", "InvalidAttributes",
        "entry_point", "EntryPoint", "Reply", "Host", "ProcessInfo", "TYPE_NAMES",
        "StartLog", "ArmWatchdog", "Observe", "LoadCount", "StoreCount", "ForgetCount",
        "Run", "Connect", "Signal", "Wait", "Log", "Debug",
    }  # fmt: skip
    assert promised <= set(api.__all__)
    assert set(TYPE_NAMES) == {"SunJESMsg", "SunJESLDAP", "SunJESAdm"}


def test_monitor_result_is_frozen() -> None:
    result = monitor("SunJESMsg", MSG, [])
    with pytest.raises(FrozenRecord):
        result.exit_code = 110  # type: ignore[misc]


# --- validate --------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", sorted(VALID))
def test_valid_sets_have_no_violation(type_name: str) -> None:
    assert validate(type_name, VALID[type_name]) == []


def test_violations_name_the_attribute_and_come_all_at_once() -> None:
    found = validate("SunJESMsg", {"ServerRoot": "relative", "MsgServices": {"imap": "x"}})
    assert [v.split(": ", 1)[0] for v in found] == ["MsgHost", "MsgServices", "ServerRoot"]
    assert all(": " in v for v in found)


def test_an_unknown_type_is_a_violation() -> None:
    (only,) = validate("SunJESMail", MSG)
    assert only.startswith("Type: 'SunJESMail' is not a resource type")


def test_unknown_names_and_wrong_shapes_are_violations() -> None:
    found = validate(
        "SunJESMsg",
        {**MSG, "Serverroot": "/x", "MsgHost": ["a", "b"], "MsgServices": "imap 143"},
    )
    assert "Serverroot: is not an attribute of SunJESMsg" in found
    assert any(v.startswith("MsgHost: takes one value") for v in found)
    assert any(v.startswith("MsgServices: is an association") for v in found)
    # a value of the wrong shape is reported once, not again as "required but empty"
    assert not any("required" in v for v in found)


def test_an_association_may_be_given_interleaved() -> None:
    assert validate("SunJESMsg", {**MSG, "MsgServices": ["imap", "143", "pop", "110"]}) == []
    assert start_command("SunJESMsg", {**MSG, "MsgServices": {"imap": "143", "pop": "110"}}) == [
        "/opt/SUNWmsgsr/lib/msstart", "imap", "pop",
    ]  # fmt: skip


texts = st.text(max_size=20)
values = st.one_of(texts, st.lists(texts, max_size=4), st.dictionaries(texts, texts, max_size=3))
names = st.one_of(
    texts, st.sampled_from([a.name for p in POLICIES.values() for a in p.declaration.attrs])
)
type_names = st.one_of(st.sampled_from(TYPE_NAMES), texts)
attribute_sets = st.dictionaries(names, values, max_size=8)


@given(type_names, attribute_sets)
def test_validate_never_raises(type_name: str, attributes: dict[str, AttributeValue]) -> None:
    found = validate(type_name, attributes)
    assert all(isinstance(v, str) and ": " in v for v in found)
    assert (type_name in TYPE_NAMES) or found


@given(st.sampled_from(TYPE_NAMES), attribute_sets)
def test_validate_agrees_with_the_functions_that_need_a_valid_set(
    type_name: str, attributes: dict[str, AttributeValue]
) -> None:
    attributes = {**VALID[type_name], **attributes}
    found = validate(type_name, attributes)
    logging_only = {a.name for a in POLICIES[type_name].declaration.attrs if a.logging_only}
    # A logging attribute's bad value is reported, but the agent goes on with its default;
    # a value of the wrong Python type is the caller's mistake, refused like any other.
    tolerated = {n for n in logging_only if isinstance(attributes.get(n), str)}
    refused = [v for v in found if v.split(":")[0] not in tolerated]
    if refused:
        with pytest.raises(InvalidAttributes) as caught:
            start_command(type_name, attributes)
        assert list(caught.value.violations) == found
    else:
        assert start_command(type_name, attributes)


# --- start_command and stop_command ----------------------------------------------------


def test_commands_of_each_type() -> None:
    assert start_command("SunJESMsg", MSG) == ["/opt/SUNWmsgsr/lib/msstart", "imap"]
    assert stop_command("SunJESMsg", MSG) == ["/opt/SUNWmsgsr/lib/msstart", "-k", "imap"]
    core = {**MSG, "MsgServices": {"core": "49994"}}
    assert start_command("SunJESMsg", core) == ["/opt/SUNWmsgsr/lib/msstart", "store", "sched"]
    assert start_command("SunJESLDAP", LDAP) == ["/var/ds/slapd-a/start-slapd"]
    assert stop_command("SunJESLDAP", LDAP) == ["/var/ds/slapd-a/stop-slapd"]
    assert start_command("SunJESAdm", ADM) == ["/var/ds/start-admin"]
    assert stop_command("SunJESAdm", ADM) == ["/var/ds/stop-admin"]


CommandOf = Callable[[str, Mapping[str, AttributeValue]], list[str]]


@pytest.mark.parametrize("function", [start_command, stop_command])
def test_commands_refuse_invalid_sets(function: CommandOf) -> None:
    with pytest.raises(InvalidAttributes) as caught:
        function("SunJESMsg", {"ServerRoot": "opt"})
    assert isinstance(caught.value, ValueError)
    assert caught.value.violations == tuple(validate("SunJESMsg", {"ServerRoot": "opt"}))
    for violation in caught.value.violations:
        assert violation in str(caught.value)
    with pytest.raises(InvalidAttributes, match="not a resource type"):
        function("SunJESMail", MSG)


# --- the monitor rules -----------------------------------------------------------------


@given(st.one_of(st.none(), st.integers(-5, 2000)), st.integers(-3, 1000))
def test_second_level_due_is_the_agents_rule(stored: int | None, every: int) -> None:
    cycle = advance_cycle(stored, every)
    assert second_level_due(stored, every) == (cycle.due, cycle.to_store)


@given(st.integers(1, 12))
def test_the_second_level_runs_on_every_nth_cycle(every: int) -> None:
    count: int | None = None
    due = []
    for _ in range(3 * every):
        ran, count = second_level_due(count, every)
        due.append(ran)
    assert [i for i, ran in enumerate(due, 1) if ran] == [every, 2 * every, 3 * every]


def test_monitor_program_exit_codes() -> None:
    assert read_monitor_program_exit(110) == "online"
    assert read_monitor_program_exit(0) == "online"
    assert all(read_monitor_program_exit(c) == "unknown" for c in range(101, 110))
    assert read_monitor_program_exit(100) == "offline"
    assert read_monitor_program_exit(1) == "offline"
    assert all(read_monitor_program_exit(c) == "unknown" for c in (-1, 2, 99, 111, 255))


# --- monitor ---------------------------------------------------------------------------


def test_monitor_agrees_with_the_policy() -> None:
    running = monitor("SunJESMsg", IMAP_AT_OPT_MSG, [(7, "imapd", ["/opt/msg/lib/imapd"])])
    assert (running.exit_code, running.state) == (110, "online")
    assert running.reason == "all processes present: imapd[7]"
    assert running.probes == () and not running.second_level_ran
    assert running.stored_count is None and running.pending is None
    none = monitor("SunJESMsg", IMAP_AT_OPT_MSG, [])
    assert (none.exit_code, none.state) == (100, "offline")
    assert none.reason == "missing: /opt/msg/lib/imapd"
    lookalike = monitor("SunJESMsg", IMAP_AT_OPT_MSG, [(7, "imapd", ["/opt/msg2/lib/imapd"])])
    assert lookalike.exit_code == 100
    zombie = ProcessInfo(7, "imapd", ("/opt/msg/lib/imapd",), 5.0, zombie=True)
    assert monitor("SunJESMsg", IMAP_AT_OPT_MSG, [zombie]).exit_code == 100


def test_monitor_of_the_other_types() -> None:
    slapd = (9, "ns-slapd", ["/usr/sbin/ns-slapd", "-D", "/var/ds/slapd-a"])
    assert monitor("SunJESLDAP", LDAP, [slapd]).exit_code == 110
    assert monitor("SunJESLDAP", LDAP, []).exit_code == 100
    admin = [
        (10, "uxwdog", ["uxwdog", "-d", "/var/ds/admin-serv/config"]),
        (11, "ns-httpd", ["ns-httpd", "-d", "/var/ds/admin-serv/config"]),
    ]
    assert monitor("SunJESAdm", ADM, admin).exit_code == 110
    assert monitor("SunJESAdm", ADM, admin[:1]).exit_code == 100


def test_monitor_waits_for_a_missing_probe_result() -> None:
    deep = {**MSG, "SecondLevelMonitor": "1"}
    running = [(7, "imapd", ["/opt/SUNWmsgsr/lib/imapd"])]
    pending = monitor("SunJESMsg", deep, running)
    assert pending.exit_code is None and pending.state is None
    assert pending.pending == "imap port check"
    assert pending.probes == ("imap port check",)
    assert "imap port check" in pending.reason
    assert pending.second_level_ran and pending.stored_count == 0
    done = monitor("SunJESMsg", deep, running, probe_results={"imap port check": PASSED})
    assert (done.exit_code, done.state, done.pending) == (110, "online", None)
    assert done.probes == ("imap port check",)


def test_monitor_with_a_test_user_runs_the_synthetic_transaction() -> None:
    full = {**MSG, "SecondLevelMonitor": "1", "LDAPTestUser": "u", "LDAPTestPasswd": "abcd1234"}
    running = [(7, "imapd", ["/opt/SUNWmsgsr/lib/imapd"])]
    assert monitor("SunJESMsg", full, running).pending == "imap synthetic transaction"
    answers = {"imap synthetic transaction": ProbeResult(Outcome.FAILED, exit_code=3)}
    failed = monitor("SunJESMsg", full, running, probe_results=answers)
    assert (failed.exit_code, failed.state) == (100, "offline")
    assert "failed (exit 3)" in failed.reason
    assert not any("abcd1234" in line for line in failed.log)


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (Outcome.PASSED, 110),
        (Outcome.FAILED, 100),
        (Outcome.TIMED_OUT, 100),
        (Outcome.COULD_NOT_RUN, 99),
    ],
)
def test_probe_outcomes(outcome: Outcome, code: int) -> None:
    running = [(7, "imapd", ["/opt/SUNWmsgsr/lib/imapd"])]
    for attributes, what in (
        ({**MSG, "SecondLevelMonitor": "1"}, "imap port check"),
        ({**MSG, "SecondLevelMonitor": "1", "LDAPTestUser": "u", "LDAPTestPasswd": "abcd1234"},
         "imap synthetic transaction"),
    ):  # fmt: skip
        result = monitor(
            "SunJESMsg", attributes, running, probe_results={what: ProbeResult(outcome)}
        )
        assert result.exit_code == code, (what, result.reason)


def test_a_probe_that_times_out_takes_its_whole_limit() -> None:
    deep = {**MSG, "SecondLevelMonitor": "1"}
    running = [(7, "imapd", ["/opt/SUNWmsgsr/lib/imapd"])]
    hung = {"imap port check": ProbeResult(Outcome.TIMED_OUT)}
    result = monitor("SunJESMsg", deep, running, probe_results=hung)
    assert re.search(r"\(([0-9]+)\.0 s of its \1 s\)", result.reason), result.reason


@pytest.mark.parametrize(
    ("given_result", "code"),
    [
        (ProbeResult(Outcome.PASSED), 110),
        (ProbeResult(Outcome.FAILED), 100),
        (ProbeResult(Outcome.PASSED, exit_code=104), 99),
        (ProbeResult(Outcome.PASSED, exit_code=1), 100),
        (ProbeResult(Outcome.FAILED, exit_code=42), 99),
        (ProbeResult(Outcome.TIMED_OUT), 99),
        (ProbeResult(Outcome.COULD_NOT_RUN, error="gone"), 99),
    ],
)
def test_monitor_program(given_result: ProbeResult, code: int) -> None:
    attributes = {**MSG, "MonitorProgram": "/usr/local/bin/check -q"}
    running = [(7, "imapd", ["/opt/SUNWmsgsr/lib/imapd"])]
    pending = monitor("SunJESMsg", attributes, running)
    assert (pending.exit_code, pending.pending) == (None, "MonitorProgram")
    answers = {"MonitorProgram": given_result}
    result = monitor("SunJESMsg", attributes, running, probe_results=answers)
    assert result.exit_code == code
    assert result.probes == ("MonitorProgram",)
    assert not result.second_level_ran
    # MonitorProgram is not asked for when the first level already failed
    assert monitor("SunJESMsg", attributes, []).exit_code == 100


def test_the_stored_count_paces_the_second_level() -> None:
    attributes = {**MSG, "SecondLevelMonitor": "2"}
    running = [(7, "imapd", ["/opt/SUNWmsgsr/lib/imapd"])]
    answers = {"imap port check": PASSED}
    first = monitor("SunJESMsg", attributes, running, probe_results=answers)
    assert (first.second_level_ran, first.stored_count) == (False, 1)
    second = monitor("SunJESMsg", attributes, running, stored_count=1, probe_results=answers)
    assert (second.second_level_ran, second.stored_count) == (True, 0)


def test_monitor_refuses_invalid_attributes() -> None:
    with pytest.raises(InvalidAttributes) as caught:
        monitor("SunJESMsg", {**MSG, "MsgHost": ""}, [])
    assert caught.value.violations == ("MsgHost: is required but empty",)
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 (our own bytes)
    assert (copy.violations, str(copy)) == (caught.value.violations, str(caught.value))
    with pytest.raises(InvalidAttributes, match="not a resource type"):
        monitor("SunJESMail", MSG, [])


def test_wrong_kinds_of_input_are_told_plainly() -> None:
    with pytest.raises(TypeError, match="process"):
        monitor("SunJESMsg", MSG, [(1, "imapd")])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="stored_count"):
        monitor("SunJESMsg", MSG, [], stored_count="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no exit code"):
        ProbeResult(Outcome.TIMED_OUT, exit_code=1)


def test_argument_vector_reads_back_as_given() -> None:
    attributes = {**MSG, "ContainerName": "mailzone", "SecondLevelMonitor": "3"}
    argv = argument_vector("SunJESMsg", attributes, resource="mail_imap")
    decl = POLICIES["SunJESMsg"].declaration
    parsed = vcs_argv.parse(decl, EntryPoint.MONITOR, argv).unwrap()
    assert parsed.resource == "mail_imap"
    assert parsed.values["ContainerName"] == ("mailzone",)
    assert parsed.values["MsgServices"] == ("imap", "143")
    assert parsed.values["SecondLevelMonitor"] == ("3",)
    clean = argument_vector("SunJESMsg", MSG, clean_reason=4)
    assert vcs_argv.parse(decl, EntryPoint.CLEAN, clean).unwrap().clean_reason == 4
    with pytest.raises(ValueError, match="resource name"):
        argument_vector("SunJESMsg", MSG, resource="not a name")


# --- monitor against arbitrary input, and against the procedure itself -------------------

probe_answers = st.dictionaries(
    st.sampled_from(
        ["imap port check", "imap synthetic transaction", "MonitorProgram", "admin port check",
         "message store check (stored -t -v)", "secure port", "pop port check"]
    ),
    st.builds(ProbeResult, st.sampled_from([Outcome.PASSED, Outcome.FAILED])),
)  # fmt: skip


PLAUSIBLE: dict[str, list[AttributeValue]] = {
    "ResLogLevel": ["TRACE", "ERROR", "LOUD"],
    "SecondLevelMonitor": ["0", "1", "2", "-1"],
    "MonitorProgram": ["", "/usr/local/bin/check -q", "check"],
    "LDAPTestUser": ["", "probe"],
    "LDAPTestPasswd": ["", "abcd1234"],
    "ServerType": ["MSG", "MMP"],
    "MsgServices": [
        {"imap": "143"}, {"core": "49994"}, {"imap": "143", "pop": "110", "http": "80"},
        {"smtp": "25", "ens": "7997"}, {"imaps": "993", "pops": "995"},
    ],
    "SSLPort": ["0", "636"],
    "SSLDbPasswd": ["", "abcd1234"],
    "AdminUser": ["", "admin"],
    "AdminPasswd": ["", "abcd1234"],
    "SSLEnabled": ["0", "1"],
    "ContainerName": ["", "mailzone"],
}  # fmt: skip


def plausible_sets(type_name: str) -> st.SearchStrategy[dict[str, AttributeValue]]:
    """Changes to a valid set of the type, with values of the kind its attributes take."""
    decl = POLICIES[type_name].declaration
    known = sorted(name for name in PLAUSIBLE if decl.attr(name) is not None)
    return st.fixed_dictionaries({}, optional={n: st.sampled_from(PLAUSIBLE[n]) for n in known})


RUNNING: dict[str, tuple[ProcessInfo, ...]] = {  # the VALID resources, running
    "SunJESMsg": (ProcessInfo(500, "imapd", ("/opt/SUNWmsgsr/lib/imapd",), 500.0),),
    "SunJESLDAP": (ProcessInfo(501, "ns-slapd", ("ns-slapd", "-D", "/var/ds/slapd-a"), 1.0),),
    "SunJESAdm": (
        ProcessInfo(502, "uxwdog", ("uxwdog", "-d", "/var/ds/admin-serv/config"), 2.0),
        ProcessInfo(503, "ns-httpd", ("ns-httpd", "-d", "/var/ds/admin-serv/config"), 3.0),
    ),
}


@settings(max_examples=300)
@given(
    typed=st.sampled_from(TYPE_NAMES).flatmap(
        lambda name: st.tuples(st.just(name), plausible_sets(name))
    ),
    from_valid=st.booleans(),
    attributes=attribute_sets,
    table=process_tables(["/opt/SUNWmsgsr", "/var/ds"]),
    stored=st.one_of(st.none(), st.integers(-3, 50)),
    answers=probe_answers,
)
def test_monitor_raises_nothing_but_invalid_attributes(
    *,
    typed: tuple[str, dict[str, AttributeValue]],
    from_valid: bool,
    attributes: dict[str, AttributeValue],
    table: tuple[ProcessInfo, ...],
    stored: int | None,
    answers: dict[str, ProbeResult],
) -> None:
    type_name, plausible = typed
    if from_valid:  # mostly valid sets, often running, so that the monitor gets far
        attributes = {**VALID[type_name], **plausible}
        table = (*table, *RUNNING[type_name])
    violations = validate(type_name, attributes)
    # A logging attribute alone never stops the agent (it logs and uses the default).
    serious = [v for v in violations if not v.startswith("ResLogLevel:")]
    if serious:
        with pytest.raises(InvalidAttributes) as caught:
            monitor(type_name, attributes, table, stored_count=stored, probe_results=answers)
        assert caught.value.violations == tuple(violations)
        return
    result = monitor(type_name, attributes, table, stored_count=stored, probe_results=answers)
    if result.exit_code is None:
        assert result.pending is not None and result.probes[-1] == result.pending
        assert result.pending not in answers and result.state is None
    else:
        assert result.pending is None
        assert result.state == read_state(result.exit_code)


def read_state(code: int) -> str:
    return {99: "unknown", 100: "offline"}.get(code, "online")


def as_attributes(raw: Mapping[str, Raw]) -> dict[str, AttributeValue]:
    """Raw values as an embedder writes them (an association interleaved in a list)."""
    decl = POLICIES["SunJESMsg"].declaration
    out: dict[str, AttributeValue] = {}
    for name, values in raw.items():
        attr = decl.attr(name)
        assert attr is not None
        out[name] = values[0] if attr.dimension is Dimension.SCALAR else list(values)
    return out


@settings(max_examples=150)
@given(valid_msg_values(), process_tables(["/opt/a", "/srv/msg"]), st.integers(0, 3))
def test_monitor_answers_as_the_procedure_does(
    raw: dict[str, Raw], table: tuple[ProcessInfo, ...], stored: int
) -> None:
    """Every probe and MonitorProgram passing, monitor answers as explain's walk of the
    same procedure does (which assumes they pass), and asks for each result in turn."""
    raw = {**raw, "ServerRoot": ("/opt/a",)}
    attributes = as_attributes(raw)
    answers: dict[str, ProbeResult] = {}
    result = monitor("SunJESMsg", attributes, table, stored_count=stored)
    while result.exit_code is None:
        assert result.pending is not None and result.pending not in answers
        answers[result.pending] = PASSED
        result = monitor("SunJESMsg", attributes, table, stored_count=stored, probe_results=answers)
    argv = argument_vector("SunJESMsg", attributes)
    reading = explain.read(POLICIES["SunJESMsg"], EntryPoint.MONITOR, argv)
    observed = explain.Observed(Snapshot(table), stored_cycle=stored)
    assert result.exit_code == explain.walk(reading, observed).exit_code
    assert result.probes == tuple(answers)


def test_the_api_works_with_what_the_agent_itself_works_with() -> None:
    from jescore.api import InvalidAttributes, monitor, start_command, stop_command

    base: dict[str, AttributeValue] = {
        "ServerRoot": "/opt/msg",
        "MsgHost": "mail.example.com",
        "MsgServices": {"imap": "143"},
    }
    running = [(10, "imapd", ["/opt/msg/lib/imapd"])]
    typo = {**base, "ResLogLevel": "INFOO"}
    assert monitor("SunJESMsg", typo, running).exit_code == 110
    assert start_command("SunJESMsg", typo) == ["/opt/msg/lib/msstart", "imap"]
    bad_host = {**base, "MsgHost": "bad_host!"}
    assert stop_command("SunJESMsg", bad_host) == ["/opt/msg/lib/msstart", "-k", "imap"]
    with pytest.raises(InvalidAttributes):
        start_command("SunJESMsg", bad_host)  # online refuses, as the agent does
