"""Crime statistics pages: the sources, and a crime profile per source."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from crimeprev.config import Settings
from crimeprev.db.accounts import Principal
from crimeprev.store.ingest import quarantined
from crimeprev.store.warehouse import Warehouse
from crimeprev.web.api.stats import (
    area_profile_json,
    get_warehouse,
    incident_area_json,
    indicator_json,
    profile_json,
    public_sources,
    standardised_json,
    trend_json,
    victims_overview_json,
)
from crimeprev.web.auth import optional_principal
from crimeprev.web.deps import get_app_settings
from crimeprev.web.templating import render

router = APIRouter(prefix="/stats", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def sources(
    request: Request,
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> HTMLResponse:
    """The sources in the warehouse and the bundled profiles."""
    listed = public_sources(warehouse, settings.small_count_threshold)
    return render(
        request,
        "stats/sources.html",
        {"sources": listed, "threshold": settings.small_count_threshold},
    )


@router.get("/indicators", response_class=HTMLResponse)
def indicators(
    request: Request,
    indicator: str = Query("16.1.1"),
    source: str = Query("wdi_homicide"),
    year: int | None = Query(None),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> HTMLResponse:
    """SDG indicators: which the warehouse can compute, and one indicator's table."""
    from crimeprev.errors import CrimeprevError
    from crimeprev.indicators.sdg import availability

    statuses = availability(warehouse)
    table = None
    problem = ""
    try:
        table = indicator_json(
            warehouse, indicator, source, [], [], threshold=settings.small_count_threshold
        )
    except CrimeprevError as error:
        problem = error.message
    if table is not None:
        shown_year = year if year is not None else (max(table["years"]) if table["years"] else None)
        table["rows"] = [r for r in table["rows"] if r["year"] == shown_year]
        table["shown_year"] = shown_year
    return render(
        request,
        "stats/indicators.html",
        {
            "statuses": statuses,
            "table": table,
            "problem": problem,
            "indicator": indicator,
            "source": source,
        },
    )


@router.get("/{source}", response_class=HTMLResponse)
def profile(
    request: Request,
    source: str,
    level: int = Query(2, ge=1, le=4),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
    principal: Principal | None = Depends(optional_principal),
) -> HTMLResponse:
    """The crime profile of one source."""
    data = profile_json(warehouse, source, settings, level)
    breaks = trend_json(warehouse, source)["breaks"] if data["source"]["kind"] == "incident" else []
    chart = trend_chart(source, data["by_year"], breaks)
    # Quarantined rows are records: shown to signed-in users only (the counts are suppressed).
    examples = quarantined(warehouse, source, limit=10) if principal is not None else []
    quality = None
    areas: list[Any] = []
    aggregate_check = None
    extras: dict[str, Any] = {}
    if data["source"]["kind"] == "incident":
        from crimeprev.indicators.quality import public_quality_report

        quality = public_quality_report(
            warehouse,
            source,
            threshold=settings.small_count_threshold,
            cache_dir=settings.data_dir / "disclosure",
        )
        extras = _where_and_when(warehouse, source, data, settings)
    elif data["source"]["kind"] == "aggregate":
        from crimeprev.indicators.aggregates import aggregate_areas, aggregate_quality

        areas = aggregate_areas(warehouse, source)
        aggregate_check = aggregate_quality(warehouse, source)
    return render(
        request,
        "stats/profile.html",
        {
            "p": data,
            "chart": chart,
            "level": level,
            "examples": examples,
            "source": source,
            "signed_in": principal is not None,
            "quality": quality,
            "breaks": breaks,
            "areas": areas,
            "aggregate_check": aggregate_check,
            **extras,
        },
    )


@router.get("/{source}/victims", response_class=HTMLResponse)
def aggregate_victims(
    request: Request,
    source: str,
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> HTMLResponse:
    """Victims by relationship to the perpetrator: every country's latest shares."""
    data = victims_overview_json(warehouse, source, threshold=settings.small_count_threshold)
    return render(request, "stats/victims.html", {"d": data, "source": source})


@router.get("/{source}/areas/{area_id}", response_class=HTMLResponse)
def aggregate_area(
    request: Request,
    source: str,
    area_id: str,
    unit: str | None = Query(None),
    level: int = Query(2, ge=1, le=4),
    warehouse: Warehouse = Depends(get_warehouse),
    settings: Settings = Depends(get_app_settings),
) -> HTMLResponse:
    """One area of a source: an aggregate source's country, or an incident source's area."""
    from crimeprev.indicators.trends import profile_kind

    if profile_kind(source) == "incident":
        area = incident_area_json(warehouse, source, area_id, settings, level)
        return render(
            request,
            "stats/incident_area.html",
            {
                "d": area,
                "source": source,
                "level": level,
                "chart": trend_chart(f"{source}, {area['area_name']}", area["by_year"], []),
            },
        )
    data = area_profile_json(warehouse, source, area_id, threshold=settings.small_count_threshold)
    shown_unit = unit if unit in data["units"] else (data["units"][0] if data["units"] else "")
    rows = [row for row in data["table"] if row["unit"] == shown_unit]
    chart = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": f"{data['area_name']}: {shown_unit} by ICCS code and year",
        "width": "container",
        "height": 260,
        "data": {
            "values": [
                {"year": year, "iccs": f"{row['iccs_code']} {row['label']}", "value": value}
                for row in rows
                for year, value in row["values"].items()
                if value is not None
            ]
        },
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "year", "type": "ordinal"},
            "y": {"field": "value", "type": "quantitative", "title": shown_unit},
            "color": {"field": "iccs", "type": "nominal", "title": "ICCS"},
        },
    }
    return render(
        request,
        "stats/area.html",
        {"d": data, "rows": rows, "unit": shown_unit, "chart": chart, "source": source},
    )


