"""JSON endpoints of the "Where and when" pages: near-repeat (Knox) tables, map layers,
hot spots, kernel density and forecast accuracy on the bundled real data and on the
sources loaded into the warehouse.

Results are cached per parameter set, so the page and its JSON twin share one
computation. Bundled data never change at run time; results from the warehouse
are keyed on its import log as well (:func:`crimeprev.spatial.sources.import_state`),
so a new import is seen at once and an unchanged warehouse is not read twice.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query

from crimeprev.config import Settings
from crimeprev.spatial.bundled import NEAR_REPEAT_DATASETS, near_repeat_events
from crimeprev.spatial.files import Events
from crimeprev.spatial.sources import MAP_SOURCES
from crimeprev.web.deps import get_app_settings

router = APIRouter(prefix="/api/spatial", tags=["Where and when"])

MetricName = Literal["manhattan", "euclidean"]


def _blank(value: str | None) -> str | None:
    """Empty form fields mean "no filter"."""
    return value.strip() or None if value is not None else None


def _warehouse_state(settings: Settings) -> tuple[str, tuple[int, str]]:
    """The warehouse URL and its import state: the cache key of warehouse results."""
    from crimeprev.spatial.sources import import_state
    from crimeprev.store.warehouse import open_warehouse

    settings.ensure_data_dir()
    with open_warehouse(settings.warehouse_url) as warehouse:
        return settings.warehouse_url, import_state(warehouse)


def _source_events(
    url: str, source: str, offence: str | None, start: str | None, end: str | None
) -> Events:
    from crimeprev.spatial.sources import read_map_events
    from crimeprev.store.warehouse import open_warehouse

    with open_warehouse(url) as warehouse:
        return read_map_events(warehouse, source, offence=offence, start=start, end=end)


@lru_cache(maxsize=32)
def near_repeat_analysis(
    dataset: str,
    spatial_bandwidth: float,
    spatial_bands: int,
    temporal_bandwidth: float,
    temporal_bands: int,
    metric: MetricName,
    permutations: int,
    seed: int,
) -> dict[str, Any]:
    """Knox table (NRC bands) and near-repeat chains for a bundled data set."""
    events = near_repeat_events(dataset)
    item = NEAR_REPEAT_DATASETS[dataset]
    return _knox_body(
        events,
        {"key": dataset, "title": item.title, "note": item.note, "dropped_rows": events.dropped},
        item.file,
        spatial_bandwidth,
        spatial_bands,
        temporal_bandwidth,
        temporal_bands,
        metric,
        permutations,
        seed,
    )


@lru_cache(maxsize=16)
def source_near_repeat_analysis(
    url: str,
    state: tuple[int, str],  # noqa: ARG001 - part of the cache key only
    source: str,
    offence: str | None,
    start: str | None,
    end: str | None,
    spatial_bandwidth: float,
    spatial_bands: int,
    temporal_bandwidth: float,
    temporal_bands: int,
    metric: MetricName,
    permutations: int,
    seed: int,
) -> dict[str, Any]:
    """Knox table and chains for a warehouse source (projected to its UTM zone)."""
    from crimeprev.spatial.projection import project

    events = _source_events(url, source, offence, start, end)
    projected = project(events.x, events.y)
    # Whole days, as the Near Repeat Calculator counts them (its bands are days apart).
    days = None if events.times is None else events.times.astype("datetime64[D]")
    metres = Events(
        projected.x, projected.y, days, False, events.source, events.rows, events.dropped
    )
    dataset = {
        "key": source,
        "title": MAP_SOURCES[source].title,
        "note": f"{events.source}; projected to {projected.crs_name}; times as dates",
        "dropped_rows": events.dropped,
        "offence": offence,
        "start": start,
        "end": end,
    }
    return _knox_body(
        metres,
        dataset,
        events.source,
        spatial_bandwidth,
        spatial_bands,
        temporal_bandwidth,
        temporal_bands,
        metric,
        permutations,
        seed,
    )


def _knox_body(
    events: Events,
    dataset: dict[str, Any],
    described: str,
    spatial_bandwidth: float,
    spatial_bands: int,
    temporal_bandwidth: float,
    temporal_bands: int,
    metric: MetricName,
    permutations: int,
    seed: int,
) -> dict[str, Any]:
    """Knox test with the NRC band convention and the near-repeat chains, as JSON."""
    from crimeprev.spatial.near_repeat import knox_test_nrc, near_repeat_chains

    result = knox_test_nrc(
        events.x,
        events.y,
        events.times,
        spatial_bandwidth=spatial_bandwidth,
        spatial_bands=spatial_bands,
        temporal_bandwidth=temporal_bandwidth,
        temporal_bands=temporal_bands,
        metric=metric,
        permutations=permutations,
        rng=seed,
        source=described,
    )
    chains = near_repeat_chains(
        events.x,
        events.y,
        events.times,
        distance=spatial_bandwidth,
        days=temporal_bandwidth,
        metric=metric,
    )
    body = result.to_dict()
    body["dataset"] = dataset
    summary = chains.summary(events.times)
    body["chains"] = {
        "distance": chains.distance,
        "days": chains.days,
        "count": len(chains.members),
        "links": chains.links,
        "events_in_chains": int((chains.chain >= 0).sum()),
        "largest": summary[:25],
    }
    return body


@router.get("/near-repeat/datasets")
def near_repeat_datasets() -> dict[str, Any]:
    """The bundled event data sets the near-repeat analysis can use."""
    return {
        "datasets": [
            {"key": item.key, "title": item.title, "note": item.note}
            for item in NEAR_REPEAT_DATASETS.values()
        ]
    }


@router.get("/near-repeat")
def near_repeat(
    dataset: str = Query("chicago_burglary_jan2016", description="Bundled data set key."),
    source: str | None = Query(
        None,
        description="A warehouse source instead of the data set: "
        + ", ".join(key for key, item in MAP_SOURCES.items() if item.bundled is None),
    ),
    offence: str | None = Query(None, description="ICCS code prefix or offence label text."),
    start: str | None = Query(None, description="First day (ISO date) of a source's period."),
    end: str | None = Query(None, description="Day after the period (ISO date)."),
    spatial_bandwidth: float = Query(100, gt=0, le=10_000, description="Metres per band."),
    spatial_bands: int = Query(3, ge=1, le=10),
    temporal_bandwidth: float = Query(7, gt=0, le=365, description="Days per band."),
    temporal_bands: int = Query(3, ge=1, le=10),
    metric: MetricName = Query("manhattan"),
    permutations: int = Query(99, ge=0, le=999),
    seed: int = Query(1, ge=0, description="Random seed of the permutations."),
    settings: Settings = Depends(get_app_settings),  # noqa: B008
) -> dict[str, Any]:
    """Knox near-repeat table with the Near Repeat Calculator's band convention, and chains."""
    source = _blank(source)
    if source is not None:
        from crimeprev.errors import NotFoundError

        if source not in MAP_SOURCES or MAP_SOURCES[source].bundled is not None:
            raise NotFoundError(
                f"unknown warehouse source {source!r}; choose one of "
                + ", ".join(k for k, v in MAP_SOURCES.items() if v.bundled is None)
            )
        url, state = _warehouse_state(settings)
        return source_near_repeat_analysis(
            url,
            state,
            source,
            _blank(offence),
            _blank(start),
            _blank(end),
            spatial_bandwidth,
            spatial_bands,
            temporal_bandwidth,
            temporal_bands,
            metric,
            permutations,
            seed,
        )
    return near_repeat_analysis(
        dataset,
        spatial_bandwidth,
        spatial_bands,
        temporal_bandwidth,
        temporal_bands,
        metric,
        permutations,
        seed,
    )


