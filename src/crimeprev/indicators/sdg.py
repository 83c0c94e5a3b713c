"""SDG indicators from administrative data in the warehouse.

Two SDG indicators are rates of recorded offences per 100,000 residents:
16.1.1 (victims of intentional homicide, ICCS 0101) and 16.2.2 (detected
victims of trafficking in persons, ICCS 0204). Both are computed here, each
with its numerator, denominator and metadata from ``standards``:

- from incident records (:func:`incident_indicator`), disaggregated by victim
  sex and age band where the source records them, and for 16.2.2 by form of
  exploitation (the ICCS level-3 code under 0204). The denominator is the
  population of the source's areas in the count year (the latest census year
  not after it), by sex and age band where the population table has them.
  A disaggregated row whose population is not given keeps its numerator and
  has no rate (flag ``no_population``): a rate over the total population
  would be wrong.
- from aggregate sources (:func:`aggregate_indicator`): rows reported with
  exactly the indicator's ICCS code. The bundled WDI series publishes rates
  only; the numerator is then derived as rate x population / 100,000 and
  flagged as derived.

Every other indicator in ``standards`` is listed by :func:`availability`
with the reason it cannot be computed from the warehouse (survey
indicators, shares of non-crime records, estimates).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from crimeprev.errors import InvalidInputError, NotFoundError
from crimeprev.indicators.poisson import rates_with_intervals
from crimeprev.standards import iccs, sdg
from crimeprev.store.warehouse import Warehouse

#: Indicators computed as recorded victims per 100,000 residents.
RATE_INDICATORS = ("16.1.1", "16.2.2")
#: Victim age bands (UNODC homicide statistics): (lowest age, highest age or None, label).
AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 14, "0-14"),
    (15, 29, "15-29"),
    (30, 44, "30-44"),
    (45, 59, "45-59"),
    (60, None, "60+"),
)
UNKNOWN = "Unknown"
TOTAL = "Total"


@dataclass(frozen=True)
class IndicatorTable:
    """An SDG indicator with numerator, denominator and metadata.

    ``frame`` has ``area_id``, ``area_name``, ``year``, the disaggregation
    columns (``sex``, ``age``, ``form`` where asked), ``numerator``,
    ``denominator``, ``value`` (per 100,000), ``ci_low``, ``ci_high`` and flags.
    """

    indicator: str
    name: str
    unit: str
    numerator_definition: str
    denominator_definition: str
    frame: pd.DataFrame
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def iccs_code(self) -> str:
        """The ICCS code the indicator counts (its first, for SDMX)."""
        return sdg.indicator(self.indicator).iccs_codes[0]


def _metadata(indicator_id: str) -> sdg.SdgIndicator:
    if indicator_id not in RATE_INDICATORS:
        raise InvalidInputError(
            f"indicator {indicator_id!r} is not computed from recorded offences; "
            f"computable: {', '.join(RATE_INDICATORS)} (see `crimeprev indicators --list`)"
        )
    return sdg.indicator(indicator_id)


def sex_label(value: object) -> str:
    """Canonical sex of a recorded value: Male, Female or Unknown.

    Examples
    --------
    >>> [sex_label(v) for v in ["M", "female", "", None, "X"]]
    ['Male', 'Female', 'Unknown', 'Unknown', 'Unknown']
    """
    text = str(value or "").strip().lower()
    if text in ("m", "male", "man", "1"):
        return "Male"
    if text in ("f", "female", "woman", "2"):
        return "Female"
    return UNKNOWN


def age_band(age: float | None) -> str:
    """The :data:`AGE_BANDS` label of an age in whole years (Unknown if missing).

    Examples
    --------
    >>> [age_band(a) for a in [0, 14, 15, 59, 60, 101, None]]
    ['0-14', '0-14', '15-29', '45-59', '60+', '60+', 'Unknown']
    """
    if age is None or pd.isna(age):
        return UNKNOWN
    for low, high, label in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return UNKNOWN


def _census_year(available: np.ndarray, year: int) -> int:
    """The latest census year not after `year` (the earliest for years before every census)."""
    earlier = available[available <= year]
    return int(earlier.max()) if earlier.size else int(available.min())


def incident_indicator(
    warehouse: Warehouse,
    indicator_id: str,
    source: str,
    *,
    by_sex: bool = True,
    by_age: bool = True,
    per: int = 100_000,
) -> IndicatorTable:
    """SDG 16.1.1 or 16.2.2 from incident records, for the whole area the source covers.

    Raises
    ------
    NotFoundError
        If the source has no incident coded to the indicator's ICCS codes.
    """
    meta = _metadata(indicator_id)
    incident = warehouse.table("incident")
    rows = incident.filter(incident.source == source)
    matches = [rows.iccs_code.startswith(code) for code in meta.iccs_codes]
    condition = matches[0]
    for extra in matches[1:]:
        condition = condition | extra
    rows = rows.filter(condition)
    keys = {
        "year": rows.occurred_at.year(),
        "area_set": rows.area_set,
        "victim_sex": rows.victim_sex,
        "victim_age": rows.victim_age,
        "iccs_code": rows.iccs_code,
    }
    grouped = rows.group_by(**keys).aggregate(numerator=rows.iccs_weight.sum())
    counts = warehouse.to_arrow(grouped).to_pandas()
    if counts.empty:
        raise NotFoundError(
            f"source {source!r} has no incidents coded to ICCS {', '.join(meta.iccs_codes)} "
            f"({meta.indicator})"
        )
    notes: list[str] = []
    by: list[str] = []
    if by_sex:
        counts["sex"] = counts["victim_sex"].map(sex_label)
        by.append("sex")
        if (counts["sex"] == UNKNOWN).all():
            notes.append("the source records no victim sex: all victims are of unknown sex")
    if by_age:
        counts["age"] = counts["victim_age"].map(age_band)
        by.append("age")
        if (counts["age"] == UNKNOWN).all():
            notes.append("the source records no victim age: all victims are of unknown age")
    if indicator_id == "16.2.2":
        # Form of exploitation: the ICCS level-3 code under 0204 (0204 itself: not stated).
        counts["form"] = [
            code[:5] if len(code) >= 5 else UNKNOWN for code in counts["iccs_code"].astype(str)
        ]
        by.append("form")
    table = counts.groupby(["year", *by], as_index=False)["numerator"].sum()
    table = _with_totals(table, by)
    area_sets = sorted(set(counts["area_set"].dropna()))
    table = _with_denominators(warehouse, table, area_sets, notes)
    rate, low, high = rates_with_intervals(
        table["numerator"].to_numpy(), table["denominator"].fillna(0).to_numpy(), per=per
    )
    table["value"], table["ci_low"], table["ci_high"] = rate, low, high
    table["no_population"] = table["denominator"].isna()
    table.insert(0, "area_name", source)
    table.insert(0, "area_id", ",".join(area_sets) or source)
    return IndicatorTable(
        indicator=meta.indicator,
        name=meta.name,
        unit=meta.unit,
        numerator_definition=meta.numerator,
        denominator_definition=meta.denominator,
        frame=table.sort_values(["year", *by]).reset_index(drop=True),
        source=source,
        notes=tuple(notes),
    )


def _with_totals(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Add Total rows over each disaggregation, one dimension at a time and overall."""
    parts: list[pd.DataFrame] = [table]
    for column in by:
        others = [c for c in by if c != column]
        total = table.groupby(["year", *others], as_index=False)[["numerator"]].sum()
        total[column] = TOTAL
        parts.append(total)
    if len(by) > 1:
        overall = table.groupby("year", as_index=False)[["numerator"]].sum()
        for column in by:
            overall[column] = TOTAL
        parts.append(overall)
    return pd.concat(parts, ignore_index=True)[["year", *by, "numerator"]]


