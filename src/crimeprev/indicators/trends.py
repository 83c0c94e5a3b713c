"""Trends: change between periods with an exact test, moving averages, seasonal profile."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from crimeprev.errors import InvalidInputError
from crimeprev.indicators.poisson import compare_counts
from crimeprev.store.warehouse import Warehouse

if TYPE_CHECKING:
    from crimeprev.indicators.source_protection import SourcePattern


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


@dataclass(frozen=True)
class SeriesBreak:
    """A point inside a series where counts before and after may not compare.

    ``kind`` is ``concordance`` (a national code's ICCS mapping changes),
    ``coverage`` (an offence code starts or stops being recorded, or a
    period inside the series has no record at all) or ``area_set`` (the
    records are assigned to a different set of areas). ``offence_code`` is
    the national offence code a coverage or concordance break concerns (None
    for breaks of the whole source), so a caller can keep the breaks of one
    code's series.
    """

    period: str
    kind: str
    detail: str
    offence_code: str | None = None


def _period_label(value: object, period: str) -> str:
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    if period == "year":
        return f"{stamp.year}"
    if period == "quarter":
        return f"{stamp.year}-Q{stamp.quarter}"
    if period == "month":
        return stamp.strftime("%Y-%m")
    return stamp.strftime("%Y-%m-%d")


def series_breaks(
    warehouse: Warehouse,
    source: str,
    *,
    period: str = "year",
    scheme: str | None = None,
    area_id: str | None = None,
) -> list[SeriesBreak]:
    """Breaks inside a source's series: concordance, coverage and area-set changes.

    Incident sources are read by `period`; aggregate sources (one value per
    year) by year, for one area (`area_id`, e.g. a country) or all. `scheme`
    is the concordance the source is coded with (its profile's). Breaks are
    reported at the first period of the new state and sorted by period.

    Raises
    ------
    NotFoundError
        If the source has no rows.
    InvalidInputError
        If the period is not one of ``year``, ``quarter``, ``month``, ``day``.
    """
    from crimeprev.errors import NotFoundError

    if period not in ("year", "quarter", "month", "day"):
        raise InvalidInputError(f"period must be year, quarter, month or day, got {period!r}")
    frame = _codes_by_period(warehouse, source, period, area_id)
    if frame.empty:
        raise NotFoundError(
            f"no rows for source {source!r}" + (f" in {area_id}" if area_id else "")
        )
    frame["label"] = [_period_label(p, period) for p in frame["period"]]
    labels = sorted(frame["label"].unique())
    breaks: list[SeriesBreak] = []
    breaks += _coverage_breaks(frame, labels, period)
    breaks += _area_set_breaks(frame, labels)
    if scheme:
        breaks += _concordance_breaks(warehouse, scheme, frame, labels, period)
    return sorted(breaks, key=lambda b: (b.period, b.kind, b.detail))


def _codes_by_period(
    warehouse: Warehouse, source: str, period: str, area_id: str | None
) -> pd.DataFrame:
    """Records by period x offence code x area set, counted in the engine."""
    import ibis

    incident = warehouse.table("incident")
    rows = incident.filter(incident.source == source)
    if area_id:
        rows = rows.filter(rows.area_id == area_id)
    unit = {"year": "Y", "quarter": "Q", "month": "M", "day": "D"}[period]
    grouped = rows.group_by(
        period=rows.occurred_at.truncate(unit).date(),
        offence_code=rows.offence_code,
        area_set=rows.area_set,
    ).aggregate(records=rows.count())
    frame = warehouse.to_arrow(grouped).to_pandas()
    if not frame.empty:
        return frame
    aggregate = warehouse.table("aggregate")
    rows = aggregate.filter(aggregate.source == source)
    if area_id:
        rows = rows.filter(rows.area_id == area_id)
    grouped = rows.group_by(
        period=ibis.date(rows.year, 1, 1),
        offence_code=rows.offence_code,
        area_set=rows.area_set,
    ).aggregate(records=rows.count())
    return warehouse.to_arrow(grouped).to_pandas()


def _coverage_breaks(frame: pd.DataFrame, labels: list[str], period: str) -> list[SeriesBreak]:
    out = []
    first, last = labels[0], labels[-1]
    codes = frame["offence_code"].fillna("").astype(str)
    spans = frame.assign(offence_code=codes).groupby("offence_code")["label"].agg(["min", "max"])
    for code, (start, end) in spans.iterrows():
        name = f"offence code {code!r}" if code else "records without an offence code"
        if start > first:
            out.append(
                SeriesBreak(start, "coverage", f"{name} first recorded in {start}", str(code))
            )
        if end < last:
            following = labels[labels.index(end) + 1]
            out.append(
                SeriesBreak(following, "coverage", f"{name} last recorded in {end}", str(code))
            )
    if period in ("year", "month", "quarter"):
        frequency = {"year": "YS", "month": "MS", "quarter": "QS"}[period]
        starts = pd.to_datetime(frame["period"])
        every = pd.date_range(starts.min(), starts.max(), freq=frequency)
        present = set(frame["label"])
        for stamp in every:
            label = _period_label(stamp, period)
            if label not in present:
                out.append(SeriesBreak(label, "coverage", f"no records at all in {label}"))
    return out


def _area_set_breaks(frame: pd.DataFrame, labels: list[str]) -> list[SeriesBreak]:
    sets: dict[str, tuple[str, ...]] = {
        str(label): tuple(sorted({str(v) for v in group if pd.notna(v)}))
        for label, group in frame.groupby("label")["area_set"]
    }
    out = []
    previous: tuple[str, ...] | None = None
    for label in labels:
        current = sets.get(label, ())
        if previous is not None and current != previous:
            before = ", ".join(previous) or "no areas"
            after = ", ".join(current) or "no areas"
            out.append(SeriesBreak(label, "area_set", f"area set changes from {before} to {after}"))
        previous = current
    return out


def _concordance_breaks(
    warehouse: Warehouse, scheme: str, frame: pd.DataFrame, labels: list[str], period: str
) -> list[SeriesBreak]:
    from crimeprev.store.concordance import installed

    rows = warehouse.to_arrow(
        installed(warehouse, scheme).select(
            "national_code", "iccs_code", "share", "valid_from", "valid_to"
        )
    ).to_pandas()
    used = set(frame["offence_code"].dropna().astype(str))
    rows = rows[rows["national_code"].astype(str).isin(used)]
    out = []
    first, last = labels[0], labels[-1]
    for row in rows.itertuples(index=False):
        for edge, verb in ((row.valid_from, "from"), (row.valid_to, "until")):
            if edge is None or pd.isna(edge):
                continue
            # valid_to is the last day of validity: the change shows the next day.
            day = pd.Timestamp(edge) + (
                pd.Timedelta(days=1) if verb == "until" else pd.Timedelta(0)
            )
            label = _period_label(day, period)
            if first < label <= last:
                out.append(
                    SeriesBreak(
                        label,
                        "concordance",
                        f"{scheme}: {row.national_code!s} -> ICCS {row.iccs_code} (share "
                        f"{row.share:g}) valid {verb} {pd.Timestamp(edge).date()}",
                        str(row.national_code),
                    )
                )
    return out


@dataclass(frozen=True)
class Trend:
    """A source's yearly series with changes, a moving average and its breaks."""

    source: str
    iccs_code: str | None
    years: list[str]
    counts: list[float]
    changes: list[Change]
    moving_average: list[float | None]
    window: int
    breaks: list[SeriesBreak]


def profile_scheme(source: str) -> str | None:
    """The concordance scheme a source's profile names (None without a bundled profile)."""
    from crimeprev.errors import CrimeprevError
    from crimeprev.store.profiles import load_profile

    try:
        return load_profile(source).concordance
    except CrimeprevError:
        return None


def profile_kind(source: str) -> str:
    """``incident`` or ``aggregate`` from a source's profile (incident without a profile)."""
    from crimeprev.errors import CrimeprevError
    from crimeprev.store.profiles import load_profile

    try:
        return load_profile(source).kind
    except CrimeprevError:
        return "incident"


def yearly_trend(
    warehouse: Warehouse, source: str, *, iccs_code: str | None = None, window: int = 3
) -> Trend:
    """Yearly counts of an incident source, their changes (exact test) and series breaks."""
    from crimeprev.indicators.counts import CountQuery, count_incidents

    counts = count_incidents(
        warehouse, CountQuery(source=source, period="year", iccs_code=iccs_code)
    )
    yearly = counts.groupby(pd.to_datetime(counts["period"]).dt.year)["count"].sum()
    years = [str(y) for y in yearly.index]
    values = [float(v) for v in yearly.tolist()]
    return Trend(
        source=source,
        iccs_code=iccs_code,
        years=years,
        counts=values,
        changes=period_changes(years, values),
        moving_average=moving_average(values, window=window),
        window=window,
        breaks=series_breaks(warehouse, source, scheme=profile_scheme(source)),
    )


def trend_suppression(trend: Trend, pattern: SourcePattern) -> list[str]:
    """The status of each year's count of `trend` in its source's disclosure `pattern`.

    A yearly count of the source (all offences, or one ICCS branch) over all
    areas is a cell of the pattern, so it is hidden exactly where every
    other output of the source hides it: ``"primary"``, ``"secondary"`` or
    ``""`` (shown).

    Raises
    ------
    InvalidInputError
        If the ICCS code is not as long as a code of some ICCS level, or the
        pattern counts a year differently (the warehouse changed).
    """
    from crimeprev.indicators.source_protection import ALL, code_key, period_key
    from crimeprev.standards.iccs import LEVELS

    levels = {width: level for level, width in LEVELS.items()}
    code = trend.iccs_code
    if code is not None and len(code) not in levels:
        widths = ", ".join(str(width) for width in sorted(levels))
        raise InvalidInputError(
            f"ICCS code {code!r} is not a code of any ICCS level ({widths} digits), "
            "so its trend is not a table the disclosure pattern covers"
        )
    key = ALL if code is None else code_key(code, levels.get(len(code)))
    return [
        pattern.status_of((key, ALL, period_key("year", f"{year}-01-01")), count)
        for year, count in zip(trend.years, trend.counts, strict=True)
    ]


def window_suppression(status: list[str], *, window: int) -> list[str]:
    """The mark of each trailing moving average: the strongest of the counts it averages.

    An average of `window` counts times `window`, less the shown counts,
    gives a hidden one back, so an average over any hidden count is hidden.

    Examples
    --------
    >>> window_suppression(["", "primary", "", "", ""], window=2)
    ['', 'primary', 'primary', '', '']
    """
    out = []
    for index in range(len(status)):
        marks = set(status[max(0, index - window + 1) : index + 1])
        out.append("primary" if "primary" in marks else "secondary" if "secondary" in marks else "")
    return out


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_RANK = {
    "year": 0,
    "quarter": 1,
    "month": 2,
    "week": 3,
    "day": 4,
    "hour": 5,
    "minute": 6,
    "second": 7,
}


@dataclass(frozen=True)
class SeasonalTables:
    """Offences by month x weekday and weekday x hour, as far as the dates are precise.

    A source dated to the month has no weekday table (its day is unknown),
    and one dated to the day has no hour table. Matrices are lists of rows:
    ``month_weekday[m][d]`` for month m (0 = January) and ISO weekday d
    (0 = Monday); ``weekday_hour[d][h]``.

    With a threshold, hidden cells are None and the ``*_suppression`` lists
    of the same shape say ``"primary"`` or ``"secondary"`` (``""``: shown).
    """

    source: str
    precision: str
    by_month: list[float | None]
    month_weekday: list[list[float | None]] | None
    weekday_hour: list[list[float | None]] | None
    by_month_suppression: list[str] = field(default_factory=list)
    month_weekday_suppression: list[list[str]] | None = None
    weekday_hour_suppression: list[list[str]] | None = None
    #: Whether the source's dates span each month (January first): a month outside its
    #: span (San Francisco's January to June 2012) has no data, which is not zero offences.
    months_covered: list[bool] = field(default_factory=lambda: [True] * 12)


@dataclass(frozen=True)
class GridProtection:
    """The status of each cell of a two-way table, of its row and column totals and of the total."""

    cells: list[list[str]]
    rows: list[str]
    columns: list[str]
    total: str


def protect_grid(matrix: list[list[float]], *, threshold: int) -> GridProtection:
    """Primary and secondary suppression of a two-way table whose totals are published.

    Counts from 1 to `threshold` - 1 are hidden (primary), and so are the
    further cells (secondary) without which a hidden count could be worked
    out from the row totals, the column totals and the grand total, with
    :func:`crimeprev.indicators.source_protection.protect_breakdown`.

    Examples
    --------
    >>> grid = protect_grid([[3, 20], [30, 40]], threshold=5)
    >>> grid.cells, grid.rows, grid.columns, grid.total
    ([['primary', 'secondary'], ['secondary', 'secondary']], ['', ''], ['', ''], '')
    """
    from crimeprev.indicators.source_protection import protect_breakdown

    height = len(matrix)
    width = len(matrix[0]) if height else 0
    total = "Total"
    rows: list[dict[str, object]] = []
    for r in range(height):
        for c in range(width):
            rows.append({"row": str(r), "column": str(c), "count": float(matrix[r][c])})
        rows.append({"row": str(r), "column": total, "count": float(sum(matrix[r]))})
    for c in range(width):
        column_sum = float(sum(matrix[r][c] for r in range(height)))
        rows.append({"row": total, "column": str(c), "count": column_sum})
    rows.append({"row": total, "column": total, "count": float(sum(map(sum, matrix)))})
    frame = pd.DataFrame(rows, columns=["row", "column", "count"])
    status = protect_breakdown(
        frame, threshold=threshold, value="count", breakdowns=["row", "column"], total=total
    ).tolist()
    step = width + 1
    cells = [status[r * step : r * step + width] for r in range(height)]
    row_status = [status[r * step + width] for r in range(height)]
    start = height * step
    return GridProtection(
        cells=cells,
        rows=row_status,
        columns=status[start : start + width],
        total=status[start + width],
    )


def protect_line(values: list[float], *, threshold: int) -> list[str]:
    """Primary and secondary suppression of a one-way table whose total is published.

    Examples
    --------
    >>> protect_line([3, 20, 30, 40], threshold=5)
    ['primary', 'secondary', '', '']
    """
    from crimeprev.indicators.source_protection import protect_breakdown

    labels = [str(i) for i in range(len(values))]
    frame = pd.DataFrame(
        {
            "cell": [*labels, "Total"],
            "count": [*(float(v) for v in values), float(sum(values))],
        }
    )
    status = protect_breakdown(frame, threshold=threshold, value="count", breakdowns=["cell"])
    return [str(mark) for mark in status.tolist()[: len(values)]]


def _shown(values: list[float], status: list[str]) -> list[float | None]:
    """Values with the hidden ones as None."""
    return [None if mark else value for value, mark in zip(values, status, strict=True)]


def seasonal_tables(
    warehouse: Warehouse, source: str, *, threshold: int = 0, cache_dir: Path | None = None
) -> SeasonalTables:
    """The seasonal heat tables of a source (counted in the engine).

    With `threshold`, the months, the month x weekday and the weekday x hour
    tables are protected together (they share the weekday totals) and
    jointly with the source's disclosure pattern, whose monthly counts are
    published elsewhere
    (:func:`crimeprev.indicators.linked_protection.protect_seasonal`;
    `cache_dir` is where the pattern is kept).

    Raises
    ------
    NotFoundError
        If the source has no incidents.
    DisclosureRefusedError
        If a small count cannot be protected jointly with the pattern.
    """
    from crimeprev.errors import NotFoundError

    incident = warehouse.table("incident")
    first = (
        warehouse.to_arrow(
            incident.filter(incident.source == source).select("occurred_precision").limit(1)
        )
        .column(0)
        .to_pylist()
    )
    if not first:
        raise NotFoundError(f"no incidents for source {source!r}")
    precision = str(first[0] or "day")
    frame = seasonal_profile(warehouse, source)
    rows = incident.filter(incident.source == source)
    span = warehouse.to_arrow(
        rows.aggregate(first=rows.occurred_at.min(), last=rows.occurred_at.max())
    ).to_pylist()[0]
    spanned = pd.period_range(pd.Timestamp(span["first"]), pd.Timestamp(span["last"]), freq="M")
    covered = [month in set(spanned.month) for month in range(1, 13)]
    by_month = frame.groupby("month")["count"].sum().reindex(range(1, 13), fill_value=0.0)
    month_weekday = weekday_hour = None
    if _RANK.get(precision, 0) >= _RANK["day"]:
        grid = frame.pivot_table(index="month", columns="weekday", values="count", aggfunc="sum")
        grid = grid.reindex(index=range(1, 13), columns=range(7), fill_value=0.0).fillna(0.0)
        month_weekday = grid.to_numpy(dtype=float).tolist()
    if _RANK.get(precision, 0) >= _RANK["hour"]:
        grid = frame.pivot_table(index="weekday", columns="hour", values="count", aggfunc="sum")
        grid = grid.reindex(index=range(7), columns=range(24), fill_value=0.0).fillna(0.0)
        weekday_hour = grid.to_numpy(dtype=float).tolist()
    months = [float(v) for v in by_month.tolist()]
    if threshold <= 0:
        return SeasonalTables(
            source=source,
            precision=precision,
            by_month=list(months),
            month_weekday=[list(row) for row in month_weekday] if month_weekday else None,
            weekday_hour=[list(row) for row in weekday_hour] if weekday_hour else None,
            by_month_suppression=[""] * len(months),
            months_covered=covered,
        )
    from crimeprev.indicators.linked_protection import protect_seasonal
    from crimeprev.indicators.source_protection import source_pattern

    pattern = source_pattern(warehouse, source, threshold=threshold, cache_dir=cache_dir)
    linked = protect_seasonal(
        warehouse, source, pattern, precision_rank=_RANK.get(precision, 0), cache_dir=cache_dir
    )
    month_status = linked.by_month
    status_mw = linked.month_weekday if month_weekday is not None else None
    status_wh = linked.weekday_hour if weekday_hour is not None else None
    shown_mw = shown_wh = None
    if month_weekday is not None and status_mw is not None:
        shown_mw = [_shown(v, s) for v, s in zip(month_weekday, status_mw, strict=True)]
    if weekday_hour is not None and status_wh is not None:
        shown_wh = [_shown(v, s) for v, s in zip(weekday_hour, status_wh, strict=True)]
    return SeasonalTables(
        source=source,
        precision=precision,
        by_month=_shown(months, month_status),
        month_weekday=shown_mw,
        weekday_hour=shown_wh,
        by_month_suppression=month_status,
        month_weekday_suppression=status_mw,
        weekday_hour_suppression=status_wh,
        months_covered=covered,
    )
