"""JSON endpoints of the crime statistics pages (the twins of /stats pages)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from crimeprev.config import Settings
from crimeprev.db.accounts import Principal
from crimeprev.errors import NotFoundError
from crimeprev.indicators.counts import CountQuery, area_rates, count_incidents
from crimeprev.indicators.disclosure import public_json
from crimeprev.indicators.profile import crime_profile, list_sources
from crimeprev.store.concordance import coverage
from crimeprev.store.ingest import quarantined
from crimeprev.store.warehouse import Warehouse, open_warehouse
from crimeprev.web.auth import current_principal
from crimeprev.web.deps import get_app_settings

router = APIRouter(prefix="/api/stats", tags=["Crime statistics"])


def get_warehouse(settings: Settings = Depends(get_app_settings)) -> Iterator[Warehouse]:
    """Open the warehouse for one request."""
    settings.ensure_data_dir()
    warehouse = open_warehouse(settings.warehouse_url)
    try:
        yield warehouse
    finally:
        warehouse.close()


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-ready dicts (dates as ISO text, NaN as null)."""
    out = []
    for row in frame.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for key, value in ((str(k), v) for k, v in row.items()):
            if hasattr(value, "isoformat"):
                clean[key] = value.isoformat()
            elif isinstance(value, float) and value != value:
                clean[key] = None
            elif hasattr(value, "item"):
                clean[key] = value.item()
            else:
                clean[key] = value
        out.append(clean)
    return out


@router.get("/sdmx/structure")
def sdmx_structure() -> Response:
    """Our SDMX data structure definition (SDMX-ML 2.1 structure message)."""
    from crimeprev.indicators.sdmx import structure_xml

    return Response(
        structure_xml(),
        media_type="application/vnd.sdmx.structure+xml;version=2.1",
        headers={"Content-Disposition": 'attachment; filename="crimeprev_iccs_counts_dsd.xml"'},
    )


def indicator_json(
    warehouse: Warehouse,
    indicator: str,
    source: str,
    years: list[int],
    areas: list[str],
    *,
    threshold: int = 0,
) -> dict[str, Any]:
    """An SDG indicator table with its metadata, filtered to years and areas, as JSON.

    Numerators below `threshold` are null, and so are those that would give
    them back from the Total rows (the same secondary suppression as the
    SDMX output); a hidden numerator's rate and interval are null too, and
    each row's ``suppression`` says ``suppressed`` or ``""`` (one mark for
    every hidden cell, :func:`crimeprev.indicators.disclosure.public_marks`).
    """
    from crimeprev.indicators.sdg import compute_indicator
    from crimeprev.indicators.source_protection import mark_suppressed, protect_breakdown

    result = compute_indicator(warehouse, indicator, source)
    frame = result.frame
    if years:
        frame = frame[frame["year"].isin(years)]
    if areas:
        frame = frame[frame["area_id"].isin(areas)]
    status = protect_breakdown(
        frame,
        threshold=threshold,
        value="numerator",
        breakdowns=[c for c in ("sex", "age", "form") if c in frame],
        keys=[c for c in ("area_id", "year") if c in frame],
    )
    frame = mark_suppressed(frame, status, ["numerator", "value", "ci_low", "ci_high"])
    from crimeprev.standards import sdg

    meta = sdg.indicator(result.indicator)
    return {
        "indicator": result.indicator,
        "name": result.name,
        "unit": result.unit,
        "iccs_code": result.iccs_code,
        "custodian_agency": meta.custodian_agency,
        "disaggregations": meta.disaggregations,
        "data_source_type": meta.data_source_type,
        "numerator_definition": result.numerator_definition,
        "denominator_definition": result.denominator_definition,
        "source": result.source,
        "notes": list(result.notes),
        "years": sorted(int(y) for y in result.frame["year"].unique()),
        "suppressed_threshold": threshold,
        "rows": records(frame),
    }


@router.get("/indicators")
def sdg_indicators(warehouse: Warehouse = Depends(get_warehouse)) -> dict[str, Any]:
    """Every SDG indicator in the standards: computable from which sources, or why not."""
    from crimeprev.indicators.sdg import availability

    return {"indicators": [asdict(item) for item in availability(warehouse)]}


