"""Spatial commands reading incidents from the warehouse (--source), and the study
area of forecast-accuracy (--bbox, --areas). Expected values are computed here
from the bundled file, independently of the warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pyproj import Geod, Transformer
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli_app
from crimeprev.spatial.near_repeat import knox_test_nrc
from crimeprev.store import open_warehouse
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import load_profile

REAL = Path(__file__).parents[2] / "src/crimeprev/data/real"
SF_BOX = (-122.53, 37.69, -122.34, 37.84)  # the sf_2012 profile's accepted bounding box
runner = CliRunner()


@pytest.fixture(scope="module")
def sf_data_dir(tmp_path_factory):
    """A data directory whose warehouse holds the bundled San Francisco 2012 incidents."""
    from crimeprev.config import Settings
    from crimeprev.store.bundled import load_bundled_areas

    settings = Settings(data_dir=tmp_path_factory.mktemp("sf") / "data", secret_key="k")
    settings.ensure_data_dir()
    warehouse = open_warehouse(settings.warehouse_url)
    list(load_bundled_areas(warehouse))
    profile = load_profile("sf_2012")
    for path in profile.bundled_paths():
        import_file(warehouse, profile, path)
    warehouse.close()
    return settings.data_dir


@pytest.fixture
def sf_env(sf_data_dir, monkeypatch):
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(sf_data_dir))


def sf_frame() -> pd.DataFrame:
    """The bundled file as the profile keeps it: one row per incident number and
    description, coordinates inside the profile's box."""
    frame = pd.read_parquet(REAL / "sf_crime_2012" / "incidents.parquet")
    frame = frame.drop_duplicates(["IncidntNum", "Descript"])
    inside = frame.longitude.between(SF_BOX[0], SF_BOX[2]) & frame.latitude.between(
        SF_BOX[1], SF_BOX[3]
    )
    return frame[inside]


def test_near_repeat_from_a_source_matches_the_file(sf_env, tmp_path):
    output = tmp_path / "knox.json"
    arguments = ["near-repeat", "--source", "sf_2012", "--offence", "robbery"]
    result = runner.invoke(cli_app, [*arguments, "--permutations", "0", "--output", str(output)])
    assert result.exit_code == 0, result.output
    body = json.loads(output.read_text())
    frame = sf_frame()
    label = frame.Category + ": " + frame.Descript
    robbery = frame[label.str.contains("robbery", case=False)]
    to_utm = Transformer.from_crs(4326, 32610, always_xy=True)
    x, y = to_utm.transform(robbery.longitude.to_numpy(), robbery.latitude.to_numpy())
    expected = knox_test_nrc(
        x, y, robbery.Date.to_numpy(), spatial_bandwidth=100, temporal_bandwidth=7,
        permutations=0,
    )  # fmt: skip
    assert body["events"] == len(robbery)
    assert body["observed"] == expected.observed.tolist()
    # ICCS code prefix: robbery is 0401 in the ICCS.
    by_code = runner.invoke(
        cli_app,
        ["near-repeat", "--source", "sf_2012", "--offence", "0401", "--permutations", "0",
         "--output", str(tmp_path / "code.json")],
    )  # fmt: skip
    assert by_code.exit_code == 0, by_code.output
    assert json.loads((tmp_path / "code.json").read_text())["events"] > 0.9 * len(robbery)