# --- Map layers: Chicago aggravated assaults (bundled) ---------------------------------

CHICAGO_YEARS = range(2010, 2020)


# Dual KDE: cells where last year's density is below this (events per km^2) get no
# ratio, since a ratio of two near-zero densities says nothing.
DUAL_FLOOR = 1.0


def _year_on_year_density(
    every_year: Any, year: int, epsg: int, grid: Any, bandwidth: float
) -> Any:
    """Dual KDE of ``year`` over the year before at the grid centres (None for the first year)."""
    from crimeprev.spatial.kde import dual_kernel_density
    from crimeprev.spatial.projection import project

    if year - 1 not in CHICAGO_YEARS:
        return None
    now = every_year[every_year["year"] == year]
    before = every_year[every_year["year"] == year - 1]
    here = project(now["longitude"].to_numpy(), now["latitude"].to_numpy(), epsg=epsg)
    there = project(before["longitude"].to_numpy(), before["latitude"].to_numpy(), epsg=epsg)
    return dual_kernel_density(
        here.x,
        here.y,
        there.x,
        there.y,
        grid.x,
        grid.y,
        bandwidth=bandwidth,
        kernel="quartic",
        floor=DUAL_FLOOR,
    )


@lru_cache(maxsize=4)
def chicago_layers(year: int, permutations: int = 0, seed: int = 1) -> dict[str, Any]:
    """Hot spots, KDE, area rates and points for one year of Chicago assaults.

    Everything the map shows, computed once per year from the bundled data.
    """
    import numpy as np

    from crimeprev.errors import NotFoundError
    from crimeprev.spatial.bundled import CHICAGO_AREAS, chicago_assaults
    from crimeprev.spatial.files import bundled_path
    from crimeprev.spatial.geo import grid_features, read_areas
    from crimeprev.spatial.getis_ord import local_g
    from crimeprev.spatial.grids import count_in_areas, hex_grid
    from crimeprev.spatial.hotspots import optimized_hot_spots, rate_hot_spots
    from crimeprev.spatial.kde import kernel_density
    from crimeprev.spatial.moran import QUADRANTS, global_moran, local_moran
    from crimeprev.spatial.projection import project
    from crimeprev.spatial.significance import CLASS_LABELS
    from crimeprev.spatial.source_map import PER_RESIDENTS, RESIDENT_FLOOR, crime_over_population
    from crimeprev.spatial.weights import polygon_contiguity

    if year not in CHICAGO_YEARS:
        raise NotFoundError(f"no bundled Chicago assaults for {year}; choose 2010 to 2019")
    every_year = chicago_assaults()
    frame = every_year[every_year["year"] == year]
    projected = project(frame["longitude"].to_numpy(), frame["latitude"].to_numpy())
    areas_lonlat = read_areas(bundled_path(*CHICAGO_AREAS))
    areas = areas_lonlat.to_epsg(projected.epsg)
    spots = optimized_hot_spots(
        projected.x,
        projected.y,
        mask=areas.union(),
        permutations=permutations,
        rng=seed,
        epsg=projected.epsg,
        source=f"Chicago aggravated assaults {year}",
    )
    grid = spots.grid
    density = kernel_density(projected.x, projected.y, grid.x, grid.y, kernel="quartic")
    show = (grid.counts > 0) | (spots.result.classes != 0)
    change = _year_on_year_density(every_year, year, projected.epsg, grid, density.bandwidth)
    columns = {"z": spots.result.z, "class": spots.result.classes, "density": density.density}
    if change is not None:
        columns["change"] = np.round(change.ratio, 3)
    population = np.array([float(p["POP2010"]) for p in areas.properties])
    risk = crime_over_population(
        projected.x,
        projected.y,
        areas.geometries,
        population,
        grid.x,
        grid.y,
        bandwidth=density.bandwidth,
    )
    columns["per_1000"] = np.round(risk.ratio, 3)
    cells = grid_features(grid, columns, only=show)
    # Hexagons of the same width as the squares: counts and Gi* with the six neighbours.
    hexagons = hex_grid(
        projected.x, projected.y, cell_size=grid.cell_size, mask=areas.union(), epsg=projected.epsg
    )
    hex_spots = local_g(hexagons.counts, hexagons.contiguity(), fdr=True)
    hexagon_features = grid_features(
        hexagons,
        {"z": np.round(hex_spots.z, 3), "class": hex_spots.classes},
        only=(hexagons.counts > 0) | (hex_spots.classes != 0),
    )
    counted = count_in_areas(projected.x, projected.y, areas.geometries, denominator=population)
    queen = polygon_contiguity(areas.geometries)
    by_rate = rate_hot_spots(counted.counts, population, queen, permutations=999, rng=seed)
    smoothed = rate_hot_spots(
        counted.counts, population, queen, permutations=999, rng=seed, smoothing="local-eb"
    )
    standardized = queen.row_standardized()
    lisa = local_moran(by_rate.rates, standardized, permutations=999, rng=seed)
    moran = global_moran(by_rate.rates, standardized, permutations=999, rng=seed)
    import json

    raw = json.loads(bundled_path(*CHICAGO_AREAS).read_text())["features"]
    area_features = []
    for k, properties in enumerate(areas_lonlat.properties):
        area_features.append(
            {
                "type": "Feature",
                "geometry": raw[k]["geometry"],
                "properties": {
                    "name": str(properties.get("community", "")).title(),
                    "population_2010": int(population[k]),
                    "assaults": int(counted.counts[k]),
                    "rate_per_100k": round(float(by_rate.rates[k]), 1),
                    "rate_z": round(float(by_rate.result.z[k]), 3),
                    "rate_class": int(by_rate.result.classes[k]),
                    "rate_eb_per_100k": round(float(smoothed.rates[k]), 1),
                    "rate_eb_class": int(smoothed.result.classes[k]),
                    "lisa": QUADRANTS.get(int(lisa.cluster[k]), "not significant"),
                    "lisa_p": None if lisa.p_sim is None else round(float(lisa.p_sim[k]), 4),
                },
            }
        )
    classes, class_counts = np.unique(spots.result.classes, return_counts=True)
    return {
        "dataset": "Chicago aggravated assaults (City of Chicago via the Crime Open Database)",
        "year": year,
        "incidents": int(len(frame)),
        "epsg": projected.epsg,
        "crs": projected.crs_name,
        "choices": spots.choices,
        "incremental_autocorrelation": spots.incremental,
        "cell_size": grid.cell_size,
        "distance_band": spots.distance_band,
        "kde": {
            "kernel": density.kernel,
            "bandwidth": density.bandwidth,
            "rule": density.bandwidth_rule,
            "unit": "events per km^2",
            "max": float(density.density.max()),
        },
        "classes": {
            CLASS_LABELS[int(c)]: int(n) for c, n in zip(classes, class_counts, strict=True)
        },
        "dual_kde": None
        if change is None
        else {
            "numerator": f"assaults {year}",
            "denominator": f"assaults {year - 1}",
            "kernel": change.numerator.kernel,
            "bandwidth": change.numerator.bandwidth,
            "floor": DUAL_FLOOR,
            "note": f"ratio of the {year} density to the {year - 1} density (same kernel and "
            f"bandwidth); left out where the {year - 1} density is below {DUAL_FLOOR:g} "
            "events per km^2",
        },
        "crime_over_population": {
            "numerator": f"assaults {year}",
            "denominator": "residents (2010 census, community areas)",
            "kernel": "quartic",
            "bandwidth": density.bandwidth,
            "per": PER_RESIDENTS,
            "floor": RESIDENT_FLOOR,
            "residents": float(risk.denominator.events),
            "note": "assaults per 1,000 residents: the assault density over the resident "
            "density (same kernel and bandwidth), each community area's 2010 population "
            "spread evenly over the area; left out where fewer than "
            f"{RESIDENT_FLOOR:g} residents live per km^2",
        },
        "hexagons": {
            "cell_size": hexagons.cell_size,
            "cells": hexagons.cells,
            "weights": "contiguity (six neighbours), Gi* with false discovery rate",
            "classes": {
                CLASS_LABELS[int(c)]: int(n)
                for c, n in zip(*np.unique(hex_spots.classes, return_counts=True), strict=True)
            },
        },
        "area_smoothing": "local Empirical Bayes (towards the rate of each area and its "
        "queen neighbours), then Gi* with 999 permutations",
        "hexagon_cells": hexagon_features,
        "permutations": permutations,
        "seed": seed,
        "cells": cells,
        "areas": {"type": "FeatureCollection", "features": area_features},
        "area_outside": counted.outside,
        "area_moran": {
            "variable": "assaults per 100,000 residents (2010 census)",
            "weights": "queen contiguity, row-standardised",
            "i": moran.i,
            "expected": moran.expected,
            "z_random": moran.z_random,
            "p_random": moran.p_random,
            "p_sim": moran.p_sim,
            "permutations": moran.permutations,
        },
        "points": np.round(
            np.column_stack([frame["latitude"].to_numpy(), frame["longitude"].to_numpy()]), 5
        ).tolist(),
    }