def _with_denominators(
    warehouse: Warehouse,
    table: pd.DataFrame,
    area_sets: list[str],
    notes: list[str],
) -> pd.DataFrame:
    """Join the population of the source's areas by year (and sex and age band where given)."""
    population = warehouse.table("population")
    pop = warehouse.to_arrow(
        population.filter(population.area_set.isin(area_sets or [""])).select(
            "year", "sex", "age_band", "population"
        )
    ).to_pandas()
    if pop.empty:
        notes.append("no population for the source's areas: numerators only")
        table["denominator"] = np.nan
        return table
    pop = pop.groupby(["year", "sex", "age_band"], as_index=False)["population"].sum()
    census = np.array(sorted(pop["year"].unique()))
    table["population_year"] = [_census_year(census, int(y)) for y in table["year"]]
    keyed = table.assign(_sex=table.get("sex", TOTAL), _age=table.get("age", TOTAL))
    # A form of exploitation is not a population group: its denominator is the whole group.
    merged = keyed.merge(
        pop.rename(columns={"year": "population_year", "sex": "_sex", "age_band": "_age"}),
        on=["population_year", "_sex", "_age"],
        how="left",
    )
    merged = merged.rename(columns={"population": "denominator"}).drop(columns=["_sex", "_age"])
    groups = merged.get("sex", TOTAL), merged.get("age", TOTAL)
    known = [(g != UNKNOWN) for g in groups]
    missing = merged["denominator"].isna() & known[0] & known[1]
    if missing.any():
        notes.append(
            "population by sex or age band not given for every group: those rows have "
            "numerators only"
        )
    return merged


