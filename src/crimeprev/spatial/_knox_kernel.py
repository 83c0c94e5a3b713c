"""Compiled pair counting for the Knox test.

Why compiled: counting a permutation touches every close pair once (two
gathers, a subtraction and a table look-up). NumPy needs about 10 ns per pair
for this (each of its passes is a separate gather through memory); this loop
needs about 1 ns, which is what makes 100,000 events with 99 permutations a
sub-second job (profile and figures in bench/RESULTS.md). Compilation is cached
on disk by numba, so only the first run on a machine pays for it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def count_integral(
    times: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    offset: np.ndarray,
    lookup: np.ndarray,
    cap: int,
    cells: int,
) -> np.ndarray:  # pragma: no cover - compiled; exercised through knox_test
    """Count close pairs per cell for each row of ``times`` (whole days).

    ``offset[k] + clip(times[first[k]] - times[second[k]], -cap, cap)`` indexes
    ``lookup``, which gives the cell (space band x time band) of pair k.
    """
    rows = times.shape[0]
    counts = np.zeros((rows, cells), dtype=np.int64)
    for r in prange(rows):
        event_times = times[r]
        row = counts[r]
        for k in range(first.size):
            gap = event_times[first[k]] - event_times[second[k]]
            if gap > cap:
                gap = cap
            elif gap < -cap:
                gap = -cap
            row[lookup[offset[k] + gap]] += 1
    return counts


@njit(cache=True, nogil=True, parallel=True)
def count_fractional(
    times: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    space_band: np.ndarray,
    time_breaks: np.ndarray,
    columns: int,
    cells: int,
) -> np.ndarray:  # pragma: no cover - compiled; exercised through knox_test
    """Count close pairs per cell for each row of ``times`` (fractional days).

    Time bands are half-open [a, b); a gap outside the breaks goes to the last
    (discarded) column ``columns - 1``.
    """
    rows = times.shape[0]
    bands = time_breaks.size - 1
    counts = np.zeros((rows, cells), dtype=np.int64)
    for r in prange(rows):
        event_times = times[r]
        row = counts[r]
        for k in range(first.size):
            gap = abs(event_times[first[k]] - event_times[second[k]])
            band = columns - 1
            for b in range(bands):
                if time_breaks[b] <= gap < time_breaks[b + 1]:
                    band = b
                    break
            row[space_band[k] * columns + band] += 1
    return counts