#: The summary keys both kinds of map share: projection, hot-spot choices and KDE.
_ANALYSIS_KEYS = (
    "epsg",
    "crs",
    "choices",
    "cell_size",
    "distance_band",
    "kde",
    "classes",
    "incremental_autocorrelation",
    "permutations",
    "seed",
)
SUMMARY_KEYS = (
    "dataset",
    "year",
    "incidents",
    *_ANALYSIS_KEYS,
    "area_outside",
    "area_moran",
    "area_smoothing",
    "dual_kde",
    "crime_over_population",
    "hexagons",
)
SOURCE_SUMMARY_KEYS = (
    "source",
    "title",
    "offence",
    "start",
    "end",
    "described",
    "incidents",
    "dropped_rows",
    *_ANALYSIS_KEYS,
    "dual_kde",
    "crime_over_population",
    "hexagons",
    "base_layer",
    "area_set",
    "area_outside",
)
LAYER_NAMES = ("cells", "hexagons", "areas", "points")


@lru_cache(maxsize=8)
def cached_source_map(
    url: str,
    state: tuple[int, str],  # noqa: ARG001 - part of the cache key only
    source: str,
    offence: str | None,
    start: str | None,
    end: str | None,
) -> dict[str, Any]:
    """Every map layer of a source, computed once per parameters and warehouse state."""
    from crimeprev.spatial.source_map import source_map
    from crimeprev.store.warehouse import open_warehouse

    with open_warehouse(url) as warehouse:
        return source_map(warehouse, source, offence=offence, start=start, end=end)


