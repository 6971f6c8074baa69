"""The VCS configuration reader: the grammar, one test per kind of error (line and
message), and properties: it never raises, and render-then-parse gives back what was
rendered."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jescore.policy.declaration import Dimension, Raw, VcsType
from jescore.policy.registry import POLICIES
from jescore.record import replace
from jescore.result import Failure, Result, Success
from jescore.tooling.vcsconf import (
    ENGINE_RESOURCE_ATTRS,
    KEYWORDS,
    FileError,
    parse,
    parse_many,
    quote,
    render,
    values_for,
)
from jescore.tooling.vcsconf_model import (
    ConfError,
    Configuration,
    Group,
    GroupDependency,
    Resource,
    ResourceLink,
    TypeAttr,
    TypeDef,
)

MSG_TYPE = """\
type SunJESMsg (
    static str ArgList[] = { ResLogLevel, State, IState, MsgHost, MsgServices }
    str ResLogLevel = INFO
    str MsgHost
    str MsgServices{}
    int SecondLevelMonitor = 0
    keylist Flags
    boolean Verbose = 0
)
"""


def ok(text: str) -> Configuration:
    result = parse(text)
    if isinstance(result, Failure):
        pytest.fail(f"did not read: {result.failure()}")
    return result.unwrap()


def error_of(text: str) -> ConfError:
    result = parse(text)
    assert isinstance(result, Failure), f"read although it should not: {result}"
    found = result.failure()
    assert isinstance(found, ConfError)
    return found


def only_resource(conf: Configuration) -> Resource:
    ((_, res),) = conf.resources()
    return res


# -- grammar ----------------------------------------------------------------------------


def test_include_cluster_and_system_are_kept() -> None:
    conf = ok(
        'include "types.cf"\ninclude "SunJESMsgTypes50.cf"\n'
        "cluster mailclus ( UserNames = { admin = abc } Administrators = { admin } )\n"
        'system node1.example.com ( SysInfo@node1.example.com = "x y" )\n'
        "system node2\n"
    )
    assert conf.includes == ("types.cf", "SunJESMsgTypes50.cf")
    assert conf.extra == {
        "cluster.mailclus.UserNames": ("admin", "abc"),
        "cluster.mailclus.Administrators": ("admin",),
        "system.node1.example.com.SysInfo@node1.example.com": ("x y",),
    }


def test_type_definitions_read_with_dimensions_defaults_and_statics() -> None:
    conf = ok(
        "type T (\n"
        "  static str ArgList[] = { A, B, C, State }\n"
        "  static temp int Budget = 5\n"
        '  str A = "x y"\n'
        "  str B[] = { p, q }\n"
        "  str C{} = { k = v, l = w }\n"
        "  int D{} = { one 1 two 2 }\n"
        "  keylist E = { a b }\n"
        "  boolean F\n"
        '  str G = ""\n'
        ")\n"
    )
    (typedef,) = conf.types
    assert typedef.line == 1
    assert typedef.arglist == ("A", "B", "C", "State")
    assert typedef.attrs[1:] == (
        TypeAttr("Budget", VcsType.INT, Dimension.SCALAR, ("5",), static=True),
        TypeAttr("A", VcsType.STR, Dimension.SCALAR, ("x y",)),
        TypeAttr("B", VcsType.STR, Dimension.VECTOR, ("p", "q")),
        TypeAttr("C", VcsType.STR, Dimension.ASSOCIATION, ("k", "v", "l", "w")),
        TypeAttr("D", VcsType.INT, Dimension.ASSOCIATION, ("one", "1", "two", "2")),
        TypeAttr("E", VcsType.STR, Dimension.VECTOR, ("a", "b")),
        TypeAttr("F", VcsType.BOOLEAN, Dimension.SCALAR, ()),
        TypeAttr("G", VcsType.STR, Dimension.SCALAR, ("",)),
    )


def test_resource_values_come_out_as_v50_would_pass_them() -> None:
    conf = ok(
        MSG_TYPE
        + "group g ( SystemList = { n1 = 0, n2 = 1 } AutoStartList = { n1 } Parallel = 0 )\n"
        "SunJESMsg m1 (\n"
        '  MsgHost = "mail.example.com"\n'
        "  MsgServices = { imap = 143, pop = 110 }\n"
        "  SecondLevelMonitor = 2\n"
        "  Flags = { a b, c }\n"
        "  Critical = 0\n"
        "  ResLogLevel@n1 = TRACE\n"
        ")\n"
    )
    (group,) = conf.groups
    assert group.values == {
        "SystemList": ("n1", "0", "n2", "1"),
        "AutoStartList": ("n1",),
        "Parallel": ("0",),
    }
    assert only_resource(conf).values == {
        "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143", "pop", "110"),
        "SecondLevelMonitor": ("2",),
        "Flags": ("a", "b", "c"),
        "Critical": ("0",),
        "ResLogLevel@n1": ("TRACE",),
    }


def test_the_informal_association_of_the_seed_reads_when_the_type_says_association() -> None:
    conf = ok(MSG_TYPE + "group g ()\nSunJESMsg m1 ( MsgServices = {http 80 pop 110 imap 143} )\n")
    assert only_resource(conf).values["MsgServices"] == ("http", "80", "pop", "110", "imap", "143")


def test_without_a_type_braces_read_as_given() -> None:
    conf = ok("group g ()\nOther r ( L = { a b c } P = { k = v } E = {} S = x )\n")
    assert only_resource(conf).values == {
        "L": ("a", "b", "c"),
        "P": ("k", "v"),
        "E": (),
        "S": ("x",),
    }


def test_strings_and_escapes() -> None:
    conf = ok(
        "group g ()\n"
        'Other r ( A = "say \\"hi\\"" B = "back\\\\slash" C = "C:\\temp" D = "" E = "{ ( = , )"'
        " F = /opt/x )\n"
    )
    assert only_resource(conf).values == {
        "A": ('say "hi"',),
        "B": ("back\\slash",),
        "C": ("C:\\temp",),  # any other backslash stays as written
        "D": ("",),
        "E": ("{ ( = , )",),
        "F": ("/opt/x",),
    }


def test_comments_are_skipped_and_lines_still_count() -> None:
    conf = ok(
        "// a comment\n"
        "/* a comment\n"
        "   over two lines */ group g (\n"
        ")\n"
        "Other r ( ) // trailing\n"
        'Other s ( A = "// not a comment" )\n'
    )
    (group,) = conf.groups
    assert group.line == 3
    assert [(r.name, r.line) for r in group.resources] == [("r", 5), ("s", 6)]
    assert group.resources[1].values["A"] == ("// not a comment",)


def test_resources_links_and_dependencies_belong_to_the_group_above_them() -> None:
    conf = ok(
        "group a ()\n"
        "Other a1 ()\n"
        "Other a2 ()\n"
        "a2 requires a1\n"
        "group b ()\n"
        "Other b1 ()\n"
        "requires group a online global soft\n"
        "group c ()\n"
        "requires group b online local hard\n"
        "requires group a offline local firm\n"
    )
    a, b, c = conf.groups
    assert [r.name for r in a.resources] == ["a1", "a2"]
    assert a.links == (ResourceLink("a2", "a1", 4),)
    assert [r.name for r in b.resources] == ["b1"]
    assert b.dependencies == (GroupDependency("a", "online", "global", "soft", 7),)
    assert [(d.child, d.category, d.location, d.rigidity) for d in c.dependencies] == [
        ("b", "online", "local", "hard"),
        ("a", "offline", "local", "firm"),
    ]


def test_resources_are_checked_against_types_from_other_files() -> None:
    main = 'include "SunJESMsgTypes.cf"\ngroup g ()\nSunJESMsg m ( MsgServices = {imap 143} )\n'
    result = parse_many([("main.cf", main), ("SunJESMsgTypes.cf", MSG_TYPE)])
    assert isinstance(result, Success)
    conf = result.unwrap()
    assert conf.includes == ("SunJESMsgTypes.cf",)
    assert [t.name for t in conf.types] == ["SunJESMsg"]
    bad = main.replace("MsgServices = {imap 143}", "MsgServices = imap")
    error = parse_many([("main.cf", bad), ("SunJESMsgTypes.cf", MSG_TYPE)]).failure()
    assert isinstance(error, FileError)
    assert str(error).startswith("main.cf: line 3: MsgServices of resource m is an association")


def test_errors_in_any_file_name_that_file() -> None:
    error = parse_many([("main.cf", "group g ()\n"), ("extra.cf", "\n\ngroup g ()\n")]).failure()
    assert str(error) == "extra.cf: line 3: group g is defined twice (first at main.cf line 1)"
    error = parse_many([("a.cf", MSG_TYPE), ("b.cf", MSG_TYPE)]).failure()
    assert str(error) == "b.cf: line 1: type SunJESMsg is defined twice (first at a.cf line 1)"


def test_values_for_keeps_the_declared_attributes_only() -> None:
    decl = POLICIES["SunJESMsg"].declaration
    res = Resource(
        "SunJESMsg",
        "m",
        {
            "MsgHost": ("mail.example.com",),
            "MsgHost@n2": ("mail2.example.com",),
            "Critical": ("0",),
            "ContainerName": ("z1",),
            "ResLogLevel@n1": ("TRACE",),
        },
    )
    assert values_for(decl, res) == {"MsgHost": ("mail.example.com",), "ContainerName": ("z1",)}
    assert values_for(decl, res, "n2")["MsgHost"] == ("mail2.example.com",)
    assert values_for(decl, res, "n1") == {
        "ResLogLevel": ("TRACE",),
        "MsgHost": ("mail.example.com",),
        "ContainerName": ("z1",),
    }


def test_quote_leaves_plain_words_bare() -> None:
    assert [quote(v) for v in ("INFO", "143", "-1", "", "a b", "/opt", 'x"y\\')] == [
        "INFO", "143", "-1", '""', '"a b"', '"/opt"', '"x\\"y\\\\"',
    ]  # fmt: skip


def test_render_writes_what_was_read() -> None:
    text = (
        'include "types.cf"\n'
        + MSG_TYPE
        + "cluster c ( UserNames = { admin = x } )\n"
        + "group g ( SystemList = { n1 = 0 } AutoStartList = { n1 } )\n"
        + "SunJESMsg m ( MsgServices = { core = 49994 } Flags = { one } Critical = 1 )\n"
        + "Other o ( V = { only } )\n"
        + "m requires o\n"
        + "group h ()\nrequires group g online global soft\n"
    )
    conf = ok(text)
    again = ok(render(conf))
    assert strip(again) == strip(conf)
    assert render(again) == render(conf)
    assert "MsgServices = { core = 49994 }" in render(conf)
    assert "Flags = { one }" in render(conf)


# -- errors: each kind with its line and message -------------------------------------

ERRORS = [
    # text, line, message (a part of it)
    ('group g (\n  A = "open\n)\n', 2, 'string is not closed: the closing " is missing'),
    ("group g ()\n/* never\nclosed\n", 2, "comment opened with /* is never closed"),
    ("group g (\n  A = 1\n", 1, "'(' of group g is never closed"),
    ("group g ()\nOther r (\n  A = 1\nOther s ()\n", 2,
     "'(' of resource r is not closed before line 4, where a new statement begins"),
    ("group g ()\nOther r (\n  A = { a, b\n)\n", 3, "'{' of A of resource r is not closed before ')'"),
    ("group g ()\nOther r ( A = { a, b\n", 2, "'{' of A of resource r is never closed"),
    ("type T (\n  str A\n", 1, "'(' of type T is never closed"),
    ("type T (\n  str A\ngroup g ()\n", 1,
     "'(' of type T is not closed before line 3, where a new statement begins"),
    ("cluster c ( A = 1 )\ncluster c (\n  A = 2 )\n", 3, "A of cluster c is set twice (first on line 1)"),
    ("\nfrobnicate\n", 2, 'unknown keyword "frobnicate"'),
    ("grup g\nsystem n1\n", 1, "expected '(' after resource g of type grup, found \"system\""),
    ("group g ()\n)\n", 2, "unexpected ')'"),
    ("\x01", 1, "unexpected control character U+0001"),
    ("Other r ()\n", 1, "resource r (Other) comes before any group"),
    ("r requires s\n", 1, "link r requires s comes before any group"),
    ("requires group g online global soft\n", 1, "requires group g comes before any group"),
    ("group g ()\nOther r ()\n\nr requires nowhere\n", 4,
     "link r requires nowhere: group g has no resource nowhere"),
    ("group g ()\nOther r ()\ngroup h ()\nOther s ()\ns requires r\n", 5,
     "link s requires r: r belongs to group g; a resource can only require resources of its own group (h)"),
    ("group g ()\nOther r ()\nr requires r\n", 3, "link r requires r: a resource cannot require itself"),
    ("group g ()\nOther r ()\nOther s ()\nr requires s\nr requires s\n", 5,
     "link r requires s is written twice"),
    ("group g ()\nOther r ()\nOther s ()\nr requires s\ns requires r\n", 5,
     "resource links form a cycle: r requires s requires r"),
    ("group g ()\nOther r ()\ngroup h ()\n\nOther r ()\n", 5,
     "resource r is defined twice (first in group g at line 2)"),
    ("group g ()\n\ngroup g ()\n", 3, "group g is defined twice (first at line 1)"),
    ("type T ()\ntype T ()\n", 2, "type T is defined twice (first at line 1)"),
    ("group g (\n  A = 1\n  A = 2\n)\n", 3, "A of group g is set twice (first on line 2)"),
    ("type T (\n  str A\n  int A\n)\n", 3, "attribute A is declared twice in type T (first on line 2)"),
    ("type T ( str A )\ngroup g ()\nT r (\n  Nope = 1\n)\n", 4, "Nope is not an attribute of type T (resource r)"),
    ("type T ( str A[] )\ngroup g ()\nT r (\n  A = x\n)\n", 4,
     "A of resource r is a vector { a, b }, but is given a single value"),
    ("type T ( str A )\ngroup g ()\nT r (\n  A = { x }\n)\n", 4,
     "A of resource r is a scalar, but is given a list of values"),
    ("type T ( str A[] )\ngroup g ()\nT r ( A = { k = v } )\n", 3,
     "A of resource r is a vector { a, b }, but is given key = value pairs"),
    ("type T ( str A{} )\ngroup g ()\nT r ( A = x )\n", 3,
     "A of resource r is an association { key = value }, but is given a single value"),
    ("type T ( str A{} )\ngroup g ()\nT r ( A = { imap 143 pop } )\n", 3,
     "A of resource r is an association, but its 3 values do not pair up"),
    ("type T ( str A{} )\ngroup g ()\nT r ( A = { imap 1 imap 2 } )\n", 3, "A of resource r lists the key imap twice"),
    ("group g ()\nOther r ( A = { k = 1, k = 2 } )\n", 2, "A of resource r lists the key k twice"),
    ("type T ( int N )\ngroup g ()\nT r ( N = many )\n", 3, 'N of resource r is an int, but "many" is not a whole number'),
    ("group g ()\nOther r ( Critical = yes )\n", 2, 'Critical of resource r is a boolean (0 or 1), but is given "yes"'),
    ("group g ()\nOther r ( A = { a = 1, b } )\n", 2, "A of resource r mixes key = value pairs with plain values"),
    ("group g ()\nOther r ( A = )\n", 2, "A of resource r has no value: found ')' after '='"),
    ("group g ()\nOther r ( A = { = 1 } )\n", 2, "'=' without a key in A of resource r"),
    ("group g ()\nOther r ( A = { k = } )\n", 2, "key k in A of resource r has no value after '='"),
    ("group g ()\nOther r ( 9A = 1 )\n", 2, '"9A" is not a valid attribute name in resource r'),
    ("group g ()\nOther r ( A 1 )\n", 2, "expected '=' after A in resource r, found \"1\""),
    ("group type ()\n", 1, '"type" is a keyword and cannot name a group'),
    ("group g ()\nOther a/b ()\n", 2, '"a/b" is not a valid name for a resource'),
    ("type T (\n  float X\n)\n", 2, "unknown attribute type \"float\" in type T"),
    ("type T (\n  int X = lots\n)\n", 2, 'the default of X in type T is an int, but "lots" is not a whole number'),
    ("type T (\n  keylist K[]\n)\n", 2, "keylist K in type T is a list: it takes no [] or {}"),
    ("type T (\n  str M{\n)\n", 2, "M{ in type T needs its '}' right after the '{'"),
    ("type T (\n  static str ArgList[] = { A, Missing }\n  str A\n)\n", 2,
     "the ArgList of type T names Missing, which the type does not declare"),
    ('include\ngroup g ()\n', 2, "include needs a file name in quotes, found \"group\""),
    ("group g ()\nrequires nothing\n", 2, "a statement cannot start with requires"),
    ("group g ()\nrequires group x online global soft\n", 2, "group g requires group x, which is not defined"),
    ("group g ()\nrequires group g online global soft\n", 2, "group g requires group g: a group cannot require itself"),
    ("group h ()\ngroup g ()\nrequires group h online global soft\nrequires group h online local firm\n", 4,
     "group g requires group h is written twice"),
    ("group g ()\nrequires group h sideways global soft\n", 2, "requires group h: expected online or offline"),
    ("group g ()\nrequires group h online nearby soft\n", 2, "requires group h: expected local or global or remote"),
    ("group g ()\nrequires group h online global\n", 2, "requires group h: expected soft, firm or hard, found the end of the text"),
    ("group g ()\nrequires group h offline global soft\n", 2, "requires group h: an offline dependency is always local"),
    ("group g ()\nrequires group h online global hard\n", 2, "requires group h: a hard dependency is always online local"),
    ("group g ()\nrequires group h online global soft\ngroup h ()\nrequires group g online global soft\n", 4,
     "group dependencies form a cycle: g requires h requires g"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "line", "message"), ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_each_error_names_its_line_and_reason(text: str, line: int, message: str) -> None:
    error = error_of(text)
    assert message in error.message
    assert error.line == line
    assert str(error) == f"line {line}: {error.message}"


# -- properties -------------------------------------------------------------------------

SOUP = st.sampled_from(
    [
        "include", "cluster", "system", "type", "group", "requires", "static", "temp", "str",
        "int", "boolean", "keylist", "online", "offline", "local", "global", "soft", "hard",
        "T", "X", "X[]", "X{}", "a", "b", "A@n1", "1", "-2", "(", ")", "{", "}", "=", ",",
        '"s"', '"', "\\", "//c\n", "/*", "*/", "\n", "\t", "@", "\x00",
    ]
)  # fmt: skip


def _never_raises(result: Result[Configuration, ConfError], text: str) -> None:
    if isinstance(result, Failure):
        error = result.failure()
        assert 1 <= error.line <= text.count("\n") + 1
        assert error.message


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(SOUP, max_size=60).map(" ".join)))
def test_parse_never_raises(text: str) -> None:
    _never_raises(parse(text), text)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a.cf", "b.cf"]), st.lists(SOUP, max_size=30).map(" ".join)),
        max_size=3,
    )
)
def test_parse_many_never_raises(texts: list[tuple[str, str]]) -> None:
    result = parse_many(texts)
    if isinstance(result, Failure):
        assert result.failure().name in {"a.cf", "b.cf"}


# A strategy for configurations that the reader accepts: typed resources get values that
# fit their types, links and group dependencies point backwards (so no cycles), names are
# unique where the language wants them unique.

_idents = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True).filter(
    lambda n: n not in KEYWORDS and n not in ENGINE_RESOURCE_ATTRS
)
_objects = st.from_regex(r"[a-z0-9_][a-z0-9_.-]{0,6}", fullmatch=True).filter(
    lambda n: n not in KEYWORDS
)
_texts = st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=10)
_raws = st.lists(_texts, max_size=4).map(tuple)
_VALID_DEPS = [
    ("online", "local", "soft"), ("online", "local", "firm"), ("online", "local", "hard"),
    ("online", "global", "soft"), ("online", "global", "firm"), ("online", "remote", "soft"),
    ("online", "remote", "firm"), ("offline", "local", "soft"), ("offline", "local", "firm"),
]  # fmt: skip


def _values_of(draw: st.DrawFn, vcs_type: VcsType, count: int) -> list[str]:
    if vcs_type is VcsType.INT:
        return [str(draw(st.integers(-(10**6), 10**6))) for _ in range(count)]
    if vcs_type is VcsType.BOOLEAN:
        return [draw(st.sampled_from(["0", "1"])) for _ in range(count)]
    return [draw(_texts) for _ in range(count)]


def _fitting(draw: st.DrawFn, vcs_type: VcsType, dimension: Dimension) -> Raw:
    if dimension is Dimension.SCALAR:
        return tuple(_values_of(draw, vcs_type, 1))
    if dimension is Dimension.VECTOR:
        return tuple(_values_of(draw, vcs_type, draw(st.integers(0, 3))))
    keys = draw(st.lists(_texts, max_size=3, unique=True))
    values = _values_of(draw, vcs_type, len(keys))
    return tuple(item for pair in zip(keys, values, strict=True) for item in pair)


@st.composite
def type_defs(draw: st.DrawFn, name: str) -> TypeDef:
    attrs: list[TypeAttr] = []
    for attr_name in draw(st.lists(_idents, max_size=4, unique=True)):
        vcs_type = draw(st.sampled_from(list(VcsType)))
        dimension = draw(st.sampled_from(list(Dimension)))
        default: Raw = ()
        if draw(st.booleans()):
            default = _fitting(draw, vcs_type, dimension)
        attrs.append(TypeAttr(attr_name, vcs_type, dimension, default, draw(st.booleans())))
    names = [a.name for a in attrs]
    with_arglist: bool = draw(st.booleans())
    if names and with_arglist and "ArgList" not in names:
        order = draw(st.permutations([*names, "State"]))
        attrs.insert(0, TypeAttr("ArgList", VcsType.STR, Dimension.VECTOR, tuple(order), True))
    return TypeDef(name, tuple(attrs))


@st.composite
def configurations(draw: st.DrawFn) -> Configuration:
    type_names = draw(st.lists(_idents, max_size=3, unique=True))
    types = [draw(type_defs(n)) for n in type_names]
    unknown = draw(_idents.filter(lambda n: n not in type_names))
    group_names = draw(st.lists(_objects, max_size=3, unique=True))
    resource_names = iter(draw(st.lists(_objects, min_size=8, max_size=8, unique=True)))
    groups: list[Group] = []
    for index, group_name in enumerate(group_names):
        resources: list[Resource] = []
        for _ in range(draw(st.integers(0, 2))):
            res_name = next(resource_names)
            typed: bool = draw(st.booleans())
            typedef = draw(st.sampled_from(types)) if types and typed else None
            values: dict[str, Raw] = {}
            if typedef is None:
                for attr_name in draw(st.lists(_idents, max_size=3, unique=True)):
                    values[attr_name] = draw(_raws)
                resources.append(Resource(unknown, res_name, values))
                continue
            for attr in typedef.attrs:
                if draw(st.booleans()):
                    key = attr.name + (draw(st.sampled_from(["", "@n1", "@n2.x"])))
                    values[key] = _fitting(draw, attr.vcs_type, attr.dimension)
            if draw(st.booleans()):
                values["Critical"] = (draw(st.sampled_from(["0", "1"])),)
            resources.append(Resource(typedef.name, res_name, values))
        links = []
        for later in range(1, len(resources)):
            if draw(st.booleans()):
                links.append(ResourceLink(resources[later].name, resources[0].name))
        deps = []
        if index and draw(st.booleans()):
            category, location, rigidity = draw(st.sampled_from(_VALID_DEPS))
            child = draw(st.sampled_from(group_names[:index]))
            deps.append(GroupDependency(child, category, location, rigidity))
        group_values = {
            name: draw(_raws) for name in draw(st.lists(st.sampled_from(
                ["SystemList", "AutoStartList", "Parallel", "Other", "Other@n1"]), unique=True))
        }  # fmt: skip
        groups.append(Group(group_name, group_values, tuple(resources), tuple(links), tuple(deps)))
    extra = {
        f"{kind}.{obj}.{attr}": draw(_raws)
        for kind, obj, attr in draw(
            st.lists(
                st.tuples(st.sampled_from(["cluster", "system"]), _objects, _idents),
                max_size=3,
                unique_by=lambda t: (t[0], t[1], t[2]),
            )
        )
    }
    includes = tuple(draw(st.lists(_texts.filter(bool), max_size=2, unique=True)))
    return Configuration(includes, tuple(types), tuple(groups), extra)


def strip(conf: Configuration) -> Configuration:
    """The configuration without line numbers."""
    return replace(
        conf,
        types=tuple(replace(t, line=0) for t in conf.types),
        groups=tuple(
            replace(
                g,
                line=0,
                resources=tuple(replace(r, line=0) for r in g.resources),
                links=tuple(replace(lk, line=0) for lk in g.links),
                dependencies=tuple(replace(d, line=0) for d in g.dependencies),
            )
            for g in conf.groups
        ),
    )


@settings(max_examples=120, deadline=None)
@given(configurations())
def test_render_then_parse_gives_the_configuration_back(conf: Configuration) -> None:
    text = render(conf)
    match parse(text):
        case Success(again):
            assert strip(again) == strip(conf)
            assert render(again) == text
        case Failure(error):
            pytest.fail(f"{error}\n{text}")
