"""The bundled real event data sets that the web pages and the demo analyse.

Each entry names a file shipped in ``crimeprev/data/real`` and how to read it.
Reading is cached: the files are small and never change at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from crimeprev.errors import NotFoundError
from crimeprev.spatial.files import Events, bundled_path, read_events, read_table


@dataclass(frozen=True)
class BundledEvents:
    """A bundled event data set."""

    key: str
    title: str
    folder: str
    file: str
    epsg: int
    note: str


#: Event data sets for the near-repeat page, projected coordinates in metres.
NEAR_REPEAT_DATASETS: dict[str, BundledEvents] = {
    item.key: item
    for item in (
        BundledEvents(
            "chicago_burglary_jan2016",
            "Chicago residential burglary, January 2016 (970 events)",
            "chicago_near_repeat_2016",
            "chicago_be_month1.csv",
            26971,
            "the exact input of the Near Repeat Calculator reference run",
        ),
        BundledEvents(
            "chicago_burglary_2016",
            "Chicago residential burglary, 2016 (11,700 events)",
            "chicago_near_repeat_2016",
            "chicago_residential_burglary_2016.csv",
            26971,
            "one row without a date is dropped",
        ),
        BundledEvents(
            "chicago_arson_2016",
            "Chicago arson, 2016 (522 events)",
            "chicago_near_repeat_2016",
            "chicago_arson_2016.csv",
            26971,
            "the input of the NRC arson reference run",
        ),
    )
}


def near_repeat_events(key: str) -> Events:
    """Return a bundled near-repeat data set by key (events without a date dropped).

    Examples
    --------
    >>> near_repeat_events("chicago_burglary_2016").rows
    11700
    """
    if key not in NEAR_REPEAT_DATASETS:
        raise NotFoundError(
            f"unknown data set {key!r}; choose one of {sorted(NEAR_REPEAT_DATASETS)}"
        )
    return _read_near_repeat(key)


@lru_cache(maxsize=8)
def _read_near_repeat(key: str) -> Events:
    item = NEAR_REPEAT_DATASETS[key]
    return read_events(bundled_path(item.folder, item.file), need_date=True, drop_missing=True)


CHICAGO_ASSAULTS = ("chicago_aggravated_assaults_2010_2019", "incidents.parquet")
CHICAGO_AREAS = ("chicago_community_areas_population", "community_areas_pop_2000_2010.geojson")


@lru_cache(maxsize=1)
def chicago_assaults() -> pd.DataFrame:
    """Chicago aggravated assaults 2010-2019 (date, lon/lat) with a ``year`` column.

    Examples
    --------
    >>> frame = chicago_assaults()
    >>> int(frame.year.min()), int(frame.year.max())
    (2010, 2019)
    """
    frame = read_table(bundled_path(*CHICAGO_ASSAULTS))
    frame = frame.dropna(subset=["longitude", "latitude", "date"]).copy()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["year"] = frame["date"].dt.year.astype(np.int64)
    return frame.reset_index(drop=True)


def chicago_areas_geojson() -> str:
    """The 77 Chicago community areas with 2000 and 2010 population, as GeoJSON text."""
    return bundled_path(*CHICAGO_AREAS).read_text()