def map_layers(
    settings: Settings,
    year: int,
    source: str | None,
    offence: str | None,
    start: str | None,
    end: str | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The map's layers and the query that selects them (the bundled Chicago year
    when no source is given, else the source, offence and period)."""
    from crimeprev.spatial.sources import map_source

    source, offence, start, end = (_blank(v) for v in (source, offence, start, end))
    if source is None:
        return chicago_layers(year), {"year": year}
    map_source(source)
    url, state = _warehouse_state(settings)
    query = {"source": source, "offence": offence, "start": start, "end": end}
    return cached_source_map(url, state, source, offence, start, end), {
        key: value for key, value in query.items() if value
    }


def map_summary(layers: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """The summary part of the layers, with links to each layer's JSON."""
    keys = SOURCE_SUMMARY_KEYS if "source" in layers else SUMMARY_KEYS
    encoded = urlencode(query)
    return {key: layers[key] for key in keys} | {
        "query": query,
        "layers": {name: f"/api/spatial/layers/{name}?{encoded}" for name in LAYER_NAMES},
    }


@router.get("/sources")
def sources() -> dict[str, Any]:
    """The sources the map can show: key, title, default period, base layer, populations."""
    return {
        "sources": [
            {
                "key": item.key,
                "title": item.title,
                "start": item.start,
                "end": item.end,
                "area_set": item.area_set,
                "population": item.population,
                "read_from": "bundled file" if item.bundled else "warehouse",
                "near_repeat_offence": item.knox_offence,
            }
            for item in MAP_SOURCES.values()
        ]
    }


