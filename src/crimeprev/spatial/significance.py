"""Multiple testing and confidence classes for local statistics.

Local statistics test every cell at once; with thousands of cells some 5% tests
succeed by chance. The false discovery rate (Benjamini and Hochberg 1995)
controls the expected share of false hot spots among those reported, as
ArcGIS's hot spot tools do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Confidence levels of the hot/cold classes (Gi_Bin style: +-1, +-2, +-3).
LEVELS: tuple[float, ...] = (0.90, 0.95, 0.99)


def benjamini_hochberg(p_values: Any, alpha: float) -> np.ndarray:
    """Return which tests are rejected at false discovery rate ``alpha``.

    Parameters
    ----------
    p_values : array-like
        One p-value per test (NaN = not tested, never rejected).
    alpha : float
        Target false discovery rate, 0 < alpha < 1.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> benjamini_hochberg([0.001, 0.02, 0.03, 0.5], 0.05).tolist()
    [True, True, True, False]
    >>> benjamini_hochberg([0.001, 0.04, 0.045, 0.5], 0.05).tolist()
    [True, False, False, False]
    """
    p = np.asarray(p_values, dtype=float)
    tested = np.isfinite(p)
    m = int(tested.sum())
    rejected = np.zeros(p.shape, dtype=bool)
    if m == 0:
        return rejected
    values = p[tested]
    order = np.argsort(values, kind="stable")
    thresholds = alpha * np.arange(1, m + 1) / m
    passing = np.flatnonzero(values[order] <= thresholds)
    if passing.size:
        cutoff = values[order][passing[-1]]
        rejected[tested] = values <= cutoff
    return rejected


def confidence_classes(z: Any, p_values: Any, *, fdr: bool = False) -> np.ndarray:
    """Return hot/cold classes: +3/+2/+1 for hot spots at 99/95/90% confidence,
    -3/-2/-1 for cold spots, 0 otherwise.

    Parameters
    ----------
    z : array-like
        Direction (sign) of each statistic.
    p_values : array-like
        Two-sided p-values.
    fdr : bool, default=False
        Apply the false discovery rate correction at each level.

    Examples
    --------
    >>> confidence_classes([3.0, -2.1, 1.7, 0.5], [0.003, 0.036, 0.09, 0.6]).tolist()
    [3, -2, 1, 0]
    """
    z = np.asarray(z, dtype=float)
    p = np.asarray(p_values, dtype=float)
    level = np.zeros(z.shape, dtype=np.int64)
    for rank, confidence in enumerate(LEVELS, start=1):
        alpha = 1 - confidence
        significant = benjamini_hochberg(p, alpha) if fdr else (p <= alpha)
        level[significant] = rank
    return (np.sign(z) * level).astype(np.int64)


CLASS_LABELS: dict[int, str] = {
    3: "hot spot, 99% confidence",
    2: "hot spot, 95% confidence",
    1: "hot spot, 90% confidence",
    0: "not significant",
    -1: "cold spot, 90% confidence",
    -2: "cold spot, 95% confidence",
    -3: "cold spot, 99% confidence",
}
