"""One secrets module for every output: no secret value, and no piece of one 4 characters
long or more, reaches a log line, a parse error, explain or doctor, for any argument
vector, well-formed or broken."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from jescore.policy import argv as vcs_argv
from jescore.policy.declaration import Declaration, Dimension, Raw, validate
from jescore.policy.procedures import logging_fallbacks
from jescore.policy.registry import POLICIES
from jescore.policy.resource import Snapshot
from jescore.policy.secrets import MASK, mask, mask_forms, secret_words
from jescore.policy.vcs import CleanReason, EntryPoint
from jescore.record import replace
from jescore.result import is_successful
from jescore.tooling import diagnosis, explain
from shell.engine import carry_out
from tests.fakesystem import FakeSystem
from tests.test_procedures import Situation, situations

# Secrets are drawn from characters no other value or message uses, so any run of four
# of them in an output can only come from a secret. Quotes and backslashes test escaping.
MARKER = "QXZVKW#~^'\"\\"
secrets = st.text(st.sampled_from(MARKER), min_size=4, max_size=80)

SAMPLES: dict[str, dict[str, Raw]] = {
    "SunJESMsg": {
        "ServerRoot": ("/opt/msg",),
        "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143"),
        "ServerType": ("MSG",),
        "LDAPTestUser": ("probe",),
        "SecondLevelMonitor": ("1",),
    },
    "SunJESLDAP": {
        "InstanceRoot": ("/ds/slapd-a",),
        "LDAPHost": ("ldap.example.com",),
        "LDAPPort": ("389",),
    },
    "SunJESAdm": {
        "ServerRoot": ("/adm",),
        "AdminHost": ("admin.example.com",),
        "AdminPort": ("390",),
        "AdminUser": ("admin",),
    },
}


ESCAPES = frozenset("'\"\\")


def fragments(secret: str) -> set[str]:
    """Its 4-character pieces, but those made of quotes and backslashes alone: a repr of
    innocent values (empty strings quoted inside a quoted line) makes those by itself."""
    pieces = {secret[i : i + 4] for i in range(len(secret) - 3)}
    return {piece for piece in pieces if not set(piece) <= ESCAPES}


def vector(decl: Declaration, form: str, entry: EntryPoint, values: dict[str, Raw]) -> list[str]:
    render = vcs_argv.render_v50 if form == "V50" else vcs_argv.render_v40
    reason = CleanReason.MONITOR_HUNG if entry is EntryPoint.CLEAN else None
    engine = {"LogDbg": "DBG_1 DBG_2 DBG_3 DBG_4 DBG_5"} if form == "V50" else {}
    return list(render(decl, "res1", values, engine, reason))


@st.composite
def broken(draw: st.DrawFn, tokens: list[str], protected: set[int]) -> list[str]:
    """The vector with its secrets in place, but anything else dropped, duplicated,
    garbled or cut short; the secret's own count may lie or be missing."""
    out = list(tokens)
    for _ in range(draw(st.integers(0, 3))):
        if not out:
            break
        index = draw(st.integers(0, len(out) - 1))
        if index in protected:
            continue
        action = draw(st.sampled_from(["drop", "dup", "garble", "count"]))
        if action == "drop":
            out.pop(index)
            protected = {i - 1 if i > index else i for i in protected}
        elif action == "dup":
            out.insert(index, out[index])
            protected = {i + 1 if i >= index else i for i in protected}
        elif action == "garble":
            out[index] = draw(st.sampled_from(["7", "x y", "", "-k", "MsgServices"]))
        elif out[index].isdigit():
            out[index] = draw(st.sampled_from(["0", "2", "3", "99", "one"]))
    if draw(st.booleans()) and out:
        cut = draw(st.integers(1, len(out)))
        out = out[:cut]
    return out