@router.get("/indicators/{indicator}", response_model=None)
def sdg_indicator(
    indicator: str,
    source: str = Query("wdi_homicide", description="Source to compute the indicator from"),
    year: list[int] = Query([]),
    area: list[str] = Query([], description="Area codes (ISO3 for countries)"),
    file_format: str = Query("json", alias="format", description="json, sdmx-csv or sdmx-ml"),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any] | Response:
    """SDG 16.1.1 or 16.2.2 with numerator, denominator, exact intervals and metadata."""
    from crimeprev.errors import InvalidInputError
    from crimeprev.indicators.sdg import compute_indicator
    from crimeprev.indicators.sdmx import indicator_sdmx_frame, write_sdmx_csv, write_sdmx_ml

    if file_format == "json":
        return indicator_json(
            warehouse, indicator, source, year, area, threshold=settings.small_count_threshold
        )
    if file_format not in ("sdmx-csv", "sdmx-ml"):
        raise InvalidInputError(
            f"unknown format {file_format!r}; expected json, sdmx-csv or sdmx-ml"
        )
    result = compute_indicator(warehouse, indicator, source)
    frame = result.frame
    if year:
        frame = frame[frame["year"].isin(year)]
    if area:
        frame = frame[frame["area_id"].isin(area)]
    sdmx = indicator_sdmx_frame(
        frame, iccs_code=result.iccs_code, threshold=settings.small_count_threshold
    )
    name = f"sdg_{indicator.replace('.', '_')}_{source}"
    if file_format == "sdmx-csv":
        return Response(
            write_sdmx_csv(sdmx),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        write_sdmx_ml(sdmx),
        media_type="application/vnd.sdmx.structurespecificdata+xml;version=2.1",
        headers={"Content-Disposition": f'attachment; filename="{name}.xml"'},
    )


def public_sources(warehouse: Warehouse, threshold: int) -> list[dict[str, Any]]:
    """Every source with its quarantined rows as published: a small count suppressed.

    ``quarantined`` is null where hidden and ``quarantined_suppression`` says why.
    """
    from crimeprev.indicators.quality import public_quarantine

    out = []
    for item in list_sources(warehouse):
        row = {**asdict(item), "quarantined_suppression": ""}
        if item.kind == "incident" and item.imports:
            quarantine = public_quarantine(warehouse, item.name, threshold=threshold)
            row["quarantined"] = quarantine.rows_quarantined
            row["quarantined_suppression"] = quarantine.suppression
        out.append(row)
    return list(public_json(out))


