"""Everything the hot-spot map shows for one source, offence and period.

The map of any loaded source: Gi* hot spots chosen as in
:func:`~crimeprev.spatial.hotspots.optimized_hot_spots`, quartic kernel
density, hexagon counts with Gi*, counts (and rates) per area, and two dual
KDEs: the period over the period of the same length before it, and, where the
warehouse holds area populations, crime over population.

Crime over population assumes that each area's residents are spread evenly
over the area: the population of an area is shared equally among the grid
cells whose centre lies in it, and those cell centres, weighted, form the
denominator surface, smoothed with the same kernel and bandwidth as the
incidents. The ratio is then incidents per 1,000 residents in the period. The
assumption is coarse (parks, rail yards and the lake shore count as
inhabited), so the layer shows where risk per resident is high, not who is at
risk; cells whose resident density is below :data:`RESIDENT_FLOOR` get no
ratio.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely

from crimeprev.errors import InvalidInputError
from crimeprev.spatial.files import Events
from crimeprev.spatial.sources import (
    area_populations,
    map_source,
    previous_period,
    read_map_events,
)
from crimeprev.store.warehouse import Warehouse

#: Change layer: cells where the earlier density is below this (events per km^2) get no ratio.
CHANGE_FLOOR = 1.0
#: Change layer: the earlier period needs at least this many incidents (and a tenth of the
#: current count); a stray earlier row (Chicago's 2016 burglaries hold one from 2015) is no base.
MIN_EARLIER = 30
#: Crime over population: cells with fewer residents per km^2 than this get no ratio.
RESIDENT_FLOOR = 100.0
#: Crime over population is given per this many residents.
PER_RESIDENTS = 1_000.0


def _populated_centres(
    areas: list[Any], populations: np.ndarray, at_x: np.ndarray, at_y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted points carrying each area's population: its share on every cell centre
    inside it, or all of it on a point inside the area when no centre falls in it."""
    xs, ys, weights = [], [], []
    for geometry, people in zip(areas, populations, strict=True):
        inside = shapely.contains_xy(geometry, at_x, at_y)
        if inside.any():
            xs.append(at_x[inside])
            ys.append(at_y[inside])
            weights.append(np.full(int(inside.sum()), people / inside.sum()))
        else:
            point = geometry.representative_point()
            xs.append(np.array([point.x]))
            ys.append(np.array([point.y]))
            weights.append(np.array([float(people)]))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(weights)


def crime_over_population(
    x: np.ndarray,
    y: np.ndarray,
    areas: list[Any],
    populations: np.ndarray,
    at_x: np.ndarray,
    at_y: np.ndarray,
    *,
    bandwidth: float,
) -> Any:
    """Dual KDE of incidents over residents, per :data:`PER_RESIDENTS`, at the grid centres.

    ``areas`` are projected polygons with their ``populations``; each area's residents
    are shared equally among the centres inside it (see the module docstring).

    Examples
    --------
    1,000 residents on a square kilometre of 100 m cells, one incident at its centre:

    >>> from shapely.geometry import box
    >>> centres = np.arange(50.0, 1000, 100)
    >>> gx, gy = (a.ravel() for a in np.meshgrid(centres, centres))
    >>> risk = crime_over_population(
    ...     [450.0], [450.0], [box(0, 0, 1000, 1000)], np.array([1000.0]), gx, gy, bandwidth=200
    ... )
    >>> middle = 44  # the cell centred on (450, 450)
    >>> float(risk.denominator.events), round(float(risk.denominator.density[middle]))
    (1000.0, 1015)
    >>> round(float(risk.numerator.density[middle]), 2)  # 3 / (pi 0.2^2) incidents per km^2
    23.87
    >>> round(float(risk.ratio[middle]), 1)  # per 1,000 residents: 23.87 / 1015 * 1000
    23.5
    """
    from crimeprev.spatial.kde import dual_kernel_density

    px, py, weights = _populated_centres(areas, populations, at_x, at_y)
    return dual_kernel_density(
        x,
        y,
        px,
        py,
        at_x,
        at_y,
        bandwidth=bandwidth,
        other_weights=weights,
        scale=PER_RESIDENTS,
        floor=RESIDENT_FLOOR,
    )


