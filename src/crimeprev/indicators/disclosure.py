"""Disclosure control for published tables: primary and secondary suppression.

Primary suppression hides counts in ``1 .. threshold-1`` (zeros are not
disclosive and stay). In a table whose row and column totals are published,
a row or column with exactly one hidden cell would let a reader recover it
by subtraction, so :func:`suppress_table` hides the smallest other cell of
that row or column too, repeating until no row or column has a single
hidden cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Suppressed:
    """Values with suppressed cells set to None, and the mask of suppressed cells."""

    values: list[float | None]
    suppressed: list[bool]


def suppress_small(values: list[float], *, threshold: int = 5) -> Suppressed:
    """Primary suppression of a list of counts.

    Examples
    --------
    >>> suppress_small([0, 3, 12], threshold=5).values
    [0, None, 12]
    """
    if threshold <= 0:
        return Suppressed(list(values), [False] * len(values))
    hidden = [0 < v < threshold for v in values]
    return Suppressed([None if h else v for v, h in zip(values, hidden, strict=True)], hidden)


@dataclass(frozen=True)
class SuppressedTable:
    """A 2-D table after primary and secondary suppression."""

    values: np.ndarray  # float, NaN where suppressed
    primary: np.ndarray  # bool
    secondary: np.ndarray  # bool


def suppress_table(table: np.ndarray, *, threshold: int = 5) -> SuppressedTable:
    """Primary and secondary suppression of a 2-D count table with published margins.

    Examples
    --------
    >>> result = suppress_table(np.array([[2, 10, 20], [8, 9, 30]]), threshold=5)
    >>> result.primary.sum(), result.secondary.sum()
    (np.int64(1), np.int64(3))
    """
    counts = np.asarray(table, dtype=float)
    primary = (counts > 0) & (counts < threshold)
    hidden = primary.copy()
    changed = True
    while changed:
        changed = False
        for axis in (0, 1):
            lines = hidden.T if axis == 0 else hidden
            data = counts.T if axis == 0 else counts
            for index in range(lines.shape[0]):
                if lines[index].sum() == 1 and lines.shape[1] > 1:
                    candidates = np.where(~lines[index], data[index], np.inf)
                    # Hide the smallest other cell (least information lost), zeros included.
                    pick = int(np.argmin(candidates))
                    if np.isfinite(candidates[pick]):
                        if axis == 0:
                            hidden[pick, index] = True
                        else:
                            hidden[index, pick] = True
                        changed = True
    values = np.where(hidden, np.nan, counts)
    return SuppressedTable(values=values, primary=primary, secondary=hidden & ~primary)
