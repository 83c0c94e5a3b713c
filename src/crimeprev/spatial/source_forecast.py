"""Forecast accuracy of hot spots on a warehouse source: the cells ranked by the
incidents of one period (counts or kernel density) are scored on the next.

The study area is the source's area boundaries where the warehouse has them
(the grid keeps only cells inside), else the extent of both periods' incidents,
as for the map (:mod:`crimeprev.spatial.source_map`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from crimeprev.errors import InvalidInputError
from crimeprev.spatial.sources import map_source, read_map_events
from crimeprev.store.warehouse import Warehouse

#: Grid cell size (metres) and KDE bandwidth of the forecast, as on the Chicago page.
CELL_SIZE = 250.0
BANDWIDTH = 400.0
COVERAGES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def middle_date(start: str, end: str) -> str:
    """The day halfway through a period (the default split of training and test).

    Examples
    --------
    >>> middle_date("2020-01-01", "2021-01-01")
    '2020-07-02'
    """
    first, last = np.datetime64(start, "D"), np.datetime64(end, "D")
    return str(first + (last - first) // 2)


def source_forecast(
    warehouse: Warehouse,
    key: str,
    *,
    offence: str | None = None,
    start: str | None = None,
    split: str | None = None,
    end: str | None = None,
    method: str = "counts",
) -> dict[str, Any]:
    """Hit rate, PAI, PEI and RRI of the hot spots of [start, split) on [split, end).

    Parameters
    ----------
    warehouse : Warehouse
        An open warehouse holding the source.
    key : str
        Source key (:data:`crimeprev.spatial.sources.MAP_SOURCES`).
    offence : str, optional
        ICCS code prefix or offence label text.
    start, split, end : str, optional
        ISO dates; the source's default period split in the middle when not given.
    method : {"counts", "kde"}
        Rank the cells by the training period's counts or its quartic density.

    Raises
    ------
    InvalidInputError
        If the method is unknown, the dates are out of order, or a period is empty.
    """
    from crimeprev.spatial.forecast import forecast_accuracy
    from crimeprev.spatial.geo import Areas
    from crimeprev.spatial.grids import square_grid
    from crimeprev.spatial.kde import kernel_density
    from crimeprev.spatial.projection import project
    from crimeprev.store.areas import has_boundaries, load_area_set

    if method not in ("counts", "kde"):
        raise InvalidInputError(f"method must be 'counts' or 'kde', got {method!r}")
    source = map_source(key)
    first, last = start or source.start, end or source.end
    middle = split or middle_date(first, last)
    if not np.datetime64(first, "D") < np.datetime64(middle, "D") < np.datetime64(last, "D"):
        raise InvalidInputError(
            f"split {middle} must lie strictly between start {first} and end {last}",
            field="split",
        )
    training = read_map_events(warehouse, key, offence=offence, start=first, end=middle)
    test = read_map_events(warehouse, key, offence=offence, start=middle, end=last)
    projected = project(np.concatenate([training.x, test.x]), np.concatenate([training.y, test.y]))
    before = np.arange(projected.x.size) < training.rows
    mask = None
    if source.area_set and has_boundaries(warehouse, source.area_set):
        area_set = load_area_set(warehouse, source.area_set)
        lonlat = Areas(list(area_set.geometries), [{} for _ in area_set.ids], 4326)
        mask = lonlat.to_epsg(projected.epsg).union()
    bounds = (projected.x.min(), projected.y.min(), projected.x.max(), projected.y.max())
    earlier = square_grid(
        projected.x[before], projected.y[before], cell_size=CELL_SIZE, mask=mask, bounds=bounds
    )
    later = square_grid(
        projected.x[~before], projected.y[~before], cell_size=CELL_SIZE, mask=mask, bounds=bounds
    )
    if method == "kde":
        scores = kernel_density(
            projected.x[before], projected.y[before], earlier.x, earlier.y, bandwidth=BANDWIDTH
        ).density
    else:
        scores = earlier.counts.astype(float)
    result = forecast_accuracy(scores, later.counts, training=earlier.counts, coverages=COVERAGES)
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
        "source": key,
        "title": source.title,
        "offence": offence,
        "training": {"start": first, "end": middle, "events": training.rows},
        "test": {"start": middle, "end": last, "events": int(result.events)},
        "method": method,
        "method_note": (
            "cells ranked by the earlier period's count"
            if method == "counts"
            else f"cells ranked by the earlier period's quartic kernel density, bandwidth "
            f"{BANDWIDTH:g} m"
        ),
        "study_area": "area boundaries" if mask is not None else "extent of the incidents",
        "cell_size": CELL_SIZE,
        "cells": result.cells,
        "ties": result.ties,
        "outside_study_area": int(later.outside),
        "table": result.table,
        "curve": curve,
    }
