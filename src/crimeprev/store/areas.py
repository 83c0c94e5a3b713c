"""Areas (boundaries) and populations, and point-in-polygon assignment.

Boundaries come from GeoJSON, GeoPackage or shapefile and are stored as WKT in
EPSG:4326 in the ``area`` table; populations by area and year (and sex and
age band where given) go to ``population``. :func:`assign_points` gives each
point the area whose polygon contains it, vectorised with a Shapely 2
STRtree over all points at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from crimeprev.errors import DataFileError
from crimeprev.store.warehouse import Warehouse


@dataclass(frozen=True)
class AreaSet:
    """Boundaries of one area set: ids, names and polygons (EPSG:4326)."""

    name: str
    ids: tuple[str, ...]
    names: tuple[str, ...]
    geometries: np.ndarray  # Shapely geometries, one per id

    def to_arrow(self, *, level: str = "", parent_ids: list[str | None] | None = None) -> pa.Table:
        """The areas in the layout of the ``area`` table."""
        count = len(self.ids)
        wkt = shapely.to_wkt(self.geometries, rounding_precision=6)
        return pa.table(
            {
                "area_set": [self.name] * count,
                "area_id": list(self.ids),
                "name": list(self.names),
                "level": [level] * count,
                "parent_id": pa.array(parent_ids or [None] * count, pa.string()),
                "geometry_wkt": pa.array([None if g is None else str(g) for g in wkt], pa.string()),
            }
        )


def id_text(value: Any) -> str:
    """Area ids as text; GeoJSON numbers like 25.0 become "25"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_boundaries(
    path: Path, *, area_set: str, id_field: str, name_field: str | None = None
) -> AreaSet:
    """Read boundaries; features sharing an id are merged into one area.

    GeoJSON is read directly; GeoPackage and shapefile through GeoPandas
    (pyogrio), reprojected to EPSG:4326.

    Raises
    ------
    DataFileError
        If the file is missing or a feature lacks the id field.
    """
    if not path.exists():
        raise DataFileError("no such file", file=str(path))
    records: list[tuple[str, str, Any]] = []
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise DataFileError(
                f"not valid JSON: {error.msg}", file=str(path), row=error.lineno
            ) from error
        features = data.get("features")
        if not isinstance(features, list):
            raise DataFileError(
                "no 'features' list", file=str(path), expected="a GeoJSON FeatureCollection"
            )
        for number, feature in enumerate(features, start=1):
            props = feature.get("properties") or {}
            if props.get(id_field) is None:
                raise DataFileError(
                    "feature lacks the id field", file=str(path), row=number, field=id_field
                )
            geometry = shapely.from_geojson(json.dumps(feature.get("geometry")))
            name = props.get(name_field) if name_field else None
            records.append((id_text(props[id_field]), str(name or props[id_field]), geometry))
    else:
        import geopandas

        frame = geopandas.read_file(path)
        if id_field not in frame.columns:
            raise DataFileError(
                "missing id field",
                file=str(path),
                field=id_field,
                expected=str(list(frame.columns)),
            )
        if frame.crs is not None:
            frame = frame.to_crs(4326)
        for _, row in frame.iterrows():
            name = row[name_field] if name_field else row[id_field]
            records.append((id_text(row[id_field]), str(name), row.geometry))
    merged: dict[str, tuple[str, list[Any]]] = {}
    for area_id, name, geometry in records:
        merged.setdefault(area_id, (name, []))[1].append(geometry)
    ids = tuple(merged)
    geometries = np.array(
        [shapely.union_all(parts) if len(parts) > 1 else parts[0] for _, parts in merged.values()],
        dtype=object,
    )
    return AreaSet(area_set, ids, tuple(name for name, _ in merged.values()), geometries)


