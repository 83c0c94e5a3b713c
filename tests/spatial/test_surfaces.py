"""Projection, grids, area counts, kernel density, forecast accuracy and geo outputs,
checked against values computed independently here (pyproj, shapely, numerical
integration, brute force)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from pyproj import Geod
from shapely.geometry import Point, box

from crimeprev.errors import DataFileError, InvalidInputError
from crimeprev.spatial.files import bundled_path, read_events
from crimeprev.spatial.forecast import forecast_accuracy
from crimeprev.spatial.geo import grid_features, read_areas, write_geoparquet
from crimeprev.spatial.grids import count_in_areas, hex_grid, square_grid
from crimeprev.spatial.kde import dual_kernel_density, kernel_bandwidth, kernel_density
from crimeprev.spatial.projection import project, utm_epsg


def test_projected_distances_match_geodesic_distances():
    lon = np.array([-87.70, -87.60, -87.65])
    lat = np.array([41.80, 41.85, 41.95])
    projected = project(lon, lat)
    assert projected.epsg == 32616 and projected.automatic
    geod = Geod(ellps="WGS84")
    _, _, metres = geod.inv(np.full(2, lon[0]), np.full(2, lat[0]), lon[1:], lat[1:])
    planar = np.hypot(projected.x[1:] - projected.x[0], projected.y[1:] - projected.y[0])
    assert_allclose(planar, metres, rtol=1e-3)  # UTM scale error < 0.1% near the meridian


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [(-123.1, 49.25, 32610), (-122.42, 37.77, 32610), (18.4, -33.9, 32734)],
    ids=["vancouver", "san-francisco", "cape-town"],
)
def test_utm_zones(lon, lat, epsg):
    assert utm_epsg(lon, lat) == epsg


def test_projection_errors():
    with pytest.raises(InvalidInputError, match="latitude at position 1"):
        project([0, 0], [10, 95])
    with pytest.raises(InvalidInputError, match="not a projected system in metres"):
        project([0], [0], epsg=4326)


@settings(max_examples=30, deadline=None)
@given(
    points=st.lists(st.tuples(st.floats(0, 999), st.floats(0, 999)), min_size=1, max_size=60),
    size=st.sampled_from([50.0, 137.0, 400.0]),
)
def test_grids_keep_every_event(points, size):
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    square = square_grid(x, y, cell_size=size)
    assert square.counts.sum() == len(points) and square.outside == 0
    hexes = hex_grid(x, y, cell_size=size)
    assert hexes.counts.sum() == len(points)
    # Each event lies in the hexagon whose centre is nearest (the hexagon's definition);
    # events on a shared edge or corner may go to either hexagon.
    distance = np.hypot(hexes.x[None, :] - x[:, None], hexes.y[None, :] - y[:, None])
    ordered = np.sort(distance, axis=1)
    assume(ordered.shape[1] < 2 or np.all(ordered[:, 1] - ordered[:, 0] > 1e-6))
    nearest = np.argmin(distance, axis=1)
    assert_allclose(np.bincount(nearest, minlength=hexes.cells), hexes.counts)


def test_square_cells_contain_their_events_and_mask_drops_outside():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1000, 500), rng.uniform(0, 1000, 500)
    grid = square_grid(x, y, cell_size=100)
    cells = [box(cx - 50, cy - 50, cx + 50, cy + 50) for cx, cy in zip(grid.x, grid.y, strict=True)]
    for k in (0, 13, 57):
        inside = shapely.contains_xy(cells[k], x, y) | shapely.intersects_xy(cells[k], x, y)
        assert grid.counts[k] == inside.sum()
    masked = square_grid(x, y, cell_size=100, mask=Point(500, 500).buffer(300))
    assert masked.cells < grid.cells
    assert masked.counts.sum() + masked.outside == 500


def test_count_in_areas_and_rates_against_chicago_areas():
    areas = read_areas(
        bundled_path("chicago_community_areas_population", "community_areas_pop_2000_2010.geojson")
    )
    centroids = [geometry.representative_point() for geometry in areas.geometries]
    x = np.array([point.x for point in centroids] * 2)
    y = np.array([point.y for point in centroids] * 2)
    population = [feature["POP2010"] for feature in areas.properties]
    result = count_in_areas(x, y, areas.geometries, denominator=population)
    assert result.counts.tolist() == [2] * 77
    assert_allclose(result.rates, 2 / np.array(population) * 100_000)


def test_kernel_density_integrates_to_the_number_of_events():
    rng = np.random.default_rng(1)
    x, y = rng.normal(5000, 300, 200), rng.normal(5000, 300, 200)
    step = 25.0
    gx, gy = np.meshgrid(np.arange(2500, 7500, step), np.arange(2500, 7500, step))
    for kernel in ("quartic", "gaussian"):
        surface = kernel_density(x, y, gx.ravel(), gy.ravel(), bandwidth=250, kernel=kernel)
        total = surface.density.sum() * (step / 1000) ** 2  # events per km^2 x km^2
        assert total == pytest.approx(200, rel=0.01)


def test_kernel_density_at_one_point_by_hand():
    surface = kernel_density([0, 300], [0, 400], [0.0], [0.0], bandwidth=1000, kernel="gaussian")
    by_hand = (1 + np.exp(-0.5 * 0.25)) / (2 * np.pi * 1000**2) * 1e6
    assert surface.density[0] == pytest.approx(by_hand)


def test_bandwidth_rule_and_dual_kde():
    rng = np.random.default_rng(2)
    x, y = rng.normal(0, 500, 300), rng.normal(0, 500, 300)
    h, rule = kernel_bandwidth(x, y)
    distance = np.hypot(x - x.mean(), y - y.mean())
    by_hand = 0.9 * min(np.sqrt(np.mean(distance**2)), np.sqrt(1 / np.log(2)) * np.median(distance))
    assert h == pytest.approx(by_hand * 300**-0.2) and "n = 300" in rule
    dual = dual_kernel_density(
        np.r_[x, x], np.r_[y, y], x, y, np.array([0.0, 5000.0]), np.array([0.0, 5000.0])
    )
    assert dual.ratio[0] == pytest.approx(2.0) and np.isnan(dual.ratio[1])


def test_forecast_accuracy_by_hand():
    scores = np.array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0], dtype=float)
    later = np.array([5, 0, 3, 0, 0, 1, 0, 0, 1, 0], dtype=float)
    earlier = np.array([4, 2, 2, 1, 0, 0, 0, 1, 0, 0], dtype=float)
    result = forecast_accuracy(scores, later, training=earlier, coverages=[0.1, 0.3])
    first, second = result.table
    assert (first["hits"], first["hit_rate"], first["pai"], first["pei"]) == (5, 0.5, 5.0, 1.0)
    assert first["rri"] == pytest.approx((5 / 4) / (10 / 10))
    assert second["hits"] == 8 and second["pai"] == pytest.approx(0.8 / 0.3)
    assert second["pei"] == pytest.approx(8 / 9)  # best three cells hold 5 + 3 + 1
    assert result.coverage[-1] == pytest.approx(1.0) and result.pai[-1] == pytest.approx(1.0)
    with pytest.raises(InvalidInputError, match="no events"):
        forecast_accuracy(scores, np.zeros(10))


def test_geojson_and_geoparquet_outputs(tmp_path):
    grid = square_grid([447000.0, 447150.0], [4636000.0, 4636000.0], cell_size=100, epsg=32616)
    body = grid_features(grid, {"z": np.array([1.0, np.nan])})
    lon, lat = body["features"][0]["geometry"]["coordinates"][0][0]
    assert -88 < lon < -87 and 41 < lat < 42
    assert body["features"][1]["properties"]["z"] is None
    table = pq.read_table(write_geoparquet(tmp_path / "cells.parquet", grid, {"z": np.ones(2)}))
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["columns"]["geometry"]["crs"]["id"]["code"] == 32616
    polygon = shapely.from_wkb(table.column("geometry")[0].as_py())
    assert polygon.area == pytest.approx(100 * 100)


def test_read_events_reports_file_row_and_field(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("X,Y,date\n1,2,2016-01-01\n3,abc,2016-01-02\n")
    with pytest.raises(DataFileError, match=r"row 3.*field 'Y'.*'abc'"):
        read_events(path)
    path.write_text("longitude,latitude,date\n-87.6,41.8,2016-01-01\n-87.6,41.8,someday\n")
    with pytest.raises(DataFileError, match=r"row 3.*field 'date'.*'someday'"):
        read_events(path, need_date=True)
    path.write_text("longitude,latitude,date\n-87.6,41.8,2016-01-01\n-87.7,41.9,\n")
    events = read_events(path, need_date=True, drop_missing=True)
    assert events.geographic and events.rows == 1 and events.dropped == 1


def test_read_events_builds_dates_and_rejects_placeholder_locations(tmp_path):
    path = tmp_path / "vancouver_like.csv"
    path.write_text(
        "TYPE,YEAR,MONTH,DAY,X,Y\n"
        "Mischief,2020,6,19,491059.5,5459122.4\n"
        "Offence Against a Person,2020,1,3,0,0\n"
        "Theft,2020,2,29,491070.0,5459130.0\n"
    )
    with pytest.raises(DataFileError, match=r"row 3.*placeholder location \(0, 0\)"):
        read_events(path, need_date=True)
    events = read_events(path, need_date=True, drop_missing=True)
    assert events.rows == 2 and events.dropped == 1
    assert [str(t)[:10] for t in events.times] == ["2020-06-19", "2020-02-29"]
