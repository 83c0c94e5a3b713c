"""SDG indicators: 16.1.1 by sex and age and 16.2.2 by form of exploitation from records,
16.1.1 from the bundled WDI series, and the list of indicators the warehouse cannot give."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli
from crimeprev.errors import InvalidInputError
from crimeprev.indicators.export import read_sdmx
from crimeprev.indicators.sdg import availability, compute_indicator, incident_indicator
from crimeprev.store import areas, open_warehouse
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import BUNDLED_DATA_DIR, load_profile

PROFILE = """
name = "test_victims"
title = "Synthetic victim records"
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
victim_sex = "sex"
victim_age = "age"
"""
RECORDS = pd.DataFrame(
    {
        "date": ["2020-01-05", "2020-02-05", "2020-03-05", "2020-04-05", "2021-01-05",
                 "2020-05-05", "2020-06-05", "2020-07-05", "2020-08-09", "2020-09-09"],
        "iccs": ["0101", "0101", "0101", "0101", "0101",
                 "02041", "02042", "0204", "02041", "0101"],
        "region": ["A", "A", "B", "B", "A", "A", "B", "B", "A", "A"],
        "sex": ["M", "M", "F", "", "F", "F", "M", "F", "F", "M"],
        "age": ["25", "35", "17", "", "70", "16", "40", "22", "19", "61"],
    }
)  # fmt: skip
# Population by region and sex, 2020 (the only census year).
POPULATION = {("A", "Total"): 50_000, ("B", "Total"): 30_000, ("A", "Male"): 26_000,
              ("B", "Male"): 15_000, ("A", "Female"): 24_000, ("B", "Female"): 15_000}  # fmt: skip


@pytest.fixture
def victims(tmp_path):
    warehouse = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    (tmp_path / "p.toml").write_text(PROFILE, encoding="utf-8")
    RECORDS.to_csv(tmp_path / "d.csv", index=False)
    result = import_file(warehouse, load_profile(tmp_path / "p.toml"), tmp_path / "d.csv")
    assert result.rows_accepted == len(RECORDS)
    keys = list(POPULATION)
    areas.store_population(
        warehouse,
        area_set="test_regions",
        area_ids=[k[0] for k in keys],
        years=[2020] * len(keys),
        populations=[float(v) for v in POPULATION.values()],
        sexes=[k[1] for k in keys],
        source="synthetic",
    )
    yield warehouse
    warehouse.close()


def _population(sex: str) -> float:
    return float(sum(v for (_, s), v in POPULATION.items() if s == sex))


def test_homicide_by_sex_and_age_from_records(victims):
    table = incident_indicator(victims, "16.1.1", "test_victims").frame.set_index(
        ["year", "sex", "age"]
    )
    homicide = RECORDS[RECORDS["iccs"] == "0101"].assign(year=lambda d: d["date"].str[:4])
    in_2020 = homicide[homicide["year"] == "2020"]
    total = table.loc[(2020, "Total", "Total")]
    assert total["numerator"] == len(in_2020) == 5
    assert total["denominator"] == _population("Total")
    assert_allclose(total["value"], len(in_2020) / _population("Total") * 1e5)
    # Garwood interval straight from the chi-square quantiles.
    assert_allclose(
        [total["ci_low"], total["ci_high"]],
        [
            stats.chi2.ppf(0.025, 10) / 2 / 80_000 * 1e5,
            stats.chi2.ppf(0.975, 12) / 2 / 80_000 * 1e5,
        ],
    )
    men = table.loc[(2020, "Male", "Total")]
    assert men["numerator"] == (in_2020["sex"] == "M").sum() == 3
    assert_allclose(men["value"], 3 / _population("Male") * 1e5)
    # Men aged 15-29: one victim; no population by age is given, so no rate.
    young_men = table.loc[(2020, "Male", "15-29")]
    assert young_men["numerator"] == 1 and np.isnan(young_men["value"])
    assert bool(young_men["no_population"])
    assert table.loc[(2020, "Total", "60+"), "numerator"] == 1  # the 61-year-old
    assert table.loc[(2020, "Unknown", "Unknown"), "numerator"] == 1  # sex and age blank
    # 2021 uses the 2020 population (the latest census year not after it).
    assert table.loc[(2021, "Female", "Total"), "denominator"] == _population("Female")


def test_trafficking_by_form_of_exploitation(victims):
    result = incident_indicator(victims, "16.2.2", "test_victims", by_age=False)
    table = result.frame.set_index(["year", "sex", "form"])
    trafficking = RECORDS[RECORDS["iccs"].str.startswith("0204")]
    assert table.loc[(2020, "Total", "Total"), "numerator"] == len(trafficking) == 4
    assert table.loc[(2020, "Female", "02041"), "numerator"] == 2
    assert table.loc[(2020, "Total", "02042"), "numerator"] == 1
    assert table.loc[(2020, "Female", "Unknown"), "numerator"] == 1  # coded 0204 only
    assert_allclose(table.loc[(2020, "Female", "02041"), "value"], 2 / 39_000 * 1e5)
    assert "detected" in result.numerator_definition.lower()


def test_wdi_homicide_rate_with_derived_numerator(stats_settings):
    rates = pd.read_parquet(BUNDLED_DATA_DIR / "world_homicide_wdi/homicide_rate_per_100k.parquet")
    population = pd.read_parquet(
        BUNDLED_DATA_DIR / "world_homicide_wdi/population_by_country.parquet"
    )
    expected = rates.merge(population[["iso3", "year", "population"]], on=["iso3", "year"])
    row = expected[(expected["iso3"] == "MEX") & (expected["year"] == 2015)].iloc[0]
    warehouse = open_warehouse(stats_settings.warehouse_url)
    try:
        table = compute_indicator(warehouse, "16.1.1", "wdi_homicide").frame
    finally:
        warehouse.close()
    got = table[(table["area_id"] == "MEX") & (table["year"] == 2015)].iloc[0]
    assert_allclose(got["value"], row["rate_per_100k"])
    assert_allclose(got["numerator"], row["rate_per_100k"] * row["population"] / 1e5)
    assert got["denominator"] == row["population"] and bool(got["numerator_derived"])
    assert len(table) == len(rates)


def test_availability_names_sources_and_reasons(stats_settings):
    warehouse = open_warehouse(stats_settings.warehouse_url)
    try:
        found = {item.indicator: item for item in availability(warehouse)}
        with pytest.raises(InvalidInputError, match="not computed from recorded offences"):
            compute_indicator(warehouse, "16.3.2", "wdi_homicide")
    finally:
        warehouse.close()
    assert found["16.1.1"].sources == ("vancouver_2020", "wdi_homicide")
    assert not found["16.2.2"].computable
    assert "0204 Trafficking in persons" in found["16.2.2"].reason
    assert "survey" in found["16.1.3"].reason.lower()
    assert "detention" in found["16.3.2"].reason
    assert len(found) == 19


def test_indicator_faces(stats_client, stats_settings, monkeypatch, tmp_path):
    listing = stats_client.get("/api/stats/indicators").json()["indicators"]
    assert {i["indicator"] for i in listing if i["computable"]} == {"16.1.1"}
    data = stats_client.get(
        "/api/stats/indicators/16.1.1", params={"source": "vancouver_2020"}
    ).json()
    total = next(r for r in data["rows"] if r["sex"] == "Total" and r["age"] == "Total")
    assert total["numerator"] == 19 and total["denominator"] is None
    assert any("no victim sex" in note for note in data["notes"])
    assert "UNODC" in data["custodian_agency"] and "sex" in data["disaggregations"]
    page = stats_client.get("/stats/indicators", params={"year": 2015})
    assert (
        page.status_code == 200
        and "Mexico" in page.text
        and "no source in the warehouse" in page.text
    )
    xml = stats_client.get(
        "/api/stats/indicators/16.1.1",
        params={"source": "wdi_homicide", "area": "MEX", "year": 2015, "format": "sdmx-ml"},
    )
    back = read_sdmx(xml.content).set_index("UNIT_MEASURE")
    assert back.loc["PER_100000", "REF_AREA"] == "MEX" and back.loc["NUMBER", "ICCS"] == "0101"
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    runner = CliRunner()
    listed = runner.invoke(cli, ["stats", "indicators", "--list"])
    assert listed.exit_code == 0 and "16.2.2" in listed.output
    out = tmp_path / "vancouver.csv"
    result = runner.invoke(
        cli, ["stats", "indicators", "--source", "vancouver_2020", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(out.read_text()))
    assert (
        frame.loc[(frame["sex"] == "Total") & (frame["age"] == "Total"), "numerator"].item() == 19
    )
