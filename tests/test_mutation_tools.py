"""make mutate's arithmetic: the interval a sampled mutation score is reported with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.mutation_score import verdict, wilson


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_interval_holds_the_sample_s_score_within_0_and_1(sample: tuple[int, int]) -> None:
    hits, tries = sample
    low, high = wilson(hits, tries)
    assert 0.0 <= low <= hits / tries <= high <= 1.0


def test_a_larger_sample_gives_a_narrower_interval() -> None:
    small, large = wilson(75, 100), wilson(750, 1000)
    assert large[1] - large[0] < small[1] - small[0]


def test_the_textbook_values() -> None:
    """None of 10 killed: the score could still be up to 27.8 %; all 10: down to 72.2 %."""
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(10, 10)
    assert low == pytest.approx(0.7225, abs=1e-4) and high == 1.0


def test_mutmut_s_exit_codes_are_read_as_it_reads_them() -> None:
    assert verdict(None) == "not checked"
    assert verdict(0) == "survived"
    assert verdict(1) == verdict(-9) == "killed"  # a test failed; the mutant crashed
    assert verdict(33) == "no test reaches it"