@router.get("")
def overview(
    year: int = Query(2019, ge=2010, le=2019, description="Year of the bundled Chicago assaults."),
    source: str | None = Query(None, description="A source instead (see /api/spatial/sources)."),
    offence: str | None = Query(None, description="ICCS code prefix or offence label text."),
    start: str | None = Query(None, description="First day of the period (ISO date)."),
    end: str | None = Query(None, description="Day after the period (ISO date)."),
    settings: Settings = Depends(get_app_settings),  # noqa: B008
) -> dict[str, Any]:
    """Summary of the hot-spot map: choices made, classes, KDE and links to the layers."""
    layers, query = map_layers(settings, year, source, offence, start, end)
    return map_summary(layers, query)


@router.get("/layers/{name}")
def layer(
    name: Literal["cells", "hexagons", "areas", "points"],
    year: int = Query(2019, ge=2010, le=2019),
    source: str | None = Query(None),
    offence: str | None = Query(None),
    start: str | None = Query(None),
    end: str | None = Query(None),
    settings: Settings = Depends(get_app_settings),  # noqa: B008
) -> Any:
    """One map layer as GeoJSON: square cells (count, Gi* z and class, KDE, the
    dual-KDE ratio to the period before as ``change`` and, where the source has
    area populations, incidents per 1,000 residents as ``per_1000``), hexagons
    (count, Gi* z and class), areas (counts and rates; for the bundled Chicago
    year also Empirical Bayes rates with their rate-based Gi* classes; the
    points' extent for a source without boundaries); or the incident points as
    [lat, lon] pairs."""
    layers, _ = map_layers(settings, year, source, offence, start, end)
    return layers["hexagon_cells" if name == "hexagons" else name]


