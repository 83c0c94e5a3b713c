"""Moran's I: global spatial autocorrelation and local indicators (LISA) with
high-high, low-low, high-low and low-high classes.

Hand-written on sparse matrices for the same reasons as ``getis_ord``; the
formulas follow Cliff and Ord (1981) for the global moments and Anselin (1995)
for the local statistic, with the normalisation esda uses.

References
----------
Cliff, A. D. and Ord, J. K. (1981). *Spatial Processes: Models and Applications*. Pion.
Anselin, L. (1995). Local indicators of spatial association - LISA.
*Geographical Analysis*, 27(2), 93-115.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtr

from crimeprev.errors import InvalidInputError
from crimeprev.spatial._common import RandomLike, as_float_array, resolve_rng
from crimeprev.spatial.getis_ord import _permuted_sums
from crimeprev.spatial.significance import benjamini_hochberg
from crimeprev.spatial.weights import Weights


@dataclass(frozen=True)
class GlobalMoran:
    """Global Moran's I with its moments under normality and randomisation.

    ``p_norm`` and ``p_rand`` are one-sided (positive autocorrelation) as in
    esda; ``p_sim`` is the folded permutation p-value when permutations ran.
    """

    i: float
    expected: float
    variance_normal: float
    z_normal: float
    p_normal: float
    variance_random: float
    z_random: float
    p_random: float
    p_sim: float | None
    permutations: int
    seed: int | None
    n: int
    weights_kind: str
    weights_parameters: dict[str, Any] = field(default_factory=dict)


def _prepare(values: Any, weights: Weights) -> tuple[np.ndarray, Any]:
    y = as_float_array(values, "values")
    if weights.n != y.size:
        raise InvalidInputError(
            f"weights are for {weights.n} locations but {y.size} values were given"
        )
    if y.size < 3:
        raise InvalidInputError(f"Moran's I needs at least 3 locations, got {y.size}")
    if np.ptp(y) == 0:
        raise InvalidInputError("all values are equal: Moran's I is undefined")
    return y, weights.matrix.tocsr()


def global_moran(
    values: Any, weights: Weights, *, permutations: int = 0, rng: RandomLike = None
) -> GlobalMoran:
    """Compute global Moran's I, I = (n / S0) * z'Wz / z'z.

    Parameters
    ----------
    values : array-like
    weights : Weights
        Usually row-standardised (``weights.row_standardized()``).
    permutations : int, default=0
        Random permutations of the values for a pseudo p-value.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    GlobalMoran

    Examples
    --------
    >>> from crimeprev.spatial.weights import grid_contiguity
    >>> w = grid_contiguity([0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1], rule="rook")
    >>> round(global_moran([1, 2, 3, 1, 2, 3], w.row_standardized()).i, 4)
    0.5
    """
    y, matrix = _prepare(values, weights)
    generator, seed = resolve_rng(rng)
    n = y.size
    z = y - y.mean()
    s0 = matrix.sum()
    symmetric = matrix + matrix.T
    s1 = 0.5 * symmetric.multiply(symmetric).sum()
    row = np.asarray(matrix.sum(axis=1)).ravel()
    column = np.asarray(matrix.sum(axis=0)).ravel()
    s2 = np.sum((row + column) ** 2)
    statistic = n / s0 * (z @ (matrix @ z)) / (z @ z)
    expected = -1.0 / (n - 1)
    variance_normal = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n * n - 1) * s0 * s0) - expected**2
    kurtosis = n * np.sum(z**4) / np.sum(z**2) ** 2
    variance_random = (
        n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s0 * s0)
        - kurtosis * ((n * n - n) * s1 - 2 * n * s2 + 6 * s0 * s0)
    ) / ((n - 1) * (n - 2) * (n - 3) * s0 * s0) - expected**2
    z_normal = (statistic - expected) / np.sqrt(variance_normal)
    z_random = (statistic - expected) / np.sqrt(variance_random)
    p_sim = None
    if permutations:
        denominator = z @ z
        simulated = np.empty(int(permutations))
        for k in range(int(permutations)):
            shuffled = z[generator.permutation(n)]
            simulated[k] = n / s0 * (shuffled @ (matrix @ shuffled)) / denominator
        above = int(np.sum(simulated >= statistic))
        p_sim = (min(above, int(permutations) - above) + 1) / (permutations + 1)
    return GlobalMoran(
        i=float(statistic),
        expected=expected,
        variance_normal=float(variance_normal),
        z_normal=float(z_normal),
        p_normal=float(ndtr(-abs(z_normal))),
        variance_random=float(variance_random),
        z_random=float(z_random),
        p_random=float(ndtr(-abs(z_random))),
        p_sim=p_sim,
        permutations=int(permutations),
        seed=seed,
        n=n,
        weights_kind=weights.kind,
        weights_parameters=dict(weights.parameters),
    )


#: Quadrant codes of local Moran's I (as in esda: 1 HH, 2 LH, 3 LL, 4 HL).
QUADRANTS: dict[int, str] = {1: "high-high", 2: "low-high", 3: "low-low", 4: "high-low"}


@dataclass(frozen=True, eq=False)
class LocalMoran:
    """Local Moran's I per location with quadrant and significance.

    Attributes
    ----------
    i : numpy.ndarray
        I_i = (z_i / m2) * sum_j w_ij z_j with m2 = sum z^2 / (n - 1), the
        normalisation esda uses (Anselin 1995 divides by n; the maps agree).
    quadrant : numpy.ndarray
        1 high-high, 2 low-high, 3 low-low, 4 high-low (value vs. spatial lag).
    p_sim : numpy.ndarray or None
        Folded conditional-permutation pseudo p-values.
    cluster : numpy.ndarray
        The quadrant where significant at ``alpha`` (after FDR if asked), else 0.
    """

    i: np.ndarray
    quadrant: np.ndarray
    p_sim: np.ndarray | None
    cluster: np.ndarray
    alpha: float
    fdr: bool
    permutations: int
    seed: int | None
    weights_kind: str


def local_moran(
    values: Any,
    weights: Weights,
    *,
    permutations: int = 999,
    rng: RandomLike = None,
    alpha: float = 0.05,
    fdr: bool = False,
) -> LocalMoran:
    """Compute local Moran's I with conditional-permutation pseudo p-values.

    Parameters
    ----------
    values : array-like
    weights : Weights
        Usually row-standardised.
    permutations : int, default=999
    rng : numpy.random.Generator, int or None
    alpha : float, default=0.05
        Significance level of the cluster map.
    fdr : bool, default=False
        Apply the false discovery rate to the cluster map.

    Returns
    -------
    LocalMoran

    Examples
    --------
    >>> from crimeprev.spatial.weights import grid_contiguity
    >>> cols, rows = np.meshgrid(np.arange(6), np.arange(6))
    >>> w = grid_contiguity(cols.ravel(), rows.ravel(), rule="rook").row_standardized()
    >>> values = np.where(cols.ravel() < 3, 10.0, 0.0)
    >>> result = local_moran(values, w, permutations=99, rng=0)
    >>> sorted(set(result.quadrant.tolist()))
    [1, 3]
    """
    y, matrix = _prepare(values, weights)
    generator, seed = resolve_rng(rng)
    n = y.size
    z = y - y.mean()
    m2 = np.sum(z * z) / (n - 1)
    lag = matrix @ z
    statistic = z / m2 * lag
    quadrant = np.where(z > 0, np.where(lag > 0, 1, 4), np.where(lag > 0, 2, 3)).astype(np.int64)
    p_sim = None
    cluster = np.zeros(n, dtype=np.int64)
    if permutations:
        greater, lesser, _, _ = _permuted_sums(z, matrix, int(permutations), generator, lag)
        p_sim = (1.0 + np.minimum(greater, lesser)) / (permutations + 1.0)
        significant = benjamini_hochberg(p_sim, alpha) if fdr else p_sim <= alpha
        cluster = np.where(significant, quadrant, 0)
    return LocalMoran(
        i=statistic,
        quadrant=quadrant,
        p_sim=p_sim,
        cluster=cluster,
        alpha=alpha,
        fdr=fdr,
        permutations=int(permutations),
        seed=seed,
        weights_kind=weights.kind,
    )
