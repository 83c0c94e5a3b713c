"""Progress indicators: the country series behind a paragraph's indicators.

A tracker indicator names a paragraph and a series (an SDG indicator id such
as ``16.1.1``). The values come from the data that ship with crimeprev:

* ``16.1.1`` (victims of intentional homicide per 100,000 population): the
  UNODC homicide rates published in the World Bank's World Development
  Indicators (``VC.IHR.PSRC.P5``), bundled in
  ``data/real/world_homicide_wdi`` with its provenance.

A series without bundled data raises :class:`NotFoundError`, so a page can say
so rather than show an empty chart.

Where the warehouse holds data (``crimeprev stats load-bundled``, or a
ministry's own imports), :func:`warehouse_series` reads a country's series
from it instead: SDG 16.1.1 from every aggregate source that publishes the
homicide rate, and the other published series of that country (UN-CTS
offences by ICCS code, for example), each as published.

Every series carries its uncertainty and its breaks:

* an exact Poisson (Garwood) interval for each value that is a count, or a
  rate built from a count: the interval of the published count, scaled by the
  published rate over the count (so the population the publisher used is
  implied, not guessed). A rate published without its count (the WDI homicide
  rate) has no interval, and :attr:`IndicatorSeries.interval_notes` says so
  and why;
* series breaks: years missing inside the series, and from
  :func:`crimeprev.indicators.trends.series_breaks` the changes of the
  source's concordance, offence codes and area set that fall inside the
  series, and the other sources publishing the same indicator for the State
  (values from two publishers are two series, never one).

Examples
--------
>>> found = country_series("16.1.1", "KEN")
>>> found.unit, found.points[-1][0] >= 2020
('per 100,000 population', True)
>>> round(dict(found.points)[2020], 2)
3.56
>>> found.ci_low[-1] is None, found.interval_notes[0].startswith("no interval")
(True, True)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from crimeprev.errors import NotFoundError
from crimeprev.indicators.poisson import garwood_interval
from crimeprev.indicators.trends import SeriesBreak
from crimeprev.tracker.member_states import member_state

if TYPE_CHECKING:
    import pandas as pd

    from crimeprev.store.warehouse import Warehouse

__all__ = [
    "IndicatorSeries",
    "SeriesBreak",
    "available_series",
    "country_series",
    "existing_warehouse",
    "series_chart",
    "series_intervals",
    "warehouse_series",
]

#: Confidence level of the intervals shown with every series.
CONFIDENCE = 0.95

#: The ICCS codes behind SDG 16.1.1 (intentional homicide), as the SDG
#: metadata lists them (crimeprev.standards.sdg).
_HOMICIDE_SERIES = "16.1.1"


@dataclass(frozen=True)
class IndicatorSeries:
    """One country's values of a series.

    Attributes
    ----------
    series : str
        The series id (``"16.1.1"``).
    iso3 : str
    label, unit, source : str
    points : tuple of (int, float)
        (year, value) pairs in year order.
    counts : tuple of float or None
        The published count behind each point (None where none is published).
    ci_low, ci_high : tuple of float or None
        The exact Poisson (Garwood) interval of each point at `confidence`,
        None where it cannot be computed.
    confidence : float
    interval_notes : tuple of str
        Plain sentences saying which points have no interval and why.
    breaks : tuple of SeriesBreak
        Points from which values may not compare with those before them.
    """

    series: str
    iso3: str
    label: str
    unit: str
    source: str
    points: tuple[tuple[int, float], ...]
    counts: tuple[float | None, ...] = ()
    ci_low: tuple[float | None, ...] = ()
    ci_high: tuple[float | None, ...] = ()
    confidence: float = CONFIDENCE
    interval_notes: tuple[str, ...] = ()
    breaks: tuple[SeriesBreak, ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        """One record per point: year, value, count, ci_low, ci_high (for charts and tables)."""
        return [
            {
                "year": year,
                "value": value,
                "count": self.counts[index] if self.counts else None,
                "ci_low": self.ci_low[index] if self.ci_low else None,
                "ci_high": self.ci_high[index] if self.ci_high else None,
            }
            for index, (year, value) in enumerate(self.points)
        ]

    @property
    def latest(self) -> tuple[int, float] | None:
        """The most recent (year, value), if any."""
        return self.points[-1] if self.points else None

    @property
    def change(self) -> float | None:
        """Latest value minus the first one (None with fewer than two points)."""
        if len(self.points) < 2:
            return None
        return self.points[-1][1] - self.points[0][1]


_SOURCES = {
    "16.1.1": (
        "world_homicide_wdi",
        "homicide_rate_per_100k.parquet",
        "Victims of intentional homicide",
        "per 100,000 population",
        "UNODC homicide statistics via World Bank WDI (VC.IHR.PSRC.P5), CC BY 4.0",
    )
}


def available_series() -> list[str]:
    """Return the series with bundled data.

    Examples
    --------
    >>> available_series()
    ['16.1.1']
    """
    return sorted(_SOURCES)


@cache
def _table(series: str) -> dict[str, tuple[tuple[int, float], ...]]:
    import pyarrow.parquet as pq

    folder, filename, *_ = _SOURCES[series]
    path = resources.files("crimeprev").joinpath("data", "real", folder, filename)
    with resources.as_file(path) as local:
        table = pq.read_table(local, columns=["iso3", "year", "rate_per_100k"]).to_pydict()
    grouped: dict[str, list[tuple[int, float]]] = {}
    for iso3, year, value in zip(table["iso3"], table["year"], table["rate_per_100k"], strict=True):
        if value is not None:
            grouped.setdefault(iso3, []).append((int(year), float(value)))
    return {iso3: tuple(sorted(points)) for iso3, points in grouped.items()}


def country_series(series: str, state: str) -> IndicatorSeries:
    """Return one Member State's values of a series.

    Parameters
    ----------
    series : str
        A series with bundled data (see :func:`available_series`).
    state : str
        ISO3 code or name.

    Returns
    -------
    IndicatorSeries
        Possibly with no points when the State has no data.

    Raises
    ------
    NotFoundError
        If the series has no bundled data.
    UnknownCodeError
        If `state` is not a Member State.
    """
    if series not in _SOURCES:
        raise NotFoundError(
            f"no bundled data for series {series!r}; available: {', '.join(available_series())}",
            received=series,
        )
    iso3 = member_state(state).iso3
    _, _, label, unit, source = _SOURCES[series]
    points = _table(series).get(iso3, ())
    low, high, notes = series_intervals(
        [value for _, value in points],
        [None] * len(points),
        years=[year for year, _ in points],
        kind="rate",
        without_count="the World Bank's WDI publishes this rate without the number of victims "
        "it is computed from",
    )
    return IndicatorSeries(
        series=series,
        iso3=iso3,
        label=label,
        unit=unit,
        source=source,
        points=points,
        counts=(None,) * len(points),
        ci_low=low,
        ci_high=high,
        interval_notes=notes,
        breaks=_gap_breaks([year for year, _ in points]),
    )


def _years_text(years: Sequence[int]) -> str:
    """Years as short runs.

    Examples
    --------
    >>> _years_text([2004, 2005, 2006, 2009, 2011, 2012])
    '2004-2006, 2009, 2011-2012'
    """
    runs: list[list[int]] = []
    for year in sorted(years):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def series_intervals(
    values: Sequence[float],
    counts: Sequence[float | None],
    *,
    years: Sequence[int],
    kind: str,
    populations: Sequence[float | None] | None = None,
    per: int = 100_000,
    confidence: float = CONFIDENCE,
    without_count: str = "the source publishes the rate without the count it is built from",
) -> tuple[tuple[float | None, ...], tuple[float | None, ...], tuple[str, ...]]:
    """Exact Poisson (Garwood) intervals for the points of a published series.

    A count gets the Garwood interval of the count. A rate ``r`` published
    with its count ``c > 0`` gets the count's interval times ``r / c``: the
    publisher's own population (``c * per / r``) is implied, so rounding of
    the rate carries over but no population is guessed. A zero count has a
    rate of zero whatever the population, so its upper bound needs the
    population (`populations`); without one it has no interval. A rate with
    no count, or a value that is neither a count nor a rate, has no interval.

    Parameters
    ----------
    values : sequence of float
        The published values.
    counts : sequence of float or None
        The published count behind each value (None where none is published).
    years : sequence of int
        The years of the values (for the notes).
    kind : {"count", "rate", "other"}
    populations : sequence of float or None, optional
        The population of each year, used only for zero counts of a rate.
    per : int, default=100_000
        The rate's base.
    confidence : float, default=0.95
    without_count : str
        Why a rate has no count, for the note.

    Returns
    -------
    (ci_low, ci_high, notes)
        Bounds (None where not computed) and plain sentences naming the years
        without an interval and the reason.

    Examples
    --------
    >>> low, high, notes = series_intervals([10.0], [20], years=[2020], kind="rate")
    >>> round(low[0], 3), round(high[0], 3), notes
    (6.108, 15.444, ())
    >>> series_intervals([3.5, 2.0], [None, 4], years=[2020, 2021], kind="rate")[2][0]
    'no interval for 2020: the source publishes the rate without the count it is built from'
    """
    size = len(values)
    lows: list[float | None] = [None] * size
    highs: list[float | None] = [None] * size
    missing: dict[str, list[int]] = {}
    if kind == "other":
        if size:
            missing["the values are neither counts nor rates built from counts"] = list(years)
        return tuple(lows), tuple(highs), _notes(missing, size)
    for index, (value, count) in enumerate(zip(values, counts, strict=True)):
        if kind == "count":
            count = value
        if count is None or not np.isfinite(count) or count < 0:
            missing.setdefault(without_count, []).append(years[index])
            continue
        low, high = (float(bound) for bound in garwood_interval(count, confidence=confidence))
        if kind == "count":
            lows[index], highs[index] = low, high
        elif count > 0 and value > 0:
            lows[index], highs[index] = low * value / count, high * value / count
        elif count == 0 and value == 0:
            population = populations[index] if populations is not None else None
            if population is not None and population > 0:
                lows[index], highs[index] = 0.0, high * per / population
            else:
                reason = (
                    "the published count is 0 and the warehouse holds no population "
                    "to scale its upper bound"
                )
                missing.setdefault(reason, []).append(years[index])
        else:
            reason = "the published rate and count disagree (one is zero, the other not)"
            missing.setdefault(reason, []).append(years[index])
    return tuple(lows), tuple(highs), _notes(missing, len(values))


def _notes(missing: dict[str, list[int]], size: int) -> tuple[str, ...]:
    return tuple(
        f"no interval for {'any year' if len(years) == size else _years_text(years)}: {reason}"
        for reason, years in missing.items()
    )


def _gap_breaks(years: Sequence[int]) -> tuple[SeriesBreak, ...]:
    """A break at each run of years missing inside a series.

    Examples
    --------
    >>> [b.period for b in _gap_breaks([2010, 2011, 2014, 2015])]
    ['2012']
    """
    present = sorted(set(years))
    gaps = (
        [year for year in range(present[0], present[-1] + 1) if year not in present]
        if present
        else []
    )
    out = []
    runs = _years_text(gaps).split(", ") if gaps else []
    for run in runs:
        out.append(SeriesBreak(run.split("-")[0], "coverage", f"no value published for {run}"))
    return tuple(out)


def _source_title(source: str) -> str:
    from crimeprev.errors import CrimeprevError
    from crimeprev.store.profiles import load_profile

    try:
        profile = load_profile(source)
    except (CrimeprevError, OSError):
        return source
    return f"{profile.title} ({profile.publisher}; {profile.licence})"


def warehouse_series(
    warehouse: Warehouse,
    state: str,
    *,
    limit: int = 20,
    names: Collection[str] | None = None,
) -> tuple[IndicatorSeries, ...]:
    """Return a Member State's series from the warehouse's aggregate sources.

    Each (source, ICCS code) gives one series of the country's published totals
    (both sexes, all ages): the rate per 100,000 where the source publishes one,
    else the count. Series of the SDG 16.1.1 codes published as rates are named
    ``16.1.1`` and come first; the others are named ``ICCS <code>``, in code
    order. Values are as published; the warehouse's import checks apply.

    Each point has its exact Poisson interval where the value is a count or a
    rate published with its count (see :func:`series_intervals`); each series
    has its breaks: years missing inside it, the breaks
    :func:`~crimeprev.indicators.trends.series_breaks` finds in its source for
    the State that fall inside the series (its offence codes starting or
    stopping, concordance changes, area-set changes), and a ``source`` break
    where another source publishes the same series for the State.

    Parameters
    ----------
    warehouse : Warehouse
    state : str
        ISO3 code or name.
    limit : int, default=20
        At most this many series.
    names : collection of str, optional
        Only these series (``"16.1.1"``, ``"ICCS 0301"``); their breaks are the
        only ones looked for, which is what makes a paragraph's page quick.

    Returns
    -------
    tuple of IndicatorSeries
        Empty when the warehouse holds nothing for the country.
    """
    from crimeprev.standards import iccs, sdg

    iso3 = member_state(state).iso3
    homicide = set(sdg.indicator(_HOMICIDE_SERIES).iccs_codes)
    table = warehouse.table("aggregate")
    rows = table.filter(
        (table.area_set == "iso3")
        & (table.area_id == iso3)
        & (table.sex == "Total")
        & (table.age == "Total")
        & table.iccs_code.notnull()
        & table.value.notnull()
    ).select("source", "offence_code", "iccs_code", "unit", "year", "value")
    frame = warehouse.to_arrow(rows).to_pandas()
    if frame.empty:
        return ()
    frame["unit"] = frame["unit"].fillna("")
    frame["is_rate"] = frame["unit"].str.startswith("Rate")
    populations = _populations(warehouse, iso3)
    found: list[tuple[tuple[int, str, str], IndicatorSeries, set[str]]] = []
    for (source, code), group in frame.groupby(["source", "iccs_code"], sort=True):
        chosen = group[group["is_rate"]] if group["is_rate"].any() else group
        unit = str(chosen["unit"].iloc[0])
        is_rate = unit.startswith("Rate")
        # Several national codes mapped to one ICCS code are parts of it: their
        # values (counts, or rates over the same population) add up, year by year.
        values_by_year, counts_by_year = _sum_codes(
            group[group["unit"] == unit], group[group["unit"].map(_is_count)]
        )
        is_homicide = str(code) in homicide and is_rate
        label = iccs.get(str(code)).label if iccs.is_valid(str(code)) else str(code)
        years = sorted(values_by_year)
        values = [values_by_year[year] for year in years]
        counts = [counts_by_year.get(year) for year in years] if is_rate else list(values)
        kind = "rate" if is_rate else ("count" if _is_count(unit) else "other")
        low, high, notes = series_intervals(
            values,
            counts,
            years=years,
            kind=kind,
            populations=[populations.get(year) for year in years],
            per=_rate_base(unit),
            without_count=f"the source {source} publishes the rate without the count it is "
            "built from",
        )
        series = IndicatorSeries(
            series=_HOMICIDE_SERIES if is_homicide else f"ICCS {code}",
            iso3=iso3,
            label="Victims of intentional homicide" if is_homicide else label,
            unit="per 100,000 population" if is_rate else unit.lower(),
            source=_source_title(str(source)),
            points=tuple(zip(years, values, strict=True)),
            counts=tuple(counts),
            ci_low=low,
            ci_high=high,
            interval_notes=notes,
        )
        offence_codes = {str(value) for value in group["offence_code"].dropna()}
        found.append(((0 if is_homicide else 1, str(code), str(source)), series, offence_codes))
    found.sort(key=lambda item: item[0])
    if names is not None:
        found = [item for item in found if item[1].series in names]
    chosen_series = found[:limit]
    source_breaks = _source_breaks(warehouse, iso3, {key[2] for key, _, _ in chosen_series})
    out = []
    for (_, _, source), series, offence_codes in chosen_series:
        breaks = _inside(series, source_breaks.get(source, []), offence_codes)
        breaks += _other_sources(series, [other for _, other, _ in found if other is not series])
        out.append(replace(series, breaks=tuple(sorted(breaks, key=_break_order))))
    return tuple(out)


def _sum_codes(
    values: pd.DataFrame, counts: pd.DataFrame
) -> tuple[dict[int, float], dict[int, float]]:
    """Each year's value summed over offence codes, and the count behind it.

    The count of a year is the sum of the counts of the very codes whose values
    were summed; when one of them has no count that year, the year has none
    (its rate could not be matched to its count).
    """
    values = values.drop_duplicates(["offence_code", "year"])[["offence_code", "year", "value"]]
    counts = counts.drop_duplicates(["offence_code", "year"])[["offence_code", "year", "value"]]
    merged = values.merge(
        counts.rename(columns={"value": "count"}), on=["offence_code", "year"], how="left"
    )
    summed: dict[int, float] = {}
    matched: dict[int, float] = {}
    for _, rows in merged.groupby("year", sort=True):
        year = int(rows["year"].iloc[0])
        summed[year] = float(rows["value"].sum())
        if rows["count"].notna().all():
            matched[year] = float(rows["count"].sum())
    return summed, matched


def _is_gap(item: SeriesBreak) -> bool:
    return item.detail.startswith(("no value published", "no records at all"))


def _break_order(item: SeriesBreak) -> tuple[str, str, str]:
    return (item.period, item.kind, item.detail)


def _is_count(unit: str) -> bool:
    """Whether a published unit is a count of offences or victims."""
    return unit.strip().lower() in {"counts", "count", "number", "number of offences"}


def _rate_base(unit: str) -> int:
    """The base of a rate unit ("Rate per 100,000 population" -> 100000)."""
    found = re.search(r"per\s+([\d,]+)", unit)
    return int(found.group(1).replace(",", "")) if found else 100_000


def _populations(warehouse: Warehouse, iso3: str) -> dict[int, float]:
    """The State's total population by year, where the warehouse holds it."""
    table = warehouse.table("population")
    rows = table.filter(
        (table.area_set == "iso3")
        & (table.area_id == iso3)
        & (table.sex == "Total")
        & (table.age_band == "Total")
    ).select("year", "population")
    frame: pd.DataFrame = warehouse.to_arrow(rows).to_pandas()
    return {int(y): float(p) for y, p in zip(frame["year"], frame["population"], strict=True)}