def test_hotspots_and_kde_read_a_source(sf_env, tmp_path):
    result = runner.invoke(cli_app, ["hotspots", "--source", "sf_2012", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "10,140 incidents from warehouse source sf_2012" in result.output
    assert len(sf_frame()) == 10_140
    cells = tmp_path / "kde.geojson"
    density = runner.invoke(
        cli_app, ["kde", "--source", "sf_2012", "--cell-size", "500", "--geojson", str(cells)]
    )
    assert density.exit_code == 0, density.output
    assert "warehouse source sf_2012" in density.output
    features = json.loads(cells.read_text())["features"]
    assert sum(f["properties"]["count"] for f in features) == len(sf_frame())


def test_forecast_accuracy_over_a_bounding_box(sf_env, tmp_path):
    box = (-122.45, 37.74, -122.38, 37.80)
    output = tmp_path / "forecast.json"
    result = runner.invoke(
        cli_app,
        ["forecast-accuracy", "--source", "sf_2012", "--split", "2012-10-01",
         "--cell-size", "250", "--bbox", ",".join(str(v) for v in box), "--output", str(output)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(output.read_text())
    # The box's area on the ellipsoid, computed here with pyproj's geodesic polygon area.
    lons = [box[0], box[2], box[2], box[0]]
    lats = [box[1], box[1], box[3], box[3]]
    area = abs(Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)[0]) / 1e6
    assert body["study_area_km2"] == pytest.approx(area, rel=2e-3)
    # Cells whose centres lie in the box cover it up to a strip of half a cell.
    assert body["cells"] * 0.25**2 == pytest.approx(area, rel=0.05)
    frame = sf_frame()
    inside = frame.longitude.between(box[0], box[2]) & frame.latitude.between(box[1], box[3])
    assert body["events_outside_study_area"] == pytest.approx((~inside).sum(), abs=5)
    later = frame[inside & (frame.Date >= "2012-10-01")]
    full = body["table"][-1] if body["table"][-1]["coverage"] == 1 else None
    for row in body["table"]:
        assert row["pai"] == pytest.approx(row["hit_rate"] / row["coverage"])
        assert row["hits"] <= len(later)
    if full is not None:
        assert full["hits"] == len(later)


def test_forecast_accuracy_over_areas_and_bad_study_areas(sf_env, tmp_path):
    areas = tmp_path / "square.geojson"
    square = [[-122.44, 37.75], [-122.40, 37.75], [-122.40, 37.79], [-122.44, 37.79],
              [-122.44, 37.75]]  # fmt: skip
    areas.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "centre"},
                        "geometry": {"type": "Polygon", "coordinates": [square]},
                    }
                ],
            }
        )
    )
    base = ["forecast-accuracy", "--source", "sf_2012", "--split", "2012-10-01"]
    output = tmp_path / "areas.json"
    result = runner.invoke(cli_app, [*base, "--areas", str(areas), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "Study area" in result.output
    assert json.loads(output.read_text())["study_area_km2"] > 10
    wrong = runner.invoke(cli_app, [*base, "--bbox", "1,2,3"])
    assert wrong.exit_code == 2 and "--bbox must be xmin,ymin,xmax,ymax" in wrong.output
    both = runner.invoke(cli_app, [*base, "--bbox", "0,0,1,1", "--areas", str(areas)])
    assert both.exit_code == 2 and "not both" in both.output


def test_a_period_of_a_source(sf_env, tmp_path):
    output = tmp_path / "autumn.json"
    arguments = ["near-repeat", "--source", "sf_2012", "--start", "2012-09-01"]
    result = runner.invoke(
        cli_app, [*arguments, "--end", "2012-11-01", "--permutations", "0", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(output.read_text())
    assert body["source"].endswith("start 2012-09-01, end 2012-11-01")
    frame = sf_frame()
    expected = frame.Date.between("2012-09-01", "2012-10-31")
    assert body["events"] == int(expected.sum())
    file = REAL / "sf_crime_2012" / "incidents.parquet"
    refused = runner.invoke(cli_app, ["hotspots", str(file), "--start", "2012-09-01"])
    assert refused.exit_code == 2 and "filter a warehouse --source" in refused.output
    bad = runner.invoke(cli_app, ["hotspots", "--source", "sf_2012", "--end", "autumn"])
    assert bad.exit_code == 2 and "end must be a date" in bad.output


def test_unknown_source_and_file_with_source_are_refused(sf_env, tmp_path):
    missing = runner.invoke(cli_app, ["hotspots", "--source", "atlantis"])
    assert missing.exit_code == 2
    assert "no incidents of source 'atlantis'" in missing.output and "sf_2012" in missing.output
    file = REAL / "sf_crime_2012" / "incidents.parquet"
    both = runner.invoke(cli_app, ["kde", str(file), "--source", "sf_2012"])
    assert both.exit_code == 2 and "not both" in both.output
    neither = runner.invoke(cli_app, ["kde"])
    assert neither.exit_code == 2 and "--source" in neither.output


def test_kde_compare_reads_another_period_of_the_source(sf_env, tmp_path):
    output = tmp_path / "dual.geojson"
    arguments = ["kde", "--source", "sf_2012", "--offence", "robbery", "--bandwidth", "500"]
    periods = ["--start", "2012-10-01", "--end", "2013-01-01"]
    periods += ["--compare-start", "2012-07-01", "--compare-end", "2012-10-01"]
    result = runner.invoke(cli_app, [*arguments, *periods, "--geojson", str(output)])
    assert result.exit_code == 0, result.output
    cells = json.loads(output.read_text())["features"]
    busiest = max(cells, key=lambda f: f["properties"]["density"])
    # Quartic densities of the two periods at the busiest cell's centre, computed here.
    from shapely.geometry import shape

    frame = sf_frame()
    robbery = frame[(frame.Category + ": " + frame.Descript).str.contains("robbery", case=False)]
    to_utm = Transformer.from_crs(4326, 32610, always_xy=True)
    centre = shape(busiest["geometry"]).centroid
    cx, cy = to_utm.transform(centre.x, centre.y)

    def quartic_sum(rows: pd.DataFrame) -> float:
        x, y = to_utm.transform(rows.longitude.to_numpy(), rows.latitude.to_numpy())
        u = ((x - cx) ** 2 + (y - cy) ** 2) / 500.0**2
        return float((u < 1).astype(float) @ ((1 - u) ** 2))

    later = robbery[robbery.Date >= "2012-10-01"]
    earlier = robbery[robbery.Date < "2012-10-01"]
    expected = quartic_sum(later) / quartic_sum(earlier)
    assert busiest["properties"]["ratio"] == pytest.approx(expected, rel=1e-4)
    both = runner.invoke(cli_app, [*arguments, *periods, "--compare", str(tmp_path / "other.csv")])
    assert both.exit_code != 0 and "not both" in both.output