def assign_points(areas: AreaSet, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Return, for each point, the id of the area containing it (None outside all).

    A point on a shared border goes to the first area in file order.

    Examples
    --------
    >>> square = shapely.box(0, 0, 1, 1)
    >>> areas = AreaSet("demo", ("a", "b"), ("A", "B"), np.array([square, shapely.box(1, 0, 2, 1)]))
    >>> assign_points(areas, np.array([0.5, 1.5, 5.0]), np.array([0.5, 0.5, 5.0])).tolist()
    ['a', 'b', None]
    """
    result = np.full(len(lon), None, dtype=object)
    valid = ~(np.isnan(lon) | np.isnan(lat))
    if not valid.any():
        return result
    points = shapely.points(lon[valid], lat[valid])
    tree = shapely.STRtree(areas.geometries)
    point_index, area_index = tree.query(points, predicate="intersects")
    # Keep the first area per point (lowest area index).
    order = np.lexsort((area_index, point_index))
    point_index, area_index = point_index[order], area_index[order]
    first = np.ones(len(point_index), dtype=bool)
    first[1:] = point_index[1:] != point_index[:-1]
    ids = np.array(areas.ids, dtype=object)
    valid_positions = np.flatnonzero(valid)
    result[valid_positions[point_index[first]]] = ids[area_index[first]]
    return result


def store_areas(warehouse: Warehouse, areas: AreaSet, *, level: str = "") -> int:
    """Replace the area set in the ``area`` table; return the number of areas."""
    safe = areas.name.replace("'", "''")
    with warehouse.transaction():
        warehouse.execute_sql(f"DELETE FROM area WHERE area_set = '{safe}'")
        warehouse.insert("area", areas.to_arrow(level=level))
    return len(areas.ids)


def load_area_set(warehouse: Warehouse, area_set: str) -> AreaSet:
    """Read an area set back from the warehouse (with geometries)."""
    table = warehouse.table("area")
    rows = warehouse.to_arrow(
        table.filter(table.area_set == area_set).select("area_id", "name", "geometry_wkt")
    ).to_pydict()
    geometries = shapely.from_wkt(np.array(rows["geometry_wkt"], dtype=object))
    return AreaSet(area_set, tuple(rows["area_id"]), tuple(rows["name"]), geometries)


def store_population(
    warehouse: Warehouse,
    *,
    area_set: str,
    area_ids: list[str],
    years: list[int],
    populations: list[float],
    source: str,
    sexes: list[str] | None = None,
    age_bands: list[str] | None = None,
) -> int:
    """Replace a source's population rows for an area set.

    Raises
    ------
    DataFileError
        If the lists differ in length or a population is negative or missing.
    """
    count = len(area_ids)
    if not (len(years) == len(populations) == count):
        raise DataFileError("area ids, years and populations differ in length")
    for position, value in enumerate(populations, start=1):
        if value is None or not np.isfinite(value) or value < 0:
            raise DataFileError(
                "population must be a number >= 0",
                row=position,
                field="population",
                value=value,
                expected=">= 0",
            )
    table = pa.table(
        {
            "area_set": [area_set] * count,
            "area_id": [str(a) for a in area_ids],
            "year": pa.array(years, pa.int32()),
            "sex": sexes or ["Total"] * count,
            "age_band": age_bands or ["Total"] * count,
            "population": pa.array(populations, pa.float64()),
            "source": [source] * count,
        }
    )
    safe_set = area_set.replace("'", "''")
    safe_source = source.replace("'", "''")
    with warehouse.transaction():
        warehouse.execute_sql(
            f"DELETE FROM population WHERE area_set = '{safe_set}' AND source = '{safe_source}'"
        )
        warehouse.insert("population", table)
    return count


def area_geojson(
    warehouse: Warehouse, area_set: str, *, simplify: float = 0.0001
) -> dict[str, Any]:
    """The boundaries of an area set as a GeoJSON FeatureCollection (EPSG:4326).

    Polygons are simplified (tolerance in degrees, topology kept) so a web map
    of a city's areas stays small; ``simplify=0`` keeps them as stored. Each
    feature's properties are ``area_id`` and ``name``.

    Raises
    ------
    NotFoundError
        If the warehouse has no boundaries for the area set.
    """
    from crimeprev.errors import NotFoundError

    table = warehouse.table("area")
    frame = warehouse.to_arrow(
        table.filter((table.area_set == area_set) & table.geometry_wkt.notnull()).select(
            "area_id", "name", "geometry_wkt"
        )
    ).to_pandas()
    if frame.empty:
        raise NotFoundError(f"no boundaries for area set {area_set!r}")
    shapes = shapely.from_wkt(frame["geometry_wkt"].to_numpy())
    if simplify > 0:
        shapes = shapely.simplify(shapes, simplify, preserve_topology=True)
    features = [
        {
            "type": "Feature",
            "id": str(area_id),
            "properties": {"area_id": str(area_id), "name": name},
            "geometry": json.loads(shapely.to_geojson(shape)),
        }
        for area_id, name, shape in zip(frame["area_id"], frame["name"], shapes, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def has_boundaries(warehouse: Warehouse, area_set: str) -> bool:
    """Whether the warehouse holds at least one boundary of the area set."""
    table = warehouse.table("area")
    rows = table.filter((table.area_set == area_set) & table.geometry_wkt.notnull()).limit(1)
    return warehouse.to_arrow(rows.select("area_id")).num_rows > 0
