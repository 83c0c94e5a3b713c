"""The crime profile of one area of an incident source (issue #3, item 11).

A source's profile page shows the whole source; this is the same view for one of
its areas (a Chicago community area, a Lancashire ward, a Vancouver neighbourhood):
counts by ICCS category and year at a chosen level (the drill-down), the area's
yearly total with its rate per `per` residents and exact Poisson (Garwood)
interval where the area has a population.

Every figure is a cell of the source's disclosure pattern (code x area x year,
rolled up), taken with the same marks as the source's other outputs: the
category table is the by-area yearly table every download publishes
(:func:`crimeprev.indicators.source_protection.counts_status`), restricted to
the area, and the yearly totals are the pattern's area x year cells, hidden as
on the rates table and the map. Showing part of a published table gives nothing
new away.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crimeprev.errors import NotFoundError
from crimeprev.indicators.counts import CountQuery, area_rates, count_incidents
from crimeprev.indicators.disclosure import PUBLISHED
from crimeprev.indicators.source_protection import (
    ALL,
    area_key,
    counts_status,
    period_key,
    source_pattern,
)
from crimeprev.standards import iccs
from crimeprev.store.warehouse import Warehouse


@dataclass(frozen=True)
class AreaCrimeProfile:
    """One area of an incident source, small counts suppressed.

    ``by_category`` rows have ``iccs_code``, ``label``, ``counts`` (year ->
    count, None where suppressed) and ``suppressed`` (the hidden years).
    ``by_year`` rows have ``year``, ``count``, ``suppressed`` and, where the
    area has a population, ``population``, ``population_year``, ``rate``,
    ``ci_low`` and ``ci_high`` (None with a hidden count).
    """

    source: str
    area_set: str
    area_id: str
    area_name: str
    level: int
    years: list[int]
    by_category: list[dict[str, Any]]
    by_year: list[dict[str, Any]]
    per: int
    rates_note: str
    suppressed_threshold: int


def area_crime_profile(
    warehouse: Warehouse,
    source: str,
    area_id: str,
    *,
    level: int = 2,
    per: int = 100_000,
    threshold: int = 5,
    cache_dir: Path | None = None,
) -> AreaCrimeProfile:
    """Build the crime profile of area `area_id` of the incident source `source`.

    Raises
    ------
    NotFoundError
        If the source has no incidents, or no area `area_id` (the message
        names some of its areas).
    """
    query = CountQuery(source=source, level=level, period="year", by_area=True)
    frame = count_incidents(warehouse, query)
    incident = warehouse.table("incident")
    rows = incident.filter(incident.source == source)
    sets = warehouse.to_arrow(rows.select("area_set").distinct()).column(0).to_pylist()
    area_set = next((s for s in sets if s), None)
    if area_set is None:
        raise NotFoundError(f"source {source!r} has no areas; its profile is /stats/{source}")
    area = warehouse.table("area")
    names = warehouse.to_arrow(
        area.filter(area.area_set == area_set).select("area_id", "name")
    ).to_pandas()
    known = dict(zip(names["area_id"].astype(str), names["name"], strict=True))
    counted = set(frame["area_id"].dropna().astype(str))
    if area_id not in known and area_id not in counted:
        # Numbered areas (Chicago's 1-77) in number order, then the others by name.
        listed = sorted(
            known or counted, key=lambda a: (not a.isdigit(), a.zfill(12) if a.isdigit() else a)
        )
        raise NotFoundError(
            f"no area {area_id!r} in source {source!r} (area set {area_set!r}); areas: "
            + ", ".join(listed[:12])
            + (f" and {len(listed) - 12} more" if len(listed) > 12 else ""),
        )
    years = sorted(pd.to_datetime(frame["period"]).dt.year.unique().tolist())
    status = counts_status(warehouse, query, frame, threshold=threshold, cache_dir=cache_dir)
    mine = frame.assign(status=status.to_numpy())
    mine = mine[mine["area_id"].astype(str) == area_id]
    mine = mine.assign(year=pd.to_datetime(mine["period"]).dt.year)
    by_category = []
    for code, group in mine.groupby(mine["iccs_code"].fillna(""), sort=True):
        counts: dict[int, float | None] = dict.fromkeys(years, 0.0)
        hidden = []
        for year, value, mark in zip(group["year"], group["count"], group["status"], strict=True):
            counts[int(year)] = None if mark != PUBLISHED else float(value)
            if mark != PUBLISHED:
                hidden.append(int(year))
        by_category.append(
            {
                "iccs_code": code or None,
                "label": iccs.get(code).label if code and iccs.is_valid(code) else "not mapped",
                "counts": counts,
                "suppressed": hidden,
            }
        )
    pattern = source_pattern(warehouse, source, threshold=threshold, cache_dir=cache_dir)
    totals = mine.groupby("year")["count"].sum()
    by_year = []
    for year in years:
        count = float(totals.get(year, 0.0))
        mark = pattern.status_of(
            (ALL, area_key(area_id), period_key("year", f"{year}-01-01")), count
        )
        by_year.append({"year": year, "count": None if mark else count, "suppressed": bool(mark)})
    note = _add_rates(warehouse, source, area_id, by_year, per=per)
    return AreaCrimeProfile(
        source=source,
        area_set=area_set,
        area_id=area_id,
        area_name=str(known.get(area_id) or area_id),
        level=level,
        years=[int(y) for y in years],
        by_category=by_category,
        by_year=by_year,
        per=per,
        rates_note=note,
        suppressed_threshold=threshold,
    )


def _add_rates(
    warehouse: Warehouse, source: str, area_id: str, by_year: list[dict[str, Any]], *, per: int
) -> str:
    """Put each year's population, rate and interval on `by_year`; return a note on them."""
    try:
        table = area_rates(warehouse, source, per=per).frame
    except NotFoundError as error:
        return f"no rates: {error}"
    table = table[table["area_id"].astype(str) == area_id].set_index("year")
    for row in by_year:
        if row["year"] not in table.index:
            continue
        found = table.loc[row["year"]]
        hidden = row["count"] is None or pd.isna(found["rate"])
        row["population"] = None if pd.isna(found["population"]) else float(found["population"])
        row["population_year"] = int(found["population_year"])
        for field in ("rate", "ci_low", "ci_high"):
            row[field] = None if hidden else float(found[field])
    return f"rates per {per:,} residents; 95% exact Poisson (Garwood) intervals"
