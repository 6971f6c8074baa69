"""The generated types files against the seed guide's Appendix A, attribute for attribute.

The seed's type definitions come from a PDF. Reading them takes two repairs, both checked
to be exactly what they claim (see `seed_sections`):
- page breaks split a definition over two code blocks: the blocks of a section are joined;
- the VCS 4.x block ends with one ')' too many, on a line of its own right after the last
  type's own ')': that one line is dropped (and the block is shown not to read with it).
Trailing blanks and wrapped ArgList lines need no repair: the reader ignores both.

Where ours differ from the seed on purpose, the difference is asserted exactly:
`static int AEPTimeout = 1` in the 5.0/5.1 variants, ContainerName appended to the ArgList
of the zone variants, AgentDirectory/AgentFile in SunJESAdm's 5.0 variant (the seed
ships SunJESAdm in the 4.x form only), and the attributes a declaration lists as `added`
(NativeProbes), declared and at the end of the seed's ArgList in every variant.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jescore.policy.declaration import Declaration, Dimension, VcsType
from jescore.policy.registry import POLICIES
from jescore.result import Failure, Success
from jescore.tooling.typesfile import (
    Variant,
    agent_directory,
    all_files,
    file_name,
    render,
    variants_for,
)
from jescore.tooling.vcsconf import parse
from jescore.tooling.vcsconf import render as render_conf
from jescore.tooling.vcsconf_model import ConfError, Configuration, TypeAttr, TypeDef

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SEED = REPO.parent / "shared" / "reference" / "seed-vcs-sunjes-agent-guide.txt"

MSG = POLICIES["SunJESMsg"].declaration
ADM = POLICIES["SunJESAdm"].declaration
LDAP = POLICIES["SunJESLDAP"].declaration
DECLS = (MSG, ADM, LDAP)

# Section headings of Appendix A, in order, and the variant each one shows.
SECTIONS = (
    ("VCS 4.x", Variant.VCS4),
    ("VCS 5.0", Variant.VCS50),
    ("Sample agent type definitions for Solaris zone support", Variant.VCS50_ZONE),
)
APPENDIX_START = "Sample agent type definitions\n"
APPENDIX_END = "\nIndex\n"


def seed_text() -> str:
    path = Path(os.environ.get("JESAGENT_SEED", str(DEFAULT_SEED)))
    if not path.is_file():
        message = f"seed guide not found at {path} (set JESAGENT_SEED to its path)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path.read_text()


def code_blocks(section: str) -> str:
    """The contents of the section's ``` blocks, joined: page breaks split them."""
    out: list[str] = []
    inside = False
    for line in section.splitlines():
        if line.strip() == "```":
            inside = not inside
        elif inside:
            out.append(line.rstrip())
    return "\n".join(out) + "\n"


def drop_stray_paren(block: str) -> tuple[str, int]:
    """Drop every ')' line that directly follows another ')' line; returns how many."""
    kept: list[str] = []
    dropped = 0
    for line in block.splitlines():
        if line.strip() == ")" and kept and kept[-1].strip() == ")":
            dropped += 1
            continue
        kept.append(line)
    return "\n".join(kept) + "\n", dropped


def seed_sections() -> dict[Variant, tuple[TypeDef, ...]]:
    text = seed_text()
    start = text.index(APPENDIX_START, text.index("This appendix includes the following topics"))
    appendix = text[start : text.index(APPENDIX_END, start)]
    found: dict[Variant, tuple[TypeDef, ...]] = {}
    for index, (heading, variant) in enumerate(SECTIONS):
        begin = appendix.index(f"\n{heading}\n") + len(heading) + 2
        end = (
            appendix.index(f"\n{SECTIONS[index + 1][0]}\n", begin)
            if index + 1 < len(SECTIONS)
            else len(appendix)
        )
        block = code_blocks(appendix[begin:end])
        cleaned, dropped = drop_stray_paren(block)
        if variant is Variant.VCS4:
            # The repair is needed here, and only this one line of it.
            assert dropped == 1
            assert isinstance(parse(block), Failure)
        else:
            assert dropped == 0
        match parse(cleaned):
            case Success(conf):
                found[variant] = conf.types
            case Failure(error):
                pytest.fail(f"seed section {heading!r} does not read: {error}")
    return found


@pytest.fixture(scope="module")
def seed() -> dict[Variant, tuple[TypeDef, ...]]:
    return seed_sections()