def meant_secret(
    decl: Declaration, entry: EntryPoint, argv: list[str], pair: list[str]
) -> set[str]:
    """The secrets the vector holds. A vector that reads and validates cleanly means what
    it says (a shift that lands a marker in, say, IState makes it an IState value, which
    nothing can tell from data); in any other vector every marker is a secret. Validated
    as the agents validate: a bad logging value falls back to its default, never making
    the vector invalid."""
    parsed = vcs_argv.parse(decl, entry, argv)
    if is_successful(parsed):
        found = parsed.unwrap()
        values, _ = logging_fallbacks(decl, dict(found.values), found.engine.get("LogDbg", ""))
        if is_successful(validate(decl, values)):
            return {v for name in decl.secret_names for v in values.get(name, ()) if v in pair}
    return {t for t in pair if t in argv}


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(sorted(POLICIES)),
    st.sampled_from(list(EntryPoint)),
    st.sampled_from(["V50", "V40"]),
    st.lists(secrets, min_size=2, max_size=2),
    st.data(),
)
def test_no_output_shows_a_secret_or_a_piece_of_one(
    type_name: str, entry: EntryPoint, form: str, pair: list[str], data: st.DataObject
) -> None:
    policy = POLICIES[type_name]
    decl = policy.declaration
    names = sorted(decl.secret_names)
    values = {**SAMPLES[type_name], **{n: (pair[i % 2],) for i, n in enumerate(names)}}
    tokens = vector(decl, form, entry, values)
    protected = {i for i, t in enumerate(tokens) if t in pair}
    if form == "V50":  # the attribute's name must stay: without it nothing marks the value
        protected |= {i - 2 for i in protected}
    argv = data.draw(broken(tokens, protected))
    hidden = meant_secret(decl, entry, argv, pair)

    system = FakeSystem(policy, None, [])
    carry_out(type_name, entry, argv, system)
    said = [str(op) for op in system.ops if op[0] in {"log", "debug"}]

    reading = explain.read(policy, entry, argv)
    expl = explain.explain(reading, explain.Observed(Snapshot(())))
    said.append(explain.render_text(expl))
    said.append(json.dumps(explain.as_json(expl), ensure_ascii=False))

    subject = diagnosis.read_subject(decl, argv)
    checks = diagnosis.diagnose(subject, diagnosis.plan(subject), diagnosis.Findings())
    report = diagnosis.Report(type_name, subject.resource, None, checks, subject.secrets)
    said.append(diagnosis.render_text([report]))
    said.append(json.dumps(diagnosis.as_json([report]), ensure_ascii=False))

    everything = "\n".join(said)
    for secret in hidden:
        for piece in fragments(secret):
            assert piece not in everything, (secret, piece, argv)


def test_a_secret_that_is_a_prefix_of_another_is_masked_whole() -> None:
    assert mask("hunter22 and hunter2", ["hunter2", "hunter22"]) == f"{MASK} and {MASK}"


def test_a_long_secret_cut_short_in_a_message_is_masked_too() -> None:
    secret = "S3cr3t" * 20
    quoted = repr(secret[:60] + "...")
    assert secret[:20] not in mask(f"count {quoted} is not a number", [secret])


def test_a_wrong_count_still_marks_the_value_secret() -> None:
    decl = POLICIES["SunJESMsg"].declaration
    long = "L" * 100
    for count in ("0", "2", "5"):
        words = secret_words(decl, ["r1", "LDAPTestPasswd", count, long, "LDAPTestUser", "1", "u"])
        assert long in words, count
    assert long in secret_words(decl, ["r1", "LDAPTestPasswd", long])  # no count at all


def test_v40_positions_are_masked_only_when_the_vector_names_nothing() -> None:
    decl = POLICIES["SunJESMsg"].declaration
    v40 = ["r1", "INFO", "2", "0", "ENCRYPTED", "probe"]
    assert "ENCRYPTED" in secret_words(decl, v40)
    assert "ENCRYPTED" in secret_words(decl, ["r1", "3", *v40[1:]])  # after a clean reason
    v50 = ["r1", "ResLogLevel", "1", "INFO", "MsgHost", "1", "h"]
    assert not secret_words(decl, v50)  # no secret named: no positional guess


