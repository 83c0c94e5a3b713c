"""Geometry in and out: read area polygons from GeoJSON, reproject them, and write
grids with their results as GeoJSON or GeoParquet (WKB geometry with the ``geo``
metadata of the GeoParquet 1.0 specification).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon, shape

from crimeprev.errors import DataFileError
from crimeprev.spatial.grids import Grid


@dataclass(frozen=True, eq=False)
class Areas:
    """Polygons with their properties (lon/lat unless projected)."""

    geometries: list[Any]
    properties: list[dict[str, Any]]
    epsg: int

    def union(self) -> Any:
        """The union of all polygons (e.g. a city boundary for masking grids)."""
        return shapely.union_all(np.asarray(self.geometries, dtype=object))

    def to_epsg(self, epsg: int) -> Areas:
        """Reproject the polygons (always_xy order).

        Examples
        --------
        >>> from shapely.geometry import box
        >>> areas = Areas([box(-87.7, 41.8, -87.6, 41.9)], [{}], 4326).to_epsg(32616)
        >>> round(areas.geometries[0].area / 1e6)  # km^2
        92
        """
        transformer = Transformer.from_crs(self.epsg, epsg, always_xy=True)

        def move(points: np.ndarray) -> np.ndarray:
            x, y = transformer.transform(points[:, 0], points[:, 1])
            return np.column_stack([x, y])

        moved = [shapely.transform(geometry, move) for geometry in self.geometries]
        return Areas(moved, self.properties, epsg)


def read_areas(path: str | Path) -> Areas:
    """Read polygons and properties from a GeoJSON FeatureCollection (lon/lat).

    Examples
    --------
    >>> from crimeprev.spatial.files import bundled_path
    >>> areas = read_areas(bundled_path("chicago_community_areas_population",
    ...                                 "community_areas_pop_2000_2010.geojson"))
    >>> len(areas.geometries), areas.properties[0]["community"]
    (77, 'DOUGLAS')
    """
    text = str(path)
    try:
        body = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise DataFileError(f"cannot read GeoJSON: {error}", file=text) from error
    if body.get("type") != "FeatureCollection":
        raise DataFileError(
            "not a GeoJSON FeatureCollection",
            file=text,
            value=body.get("type"),
            expected="FeatureCollection",
        )
    geometries, properties = [], []
    for number, feature in enumerate(body.get("features", []), start=1):
        try:
            geometry = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise DataFileError(
                f"feature has no valid geometry: {error}",
                file=text,
                row=number,
                field="geometry",
            ) from error
        geometries.append(geometry)
        properties.append(dict(feature.get("properties") or {}))
    return Areas(geometries, properties, 4326)


def _cell_rings(grid: Grid, to_lonlat: bool) -> np.ndarray:
    """Cell outlines as an array (cells, corners, 2), in lon/lat when asked."""
    rings = np.asarray(grid.polygons(), dtype=float).reshape(grid.cells, -1, 2)
    if to_lonlat and grid.epsg is not None and rings.size:
        transformer = Transformer.from_crs(grid.epsg, 4326, always_xy=True)
        lon, lat = transformer.transform(rings[..., 0].ravel(), rings[..., 1].ravel())
        rings = np.stack([lon, lat], axis=-1).reshape(rings.shape)
    return rings


def _cell_polygons(grid: Grid, to_lonlat: bool) -> list[Polygon]:
    return [Polygon(ring) for ring in _cell_rings(grid, to_lonlat)]


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def grid_features(
    grid: Grid,
    columns: dict[str, np.ndarray] | None = None,
    *,
    to_lonlat: bool = True,
    only: np.ndarray | None = None,
) -> dict[str, Any]:
    """Return the grid as a GeoJSON FeatureCollection with ``count`` and ``columns``.

    Parameters
    ----------
    grid : Grid
    columns : dict of str to numpy.ndarray, optional
        Extra per-cell properties (z-scores, classes, densities...).
    to_lonlat : bool, default=True
        Reproject to lon/lat (GeoJSON's coordinate system) when the grid has an EPSG code.
    only : numpy.ndarray of bool, optional
        Keep only these cells.

    Examples
    --------
    >>> from crimeprev.spatial.grids import square_grid
    >>> grid = square_grid([5, 15], [5, 5], cell_size=10)
    >>> body = grid_features(grid, {"z": np.array([1.5, -0.5])})
    >>> body["features"][0]["properties"], body["features"][0]["geometry"]["type"]
    ({'count': 1, 'z': 1.5}, 'Polygon')
    """
    rings = np.round(_cell_rings(grid, to_lonlat), 6 if to_lonlat else 2).tolist()
    extra = columns or {}
    keep = np.ones(grid.cells, dtype=bool) if only is None else np.asarray(only, dtype=bool)
    features = []
    for k in np.flatnonzero(keep):
        properties = {"count": int(grid.counts[k])}
        properties.update({name: _plain(values[k]) for name, values in extra.items()})
        geometry = {"type": "Polygon", "coordinates": [rings[k]]}
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def write_geojson(path: str | Path, body: dict[str, Any]) -> Path:
    """Write a GeoJSON FeatureCollection."""
    target = Path(path)
    target.write_text(json.dumps(body))
    return target


def write_geoparquet(
    path: str | Path, grid: Grid, columns: dict[str, np.ndarray] | None = None
) -> Path:
    """Write the grid cells (projected coordinates) with their columns as GeoParquet 1.0.

    Examples
    --------
    >>> import tempfile, pyarrow.parquet as pq
    >>> from crimeprev.spatial.grids import square_grid
    >>> grid = square_grid([5, 15], [5, 5], cell_size=10, epsg=32616)
    >>> target = write_geoparquet(Path(tempfile.mkdtemp()) / "cells.parquet", grid)
    >>> table = pq.read_table(target)
    >>> table.column_names, json.loads(table.schema.metadata[b"geo"])["primary_column"]
    (['count', 'geometry'], 'geometry')
    """
    polygons = _cell_polygons(grid, to_lonlat=False)
    data: dict[str, Any] = {"count": pa.array(grid.counts.astype(np.int64))}
    for name, values in (columns or {}).items():
        data[name] = pa.array(np.asarray(values))
    data["geometry"] = pa.array(
        shapely.to_wkb(np.asarray(polygons, dtype=object)).tolist(), type=pa.binary()
    )
    table = pa.table(data)
    crs = None
    if grid.epsg is not None:
        from pyproj import CRS

        crs = CRS.from_epsg(grid.epsg).to_json_dict()
    bounds = shapely.total_bounds(np.asarray(polygons, dtype=object)).tolist() if polygons else []
    geo = {
        "version": "1.0.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": ["Polygon"],
                "crs": crs,
                "bbox": bounds,
            }
        },
    }
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"geo": json.dumps(geo).encode()}
    )
    target = Path(path)
    pq.write_table(table, target)
    return target
