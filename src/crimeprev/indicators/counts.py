"""Counts by ICCS code x area x period, and rates per population with exact intervals.

Counting builds one Ibis expression that the warehouse engine runs (DESIGN:
millions of rows never pass through Python); only the grouped counts come
back. Codes are rolled up the ICCS hierarchy by truncation (an ICCS code's
ancestors are its prefixes); a record coded coarser than the requested level
keeps its coarser code, so nothing is dropped. Counts are sums of concordance
weights, so a record split between two ICCS codes counts once in total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from crimeprev.errors import InvalidInputError, NotFoundError
from crimeprev.indicators.poisson import rates_with_intervals
from crimeprev.standards.iccs import LEVELS
from crimeprev.store.warehouse import Warehouse

PERIODS = {"year": "Y", "quarter": "Q", "month": "M", "week": "W", "day": "D"}
_PRECISION_RANK = {
    "year": 0,
    "quarter": 1,
    "month": 2,
    "week": 3,
    "day": 4,
    "hour": 5,
    "minute": 6,
    "second": 7,
}
TAG_COLUMNS = (
    "attempted",
    "victim_sex",
    "victim_age",
    "perpetrator_sex",
    "perpetrator_age",
    "relationship",
    "weapon",
    "location_type",
)


@dataclass(frozen=True)
class CountQuery:
    """What to count.

    Parameters
    ----------
    source : str
        Source (profile) name.
    level : int or None
        ICCS level 1-4 to roll codes up to; None keeps codes as coded.
    period : str or None
        ``year``, ``quarter``, ``month``, ``week`` or ``day``; None for all time.
    by_area : bool
        Break down by area.
    tags : tuple of str
        Tag columns to break down by (e.g. ``("location_type",)``).
    iccs_code : str or None
        Count only this code and its descendants.
    start, end : date or None
        Occurrence dates to keep (inclusive start, exclusive end).
    """

    source: str
    level: int | None = None
    period: str | None = "year"
    by_area: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)
    iccs_code: str | None = None
    start: date | None = None
    end: date | None = None


def rolled_code(code: ir.StringValue, level: int | None) -> ir.StringValue:
    """The ICCS code truncated to `level` (codes coarser than `level` stay as they are)."""
    if level is None:
        return code
    if level not in LEVELS:
        raise InvalidInputError(f"ICCS level must be 1-4, got {level!r}")
    width = LEVELS[level]
    return (code.length() >= width).ifelse(code.substr(0, width), code)


def count_expression(warehouse: Warehouse, query: CountQuery) -> ibis.Table:
    """The Ibis expression counting incidents for `query`.

    Columns: ``iccs_code``, ``period`` (start date, if any), ``area_id`` (if
    by area), the tags asked for, ``count`` (weighted) and ``records``.
    """
    incident = warehouse.table("incident")
    rows = incident.filter(incident.source == query.source)
    if query.iccs_code:
        rows = rows.filter(rows.iccs_code.startswith(query.iccs_code))
    if query.start:
        rows = rows.filter(rows.occurred_at >= ibis.literal(query.start).cast("timestamp"))
    if query.end:
        rows = rows.filter(rows.occurred_at < ibis.literal(query.end).cast("timestamp"))
    keys: dict[str, ir.Value] = {"iccs_code": rolled_code(rows.iccs_code, query.level)}
    if query.period:
        if query.period not in PERIODS:
            raise InvalidInputError(
                f"period must be one of {', '.join(PERIODS)}, got {query.period!r}"
            )
        keys["period"] = rows.occurred_at.truncate(PERIODS[query.period]).date()
    if query.by_area:
        keys["area_id"] = rows.area_id
    for tag in query.tags:
        if tag not in TAG_COLUMNS:
            raise InvalidInputError(f"unknown tag {tag!r}; tags: {', '.join(TAG_COLUMNS)}")
        keys[tag] = rows[tag]
    return rows.group_by(**keys).aggregate(count=rows.iccs_weight.sum(), records=rows.count())


def _source_precision(warehouse: Warehouse, source: str) -> str | None:
    incident = warehouse.table("incident")
    # A profile gives one precision per source: one row answers (no full scan).
    rows = warehouse.to_arrow(
        incident.filter(incident.source == source).select("occurred_precision").limit(1)
    )
    values = [v for v in rows.column(0).to_pylist() if v]
    if not values:
        return None
    return min(values, key=lambda p: _PRECISION_RANK.get(p, 0))


def count_incidents(warehouse: Warehouse, query: CountQuery) -> pd.DataFrame:
    """Run :func:`count_expression` and return the counts, sorted.

    Raises
    ------
    NotFoundError
        If the source has no incidents in the warehouse (saying so when it
        is an aggregate source).
    InvalidInputError
        If ``iccs_code`` is not an ICCS code, or the period is finer than
        the source's date precision (e.g. days for police.uk data, which give
        the month only).
    """
    if query.period and query.period not in PERIODS:
        raise InvalidInputError(f"period must be one of {', '.join(PERIODS)}, got {query.period!r}")
    if query.iccs_code:
        from dataclasses import replace

        query = replace(query, iccs_code=_checked_code(query.iccs_code))
    precision = _source_precision(warehouse, query.source)
    if precision is None:
        raise _no_incidents(warehouse, query.source)
    if query.period and _PRECISION_RANK[query.period] > _PRECISION_RANK.get(precision, 7):
        raise InvalidInputError(
            f"source {query.source!r} records dates to the {precision}; "
            f"counts by {query.period} would invent precision. Use a coarser period."
        )
    return warehouse.to_arrow(sorted_count_expression(warehouse, query)).to_pandas()


def _checked_code(code: str) -> str:
    """The canonical ICCS code to filter on; an unknown code would count nothing and look
    like zero offences, so it is refused (422), naming the nearest codes."""
    from crimeprev.errors import UnknownCodeError
    from crimeprev.standards import iccs

    canonical = iccs.normalise(code)
    if len(canonical) not in LEVELS.values():
        widths = ", ".join(str(width) for width in sorted(LEVELS.values()))
        raise InvalidInputError(
            f"ICCS code {code!r} is not a code of any ICCS level ({widths} digits); "
            "give a code such as '05' or '0501' (crimeprev iccs search WORDS finds one)"
        )
    try:
        return iccs.validate(canonical)
    except UnknownCodeError as error:
        raise InvalidInputError(error.message) from error


def _no_incidents(warehouse: Warehouse, source: str) -> NotFoundError:
    """The error for a source without incidents: not imported, or pre-counted (aggregate)."""
    aggregate = warehouse.table("aggregate")
    if warehouse.scalar(aggregate.filter(aggregate.source == source).count()):
        return NotFoundError(
            f"source {source!r} is an aggregate source (values counted by its publisher), not "
            f"incidents; read its values with crimeprev stats area {source} AREA, "
            f"crimeprev export {source} or the page /stats/{source}"
        )
    return NotFoundError(
        f"no incidents for source {source!r}; import it first (crimeprev stats import)"
    )


def sorted_count_expression(warehouse: Warehouse, query: CountQuery) -> ibis.Table:
    """:func:`count_expression` ordered by period, area, ICCS code and tags, nulls last.

    The engine sorts (DuckDB or PostgreSQL), so a result of millions of
    groups is never sorted again in pandas; the key columns are unique per
    group, so the order is total and the same on every backend.
    """
    counts = count_expression(warehouse, query)
    keys = [c for c in ("period", "area_id", "iccs_code", *query.tags) if c in counts.columns]
    return counts.order_by([ibis.asc(key, nulls_first=False) for key in keys])


@dataclass(frozen=True)
class RateTable:
    """Rates per `per` residents with exact Poisson intervals, one row per area x year.

    ``frame`` has ``area_id``, ``name``, ``year``, ``count``, ``population``,
    ``population_year`` (the census year used), ``rate``, ``ci_low``,
    ``ci_high``. Areas with no incidents have count 0 (they are not missing);
    areas without a population have NaN rates.
    """

    frame: pd.DataFrame
    per: int
    confidence: float
    area_set: str
    unassigned: float


def area_rates(
    warehouse: Warehouse,
    source: str,
    *,
    iccs_code: str | None = None,
    years: list[int] | None = None,
    per: int = 100_000,
    confidence: float = 0.95,
) -> RateTable:
    """Rates by area and year for a source, with Garwood intervals.

    The population of the latest census year not after the count year is
    used (the earliest one for years before every census); the year used is
    reported in ``population_year``.

    Raises
    ------
    NotFoundError
        If the source has no incidents, none in one of `years`, or its areas
        have no population.
    """
    incident = warehouse.table("incident")
    rows = incident.filter(incident.source == source)
    area_sets = warehouse.to_arrow(rows.select("area_set").distinct()).column(0).to_pylist()
    area_sets = [a for a in area_sets if a]
    if not area_sets:
        raise NotFoundError(f"no incidents with areas for source {source!r}")
    area_set = area_sets[0]
    counts = count_incidents(
        warehouse,
        CountQuery(source=source, level=None, period="year", by_area=True, iccs_code=iccs_code),
    )
    counts["year"] = pd.to_datetime(counts["period"]).dt.year
    unassigned = float(counts.loc[counts["area_id"].isna(), "count"].sum())
    per_area = (
        counts.dropna(subset=["area_id"]).groupby(["area_id", "year"])["count"].sum().reset_index()
    )
    population = warehouse.table("population")
    pop = warehouse.to_arrow(
        population.filter(
            (population.area_set == area_set)
            & (population.sex == "Total")
            & (population.age_band == "Total")
        ).select("area_id", "year", "population")
    ).to_pandas()
    if pop.empty:
        raise NotFoundError(f"no population for area set {area_set!r}; load populations first")
    area = warehouse.table("area")
    names = warehouse.to_arrow(
        area.filter(area.area_set == area_set).select("area_id", "name")
    ).to_pandas()
    recorded = sorted(int(y) for y in counts["year"].unique())
    absent = sorted(set(years or []) - set(recorded))
    if absent:
        # A year the source has no record of is missing, not a year of zero offences.
        raise NotFoundError(
            f"source {source!r} has no incidents in {', '.join(map(str, absent))}"
            + (f"; its years are {recorded[0]}-{recorded[-1]}" if recorded else "")
            + " (a year without records is missing, not zero)"
        )
    wanted_years = years or sorted(per_area["year"].unique().tolist())
    # Areas with boundaries define the grid (incidents can only fall in those);
    # without boundaries, the areas with a population do.
    source_ids = names["area_id"] if not names.empty else pop["area_id"]
    area_ids = sorted(set(source_ids), key=_natural)
    grid = pd.MultiIndex.from_product([area_ids, wanted_years], names=["area_id", "year"]).to_frame(
        index=False
    )
    table = grid.merge(per_area, on=["area_id", "year"], how="left")
    table["count"] = table["count"].fillna(0.0)
    census_years = np.array(sorted(pop["year"].unique()))
    chosen = {
        year: int(census_years[census_years <= year].max())
        if (census_years <= year).any()
        else int(census_years.min())
        for year in wanted_years
    }
    table["population_year"] = table["year"].map(chosen)
    table = table.merge(
        pop.rename(columns={"year": "population_year"}),
        on=["area_id", "population_year"],
        how="left",
    )
    rate, low, high = rates_with_intervals(
        table["count"].to_numpy(),
        table["population"].fillna(0).to_numpy(),
        per=per,
        confidence=confidence,
    )
    table["rate"], table["ci_low"], table["ci_high"] = rate, low, high
    table = table.merge(names, on="area_id", how="left")
    columns = [
        "area_id",
        "name",
        "year",
        "count",
        "population",
        "population_year",
        "rate",
        "ci_low",
        "ci_high",
    ]
    return RateTable(table[columns], per, confidence, area_set, unassigned)


def _natural(value: str) -> tuple[int, str]:
    return (int(value), "") if str(value).isdigit() else (10**9, str(value))


def aggregate_values(
    warehouse: Warehouse,
    source: str,
    *,
    iccs_code: str | None = None,
    unit: str | None = "Counts",
    sex: str | None = "Total",
) -> pd.DataFrame:
    """Rows of an aggregate source (pre-counted data) for one ICCS code.

    Aggregate sources report totals at each level of the hierarchy, so the
    rows with exactly `iccs_code` are returned (never summed over children).
    """
    table = warehouse.table("aggregate")
    rows = table.filter(table.source == source)
    if iccs_code:
        rows = rows.filter(rows.iccs_code == iccs_code)
    if unit:
        rows = rows.filter(rows.unit == unit)
    if sex:
        rows = rows.filter(rows.sex == sex)
    frame = warehouse.to_arrow(
        rows.select(
            "area_id",
            "area_name",
            "year",
            "iccs_code",
            "offence_label",
            "sex",
            "age",
            "unit",
            "value",
        )
    ).to_pandas()
    return frame.sort_values(["area_id", "year"]).reset_index(drop=True)


@dataclass(frozen=True)
class AreaConcentration:
    """How concentrated a source's offences are across its areas in one year (or all years).

    Areas of the source's area set with no offence count as zeros; offences
    in no area are left out and reported in ``unassigned``.
    """

    source: str
    year: int | None
    area_set: str
    areas: int
    total: float
    gini: float
    top_fraction: float
    top_share: float
    top_areas: list[dict[str, object]]
    unassigned: float


def _area_counts(
    warehouse: Warehouse, source: str, *, year: int | None, iccs_code: str | None
) -> tuple[pd.Series, dict[str, str], str, float]:
    """Offences per area of the source's area set (zeros included), names, area set, no area."""
    start = date(year, 1, 1) if year else None
    end = date(year + 1, 1, 1) if year else None
    counts = count_incidents(
        warehouse,
        CountQuery(
            source=source, period=None, by_area=True, iccs_code=iccs_code, start=start, end=end
        ),
    )
    unassigned = float(counts.loc[counts["area_id"].isna(), "count"].sum())
    per_area = counts.dropna(subset=["area_id"]).groupby("area_id")["count"].sum()
    if per_area.empty:
        raise NotFoundError(f"no offences in any area for source {source!r}")
    incident = warehouse.table("incident")
    sets = (
        warehouse.to_arrow(incident.filter(incident.source == source).select("area_set").distinct())
        .column(0)
        .to_pylist()
    )
    area_set = next((s for s in sets if s), "")
    area = warehouse.table("area")
    names = warehouse.to_arrow(
        area.filter(area.area_set == area_set).select("area_id", "name")
    ).to_pandas()
    every = sorted(set(names["area_id"]) | set(per_area.index), key=_natural)
    label = dict(zip(names["area_id"], names["name"], strict=True))
    return per_area.reindex(every, fill_value=0.0), label, area_set, unassigned


