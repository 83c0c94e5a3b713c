"""The crime statistics faces: CLI commands, pages and their JSON twins."""

from __future__ import annotations

from typer.testing import CliRunner

from crimeprev.cli.main import app as cli


def test_pages_and_json_twins(stats_client):
    page = stats_client.get("/stats")
    assert page.status_code == 200 and "Vancouver police-recorded crime 2020" in page.text
    profile = stats_client.get("/stats/vancouver_2020")
    assert profile.status_code == 200
    assert "Intentional homicide" in profile.text and "date_nonexistent" in profile.text
    # The quarantined rows themselves (reasons with their values) are for signed-in users.
    assert "clocks went forward" not in profile.text
    data = stats_client.get("/api/stats/vancouver_2020").json()
    homicide = next(row for row in data["by_category"] if row["iccs_code"] == "0101")
    # 19 homicides, each alone in its month and neighbourhood: every listed cell
    # is at least 1, so a published 19 would give each hidden cell back. The
    # source's one disclosure pattern hides the total too (issue #3, item 10).
    assert homicide["counts"] == {"2020": None} and homicide["suppressed"] == [2020]
    # Two rows quarantined: a small count, suppressed (issue #3, item 10).
    assert data["quarantine_reasons"] == [
        {
            "rule": "date_nonexistent",
            "rows": None,
            "suppression": "suppressed",
            "example_row": 20460,
        }
    ]
    counts = stats_client.get("/api/stats/sf_2012/counts", params={"level": 2}).json()
    assert sum(row["count"] or 0 for row in counts["counts"]) < 10_140  # small ones hidden
    sf = stats_client.get("/api/stats/sf_2012").json()
    assert [row["count"] for row in sf["by_year"]] == [10_140]
    quality = stats_client.get("/api/stats/vancouver_2020/quality").json()
    assert quality["geocoding_ok"] and quality["iccs_mapped_share"] == 1.0
    assert "Data quality" in profile.text
    quarantine = stats_client.get("/api/stats/sf_2012/quarantine", params={"limit": 5})
    assert quarantine.status_code == 401  # records, not counts: signed-in users only


def test_small_counts_suppressed_on_the_page(stats_client, stats_settings):
    from crimeprev.indicators.counts import CountQuery, count_incidents
    from crimeprev.store import open_warehouse

    counts = stats_client.get("/api/stats/sf_2012/counts", params={"level": 3}).json()["counts"]
    assert {row["suppression"] for row in counts} == {"", "suppressed"}  # one mark, no reason
    warehouse = open_warehouse(stats_settings.warehouse_url)
    try:
        raw = count_incidents(warehouse, CountQuery(source="sf_2012", level=3))
    finally:
        warehouse.close()
    small_codes = set(raw.loc[(raw["count"] > 0) & (raw["count"] < 5), "iccs_code"])
    data = stats_client.get("/api/stats/sf_2012", params={"level": 3}).json()
    rows = {row["iccs_code"]: row for row in data["by_category"]}
    assert small_codes
    for code in small_codes:
        assert rows[code]["counts"]["2012"] is None and rows[code]["total"] is None
    # One year only: the yearly total is published, so at least two cells are
    # hidden (secondary suppression) and no hidden cell can be recovered.
    assert sum(1 for row in rows.values() if row["suppressed"]) >= 2


def test_unknown_source_has_the_json_error_shape(stats_client):
    response = stats_client.get("/api/stats/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_cli_counts_rates_and_concordance(stats_settings, monkeypatch):
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    runner = CliRunner()
    result = runner.invoke(
        cli, ["stats", "counts", "vancouver_2020", "--level", "1", "--period", "all"]
    )
    assert result.exit_code == 0, result.output
    assert "05" in result.output and "32,899" in result.output
    result = runner.invoke(cli, ["stats", "counts", "vancouver_2020", "--period", "fortnight"])
    assert result.exit_code == 2 and "error: period must be one of" in " ".join(
        result.output.split()
    )
    result = runner.invoke(cli, ["concordance", "coverage", "sf_2012"])
    assert "100.0% of 10,140 records" in " ".join(result.output.split())
    result = runner.invoke(cli, ["concordance", "check", "vpd_type"])
    assert result.exit_code == 0 and "valid" in result.output
    result = runner.invoke(cli, ["stats", "rates", "sf_2012"])
    output = " ".join(result.output.split())
    assert result.exit_code == 2 and "no population for area set 'sfpd_districts'" in output


def test_cli_import_reports_counts_and_skips_reimport(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(settings.data_dir))
    path = tmp_path / "street.csv"
    path.write_text(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context\n"
        "x1,2022-03,P,P,-2.70,53.76,A St,E01025001,Preston 001A,Burglary,,\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    first = runner.invoke(cli, ["stats", "import", "police_uk", str(path)])
    assert first.exit_code == 0, first.output
    assert "read 1, accepted 1, quarantined 0" in first.output
    second = runner.invoke(cli, ["stats", "import", "police_uk", str(path)])
    assert "already imported" in second.output
    missing = runner.invoke(cli, ["stats", "import", "police_uk", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "no such file" in " ".join(missing.output.split())


def test_top_level_aliases_run_the_stats_commands(stats_settings, monkeypatch):
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    runner = CliRunner()
    short = runner.invoke(cli, ["counts", "sf_2012", "--level", "1", "--period", "all"])
    long = runner.invoke(cli, ["stats", "counts", "sf_2012", "--level", "1", "--period", "all"])
    assert short.exit_code == 0 and short.output == long.output
    listing = runner.invoke(cli, ["--help"])
    for name in (
        "ingest",
        "sources",
        "counts",
        "rates",
        "trends",
        "quality",
        "indicators",
        "export",
    ):
        assert name in listing.output
    missing = runner.invoke(cli, ["ingest", "police_uk", "/nonexistent/file.csv"])
    assert missing.exit_code == 2 and "no such file" in " ".join(missing.output.split())
