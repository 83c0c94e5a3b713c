"""Trends: change between periods with an exact test, moving averages, seasonal profile."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crimeprev.errors import InvalidInputError
from crimeprev.indicators.poisson import compare_counts
from crimeprev.store.warehouse import Warehouse


@dataclass(frozen=True)
class Change:
    """Change from one period to the next with the exact two-count test."""

    period_from: str
    period_to: str
    count_from: float
    count_to: float
    percent_change: float
    rate_ratio: float
    ci_low: float
    ci_high: float
    p_value: float


def period_changes(periods: list[str], counts: list[float]) -> list[Change]:
    """Change between consecutive periods (equal exposure), tested as two Poisson counts.

    Examples
    --------
    >>> change = period_changes(["2018", "2019"], [100, 130])[0]
    >>> round(change.percent_change, 1), change.p_value < 0.1
    (30.0, True)
    """
    if len(periods) != len(counts):
        raise InvalidInputError("periods and counts differ in length")
    out = []
    for index in range(1, len(counts)):
        before, after = counts[index - 1], counts[index]
        test = compare_counts(round(after), round(before))
        out.append(
            Change(
                period_from=periods[index - 1],
                period_to=periods[index],
                count_from=before,
                count_to=after,
                percent_change=(after - before) / before * 100 if before else float("nan"),
                rate_ratio=test.rate_ratio,
                ci_low=test.ci_low,
                ci_high=test.ci_high,
                p_value=test.p_value,
            )
        )
    return out


def moving_average(values: list[float], *, window: int = 3) -> list[float | None]:
    """Trailing moving average (None until `window` values are available).

    Examples
    --------
    >>> moving_average([1, 2, 3, 4], window=2)
    [None, 1.5, 2.5, 3.5]
    """
    if window < 1:
        raise InvalidInputError(f"window must be >= 1, got {window}")
    series = pd.Series(values, dtype=float).rolling(window).mean()
    return [None if np.isnan(v) else float(v) for v in series]


def seasonal_profile(warehouse: Warehouse, source: str) -> pd.DataFrame:
    """Counts by month x weekday x hour of occurrence (hour only for sources timed to the hour).

    Weekday is ISO (Monday = 0). Computed in the warehouse engine.
    """
    incident = warehouse.table("incident")
    rows = incident.filter(incident.source == source)
    grouped = rows.group_by(
        month=rows.occurred_at.month(),
        weekday=rows.occurred_at.day_of_week.index(),
        hour=rows.occurred_at.hour(),
    ).aggregate(count=rows.iccs_weight.sum())
    frame = warehouse.to_arrow(grouped).to_pandas()
    return frame.sort_values(["month", "weekday", "hour"]).reset_index(drop=True)