def area_concentration(
    warehouse: Warehouse,
    source: str,
    *,
    year: int | None = None,
    top_fraction: float = 0.1,
    iccs_code: str | None = None,
) -> AreaConcentration:
    """Gini coefficient and share of offences in the top `top_fraction` of areas.

    Raises
    ------
    NotFoundError
        If the source has no offence in any area.
    """
    from crimeprev.indicators.standardise import concentration

    values, label, area_set, unassigned = _area_counts(
        warehouse, source, year=year, iccs_code=iccs_code
    )
    result = concentration(values.to_numpy(), top_fraction=top_fraction)
    top_n = max(1, int(np.ceil(top_fraction * len(values))))
    top = values.sort_values(ascending=False).head(top_n)
    return AreaConcentration(
        source=source,
        year=year,
        area_set=area_set,
        areas=len(values),
        total=float(values.sum()),
        gini=result.gini,
        top_fraction=top_fraction,
        top_share=result.top_share,
        top_areas=[
            {"area_id": a, "name": label.get(str(a), ""), "count": float(c)} for a, c in top.items()
        ],
        unassigned=unassigned,
    )


@dataclass(frozen=True)
class PublicConcentration:
    """Concentration as the public page and JSON show it, with per-area counts.

    ``counts`` lists every area of the area set with its ``count`` (None
    where hidden) and ``suppression``, the source's disclosure pattern's
    status of that area x year (or all years) x ICCS code cell. ``total``,
    ``unassigned``, ``gini``, ``top_share`` and ``top_areas`` are None where
    hidden; ``suppression`` names those fields. ``method`` says how the
    figures are computed.
    """

    source: str
    year: int | None
    iccs_code: str | None
    area_set: str
    areas: int
    total: float | None
    gini: float | None
    top_fraction: float
    top_share: float | None
    top_areas: list[dict[str, object]] | None
    unassigned: float | None
    counts: list[dict[str, object]]
    suppression: dict[str, str]
    method: str