@lru_cache(maxsize=8)
def chicago_forecast(year: int, method: str = "counts") -> dict[str, Any]:
    """Forecast accuracy of last year's hot spots for ``year`` (Chicago assaults)."""

    from crimeprev.errors import InvalidInputError, NotFoundError
    from crimeprev.spatial.bundled import CHICAGO_AREAS, chicago_assaults
    from crimeprev.spatial.files import bundled_path
    from crimeprev.spatial.forecast import forecast_accuracy
    from crimeprev.spatial.geo import read_areas
    from crimeprev.spatial.grids import square_grid
    from crimeprev.spatial.kde import kernel_density
    from crimeprev.spatial.projection import project

    if year not in range(2011, 2020):
        raise NotFoundError(
            f"no forecast for {year}: choose 2011 to 2019 (the year before is used)"
        )
    if method not in ("counts", "kde"):
        raise InvalidInputError(f"method must be 'counts' or 'kde', got {method!r}")
    frame = chicago_assaults()
    frame = frame[frame["year"].isin([year - 1, year])]
    projected = project(frame["longitude"].to_numpy(), frame["latitude"].to_numpy())
    before = (frame["year"] == year - 1).to_numpy()
    mask = read_areas(bundled_path(*CHICAGO_AREAS)).to_epsg(projected.epsg).union()
    cell = 250.0
    bounds = (projected.x.min(), projected.y.min(), projected.x.max(), projected.y.max())
    earlier = square_grid(
        projected.x[before], projected.y[before], cell_size=cell, mask=mask, bounds=bounds
    )
    later = square_grid(
        projected.x[~before], projected.y[~before], cell_size=cell, mask=mask, bounds=bounds
    )
    if method == "kde":
        scores = kernel_density(
            projected.x[before], projected.y[before], earlier.x, earlier.y, bandwidth=400
        ).density
    else:
        scores = earlier.counts.astype(float)
    result = forecast_accuracy(
        scores,
        later.counts,
        training=earlier.counts,
        coverages=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2),
    )
    step = max(1, result.cells // 400)
    curve = [
        {
            "coverage": float(result.coverage[k]),
            "hit_rate": float(result.hit_rate[k]),
            "pai": float(result.pai[k]),
        }
        for k in range(0, result.cells, step)
    ]
    return {
        "dataset": "Chicago aggravated assaults (City of Chicago via the Crime Open Database)",
        "forecast_year": year - 1,
        "test_year": year,
        "method": method,
        "method_note": (
            "cells ranked by last year's count"
            if method == "counts"
            else "cells ranked by last year's quartic kernel density, bandwidth 400 m"
        ),
        "cell_size": cell,
        "cells": result.cells,
        "ties": result.ties,
        "events_forecast_year": int(before.sum()),
        "events_test_year": int(result.events),
        "outside_city": int(later.outside),
        "table": result.table,
        "curve": curve,
        "chart": forecast_chart(curve, "assaults"),
    }


def forecast_chart(curve: list[dict[str, float]], what: str) -> dict[str, Any]:
    """Vega-Lite step chart of the hit rate by share of the area flagged."""
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": "Hit rate by share of the area flagged as hot spots",
        "width": "container",
        "height": 260,
        "data": {"values": curve},
        "mark": {"type": "line", "interpolate": "step-after"},
        "encoding": {
            "x": {
                "field": "coverage",
                "type": "quantitative",
                "title": "share of area",
                "axis": {"format": "%"},
                "scale": {"type": "sqrt"},
            },
            "y": {
                "field": "hit_rate",
                "type": "quantitative",
                "title": f"share of {what}",
                "axis": {"format": "%"},
            },
        },
    }