def _source_breaks(
    warehouse: Warehouse, iso3: str, sources: set[str]
) -> dict[str, list[SeriesBreak]]:
    """Each source's breaks for the State (its profile's concordance included)."""
    from crimeprev.errors import CrimeprevError
    from crimeprev.indicators.trends import profile_scheme, series_breaks

    out: dict[str, list[SeriesBreak]] = {}
    for source in sorted(sources):
        try:
            out[source] = series_breaks(
                warehouse, source, area_id=iso3, scheme=profile_scheme(source)
            )
        except CrimeprevError:  # a source without rows for the State has no breaks
            out[source] = []
    return out


def _inside(
    series: IndicatorSeries, breaks: list[SeriesBreak], offence_codes: set[str]
) -> list[SeriesBreak]:
    """The series' own gaps, and the source's breaks inside its span that concern it."""
    years = [year for year, _ in series.points]
    own = list(_gap_breaks(years))
    if not years:
        return own
    first, last = str(years[0]), str(years[-1])
    seen = {item.period for item in own}
    for item in breaks:
        if not first < item.period <= last:
            continue  # a code starting with the series, or stopping after it, breaks nothing in it
        if item.offence_code is not None and item.offence_code not in offence_codes:
            continue
        if item.detail.startswith("no records at all") and item.period in seen:
            continue  # already a gap of the series
        own.append(item)
    return own