def _extent_feature(events: Events) -> dict[str, Any]:
    """The points' bounding box as the base layer of a source without boundaries."""
    west, east = float(events.x.min()), float(events.x.max())
    south, north = float(events.y.min()), float(events.y.max())
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [np.round(ring, 6).tolist()]},
        "properties": {"name": "extent of the incidents", "incidents": events.rows},
    }


def source_map(
    warehouse: Warehouse,
    key: str,
    *,
    offence: str | None = None,
    start: str | None = None,
    end: str | None = None,
    permutations: int = 0,
    seed: int = 1,
) -> dict[str, Any]:
    """Compute every map layer of one source, offence and period (JSON-ready).

    Parameters
    ----------
    warehouse : Warehouse
        An open warehouse holding the source (see :mod:`crimeprev.spatial.sources`).
    key : str
        Source key, one of :data:`crimeprev.spatial.sources.MAP_SOURCES`.
    offence : str, optional
        ICCS code prefix or offence label text.
    start, end : str, optional
        ISO dates (end exclusive); the source's default period when not given.
    permutations, seed : int
        Conditional permutations of the grid Gi* (0: analytical only) and their seed.

    Returns
    -------
    dict
        A summary (choices made, classes, KDE, dual KDEs) and the layers
        ``cells``, ``hexagon_cells``, ``areas`` (GeoJSON) and ``points`` ([lat, lon]).
    """
    from crimeprev.spatial.geo import Areas, grid_features
    from crimeprev.spatial.getis_ord import local_g
    from crimeprev.spatial.grids import count_in_areas, hex_grid
    from crimeprev.spatial.hotspots import optimized_hot_spots
    from crimeprev.spatial.kde import dual_kernel_density, kernel_density
    from crimeprev.spatial.projection import project
    from crimeprev.spatial.significance import CLASS_LABELS
    from crimeprev.store.areas import has_boundaries, load_area_set

    source = map_source(key)
    first, last = start or source.start, end or source.end
    events = read_map_events(warehouse, key, offence=offence, start=first, end=last)
    projected = project(events.x, events.y)
    epsg = projected.epsg
    area_set = None
    if source.area_set and has_boundaries(warehouse, source.area_set):
        area_set = load_area_set(warehouse, source.area_set)
    projected_areas = None
    if area_set is not None:
        lonlat = Areas(list(area_set.geometries), [{} for _ in area_set.ids], 4326)
        projected_areas = lonlat.to_epsg(epsg)
    mask = None if projected_areas is None else projected_areas.union()
    spots = optimized_hot_spots(
        projected.x,
        projected.y,
        mask=mask,
        permutations=permutations,
        rng=seed,
        epsg=epsg,
        source=events.source,
    )
    grid = spots.grid
    density = kernel_density(projected.x, projected.y, grid.x, grid.y, kernel="quartic")
    columns: dict[str, np.ndarray] = {
        "z": spots.result.z,
        "class": spots.result.classes,
        "density": density.density,
    }
    # Year on year (or the period before): only when the source has incidents then.
    before_start, before_end = previous_period(first, last)
    try:
        before = read_map_events(
            warehouse, key, offence=offence, start=before_start, end=before_end
        )
    except InvalidInputError:
        before = None
    if before is not None and before.rows < max(MIN_EARLIER, events.rows // 10):
        before = None
    change_summary = None
    if before is not None:
        earlier = project(before.x, before.y, epsg=epsg)
        change = dual_kernel_density(
            projected.x,
            projected.y,
            earlier.x,
            earlier.y,
            grid.x,
            grid.y,
            bandwidth=density.bandwidth,
            floor=CHANGE_FLOOR,
        )
        columns["change"] = np.round(change.ratio, 3)
        change_summary = {
            "numerator": f"{first} to {last} ({events.rows:,} incidents)",
            "denominator": f"{before_start} to {before_end} ({before.rows:,} incidents)",
            "kernel": "quartic",
            "bandwidth": density.bandwidth,
            "floor": CHANGE_FLOOR,
            "note": f"ratio of the density from {first} to that from {before_start} (same "
            f"kernel and bandwidth); left out where the earlier density is below "
            f"{CHANGE_FLOOR:g} events per km^2",
        }
    population = None
    per_residents_summary = None
    if area_set is not None and projected_areas is not None and source.population:
        year, by_id = area_populations(warehouse, area_set.name)
        population = np.array([by_id.get(area_id, 0.0) for area_id in area_set.ids])
        risk = crime_over_population(
            projected.x,
            projected.y,
            projected_areas.geometries,
            population,
            grid.x,
            grid.y,
            bandwidth=density.bandwidth,
        )
        columns["per_1000"] = np.round(risk.ratio, 3)
        per_residents_summary = {
            "numerator": f"incidents {first} to {last}",
            "denominator": f"residents ({year} population of {area_set.name})",
            "kernel": "quartic",
            "bandwidth": density.bandwidth,
            "per": PER_RESIDENTS,
            "floor": RESIDENT_FLOOR,
            "residents": float(risk.denominator.events),
            "note": "incidents per 1,000 residents: the incident density over the resident "
            "density (same kernel and bandwidth), each area's population spread evenly over "
            f"the area; left out where fewer than {RESIDENT_FLOOR:g} residents live per km^2",
        }
    show = (grid.counts > 0) | (spots.result.classes != 0)
    cells = grid_features(grid, columns, only=show)
    hexagons = hex_grid(projected.x, projected.y, cell_size=grid.cell_size, mask=mask, epsg=epsg)
    hex_spots = local_g(hexagons.counts, hexagons.contiguity(), fdr=True)
    hexagon_cells = grid_features(
        hexagons,
        {"z": np.round(hex_spots.z, 3), "class": hex_spots.classes},
        only=(hexagons.counts > 0) | (hex_spots.classes != 0),
    )
    outside = 0
    if area_set is not None and projected_areas is not None:
        counted = count_in_areas(
            projected.x,
            projected.y,
            projected_areas.geometries,
            denominator=population,
            per=PER_RESIDENTS,
        )
        outside = counted.outside
        shapes = shapely.simplify(area_set.geometries, 0.0001, preserve_topology=True)
        features = []
        for k, area_id in enumerate(area_set.ids):
            properties: dict[str, Any] = {
                "area_id": area_id,
                "name": str(area_set.names[k]).title(),
                "incidents": int(counted.counts[k]),
            }
            if population is not None and counted.rates is not None:
                properties["population"] = int(population[k])
                rate = counted.rates[k]
                properties["per_1000"] = round(float(rate), 2) if np.isfinite(rate) else None
            features.append(
                {
                    "type": "Feature",
                    "geometry": json.loads(shapely.to_geojson(shapes[k])),
                    "properties": properties,
                }
            )
        areas_layer = {"type": "FeatureCollection", "features": features}
    else:
        areas_layer = {"type": "FeatureCollection", "features": [_extent_feature(events)]}
    classes, class_counts = np.unique(spots.result.classes, return_counts=True)
    return {
        "source": key,
        "title": source.title,
        "offence": offence,
        "start": first,
        "end": last,
        "described": events.source,
        "incidents": events.rows,
        "dropped_rows": events.dropped,
        "epsg": epsg,
        "crs": projected.crs_name,
        "choices": spots.choices,
        "incremental_autocorrelation": spots.incremental,
        "cell_size": grid.cell_size,
        "distance_band": spots.distance_band,
        "permutations": permutations,
        "seed": seed,
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
        "dual_kde": change_summary,
        "crime_over_population": per_residents_summary,
        "hexagons": {
            "cell_size": hexagons.cell_size,
            "cells": hexagons.cells,
            "weights": "contiguity (six neighbours), Gi* with false discovery rate",
        },
        "base_layer": "areas" if area_set is not None else "extent",
        "area_set": None if area_set is None else area_set.name,
        "area_outside": outside,
        "cells": cells,
        "hexagon_cells": hexagon_cells,
        "areas": areas_layer,
        "points": np.round(np.column_stack([events.y, events.x]), 5).tolist(),
    }
