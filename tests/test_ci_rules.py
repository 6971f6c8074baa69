"""In CI nothing that needs a real server may skip: the conftest hook makes it fail."""

from __future__ import annotations

import contextlib

import pytest

from tests import conftest


class _Item:
    nodeid = "tests/test_x.py::test_needs_389"

    def __init__(self, marked: bool) -> None:
        self.marked = marked

    def get_closest_marker(self, name: str) -> object | None:
        return object() if self.marked and name == "realserver" else None


class _Outcome:
    def __init__(self, report: pytest.TestReport) -> None:
        self.report = report

    def get_result(self) -> pytest.TestReport:
        return self.report


def _skipped() -> pytest.TestReport:
    where = ("tests/test_x.py", 1, "389-ds-base is not installed")
    return pytest.TestReport(
        _Item.nodeid, ("tests/test_x.py", 1, "x"), {}, "skipped", where, "call"
    )


def _judge(marked: bool, in_ci: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(conftest, "IN_CI", in_ci)
    report = _skipped()
    hook = conftest.pytest_runtest_makereport(_Item(marked), None)  # type: ignore[arg-type]
    next(hook)
    with contextlib.suppress(StopIteration):
        hook.send(_Outcome(report))
    return report.outcome


def test_a_real_server_test_that_skips_in_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _judge(marked=True, in_ci=True, monkeypatch=monkeypatch) == "failed"


def test_elsewhere_a_skip_stays_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _judge(marked=True, in_ci=False, monkeypatch=monkeypatch) == "skipped"
    assert _judge(marked=False, in_ci=True, monkeypatch=monkeypatch) == "skipped"