def ours(decl: Declaration, variant: Variant) -> TypeDef:
    result = parse(render(decl, variant))
    if isinstance(result, Failure):
        pytest.fail(f"{file_name(decl, variant)} does not read: {result.failure()}")
    (typedef,) = result.unwrap().types
    return typedef


def static_str(name: str, value: str) -> TypeAttr:
    return TypeAttr(name, VcsType.STR, Dimension.SCALAR, (value,), static=True)


AEP_TIMEOUT = TypeAttr("AEPTimeout", VcsType.INT, Dimension.SCALAR, ("1",), static=True)


def without_lines(typedef: TypeDef) -> TypeDef:
    return TypeDef(typedef.name, typedef.attrs, 0)


def seed_shaped(decl: Declaration, typedef: TypeDef) -> TypeDef:
    """Ours without the attributes added to the seed's (each checked to be where it
    belongs: declared, and at the end of the seed's ArgList)."""
    names = decl.added
    arglist = typedef.arglist
    tail = arglist[len(arglist) - len(names) :]
    zone_tail = arglist[len(arglist) - len(names) - 1 : -1]
    assert names and names in (tail, zone_tail), arglist
    assert all(typedef.attr(name) is not None for name in names)
    kept = tuple(n for n in arglist if n not in names)
    attrs = tuple(
        TypeAttr(a.name, a.vcs_type, a.dimension, kept, a.static) if a.name == "ArgList" else a
        for a in typedef.attrs
        if a.name not in names
    )
    return TypeDef(typedef.name, attrs, typedef.line)


def added_by(decl: Declaration, typedef: TypeDef) -> TypeDef:
    return seed_shaped(decl, typedef) if decl.added else typedef


def test_the_seed_shows_the_types_we_expect(seed: dict[Variant, tuple[TypeDef, ...]]) -> None:
    assert [t.name for t in seed[Variant.VCS4]] == ["SunJESMsg", "SunJESAdm", "SunJESLDAP"]
    assert [t.name for t in seed[Variant.VCS50]] == ["SunJESMsg", "SunJESAdm", "SunJESLDAP"]
    assert [t.name for t in seed[Variant.VCS50_ZONE]] == ["SunJESLDAP", "SunJESMsg"]


@pytest.mark.parametrize("decl", DECLS, ids=lambda d: d.type_name)
def test_4x_variant_equals_the_seed(
    seed: dict[Variant, tuple[TypeDef, ...]], decl: Declaration
) -> None:
    (theirs,) = [t for t in seed[Variant.VCS4] if t.name == decl.type_name]
    assert without_lines(added_by(decl, ours(decl, Variant.VCS4))) == without_lines(theirs)


@pytest.mark.parametrize("decl", DECLS, ids=lambda d: d.type_name)
def test_50_variant_equals_the_seed_apart_from_our_additions(
    seed: dict[Variant, tuple[TypeDef, ...]], decl: Declaration
) -> None:
    (theirs,) = [t for t in seed[Variant.VCS50] if t.name == decl.type_name]
    mine = added_by(decl, ours(decl, Variant.VCS50))
    added = [AEP_TIMEOUT]
    if decl is ADM:
        added = [
            static_str("AgentDirectory", "/opt/VRTSagents/ha/bin/SunJESAdm"),
            static_str("AgentFile", "/opt/VRTSvcs/bin/Script50Agent"),
            AEP_TIMEOUT,
        ]
    assert [a for a in mine.attrs if a not in theirs.attrs] == added
    assert tuple(a for a in mine.attrs if a not in added) == theirs.attrs
    if decl is not ADM:
        assert theirs.attr("AgentFile") == static_str("AgentFile", "/opt/VRTSvcs/bin/Script50Agent")
        assert theirs.attr("AgentDirectory") == static_str("AgentDirectory", agent_directory(decl))


