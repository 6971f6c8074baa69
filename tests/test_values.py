"""The core's value machinery: records (jescore.record), results (jescore.result) and the
typing stand-ins (jescore.typenames), held to what they replace: frozen dataclasses,
dry-python/returns' Result and typing."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jescore import record as rec
from jescore.record import FrozenRecord, mutable_record, record, replace
from jescore.result import Failure, Success, UnwrapFailedError, is_successful
from shell.install import import_roots


@record
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = rec.field(default=(), compare=False)


@dataclass(frozen=True)
class PointDC:  # the standard it must behave like
    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default=(), compare=False)


@record
class Masked:
    name: str
    secret: str = rec.field(default="", repr=False)


@mutable_record
class Counter:
    count: int
    seen: list[int] = rec.field(default_factory=list)


@record
class Derived(Point):
    z: int = 5


ints = st.integers(-5, 5)
tags = st.lists(st.sampled_from("ab"), max_size=2).map(tuple)


triples = st.tuples(ints, ints, tags)


@given(triples, triples)
def test_a_record_compares_hashes_and_shows_like_a_frozen_dataclass(
    first: tuple[int, int, tuple[str, ...]], second: tuple[int, int, tuple[str, ...]]
) -> None:
    (x1, y1, t1), (x2, y2, t2) = first, second
    a, b = Point(x1, y1, t1), Point(x2, y=y2, tags=t2)
    da, db = PointDC(x1, y1, t1), PointDC(x2, y=y2, tags=t2)
    assert (a == b) == (da == db)
    if a == b:
        assert hash(a) == hash(b)
    assert repr(a) == repr(da).replace("PointDC", "Point")
    assert replace(a, y=7) == Point(x1, 7, t1)
    plain: object = (x1, y1)
    assert a != plain  # never equal to a tuple or another class's record
    assert Derived(x1) != Point(x1)


def test_a_record_is_frozen_and_checks_its_arguments() -> None:
    p = Point(1)
    with pytest.raises(FrozenRecord):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenRecord):
        del p.x
    with pytest.raises(TypeError, match="misses the argument 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="has no field 'w'"):
        Point(1, w=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="got 'x' twice"):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError, match="takes 3 arguments"):
        Point(1, 2, (), 4)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="has no field 'w'"):
        replace(p, w=1)


def test_fields_order_defaults_inheritance_and_match() -> None:
    assert [f.name for f in rec.fields(Derived)] == ["x", "y", "tags", "z"]
    assert Derived(1).z == 5
    match Derived(1, 2):
        case Derived(x, y, _, z):
            assert (x, y, z) == (1, 2, 5)
        case _:
            pytest.fail("a record matches positionally, as a dataclass does")
    with pytest.raises(TypeError, match="without a default follows one with"):

        @record
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]


def test_repr_false_hides_a_field_and_a_written_repr_wins() -> None:
    assert "hunter2" not in repr(Masked("n", "hunter2"))

    @record
    class Own:
        a: int

        def __repr__(self) -> str:
            return "mine"

    assert repr(Own(1)) == "mine"


def test_a_mutable_record_has_its_own_factory_values_and_no_hash() -> None:
    a, b = Counter(1), Counter(1)
    a.seen.append(3)
    a.count = 2
    assert b.seen == [] and a.count == 2
    with pytest.raises(TypeError):
        hash(a)


def test_records_and_results_survive_copy_and_pickle() -> None:
    for value in (Point(1, 2, ("a",)), Success(Point(3)), Failure("why")):
        assert pickle.loads(pickle.dumps(value)) == value  # noqa: S301 - our own bytes
        assert copy.deepcopy(value) == value


def test_replace_still_serves_a_dataclass() -> None:
    assert replace(PointDC(1), y=2) == PointDC(1, 2)


@given(st.one_of(st.integers(), st.text(max_size=3)), st.booleans())
def test_result_follows_returns_vocabulary(value: int | str, ok: bool) -> None:
    result = Success(value) if ok else Failure(value)
    assert is_successful(result) is ok
    assert result.value_or("default") == (value if ok else "default")
    assert result.map(lambda v: [v]) == (Success([value]) if ok else result)
    assert result.bind(Failure) == Failure(value)
    assert result.swap() == (Failure(value) if ok else Success(value))
    if ok:
        assert result.unwrap() == value
        with pytest.raises(UnwrapFailedError):
            result.failure()
    else:
        assert result.failure() == value
        with pytest.raises(UnwrapFailedError):
            result.unwrap()
    assert Success(value) != Failure(value)
    assert repr(result) == f"<{'Success' if ok else 'Failure'}: {value!r}>"
    match result:
        case Success(inner):
            assert ok and inner == value
        case Failure(inner):
            assert not ok and inner == value
    with pytest.raises(AttributeError):
        result._inner_value = 1


ENTRY_IMPORTS = (
    "import sys\n"
    "from shell import engine\n"
    "for t in ('SunJESMsg', 'SunJESLDAP', 'SunJESAdm'):\n"
    "    engine.policy_of(t)\n"
    "import jescore.policy.procedures, shell.system\n"
    "import shell.ocf, jescore.policy.ocf_procedures  # the OCF front end, meta-data apart\n"
    "print(' '.join(sorted(sys.modules)))\n"
)
# What an entry point must not load: each costs a monitor call more than our whole policy
# (docs/performance.md), and none is needed to decide.
TOO_DEAR = {"typing", "typing_extensions", "dataclasses", "inspect", "returns", "pathlib",
            "argparse", "psutil", "subprocess", "socket", "tempfile", "ast", "importlib",
            # the native probes' clients: loaded only when a native probe runs
            "shell.probes", "imaplib", "poplib", "smtplib", "http.client", "ssl"}  # fmt: skip


def test_an_entry_point_loads_none_of_the_dear_modules() -> None:
    # Started as an installed entry point starts (shell.install.entry_script).
    code = f"import sys\nsys.path[:0] = {import_roots()!r}\n{ENTRY_IMPORTS}"
    done = subprocess.run(
        [sys.executable, "-IS", "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "jescore.policy.sunjesldap" in loaded  # the check ran
    assert not (loaded & TOO_DEAR), sorted(loaded & TOO_DEAR)
