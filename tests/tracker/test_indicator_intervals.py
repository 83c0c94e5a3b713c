"""Uncertainty and series breaks of a State's indicator trends.

The intervals are checked against the chi-square form of Garwood's exact
Poisson interval computed here with scipy from the bundled UN-CTS file (the
published count and rate of each year); the breaks against the years missing
in the bundled files, and against a small synthetic pair of aggregate sources
with a dated concordance change, a code that starts inside a series and a
second publisher of the same indicator.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from numpy.testing import assert_allclose
from scipy.stats import chi2
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli
from crimeprev.config import Settings
from crimeprev.store import open_warehouse
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import BUNDLED_DATA_DIR, load_profile
from crimeprev.tracker.indicators import (
    country_series,
    series_chart,
    series_intervals,
    warehouse_series,
)
from crimeprev.web.app import create_app

SQLITE_ONLY = pytest.mark.parametrize("tracker_db", ["sqlite"], indirect=True)
CTS = "unodc_cts_offences_2003_2022/data_cts_violent_and_sexual_crime.parquet"


def _garwood(count: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    alpha = 1 - confidence
    low = np.where(count > 0, chi2.ppf(alpha / 2, 2 * np.maximum(count, 1e-300)) / 2, 0.0)
    return low, chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2


def _cts(iso3: str, category: str) -> pd.DataFrame:
    """Year, published count and published rate of one UN-CTS category (totals)."""
    raw = pd.read_parquet(BUNDLED_DATA_DIR / CTS)
    raw = raw[
        (raw["Iso3_code"] == iso3)
        & (raw["Category"] == category)
        & (raw["Sex"] == "Total")
        & (raw["Age"] == "Total")
    ]
    wide = raw.pivot_table(index="Year", columns="Unit of measurement", values="VALUE")
    return wide.rename(columns={"Counts": "count", "Rate per 100,000 population": "rate"})


@pytest.fixture(scope="module")
def kenya(warehouse_url):
    warehouse = open_warehouse(warehouse_url)
    try:
        return {series.series: series for series in warehouse_series(warehouse, "KEN")}
    finally:
        warehouse.close()


@pytest.mark.parametrize(
    ("series", "category"),
    [("ICCS 020221", "Kidnapping"), ("ICCS 03011", "Sexual violence: Rape")],
    ids=["kidnapping", "rape"],
)
def test_rate_intervals_are_the_published_counts_garwood_interval_scaled(kenya, series, category):
    expected = _cts("KEN", category).dropna()
    found = kenya[series]
    assert [year for year, _ in found.points] == expected.index.astype(int).tolist()
    counts = expected["count"].to_numpy()
    rates = expected["rate"].to_numpy()
    low, high = _garwood(counts)
    assert_allclose(found.counts, counts)
    assert_allclose(found.ci_low, low * rates / counts, rtol=1e-10)
    assert_allclose(found.ci_high, high * rates / counts, rtol=1e-10)
    # Every published value lies inside its own interval.
    assert all(lo < value < hi for (_, value), lo, hi in zip(found.points, low * rates / counts,
               high * rates / counts, strict=True))  # fmt: skip
    assert found.interval_notes == ()


def test_a_rate_without_its_count_has_no_interval_and_says_why(kenya):
    homicide = kenya["16.1.1"]
    assert homicide.points and all(bound is None for bound in homicide.ci_low + homicide.ci_high)
    assert homicide.interval_notes == (
        "no interval for any year: the source wdi_homicide publishes the rate without the "
        "count it is built from",
    )
    bundled = country_series("16.1.1", "KEN")
    assert all(bound is None for bound in bundled.ci_high)
    assert "WDI publishes this rate without the number of victims" in bundled.interval_notes[0]


def test_missing_years_inside_a_series_are_breaks(kenya):
    wdi = pd.read_parquet(BUNDLED_DATA_DIR / "world_homicide_wdi/homicide_rate_per_100k.parquet")
    years = set(wdi[(wdi["iso3"] == "KEN") & wdi["rate_per_100k"].notna()]["year"].astype(int))
    missing = sorted(set(range(min(years), max(years) + 1)) - years)
    assert missing == [2013]  # the WDI series of Kenya skips 2013
    assert [(b.period, b.kind) for b in kenya["16.1.1"].breaks] == [("2013", "coverage")]
    for series, category in (("ICCS 020221", "Kidnapping"), ("ICCS 0502", "Theft")):
        published = (
            _cts("KEN", category).dropna().index.astype(int)
            if category != "Theft"
            else _theft_years()
        )
        gaps = sorted(set(range(min(published), max(published) + 1)) - set(published))
        flagged = [int(b.period) for b in kenya[series].breaks if b.detail.startswith("no value")]
        assert gaps and flagged == [gaps[0]] + [
            year for prev, year in zip(gaps, gaps[1:], strict=False) if year != prev + 1
        ]


def _theft_years() -> list[int]:
    raw = pd.read_parquet(
        BUNDLED_DATA_DIR
        / "unodc_cts_offences_2003_2022/data_cts_corruption_and_economic_crime.parquet"
    )
    raw = raw[
        (raw["Iso3_code"] == "KEN")
        & (raw["Category"] == "Theft")
        & (raw["Sex"] == "Total")
        & (raw["Age"] == "Total")
        & (raw["Unit of measurement"] == "Rate per 100,000 population")
    ]
    return sorted(raw["Year"].astype(int))


def test_counts_zero_counts_and_other_units():
    values = [0.0, 3.0, 250.0]
    low, high, notes = series_intervals(values, values, years=[2019, 2020, 2021], kind="count")
    expected_low, expected_high = _garwood(np.array(values))
    assert_allclose(np.array(low, dtype=float), expected_low)
    assert_allclose(np.array(high, dtype=float), expected_high)
    assert notes == ()
    # A zero count of a rate: upper bound from the population, else no interval.
    low, high, notes = series_intervals(
        [0.0, 0.0], [0, 0], years=[2020, 2021], kind="rate", populations=[2_000_000, None]
    )
    assert low[0] == 0.0
    assert high[0] == pytest.approx(chi2.ppf(0.975, 2) / 2 * 100_000 / 2_000_000)
    assert (low[1], high[1]) == (None, None)
    assert notes[0].startswith("no interval for 2021: the published count is 0")
    # 90% intervals, and values that are neither counts nor rates.
    low, high, _ = series_intervals([12.0], [12.0], years=[2020], kind="count", confidence=0.9)
    assert (low[0], high[0]) == pytest.approx(
        tuple(float(v[0]) for v in _garwood(np.array([12.0]), 0.9))
    )
    assert series_intervals([40.0], [None], years=[2020], kind="other")[2] == (
        "no interval for any year: the values are neither counts nor rates built from counts",
    )


CONCORDANCE = """national_code,national_label,iccs_code,share,valid_from,valid_to,note
H1,Murder,0101,1,,2015-12-31,
H1,Murder,0101,1,2016-01-01,,definition revised in 2016
H2,Manslaughter,0101,1,,,
"""
AGGREGATE = """name = "{name}"
title = "Synthetic {name}"
kind = "aggregate"
format = "csv"
concordance = "{concordance}"

