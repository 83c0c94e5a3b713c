"""The map and Knox pages on warehouse sources (Vancouver 2020, Chicago assaults,
San Francisco 2012) and the bundled Chicago 2016 burglaries. Expected values are
computed here from the bundled files with pandas, pyproj and Shapely, not by
the code under test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import shape

from crimeprev.config import Settings
from crimeprev.spatial.near_repeat import knox_test_nrc
from crimeprev.store import open_warehouse
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import load_profile
from crimeprev.web.app import create_app

REAL = Path(__file__).parents[2] / "src/crimeprev/data/real"
VANCOUVER_BOX = (480000, 5445000, 502000, 5465000)  # the vancouver_2020 profile's box


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A data directory whose warehouse holds the bundled areas and three sources."""
    from crimeprev.store.bundled import load_bundled_areas

    settings = Settings(data_dir=tmp_path_factory.mktemp("sources") / "data", secret_key="k")
    settings.ensure_data_dir()
    warehouse = open_warehouse(settings.warehouse_url)
    list(load_bundled_areas(warehouse))
    for name in ("vancouver_2020", "chicago_assaults", "sf_2012"):
        profile = load_profile(name)
        for path in profile.bundled_paths():
            import_file(warehouse, profile, path)
    warehouse.close()
    return settings.data_dir


@pytest.fixture(scope="module")
def client(data_dir) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=data_dir, secret_key="k"))) as test_client:
        yield test_client


def vancouver_frame() -> pd.DataFrame:
    """Vancouver 2020 as the profile keeps it for a map: located (X = Y = 0 means withheld),
    inside the profile's box, and not in the hour skipped by daylight saving (the
    two offences at 2:xx on 8 March 2020 are quarantined: that local time never existed)."""
    frame = pd.read_parquet(REAL / "vancouver_crime_2020" / "incidents.parquet")
    west, south, east, north = VANCOUVER_BOX
    located = (frame.X != 0) & (frame.Y != 0) & frame.X.between(west, east)
    located &= frame.Y.between(south, north)
    skipped = (frame.MONTH == 3) & (frame.DAY == 8) & (frame.HOUR == 2)
    return frame[located & ~skipped]


def test_vancouver_map_counts_every_incident_per_neighbourhood(client):
    summary = client.get("/api/spatial", params={"source": "vancouver_2020"}).json()
    frame = vancouver_frame()
    assert summary["incidents"] == len(frame)
    assert summary["base_layer"] == "areas" and summary["area_set"] == "vancouver_local_areas"
    assert summary["crime_over_population"] is None  # no Vancouver populations
    assert summary["dual_kde"] is None  # 2019 is not bundled
    areas = client.get(summary["layers"]["areas"]).json()["features"]
    assert len(areas) == 22
    assert sum(f["properties"]["incidents"] for f in areas) + summary["area_outside"] == len(frame)
    # Point in polygon here, on the file's own UTM coordinates and the bundled boundaries.
    to_utm = Transformer.from_crs(4326, 32610, always_xy=True)
    boundaries = json.loads((REAL / "vancouver_crime_2020" / "neighbourhoods.geojson").read_text())
    expected = {}
    for feature in boundaries["features"]:
        polygon = shapely.transform(
            shape(feature["geometry"]),
            lambda p: np.column_stack(to_utm.transform(p[:, 0], p[:, 1])),
        )
        inside = shapely.contains_xy(polygon, frame.X.to_numpy(), frame.Y.to_numpy())
        expected[str(feature["properties"]["mapid"])] = int(inside.sum())
    ours = {f["properties"]["area_id"]: f["properties"]["incidents"] for f in areas}
    assert set(ours) == set(expected)
    # Boundaries follow street centre lines, where the VPD puts its hundred-block points; the
    # warehouse keeps boundaries to 1e-6 degrees, so a few points on a border change sides.
    for area_id, count in expected.items():
        assert abs(ours[area_id] - count) <= 5, area_id
    cells = client.get(summary["layers"]["cells"]).json()["features"]
    gridded = sum(f["properties"]["count"] for f in cells)
    assert 0.99 * sum(expected.values()) <= gridded <= len(frame)
    classes = {f["properties"]["class"] for f in cells}
    assert {3, 2, 1} <= classes
    assert summary["classes"]["hot spot, 99% confidence"] > 0