@router.get("")
def sources(
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """Every source: bundled profiles and imported sources with row counts."""
    return {"sources": public_sources(warehouse, settings.small_count_threshold)}


def profile_json(
    warehouse: Warehouse, source: str, settings: Settings, level: int
) -> dict[str, Any]:
    """The crime profile of a source as JSON."""
    profile = crime_profile(
        warehouse,
        source,
        level=level,
        per=settings.rate_per,
        small_count_threshold=settings.small_count_threshold,
        disclosure_cache=settings.data_dir / "disclosure",
    )
    data = asdict(profile)
    if profile.source.kind == "incident":
        from crimeprev.indicators.quality import public_quarantine

        # Quarantine counts and the import log with small counts suppressed (issue #3, item 10).
        quarantine = public_quarantine(warehouse, source, threshold=settings.small_count_threshold)
        data["source"]["quarantined"] = quarantine.rows_quarantined
        data["source"]["quarantined_suppression"] = quarantine.suppression
        data["quarantine_reasons"] = quarantine.reasons
        data["imports"] = quarantine.imports
    data["by_category"] = [
        {**row, "counts": {str(k): v for k, v in row["counts"].items()}}
        for row in data["by_category"]
    ]
    return dict(public_json(data))


@router.get("/{source}")
def profile(
    source: str,
    level: int = Query(2, ge=1, le=4, description="ICCS level of the breakdown"),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """Crime profile: counts by year and ICCS category, rates by area, quarantine, imports."""
    return profile_json(warehouse, source, settings, level)


@router.get("/{source}/counts")
def counts(
    source: str,
    level: int | None = Query(None, ge=1, le=4),
    period: str = Query("year", description="year, quarter, month, week, day or all"),
    by_area: bool = Query(False),
    iccs: str | None = Query(None, description="Only this ICCS code and its descendants"),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """Counts by ICCS code x period (x area), small counts and their complements suppressed."""
    from crimeprev.indicators.source_protection import counts_status, mark_suppressed

    query = CountQuery(
        source=source,
        level=level,
        period=None if period == "all" else period,
        by_area=by_area,
        iccs_code=iccs,
    )
    frame = count_incidents(warehouse, query)
    status = counts_status(
        warehouse,
        query,
        frame,
        threshold=settings.small_count_threshold,
        cache_dir=settings.data_dir / "disclosure",
    )
    frame = mark_suppressed(frame, status, ["count", "records"])
    return {"source": source, "level": level, "period": period, "counts": records(frame)}


@router.get("/{source}/rates")
def rates(
    source: str,
    year: list[int] = Query([]),
    iccs: str | None = Query(None),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """Rates per population by area and year with exact Poisson (Garwood) intervals.

    Counts hidden by the source's disclosure pattern are blank, with their rates and intervals.
    """
    from crimeprev.indicators.source_protection import (
        mark_suppressed,
        rates_status,
        source_pattern,
    )

    table = area_rates(warehouse, source, iccs_code=iccs, years=year or None, per=settings.rate_per)
    pattern = source_pattern(
        warehouse,
        source,
        threshold=settings.small_count_threshold,
        cache_dir=settings.data_dir / "disclosure",
    )
    status = rates_status(pattern, table.frame, iccs_code=iccs)
    frame = mark_suppressed(table.frame, status, ["count", "rate", "ci_low", "ci_high"])
    no_area = rates_status(
        pattern,
        pd.DataFrame({"area_id": [None], "year": [None], "count": [table.unassigned]}),
        iccs_code=iccs,
    )
    return {
        "source": source,
        "area_set": table.area_set,
        "per": table.per,
        "confidence": table.confidence,
        "unassigned": None if no_area.iloc[0] else table.unassigned,
        "rates": records(frame),
    }


@router.get("/{source}/quarantine")
def quarantine(
    source: str,
    limit: int = Query(100, ge=1, le=10_000),
    offset: int = Query(0, ge=0),
    warehouse: Warehouse = Depends(get_warehouse),
    _principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    """Quarantined rows with every reason, in file order (signed-in users only).

    The rows are police records, not counts: listing them to anyone would
    give back every quarantine count the public report suppresses. The
    statistician's CLI (`crimeprev stats quarantine`) shows them too.
    """
    return {
        "source": source,
        "rows": quarantined(warehouse, source, limit=limit, offset=offset),
    }


@router.get("/{source}/quality")
def quality(
    source: str,
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """Data-quality report: geocoding rate, ICCS mapping, gaps, empty areas, outliers.

    Small counts (and shares that would give one back) are null, named in
    ``suppression``; quarantine reasons and imports carry their own.
    """
    from crimeprev.indicators.quality import GEOCODING_THRESHOLD, public_quality_report
    from crimeprev.indicators.trends import profile_kind

    if profile_kind(source) == "aggregate":
        from crimeprev.indicators.aggregates import aggregate_quality, finding_json

        checked = aggregate_quality(warehouse, source)
        return {
            "source": source,
            "kind": "aggregate",
            "rows": checked.rows,
            "rows_mapped": checked.rows_mapped,
            "iccs_mapped_share": checked.mapped_share,
            "areas": checked.areas,
            "first_year": checked.first_year,
            "last_year": checked.last_year,
            "hierarchy_findings": len(checked.findings),
            "findings": [finding_json(f) for f in checked.findings],
        }
    # The public report: small counts suppressed (`crimeprev stats quality` keeps them all).
    report = asdict(
        public_quality_report(
            warehouse,
            source,
            threshold=settings.small_count_threshold,
            cache_dir=settings.data_dir / "disclosure",
        )
    )
    report["geocoding_threshold"] = GEOCODING_THRESHOLD
    return dict(public_json(report))


@router.get("/{source}/coverage")
def concordance_coverage(
    source: str,
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """Share of records and codes mapped to ICCS; unmapped codes by frequency.

    For an incident source, small counts of unmapped codes (and what would
    give them back) are null, with ``suppression``.
    """
    from crimeprev.indicators.trends import profile_kind

    if profile_kind(source) == "incident":
        from crimeprev.indicators.quality import public_coverage

        return dict(
            public_json(
                public_coverage(
                    warehouse,
                    source,
                    threshold=settings.small_count_threshold,
                    cache_dir=settings.data_dir / "disclosure",
                )
            )
        )
    report = coverage(warehouse, source)
    return {
        **asdict(report),
        "share_records": report.share_records,
        "share_codes": report.share_codes,
    }


@router.get("/{source}/export")
def export(
    source: str,
    file_format: str = Query(
        "csv", alias="format", description="csv, parquet, xlsx, sdmx-csv or sdmx-ml"
    ),
    level: int | None = Query(None, ge=1, le=4),
    period: str = Query("year", description="year, quarter, month, week, day or all"),
    by_area: bool = Query(True),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> Response:
    """Counts as a file, small counts suppressed (the download of the profile page)."""
    from crimeprev.indicators.export import FORMATS, export_aggregate, export_counts
    from crimeprev.indicators.trends import profile_kind

    if profile_kind(source) == "aggregate":
        from crimeprev.indicators.aggregates import aggregate_rows

        data = export_aggregate(aggregate_rows(warehouse, source), file_format)
        suffix, media_type = FORMATS[file_format]
        name = f"{source}{'_sdmx' if file_format.startswith('sdmx') else ''}{suffix}"
        return Response(
            data,
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    from crimeprev.indicators.source_protection import counts_status

    kind = None if period == "all" else period
    query = CountQuery(source=source, level=level, period=kind, by_area=by_area)
    frame = count_incidents(warehouse, query)
    threshold = settings.small_count_threshold
    status = counts_status(
        warehouse, query, frame, threshold=threshold, cache_dir=settings.data_dir / "disclosure"
    )
    data = export_counts(frame, file_format, threshold=threshold, period_kind=kind, status=status)
    suffix, media_type = FORMATS[file_format]
    name = f"{source}_counts{'_sdmx' if file_format.startswith('sdmx') else ''}{suffix}"
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def trend_json(
    warehouse: Warehouse,
    source: str,
    iccs: str | None = None,
    window: int = 3,
    *,
    threshold: int = 0,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """A source's yearly trend with changes, moving average and series breaks, as JSON.

    With `threshold`, each year's count takes its status from the source's
    disclosure pattern (null where hidden, with ``suppression``); a moving
    average over a hidden count and a change from or to one are null too
    (``moving_average_suppression``, ``change_suppression``).
    """
    from crimeprev.indicators.source_protection import source_pattern
    from crimeprev.indicators.trends import trend_suppression, window_suppression, yearly_trend

    trend = yearly_trend(warehouse, source, iccs_code=iccs, window=window)
    status = [""] * len(trend.years)
    if threshold > 0 and trend.years:
        pattern = source_pattern(warehouse, source, threshold=threshold, cache_dir=cache_dir)
        status = trend_suppression(trend, pattern)
    averaged = window_suppression(status, window=window)
    changed = ["", *window_suppression(status, window=2)[1:]]
    changes = {c.period_to: _finite(asdict(c)) for c in trend.changes}
    years = []
    for index, (year, count, average) in enumerate(
        zip(trend.years, trend.counts, trend.moving_average, strict=True)
    ):
        years.append(
            {
                "year": year,
                "count": None if status[index] else count,
                "suppression": status[index],
                "moving_average": None if averaged[index] else average,
                "moving_average_suppression": averaged[index],
                "change": None if changed[index] else changes.get(year),
                "change_suppression": changed[index],
            }
        )
    return {
        "source": source,
        "iccs_code": iccs,
        "window": window,
        "suppressed_threshold": threshold,
        "years": public_json(years),
        "breaks": [asdict(item) for item in trend.breaks],
    }


@router.get("/{source}/trends")
def trends(
    source: str,
    iccs: str | None = Query(None, description="Only this ICCS code and its descendants"),
    window: int = Query(3, ge=1, le=20, description="Moving-average window (years)"),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """Yearly counts, change with the exact two-count test, moving average, series breaks.

    Counts are hidden where the source's disclosure pattern hides them, and
    so are the averages and changes built from them.
    """
    return trend_json(
        warehouse,
        source,
        iccs,
        window,
        threshold=settings.small_count_threshold,
        cache_dir=settings.data_dir / "disclosure",
    )


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinite floats as null (JSON has neither)."""
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in values.items()
    }


@router.get("/{source}/areas")
def aggregate_area_list(
    source: str, warehouse: Warehouse = Depends(get_warehouse)
) -> dict[str, Any]:
    """The areas (countries) of an aggregate source with their years and ICCS codes."""
    from crimeprev.indicators.aggregates import aggregate_areas

    return {"source": source, "areas": [asdict(a) for a in aggregate_areas(warehouse, source)]}


def area_profile_json(
    warehouse: Warehouse, source: str, area_id: str, *, threshold: int = 0
) -> dict[str, Any]:
    """The profile of one area of an aggregate source as JSON.

    ``victims`` holds the gender lens (victims by sex and relationship to the
    perpetrator, counts below `threshold` hidden) where the source reports
    them for the area, else None.
    """
    from crimeprev.indicators.aggregates import area_profile, finding_json
    from crimeprev.indicators.gender import victims_by_relationship, victims_json
    from crimeprev.indicators.trends import profile_scheme, series_breaks

    profile = area_profile(warehouse, source, area_id)
    try:
        victims: dict[str, Any] | None = victims_json(
            victims_by_relationship(warehouse, area_id, source=source, threshold=threshold)
        )
    except NotFoundError:
        victims = None
    breaks = series_breaks(warehouse, source, area_id=area_id, scheme=profile_scheme(source))
    return {
        "source": profile.source,
        "area_id": profile.area_id,
        "area_name": profile.area_name,
        "years": profile.years,
        "periods": profile.periods,
        "units": profile.units,
        "table": [
            {**row, "values": {str(k): v for k, v in row["values"].items()}}
            for row in profile.table
        ],
        "unmapped": profile.unmapped,
        "findings": [finding_json(f) for f in profile.findings],
        "breaks": [asdict(b) for b in breaks],
        "victims": victims,
    }


@router.get("/{source}/areas/{area_id}")
def aggregate_area(
    source: str,
    area_id: str,
    level: int = Query(2, ge=1, le=4, description="ICCS level (incident sources)"),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """One area of a source: for an aggregate source its values by ICCS code and year and
    hierarchy findings; for an incident source its counts by ICCS category and year (at
    `level`) and its yearly rates, small counts suppressed."""
    from crimeprev.indicators.trends import profile_kind

    if profile_kind(source) == "incident":
        return incident_area_json(warehouse, source, area_id, settings, level)
    return area_profile_json(warehouse, source, area_id, threshold=settings.small_count_threshold)


def incident_area_json(
    warehouse: Warehouse, source: str, area_id: str, settings: Settings, level: int
) -> dict[str, Any]:
    """The crime profile of one area of an incident source as JSON (hidden counts null)."""
    from crimeprev.indicators.area_profile import area_crime_profile

    profile = area_crime_profile(
        warehouse,
        source,
        area_id,
        level=level,
        per=settings.rate_per,
        threshold=settings.small_count_threshold,
        cache_dir=settings.data_dir / "disclosure",
    )
    data = asdict(profile)
    data["by_category"] = [
        {**row, "counts": {str(k): v for k, v in row["counts"].items()}}
        for row in data["by_category"]
    ]
    return dict(public_json(data))


def victims_overview_json(
    warehouse: Warehouse, source: str, *, threshold: int, confidence: float = 0.95
) -> dict[str, Any]:
    """Every area's latest victim shares (the gender lens across countries) as JSON."""
    from crimeprev.indicators.gender import overview_json, victims_overview

    overview = victims_overview(
        warehouse, source=source, threshold=threshold, confidence=confidence
    )
    return overview_json(overview, source=source, threshold=threshold, confidence=confidence)


@router.get("/{source}/victims")
def aggregate_victims(
    source: str,
    confidence: float = Query(0.95, gt=0, lt=1),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """Victims by relationship to the perpetrator: every country's latest shares."""
    return victims_overview_json(
        warehouse, source, threshold=settings.small_count_threshold, confidence=confidence
    )


@router.get("/{source}/areas/{area_id}/victims")
def aggregate_area_victims(
    source: str,
    area_id: str,
    confidence: float = Query(0.95, gt=0, lt=1),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """Victims by sex and relationship to the perpetrator, shares with exact intervals."""
    from crimeprev.indicators.gender import victims_by_relationship, victims_json

    return victims_json(
        victims_by_relationship(
            warehouse,
            area_id,
            source=source,
            threshold=settings.small_count_threshold,
            confidence=confidence,
        )
    )


@router.get("/{source}/hierarchy")
def hierarchy(
    source: str,
    limit: int = Query(1000, ge=1, le=100_000),
    warehouse: Warehouse = Depends(get_warehouse),
) -> dict[str, Any]:
    """Hierarchical consistency of an aggregate source: one finding per cell whose
    children exceed their parent."""
    from crimeprev.indicators.aggregates import finding_json, hierarchy_check

    findings = hierarchy_check(warehouse, source)
    return {
        "source": source,
        "total": len(findings),
        "findings": [finding_json(f) for f in findings[:limit]],
    }


@router.get("/{source}/seasonal")
def seasonal(
    source: str,
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """Offences by month, month x weekday and weekday x hour (as far as dates are precise).

    Small counts are null, and so are the cells that would give them back
    from the tables' totals or the source's monthly counts (protected
    jointly with its disclosure pattern); the ``*_suppression`` fields say
    which. A table that cannot be protected is refused (422).
    """
    from crimeprev.indicators.trends import MONTHS, WEEKDAYS, seasonal_tables

    threshold = settings.small_count_threshold
    tables = seasonal_tables(
        warehouse, source, threshold=threshold, cache_dir=settings.data_dir / "disclosure"
    )
    return {
        **public_json(asdict(tables)),
        "months": list(MONTHS),
        "weekdays": list(WEEKDAYS),
        "suppressed_threshold": threshold,
    }


@router.get("/{source}/concentration")
def concentration(
    source: str,
    year: int | None = Query(None, description="Year (default: all years)"),
    top: float = Query(0.1, gt=0, le=1, description="Top fraction of areas"),
    iccs: str | None = Query(None, description="Only this ICCS code and its descendants"),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """Gini coefficient of offences over areas and the share in the top areas.

    Per-area counts carry the source's disclosure pattern's status (null
    where hidden); the Gini coefficient, top share and top areas are
    published only when every area's count is (``method`` says why).
    """
    from crimeprev.indicators.counts import public_concentration

    result = public_concentration(
        warehouse,
        source,
        threshold=settings.small_count_threshold,
        year=year,
        top_fraction=top,
        iccs_code=iccs,
        cache_dir=settings.data_dir / "disclosure",
    )
    return {**public_json(asdict(result)), "suppressed_threshold": settings.small_count_threshold}


@router.get("/{source}/map")
def rate_map_geojson(
    source: str,
    year: int | None = Query(None, description="Year (default: the latest)"),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """GeoJSON of the source's areas with the year's counts and rates (the choropleth's data)."""
    from crimeprev.indicators.profile import rate_map

    return rate_map(
        warehouse,
        source,
        year=year,
        per=settings.rate_per,
        small_count_threshold=settings.small_count_threshold,
        disclosure_cache=settings.data_dir / "disclosure",
    )


def standardised_json(
    warehouse: Warehouse,
    source: str,
    year: int | None,
    age_field: str,
    per: int,
    *,
    threshold: int = 5,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Age-standardised rates by area as JSON (the latest year by default).

    Counts and rates that would give back a small count are null, with
    ``suppression`` and ``rate_suppression``
    (:mod:`crimeprev.indicators.standardised_protection`).
    """
    from crimeprev.indicators.counts import CountQuery
    from crimeprev.indicators.standardised_protection import public_standardised_rates

    if year is None:
        counts = count_incidents(warehouse, CountQuery(source=source, period="year"))
        year = int(pd.to_datetime(counts["period"]).dt.year.max())
    table, frame = public_standardised_rates(
        warehouse,
        source,
        year=year,
        threshold=threshold,
        age_field=age_field,
        per=per,
        cache_dir=cache_dir,
    )
    return {
        "source": source,
        "year": table.year,
        "population_year": table.population_year,
        "age_field": table.age_field,
        "bands": table.bands,
        "standard": table.standard,
        "standard_name": table.standard_name,
        "per": table.per,
        "method": "direct standardisation, Fay-Feuer (1997) gamma intervals",
        "rates": public_json(records(frame)),
        "suppressed_threshold": threshold,
    }


@router.get("/{source}/standardised")
def standardised(
    source: str,
    year: int | None = Query(None, description="Year (default: the latest)"),
    age_field: str = Query("victim_age", description="victim_age or perpetrator_age"),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> dict[str, Any]:
    """Directly age-standardised rates by area with Fay-Feuer intervals."""
    return standardised_json(
        warehouse,
        source,
        year,
        age_field,
        settings.rate_per,
        threshold=settings.small_count_threshold,
        cache_dir=settings.data_dir / "disclosure",
    )