def _other_sources(series: IndicatorSeries, others: list[IndicatorSeries]) -> list[SeriesBreak]:
    """A ``source`` break where another publisher's series of the same indicator begins
    inside this one (the page shows both series; neither is joined to the other)."""
    out = []
    for other in others:
        if other.series != series.series or not other.points or other.source == series.source:
            continue
        start, end = other.points[0][0], other.points[-1][0]
        if not series.points[0][0] < start <= series.points[-1][0]:
            continue  # the other source does not begin inside this series
        out.append(
            SeriesBreak(
                str(start),
                "source",
                f"{other.source} also publishes {series.series} for {series.iso3} "
                f"({start}-{end}); the two sources are shown as separate series, not joined",
            )
        )
    return out


@contextmanager
def existing_warehouse(url: str) -> Iterator[Warehouse | None]:
    """Open the warehouse at `url` if it exists and opens, else yield None.

    The tracker only reads series from a warehouse: it never creates an empty
    DuckDB file, and a warehouse that cannot be opened (locked by an import,
    say) only means the bundled series are shown.
    """
    import duckdb

    from crimeprev.errors import CrimeprevError
    from crimeprev.store.warehouse import duckdb_options, open_warehouse

    if url.startswith("duckdb://"):
        path, _ = duckdb_options(url)
        if not path or path == ":memory:" or not Path(path).is_file():
            yield None
            return
    try:
        warehouse = open_warehouse(url)
    except (CrimeprevError, duckdb.Error, OSError):
        yield None
        return
    try:
        yield warehouse
    finally:
        warehouse.close()


