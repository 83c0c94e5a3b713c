"""Getis-Ord local statistics Gi* and Gi: hot and cold spots.

Gi* compares the weighted sum of values around each location (including the
location itself) with what the global mean would give; its analytical z-score
is the statistic ArcGIS's Hot Spot Analysis reports (binary weights). Pseudo
p-values come from conditional permutation (the location's own value is held
fixed and its neighbours drawn at random from the other values).

Why hand-written rather than esda.G_Local: esda needs libpysal ``W`` objects
(slow to build at a million cells) and numba compilation in every new process;
here the analytical statistic is one sparse matrix-vector product, and for
binary weights each permutation costs O(n) through prefix sums of one random
draw shared by all locations (the same sharing esda uses), not O(n x k), in a
compiled loop whose compilation numba caches on disk (``_permutation_kernel``).

References
----------
Getis, A. and Ord, J. K. (1992). The analysis of spatial association by use of
distance statistics. *Geographical Analysis*, 24(3), 189-206.
Ord, J. K. and Getis, A. (1995). Local spatial autocorrelation statistics:
distributional issues and an application. *Geographical Analysis*, 27(4), 286-306.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import ndtr

from crimeprev.errors import InvalidInputError
from crimeprev.spatial._common import RandomLike, as_float_array, resolve_rng
from crimeprev.spatial.significance import confidence_classes
from crimeprev.spatial.weights import Weights


@dataclass(frozen=True, eq=False)
class LocalG:
    """Local Getis-Ord statistics per location.

    Attributes
    ----------
    g : numpy.ndarray
        Gi* (or Gi): weighted sum around i over the sum of all (other) values.
    z : numpy.ndarray
        Analytical z-scores (Ord and Getis 1995).
    p_values : numpy.ndarray
        Two-sided normal p-values of ``z``.
    p_sim : numpy.ndarray or None
        Folded conditional-permutation pseudo p-values,
        (1 + min(#sim >= obs, #sim <= obs)) / (permutations + 1).
    z_sim : numpy.ndarray or None
        (observed - mean of permuted) / standard deviation of permuted.
    classes : numpy.ndarray
        +3..-3 hot/cold classes at 99/95/90% (see ``significance``), from
        ``p_sim`` when permutations were run, else from ``p_values``.
    neighbours : numpy.ndarray
        Number of neighbours (excluding the location itself).
    """

    g: np.ndarray
    z: np.ndarray
    p_values: np.ndarray
    p_sim: np.ndarray | None
    z_sim: np.ndarray | None
    classes: np.ndarray
    neighbours: np.ndarray
    star: bool
    fdr: bool
    permutations: int
    seed: int | None
    weights_kind: str
    weights_parameters: dict[str, Any] = field(default_factory=dict)
    source: str | None = None


def _permuted_sums(
    values: np.ndarray,
    matrix: sparse.csr_matrix,
    permutations: int,
    generator: np.random.Generator,
    observed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count permuted neighbour sums >= and <= the observed, with their mean and sd.

    Each permutation draws one random ordering of all n values, shared by every
    location (as esda does); location i takes the first k_i draws that are not
    itself, which is a uniform draw without replacement from the other values.
    """
    n = values.size
    counts = np.diff(matrix.indptr)
    k_max = int(counts.max()) if n else 0
    row_constant = True
    row_weight = np.zeros(n)
    if matrix.nnz:
        has = counts > 0
        first_weight = matrix.data[matrix.indptr[:-1][has]]
        row_weight[has] = first_weight
        row_constant = bool(np.allclose(matrix.data, np.repeat(first_weight, counts[has])))
    greater = np.zeros(n, dtype=np.int64)
    lesser = np.zeros(n, dtype=np.int64)
    total = np.zeros(n)
    total_squares = np.zeros(n)
    position = np.empty(n, dtype=np.int64)
    index = np.arange(n)
    if row_constant and permutations:
        from crimeprev.spatial._permutation_kernel import permutation_tails

        width = min(k_max + 1, n)
        draws = np.empty((permutations, width), dtype=np.int64)
        for p in range(permutations):
            draws[p] = generator.choice(n, size=width, replace=False)
        return permutation_tails(values, draws, counts.astype(np.int64), row_weight, observed)
    if not row_constant:
        # General weights: weights of each row padded to k_max columns.
        padded = np.zeros((n, max(k_max, 1)))
        slot = np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], counts)
        padded[np.repeat(index, counts), slot] = matrix.data
    for _ in range(permutations):
        draws = generator.choice(n, size=min(k_max + 1, n), replace=False)
        position.fill(n)
        position[draws] = np.arange(draws.size)
        if row_constant:
            prefix = np.concatenate([[0.0], np.cumsum(values[draws])])
            own = position[index] < counts
            upto = np.minimum(counts + own, draws.size)
            sums = prefix[upto] - np.where(own, values, 0.0)
            simulated = sums * row_weight
        else:
            columns = np.arange(k_max)[None, :]
            shifted = columns + (position[:, None] <= columns)
            drawn = values[draws[np.minimum(shifted, draws.size - 1)]]
            simulated = np.sum(padded * drawn, axis=1)
        greater += simulated >= observed - 1e-12 * np.abs(observed)
        lesser += simulated <= observed + 1e-12 * np.abs(observed)
        total += simulated
        total_squares += simulated * simulated
    return greater, lesser, total, total_squares


