"""A State's indicator trends read from the warehouse loaded with the bundled data
(WDI homicide rates and UN-CTS offences), checked against the bundled files themselves."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from crimeprev.config import Settings
from crimeprev.store import open_warehouse
from crimeprev.store.profiles import BUNDLED_DATA_DIR
from crimeprev.tracker.indicators import warehouse_series
from crimeprev.web.app import create_app

SQLITE_ONLY = pytest.mark.parametrize("tracker_db", ["sqlite"], indirect=True)


def _wdi(iso3: str) -> dict[int, float]:
    raw = pd.read_parquet(BUNDLED_DATA_DIR / "world_homicide_wdi/homicide_rate_per_100k.parquet")
    raw = raw[(raw["iso3"] == iso3) & raw["rate_per_100k"].notna()]
    return dict(zip(raw["year"].astype(int), raw["rate_per_100k"].astype(float), strict=True))


def _cts(iso3: str, category: str) -> dict[int, float]:
    raw = pd.read_parquet(
        BUNDLED_DATA_DIR / "unodc_cts_offences_2003_2022/data_cts_violent_and_sexual_crime.parquet"
    )
    raw = raw[
        (raw["Iso3_code"] == iso3)
        & (raw["Category"] == category)
        & (raw["Sex"] == "Total")
        & (raw["Age"] == "Total")
        & (raw["Unit of measurement"] == "Rate per 100,000 population")
    ]
    return dict(zip(raw["Year"].astype(int), raw["VALUE"].astype(float), strict=True))


def test_warehouse_series_match_the_bundled_files(warehouse_url):
    warehouse = open_warehouse(warehouse_url)
    try:
        kenya = warehouse_series(warehouse, "Kenya")
        nowhere = warehouse_series(warehouse, "Nauru")  # in neither file
    finally:
        warehouse.close()
    first = kenya[0]
    assert (first.series, first.unit) == ("16.1.1", "per 100,000 population")
    assert "World Bank" in first.source
    assert dict(first.points) == pytest.approx(_wdi("KEN"))
    assert round(dict(first.points)[2020], 2) == 3.56
    by_name = {series.series: series for series in kenya}
    # UN-CTS: ICCS 020111 is serious assault, 0301 sexual violence (rates as published).
    assert by_name["ICCS 020111"].label == "Serious assault"
    assert dict(by_name["ICCS 020111"].points) == pytest.approx(_cts("KEN", "Serious assault"))
    assert dict(by_name["ICCS 0301"].points) == pytest.approx(_cts("KEN", "Sexual violence"))
    assert nowhere == ()


@SQLITE_ONLY
def test_state_page_and_api_show_the_warehouse_series(tracker_db, warehouse_url, tmp_path):
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key="k",
        database_url=tracker_db.url,
        warehouse_url=warehouse_url,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        data = client.get("/api/tracker/states/KEN").json()
        page = client.get("/tracker/states/KEN")
    assert data["series_from"] == "warehouse"
    assert [series["series"] for series in data["series"]][:2] == ["16.1.1", "ICCS 020111"]
    assert page.status_code == 200
    assert "ICCS 0301: Sexual violence (per 100,000 population)" in page.text
    assert "From the warehouse" in page.text and page.text.count('class="tracker-chart"') >= 5


@SQLITE_ONLY
def test_without_a_warehouse_the_bundled_series_show(tracker_client, tmp_path):
    data = tracker_client.get("/api/tracker/states/KEN").json()
    assert data["series_from"] == "bundled"
    assert [series["series"] for series in data["series"]] == ["16.1.1"]
    assert not list(Path(tmp_path / "data").glob("*.duckdb"))  # no empty warehouse made