#: How the public concentration figures are computed and when they are withheld.
CONCENTRATION_METHOD = (
    "Gini coefficient and top share from the true counts per area (areas with no offence "
    "count as zeros; offences with no area are left out). They are published only when every "
    "area's count is published: then they follow from published counts and tell nothing more. "
    "When a count is hidden, they, and the ranking of the top areas, are withheld: with the "
    "total, the Gini coefficient is one more linear equation over the sorted counts (two hidden "
    "counts would come back from it), and the ranking bounds a hidden count by its neighbours."
)


def public_concentration(
    warehouse: Warehouse,
    source: str,
    *,
    threshold: int,
    year: int | None = None,
    top_fraction: float = 0.1,
    iccs_code: str | None = None,
    cache_dir: Path | None = None,
) -> PublicConcentration:
    """Concentration of offences over areas with small counts suppressed, for the public faces.

    Each area's count (all offences or `iccs_code`, in `year` or all years)
    is a cell of the source's one disclosure pattern
    (:func:`crimeprev.indicators.source_protection.source_pattern`), so it
    takes that cell's status, like the rates, the map and the exports. The
    total over areas is published when every area's count is, or when both
    the all-areas cell and the no-area cell are (it is their difference).
    The Gini coefficient, top share and top areas: see
    :data:`CONCENTRATION_METHOD`.

    Raises
    ------
    NotFoundError
        If the source has no offence in any area.
    """
    from crimeprev.indicators.disclosure import PUBLISHED, SECONDARY
    from crimeprev.indicators.source_protection import (
        ALL,
        area_key,
        code_key,
        period_key,
        source_pattern,
    )

    result = area_concentration(
        warehouse, source, year=year, top_fraction=top_fraction, iccs_code=iccs_code
    )
    values, label, _, _ = _area_counts(warehouse, source, year=year, iccs_code=iccs_code)
    pattern = source_pattern(warehouse, source, threshold=threshold, cache_dir=cache_dir)
    levels = {width: level for level, width in LEVELS.items()}
    code = ALL if iccs_code is None else code_key(iccs_code, levels.get(len(iccs_code)))
    when = ALL if year is None else period_key("year", f"{year}-01-01")
    marks = [
        pattern.status_of((code, area_key(area), when), float(count))
        for area, count in values.items()
    ]
    counts = [
        {
            "area_id": area,
            "name": label.get(str(area), ""),
            "count": None if mark else float(count),
            "suppression": mark,
        }
        for (area, count), mark in zip(values.items(), marks, strict=True)
    ]
    no_area = pattern.status_of((code, area_key(None), when), result.unassigned)
    every_area = pattern.status_of((code, ALL, when))
    all_shown = all(mark == PUBLISHED for mark in marks)
    suppression: dict[str, str] = {}
    if no_area:
        suppression["unassigned"] = no_area
    if not all_shown and (no_area or every_area):
        suppression["total"] = SECONDARY
    if not all_shown:
        for name in ("gini", "top_share", "top_areas"):
            suppression[name] = SECONDARY
    return PublicConcentration(
        source=source,
        year=year,
        iccs_code=iccs_code,
        area_set=result.area_set,
        areas=result.areas,
        total=None if "total" in suppression else result.total,
        gini=None if "gini" in suppression else result.gini,
        top_fraction=top_fraction,
        top_share=None if "top_share" in suppression else result.top_share,
        top_areas=None if "top_areas" in suppression else result.top_areas,
        unassigned=None if "unassigned" in suppression else result.unassigned,
        counts=counts,
        suppression=suppression,
        method=CONCENTRATION_METHOD,
    )