def test_offence_and_period_filters_and_the_knox_table_of_a_source(client):
    frame = vancouver_frame()
    burglary = frame[frame.TYPE.str.contains("break and enter residential", case=False)]
    summer = burglary[burglary.MONTH.between(6, 8)]
    query = {
        "source": "vancouver_2020",
        "offence": "Break and Enter Residential",
        "start": "2020-06-01",
        "end": "2020-09-01",
    }
    summary = client.get("/api/spatial", params=query).json()
    assert summary["incidents"] == len(summer)
    points = client.get(summary["layers"]["points"]).json()
    assert len(points) == len(summer)
    knox = client.get(
        "/api/spatial/near-repeat", params={**query, "start": "", "end": "", "permutations": 0}
    ).json()
    times = pd.to_datetime(
        {"year": burglary.YEAR, "month": burglary.MONTH, "day": burglary.DAY}
    ).to_numpy()
    expected = knox_test_nrc(
        burglary.X.to_numpy(), burglary.Y.to_numpy(), times,
        spatial_bandwidth=100, spatial_bands=3, temporal_bandwidth=7, temporal_bands=3,
        metric="manhattan", permutations=0,
    )  # fmt: skip
    assert knox["events"] == len(burglary)
    assert knox["observed"] == expected.observed.tolist()
    page = client.get("/spatial/near-repeat", params={**query, "permutations": 9})
    assert page.status_code == 200 and 'value="vancouver_2020" selected' in page.text
    unknown = client.get("/api/spatial/near-repeat", params={"source": "chicago_burglary_2016"})
    assert unknown.status_code == 404 and "vancouver_2020" in unknown.json()["error"]["message"]


def test_chicago_crime_over_population_matches_an_integral_of_the_census(client):
    summary = client.get("/api/spatial", params={"source": "chicago_assaults"}).json()
    incidents = pd.read_parquet(REAL / "chicago_aggravated_assaults_2010_2019/incidents.parquet")
    in_2019 = incidents[incidents.date.str[:4] == "2019"].dropna(subset=["longitude", "latitude"])
    assert summary["incidents"] == len(in_2019)
    assert summary["dual_kde"]["denominator"].startswith("2018-01-01 to 2019-01-01")
    census = json.loads(
        (
            REAL / "chicago_community_areas_population/community_areas_pop_2000_2010.geojson"
        ).read_text()
    )["features"]
    population = np.array([float(f["properties"]["POP2010"]) for f in census])
    risk = summary["crime_over_population"]
    assert risk["residents"] == pytest.approx(population.sum())
    # The busiest cell: incidents per 1,000 residents = quartic density of the assaults over
    # the density of residents spread evenly over each community area, integrated here on a
    # 50 m lattice (the map shares each area among its 280 m cells instead).
    cells = client.get(summary["layers"]["cells"]).json()["features"]
    busiest = max(cells, key=lambda f: f["properties"]["count"])
    to_metres = Transformer.from_crs(4326, summary["epsg"], always_xy=True)
    centre = shape(busiest["geometry"]).centroid
    cx, cy = to_metres.transform(centre.x, centre.y)
    h = risk["bandwidth"]
    x, y = to_metres.transform(in_2019.longitude.to_numpy(), in_2019.latitude.to_numpy())
    u = ((x - cx) ** 2 + (y - cy) ** 2) / h**2
    crime = np.sum(np.where(u < 1, (1 - u) ** 2, 0.0)) * 3 / (np.pi * h**2)
    step = 50.0
    offsets = np.arange(-h, h + step, step)
    gx, gy = np.meshgrid(cx + offsets, cy + offsets)
    gx, gy = gx.ravel(), gy.ravel()
    v = ((gx - cx) ** 2 + (gy - cy) ** 2) / h**2
    kernel = np.where(v < 1, (1 - v) ** 2, 0.0) * 3 / (np.pi * h**2) * step**2
    residents = 0.0
    for feature, people in zip(census, population, strict=True):
        polygon = shapely.transform(
            shape(feature["geometry"]),
            lambda p: np.column_stack(to_metres.transform(p[:, 0], p[:, 1])),
        )
        inside = shapely.contains_xy(polygon, gx, gy)
        residents += people / polygon.area * kernel[inside].sum()
    assert busiest["properties"]["per_1000"] == pytest.approx(1000 * crime / residents, rel=0.01)
    areas = client.get(summary["layers"]["areas"]).json()["features"]
    by_name = {f["properties"]["name"]: f["properties"] for f in areas}
    loop = by_name["Loop"]
    assert loop["per_1000"] == pytest.approx(
        1000 * loop["incidents"] / loop["population"], abs=0.01
    )


