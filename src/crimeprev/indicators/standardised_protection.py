"""Small-count protection of the age-standardised rates table (issue #3, item 10).

Each area's row of :func:`crimeprev.indicators.counts.standardised_area_rates`
publishes the offences with a known age, those with an unknown age, a crude
rate, the standardised rate and its Fay-Feuer interval. None of these is
harmless on its own:

* The two counts add up to the area's yearly count (all offences or one ICCS
  branch), a cell of the source's disclosure pattern: where the pattern
  hides it, the whole row is hidden; where it publishes it, the two counts
  are a one-way table with a published total, so a small one hides the
  other too.
* The standardised rate is a weighted sum of the counts by age band
  (weights: standard share over band population, all published), and the
  interval gives back a second weighted sum (its variance); with the
  count of known age, a reader has three linear equations over the band
  counts. A small band count is protected when its feasible range under
  those equations and non-negative counts is at least the threshold wide
  (checked with two linear programmes per small band, ``scipy``); when
  one is not, the rates and interval of that area are hidden.

The age table itself is not published, so its band counts have no
published "at least 1" bound: zero is feasible for each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from crimeprev.indicators.counts import StandardisedTable
from crimeprev.indicators.disclosure import PRIMARY, PUBLISHED, SECONDARY
from crimeprev.standards.iccs import LEVELS


def band_count_ranges(
    counts: np.ndarray, populations: np.ndarray, standard: np.ndarray, cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest value of each band count in `cells` a reader can infer.

    The reader knows the sum of the counts, their sum weighted by
    ``w_b / p_b`` (the standardised rate) and by ``(w_b / p_b)^2`` (the
    variance behind the interval), where ``w`` is the standard's shares and
    ``p`` the band populations; counts are non-negative.

    Examples
    --------
    >>> low, high = band_count_ranges(np.array([2.0, 30.0]), np.array([1e3, 2e3]),
    ...                               np.array([1.0, 1.0]), np.array([0]))
    >>> float(low[0]), float(high[0])  # two bands: the equations pin both
    (2.0, 2.0)
    """
    counts = np.asarray(counts, dtype=float)
    weights = np.asarray(standard, dtype=float) / np.sum(standard)
    factor = weights / np.asarray(populations, dtype=float)
    # Scaled so the three equations have similar magnitudes (the solver's tolerances).
    rows = np.vstack([np.ones_like(factor), factor / factor.max(), (factor / factor.max()) ** 2])
    right = rows @ counts
    low = np.full(len(cells), np.nan)
    high = np.full(len(cells), np.nan)
    for slot, band in enumerate(cells):
        objective = np.zeros(len(counts))
        objective[band] = 1.0
        smallest = linprog(objective, A_eq=rows, b_eq=right, bounds=(0, None), method="highs")
        largest = linprog(-objective, A_eq=rows, b_eq=right, bounds=(0, None), method="highs")
        low[slot] = smallest.fun if smallest.status == 0 else counts[band]
        high[slot] = -largest.fun if largest.status == 0 else counts[band]
    return low, high


def protect_standardised(
    table: StandardisedTable,
    pattern: object,
    *,
    threshold: int,
    iccs_code: str | None = None,
) -> pd.DataFrame:
    """The standardised rates frame with hidden values blank and a ``suppression`` column.

    `pattern` is the source's :class:`crimeprev.indicators.source_protection.SourcePattern`.
    ``suppression`` is the status of the row's counts (``primary``,
    ``secondary`` or ``""``); ``rate_suppression`` that of its rates and
    interval (hidden with the counts, or on their own when they would
    narrow a small band count).
    """
    from crimeprev.indicators.source_protection import (
        ALL,
        SourcePattern,
        area_key,
        code_key,
        period_key,
    )

    assert isinstance(pattern, SourcePattern)
    levels = {width: level for level, width in LEVELS.items()}
    code = ALL if iccs_code is None else code_key(iccs_code, levels.get(len(iccs_code)))
    when = period_key("year", f"{table.year}-01-01")
    frame = table.frame.copy()
    count_marks: list[str] = []
    rate_marks: list[str] = []
    standard = np.asarray(table.standard, dtype=float)
    for area, known_count, unknown_count in zip(
        frame["area_id"], frame["count"], frame["unknown_age"], strict=True
    ):
        known, unknown = float(known_count), float(unknown_count)
        mark = pattern.status_of((code, area_key(area), when), known + unknown)
        if mark == PUBLISHED and any(0 < v < threshold for v in (known, unknown)):
            # A small one, and the other as its complement (their total is published).
            mark = PRIMARY
        rate_mark = mark
        if not mark and table.band_counts is not None and table.band_populations is not None:
            counts = table.band_counts.loc[str(area)].to_numpy(dtype=float)
            people = table.band_populations.loc[str(area)].to_numpy(dtype=float)
            small = np.flatnonzero((counts > 0) & (counts < threshold))
            if len(small) and np.all(people > 0) and np.isfinite(people).all():
                low, high = band_count_ranges(counts, people, standard, small)
                if np.any(high - low < threshold - 1e-6):
                    rate_mark = SECONDARY
        count_marks.append(mark)
        rate_marks.append(rate_mark)
    hidden = np.array([bool(m) for m in count_marks])
    rates_hidden = np.array([bool(m) for m in rate_marks])
    for column in ("count", "unknown_age"):
        frame[column] = frame[column].astype(float).where(~hidden)
    for column in ("crude_rate", "rate", "ci_low", "ci_high"):
        frame[column] = frame[column].astype(float).where(~rates_hidden)
    frame["suppression"] = count_marks
    frame["rate_suppression"] = rate_marks
    return frame


def public_standardised_rates(
    warehouse: object,
    source: str,
    *,
    year: int,
    threshold: int,
    age_field: str = "victim_age",
    per: int = 100_000,
    cache_dir: Path | None = None,
) -> tuple[StandardisedTable, pd.DataFrame]:
    """Age-standardised rates by area and their protected frame, for the public faces.

    Raises
    ------
    NotFoundError, InvalidInputError
        As :func:`crimeprev.indicators.counts.standardised_area_rates`.
    """
    from crimeprev.indicators.counts import standardised_area_rates
    from crimeprev.indicators.source_protection import source_pattern
    from crimeprev.store.warehouse import Warehouse

    assert isinstance(warehouse, Warehouse)
    table = standardised_area_rates(warehouse, source, year=year, age_field=age_field, per=per)
    pattern = source_pattern(warehouse, source, threshold=threshold, cache_dir=cache_dir)
    return table, protect_standardised(table, pattern, threshold=threshold)
