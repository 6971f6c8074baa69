"""Reading what VCS passes: V50 tuples, V40 positions, clean reasons, and every bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jescore.policy import argv
from jescore.policy.argv import ArgvForm, ParsedArgs
from jescore.policy.declaration import Raw, validate
from jescore.policy.sunjesmsg import DECLARATION
from jescore.policy.vcs import CleanReason, EntryPoint
from jescore.record import replace
from jescore.result import is_successful
from tests.strategies import any_argv, valid_msg_values

CONTRACT_EXAMPLE = [
    "msg1", "ResLogLevel", "1", "INFO", "State", "1", "2", "IState", "1", "0",
    "LDAPTestPasswd", "1", "BNCnCNc", "LDAPTestUser", "1", "probe", "MonitorProgram", "1", "",
    "MsgHost", "1", "mail.example.com", "MsgServices", "4", "imap", "143", "pop", "110",
    "SecondLevelMonitor", "1", "2", "ServerRoot", "1", "/opt/SUNWmsgsr", "ServerType", "1", "MSG",
]  # fmt: skip


def parsed(entry: EntryPoint, tokens: list[str]) -> ParsedArgs:
    result = argv.parse(DECLARATION, entry, tokens)
    assert is_successful(result), result
    return result.unwrap()


def failure(entry: EntryPoint, tokens: list[str]) -> str:
    result = argv.parse(DECLARATION, entry, tokens)
    assert not is_successful(result), result
    return str(result.failure())


def test_the_contract_example_reads_as_v50() -> None:
    args = parsed(EntryPoint.MONITOR, CONTRACT_EXAMPLE)
    assert args.form is ArgvForm.V50
    assert args.resource == "msg1"
    assert args.values["MsgServices"] == ("imap", "143", "pop", "110")
    assert args.values["MonitorProgram"] == ("",)
    assert args.engine == {"State": "2", "IState": "0"}


def test_tuples_may_come_in_any_order_with_extras() -> None:
    tokens = ["r", "ServerType", "1", "MMP", "AEPTimeout", "1", "42", "MsgHost", "1", "h"]
    args = parsed(EntryPoint.MONITOR, tokens)
    assert args.values == {"ServerType": ("MMP",), "MsgHost": ("h",)}
    assert args.aep_timeout == 42


def test_an_empty_scalar_left_out_entirely_is_read_as_empty() -> None:
    tokens = ["r", "MonitorProgram", "1", "MsgHost", "1", "mail.example.com"]
    assert parsed(EntryPoint.MONITOR, tokens).values == {
        "MonitorProgram": (),
        "MsgHost": ("mail.example.com",),
    }


def test_a_value_that_looks_like_a_name_is_still_read_literally() -> None:
    tokens = ["r", "LDAPTestUser", "1", "MsgHost", "MsgHost", "1", "h"]
    assert parsed(EntryPoint.MONITOR, tokens).values["LDAPTestUser"] == ("MsgHost",)


def test_unknown_attributes_are_warned_about_and_ignored() -> None:
    args = parsed(EntryPoint.MONITOR, ["r", "MsgHost", "1", "h", "SiteExtra", "2", "a", "b"])
    assert args.values == {"MsgHost": ("h",)}
    assert any("SiteExtra" in w for w in args.warnings)


def test_clean_reads_its_reason_first() -> None:
    args = parsed(EntryPoint.CLEAN, ["r", "4", "MsgHost", "1", "h"])
    assert args.clean_reason is CleanReason.UNEXPECTED_OFFLINE


@pytest.mark.parametrize(
    ("entry", "tokens", "words"),
    [
        (EntryPoint.MONITOR, [], "no resource name"),
        (EntryPoint.MONITOR, ["r"], "no attribute values"),
        (EntryPoint.MONITOR, ["../etc", "MsgHost", "1", "h"], "not a VCS resource name"),
        (EntryPoint.CLEAN, ["r"], "clean reason"),
        (EntryPoint.CLEAN, ["r", "9", "MsgHost", "1", "h"], "0 to 5"),
        (EntryPoint.MONITOR, ["r", "MsgHost", "1", "h", "ServerRoot"], "no value count"),
        (EntryPoint.MONITOR, ["r", "MsgHost", "1", "h", "ServerRoot", "x", "/a"], "not a number"),
        (
            EntryPoint.MONITOR,
            ["r", "MsgHost", "1", "h", "MsgServices", "4", "imap"],
            "past the end",
        ),
        (EntryPoint.MONITOR, ["r", "MsgHost", "1", "h", "MsgHost", "1", "i"], "twice"),
        (EntryPoint.MONITOR, ["r", "INFO", "2"], "missing"),
    ],
)
def test_bad_argv_is_a_value_naming_the_problem(
    entry: EntryPoint, tokens: list[str], words: str
) -> None:
    assert words in failure(entry, tokens)


def test_v40_positional_form() -> None:
    tokens = [
        "r", "TRACE", "2", "0", "", "", "/opt/chk arg", "mail.example.com",
        "4", "imap", "143", "smtp", "25", "3", "/opt/SUNWmsgsr", "MSG",
    ]  # fmt: skip
    args = parsed(EntryPoint.ONLINE, tokens)
    assert args.form is ArgvForm.V40
    assert args.values["MsgServices"] == ("imap", "143", "smtp", "25")
    assert args.values["ServerType"] == ("MSG",)
    assert args.engine["State"] == "2"
    assert is_successful(validate(DECLARATION, args.values))


@given(any_argv, st.sampled_from(list(EntryPoint)))
def test_parsing_and_validation_never_raise(tokens: list[str], entry: EntryPoint) -> None:
    result = argv.parse(DECLARATION, entry, tokens)
    if is_successful(result):
        validate(DECLARATION, result.unwrap().values)


@given(valid_msg_values(), st.data())
def test_mangled_valid_argv_never_raises(values: dict[str, Raw], data: st.DataObject) -> None:
    tokens = list(argv.render_v50(DECLARATION, "r", values))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(tokens)))
        action = data.draw(st.sampled_from(["drop", "insert", "replace"]))
        if action == "drop" and index < len(tokens):
            del tokens[index]
        elif action == "insert":
            tokens.insert(index, data.draw(st.sampled_from(["7", "", "MsgHost", "-k", "x"])))
        elif index < len(tokens):
            tokens[index] = data.draw(st.text(max_size=5))
    result = argv.parse(DECLARATION, EntryPoint.MONITOR, tokens)
    if is_successful(result):
        validate(DECLARATION, result.unwrap().values)


def test_a_huge_argv_is_read_without_exhausting_the_stack() -> None:
    tokens = ["r", "MsgHost", "1", "h"] + ["Extra", "0"] * 20000
    args = parsed(EntryPoint.MONITOR, tokens)
    assert args.values == {"MsgHost": ("h",)}
    assert len(args.warnings) == 20000


def _same_config(a: dict[str, Raw], b: dict[str, Raw]) -> None:
    left, right = validate(DECLARATION, a), validate(DECLARATION, b)
    assert is_successful(left), left
    assert is_successful(right), right
    for attr in DECLARATION.attrs:
        assert left.unwrap()[attr] == right.unwrap()[attr], attr.name


@given(valid_msg_values(), st.integers(1, 3600))
def test_valid_attributes_survive_a_round_trip_through_v50(
    values: dict[str, Raw], budget: int
) -> None:
    tokens = argv.render_v50(DECLARATION, "res", values, {"AEPTimeout": str(budget)})
    args = parsed(EntryPoint.MONITOR, list(tokens))
    assert args.form is ArgvForm.V50
    assert args.aep_timeout == budget
    _same_config(values, dict(args.values))


@given(valid_msg_values(), st.sampled_from(list(CleanReason)))
def test_valid_attributes_survive_a_round_trip_through_v40(
    values: dict[str, Raw], reason: CleanReason
) -> None:
    tokens = argv.render_v40(DECLARATION, "res", values, {"State": "1"}, reason)
    args = parsed(EntryPoint.CLEAN, list(tokens))
    assert args.form is ArgvForm.V40
    assert args.clean_reason is reason
    _same_config(values, dict(args.values))


def _tuples(tokens: list[str]) -> list[list[str]]:
    """A rendered V50 vector (after the resource name) cut into its name-count-values tuples."""
    found: list[list[str]] = []
    index = 0
    while index < len(tokens):
        end = index + 2 + int(tokens[index + 1])
        found.append(tokens[index:end])
        index = end
    return found


@given(
    valid_msg_values(),
    st.one_of(st.just("LogDbg"), st.from_regex(r"Site[A-Z][a-z]{0,6}", fullmatch=True)),
    st.data(),
)
def test_only_an_empty_scalar_may_be_left_out(
    values: dict[str, Raw], name: str, data: st.DataObject
) -> None:
    """VCS leaves out the value of an empty scalar (`MonitorProgram 1` and no value). A
    vector's or an unknown name's one-value tuple without its value is not that: it is an
    error, wherever it stands, never a silently empty value."""
    tuples = _tuples(list(argv.render_v50(DECLARATION, "r", values))[1:])
    at = data.draw(st.integers(1, len(tuples)))  # after the first: that one marks V50

    def with_inserted(*inserted: str) -> list[str]:
        return ["r", *(t for group in tuples[:at] for t in group), *inserted] + [
            t for group in tuples[at:] for t in group
        ]

    assert failure(EntryPoint.MONITOR, with_inserted(name, "1")).startswith("V50 arguments")
    scalar = parsed(EntryPoint.MONITOR, with_inserted("AEPTimeout", "1"))
    assert scalar.engine["AEPTimeout"] == ""
    assert scalar.values == parsed(EntryPoint.MONITOR, with_inserted()).values


V40_TOKENS = [
    "r", "TRACE", "2", "0", "", "", "", "mail.example.com",
    "4", "imap", "143", "pop", "110", "3", "/opt/SUNWmsgsr", "MSG",
]  # fmt: skip
COUNT_AT = V40_TOKENS.index("4")  # MsgServices' count


@pytest.mark.parametrize("missing", [1, 2, 4])
def test_a_v40_count_that_runs_past_the_end_is_refused(missing: int) -> None:
    # MsgServices is cut short: its count promises more values than remain.
    tokens = V40_TOKENS[: COUNT_AT + 1 + 4 - missing]
    assert (
        failure(EntryPoint.MONITOR, tokens)
        == "V40 arguments: MsgServices: count 4 runs past the end"
    )


def test_a_v40_count_that_is_not_a_number_is_named() -> None:
    tokens = [*V40_TOKENS[:COUNT_AT], "four", *V40_TOKENS[COUNT_AT + 1 :]]
    assert (
        failure(EntryPoint.MONITOR, tokens)
        == "V40 arguments: MsgServices: count 'four' is not a number"
    )


def test_a_v40_vector_ending_where_its_count_says_is_whole() -> None:
    assert parsed(EntryPoint.MONITOR, V40_TOKENS).values["ServerType"] == ("MSG",)
    assert failure(EntryPoint.MONITOR, V40_TOKENS[:-1]) == (
        "V40 arguments: the value of ServerType is missing (argument list ends early)"
    )


def test_logdbg_in_a_v40_arglist_is_a_counted_vector_both_ways() -> None:
    decl = replace(DECLARATION, arglist=(*DECLARATION.arglist, "LogDbg"))
    values: dict[str, Raw] = {
        "ServerRoot": ("/opt/msg",), "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143"),
    }  # fmt: skip
    tokens = argv.render_v40(decl, "r", values, {"LogDbg": "DBG_1 DBG_3", "State": "2"})
    assert tokens[-3:] == ("2", "DBG_1", "DBG_3")
    found = argv.parse(decl, EntryPoint.MONITOR, list(tokens))
    assert is_successful(found), found
    assert found.unwrap().engine["LogDbg"] == "DBG_1 DBG_3"
    assert found.unwrap().engine["State"] == "2"