def local_g(
    values: Any,
    weights: Weights,
    *,
    star: bool = True,
    permutations: int = 0,
    rng: RandomLike = None,
    fdr: bool = False,
    source: str | None = None,
) -> LocalG:
    """Compute Getis-Ord Gi* (``star=True``) or Gi for every location.

    Parameters
    ----------
    values : array-like
        Counts or rates per location (non-negative for G to be meaningful).
    weights : Weights
        Neighbours without self weights. Gi* adds the location itself with
        weight 1 (binary weights; the classic z-scores ArcGIS reports) or with
        its row's common weight (row-standardised weights).
    star : bool, default=True
        Gi* (include the location) or Gi (exclude it).
    permutations : int, default=0
        Conditional permutations for pseudo p-values (0 to skip, up to 99,999).
    rng : numpy.random.Generator, int or None
    fdr : bool, default=False
        Classes with the false discovery rate correction.
    source : str, optional
        Where the values came from (recorded).

    Returns
    -------
    LocalG

    Raises
    ------
    InvalidInputError
        If sizes differ, values are missing, or all values are equal.

    Examples
    --------
    >>> from crimeprev.spatial.weights import distance_band
    >>> w = distance_band([10, 20, 40, 15, 30, 30], [10, 10, 10, 20, 20, 30], 15)
    >>> result = local_g([2, 3, 3.2, 5, 8, 7], w)
    >>> np.round(result.z, 4).tolist()
    [-1.3973, -0.2892, 0.6506, -0.2892, 1.2345, 2.0242]
    """
    x = as_float_array(values, "values")
    n = x.size
    if weights.n != n:
        raise InvalidInputError(f"weights are for {weights.n} locations but {n} values were given")
    if n < 3:
        raise InvalidInputError(f"Getis-Ord statistics need at least 3 locations, got {n}")
    if np.ptp(x) == 0:
        raise InvalidInputError(
            "all values are equal, so there is nothing to test; check the counts"
        )
    if not 0 <= int(permutations) <= 99_999:
        raise InvalidInputError(f"permutations must be 0..99999, got {permutations!r}")
    generator, seed = resolve_rng(rng)
    matrix = weights.matrix.tocsr()
    counts = np.diff(matrix.indptr)
    lag = matrix @ x
    row_sum = np.asarray(matrix.sum(axis=1)).ravel()
    row_squares = np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()
    total = x.sum()
    if star:
        # The location itself joins with weight 1 for binary weights, or with its
        # row's common weight for row-standardised binary weights (as esda does).
        self_weight = np.ones(n)
        if not weights.is_binary() and matrix.nnz:
            with np.errstate(divide="ignore", invalid="ignore"):
                self_weight = np.where(counts > 0, row_sum / np.maximum(counts, 1), 1.0)
        w_sum = row_sum + self_weight
        w_squares = row_squares + self_weight**2
        numerator_sum = lag + self_weight * x
        mean = total / n
        spread = np.sqrt(np.sum(x * x) / n - mean**2)
        g = numerator_sum / total
        variance = (n * w_squares - w_sum**2) / (n - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (numerator_sum - mean * w_sum) / (spread * np.sqrt(variance))
    else:
        others = n - 1
        mean_i = (total - x) / others
        spread_i = np.sqrt((np.sum(x * x) - x * x) / others - mean_i**2)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = lag / (total - x)
            variance = (others * row_squares - row_sum**2) / (others - 1)
            z = (lag - mean_i * row_sum) / (spread_i * np.sqrt(variance))
    z = np.where(counts > 0, z, np.nan)
    p_values = 2 * ndtr(-np.abs(z))
    p_sim = z_sim = None
    if permutations:
        greater, lesser, sim_total, sim_squares = _permuted_sums(
            x, matrix, int(permutations), generator, lag
        )
        larger = np.minimum(greater, lesser)
        p_sim = (1.0 + larger) / (permutations + 1.0)
        sim_mean = sim_total / permutations
        sim_sd = np.sqrt(np.maximum(sim_squares / permutations - sim_mean**2, 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            z_sim = np.where(sim_sd > 0, (lag - sim_mean) / sim_sd, np.nan)
        p_sim = np.where(counts > 0, p_sim, np.nan)
    classes = confidence_classes(
        np.nan_to_num(z), p_sim if p_sim is not None else p_values, fdr=fdr
    )
    return LocalG(
        g=g,
        z=z,
        p_values=p_values,
        p_sim=p_sim,
        z_sim=z_sim,
        classes=classes,
        neighbours=counts,
        star=star,
        fdr=fdr,
        permutations=int(permutations),
        seed=seed,
        weights_kind=weights.kind,
        weights_parameters=dict(weights.parameters),
        source=source,
    )
