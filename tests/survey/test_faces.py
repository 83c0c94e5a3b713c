"""The survey CLI, pages and JSON twins."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli

runner = CliRunner()


@pytest.fixture(scope="module")
def police_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("police") / "police.csv"
    path.write_text("iccs_code,count,period\n0501,1000000,2021\n0401,200000,2021\n")
    return path


def test_cli_estimate_json_matches_the_book():
    result = runner.invoke(
        cli,
        [
            "survey",
            "estimate",
            "property",
            "--design",
            "ncvs_2021_households",
            "--statistic",
            "total",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert round(records[0]["estimate"]) == 11682056
    assert round(records[0]["se"]) == 263844


def test_cli_estimate_by_domain_with_labels_and_csv():
    result = runner.invoke(
        cli,
        [
            "survey",
            "estimate",
            "burglary",
            "--design",
            "ncvs_2021_households",
            "--by",
            "region",
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "region=South" in result.output


def test_cli_dark_figure(police_file):
    result = runner.invoke(
        cli, ["survey", "dark-figure", "--police", str(police_file), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["iccs_code"] for row in rows] == ["0501", "0401"]
    assert rows[0]["ratio"] == pytest.approx(rows[0]["survey_total"] / 1_000_000)


def test_cli_errors_exit_2(tmp_path):
    result = runner.invoke(cli, ["survey", "estimate", "nope", "--design", "ncvs_2021_households"])
    assert result.exit_code == 2
    assert "error: variable 'nope' is not in the data" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("iccs_code,count\n12345678,5\n")
    result = runner.invoke(cli, ["survey", "dark-figure", "--police", str(bad)])
    assert result.exit_code == 2
    assert "is not an ICCS 1.0 code" in result.output


def test_page_and_json_twin(client):
    page = client.get("/survey")
    assert page.status_code == 200
    assert "Victimisations by type of crime" in page.text
    assert "/static/vendor/vega/vega-embed.min.js" in page.text
    data = client.get("/api/survey").json()
    property_row = next(r for r in data["victimisations"] if r["variable"] == "property")
    assert round(property_row["estimate"]) == 11682056
    assert data["charts"]["victimisations"]["layer"][0]["mark"]["type"] == "rule"
    assert any(r["flags"] for r in data["household_indicators"])


def test_estimate_endpoint_and_fragment(client):
    body = client.get(
        "/api/survey/estimate",
        params={"variable": ["property"], "statistic": "mean", "by": ["tenure"]},
    ).json()
    assert [r["domain"] for r in body["estimates"]] == ["tenure=Owned", "tenure=Rented"]
    fragment = client.get("/survey/estimate", params={"variables": "property", "by": "tenure"})
    assert "tenure=Owned" in fragment.text
    bad = client.get("/api/survey/estimate", params={"variable": ["x"], "profile": "../etc"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_input"


def test_dark_figure_endpoints(client):
    got = client.get(
        "/api/survey/dark-figure", params={"police": "0501:1000000;0401:200000"}
    ).json()
    posted = client.post(
        "/api/survey/dark-figure",
        json={
            "counts": [
                {"iccs_code": "0501", "count": 1000000},
                {"iccs_code": "0401", "count": 200000},
            ]
        },
    ).json()
    assert got["rows"] == posted["rows"]
    fragment = client.post(
        "/survey/dark-figure", data={"police": "0501, 1000000, 2021", "method": "fieller"}
    )
    assert "Burglary" in fragment.text and "fieller" in fragment.text
    error = client.get("/api/survey/dark-figure", params={"police": "9999:5"})
    assert error.status_code == 422
    assert "not an ICCS 1.0 code" in error.json()["error"]["message"]


def test_cli_dark_figure_counts_the_warehouse(tmp_path, monkeypatch):
    from datetime import datetime

    import pyarrow as pa

    from crimeprev.store.warehouse import open_warehouse

    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path))
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    monkeypatch.setenv("CRIMEPREV_WAREHOUSE_URL", url)
    records = pa.table(
        {
            "source": ["police"] * 6,
            "occurred_at": [datetime(2021, 3, 1)] * 5 + [datetime(2020, 3, 1)],
            "iccs_code": ["050121", "050121", "0501", "0401", "04011", "050121"],
            "iccs_weight": [1.0] * 6,
            "occurred_precision": ["day"] * 6,
        }
    )
    with open_warehouse(url) as warehouse:
        warehouse.insert("incident", records)
    arguments = [
        "survey",
        "dark-figure",
        "--source",
        "police",
        "--year",
        "2021",
        "--format",
        "json",
    ]
    result = runner.invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    counts = {row["iccs_code"]: row["police_count"] for row in json.loads(result.output)}
    assert counts == {"0501": 3, "0401": 2}
    missing = runner.invoke(cli, ["survey", "dark-figure"])
    assert missing.exit_code == 2
    assert "give --police FILE" in missing.output


def test_cli_estimate_with_a_user_profile_and_sav_labels(tmp_path):
    import pandas as pd
    import pyreadstat

    frame = pd.DataFrame(
        {
            "wgt": [10.0, 10.0, 20.0, 20.0, 15.0, 15.0],
            "stratum": [1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
            "safe": [1.0, 2.0, 1.0, 1.0, 2.0, 1.0],
        }
    )
    pyreadstat.write_sav(
        frame,
        str(tmp_path / "survey.sav"),
        variable_value_labels={"safe": {1.0: "Safe", 2.0: "Unsafe"}},
    )
    (tmp_path / "profile.toml").write_text(
        '[survey]\nname = "Test survey"\nfile = "survey.sav"\n'
        '[design]\nweights = "wgt"\nstrata = "stratum"\n'
    )
    arguments = ["survey", "estimate", "safe", "--design", str(tmp_path / "profile.toml")]
    result = runner.invoke(cli, [*arguments, "--statistic", "proportion", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["category"]: row for row in json.loads(result.output)}
    assert rows["Safe"]["suppressed"] and rows["Safe"]["estimate"] is None  # n = 6 < 10
    arguments += ["--statistic", "proportion", "--suppress-n", "2", "--format", "json"]
    rows = {row["category"]: row for row in json.loads(runner.invoke(cli, arguments).output)}
    assert rows["Safe"]["estimate"] == pytest.approx((10 + 40 + 15) / 90)
    assert rows["Safe"]["flags"] == ["small_n"]
