"""Compiled conditional-permutation tallies for local statistics with binary or
row-standardised weights.

Why compiled: with one random ordering of the n values per permutation, shared
by all locations (as esda does), location i's permuted neighbour sum is a
prefix sum of that ordering, except when i itself is among its first k_i draws
(then it is skipped). So the loop runs location by location over a small table
of prefix sums (permutations x (k_max + 1), kept in cache), and the few
locations drawn among their own neighbours are corrected afterwards. NumPy
would need about ten passes over n values per permutation instead.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def permutation_tails(
    values: np.ndarray,
    draws: np.ndarray,
    counts: np.ndarray,
    row_weight: np.ndarray,
    observed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Per location: permuted sums >= observed, <= observed, their sum and sum of squares.

    ``draws[p]`` holds the first k_max + 1 entries of one random ordering of all
    n locations; location i takes the first ``counts[i]`` draws that are not i.
    """
    n = values.size
    permutations, width = draws.shape
    prefix = np.zeros((permutations, width + 1))
    for p in range(permutations):
        for m in range(width):
            prefix[p, m + 1] = prefix[p, m] + values[draws[p, m]]
    greater = np.zeros(n, dtype=np.int64)
    lesser = np.zeros(n, dtype=np.int64)
    total = np.zeros(n)
    squares = np.zeros(n)
    for i in prange(n):
        k = counts[i]
        if k == 0:
            continue
        weight = row_weight[i]
        target = observed[i]
        tolerance = 1e-12 * abs(target)
        above = 0
        below = 0
        running = 0.0
        running_squares = 0.0
        for p in range(permutations):
            simulated = prefix[p, k] * weight
            if simulated >= target - tolerance:
                above += 1
            if simulated <= target + tolerance:
                below += 1
            running += simulated
            running_squares += simulated * simulated
        greater[i] = above
        lesser[i] = below
        total[i] = running
        squares[i] = running_squares
    # Locations drawn among their own first k draws: replace the tally of that
    # permutation by the sum that skips the location itself.
    for p in range(permutations):
        for m in range(width):
            i = draws[p, m]
            k = counts[i]
            if k == 0 or m >= k:
                continue
            weight = row_weight[i]
            target = observed[i]
            tolerance = 1e-12 * abs(target)
            wrong = prefix[p, k] * weight
            right = (prefix[p, min(k + 1, width)] - values[i]) * weight
            if wrong >= target - tolerance:
                greater[i] -= 1
            if wrong <= target + tolerance:
                lesser[i] -= 1
            if right >= target - tolerance:
                greater[i] += 1
            if right <= target + tolerance:
                lesser[i] += 1
            total[i] += right - wrong
            squares[i] += right * right - wrong * wrong
    return greater, lesser, total, squares
