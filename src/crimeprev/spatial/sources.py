"""The real sources the map and near-repeat pages can analyse, and how to read them.

Three sources come from the warehouse (loaded by ``crimeprev stats load-bundled``
or ``crimeprev demo build``) through :mod:`crimeprev.spatial.warehouse`: Chicago
aggravated assaults, Vancouver 2020 and San Francisco 2012. The Chicago 2016
residential burglaries have no source profile (they are the Near Repeat
Calculator's input), so they are read from their bundled file. Every source is
returned as lon/lat events, so the pages treat them alike.

Each source names the warehouse area set whose boundaries form the map's base
layer (San Francisco's police districts have no boundaries: the map then falls
back to the points' extent) and whether the warehouse holds area populations
(only the Chicago community areas do).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyproj import Transformer

from crimeprev.errors import InvalidInputError, NotFoundError
from crimeprev.spatial.files import Events
from crimeprev.store.warehouse import Warehouse


@dataclass(frozen=True)
class MapSource:
    """A source the spatial pages can show.

    ``start`` and ``end`` are the default period (end exclusive); ``knox_offence``
    the default offence filter of the near-repeat table (near repeats are a
    property of burglary above all).
    """

    key: str
    title: str
    start: str
    end: str
    area_set: str | None = None
    population: bool = False
    knox_offence: str | None = None
    #: (folder, file, EPSG) of a bundled projected file read instead of the warehouse.
    bundled: tuple[str, str, int] | None = None


MAP_SOURCES: dict[str, MapSource] = {
    item.key: item
    for item in (
        MapSource(
            "chicago_assaults",
            "Chicago aggravated assaults 2010-2019",
            "2019-01-01",
            "2020-01-01",
            area_set="chicago_community_areas",
            population=True,
        ),
        MapSource(
            "chicago_burglary_2016",
            "Chicago residential burglaries 2016",
            "2016-01-01",
            "2017-01-01",
            area_set="chicago_community_areas",
            population=True,
            bundled=("chicago_near_repeat_2016", "chicago_residential_burglary_2016.csv", 26971),
        ),
        MapSource(
            "vancouver_2020",
            "Vancouver police-recorded crime 2020",
            "2020-01-01",
            "2021-01-01",
            area_set="vancouver_local_areas",
            knox_offence="break and enter residential",
        ),
        MapSource(
            "sf_2012",
            "San Francisco incidents July-December 2012",
            "2012-07-01",
            "2013-01-01",
            knox_offence="robbery",
        ),
    )
}


def map_source(key: str) -> MapSource:
    """Return a map source by key, or raise NotFoundError naming the choices.

    Examples
    --------
    >>> map_source("sf_2012").area_set is None
    True
    """
    if key not in MAP_SOURCES:
        raise NotFoundError(f"unknown source {key!r}; choose one of {', '.join(MAP_SOURCES)}")
    return MAP_SOURCES[key]


def _moment(value: str, name: str) -> np.datetime64:
    try:
        return np.datetime64(value, "s")
    except ValueError as error:
        raise InvalidInputError(
            f"{name} must be a date such as 2019-01-01, got {value!r}", field=name
        ) from error


def previous_period(start: str, end: str) -> tuple[str, str]:
    """The period of the same length just before ``start`` (for year-on-year maps).

    Examples
    --------
    >>> previous_period("2019-01-01", "2020-01-01")
    ('2018-01-01', '2019-01-01')
    """
    first, last = _moment(start, "start"), _moment(end, "end")
    if last <= first:
        raise InvalidInputError(f"end {end} must be after start {start}", field="end")
    # Whole years stay whole years (2020 has 366 days, 2019 365).
    if start[4:] == end[4:] and len(start) == len(end) == 10:
        years = int(end[:4]) - int(start[:4])
        return f"{int(start[:4]) - years:04d}{start[4:]}", start
    days = (last - first).astype("timedelta64[D]").astype(int)
    before = (first - np.timedelta64(int(days), "D")).astype("datetime64[D]")
    return str(before), start


def _bundled_events(source: MapSource, offence: str | None, start: str, end: str) -> Events:
    from crimeprev.spatial.files import bundled_path, read_events

    assert source.bundled is not None  # only called for bundled sources
    folder, name, epsg = source.bundled
    if offence:
        raise InvalidInputError(
            f"{source.title} holds one offence only; leave the offence filter empty",
            field="offence",
        )
    events = read_events(bundled_path(folder, name), need_date=True, drop_missing=True)
    assert events.times is not None  # need_date=True
    times = events.times.astype("datetime64[s]")
    keep = (times >= _moment(start, "start")) & (times < _moment(end, "end"))
    described = f"bundled file {folder}/{name}, {start} to {end}"
    if not keep.any():
        raise InvalidInputError(f"no incidents in {described}")
    to_lonlat = Transformer.from_crs(epsg, 4326, always_xy=True)
    lon, lat = to_lonlat.transform(events.x[keep], events.y[keep])
    return Events(
        x=np.asarray(lon, dtype=float),
        y=np.asarray(lat, dtype=float),
        times=times[keep],
        geographic=True,
        source=described,
        rows=int(keep.sum()),
        dropped=events.dropped,
    )


def read_map_events(
    warehouse: Warehouse,
    key: str,
    *,
    offence: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Events:
    """Read a map source's incidents (lon/lat) for a period, optionally one offence.

    Parameters
    ----------
    warehouse : Warehouse
        An open warehouse (not read for the bundled burglary file).
    key : str
        One of :data:`MAP_SOURCES`.
    offence : str, optional
        ICCS code prefix or text of the offence label (see
        :func:`crimeprev.spatial.warehouse.read_source_events`).
    start, end : str, optional
        ISO dates, end exclusive; the source's default period when not given.

    Raises
    ------
    NotFoundError
        If the source is unknown or not loaded into the warehouse.
    InvalidInputError
        If a date is unreadable or no incident is left after the filters.
    """
    from crimeprev.spatial.warehouse import read_source_events

    source = map_source(key)
    first = start or source.start
    last = end or source.end
    if _moment(last, "end") <= _moment(first, "start"):
        raise InvalidInputError(f"end {last} must be after start {first}", field="end")
    if source.bundled is not None:
        return _bundled_events(source, offence, first, last)
    return read_source_events(warehouse, key, offence=offence, start=first, end=last)


def import_state(warehouse: Warehouse) -> tuple[int, str]:
    """Number of imports and the time of the last one: changes whenever data are loaded.

    Cached results keyed on this state are recomputed after an import, never before.
    """
    log = warehouse.table("import_log")
    row = warehouse.to_arrow(log.aggregate(n=log.count(), last=log.finished_at.max()))
    values = row.to_pylist()[0]
    return int(values["n"]), str(values["last"])


def area_populations(warehouse: Warehouse, area_set: str) -> tuple[int, dict[str, float]]:
    """The latest year the warehouse holds for the set, and each area's total population then."""
    table = warehouse.table("population")
    rows = table.filter(
        (table.area_set == area_set) & (table.sex == "Total") & (table.age_band == "Total")
    )
    frame = warehouse.to_arrow(rows.select("area_id", "year", "population")).to_pandas()
    if frame.empty:
        raise NotFoundError(f"no populations for area set {area_set!r} in the warehouse")
    year = int(frame["year"].max())
    latest = frame[frame["year"] == year]
    pairs = zip(latest["area_id"], latest["population"], strict=True)
    return year, {str(k): float(v) for k, v in pairs}