[offence]
code = "code"

[aggregate]
area = "iso3"
area_name = "country"
year = "year"
unit = "unit"
value = "value"

[area]
set = "iso3"
"""


@pytest.fixture
def synthetic(tmp_path):
    """Two publishers of Ghana's homicide: a ministry (counts and rates) and a second source."""
    concordance = tmp_path / "conc.csv"
    concordance.write_text(CONCORDANCE, encoding="utf-8")
    rows = ["iso3,country,year,code,unit,value"]
    for year, count in zip(range(2012, 2020), (40, 44, 0, 51, 47, 60, 58, 62), strict=True):
        rows.append(f"GHA,Ghana,{year},H1,Counts,{count}")
        rows.append(f"GHA,Ghana,{year},H1,Rate per 100000 population,{count / 30:.6f}")
    # A second national code mapped to the same ICCS code starts in 2017.
    rows.append("GHA,Ghana,2017,H2,Counts,5")
    (tmp_path / "ministry.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    other = ["iso3,country,year,code,unit,value"]
    other += [f"GHA,Ghana,{year},H1,Rate per 100000 population,1.5" for year in (2018, 2019, 2020)]
    (tmp_path / "other.csv").write_text("\n".join(other) + "\n", encoding="utf-8")
    warehouse = open_warehouse(f"duckdb://{(tmp_path / 'w.duckdb').as_posix()}")
    for name, file in (("ministry", "ministry.csv"), ("second_source", "other.csv")):
        profile_path = tmp_path / f"{name}.toml"
        profile_path.write_text(AGGREGATE.format(name=name, concordance=concordance))
        result = import_file(warehouse, load_profile(profile_path), tmp_path / file)
        assert result.rows_quarantined == 0
    yield warehouse
    warehouse.close()


def test_breaks_of_a_source_inside_a_series_and_a_second_publisher(synthetic, monkeypatch):
    # The warehouse does not record which concordance a source read from a profile file
    # (not a bundled one) was coded with; the tracker asks trends.profile_scheme, as the
    # /stats pages do, so it is told here that both sources use conc.csv.
    import crimeprev.indicators.trends as trends

    monkeypatch.setattr(trends, "profile_scheme", lambda _source: "conc")
    found = warehouse_series(synthetic, "GHA")
    ministry, second = found  # both 16.1.1 rates; the ministry's source sorts first
    assert (ministry.series, second.series) == ("16.1.1", "16.1.1")
    kinds = [(b.period, b.kind) for b in ministry.breaks]
    assert ("2016", "concordance") in kinds  # H1's mapping revised from 2016-01-01
    assert ("2017", "coverage") in kinds  # H2 first recorded in 2017
    assert ("2018", "source") in kinds  # the second source begins
    details = " | ".join(b.detail for b in ministry.breaks)
    assert "valid from 2016-01-01" in details and "'H2' first recorded in 2017" in details
    assert second.breaks == ()  # the ministry's series begins before it, not inside it
    # 2014's count is 0: no population in this warehouse, so no interval for that year only.
    years = [year for year, _ in ministry.points]
    assert ministry.ci_high[years.index(2014)] is None
    assert ministry.interval_notes[0].startswith("no interval for 2014: the published count is 0")
    count = 60.0
    low, high = _garwood(np.array([count]))
    index = years.index(2017)
    rate = ministry.points[index][1]
    assert ministry.ci_low[index] == pytest.approx(float(low[0]) * rate / count)
    assert ministry.ci_high[index] == pytest.approx(float(high[0]) * rate / count)
    spec = series_chart(ministry, "Ghana")
    rules = spec["layer"][-1]["data"]["values"]
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["errorband", "line", "rule"]
    assert {(rule["year"], rule["kind"]) for rule in rules} >= {
        (2015.5, "concordance"),
        (2016.5, "coverage"),
        (2017.5, "source"),
    }


@SQLITE_ONLY
def test_state_page_json_and_cli_show_intervals_and_breaks(
    tracker_db, warehouse_url, tmp_path, monkeypatch
):
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key="k",
        database_url=tracker_db.url,
        warehouse_url=warehouse_url,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        data = client.get("/api/tracker/states/KEN").json()
        page = client.get("/tracker/states/KEN").text
    by_name = {series["series"]: series for series in data["series"]}
    expected = _cts("KEN", "Kidnapping").dropna()
    low, high = _garwood(expected["count"].to_numpy())
    kidnapping = by_name["ICCS 020221"]
    assert_allclose(kidnapping["ci_low"], low * expected["rate"] / expected["count"])
    assert_allclose(kidnapping["ci_high"], high * expected["rate"] / expected["count"])
    assert kidnapping["breaks"][0]["detail"] == "no value published for 2016"
    assert by_name["16.1.1"]["ci_low"][0] is None and by_name["16.1.1"]["interval_notes"]
    # The page: the plain note, the break list, the values table and the chart specs.
    assert "No interval for any year: the source wdi_homicide publishes the rate" in page
    assert "from 2013 (coverage): no value published for 2013" in page
    latest = expected.iloc[-1]
    latest_low, latest_high = (b * latest["rate"] / latest["count"] for b in _garwood(
        np.array([latest["count"]])))  # fmt: skip
    assert f"{float(latest_low[0]):.2f} to {float(latest_high[0]):.2f}" in page
    start = page.index('id="tracker-charts">') + len('id="tracker-charts">')
    charts = json.loads(page[start : page.index("</script>", start)])
    marks = [[layer["mark"]["type"] for layer in chart["layer"]] for chart in charts]
    assert marks[0] == ["line", "rule"] and ["errorband", "line", "rule"] in marks
    # The CLI.
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRIMEPREV_DATABASE_URL", tracker_db.url)
    monkeypatch.setenv("CRIMEPREV_WAREHOUSE_URL", warehouse_url)
    result = CliRunner().invoke(cli, ["tracker", "state", "KEN", "--json"])
    assert result.exit_code == 0, result.output
    printed = {series["series"]: series for series in json.loads(result.output)["series"]}
    assert printed["ICCS 020221"]["ci_high"] == pytest.approx(kidnapping["ci_high"])
    table = CliRunner().invoke(cli, ["tracker", "state", "KEN"], terminal_width=200)
    assert table.exit_code == 0, table.output
    assert "no interval for any year: the source wdi_homicide" in table.output
    assert re.search(r"2013\s*│\s*coverage\s*│\s*no value published for 2013", table.output)
    # Kidnapping 2022: the published rate and its interval, as in the JSON.
    row = rf"2022\s*│\s*{expected['rate'].iloc[-1]:.2f}\s*│\s*{expected['count'].iloc[-1]:,.0f}"
    assert re.search(row + rf"\s*│\s*{latest_low[0]:.2f}\s*│\s*{latest_high[0]:.2f}", table.output)


def _latest_wdi(iso3: str) -> tuple[int, float]:
    wdi = pd.read_parquet(BUNDLED_DATA_DIR / "world_homicide_wdi/homicide_rate_per_100k.parquet")
    rows = wdi[(wdi["iso3"] == iso3) & wdi["rate_per_100k"].notna()].sort_values("year")
    return int(rows["year"].iloc[-1]), float(rows["rate_per_100k"].iloc[-1])


def test_paragraph_view_gives_each_reporting_states_latest_indicator_value(
    tracker_db, people, warehouse_url, tmp_path
):
    from crimeprev.tracker import service, views
    from crimeprev.tracker.service import AnswerInput

    with tracker_db.transaction() as session:
        for actor, iso3, paragraphs in (
            (people["kenya"], "KEN", (21, 24, 27)),
            (people["ghana"], "GHA", (21, 27)),
        ):
            number = service.save_submission(
                session, actor, discussion=1, state=iso3,
                answers=[AnswerInput(1, f"{iso3} maps risk factors.", paragraphs=paragraphs)],
            ).id  # fmt: skip
            service.submit_submission(session, actor, number)
            service.publish_submission(session, people["secretary"], number)
    warehouse = open_warehouse(warehouse_url)
    try:
        with tracker_db.transaction() as session:
            view = views.paragraph_view(session, people["public"], 21, warehouse)
            bundled = views.paragraph_view(session, people["public"], 21)
            laundering = views.paragraph_view(session, people["public"], 24, warehouse)
    finally:
        warehouse.close()
    assert [series for series, _, _ in view.indicators] == ["16.1.1"]
    assert [(v.series, v.iso3) for v in view.indicator_values] == [
        ("16.1.1", "GHA"),
        ("16.1.1", "KEN"),
    ]
    for found in (view, bundled):
        for value in found.indicator_values:
            year, rate = _latest_wdi(value.iso3)
            assert (value.year, value.value) == (year, pytest.approx(rate))
            assert value.ci_low is None and "without the" in value.interval_note
    kenya = view.indicator_values[1]
    assert kenya.breaks == 1 and "World Bank" in kenya.source  # the 2013 gap
    # Paragraph 24 is linked to money laundering (UN-CTS), which Kenya does not publish.
    assert [(v.series, v.iso3, v.value) for v in laundering.indicator_values] == [
        ("ICCS 07041", "KEN", None)
    ]
    assert laundering.indicator_values[0].interval_note == (
        "the warehouse holds no value of ICCS 07041 for KEN"
    )
    # Paragraph 27 (gender perspective): sexual violence from UN-CTS, with its interval.
    with tracker_db.transaction() as session:
        warehouse = open_warehouse(warehouse_url)
        try:
            gender = views.paragraph_view(session, people["public"], 27, warehouse)
        finally:
            warehouse.close()
    for value in gender.indicator_values:
        published = _cts(value.iso3, "Sexual violence").dropna()
        year = int(published.index[-1])
        count, rate = published.loc[year, "count"], published.loc[year, "rate"]
        low, high = _garwood(np.array([count]))
        assert (value.series, value.year, value.value) == ("ICCS 0301", year, pytest.approx(rate))
        assert value.ci_low == pytest.approx(float(low[0]) * rate / count)
        assert value.ci_high == pytest.approx(float(high[0]) * rate / count)
    assert [v.iso3 for v in gender.indicator_values] == ["GHA", "KEN"]


def test_only_the_named_series_are_read(warehouse_url, kenya):
    warehouse = open_warehouse(warehouse_url)
    try:
        found = warehouse_series(warehouse, "KEN", names={"ICCS 020221", "16.1.1"})
    finally:
        warehouse.close()
    assert [series.series for series in found] == ["16.1.1", "ICCS 020221"]
    assert found[1] == kenya["ICCS 020221"]  # the same values, intervals and breaks