def band_bounds(label: str) -> tuple[int, int | None]:
    """Lowest and highest age of an age-band label such as ``15-29``, ``85+`` or ``5``.

    Raises
    ------
    InvalidInputError
        If the label is not an age band.

    Examples
    --------
    >>> band_bounds("15-29"), band_bounds("85+"), band_bounds("0")
    ((15, 29), (85, None), (0, 0))
    """
    text = str(label).strip()
    try:
        if text.endswith("+"):
            return int(text[:-1]), None
        if "-" in text:
            low, high = text.split("-", 1)
            return int(low), int(high)
        return int(text), int(text)
    except ValueError:
        raise InvalidInputError(f"age band {label!r} is not like '15-29', '85+' or '5'") from None


@dataclass(frozen=True)
class StandardisedTable:
    """Directly age-standardised rates by area, with Fay-Feuer intervals.

    ``frame`` has ``area_id``, ``name``, ``count`` (offences with a known
    age), ``unknown_age``, ``crude_rate``, ``rate``, ``ci_low``, ``ci_high``.
    An area with no population in some band has no standardised rate.
    """

    frame: pd.DataFrame
    bands: list[str]
    standard: list[float]
    standard_name: str
    age_field: str
    year: int
    population_year: int
    per: int
    #: Offences (age known) and population by area (rows) x band (columns), for disclosure checks.
    band_counts: pd.DataFrame | None = None
    band_populations: pd.DataFrame | None = None