def aggregate_indicator(
    warehouse: Warehouse, indicator_id: str, source: str, *, per: int = 100_000
) -> IndicatorTable:
    """SDG 16.1.1 or 16.2.2 by country and year from an aggregate source.

    Rows reported with exactly one of the indicator's ICCS codes count (an
    aggregate source reports totals at each level, so children are never
    added). Counts are preferred; where a country-year has a rate only, the
    numerator is derived from it and flagged ``numerator_derived``.

    Raises
    ------
    NotFoundError
        If the source has no row with the indicator's ICCS codes.
    """
    meta = _metadata(indicator_id)
    table = warehouse.table("aggregate")
    rows = table.filter((table.source == source) & table.iccs_code.isin(list(meta.iccs_codes)))
    from crimeprev.indicators.aggregates import with_labels

    values = with_labels(
        warehouse.to_arrow(
            rows.select("area_set", "area_id", "area_name", "year", "sex", "age", "unit", "value")
        ).to_pandas()
    )
    if values.empty:
        raise NotFoundError(
            f"source {source!r} has no rows with ICCS {', '.join(meta.iccs_codes)} "
            f"({meta.indicator})"
        )
    is_rate = values["unit"].fillna("").str.startswith("Rate")
    keys = ["area_id", "year", "sex", "age"]
    counts = values[~is_rate].drop_duplicates(keys)
    rates = values[is_rate].drop_duplicates(keys)
    only_rates = rates.merge(counts[keys], on=keys, how="left", indicator=True)
    only_rates = only_rates[only_rates["_merge"] == "left_only"].drop(columns="_merge")
    frame = pd.concat(
        [counts.assign(numerator_derived=False), only_rates.assign(numerator_derived=True)],
        ignore_index=True,
    )
    population = warehouse.table("population")
    area_sets = sorted(set(frame["area_set"].dropna()))
    pop = warehouse.to_arrow(
        population.filter(
            population.area_set.isin(area_sets or [""])
            & (population.sex == TOTAL)
            & (population.age_band == TOTAL)
        ).select("area_id", "year", "population")
    ).to_pandas()
    frame = frame.merge(pop, on=["area_id", "year"], how="left")
    frame["denominator"] = frame["population"]
    frame["numerator"] = frame["value"].where(
        ~frame["numerator_derived"], frame["value"] * frame["population"] / per
    )
    rate, low, high = rates_with_intervals(
        frame["numerator"].fillna(0).to_numpy(), frame["denominator"].fillna(0).to_numpy(), per=per
    )
    frame["value"] = frame["value"].where(frame["numerator_derived"], rate)
    frame["ci_low"], frame["ci_high"] = low, high
    frame["no_population"] = frame["denominator"].isna()
    columns = ["area_id", "area_name", "year", "sex", "age", "numerator", "denominator",
               "value", "ci_low", "ci_high", "numerator_derived", "no_population"]  # fmt: skip
    notes = []
    if frame["numerator_derived"].any():
        notes.append("numerators derived from published rates x population / 100,000")
    return IndicatorTable(
        indicator=meta.indicator,
        name=meta.name,
        unit=meta.unit,
        numerator_definition=meta.numerator,
        denominator_definition=meta.denominator,
        frame=frame[columns].sort_values(["area_id", "year"]).reset_index(drop=True),
        source=source,
        notes=tuple(notes),
    )


