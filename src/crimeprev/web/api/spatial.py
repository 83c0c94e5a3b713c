"""JSON endpoints of the "Where and when" pages: near-repeat (Knox) tables, map layers,
hot spots, kernel density and forecast accuracy on the bundled real data.

Results are cached per parameter set (the data are bundled and never change),
so the page and its JSON twin share one computation.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from fastapi import APIRouter, Query

from crimeprev.spatial.bundled import NEAR_REPEAT_DATASETS, near_repeat_events

router = APIRouter(prefix="/api/spatial", tags=["Where and when"])

MetricName = Literal["manhattan", "euclidean"]


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
    from crimeprev.spatial.near_repeat import knox_test_nrc, near_repeat_chains

    events = near_repeat_events(dataset)
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
        source=NEAR_REPEAT_DATASETS[dataset].file,
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
    body["dataset"] = {
        "key": dataset,
        "title": NEAR_REPEAT_DATASETS[dataset].title,
        "note": NEAR_REPEAT_DATASETS[dataset].note,
        "dropped_rows": events.dropped,
    }
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
    spatial_bandwidth: float = Query(100, gt=0, le=10_000, description="Metres per band."),
    spatial_bands: int = Query(3, ge=1, le=10),
    temporal_bandwidth: float = Query(7, gt=0, le=365, description="Days per band."),
    temporal_bands: int = Query(3, ge=1, le=10),
    metric: MetricName = Query("manhattan"),
    permutations: int = Query(99, ge=0, le=999),
    seed: int = Query(1, ge=0, description="Random seed of the permutations."),
) -> dict[str, Any]:
    """Knox near-repeat table with the Near Repeat Calculator's band convention, and chains."""
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
    population = np.array([float(p["POP2010"]) for p in areas.properties])
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


@router.get("")
def overview(
    year: int = Query(2019, ge=2010, le=2019, description="Year of the Chicago assaults."),
) -> dict[str, Any]:
    """Summary of the hot-spot map: choices made, classes, KDE and links to the layers."""
    layers = chicago_layers(year)
    return {
        key: layers[key]
        for key in (
            "dataset",
            "year",
            "incidents",
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
            "area_outside",
            "area_moran",
            "area_smoothing",
            "dual_kde",
            "hexagons",
        )
    } | {
        "layers": {
            name: f"/api/spatial/layers/{name}?year={year}"
            for name in ("cells", "hexagons", "areas", "points")
        }
    }


@router.get("/layers/{name}")
def layer(
    name: Literal["cells", "hexagons", "areas", "points"],
    year: int = Query(2019, ge=2010, le=2019),
) -> Any:
    """One map layer as GeoJSON: square cells (count, Gi* z and class, KDE, and the
    dual-KDE ratio to the year before as ``change``), hexagons (count, Gi* z and
    class), areas (raw and Empirical Bayes rates with their rate-based Gi*
    classes); or the incident points as [lat, lon] pairs."""
    layers = chicago_layers(year)
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
        "chart": {
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "description": "Hit rate by share of the city's area flagged as hot spots",
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
                    "title": "share of assaults",
                    "axis": {"format": "%"},
                },
            },
        },
    }


@router.get("/forecast-accuracy")
def forecast_accuracy_json(
    year: int = Query(2019, ge=2011, le=2019, description="Test year (forecast: the year before)."),
    method: Literal["counts", "kde"] = Query("counts"),
) -> dict[str, Any]:
    """Hit rate, PAI, PEI and RRI of last year's hot spots for this year's assaults."""
    return chicago_forecast(year, method)
