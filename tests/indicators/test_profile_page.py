"""The crime profile's where and when: seasonal heat tables, the choropleth's GeoJSON,
concentration over areas and age-standardised rates, each checked against plain pandas."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli
from crimeprev.errors import NotFoundError
from crimeprev.indicators.counts import standardised_area_rates
from crimeprev.store import areas, open_warehouse
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import BUNDLED_DATA_DIR, load_profile

VANCOUVER = BUNDLED_DATA_DIR / "vancouver_crime_2020"


def _vancouver() -> pd.DataFrame:
    """The Vancouver file less the 2 rows at non-existent local times (2020-03-08 02:xx)."""
    raw = pd.read_parquet(VANCOUVER / "incidents.parquet")
    return raw[~((raw["MONTH"] == 3) & (raw["DAY"] == 8) & (raw["HOUR"] == 2))]


def test_seasonal_heat_tables_match_the_file(stats_client):
    data = stats_client.get("/api/stats/vancouver_2020/seasonal").json()
    raw = _vancouver()
    weekday = pd.to_datetime(
        pd.DataFrame({"year": raw["YEAR"], "month": raw["MONTH"], "day": raw["DAY"]})
    ).dt.day_of_week
    expected = pd.crosstab(raw["MONTH"], weekday).to_numpy(dtype=float)
    assert np.array_equal(np.array(data["month_weekday"]), expected)
    hours = pd.crosstab(weekday, raw["HOUR"]).reindex(columns=range(24), fill_value=0)
    assert np.array_equal(np.array(data["weekday_hour"]), hours.to_numpy(dtype=float))
    assert data["by_month"] == raw["MONTH"].value_counts().sort_index().astype(float).tolist()
    # SF 2012 is dated to the day: no hour table. Lancashire gives the month only.
    assert stats_client.get("/api/stats/sf_2012/seasonal").json()["weekday_hour"] is None
    lancashire = stats_client.get("/api/stats/lancashire_asb_2022/seasonal").json()
    assert lancashire["month_weekday"] is None and lancashire["precision"] == "month"


def _vancouver_area_counts() -> pd.Series:
    """Offences by local area from the file, named as in the boundary file."""
    boundaries = json.loads((VANCOUVER / "neighbourhoods.geojson").read_text())
    names = {f["properties"]["name"]: str(f["properties"]["mapid"]) for f in boundaries["features"]}
    aliases = {"Central Business District": "Downtown", "Arbutus Ridge": "Arbutus-Ridge"}
    named = _vancouver()["NEIGHBOURHOOD"].replace(aliases)
    counts = named[named.isin(names)].map(names).value_counts()
    return counts.reindex(sorted(names.values()), fill_value=0)


def test_concentration_over_vancouver_areas(stats_client):
    data = stats_client.get("/api/stats/vancouver_2020/concentration").json()
    counts = _vancouver_area_counts().to_numpy(dtype=float)
    # Gini as the mean absolute difference over twice the mean.
    gini = np.abs(counts[:, None] - counts[None, :]).mean() / (2 * counts.mean())
    assert_allclose(data["gini"], gini)
    top = math.ceil(0.1 * len(counts))
    assert_allclose(data["top_share"], np.sort(counts)[-top:].sum() / counts.sum())
    assert data["areas"] == 22 and data["top_areas"][0]["name"] == "Downtown"
    assert data["unassigned"] == len(_vancouver()) - counts.sum()


def test_map_geojson_counts_and_rates(stats_client):
    vancouver = stats_client.get("/api/stats/vancouver_2020/map").json()
    assert vancouver["properties"]["measure"] == "count"
    by_id = {f["id"]: f["properties"]["count"] for f in vancouver["features"]}
    assert by_id == _vancouver_area_counts().astype(float).to_dict()
    assert vancouver["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    lancashire = stats_client.get("/api/stats/lancashire_asb_2022/map").json()
    assert lancashire["properties"]["measure"] == "rate"
    population = pd.read_parquet(BUNDLED_DATA_DIR / "lancashire_asb_2022/ward_population.parquet")
    people = dict(zip(population["gss_code"], population["population"], strict=True))
    shown = [f["properties"] for f in lancashire["features"] if f["properties"]["rate"] is not None]
    assert len(shown) > 200
    for item in shown:
        assert_allclose(item["rate"], item["count"] / people[item["area_id"]] * 1e5)
    hidden = [f["properties"] for f in lancashire["features"] if f["properties"]["suppressed"]]
    assert all(item["count"] is None and item["rate"] is None for item in hidden)


def test_profile_page_shows_where_and_when(stats_client):
    page = stats_client.get("/stats/vancouver_2020").text
    assert 'id="heat-month-weekday"' in page and 'id="heat-weekday-hour"' in page
    assert 'id="stats-map"' in page and "/api/stats/vancouver_2020/map?year=2020" in page
    assert "Gini coefficient" in page
    assert "no population by age band" in page  # honest about standardised rates
    # SF districts have no boundaries in the warehouse: no map, but concentration.
    sf = stats_client.get("/stats/sf_2012").text
    assert 'id="stats-map"' not in sf and "Gini coefficient" in sf
    assert stats_client.get("/api/stats/sf_2012/map").status_code == 404
    lancashire = stats_client.get("/stats/lancashire_asb_2022").text
    assert "gives the month only" in lancashire and "rates by area" in lancashire.lower()


AGES = """
name = "test_ages"
title = "Synthetic offences with victim ages"
kind = "incident"
format = "csv"
earliest = "2015-01-01"

