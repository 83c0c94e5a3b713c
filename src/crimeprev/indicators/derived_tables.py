"""Weekly and date-limited tables made from one protected daily table.

:mod:`crimeprev.indicators.linked_protection` protects each table finer than
a month jointly with the source's monthly pattern, but not with another
finer table: protected one at a time, a daily and a weekly table of the same
selection (ICCS level, areas or not, ICCS branch, tags) can each be safe with
the pattern and still give a hidden count back when read together (a week
published whole, less its six published days, leaves the seventh).

So every table of one selection that is cut by day (by week, by day over a
date range, or by any period between two dates) takes its marks from a
single table: the selection's **daily table over the source's whole span**,
protected jointly with the pattern. A row is shown only when every day it
adds up is shown in that daily table; then its value follows from numbers
already published and tells the reader nothing new. A row of whole months,
quarters or years inside the date range keeps the pattern's own mark (those
cells are the pattern's, published or hidden everywhere alike). Whatever the
reader combines (the pattern, the daily table, any weekly or date-limited
table of the selection), they know no more than the pattern and the daily
table together, which the linked protection has proven safe.

The price is more hidden rows than protecting the weekly table alone: a
week is hidden as soon as one of its days is. Where the daily table cannot
be protected, every table made from it is refused with the same reason.

Tables of *different* selections (for instance daily tables at ICCS levels
1 and 2, by area and without) are protected against each other by the
source's release ledger (:mod:`crimeprev.indicators.release_ledger`): each
daily table is protected jointly with the pattern and every daily or tag
table published before it, and the weekly and date-limited tables made from
it add nothing a reader could not work out from it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crimeprev.errors import InvalidInputError
from crimeprev.indicators.disclosure import PRIMARY, PUBLISHED, SECONDARY

#: Offsets of each period's end from its start.
_SPANS = {
    "day": pd.DateOffset(days=1),
    "week": pd.DateOffset(days=7),
    "month": pd.DateOffset(months=1),
    "quarter": pd.DateOffset(months=3),
    "year": pd.DateOffset(years=1),
}
_TRUNCATE = {"month": "M", "quarter": "Q", "year": "Y"}
_MISSING = "\x00missing"


def made_from_days(query: Any) -> bool:
    """Whether a counts table of `query` takes its marks from the daily table.

    Tables by week, and tables between dates (by day or any other period),
    are; the daily table itself over the whole span, and tables without
    dates by month, quarter, year or all time, are not.

    Examples
    --------
    >>> from crimeprev.indicators.counts import CountQuery
    >>> [made_from_days(CountQuery("s", period=p)) for p in ("week", "day", "month")]
    [True, False, False]
    >>> from datetime import date
    >>> made_from_days(CountQuery("s", period="month", start=date(2020, 3, 10)))
    True
    """
    dated = query.start is not None or query.end is not None
    return query.period == "week" or dated


def status_from_days(
    warehouse: Any,
    query: Any,
    frame: pd.DataFrame,
    pattern: Any,
    *,
    value: str = "count",
    cache_dir: Path | None = None,
) -> pd.Series | None:
    """The marks of `frame` (``count_incidents(warehouse, query)``) from the daily table.

    Returns None when the source records dates coarser than days (there is
    no daily table; the caller protects the table on its own grain).

    Raises
    ------
    DisclosureRefusedError
        If the selection's daily table cannot be protected: no table made
        from it is published either.
    """
    from crimeprev.indicators.counts import count_incidents
    from crimeprev.indicators.linked_protection import (
        DisclosureRefusedError,
        linked_counts_status,
    )

    daily_query = dataclasses.replace(query, period="day", start=None, end=None)
    try:
        days = count_incidents(warehouse, daily_query)
    except InvalidInputError:
        return None
    try:
        day_marks = linked_counts_status(
            warehouse, daily_query, days, pattern, value=value, cache_dir=cache_dir
        )
    except DisclosureRefusedError as refused:
        raise DisclosureRefusedError(
            f"tables by week or between dates are made from the daily table of the same "
            f"selection, which cannot be published: {refused}"
        ) from refused
    keys = [c for c in ("iccs_code", "area_id", *query.tags) if c in frame.columns]
    day = pd.to_datetime(days["period"])
    inside = np.ones(len(days), dtype=bool)
    if query.start is not None:
        inside &= (day >= pd.Timestamp(query.start)).to_numpy()
    if query.end is not None:
        inside &= (day < pd.Timestamp(query.end)).to_numpy()
    hidden_days = days.loc[inside, keys].copy()
    hidden_days["_bucket"] = _bucket(day[inside], query.period)
    hidden_days["_hidden"] = (day_marks[inside] != PUBLISHED).to_numpy()
    for column in keys:
        hidden_days[column] = _key(hidden_days[column])
    any_hidden = hidden_days.groupby([*keys, "_bucket"], dropna=False)["_hidden"].any()

    rows = frame[keys].copy()
    for column in keys:
        rows[column] = _key(rows[column])
    rows["_bucket"] = (
        _bucket(pd.to_datetime(frame["period"]), query.period)
        if query.period is not None
        else pd.Timestamp(0)
    )
    looked_up = pd.MultiIndex.from_frame(rows[[*keys, "_bucket"]])
    hidden = any_hidden.reindex(looked_up).fillna(False).to_numpy(dtype=bool)
    counts = frame[value].fillna(0).to_numpy(dtype=float)
    threshold = float(pattern.threshold)
    marks = np.where(
        ~hidden, PUBLISHED, np.where((counts > 0) & (counts < threshold), PRIMARY, SECONDARY)
    )
    status = pd.Series(marks, index=frame.index, dtype=object)
    whole = _whole_periods(frame, query)
    if whole.any() and not query.tags and pattern.covers(query.period):
        status[whole] = pattern.frame_status(
            frame[whole],
            level=query.level,
            period=query.period,
            by_area=query.by_area,
            value=value,
        )
    return status


def _bucket(days: pd.Series, period: str | None) -> pd.Series | pd.Timestamp:
    """The first day of the `period` each day falls in (one bucket for all time)."""
    if period is None:
        return pd.Series(pd.Timestamp(0), index=days.index)
    if period == "day":
        return days.dt.normalize()
    if period == "week":  # ISO weeks start on Monday, as the engines truncate them
        return (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.normalize()
    return days.dt.to_period(_TRUNCATE[period]).dt.start_time


def _key(column: pd.Series) -> pd.Series:
    """A key column with missing values as one comparable value."""
    return column.astype(object).where(column.notna(), _MISSING).astype(str)


def _whole_periods(frame: pd.DataFrame, query: Any) -> pd.Series:
    """Rows of whole months, quarters or years inside the date range (the pattern's cells)."""
    if query.period not in _TRUNCATE or frame.empty:
        return pd.Series(False, index=frame.index)
    starts = pd.to_datetime(frame["period"])
    ends = starts + _SPANS[query.period]
    whole = pd.Series(True, index=frame.index)
    if query.start is not None:
        whole &= starts >= pd.Timestamp(query.start)
    if query.end is not None:
        whole &= ends <= pd.Timestamp(query.end)
    return whole
