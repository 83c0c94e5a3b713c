"""A crime profile of one source: what the web page, its JSON twin and the CLI show.

Gathers counts by year and ICCS category, rates by area with intervals, the
quarantine summary and the import log, applying small-count suppression to
the published tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crimeprev.errors import CrimeprevError, NotFoundError
from crimeprev.indicators.counts import CountQuery, area_rates, count_incidents
from crimeprev.indicators.disclosure import PUBLISHED
from crimeprev.indicators.source_protection import (
    ALL,
    SourcePattern,
    area_key,
    code_key,
    period_key,
    rates_status,
    source_pattern,
)
from crimeprev.standards import iccs
from crimeprev.store.ingest import import_log
from crimeprev.store.profiles import Profile, load_profile, profile_names
from crimeprev.store.warehouse import Warehouse


@dataclass(frozen=True)
class SourceSummary:
    """One source in the warehouse."""

    name: str
    title: str
    kind: str
    rows: int
    quarantined: int
    imports: int
    publisher: str
    licence: str


def list_sources(warehouse: Warehouse) -> list[SourceSummary]:
    """Every source with at least one import, plus the bundled profiles not yet imported."""
    log = pd.DataFrame(import_log(warehouse))
    names = set(profile_names())
    if not log.empty:
        names |= set(log["source"])
    out = []
    for name in sorted(names):
        try:
            profile: Profile | None = load_profile(name)
        except CrimeprevError:
            profile = None
        mine = (
            log[(log["source"] == name) & (log["status"] == "committed")] if not log.empty else log
        )
        out.append(
            SourceSummary(
                name=name,
                title=profile.title if profile else name,
                kind=profile.kind if profile else "",
                rows=int(mine["rows_accepted"].sum()) if not mine.empty else 0,
                quarantined=int(mine["rows_quarantined"].sum()) if not mine.empty else 0,
                imports=len(mine),
                publisher=profile.publisher if profile else "",
                licence=profile.licence if profile else "",
            )
        )
    return out


@dataclass(frozen=True)
class CrimeProfile:
    """Everything the crime profile page shows for one source."""

    source: SourceSummary
    years: list[int]
    by_category: list[dict[str, Any]]
    by_year: list[dict[str, Any]]
    rates: list[dict[str, Any]]
    rates_year: int | None
    rates_area_set: str | None
    rates_note: str
    unassigned: float | None
    quarantine_reasons: list[dict[str, Any]]
    imports: list[dict[str, Any]]
    suppressed_threshold: int


def _quarantine_reasons(warehouse: Warehouse, source: str) -> list[dict[str, Any]]:
    table = warehouse.table("quarantine")
    rows = table.filter(table.source == source)
    # Each reason starts with its rule name in brackets: "[date_future] ...".
    rule = rows.reasons.re_extract(r"^\[([a-z_0-9]+)\]", 1)
    grouped = rows.group_by(rule=rule).aggregate(
        rows=rows.count(), example_row=rows.source_row.min()
    )
    frame = warehouse.to_arrow(grouped.order_by(grouped.rows.desc())).to_pylist()
    return frame


def crime_profile(
    warehouse: Warehouse,
    source: str,
    *,
    level: int = 2,
    per: int = 100_000,
    small_count_threshold: int = 5,
    disclosure_cache: Path | None = None,
) -> CrimeProfile:
    """Build the crime profile of `source`.

    Raises
    ------
    NotFoundError
        If the source has no committed import.
    """
    summaries = {s.name: s for s in list_sources(warehouse)}
    if source not in summaries or summaries[source].imports == 0:
        raise NotFoundError(
            f"source {source!r} has not been imported; sources: "
            + ", ".join(s.name for s in summaries.values() if s.imports)
        )
    summary = summaries[source]
    by_category: list[dict[str, Any]] = []
    by_year: list[dict[str, Any]] = []
    years: list[int] = []
    rates: list[dict[str, Any]] = []
    rates_year = None
    area_set = None
    note = ""
    unassigned: float | None = 0.0
    if summary.kind == "incident":
        counts = count_incidents(warehouse, CountQuery(source=source, level=level, period="year"))
        counts["year"] = pd.to_datetime(counts["period"]).dt.year
        years = sorted(counts["year"].unique().tolist())
        counts["iccs_code"] = counts["iccs_code"].fillna("(not mapped)")
        pivot = counts.pivot_table(
            index="iccs_code", columns="year", values="count", aggfunc="sum", fill_value=0
        )
        # Every table of the source (exports at any level and period, this page,
        # the rates and the map) shows the cells of one disclosure pattern, so no
        # hidden cell can be worked out by comparing two of them.
        pattern = source_pattern(
            warehouse, source, threshold=small_count_threshold, cache_dir=disclosure_cache
        )
        year_list = [int(y) for y in pivot.columns]
        year_keys = [period_key("year", f"{y}-01-01") for y in year_list]
        for index, code in enumerate(pivot.index):
            label = iccs.get(str(code)).label if iccs.is_valid(str(code)) else "not mapped to ICCS"
            key = code_key(None if code == "(not mapped)" else code, level)
            values = pivot.iloc[index].to_numpy(dtype=float)
            mask = [
                pattern.status_of((key, ALL, year_key), value) != PUBLISHED
                for year_key, value in zip(year_keys, values, strict=True)
            ]
            total_hidden = pattern.status_of((key, ALL, ALL), float(values.sum())) != PUBLISHED
            by_category.append(
                {
                    "iccs_code": code,
                    "label": label,
                    "counts": {
                        year: None if masked else float(value)
                        for year, value, masked in zip(year_list, values, mask, strict=True)
                    },
                    "suppressed": [y for y, m in zip(year_list, mask, strict=True) if m],
                    "total": None if total_hidden else float(values.sum()),
                }
            )
        totals = counts.groupby("year")["count"].sum()
        by_year = []
        for year, count in zip(totals.index.tolist(), totals.tolist(), strict=True):
            status = pattern.status_of((ALL, ALL, period_key("year", f"{year}-01-01")), count)
            by_year.append(
                {
                    "year": int(year),
                    "count": None if status else float(count),
                    "suppressed": status != PUBLISHED,
                }
            )
        try:
            table = area_rates(warehouse, source, per=per)
        except NotFoundError as error:
            note = str(error)
        else:
            rates_year = int(table.frame["year"].max())
            area_set = table.area_set
            unassigned = table.unassigned
            no_area = pd.DataFrame({"area_id": [None], "year": [None], "count": [unassigned]})
            if rates_status(pattern, no_area).iloc[0] != PUBLISHED:
                unassigned = None  # suppressed, like the cells it would give away
            latest = table.frame[table.frame["year"] == rates_year]
            hidden_areas = _hidden_areas(pattern, latest, rates_year)
            shown = [
                None if h else float(c) for c, h in zip(latest["count"], hidden_areas, strict=True)
            ]
            for (_, row), value, hidden in zip(latest.iterrows(), shown, hidden_areas, strict=True):
                rates.append(
                    {
                        "area_id": row["area_id"],
                        "name": row["name"],
                        "count": value,
                        "suppressed": bool(hidden),
                        "population": None
                        if pd.isna(row["population"])
                        else float(row["population"]),
                        "population_year": int(row["population_year"]),
                        "rate": None if (hidden or pd.isna(row["rate"])) else float(row["rate"]),
                        "ci_low": None
                        if (hidden or pd.isna(row["ci_low"]))
                        else float(row["ci_low"]),
                        "ci_high": None
                        if (hidden or pd.isna(row["ci_high"]))
                        else float(row["ci_high"]),
                    }
                )
            note = (
                f"rates per {per:,} residents, {rates_year}, population of "
                f"{int(latest['population_year'].max())}; 95% exact Poisson (Garwood) intervals"
            )
    return CrimeProfile(
        source=summary,
        years=years,
        by_category=by_category,
        by_year=by_year,
        rates=rates,
        rates_year=rates_year,
        rates_area_set=area_set,
        rates_note=note,
        unassigned=unassigned,
        quarantine_reasons=_quarantine_reasons(warehouse, source),
        imports=[
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
            for row in import_log(warehouse, source)
        ],
        suppressed_threshold=small_count_threshold,
    )


def rate_map(
    warehouse: Warehouse,
    source: str,
    *,
    year: int | None = None,
    per: int = 100_000,
    small_count_threshold: int = 5,
    disclosure_cache: Path | None = None,
) -> dict[str, Any]:
    """GeoJSON of a source's areas with the year's count and rate per `per` residents.

    Each feature carries ``count``, ``rate``, ``ci_low``, ``ci_high`` and
    ``suppressed``; counts below the threshold and their rates are null.
    Without a population the map shows counts and ``measure`` says so. The
    year defaults to the latest with offences.

    Raises
    ------
    NotFoundError
        If the source has no offences in areas with boundaries, or none in `year`.
    """
    from crimeprev.store.areas import area_geojson

    counts = count_incidents(warehouse, CountQuery(source=source, period="year", by_area=True))
    counts["year"] = pd.to_datetime(counts["period"]).dt.year
    in_areas = counts.dropna(subset=["area_id"])
    if in_areas.empty:
        raise NotFoundError(f"no offences in any area for source {source!r}")
    chosen = int(year if year is not None else in_areas["year"].max())
    if chosen not in set(counts["year"]):
        raise NotFoundError(
            f"source {source!r} has no incidents in {chosen}; its years are "
            f"{counts['year'].min()}-{counts['year'].max()}"
        )
    measure = "rate"
    try:
        table = area_rates(warehouse, source, years=[chosen], per=per)
        frame = table.frame
        area_set = table.area_set
    except NotFoundError:
        measure = "count"
        frame = (
            in_areas[in_areas["year"] == chosen]
            .groupby("area_id", as_index=False)["count"]
            .sum()
            .assign(rate=float("nan"), ci_low=float("nan"), ci_high=float("nan"))
        )
        incident = warehouse.table("incident")
        sets = (
            warehouse.to_arrow(
                incident.filter(incident.source == source).select("area_set").distinct()
            )
            .column(0)
            .to_pylist()
        )
        area_set = next((s for s in sets if s), "")
    geojson = area_geojson(warehouse, area_set)
    rows = {str(r["area_id"]): r for r in frame.to_dict(orient="records")}
    # The map shows cells of the source's one disclosure pattern, like every other output.
    pattern = source_pattern(
        warehouse, source, threshold=small_count_threshold, cache_dir=disclosure_cache
    )
    ids = [str(f["id"]) for f in geojson["features"]]
    hidden_areas = {
        i: pattern.status_of(
            (ALL, area_key(i), period_key("year", f"{chosen}-01-01")),
            float(rows.get(i, {}).get("count", 0.0) or 0.0),
        )
        != PUBLISHED
        for i in ids
    }
    for feature in geojson["features"]:
        row = rows.get(feature["id"], {})
        count = float(row.get("count", 0.0) or 0.0)
        hidden = hidden_areas[str(feature["id"])]
        feature["properties"].update(
            {
                "count": None if hidden else count,
                "suppressed": hidden,
                **{
                    key: None
                    if (hidden or pd.isna(row.get(key, float("nan"))))
                    else float(row[key])
                    for key in ("rate", "ci_low", "ci_high")
                },
            }
        )
    geojson["properties"] = {
        "source": source,
        "year": chosen,
        "area_set": area_set,
        "measure": measure,
        "per": per,
        "suppressed_below": small_count_threshold,
    }
    return geojson


def _hidden_areas(pattern: SourcePattern, frame: pd.DataFrame, year: int) -> list[bool]:
    """Whether each area's count (all offences, `year`) is hidden in the source's pattern."""
    when = period_key("year", f"{year}-01-01")
    return [
        pattern.status_of((ALL, area_key(area), when), float(count)) != PUBLISHED
        for area, count in zip(frame["area_id"], frame["count"], strict=True)
    ]
