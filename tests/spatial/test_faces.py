"""The spatial faces: CLI commands, JSON endpoints and pages (TestClient), and a
browser driving the map and the Knox table on the real server."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli_app

DATA = Path(__file__).parents[1] / "data"
BURGLARY = DATA / "near_repeat_chicago" / "chicago_burglary_jan2016.csv"
EXPECTED = json.loads((DATA / "near_repeat_chicago" / "expected.json").read_text())["results"]

runner = CliRunner()


def test_cli_near_repeat_reproduces_nrc_and_writes_json(tmp_path):
    output = tmp_path / "knox.json"
    result = runner.invoke(
        cli_app,
        ["near-repeat", str(BURGLARY), "--seed", "3", "--chains", "--output", str(output)],
    )
    assert result.exit_code == 0, result.output
    assert "Same location" in result.output and "182,194" in result.output
    body = json.loads(output.read_text())
    assert body["observed"] == EXPECTED["burglary_nrc_table"]["nrc_published_observed"]
    assert body["seed"] == 3 and body["chains"][0]["events"] >= 2


def test_cli_near_repeat_explicit_breaks_and_errors(tmp_path):
    result = runner.invoke(
        cli_app,
        [
            "near-repeat",
            str(BURGLARY),
            "--distance-breaks",
            "0,1,100,200,300,inf",
            "--time-breaks",
            "0,7,14,21,inf",
            "--metric",
            "euclidean",
            "--permutations",
            "9",
        ],
    )
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("X,Y,date\n1,2,2016-01-01\n1,2,\n")
    result = runner.invoke(cli_app, ["near-repeat", str(bad)])
    assert result.exit_code == 2
    assert "row 3" in result.output and "date" in result.output


def test_near_repeat_json_and_page(client):
    body = client.get("/api/spatial/near-repeat", params={"permutations": 19}).json()
    assert body["observed"] == EXPECTED["burglary_nrc_table"]["nrc_published_observed"]
    assert body["chains"]["count"] > 0
    page = client.get("/spatial/near-repeat", params={"permutations": 19})
    assert page.status_code == 200
    assert "182,194" in page.text and 'id="knox-table"' in page.text
    assert 'href="/api/spatial/near-repeat?permutations=19"' in page.text
    missing = client.get("/api/spatial/near-repeat", params={"dataset": "nowhere"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_map_json_twin_counts_every_incident(client):
    summary = client.get("/api/spatial", params={"year": 2019}).json()
    incidents = pd.read_parquet(
        Path(__file__).parents[2]
        / "src/crimeprev/data/real/chicago_aggravated_assaults_2010_2019/incidents.parquet"
    )
    in_year = int((incidents["date"].str[:4] == "2019").sum())
    assert summary["incidents"] == in_year
    areas = client.get("/api/spatial/layers/areas", params={"year": 2019}).json()
    assert len(areas["features"]) == 77
    assert (
        sum(f["properties"]["assaults"] for f in areas["features"]) + summary["area_outside"]
        == in_year
    )
    # Global Moran's I of the area rates against esda with libpysal's queen weights.
    import esda
    import libpysal
    from shapely.geometry import shape

    geometries = [shape(f["geometry"]) for f in areas["features"]]
    rates = np.array(
        [
            f["properties"]["assaults"] / f["properties"]["population_2010"]
            for f in areas["features"]
        ]
    )
    queen = libpysal.weights.Queen.from_iterable(geometries)
    queen.transform = "r"
    reference = esda.Moran(rates * 100_000, queen, permutations=0)
    assert summary["area_moran"]["i"] == pytest.approx(reference.I, abs=1e-8)
    cells = client.get("/api/spatial/layers/cells", params={"year": 2019}).json()
    assert sum(f["properties"]["count"] for f in cells["features"]) <= in_year
    classes = {f["properties"]["class"] for f in cells["features"]}
    assert 3 in classes
    page = client.get("/spatial", params={"year": 2019})
    assert page.status_code == 200 and "/static/vendor/leaflet/leaflet.js" in page.text
    assert "cell size" in page.text
    assert "Change on the year before (dual KDE)" in page.text
    # Smoothed area rates: esda's Spatial_Empirical_Bayes on the same queen neighbours.
    from esda.smoothing import Spatial_Empirical_Bayes

    events = np.array([f["properties"]["assaults"] for f in areas["features"]], dtype=float)
    people = np.array([f["properties"]["population_2010"] for f in areas["features"]], float)
    ordered = libpysal.weights.W(queen.neighbors, id_order=list(range(len(geometries))))
    smoothed = Spatial_Empirical_Bayes(events, people, ordered).r.ravel() * 100_000
    ours = np.array([f["properties"]["rate_eb_per_100k"] for f in areas["features"]])
    assert_allclose(ours, smoothed, atol=0.051)


def test_map_hexagon_and_dual_kde_layers(client):
    summary = client.get("/api/spatial", params={"year": 2019}).json()
    assert set(summary["layers"]) == {"cells", "hexagons", "areas", "points"}
    hexagons = client.get(summary["layers"]["hexagons"]).json()
    areas = client.get(summary["layers"]["areas"]).json()
    in_areas = sum(f["properties"]["assaults"] for f in areas["features"])
    counted = sum(f["properties"]["count"] for f in hexagons["features"])
    # Hexagons cover the city (their mask is the union of the areas) plus partial edges.
    assert 0.98 * in_areas <= counted <= summary["incidents"]
    assert len(hexagons["features"][0]["geometry"]["coordinates"][0]) == 7
    assert 3 in {f["properties"]["class"] for f in hexagons["features"]}
    # Dual KDE, checked for the busiest cell with a quartic kernel computed here.
    dual = summary["dual_kde"]
    assert dual["denominator"] == "assaults 2018" and dual["kernel"] == "quartic"
    cells = client.get(summary["layers"]["cells"]).json()["features"]
    busiest = max(cells, key=lambda f: f["properties"]["count"])
    from pyproj import Transformer
    from shapely.geometry import shape

    centre = shape(busiest["geometry"]).centroid
    to_metres = Transformer.from_crs(4326, summary["epsg"], always_xy=True)
    cx, cy = to_metres.transform(centre.x, centre.y)
    incidents = pd.read_parquet(
        Path(__file__).parents[2]
        / "src/crimeprev/data/real/chicago_aggravated_assaults_2010_2019/incidents.parquet"
    )
    h = dual["bandwidth"]

    def quartic_sum(year):
        rows = incidents[incidents["date"].str[:4] == str(year)]
        x, y = to_metres.transform(rows["longitude"].to_numpy(), rows["latitude"].to_numpy())
        u = ((x - cx) ** 2 + (y - cy) ** 2) / h**2
        return float(np.sum(np.where(u < 1, (1 - u) ** 2, 0.0)))

    assert busiest["properties"]["change"] == pytest.approx(
        quartic_sum(2019) / quartic_sum(2018), rel=2e-3
    )
    first = client.get("/api/spatial", params={"year": 2010}).json()
    assert first["dual_kde"] is None
    # Crime over population: every 2010 resident of the community areas is on the surface.
    census = sum(f["properties"]["population_2010"] for f in areas["features"])
    assert summary["crime_over_population"]["residents"] == pytest.approx(census)
    assert sum(f["properties"].get("per_1000") is not None for f in cells) > 1000


@pytest.mark.browser
def test_browser_map_and_knox_table(live_server, browser, tmp_path):
    page = browser.new_page()
    try:
        page.goto(live_server + "/spatial", timeout=120_000)
        page.wait_for_selector("#spatial-map[data-ready='true']", timeout=120_000)
        assert page.locator(".leaflet-control-layers-overlays label").count() == 9
        assert int(page.locator("#spatial-map").get_attribute("data-populated")) > 1000
        assert "hexagons" in page.locator("#spatial-map-status").inner_text()
        map_element = page.locator("#spatial-map")
        assert int(map_element.get_attribute("data-hexagons")) > 1000
        assert int(map_element.get_attribute("data-changed")) > 1000
        # The base layer and the Gi* layer are drawn on the canvas renderer.
        assert page.locator("#spatial-map canvas").count() >= 1
        for name in ("Hexagon counts", "Change on the year before", "smoothed rates"):
            box = page.locator(".leaflet-control-layers-overlays label", has_text=name)
            box.locator("input").check()
            assert box.locator("input").is_checked()
        page.screenshot(path=str(tmp_path / "map.png"))
        page.get_by_role("link", name="near-repeat table").click()
        page.wait_for_selector("#knox-table", timeout=60_000)
        rows = page.locator("#knox-table tbody tr")
        assert rows.count() == 5
        first = rows.nth(0).locator("td").nth(0)
        assert first.get_attribute("data-mark") == "++"
        assert int(page.locator("#chain-count").inner_text()) > 0
    finally:
        page.close()


def test_cli_commands_are_registered():
    result = runner.invoke(cli_app, ["--help"])
    for command in ("near-repeat", "hotspots", "kde", "forecast-accuracy"):
        assert command in result.output
    assert np.isfinite(1.0)


def test_forecast_accuracy_json_and_page(client):
    body = client.get("/api/spatial/forecast-accuracy", params={"year": 2019}).json()
    assert body["forecast_year"] == 2018 and body["test_year"] == 2019
    rows = body["table"]
    assert [row["cells"] for row in rows] == sorted(row["cells"] for row in rows)
    for row in rows:
        assert row["pai"] == pytest.approx(row["hit_rate"] / row["coverage"])
        assert 0 < row["pei"] <= 1
    # All cells together catch every 2019 assault inside the city.
    assert body["curve"][-1]["coverage"] <= 1
    incidents = pd.read_parquet(
        Path(__file__).parents[2]
        / "src/crimeprev/data/real/chicago_aggravated_assaults_2010_2019/incidents.parquet"
    )
    in_year = int((incidents["date"].str[:4] == "2019").sum())
    assert body["events_test_year"] + body["outside_city"] == in_year
    page = client.get("/spatial/forecast-accuracy", params={"year": 2019, "method": "kde"})
    assert page.status_code == 200 and 'id="forecast-table"' in page.text
    assert client.get("/api/spatial/forecast-accuracy", params={"year": 2010}).status_code == 422


REAL = Path(__file__).parents[2] / "src/crimeprev/data/real"


def test_cli_hotspots_kde_and_forecast_on_real_data(tmp_path):
    vancouver = REAL / "vancouver_crime_2020" / "incidents.parquet"
    cells = tmp_path / "cells.geojson"
    result = runner.invoke(
        cli_app, ["hotspots", str(vancouver), "--cell-size", "400", "--geojson", str(cells)]
    )
    assert result.exit_code == 0, result.output
    assert "3750 row(s)" not in result.output and "hot spot, 99% confidence" in result.output
    body = json.loads(cells.read_text())
    frame = pd.read_parquet(vancouver)
    located = int(((frame.X != 0) | (frame.Y != 0)).sum() - frame.X.isna().sum())
    assert sum(f["properties"]["count"] for f in body["features"]) <= located
    sf = REAL / "sf_crime_2012" / "incidents.parquet"
    parquet = tmp_path / "kde.parquet"
    result = runner.invoke(
        cli_app,
        [
            "kde",
            str(sf),
            "--lon",
            "longitude",
            "--lat",
            "latitude",
            "--bandwidth",
            "300",
            "--cell-size",
            "250",
            "--geoparquet",
            str(parquet),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "bandwidth 300 m" in result.output and parquet.stat().st_size > 0
    output = tmp_path / "forecast.json"
    result = runner.invoke(
        cli_app,
        [
            "forecast-accuracy",
            str(sf),
            "--lon",
            "longitude",
            "--lat",
            "latitude",
            "--date",
            "Date",
            "--split",
            "2012-10-01",
            "--cell-size",
            "300",
            "--output",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    table = json.loads(output.read_text())["table"]
    assert table[-1]["hit_rate"] >= table[0]["hit_rate"]


def test_cli_rate_hot_spots_by_community_area(tmp_path):
    assaults = pd.read_parquet(REAL / "chicago_aggravated_assaults_2010_2019" / "incidents.parquet")
    subset = tmp_path / "assaults_2019.parquet"
    assaults[assaults["date"].str[:4] == "2019"].to_parquet(subset)
    areas = REAL / "chicago_community_areas_population" / "community_areas_pop_2000_2010.geojson"
    result = runner.invoke(
        cli_app,
        ["hotspots", str(subset), "--areas", str(areas), "--name-field", "community"],
    )
    assert result.exit_code == 0, result.output
    assert "per 100,000" in result.output and "AUSTIN" in result.output
    arguments = ["hotspots", str(subset), "--areas", str(areas), "--smoothing"]
    smoothed = runner.invoke(cli_app, [*arguments, "local-eb"])
    assert smoothed.exit_code == 0, smoothed.output
    assert "Rates smoothed by local EB before Gi*." in smoothed.output
    wrong = runner.invoke(cli_app, [*arguments, "kriging"])
    assert wrong.exit_code == 2 and "smoothing must be one of" in wrong.output


def test_cli_hex_hot_spots_write_lonlat_geojson(tmp_path):
    burglary = REAL / "chicago_near_repeat_2016" / "chicago_residential_burglary_2016.csv"
    cells = tmp_path / "hex.geojson"
    result = runner.invoke(
        cli_app,
        [
            "hotspots",
            str(burglary),
            "--hex",
            "--cell-size",
            "400",
            "--epsg",
            "26971",
            "--geojson",
            str(cells),
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(cells.read_text())
    rows = len(pd.read_csv(burglary))
    assert sum(f["properties"]["count"] for f in body["features"]) == rows
    lon, lat = body["features"][0]["geometry"]["coordinates"][0][0]
    assert -88.1 < lon < -87.4 and 41.6 < lat < 42.1
    assert len(body["features"][0]["geometry"]["coordinates"][0]) == 7  # closed hexagon
