"""The monitor policy shared by all types: verdicts, MonitorProgram, cycles, budgets."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jescore.policy.monitoring import (
    VERDICT_TABLE,
    Budget,
    Next,
    SecondLevel,
    State,
    advance_cycle,
    cycles_until_due,
    decide,
    read_program_exit,
    stop_timeline,
    unsaved,
)

MONITOR_CODES = {99, 100, *range(101, 111)}


@pytest.mark.parametrize(
    ("code", "state", "exit_code"),
    [
        (0, State.ONLINE, 110),
        (110, State.ONLINE, 110),
        (1, State.OFFLINE, 100),
        (100, State.OFFLINE, 100),
        (105, State.UNKNOWN, 99),  # the guide: every value but 110, 0, 100, 1 is unknown
        (101, State.UNKNOWN, 99),
        (109, State.UNKNOWN, 99),
        (2, State.UNKNOWN, 99),
        (99, State.UNKNOWN, 99),
        (111, State.UNKNOWN, 99),
        (-9, State.UNKNOWN, 99),
        (None, State.UNKNOWN, 99),
    ],
)
def test_monitor_program_exit_codes_read_as_the_seed_says(
    code: int | None, state: State, exit_code: int
) -> None:
    verdict = read_program_exit(code)
    assert verdict.state is state
    assert verdict.code == exit_code


def test_the_verdict_table_covers_every_case() -> None:
    assert set(VERDICT_TABLE) == {(ok, s) for ok in (True, False) for s in SecondLevel}
    assert all(VERDICT_TABLE[(False, s)] is Next.OFFLINE for s in SecondLevel)


@given(
    st.booleans(),
    st.sampled_from(list(SecondLevel)),
    st.one_of(st.none(), st.integers(-300, 300).map(read_program_exit)),
)
def test_the_monitor_verdict_is_always_a_vcs_monitor_code(
    first_ok: bool, second: SecondLevel, program: object
) -> None:
    assert program is None or hasattr(program, "state")
    verdict = decide(first_ok, "procs", second, "why", program)  # type: ignore[arg-type]
    assert verdict.code in MONITOR_CODES
    if not first_ok or second is SecondLevel.FAILED:
        assert verdict.state is State.OFFLINE
    if verdict.state is State.ONLINE:
        assert first_ok and second in {SecondLevel.NOT_DUE, SecondLevel.PASSED}


def test_an_inconclusive_second_level_is_unknown_not_offline() -> None:
    assert decide(True, "ok", SecondLevel.INCONCLUSIVE, "no helper", None).code == 99


@given(st.integers(0, 50), st.integers(1, 300))
def test_the_second_level_runs_on_exactly_every_nth_cycle(every: int, cycles: int) -> None:
    stored: int | None = None
    due_at: list[int] = []
    for number in range(1, cycles + 1):
        cycle = advance_cycle(stored, every)
        stored = cycle.to_store
        if cycle.due:
            due_at.append(number)
    expected = [] if every == 0 else list(range(every, cycles + 1, every))
    assert due_at == expected


@given(st.one_of(st.none(), st.integers(-(10**9), 10**9)), st.integers(1, 100))
def test_a_corrupt_count_restarts_the_rhythm_and_never_fails(
    stored: int | None, every: int
) -> None:
    cycle = advance_cycle(stored, every)
    assert 1 <= cycle.position <= every
    assert 0 <= cycle.to_store < every
    until = cycles_until_due(stored, every)
    assert until is not None
    assert 1 <= until <= every
    assert cycle.due == (until == 1)


@given(st.one_of(st.none(), st.integers(-5, 50)), st.integers(0, 30))
def test_an_unsaved_count_makes_every_cycle_due(stored: int | None, every: int) -> None:
    cycle = unsaved(advance_cycle(stored, every))
    assert cycle.due == (every > 0)


@given(st.floats(0.1, 100_000))
def test_the_watchdog_fires_inside_the_budget_after_the_last_phase(seconds: float) -> None:
    budget = Budget(seconds)
    assert stop_timeline(budget).kill_until < budget.watchdog_at < seconds


@given(st.floats(0.5, 100_000), st.floats(-10, 100_000), st.integers(0, 20))
def test_probe_thresholds_fit_inside_the_time_left(seconds: float, left: float, steps: int) -> None:
    budget = Budget(seconds)
    share = budget.step_timeout(left, steps)
    if share is not None:
        assert share >= 1
        assert share * steps <= left - budget.margin + 1e-9 or share == 1


@example(seconds=60.0, spare=0.5, steps=1)
@example(seconds=60.0, spare=1.0, steps=3)
@given(
    st.floats(0.5, 100_000),
    st.one_of(st.floats(-1, 2), st.floats(-10, 100_000)),
    st.integers(1, 20),
)
def test_a_probe_gets_a_share_only_when_a_whole_second_is_spare(
    seconds: float, spare: float, steps: int
) -> None:
    """Under 1 s spare (the time left less the margin) no probe runs: a 1 s threshold
    would eat into the margin kept for answering."""
    budget = Budget(seconds)
    left = budget.margin + spare
    share = budget.step_timeout(left, steps)
    if left - budget.margin < 1:
        assert share is None
    else:
        assert share is not None
        assert 1 <= share <= left - budget.margin


@given(st.floats(0.1, 100_000))
def test_the_stop_timeline_is_ordered_and_inside_the_budget(seconds: float) -> None:
    budget = Budget(seconds)
    line = stop_timeline(budget)
    assert 0 < line.command_timeout < line.wait_until < line.term_until < line.kill_until
    assert line.kill_until <= seconds - budget.margin