def series_chart(series: IndicatorSeries, title: str) -> dict[str, Any]:
    """A Vega-Lite spec of a series: its line, its interval band and its breaks as rules.

    The band covers the points with an interval; each break is a dashed rule
    half a year before the first year it affects (on the first missing year for
    a gap), with its reason as tooltip.
    A series with no interval has no band layer, one with no break no rules.

    Examples
    --------
    >>> spec = series_chart(country_series("16.1.1", "KEN"), "Kenya")
    >>> [layer["mark"]["type"] for layer in spec["layer"]]
    ['line', 'rule']
    >>> spec["layer"][1]["data"]["values"][0]["year"]  # the gap in 2013
    2013
    """
    year = {
        "field": "year",
        "type": "quantitative",
        "title": "Year",
        "axis": {"format": "d", "tickMinStep": 1},
        "scale": {"zero": False},
    }
    interval = f"{round(series.confidence * 100)}% interval"
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": f"{series.label}, {title}",
        "width": "container",
        "height": 200,
        "data": {"values": series.rows()},
        "layer": [
            {
                "name": "band",
                "transform": [{"filter": "isValid(datum.ci_low) && isValid(datum.ci_high)"}],
                "mark": {"type": "errorband", "opacity": 0.3},
                "encoding": {
                    "x": year,
                    "y": {"field": "ci_low", "type": "quantitative", "title": series.unit},
                    "y2": {"field": "ci_high"},
                },
            },
            {
                "name": "line",
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": year,
                    "y": {"field": "value", "type": "quantitative", "title": series.unit},
                    "tooltip": [
                        {"field": "year", "title": "Year"},
                        {"field": "value", "title": series.unit, "format": ".2f"},
                        {"field": "count", "title": "Count", "format": ",.0f"},
                        {"field": "ci_low", "title": f"{interval}, low", "format": ".2f"},
                        {"field": "ci_high", "title": f"{interval}, high", "format": ".2f"},
                    ],
                },
            },
            {
                "name": "breaks",
                "data": {
                    "values": [
                        {
                            "year": int(item.period[:4]) - (0 if _is_gap(item) else 0.5),
                            "from": item.period,
                            "kind": item.kind,
                            "detail": item.detail,
                        }
                        for item in series.breaks
                    ]
                },
                "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#b2182b"},
                "encoding": {
                    "x": {"field": "year", "type": "quantitative"},
                    "tooltip": [
                        {"field": "from", "title": "Break from"},
                        {"field": "kind", "title": "Kind"},
                        {"field": "detail", "title": "Why"},
                    ],
                },
            },
        ],
    }
    has_band = any(low is not None for low in series.ci_low)
    spec["layer"] = [
        layer
        for layer in spec["layer"]
        if (layer["name"] != "band" or has_band) and (layer["name"] != "breaks" or series.breaks)
    ]
    return spec