def test_sources_without_boundaries_or_warehouse_and_errors(client, tmp_path):
    summary = client.get("/api/spatial", params={"source": "sf_2012", "offence": "0401"}).json()
    assert summary["base_layer"] == "extent" and summary["area_set"] is None
    extent = client.get(summary["layers"]["areas"]).json()["features"]
    assert len(extent) == 1 and extent[0]["properties"]["incidents"] == summary["incidents"]
    page = client.get("/spatial", params={"source": "sf_2012"})
    assert page.status_code == 200 and "no area boundaries" in page.text
    assert 'value="sf_2012" selected' in page.text
    bad = client.get("/api/spatial", params={"source": "sf_2012", "start": "July"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "start"
    none = client.get("/api/spatial", params={"source": "sf_2012", "offence": "homicide"})
    assert none.status_code == 422 and "no incidents" in none.json()["error"]["message"]
    missing = client.get("/api/spatial", params={"source": "atlantis"})
    assert missing.status_code == 404
    listed = client.get("/api/spatial/sources").json()["sources"]
    assert [item["key"] for item in listed] == [
        "chicago_assaults", "chicago_burglary_2016", "vancouver_2020", "sf_2012"
    ]  # fmt: skip
    assert [item["population"] for item in listed] == [True, True, False, False]
    # An empty warehouse: the warehouse sources say how to load them.
    with TestClient(create_app(Settings(data_dir=tmp_path / "empty", secret_key="k"))) as empty:
        answer = empty.get("/api/spatial", params={"source": "vancouver_2020"})
        assert answer.status_code == 404 and "load-bundled" in answer.json()["error"]["message"]
        burglary = empty.get("/api/spatial", params={"source": "chicago_burglary_2016"}).json()
        assert burglary["incidents"] == 11699 and burglary["base_layer"] == "extent"


@pytest.fixture(scope="module")
def loaded_server(data_dir, run_server) -> Iterator[str]:
    """The real server on the data directory with the loaded warehouse."""
    with run_server(data_dir) as url:
        yield url


@pytest.mark.browser
def test_browser_switches_sources(loaded_server, browser):
    page = browser.new_page()
    try:
        page.goto(loaded_server + "/spatial?source=chicago_assaults", timeout=120_000)
        page.wait_for_selector("#spatial-map[data-ready='true']", timeout=120_000)
        labels = page.locator(".leaflet-control-layers-overlays label")
        assert labels.filter(has_text="Crime over population").count() == 1
        assert labels.filter(has_text="Change on the period before").count() == 1
        assert int(page.locator("#spatial-map").get_attribute("data-populated")) > 1000
        # Choosing a source reloads the page with that source's default period.
        page.select_option("#spatial-source", "vancouver_2020")
        page.wait_for_url("**source=vancouver_2020**", timeout=60_000)
        page.wait_for_selector("#spatial-map[data-ready='true']", timeout=120_000)
        assert "Vancouver" in page.locator("h1").inner_text()
        drawn = int(page.locator("#spatial-map").get_attribute("data-incidents"))
        assert drawn == len(vancouver_frame())
        assert labels.filter(has_text="Areas: incident counts").count() == 1
        assert labels.filter(has_text="Crime over population").count() == 0
        page.select_option("#spatial-source", "sf_2012")
        page.wait_for_url("**source=sf_2012**", timeout=60_000)
        page.wait_for_selector("#spatial-map[data-ready='true']", timeout=120_000)
        assert labels.filter(has_text="Extent of the incidents").count() == 1
        page.get_by_role("link", name="near-repeat table").click()
        page.wait_for_selector("#knox-table", timeout=60_000)
        assert "robbery" in page.url
        assert page.locator("#knox-source").input_value() == "sf_2012"
    finally:
        page.close()


def test_forecast_accuracy_on_a_source_agrees_with_the_command(client, data_dir, tmp_path):
    from typer.testing import CliRunner

    from crimeprev.cli.main import app as cli_app

    query = {"source": "sf_2012", "offence": "0401", "method": "counts"}
    body = client.get("/api/spatial/forecast-accuracy", params=query).json()
    robbery = pd.read_parquet(REAL / "sf_crime_2012/incidents.parquet")
    robbery = robbery[robbery.Category == "ROBBERY"].drop_duplicates(["IncidntNum", "Descript"])
    # The sf_2012 profile's box rejects a few rows without a real location.
    robbery = robbery[robbery.longitude.between(-122.53, -122.34)]
    robbery = robbery[robbery.latitude.between(37.69, 37.84)]
    assert body["training"]["end"] == "2012-10-01"  # the middle of July to December
    assert body["training"]["events"] == int((robbery.Date < "2012-10-01").sum())
    assert body["test"]["events"] + body["outside_study_area"] == int(
        (robbery.Date >= "2012-10-01").sum()
    )
    # The command on the same source, split and cell size gives the same table.
    output = tmp_path / "forecast.json"
    arguments = ["forecast-accuracy", "--source", "sf_2012", "--offence", "0401"]
    arguments += ["--start", "2012-07-01", "--end", "2013-01-01", "--split", "2012-10-01"]
    result = CliRunner().invoke(
        cli_app,
        [*arguments, "--cell-size", "250", "--output", str(output)],
        env={"CRIMEPREV_DATA_DIR": str(data_dir)},
    )
    assert result.exit_code == 0, result.output
    command = json.loads(output.read_text())
    ours = {row["cells"]: (row["hits"], row["pai"]) for row in body["table"]}
    theirs = {row["cells"]: (row["hits"], row["pai"]) for row in command["table"]}
    assert len(theirs) >= 5 and all(ours[cells] == theirs[cells] for cells in theirs)
    for row in body["table"]:
        assert row["pai"] == pytest.approx(row["hit_rate"] / row["coverage"], rel=1e-9)
    page = client.get("/spatial/forecast-accuracy", params={**query, "method": "kde"})
    assert page.status_code == 200 and 'value="sf_2012" selected' in page.text
    late = client.get("/api/spatial/forecast-accuracy", params={**query, "split": "2014-01-01"})
    assert late.status_code == 422 and late.json()["error"]["details"]["field"] == "split"