@lru_cache(maxsize=8)
def cached_source_forecast(
    url: str,
    state: tuple[int, str],  # noqa: ARG001 - part of the cache key only
    source: str,
    offence: str | None,
    start: str | None,
    split: str | None,
    end: str | None,
    method: str,
) -> dict[str, Any]:
    """Forecast accuracy on a source, once per parameters and warehouse state."""
    from crimeprev.spatial.source_forecast import source_forecast
    from crimeprev.store.warehouse import open_warehouse

    with open_warehouse(url) as warehouse:
        body = source_forecast(
            warehouse, source, offence=offence, start=start, split=split, end=end, method=method
        )
    return body | {"chart": forecast_chart(body["curve"], "incidents")}


def forecast(
    settings: Settings,
    year: int,
    method: str,
    source: str | None,
    offence: str | None,
    start: str | None,
    split: str | None,
    end: str | None,
) -> dict[str, Any]:
    """The bundled Chicago year's forecast, or a source's when one is given."""
    from crimeprev.spatial.sources import map_source

    source = _blank(source)
    if source is None:
        return chicago_forecast(year, method)
    map_source(source)
    url, state = _warehouse_state(settings)
    return cached_source_forecast(
        url, state, source, _blank(offence), _blank(start), _blank(split), _blank(end), method
    )


@router.get("/forecast-accuracy")
def forecast_accuracy_json(
    year: int = Query(2019, ge=2011, le=2019, description="Test year (forecast: the year before)."),
    method: Literal["counts", "kde"] = Query("counts"),
    source: str | None = Query(None, description="A source instead (see /api/spatial/sources)."),
    offence: str | None = Query(None, description="ICCS code prefix or offence label text."),
    start: str | None = Query(None, description="First day of the earlier period."),
    split: str | None = Query(None, description="First day of the later period (default: middle)."),
    end: str | None = Query(None, description="Day after the later period."),
    settings: Settings = Depends(get_app_settings),  # noqa: B008
) -> dict[str, Any]:
    """Hit rate, PAI, PEI and RRI of last year's hot spots for this year's assaults, or of
    a source's hot spots of one period for the next."""
    return forecast(settings, year, method, source, offence, start, split, end)