def trend_chart(
    source: str, by_year: list[dict[str, Any]], breaks: list[dict[str, Any]]
) -> dict[str, Any]:
    """Vega-Lite spec of yearly counts, with a dashed rule at each year a series break starts."""
    years = {str(row["year"]) for row in by_year}
    marked = sorted({b["period"][:4] for b in breaks if b["period"][:4] in years})
    line = {
        "data": {"values": [{**row, "year": str(row["year"])} for row in by_year]},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "year", "type": "ordinal", "title": "year"},
            "y": {"field": "count", "type": "quantitative", "title": "offences"},
        },
    }
    layers: list[dict[str, Any]] = [line]
    if marked:
        layers.append(
            {
                "data": {"values": [{"year": year} for year in marked]},
                "mark": {"type": "rule", "strokeDash": [4, 4], "color": "#b45309"},
                "encoding": {"x": {"field": "year", "type": "ordinal"}},
            }
        )
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": f"Recorded offences by year: {source} (dashed: series break)",
        "width": "container",
        "height": 220,
        "layer": layers,
    }


def _heat(
    matrix: list[list[float | None]] | None,
) -> list[list[tuple[float | None, float]]] | None:
    """Each cell with its shade (0-1 of the largest shown cell) for the heat tables.

    A suppressed cell (None) keeps None and no shade.
    """
    if matrix is None:
        return None
    shown = [value for row in matrix for value in row if value is not None]
    largest = max(shown, default=0.0) or 1.0
    return [[(value, 0.0 if value is None else value / largest) for value in row] for row in matrix]


def _where_and_when(
    warehouse: Warehouse, source: str, data: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    """The seasonal heat tables, the choropleth, concentration and standardised rates."""
    from crimeprev.errors import CrimeprevError
    from crimeprev.indicators.counts import public_concentration
    from crimeprev.indicators.linked_protection import DisclosureRefusedError
    from crimeprev.indicators.trends import MONTHS, WEEKDAYS, seasonal_tables

    try:
        tables = seasonal_tables(
            warehouse,
            source,
            threshold=settings.small_count_threshold,
            cache_dir=settings.data_dir / "disclosure",
        )
        seasonal: dict[str, Any] = {
            "precision": tables.precision,
            "by_month": list(zip(MONTHS, tables.by_month, strict=True)),
            "month_weekday": _heat(tables.month_weekday),
            "weekday_hour": _heat(tables.weekday_hour),
            "months_covered": tables.months_covered,
        }
    except DisclosureRefusedError as error:  # not published unprotected: say why
        seasonal = {"precision": "", "refused": error.message, "weekday_hour": None}
    out: dict[str, Any] = {
        "seasonal": {**seasonal, "months": MONTHS, "weekdays": WEEKDAYS},
        "concentration": None,
        "map_chart": None,
        "standardised": None,
        "standardised_note": "",
    }
    year = max(data["years"]) if data["years"] else None
    try:
        out["concentration"] = public_concentration(
            warehouse,
            source,
            threshold=settings.small_count_threshold,
            year=year,
            cache_dir=settings.data_dir / "disclosure",
        )
    except CrimeprevError:
        return out
    from crimeprev.store.areas import has_boundaries

    if not has_boundaries(warehouse, out["concentration"].area_set):
        return out
    measure = "rate" if data["rates"] else "count"
    title = f"rate per {settings.rate_per:,}" if measure == "rate" else "offences"
    out["map_chart"] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": f"{title} by area, {year}: {source}",
        "width": "container",
        "height": 420,
        "data": {
            "url": f"/api/stats/{source}/map?year={year}",
            "format": {"type": "json", "property": "features"},
        },
        "projection": {"type": "mercator"},
        # A click on an area opens its own profile (/stats/<source>/areas/<id>).
        "transform": [
            {
                "calculate": f"'/stats/{source}/areas/' + datum.properties.area_id",
                "as": "profile",
            }
        ],
        "mark": {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 0.5, "cursor": "pointer"},
        "encoding": {
            "href": {"field": "profile", "type": "nominal"},
            "color": {
                "field": f"properties.{measure}",
                "type": "quantitative",
                "title": title,
                "scale": {"scheme": "orangered"},
            },
            "tooltip": [
                {"field": "properties.name", "type": "nominal", "title": "area"},
                {"field": "properties.count", "type": "quantitative", "title": "offences"},
                {
                    "field": "properties.rate",
                    "type": "quantitative",
                    "title": title,
                    "format": ",.1f",
                },
            ],
        },
    }
    try:
        out["standardised"] = standardised_json(
            warehouse,
            source,
            year,
            "victim_age",
            settings.rate_per,
            threshold=settings.small_count_threshold,
            cache_dir=settings.data_dir / "disclosure",
        )
    except CrimeprevError as error:
        out["standardised_note"] = error.message
    return out
