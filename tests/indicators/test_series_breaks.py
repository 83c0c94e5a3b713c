"""Series breaks: a dated concordance change, a new and a dropped offence code, a year with
no records, and a change of area set, in a small synthetic series imported in two files."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli
from crimeprev.errors import NotFoundError
from crimeprev.indicators.trends import series_breaks
from crimeprev.store import open_warehouse
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import load_profile

CONCORDANCE = """national_code,national_label,iccs_code,share,valid_from,valid_to,note
X1,Break-in,0501,1,,2018-12-31,
X1,Break-in,0502,1,2019-01-01,,recoded as theft from 2019
X3,Fraud,0701,1,,,
"""
PROFILE = """name = "test_series"
title = "Synthetic series"
kind = "incident"
format = "csv"
concordance = "{concordance}"
earliest = "2010-01-01"

[occurred]
column = "date"
format = "%Y-%m-%d"
precision = "day"

[offence]
code = "code"
"""
# The second file's records are assigned to wards (the first file's are not).
WARDS = """
[area]
set = "new_wards"
column = "ward"
match = "id"
"""


@pytest.fixture
def series(tmp_path):
    concordance = tmp_path / "conc.csv"
    concordance.write_text(CONCORDANCE, encoding="utf-8")
    first = tmp_path / "first.toml"
    first.write_text(PROFILE.format(concordance=concordance), encoding="utf-8")
    second = tmp_path / "second.toml"
    second.write_text(PROFILE.format(concordance=concordance) + WARDS, encoding="utf-8")
    (tmp_path / "a.csv").write_text("date,code\n2016-03-01,X1\n2017-03-01,X1\n")
    (tmp_path / "b.csv").write_text(
        "date,code,ward\n2019-03-01,X1,W1\n2019-04-01,X3,W1\n2020-03-01,X1,W2\n"
        "2020-05-01,X3,W2\n2021-01-01,X3,W1\n"
    )
    warehouse = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    assert import_file(warehouse, load_profile(first), tmp_path / "a.csv").rows_accepted == 2
    assert import_file(warehouse, load_profile(second), tmp_path / "b.csv").rows_accepted == 5
    yield warehouse
    warehouse.close()


def test_every_kind_of_break_is_flagged_where_it_starts(series):
    found = [(b.period, b.kind) for b in series_breaks(series, "test_series", scheme="conc")]
    assert found == [
        ("2018", "coverage"),  # no records at all in 2018
        ("2019", "area_set"),  # no areas -> new_wards
        ("2019", "concordance"),  # X1 -> 0501 valid until 2018-12-31
        ("2019", "concordance"),  # X1 -> 0502 valid from 2019-01-01
        ("2019", "coverage"),  # X3 first recorded
        ("2021", "coverage"),  # X1 last recorded in 2020
    ]
    details = " | ".join(b.detail for b in series_breaks(series, "test_series", scheme="conc"))
    assert "no records at all in 2018" in details
    assert "area set changes from no areas to new_wards" in details
    assert "X1 -> ICCS 0502 (share 1) valid from 2019-01-01" in details
    assert "'X1' last recorded in 2020" in details


def test_monthly_series_and_one_area(series):
    monthly = series_breaks(series, "test_series", period="month", area_id="W1")
    # W1 has records in 2019-03, 2019-04 and 2021-01 only: 20 empty months between.
    assert sum(b.detail.startswith("no records at all") for b in monthly) == 20
    with pytest.raises(NotFoundError):
        series_breaks(series, "test_series", area_id="nowhere")


def test_trend_faces_show_breaks(stats_client, stats_settings, monkeypatch):
    data = stats_client.get("/api/stats/vancouver_2020/trends").json()
    assert data["years"] == [
        # 37,512 rows in the file less the 2 at non-existent local times.
        {
            "year": "2020",
            "count": 37_510.0,
            "suppression": "",
            "moving_average": None,
            "moving_average_suppression": "",
            "change": None,
            "change_suppression": "",
        }
    ]
    assert data["breaks"] == []
    assert "No series break" in stats_client.get("/stats/vancouver_2020").text
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    result = CliRunner().invoke(cli, ["stats", "trends", "sf_2012"])
    assert result.exit_code == 0, result.output
    assert "break" in result.output and "10,140" in result.output