[occurred]
column = "date"
format = "%Y-%m-%d"
precision = "day"

[offence]
code = "iccs"
iccs = "iccs"

[area]
set = "test_regions"
column = "region"
match = "id"

[tags]
victim_age = "age"
"""


@pytest.fixture
def aged(tmp_path):
    ages = {"A": [5, 20, 25, 70, 71, 72], "B": [10, 11, 30, 31, 32, 33, 80]}
    rows = [(region, age) for region, values in ages.items() for age in values]
    frame = pd.DataFrame(
        {"date": "2021-06-01", "iccs": "0501", "region": [r for r, _ in rows],
         "age": [str(a) for _, a in rows]}
    )  # fmt: skip
    frame.loc[len(frame)] = ["2021-06-02", "0501", "A", ""]  # age unknown
    (tmp_path / "p.toml").write_text(AGES, encoding="utf-8")
    frame.to_csv(tmp_path / "d.csv", index=False)
    warehouse = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    assert (
        import_file(warehouse, load_profile(tmp_path / "p.toml"), tmp_path / "d.csv").rows_accepted
        == 14
    )
    population = {("A", "0-14"): 2000, ("A", "15-64"): 6000, ("A", "65+"): 2000,
                  ("B", "0-14"): 4000, ("B", "15-64"): 5000, ("B", "65+"): 1000}  # fmt: skip
    areas.store_population(
        warehouse,
        area_set="test_regions",
        area_ids=[k[0] for k in population],
        years=[2020] * len(population),
        populations=[float(v) for v in population.values()],
        age_bands=[k[1] for k in population],
        source="synthetic",
    )
    yield warehouse, tmp_path
    warehouse.close()


def test_age_standardised_rates_by_area(aged, monkeypatch):
    warehouse, tmp_path = aged
    table = standardised_area_rates(warehouse, "test_ages", year=2021).frame.set_index("area_id")
    # Standard: both regions together, 6000 / 11000 / 3000.
    weights = np.array([6000, 11000, 3000]) / 20000
    a = weights @ (np.array([1, 2, 3]) / np.array([2000, 6000, 2000])) * 1e5
    b = weights @ (np.array([2, 4, 1]) / np.array([4000, 5000, 1000])) * 1e5
    assert_allclose(table.loc["A", "rate"], a)
    assert_allclose(table.loc["B", "rate"], b)
    assert_allclose(table.loc["A", "crude_rate"], 6 / 10_000 * 1e5)
    assert table.loc["A", "unknown_age"] == 1 and table.loc["A", "count"] == 6
    assert table.loc["A", "ci_low"] < a < table.loc["A", "ci_high"]
    with pytest.raises(NotFoundError):
        standardised_area_rates(warehouse, "test_ages", year=1999)
    standard = tmp_path / "standard.csv"
    standard.write_text("age_band,population\n0-14,1\n15-64,1\n65+,2\n", encoding="utf-8")
    monkeypatch.setenv("CRIMEPREV_WAREHOUSE_URL", warehouse.url)
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path))
    warehouse.close()
    result = CliRunner().invoke(
        cli, ["stats", "standardise", "test_ages", "--year", "2021", "--standard", str(standard),
              "--output", str(tmp_path / "out.csv")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "out.csv", dtype={"area_id": str}).set_index("area_id")
    expected = np.array([0.25, 0.25, 0.5]) @ (np.array([1, 2, 3]) / np.array([2000, 6000, 2000]))
    assert_allclose(out.loc["A", "rate"], expected * 1e5)


def test_cli_seasonal_and_concentration(stats_settings, monkeypatch):
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    runner = CliRunner()
    result = runner.invoke(cli, ["stats", "seasonal", "vancouver_2020"])
    assert result.exit_code == 0 and "month x weekday" in result.output
    result = runner.invoke(cli, ["stats", "concentration", "vancouver_2020", "--top", "0.2"])
    assert result.exit_code == 0 and "Gini" in result.output and "Downtown" in result.output
