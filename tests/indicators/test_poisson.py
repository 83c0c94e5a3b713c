"""Exact Poisson intervals and tests against R's poisson.test.

Reference values: R 4.x ``poisson.test(x)$conf.int`` for x = 0, 1, 5, 10 (Garwood
1936 exact limits, also tabulated in Sahai & Khurshid 1993), and the two-sample
example of ``?poisson.test``: ``poisson.test(c(11, 6 + 8 + 7), c(800, 1083 + 1050 + 878))``
gives rate ratio 1.971488, 95% CI 0.8584264-4.2772659, p-value 0.07967.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from crimeprev.errors import InvalidInputError
from crimeprev.indicators.poisson import (
    compare_counts,
    garwood_interval,
    rate_with_interval,
    rates_with_intervals,
)


@pytest.mark.parametrize(
    ("count", "low", "high"),
    [
        (0, 0.0, 3.688879),
        (1, 0.02531781, 5.571643),
        (5, 1.623486, 11.668332),
        (10, 4.795389, 18.390356),
    ],
    ids=["0", "1", "5", "10"],
)
def test_garwood_matches_r_poisson_test(count, low, high):
    got_low, got_high = garwood_interval(count)
    assert_allclose([got_low, got_high], [low, high], rtol=1e-6, atol=1e-8)


def test_two_counts_match_r_poisson_test_example():
    result = compare_counts(11, 6 + 8 + 7, exposure1=800, exposure2=1083 + 1050 + 878)
    assert_allclose(result.rate_ratio, 1.971488, rtol=1e-6)
    assert_allclose([result.ci_low, result.ci_high], [0.8584264, 4.2772659], rtol=1e-6)
    assert_allclose(result.p_value, 0.07967, atol=5e-6)


def test_rate_interval_scales_the_count_interval():
    result = rate_with_interval(10, 20_000, per=1000)
    assert result.rate == 0.5
    assert_allclose([result.ci_low, result.ci_high], np.array([4.795389, 18.390356]) / 20)


def test_bad_inputs_raise():
    with pytest.raises(InvalidInputError, match="population must be > 0"):
        rate_with_interval(3, 0)
    with pytest.raises(InvalidInputError, match="counts must be finite and >= 0"):
        garwood_interval(-1)
    with pytest.raises(InvalidInputError, match="confidence"):
        garwood_interval(3, confidence=1.5)


def test_missing_population_gives_nan_not_zero():
    rate, low, high = rates_with_intervals(np.array([4, 4]), np.array([1000, np.nan]))
    assert rate[0] == 400 and np.isnan(rate[1]) and np.isnan(high[1])


@given(count=st.integers(0, 10**6), population=st.integers(1, 10**7))
def test_rate_scales_with_per_and_interval_covers_rate(count, population):
    small = rate_with_interval(count, population, per=1000)
    large = rate_with_interval(count, population)
    assert small.rate * 100 == pytest.approx(large.rate)
    assert large.ci_low <= large.rate <= large.ci_high