def standardised_area_rates(
    warehouse: Warehouse,
    source: str,
    *,
    year: int,
    age_field: str = "victim_age",
    standard: dict[str, float] | None = None,
    iccs_code: str | None = None,
    per: int = 100_000,
    confidence: float = 0.95,
) -> StandardisedTable:
    """Age-standardised rates by area for `year` (direct method).

    The age of each record is `age_field` (victim or perpetrator age); the
    bands are those of the population table. Without `standard` (band ->
    population) the whole area set's population in the same bands is the
    standard, so the rates compare areas as if each had the set's age mix.

    Raises
    ------
    NotFoundError
        If the area set has no population by age band, or the source no incidents.
    InvalidInputError
        If `age_field` is not an age, or `standard` misses a band.
    """
    from crimeprev.indicators.standardise import direct_standardised_rate

    if age_field not in ("victim_age", "perpetrator_age"):
        raise InvalidInputError(
            f"age field must be victim_age or perpetrator_age, got {age_field!r}"
        )
    incident = warehouse.table("incident")
    rows = incident.filter(incident.source == source)
    if iccs_code:
        rows = rows.filter(rows.iccs_code.startswith(iccs_code))
    rows = rows.filter(rows.occurred_at.year() == year)
    counted = warehouse.to_arrow(
        rows.group_by(area_set=rows.area_set, area_id=rows.area_id, age=rows[age_field]).aggregate(
            count=rows.iccs_weight.sum()
        )
    ).to_pandas()
    area_sets = list(counted["area_set"].dropna().unique())
    if not area_sets:
        raise NotFoundError(f"no offences in areas for source {source!r} in {year}")
    area_set = str(area_sets[0])
    population = warehouse.table("population")
    pop = warehouse.to_arrow(
        population.filter(
            (population.area_set == area_set)
            & (population.sex == "Total")
            & (population.age_band != "Total")
        ).select("area_id", "year", "age_band", "population")
    ).to_pandas()
    if pop.empty:
        raise NotFoundError(
            f"no population by age band for area set {area_set!r}: age-standardised rates "
            "need one (sex Total, one row per area, year and age band)"
        )
    census = np.array(sorted(pop["year"].unique()))
    earlier = census[census <= year]
    population_year = int(earlier.max() if earlier.size else census.min())
    pop = pop[pop["year"] == population_year]
    bands = sorted(pop["age_band"].unique(), key=lambda b: band_bounds(b)[0])
    bounds = [band_bounds(b) for b in bands]
    if standard is None:
        weights = pop.groupby("age_band")["population"].sum().reindex(bands).to_numpy(dtype=float)
        standard_name = f"{area_set} population {population_year}"
    else:
        missing = [b for b in bands if b not in standard]
        if missing:
            raise InvalidInputError(f"the standard population has no value for band(s) {missing}")
        weights = np.array([float(standard[b]) for b in bands])
        standard_name = "given standard population"
    counted = counted.dropna(subset=["area_id"])
    ages = counted["age"].astype("float64").tolist()
    counted["band"] = [_band_of(age, bands, bounds) for age in ages]
    unknown = counted[counted["band"].isna()].groupby("area_id")["count"].sum()
    known = counted.dropna(subset=["band"])
    by_band = known.pivot_table(
        index="area_id", columns="band", values="count", aggfunc="sum", fill_value=0.0
    ).reindex(columns=bands, fill_value=0.0)
    pop_grid = pop.pivot_table(
        index="area_id", columns="age_band", values="population", aggfunc="sum"
    ).reindex(columns=bands)
    area = warehouse.table("area")
    names = dict(
        warehouse.to_arrow(area.filter(area.area_set == area_set).select("area_id", "name"))
        .to_pandas()
        .itertuples(index=False, name=None)
    )
    out = []
    for area_id in sorted(pop_grid.index, key=_natural):
        counts = (
            by_band.loc[area_id].to_numpy(dtype=float)
            if area_id in by_band.index
            else np.zeros(len(bands))
        )
        people = pop_grid.loc[area_id].to_numpy(dtype=float)
        row: dict[str, object] = {
            "area_id": area_id,
            "name": names.get(area_id, ""),
            "count": float(counts.sum()),
            "unknown_age": float(unknown.get(area_id, 0.0)),
            "crude_rate": float("nan"),
            "rate": float("nan"),
            "ci_low": float("nan"),
            "ci_high": float("nan"),
        }
        if np.all(np.isfinite(people)) and np.all(people > 0):
            result = direct_standardised_rate(
                counts, people, weights, per=per, confidence=confidence
            )
            row.update(
                crude_rate=result.crude_rate,
                rate=result.rate,
                ci_low=result.ci_low,
                ci_high=result.ci_high,
            )
        out.append(row)
    return StandardisedTable(
        frame=pd.DataFrame(out),
        bands=bands,
        standard=[float(w) for w in weights],
        standard_name=standard_name,
        age_field=age_field,
        year=year,
        population_year=population_year,
        per=per,
        band_counts=by_band.reindex(index=pop_grid.index, fill_value=0.0),
        band_populations=pop_grid,
    )


def _band_of(
    age: float | None, bands: list[str], bounds: list[tuple[int, int | None]]
) -> str | None:
    """The band an age falls in (None for a missing age or one outside every band)."""
    if age is None or not np.isfinite(age):
        return None
    for band, (low, high) in zip(bands, bounds, strict=True):
        if age >= low and (high is None or age <= high):
            return band
    return None