@given(st.lists(secrets, min_size=1, max_size=3))
def test_every_form_is_masked_longest_first(words: list[str]) -> None:
    forms = mask_forms(words)
    assert list(forms) == sorted(forms, key=lambda f: (-len(f), f))
    for word in words:
        assert mask(repr(word), words).count(MASK) >= 1


@settings(max_examples=300, deadline=None)
@given(situations(), st.sampled_from([None, *CleanReason]))
def test_a_clean_v40_vector_masks_exactly_its_secrets(
    situation: Situation, reason: CleanReason | None
) -> None:
    """Masking is generous when a vector reads badly (positions may have shifted), and
    exact when it reads cleanly: then only the secrets' own words are masked, wherever
    the counted vectors before them put them."""
    type_name, values, _ = situation
    decl = POLICIES[type_name].declaration
    assert is_successful(validate(decl, values))
    tokens = vcs_argv.render_v40(decl, "res1", values, {"State": "2", "IState": "0"}, reason)
    expected = {word for name in decl.secret_names for word in values.get(name, ()) if word}
    found = secret_words(decl, tokens)
    assert expected <= found
    # Not knowing whether a clean reason comes first, the word at a secret's place under
    # the other reading is masked too; nothing else is.
    other = _v40_place(decl, tokens, 2 if reason is None else 1)
    assert found - expected <= other


def _v40_place(decl: Declaration, tokens: tuple[str, ...], offset: int) -> set[str]:
    """The words at the secrets' places, reading the vector from `offset` (1: right after
    the resource name; 2: after a clean reason), counts taken as they come."""
    found: set[str] = set()
    index = offset
    for name in decl.arglist:
        if index >= len(tokens):
            break
        vector = (decl.dimension_of(name) or Dimension.SCALAR) is not Dimension.SCALAR
        if vector and tokens[index].isdigit():
            size = int(tokens[index])
            words = tokens[index + 1 : index + 1 + size]
            index += 1 + size
        else:
            words = tokens[index : index + 1]
            index += 1
        if name in decl.secret_names:
            found.update(words)
    return found


def test_a_secret_after_a_counted_vector_is_found_at_its_place() -> None:
    """Counts before a secret move it: an ArgList with MsgServices second puts the
    password after however many values the count says."""
    base = POLICIES["SunJESMsg"].declaration
    rest = (n for n in base.arglist if n not in {"ResLogLevel", "MsgServices"})
    order = ("ResLogLevel", "MsgServices", *rest)
    decl = replace(base, arglist=order)
    values: dict[str, Raw] = {
        "ServerRoot": ("/opt/msg",), "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143", "pop", "110"), "LDAPTestUser": ("probe",),
        "LDAPTestPasswd": ("EncRypted9",),
    }  # fmt: skip
    for reason in (None, CleanReason.MONITOR_HUNG):
        tokens = vcs_argv.render_v40(decl, "res1", values, {"State": "2"}, reason)
        found = secret_words(decl, tokens)
        assert "EncRypted9" in found
        assert found - {"EncRypted9"} <= _v40_place(decl, tokens, 2 if reason is None else 1)


def test_a_vector_that_names_an_attribute_but_reads_as_v40_is_masked_by_position() -> None:
    """One token short (a trailing NativeProbes may be left out) with an attribute name as
    a value: it reads as V40, and the password shifted into IState's place is masked."""
    decl = POLICIES["SunJESMsg"].declaration
    argv = ["INFO", "MsgServices", "", "KKKK", "probe", "", "", "mail.example.com", "2"]
    argv += ["imap", "143", "1", "/opt/msg", "MSG", "0"]
    assert "KKKK" in secret_words(decl, argv)
    # A V50 vector of clean's passes for V40 when read without its reason: still V50.
    adm = POLICIES["SunJESAdm"].declaration
    values: dict[str, Raw] = {"ServerRoot": ("/srv/adm",), "AdminHost": ("h.example.com",)}
    values |= {"AdminPort": ("390",), "AdminPasswd": ("",)}
    clean = vcs_argv.render_v50(adm, "res1", values, None, CleanReason.OFFLINE_TIMED_OUT)
    assert not secret_words(adm, clean) & {"1", "390"}