def homicide_16_1_1(warehouse: Warehouse, *, source: str = "wdi_homicide") -> IndicatorTable:
    """SDG 16.1.1 by country and year from an aggregate homicide source."""
    return aggregate_indicator(warehouse, "16.1.1", source)


def compute_indicator(warehouse: Warehouse, indicator_id: str, source: str) -> IndicatorTable:
    """SDG `indicator_id` from `source`, incident or aggregate (whichever holds it)."""
    incident = warehouse.table("incident")
    has_incidents = warehouse.to_arrow(
        incident.filter(incident.source == source).select("source").limit(1)
    ).num_rows
    if has_incidents:
        return incident_indicator(warehouse, indicator_id, source)
    return aggregate_indicator(warehouse, indicator_id, source)


@dataclass(frozen=True)
class IndicatorStatus:
    """Whether an SDG indicator can be computed from the warehouse, and from which sources."""

    indicator: str
    name: str
    iccs_codes: tuple[str, ...]
    computable: bool
    sources: tuple[str, ...]
    reason: str


def _sources_with_codes(warehouse: Warehouse, codes: tuple[str, ...]) -> list[str]:
    found: set[str] = set()
    for name in ("incident", "aggregate"):
        table = warehouse.table(name)
        condition = ibis.literal(False)
        for code in codes:
            condition = condition | table.iccs_code.startswith(code)
        distinct = warehouse.to_arrow(table.filter(condition).select("source").distinct())
        found |= {s for s in distinct.column(0).to_pylist() if s}
    return sorted(found)


def availability(warehouse: Warehouse) -> list[IndicatorStatus]:
    """Every SDG indicator in ``standards``: computable from which sources, or why not."""
    out = []
    for meta in sdg.indicators():
        administrative = "administrative" in meta.data_source_type.lower()
        per_population = meta.unit.startswith("per 100,000")
        if meta.indicator in RATE_INDICATORS:
            sources = _sources_with_codes(warehouse, meta.iccs_codes)
            labels = ", ".join(f"{c} {iccs.get(c).label}" for c in meta.iccs_codes)
            reason = (
                f"computed from {', '.join(sources)}"
                if sources
                else f"no source in the warehouse records ICCS {labels}"
            )
            out.append(
                IndicatorStatus(
                    meta.indicator, meta.name, meta.iccs_codes, bool(sources), tuple(sources),
                    reason,
                )
            )  # fmt: skip
            continue
        if not administrative:
            reason = f"not from police records: the data source is {meta.data_source_type}"
        elif not per_population:
            reason = (
                f"a {meta.unit} of {meta.denominator[0].lower()}{meta.denominator[1:]}: "
                "the warehouse holds offence counts, not these records"
            )
        else:
            reason = "the warehouse holds no input for this indicator"
        out.append(IndicatorStatus(meta.indicator, meta.name, meta.iccs_codes, False, (), reason))
    return out
