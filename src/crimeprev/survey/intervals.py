"""Confidence intervals for survey proportions: Wald, logit and Korn-Graubard.

The conventions follow R's ``svyciprop``: the critical value is Student's
t with the design degrees of freedom; Korn-Graubard uses the effective
sample size ``p (1 - p) / v`` adjusted by ``(t_{n-1} / t_df)^2`` and
Clopper-Pearson limits at that size.

References
----------
Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for
proportions with small expected number of positive counts estimated from
survey data. *Survey Methodology* 24, 193-201.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from crimeprev.errors import InvalidInputError

#: Interval methods for proportions.
PROPORTION_METHODS: tuple[str, ...] = ("wald", "logit", "korn-graubard")


def t_quantile(level: float, degrees_of_freedom: float) -> float:
    """Two-sided critical value of Student's t.

    Examples
    --------
    >>> round(t_quantile(0.95, 1e9), 4)
    1.96
    """
    if not 0 < level < 1:
        raise InvalidInputError(f"level must be between 0 and 1, got {level}", field="level")
    return float(stats.t.ppf(0.5 + level / 2, degrees_of_freedom))


def proportion_interval(
    proportion: np.ndarray,
    standard_error: np.ndarray,
    *,
    method: str = "logit",
    level: float = 0.95,
    degrees_of_freedom: float = np.inf,
    sample_size: np.ndarray | float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Confidence limits for survey-estimated proportions.

    Parameters
    ----------
    proportion, standard_error : numpy.ndarray
        Estimates and their design-based standard errors.
    method : {"wald", "logit", "korn-graubard"}, default="logit"
        ``wald``: p +/- t se (clipped to [0, 1]); ``logit``: symmetric on the
        logit scale, se / (p (1 - p)); ``korn-graubard``: Clopper-Pearson at
        the effective sample size.
    level : float, default=0.95
        Confidence level.
    degrees_of_freedom : float, default=inf
        Design degrees of freedom.
    sample_size : array or float, optional
        Unweighted number of rows, needed by ``korn-graubard`` (its
        ``t_{n-1}`` adjustment).

    Returns
    -------
    (low, high) : tuple of numpy.ndarray

    Examples
    --------
    >>> low, high = proportion_interval(np.array([0.2]), np.array([0.04]), method="wald",
    ...                                 degrees_of_freedom=np.inf)
    >>> np.round([low[0], high[0]], 4).tolist()
    [0.1216, 0.2784]
    """
    p = np.asarray(proportion, dtype=float)
    se = np.asarray(standard_error, dtype=float)
    t = t_quantile(level, degrees_of_freedom)
    if method == "wald":
        return np.clip(p - t * se, 0.0, 1.0), np.clip(p + t * se, 0.0, 1.0)
    if method == "logit":
        with np.errstate(divide="ignore", invalid="ignore"):
            logit = np.log(p / (1 - p))
            half = t * se / (p * (1 - p))
            low = 1 / (1 + np.exp(-(logit - half)))
            high = 1 / (1 + np.exp(-(logit + half)))
        degenerate = (p <= 0) | (p >= 1)
        return np.where(degenerate, p, low), np.where(degenerate, p, high)
    if method == "korn-graubard":
        if sample_size is None:
            raise InvalidInputError("korn-graubard needs the sample size", field="sample_size")
        n = np.asarray(sample_size, dtype=float)
        alpha = 1 - level
        with np.errstate(divide="ignore", invalid="ignore"):
            effective = p * (1 - p) / se**2
            adjust = (
                stats.t.ppf(alpha / 2, n - 1) / stats.t.ppf(alpha / 2, degrees_of_freedom)
            ) ** 2
            effective = effective * adjust
            successes = effective * p
            low = stats.beta.ppf(alpha / 2, successes, effective - successes + 1)
            high = stats.beta.ppf(1 - alpha / 2, successes + 1, effective - successes)
        low = np.where(p <= 0, 0.0, low)
        high = np.where(p >= 1, 1.0, high)
        return np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    raise InvalidInputError(
        f"unknown interval method {method!r}; expected one of {', '.join(PROPORTION_METHODS)}",
        field="method",
        value=method,
    )