@pytest.mark.parametrize("decl", [MSG, LDAP], ids=lambda d: d.type_name)
def test_zone_variant_equals_the_seed_apart_from_our_additions(
    seed: dict[Variant, tuple[TypeDef, ...]], decl: Declaration
) -> None:
    (theirs,) = [t for t in seed[Variant.VCS50_ZONE] if t.name == decl.type_name]
    mine = added_by(decl, ours(decl, Variant.VCS50_ZONE))
    assert mine.arglist == (*theirs.arglist, "ContainerName")
    assert [a.name for a in mine.attrs if a not in theirs.attrs] == ["AEPTimeout", "ArgList"]
    assert mine.attr("AEPTimeout") == AEP_TIMEOUT
    rest = tuple(a for a in mine.attrs if a.name not in {"AEPTimeout", "ArgList"})
    assert rest == tuple(a for a in theirs.attrs if a.name != "ArgList")
    assert theirs.attr("ContainerType") == static_str("ContainerType", "Zone")
    assert theirs.attr("ContainerName") == TypeAttr(
        "ContainerName", VcsType.STR, Dimension.SCALAR, ()
    )


@pytest.mark.parametrize("decl", DECLS, ids=lambda d: d.type_name)
def test_51_variants_differ_from_50_only_in_the_agent_binary(decl: Declaration) -> None:
    for plain, newer in ((Variant.VCS50, Variant.VCS51), (Variant.VCS50_ZONE, Variant.VCS51_ZONE)):
        old, new = ours(decl, plain), ours(decl, newer)
        assert new.attr("AgentFile") == static_str("AgentFile", "/opt/VRTSvcs/bin/Script51Agent")
        assert [a for a in old.attrs if a.name != "AgentFile"] == [
            a for a in new.attrs if a.name != "AgentFile"
        ]


@pytest.mark.parametrize("decl", DECLS, ids=lambda d: d.type_name)
def test_every_variant_follows_the_declaration(decl: Declaration) -> None:
    for variant in variants_for(decl):
        typedef = ours(decl, variant)
        zones = variant.zones
        assert typedef.arglist == decl.arglist_for(zones=zones)
        declared = [a for a in typedef.attrs if not a.static]
        expected = [a for a in decl.attrs if zones or not a.zone_only]
        assert [a.name for a in declared] == [a.name for a in expected]
        for got, want in zip(declared, expected, strict=True):
            assert (got.vcs_type, got.dimension) == (want.vcs_type, want.dimension)
            default = want.types_cf_default()
            assert got.default == (() if default is None else want.default), want.name
        statics = [a.name for a in typedef.attrs if a.static]
        if variant is Variant.VCS4:
            assert statics == ["ArgList"]
        else:
            head = ["ContainerType"] if zones else []
            assert statics == [*head, "AgentDirectory", "AgentFile", "AEPTimeout", "ArgList"]


def test_file_names_and_variants() -> None:
    names = sorted(all_files())
    assert names == sorted(
        [
            "SunJESMsgTypes.cf", "SunJESMsgTypes50.cf", "SunJESMsgTypes51.cf",
            "SunJESMsgTypes50_zone.cf", "SunJESMsgTypes51_zone.cf",
            "SunJESLDAPTypes.cf", "SunJESLDAPTypes50.cf", "SunJESLDAPTypes51.cf",
            "SunJESLDAPTypes50_zone.cf", "SunJESLDAPTypes51_zone.cf",
            "SunJESAdmTypes.cf", "SunJESAdmTypes50.cf", "SunJESAdmTypes51.cf",
        ]
    )  # fmt: skip
    assert variants_for(ADM) == (Variant.VCS4, Variant.VCS50, Variant.VCS51)


def test_a_type_without_zone_support_falls_back_to_its_plain_file() -> None:
    assert file_name(ADM, Variant.VCS50_ZONE) == "SunJESAdmTypes50.cf"
    assert render(ADM, Variant.VCS51_ZONE) == render(ADM, Variant.VCS51)
    assert "ContainerType" not in render(ADM, Variant.VCS50_ZONE)


@pytest.mark.parametrize("name", sorted(all_files()))
def test_every_generated_file_round_trips_through_the_reader(name: str) -> None:
    text = all_files()[name]
    first = parse(text)
    assert isinstance(first, Success), str(first.failure())
    conf: Configuration = first.unwrap()
    assert len(conf.types) == 1
    assert name.startswith(conf.types[0].name + "Types")
    again = parse(render_conf(conf))
    assert isinstance(again, Success)
    assert without_lines(again.unwrap().types[0]) == without_lines(conf.types[0])


def test_a_broken_types_file_is_reported_with_its_line() -> None:
    text = render(MSG, Variant.VCS50).replace("str MsgServices{}", "str MsgServices{")
    error = parse(text).failure()
    assert isinstance(error, ConfError)
    assert error.line == text.splitlines().index("\tstr MsgServices{") + 1
