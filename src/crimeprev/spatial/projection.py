"""Project longitude/latitude to a metric coordinate system, so distances are in metres.

The UTM zone is chosen from the data (the zone of the mean longitude, north or
south by the mean latitude) unless an EPSG code is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from crimeprev.errors import InvalidInputError
from crimeprev.spatial._common import as_float_array, same_length


@dataclass(frozen=True, eq=False)
class Projected:
    """Projected coordinates in metres with the coordinate system used."""

    x: np.ndarray
    y: np.ndarray
    epsg: int
    crs_name: str
    automatic: bool


def utm_epsg(longitude: float, latitude: float) -> int:
    """Return the EPSG code of the WGS 84 UTM zone containing a point.

    Examples
    --------
    >>> utm_epsg(-87.65, 41.85)  # Chicago: zone 16 north
    32616
    >>> utm_epsg(151.2, -33.9)  # Sydney: zone 56 south
    32756
    """
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        raise InvalidInputError(
            f"longitude/latitude out of range: ({longitude!r}, {latitude!r}); "
            "expected -180..180 and -90..90"
        )
    zone = min(int((longitude + 180) // 6) + 1, 60)
    return (32600 if latitude >= 0 else 32700) + zone


def _check_degrees(values: np.ndarray, name: str, limit: float) -> None:
    bad = np.flatnonzero(np.abs(values) > limit)
    if bad.size:
        raise InvalidInputError(
            f"{name} at position {int(bad[0])} is {values[bad[0]]!r}, "
            f"outside -{limit:g}..{limit:g}; "
            "are the coordinates already projected (then pass them as x/y)?",
            field=name,
            row=int(bad[0]),
        )


def project(longitude: Any, latitude: Any, *, epsg: int | None = None) -> Projected:
    """Project lon/lat (WGS 84) to metres: the automatic UTM zone or ``epsg``.

    Parameters
    ----------
    longitude, latitude : array-like
        Degrees (WGS 84).
    epsg : int, optional
        Target coordinate system; it must use metres.

    Returns
    -------
    Projected

    Raises
    ------
    InvalidInputError
        If a coordinate is missing or out of range, or ``epsg`` is unknown or not
        in metres.

    Examples
    --------
    >>> p = project([-87.6298, -87.6198], [41.8781, 41.8781])
    >>> p.epsg, round(float(p.x[1] - p.x[0]))
    (32616, 830)
    """
    lon = as_float_array(longitude, "longitude")
    lat = as_float_array(latitude, "latitude")
    same_length(longitude=lon, latitude=lat)
    _check_degrees(lon, "longitude", 180)
    _check_degrees(lat, "latitude", 90)
    if lon.size == 0:
        raise InvalidInputError("no coordinates to project")
    automatic = epsg is None
    code = utm_epsg(float(np.mean(lon)), float(np.mean(lat))) if epsg is None else int(epsg)
    try:
        crs = CRS.from_epsg(code)
    except CRSError as error:
        raise InvalidInputError(f"unknown EPSG code {code!r}: {error}") from error
    units = {axis.unit_name for axis in crs.axis_info}
    if not crs.is_projected or units - {"metre"}:
        raise InvalidInputError(
            f"EPSG:{code} ({crs.name}) is not a projected system in metres (units {units}); "
            "choose a metric one, e.g. the UTM zone, or omit epsg"
        )
    transformer = Transformer.from_crs(4326, code, always_xy=True)
    x, y = transformer.transform(lon, lat)
    return Projected(
        x=np.asarray(x), y=np.asarray(y), epsg=code, crs_name=crs.name, automatic=automatic
    )


def unproject(x: Any, y: Any, *, epsg: int) -> tuple[np.ndarray, np.ndarray]:
    """Return lon/lat (WGS 84) for metric coordinates in ``epsg``.

    Examples
    --------
    >>> p = project([-87.6298], [41.8781])
    >>> lon, lat = unproject(p.x, p.y, epsg=p.epsg)
    >>> round(float(lon[0]), 4), round(float(lat[0]), 4)
    (-87.6298, 41.8781)
    """
    transformer = Transformer.from_crs(int(epsg), 4326, always_xy=True)
    lon, lat = transformer.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon), np.asarray(lat)
