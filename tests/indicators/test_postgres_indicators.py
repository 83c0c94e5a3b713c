"""The indicator expressions added for series breaks, SDG indicators, seasonal tables,
concentration and aggregate sources give the same answers on PostgreSQL as on DuckDB."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from crimeprev.indicators.aggregates import aggregate_areas, hierarchy_check
from crimeprev.indicators.counts import area_concentration
from crimeprev.indicators.sdg import aggregate_indicator, incident_indicator
from crimeprev.indicators.trends import seasonal_tables, series_breaks
from crimeprev.store import open_warehouse
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import load_profile

from .test_series_breaks import CONCORDANCE, PROFILE, WARDS

pytestmark = pytest.mark.postgres

VICTIMS = """name = "pg_victims"
title = "Synthetic victims"
kind = "incident"
format = "csv"
earliest = "2015-01-01"

[occurred]
column = "date"
format = "%Y-%m-%d %H:%M"
precision = "minute"

[offence]
code = "iccs"
iccs = "iccs"

[area]
set = "regions"
column = "region"
match = "id"

[tags]
victim_sex = "sex"
victim_age = "age"
"""
RECORDS = (
    "date,iccs,region,sex,age\n"
    "2020-01-05 10:30,0101,A,M,25\n2020-02-06 23:10,0101,A,F,70\n2020-02-07 01:00,0101,B,,\n"
    "2021-03-08 12:00,02041,B,F,16\n2021-03-09 13:00,0204,A,M,40\n2021-04-10 14:00,0101,A,M,33\n"
)


@pytest.fixture
def postgres_url(postgres_engine):
    schema = f"crimeprev_ind_{uuid.uuid4().hex[:10]}"
    with postgres_engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine_url = postgres_engine.url.render_as_string(hide_password=False)
    yield engine_url.replace("postgresql+psycopg://", "postgres://") + f"?schema={schema}"
    with postgres_engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def _load(warehouse, tmp_path):
    concordance = tmp_path / "conc.csv"
    concordance.write_text(CONCORDANCE, encoding="utf-8")
    (tmp_path / "first.toml").write_text(PROFILE.format(concordance=concordance))
    (tmp_path / "second.toml").write_text(PROFILE.format(concordance=concordance) + WARDS)
    (tmp_path / "a.csv").write_text("date,code\n2016-03-01,X1\n2017-03-01,X1\n")
    (tmp_path / "b.csv").write_text(
        "date,code,ward\n2019-03-01,X1,W1\n2019-04-01,X3,W1\n2020-03-01,X1,W2\n"
    )
    (tmp_path / "victims.toml").write_text(VICTIMS)
    (tmp_path / "victims.csv").write_text(RECORDS)
    import_file(warehouse, load_profile(tmp_path / "first.toml"), tmp_path / "a.csv")
    import_file(warehouse, load_profile(tmp_path / "second.toml"), tmp_path / "b.csv")
    import_file(warehouse, load_profile(tmp_path / "victims.toml"), tmp_path / "victims.csv")
    wdi = load_profile("wdi_homicide")
    import_file(warehouse, wdi, wdi.bundled_paths()[0])


def _answers(warehouse):
    seasonal = seasonal_tables(warehouse, "pg_victims")
    homicide = incident_indicator(warehouse, "16.1.1", "pg_victims").frame
    trafficking = incident_indicator(warehouse, "16.2.2", "pg_victims").frame
    wdi = aggregate_indicator(warehouse, "16.1.1", "wdi_homicide").frame
    return {
        "breaks": series_breaks(warehouse, "test_series", scheme="conc"),
        "seasonal": (seasonal.by_month, seasonal.month_weekday, seasonal.weekday_hour),
        "homicide": homicide[["year", "sex", "age", "numerator"]].values.tolist(),
        "trafficking": trafficking[["year", "sex", "age", "form", "numerator"]].values.tolist(),
        "concentration": area_concentration(warehouse, "pg_victims").gini,
        "wdi": wdi[["area_id", "year", "value"]].round(9).values.tolist(),
        "areas": aggregate_areas(warehouse, "wdi_homicide")[:5],
        "hierarchy": hierarchy_check(warehouse, "wdi_homicide"),
    }


def test_same_answers_on_postgres_and_duckdb(postgres_url, tmp_path):
    results = []
    for name, url in (("duck", f"duckdb://{tmp_path / 'w.duckdb'}"), ("pg", postgres_url)):
        folder = tmp_path / name
        folder.mkdir()
        warehouse = open_warehouse(url)
        try:
            _load(warehouse, folder)
            results.append(_answers(warehouse))
        finally:
            warehouse.close()
    duck, pg = results
    kinds = {b.kind for b in duck["breaks"]}
    assert kinds == {"coverage", "area_set", "concordance"}
    assert duck["homicide"] and duck["wdi"]
    for key in duck:
        assert duck[key] == pg[key], key
