"""The OCF contract in the core: reading Pacemaker's environment, the exit-code table,
the meta-data, and the same verdict from both front ends for the same situation."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import example, given, settings
from hypothesis import strategies as st

from jescore.policy import argv as vcs_argv
from jescore.policy.declaration import Dimension, Raw
from jescore.policy.monitoring import State, Verdict
from jescore.policy.ocf import (
    ANSWERS,
    DEFAULT_TIMEOUTS,
    MONITOR_OPERATIONS,
    OCF_DEFAULTS,
    RESKEY,
    SECOND_LEVEL_DEPTH,
    VCS_ONLY,
    OcfAction,
    OcfCode,
    OcfRequest,
    Situation,
    ocf_default,
    parameter_names,
    read_environment,
    resource_name,
    secret_parameters,
)
from jescore.policy.ocf_procedures import monitor_situation, ocf_entry
from jescore.policy.processes import ProcessInfo
from jescore.policy.registry import POLICIES
from jescore.policy.resource import FirstLevel, Snapshot
from jescore.policy.vcs import EntryPoint
from jescore.result import Failure, Success
from jescore.tooling.ocfmeta import metadata, unique_parameters
from shell.engine import carry_out, interpret
from tests.fakesystem import FakeSystem, Scenario
from tests.test_procedures import Situation as Table
from tests.test_procedures import argv_for, config, scenarios, situations

ACTIONS = [OcfAction.START, OcfAction.STOP, OcfAction.MONITOR, OcfAction.VALIDATE_ALL]


# --- reading the environment ----------------------------------------------------------

env_keys = st.one_of(
    st.sampled_from(
        [f"{RESKEY}{a.name}" for p in POLICIES.values() for a in p.declaration.attrs]
        + [
            "OCF_RESOURCE_INSTANCE",
            "OCF_CHECK_LEVEL",
            "HA_debug",
            f"{RESKEY}CRM_meta_timeout",
            f"{RESKEY}CRM_meta_interval",
            f"{RESKEY}Unknown",
        ]
    ),
    st.text(min_size=1, max_size=12),
)


@settings(max_examples=300)
@given(
    st.sampled_from(sorted(POLICIES)),
    st.sampled_from(ACTIONS),
    st.dictionaries(env_keys, st.text(max_size=30), max_size=12),
)
def test_any_environment_reads_to_a_request_or_a_reason(
    type_name: str, action: OcfAction, env: dict[str, str]
) -> None:
    decl = POLICIES[type_name].declaration
    found = read_environment(decl, action, env)
    if not env.get("OCF_RESOURCE_INSTANCE"):
        assert isinstance(found, Failure)
        assert "OCF_RESOURCE_INSTANCE" in found.failure()
        return
    assert isinstance(found, Success)
    request = found.unwrap()
    assert vcs_argv.looks_like_resource(request.resource)
    assert request.seconds > 0
    for name, raw in request.raw.items():
        attr = decl.attr(name)
        assert attr is not None and name in parameter_names(decl)
        if RESKEY + name not in env:  # not given: only Pacemaker's own defaults fill in
            assert raw == OCF_DEFAULTS[name]
            continue
        given_value = env[RESKEY + name]
        if attr.dimension is Dimension.SCALAR:
            assert raw == (given_value,)
        else:
            assert raw == tuple(given_value.split())
    ignored = [
        k
        for k in env
        if k.startswith(RESKEY)
        and not k.startswith(RESKEY + "CRM_meta_")
        and k[len(RESKEY) :] not in parameter_names(decl)
    ]
    for key in ignored:
        assert any(w.startswith(key) for w in request.warnings), (key, request.warnings)


def test_the_operation_values_are_read_in_milliseconds_and_levels() -> None:
    decl = POLICIES["SunJESMsg"].declaration
    env = {
        "OCF_RESOURCE_INSTANCE": "imap:1",
        f"{RESKEY}CRM_meta_timeout": "20000",
        f"{RESKEY}CRM_meta_interval": "0",
        "OCF_CHECK_LEVEL": "10",
        "HA_debug": "1",
        f"{RESKEY}MsgServices": "imap 143  pop 110",
        f"{RESKEY}SecondLevelMonitor": "3",
    }
    request = read_environment(decl, OcfAction.MONITOR, env).unwrap()
    assert request.resource == "imap_1"
    assert request.seconds == 20.0
    assert request.probe and request.second_level and request.trace
    assert request.raw["MsgServices"] == ("imap", "143", "pop", "110")
    assert "SecondLevelMonitor" not in request.raw
    assert any("OCF_CHECK_LEVEL=10" in w for w in request.warnings)  # VCS_ONLY's reason
    plain = read_environment(decl, OcfAction.START, {"OCF_RESOURCE_INSTANCE": "x"}).unwrap()
    assert plain.seconds == DEFAULT_TIMEOUTS[OcfAction.START]
    assert plain.raw["NativeProbes"] == ("1",)  # Pacemaker's default: no Sun probe programs
    asked = {"OCF_RESOURCE_INSTANCE": "x", f"{RESKEY}NativeProbes": "0"}
    assert read_environment(decl, OcfAction.START, asked).unwrap().raw["NativeProbes"] == ("0",)
    assert not plain.probe and not plain.second_level and not plain.trace
    bad = {"OCF_RESOURCE_INSTANCE": "x", "OCF_CHECK_LEVEL": "deep"}
    bad[f"{RESKEY}CRM_meta_timeout"] = "20s"
    odd = read_environment(decl, OcfAction.MONITOR, bad).unwrap()
    assert odd.check_level == 0 and odd.seconds == DEFAULT_TIMEOUTS[OcfAction.MONITOR]
    assert len(odd.warnings) == 2


@given(st.text(min_size=1, max_size=300))
@example(".hidden")
@example("-leading:dash")
def test_any_instance_name_becomes_a_safe_resource_name(instance: str) -> None:
    name = resource_name(instance)
    assert vcs_argv.looks_like_resource(name)
    assert "/" not in name and name not in {".", ".."}
    assert resource_name(name) == name  # already safe names stay as they are


def test_password_parameters_are_named_for_removal() -> None:
    assert secret_parameters(POLICIES["SunJESMsg"].declaration) == (f"{RESKEY}LDAPTestPasswd",)
    assert f"{RESKEY}AdminPasswd" in secret_parameters(POLICIES["SunJESAdm"].declaration)


# --- the exit codes -------------------------------------------------------------------


def test_every_situation_has_one_ocf_code() -> None:
    assert set(ANSWERS) == set(Situation)
    assert set(ANSWERS.values()) <= set(OcfCode)
    assert ANSWERS[Situation.NOT_RUNNING] is OcfCode.NOT_RUNNING
    assert ANSWERS[Situation.BAD_PARAMETERS] is OcfCode.ERR_CONFIGURED
    assert ANSWERS[Situation.NOT_INSTALLED] is OcfCode.ERR_INSTALLED


@given(
    st.sampled_from(list(State)),
    st.lists(st.integers(1, 99), max_size=3, unique=True),
    st.lists(st.sampled_from(["imapd", "stored"]), max_size=2),
)
def test_a_monitor_verdict_reads_as_running_stopped_or_failed(
    state: State, pids: list[int], missing: list[str]
) -> None:
    first = FirstLevel(
        tuple(ProcessInfo(p, "imapd", ("imapd",), 1.0) for p in pids), tuple(missing)
    )
    situation = monitor_situation(Verdict(state, "why"), first)
    if state is State.ONLINE:
        assert situation is Situation.RUNNING
    elif state is State.UNKNOWN:
        assert situation is Situation.UNKNOWN
    else:  # offline: cleanly stopped only when none of its processes is there
        assert situation is (Situation.FAILED if pids else Situation.NOT_RUNNING)


# --- meta-data --------------------------------------------------------------------------


def test_meta_data_describes_every_parameter_as_the_types_files_do() -> None:
    for type_name, policy in POLICIES.items():
        decl = policy.declaration
        document = metadata(decl).split("\n", 2)[2]  # past the XML and DOCTYPE lines
        root = ET.fromstring(document)  # noqa: S314 - our own output
        assert root.get("name") == type_name
        params = {p.get("name"): p for p in root.iter("parameter")}
        assert tuple(params) == parameter_names(decl)
        assert not set(params) & set(VCS_ONLY)
        for name, element in params.items():
            attr = decl.attr(str(name))
            assert attr is not None
            content = element.find("content")
            assert content is not None
            assert content.get("default") == ocf_default(attr)
            if name in OCF_DEFAULTS:
                assert ocf_default(attr) == " ".join(OCF_DEFAULTS[name])
            else:
                assert ocf_default(attr) == attr.types_cf_default()
            needed = attr.required and attr.types_cf_default() is None
            assert element.get("required") == str(int(needed))
            assert element.get("unique") == str(int(name in unique_parameters(decl)))
            assert element.findtext("longdesc", "").startswith(attr.description)
        actions = [(a.get("name"), a.get("depth"), a.get("timeout")) for a in root.iter("action")]
        for action, seconds in DEFAULT_TIMEOUTS.items():
            assert any(n == action.value and t == f"{seconds}s" for n, _, t in actions)
        depths = {d for n, d, _ in actions if n == "monitor"}
        assert depths == {str(d) for d, _ in MONITOR_OPERATIONS} >= {str(SECOND_LEVEL_DEPTH)}


def test_only_a_whole_identity_is_marked_unique() -> None:
    assert unique_parameters(POLICIES["SunJESLDAP"].declaration) == {"InstanceRoot"}
    assert unique_parameters(POLICIES["SunJESAdm"].declaration) == {"ServerRoot"}
    assert unique_parameters(POLICIES["SunJESMsg"].declaration) == frozenset()
    text = metadata(POLICIES["SunJESMsg"].declaration)
    assert "Two resources may share it only with a different ServerType, MsgServices" in text


# --- both front ends, one policy ----------------------------------------------------------


def _ocf_code_for(vcs_code: int, first: FirstLevel) -> int:
    """What the OCF monitor must answer where the VCS monitor answered vcs_code."""
    if vcs_code >= 101:
        return OcfCode.SUCCESS
    if vcs_code == 100:
        return OcfCode.ERR_GENERIC if first.found else OcfCode.NOT_RUNNING
    return OcfCode.ERR_GENERIC


ACTING = ("run", "connect", "signal", "wait")


@settings(max_examples=200, deadline=None)
@given(situations(), scenarios, st.booleans(), st.integers(5, 120))
def test_both_front_ends_reach_the_same_monitor_verdict_by_the_same_steps(
    situation: Table, scenario: Scenario, deep: bool, budget: int
) -> None:
    type_name, values, table = situation
    policy = POLICIES[type_name]
    vcs_values = {**values, "SecondLevelMonitor": ("1" if deep else "0",)}
    cfg = config(type_name, vcs_values)
    vcs_system = FakeSystem(policy, cfg, list(table), scenario)
    argv = argv_for(type_name, EntryPoint.MONITOR, vcs_values, budget)
    vcs_code = carry_out(type_name, EntryPoint.MONITOR, argv, vcs_system)

    ocf_values = {k: v for k, v in values.items() if k not in VCS_ONLY}
    request = OcfRequest(
        OcfAction.MONITOR, "res1", ocf_values, float(budget), SECOND_LEVEL_DEPTH if deep else 0
    )
    ocf_system = FakeSystem(policy, cfg, list(table), scenario)
    ocf_code = interpret(ocf_entry(policy, request), ocf_system)

    first = policy.first_level(cfg, Snapshot(tuple(p for p in table if not p.zombie)))
    assert ocf_code == _ocf_code_for(vcs_code, first), (vcs_code, ocf_code)
    acted = [[op for op in s.ops if op[0] in ACTING] for s in (vcs_system, ocf_system)]
    assert acted[0] == acted[1]
    said = [str(op[1]) for op in ocf_system.ops if op[0] == "log"]
    verdicts = [line for line in said if " V-16-10000-3005 " in line]
    assert verdicts and not any(f"({vcs_code})" in line for line in verdicts)  # no VCS code
    assert any(line.startswith(f"TRACE V-16-10000-3006 answers {ocf_code}: ") for line in said)


@settings(max_examples=100, deadline=None)
@given(situations(), scenarios, st.sampled_from([OcfAction.START, OcfAction.STOP]))
def test_start_and_stop_do_what_online_and_offline_do_and_say_whether_it_worked(
    situation: Table, scenario: Scenario, action: OcfAction
) -> None:
    type_name, values, table = situation
    policy = POLICIES[type_name]
    cfg = config(type_name, values)
    entry = EntryPoint.ONLINE if action is OcfAction.START else EntryPoint.OFFLINE
    vcs_system = FakeSystem(policy, cfg, list(table), scenario)
    carry_out(type_name, entry, argv_for(type_name, entry, values, 60), vcs_system)
    ocf_values = {k: v for k, v in values.items() if k not in VCS_ONLY}
    ocf_system = FakeSystem(policy, cfg, list(table), scenario)
    code = interpret(ocf_entry(policy, OcfRequest(action, "res1", ocf_values, 60.0)), ocf_system)

    acted = [[op for op in s.ops if op[0] in ACTING] for s in (vcs_system, ocf_system)]
    assert acted[0] == acted[1]
    after = Snapshot(tuple(p for p in ocf_system.processes if not p.zombie))
    vcs_said = " ".join(str(op[1]) for op in vcs_system.ops if op[0] == "log")
    if action is OcfAction.STOP:
        left = policy.stop_targets(cfg, after)
        assert (code == OcfCode.SUCCESS) == (not left)
        assert code in {OcfCode.SUCCESS, OcfCode.ERR_GENERIC}
    else:
        # online's own words say whether the resource came up: start answers by them
        up = "V-16-10000-2002" in vcs_said or "V-16-10000-2004" in vcs_said
        assert code == (OcfCode.SUCCESS if up else OcfCode.ERR_GENERIC)
        if code == OcfCode.SUCCESS:
            assert policy.first_level(cfg, after).ok
    said = [str(op[1]) for op in ocf_system.ops if op[0] == "log"]
    assert any(line.startswith(f"INFO V-16-10000-3006 answers {code}: ") for line in said)


@given(st.sampled_from(sorted(POLICIES)), st.sampled_from(ACTIONS))
def test_a_missing_required_parameter_is_a_configuration_error(
    type_name: str, action: OcfAction
) -> None:
    policy = POLICIES[type_name]
    system = FakeSystem(policy, None, [])
    code = interpret(ocf_entry(policy, OcfRequest(action, "res1", {}, 30.0)), system)
    assert code == OcfCode.ERR_CONFIGURED
    assert not [op for op in system.ops if op[0] in ACTING]  # nothing run, nothing signalled
    assert any("is required" in str(op[1]) for op in system.ops if op[0] == "log")


def test_every_parameter_is_read_whatever_is_ignored_around_it() -> None:
    """Keys are read in sorted order: an ignored one first must not end the reading."""
    decl = POLICIES["SunJESMsg"].declaration
    env = {
        "OCF_RESOURCE_INSTANCE": "-core.1",
        f"{RESKEY}AAA_unknown": "x",
        f"{RESKEY}ContainerName": "zone1",
        f"{RESKEY}CRM_meta_timeout": "0",
        f"{RESKEY}CRM_meta_interval": "soon",
        f"{RESKEY}MonitorProgram": "/usr/local/bin/check --deep",
        f"{RESKEY}ServerRoot": "/opt/msg",
        "HA_debug": "Yes",
    }
    request = read_environment(decl, OcfAction.START, env).unwrap()
    assert request.raw == {
        "MonitorProgram": ("/usr/local/bin/check --deep",),  # a scalar keeps its spaces
        "ServerRoot": ("/opt/msg",),
        "NativeProbes": ("1",),  # Pacemaker's default
    }
    assert request.resource == "_core.1"
    assert request.seconds == DEFAULT_TIMEOUTS[OcfAction.START]  # a 0 ms timeout is none
    assert not request.probe  # only a monitor is a probe
    assert request.trace
    assert any(w.startswith(f"{RESKEY}AAA_unknown: SunJESMsg has no") for w in request.warnings)
    assert any("Solaris zones" in w for w in request.warnings if "ContainerName" in w)
    assert any("CRM_meta_interval='soon'" in w for w in request.warnings)


def test_stop_goes_on_with_a_bad_attribute_that_does_not_identify_the_resource() -> None:
    policy = POLICIES["SunJESMsg"]
    values: dict[str, Raw] = {"ServerRoot": ("/opt/msg",), "MsgServices": ("imap", "143")}
    cfg = config("SunJESMsg", {**values, "MsgHost": ("mail.example.com",)})
    running = list(policy.model_processes(cfg, 1000))
    system = FakeSystem(policy, cfg, running)
    bad = {**values, "MsgHost": ("not a host",)}
    code = interpret(ocf_entry(policy, OcfRequest(OcfAction.STOP, "r", bad, 30.0)), system)
    assert code == OcfCode.SUCCESS
    assert not policy.stop_targets(cfg, Snapshot(tuple(system.processes)))
    said = " ".join(str(op[1]) for op in system.ops if op[0] == "log")
    assert "MsgHost" in said and "stop goes on" in said  # named, and stop's own name used


def test_ha_debug_asks_for_every_trace_line() -> None:
    policy = POLICIES["SunJESMsg"]
    values: dict[str, Raw] = {"ServerRoot": ("/opt/msg",), "MsgServices": ("imap", "143")}
    values |= {"MsgHost": ("mail.example.com",)}
    for trace in (False, True):
        system = FakeSystem(policy, None, [])
        request = OcfRequest(OcfAction.MONITOR, "r", values, 30.0, trace=trace)
        assert interpret(ocf_entry(policy, request), system) == OcfCode.NOT_RUNNING
        assert system.log_level.name == ("TRACE" if trace else "INFO")
