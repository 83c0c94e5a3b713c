"""Exact Poisson intervals and tests for counts and rates.

Garwood's (1936) exact interval inverts the Poisson distribution through its
link with the chi-square distribution; it is the interval R's
``poisson.test`` reports. The two-count test conditions on the total, so the
first count is binomial (the exact test of R's ``poisson.test(c(x1, x2),
c(t1, t2))``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from crimeprev.errors import InvalidInputError


@dataclass(frozen=True)
class RateResult:
    """A rate per `per` with its exact interval."""

    count: float
    population: float
    rate: float
    ci_low: float
    ci_high: float
    per: int
    confidence: float


def _check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise InvalidInputError(f"confidence must be in (0, 1), got {confidence!r}")
    return confidence


def garwood_interval(
    count: float | np.ndarray, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) confidence interval for a Poisson mean.

    Parameters
    ----------
    count : float or array
        Observed counts (>= 0). Non-integer counts (weighted by concordance
        shares) are accepted; the chi-square formula extends smoothly.
    confidence : float, default=0.95
        Two-sided confidence level.

    Returns
    -------
    (low, high) : tuple of arrays
        The lower bound is 0 for a zero count.

    Raises
    ------
    InvalidInputError
        If a count is negative or not finite.

    References
    ----------
    Garwood, F. (1936). Fiducial limits for the Poisson distribution.
    Biometrika 28, 437-442.

    Examples
    --------
    >>> low, high = garwood_interval(10)
    >>> round(float(low), 4), round(float(high), 4)
    (4.7954, 18.3904)
    """
    _check_confidence(confidence)
    counts = np.asarray(count, dtype=float)
    if np.any(~np.isfinite(counts)) or np.any(counts < 0):
        raise InvalidInputError(f"counts must be finite and >= 0, got {count!r}")
    alpha = 1 - confidence
    with np.errstate(invalid="ignore"):
        low = np.where(counts > 0, stats.chi2.ppf(alpha / 2, 2 * counts) / 2, 0.0)
    high = stats.chi2.ppf(1 - alpha / 2, 2 * counts + 2) / 2
    return low, high


def rate_with_interval(
    count: float, population: float, *, per: int = 100_000, confidence: float = 0.95
) -> RateResult:
    """Rate per `per` residents with its exact Poisson (Garwood) interval.

    Raises
    ------
    InvalidInputError
        If `population` is not positive or `count` is negative.

    Examples
    --------
    >>> result = rate_with_interval(25, 50_000)
    >>> result.rate
    50.0
    >>> round(result.ci_low, 2), round(result.ci_high, 2)
    (32.36, 73.81)
    """
    if not population > 0:
        raise InvalidInputError(
            f"population must be > 0, got {population!r}; drop areas with no residents "
            "or pass a denominator"
        )
    low, high = garwood_interval(count, confidence=confidence)
    scale = per / population
    return RateResult(
        count=float(count),
        population=float(population),
        rate=float(count) * scale,
        ci_low=float(low) * scale,
        ci_high=float(high) * scale,
        per=per,
        confidence=confidence,
    )


def rates_with_intervals(
    counts: np.ndarray, populations: np.ndarray, *, per: int = 100_000, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised rates and Garwood intervals; NaN where the population is missing or 0.

    Examples
    --------
    >>> rate, low, high = rates_with_intervals(np.array([0, 10]), np.array([1000, 0]))
    >>> rate.tolist()[0], bool(np.isnan(rate[1]))
    (0.0, True)
    """
    counts = np.asarray(counts, dtype=float)
    populations = np.asarray(populations, dtype=float)
    low, high = garwood_interval(counts, confidence=confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(populations > 0, per / populations, np.nan)
    return counts * scale, low * scale, high * scale


@dataclass(frozen=True)
class PoissonComparison:
    """Exact comparison of two Poisson counts with exposures."""

    count1: float
    count2: float
    exposure1: float
    exposure2: float
    rate_ratio: float
    ci_low: float
    ci_high: float
    p_value: float


def compare_counts(
    count1: int,
    count2: int,
    *,
    exposure1: float = 1.0,
    exposure2: float = 1.0,
    confidence: float = 0.95,
) -> PoissonComparison:
    """Exact conditional test that two Poisson rates are equal.

    Given the total ``n = count1 + count2``, ``count1`` is binomial with
    ``p = exposure1 / (exposure1 + exposure2)`` under the null; the interval
    for the rate ratio comes from the Clopper-Pearson interval for ``p``.

    Examples
    --------
    >>> result = compare_counts(11, 21, exposure1=800, exposure2=3011)
    >>> round(result.rate_ratio, 4), round(result.p_value, 5)
    (1.9715, 0.07967)
    """
    _check_confidence(confidence)
    if count1 < 0 or count2 < 0 or exposure1 <= 0 or exposure2 <= 0:
        raise InvalidInputError(
            f"counts must be >= 0 and exposures > 0, got {count1}, {count2}, "
            f"{exposure1}, {exposure2}"
        )
    total = int(count1) + int(count2)
    p_null = exposure1 / (exposure1 + exposure2)
    ratio_of_exposure = exposure2 / exposure1
    if total == 0:
        return PoissonComparison(
            count1, count2, exposure1, exposure2, float("nan"), 0.0, float("inf"), 1.0
        )
    test = stats.binomtest(int(count1), total, p_null)
    interval = test.proportion_ci(confidence_level=confidence, method="exact")

    def to_ratio(p: float) -> float:
        return float("inf") if p >= 1 else p / (1 - p) * ratio_of_exposure

    rate_ratio = (count1 / exposure1) / (count2 / exposure2) if count2 > 0 else float("inf")
    return PoissonComparison(
        count1=count1,
        count2=count2,
        exposure1=exposure1,
        exposure2=exposure2,
        rate_ratio=float(rate_ratio),
        ci_low=to_ratio(interval.low),
        ci_high=to_ratio(interval.high),
        p_value=float(test.pvalue),
    )
