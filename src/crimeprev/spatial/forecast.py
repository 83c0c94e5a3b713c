"""Accuracy of a hot-spot forecast against the events of a later period.

For the top-ranked cells covering a share a/A of the study area, which hold n
of the N later events:

- hit rate = n / N;
- PAI, predictive accuracy index (Chainey, Tompson and Uhlig 2008) = (n / N) / (a / A);
- PEI, predictive efficiency index (Hunt 2016) = n / n*, where n* is the most
  events any set of cells of the same area could have caught (the cells with
  the most later events; for unequal cell areas, by events per area);
- RRI, recapture rate index (Levine 2008) = (n2 / n1) / (N2 / N1): events in
  the same cells in the later period over the forecast period, relative to the
  change overall (needs the forecast period's counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crimeprev.errors import InvalidInputError
from crimeprev.spatial._common import as_float_array


@dataclass(frozen=True, eq=False)
class ForecastAccuracy:
    """The accuracy curve over coverage and a table at chosen coverages.

    Attributes
    ----------
    coverage : numpy.ndarray
        Cumulative share of the area after each cell, in forecast rank order.
    hit_rate, pai, pei : numpy.ndarray
        Per prefix of the ranking.
    rri : numpy.ndarray or None
        Per prefix, when the forecast period's counts were given.
    table : list of dict
        One row per requested coverage: cells, coverage, hits, hit_rate, pai, pei, rri.
    ties : int
        Cells whose score ties another (their order is by position, which
        may flatter or hurt the forecast).
    """

    coverage: np.ndarray
    hit_rate: np.ndarray
    pai: np.ndarray
    pei: np.ndarray
    rri: np.ndarray | None
    table: list[dict[str, Any]]
    events: float
    cells: int
    ties: int
    parameters: dict[str, Any] = field(default_factory=dict)


def forecast_accuracy(
    scores: Any,
    observed: Any,
    *,
    areas: Any | None = None,
    training: Any | None = None,
    coverages: Sequence[float] = (0.01, 0.02, 0.05, 0.1, 0.2),
) -> ForecastAccuracy:
    """Hit rate, PAI, PEI and RRI of a ranked forecast at each coverage.

    Parameters
    ----------
    scores : array-like
        Forecast risk per cell; higher is riskier (e.g. last year's counts, a
        KDE value or a Gi* z-score).
    observed : array-like
        Events per cell in the later (test) period.
    areas : array-like, optional
        Area per cell (default: equal areas).
    training : array-like, optional
        Events per cell in the forecast (training) period, for RRI.
    coverages : sequence of float, default=(0.01, 0.02, 0.05, 0.1, 0.2)
        Shares of the area to report; the smallest prefix reaching each is used.

    Returns
    -------
    ForecastAccuracy

    Raises
    ------
    InvalidInputError
        On mismatched sizes, negative counts, or no later events.

    Examples
    --------
    >>> result = forecast_accuracy([5, 4, 3, 2, 1], [6, 0, 3, 1, 0], coverages=[0.2, 0.6])
    >>> [(row["hits"], round(row["pai"], 2), round(row["pei"], 2)) for row in result.table]
    [(6.0, 3.0, 1.0), (9.0, 1.5, 0.9)]
    """
    score = as_float_array(scores, "scores")
    later = as_float_array(observed, "observed")
    if later.size != score.size:
        raise InvalidInputError(f"observed has {later.size} cells, scores has {score.size}")
    if np.any(later < 0):
        raise InvalidInputError("observed counts must be >= 0")
    total = float(later.sum())
    if total <= 0:
        raise InvalidInputError("there are no events in the later period to forecast")
    area = np.ones(score.size) if areas is None else as_float_array(areas, "areas")
    if area.size != score.size or np.any(area <= 0):
        raise InvalidInputError("areas must be one positive number per cell")
    order = np.argsort(-score, kind="stable")
    coverage = np.cumsum(area[order]) / area.sum()
    hits = np.cumsum(later[order])
    hit_rate = hits / total
    pai = hit_rate / coverage
    # Best possible catch for the same area: cells by later events per area.
    best_order = np.argsort(-(later / area), kind="stable")
    best_area = np.cumsum(area[best_order])
    best_hits = np.cumsum(later[best_order])
    reach = np.cumsum(area[order])
    position = np.clip(np.searchsorted(best_area, reach - 1e-9 * reach, side="left"), 0, None)
    position = np.minimum(position, best_hits.size - 1)
    best = best_hits[position]
    with np.errstate(divide="ignore", invalid="ignore"):
        pei = np.where(best > 0, hits / best, np.nan)
    rri = None
    if training is not None:
        earlier = as_float_array(training, "training")
        if earlier.size != score.size:
            raise InvalidInputError(f"training has {earlier.size} cells, scores has {score.size}")
        earlier_hits = np.cumsum(earlier[order])
        with np.errstate(divide="ignore", invalid="ignore"):
            rri = np.where(
                earlier_hits > 0, (hits / earlier_hits) / (total / earlier.sum()), np.nan
            )
    table = []
    for share in coverages:
        if not 0 < share <= 1:
            raise InvalidInputError(f"coverages must be in (0, 1], got {share!r}")
        k = int(min(np.searchsorted(coverage, share - 1e-12), coverage.size - 1))
        table.append(
            {
                "coverage_requested": float(share),
                "cells": k + 1,
                "coverage": float(coverage[k]),
                "hits": float(hits[k]),
                "hit_rate": float(hit_rate[k]),
                "pai": float(pai[k]),
                "pei": None if np.isnan(pei[k]) else float(pei[k]),
                "rri": None if rri is None or np.isnan(rri[k]) else float(rri[k]),
            }
        )
    _, tie_counts = np.unique(score, return_counts=True)
    return ForecastAccuracy(
        coverage=coverage,
        hit_rate=hit_rate,
        pai=pai,
        pei=pei,
        rri=rri,
        table=table,
        events=total,
        cells=int(score.size),
        ties=int(tie_counts[tie_counts > 1].sum()),
        parameters={"coverages": [float(c) for c in coverages]},
    )
