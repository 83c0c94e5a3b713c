"""SDMX-ML export and import: round trip, the DSD read by sdmx1, real Vancouver counts."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import sdmx
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli
from crimeprev.errors import DataFileError
from crimeprev.indicators.export import read_sdmx
from crimeprev.indicators.sdmx import (
    read_sdmx_ml,
    structure_xml,
    to_sdmx_frame,
    write_sdmx_csv,
    write_sdmx_ml,
)
from crimeprev.store.profiles import BUNDLED_DATA_DIR

COUNTS = pd.DataFrame(
    {
        "area_id": ["25", "25", "26", "26"],
        "period": ["2019-01-01", "2019-01-01", "2019-01-01", "2020-01-01"],
        "iccs_code": ["02011", "0501", "02011", "02011"],
        "count": [120.0, 2.0, 0.0, 7.5],
    }
)


def test_sdmx_ml_round_trip_keeps_every_observation_and_the_suppression():
    frame = to_sdmx_frame(COUNTS, threshold=5, period_kind="year")
    back = read_sdmx_ml(write_sdmx_ml(frame))
    assert back["TIME_PERIOD"].tolist() == ["2019", "2019", "2019", "2020"]
    assert back["ICCS"].tolist() == ["02011", "0501", "02011", "02011"]
    assert back["OBS_STATUS"].tolist() == ["A", "C", "A", "A"]
    values = back["OBS_VALUE"].to_numpy()
    assert values[0] == 120.0 and np.isnan(values[1]) and values[2] == 0.0 and values[3] == 7.5
    # The same observations as the SDMX-CSV round trip.
    csv_back = read_sdmx(write_sdmx_csv(frame).encode())
    pd.testing.assert_frame_equal(back, csv_back, check_dtype=False)


def test_the_dsd_is_read_by_sdmx1_and_reads_our_data():
    structure = sdmx.read_sdmx(io.BytesIO(structure_xml()))
    dsd = structure.structure["ICCS_COUNTS"]
    assert {d.id for d in dsd.dimensions} == {
        "FREQ", "REF_AREA", "TIME_PERIOD", "ICCS", "SEX", "AGE", "UNIT_MEASURE"
    }  # fmt: skip
    data = write_sdmx_ml(to_sdmx_frame(COUNTS, threshold=5, period_kind="year"))
    message = sdmx.read_sdmx(io.BytesIO(data), structure=dsd)
    series = sdmx.to_pandas(message.data[0])
    assert series.xs("0501", level="ICCS").isna().all()
    assert series.xs("2020", level="TIME_PERIOD").tolist() == [7.5]


def test_bad_sdmx_ml_names_file_row_and_field():
    with pytest.raises(DataFileError, match="not readable as SDMX-ML"):
        read_sdmx_ml(b"<not-sdmx/>", file="x.xml")
    good = write_sdmx_ml(to_sdmx_frame(COUNTS.head(1), threshold=5)).decode()
    with pytest.raises(DataFileError, match="row 1, field 'OBS_STATUS'"):
        read_sdmx_ml(good.replace('OBS_STATUS="A"', 'OBS_STATUS="Q"').encode(), file="x.xml")
    with pytest.raises(DataFileError, match="empty"):
        read_sdmx(b"  ")


def _vancouver_sections() -> pd.Series:
    """Vancouver 2020 offences by ICCS section, counted from the bundled file with pandas."""
    raw = pd.read_parquet(BUNDLED_DATA_DIR / "vancouver_crime_2020/incidents.parquet")
    # 2020-03-08 02:00-02:59 does not exist in Vancouver (clocks went forward).
    raw = raw[~((raw["MONTH"] == 3) & (raw["DAY"] == 8) & (raw["HOUR"] == 2))]
    concordance = pd.read_csv(
        BUNDLED_DATA_DIR.parent.parent / "store/concordances/vpd_type.csv", dtype=str
    )
    lookup = dict(zip(concordance.national_code, concordance.iccs_code, strict=True))
    codes = raw["TYPE"].map(lookup)
    return codes.str[:2].value_counts().sort_index()


def test_vancouver_counts_downloaded_as_sdmx_ml_match_pandas(stats_client):
    response = stats_client.get(
        "/api/stats/vancouver_2020/export",
        params={"format": "sdmx-ml", "level": 1, "by_area": False},
    )
    assert response.status_code == 200 and response.content.startswith(b"<?xml")
    back = read_sdmx(response.content)
    expected = _vancouver_sections()
    got = back.set_index("ICCS")["OBS_VALUE"].sort_index()
    shown = got.dropna()
    assert shown.to_dict() == expected.astype(float)[shown.index].to_dict()
    # A section the source's one disclosure pattern hides is confidential, not
    # missing: section 01's 27 offences are single cells of the monthly export by
    # area, so its total would give them back (issue #3, item 10).
    assert set(got.index) == set(expected.index)
    assert set(back.set_index("ICCS")["OBS_STATUS"][got.isna()]) <= {"C"}
    assert set(back["TIME_PERIOD"]) == {"2020"}
    dsd = stats_client.get("/api/stats/sdmx/structure")
    assert dsd.status_code == 200 and b"ICCS_COUNTS" in dsd.content
    page = stats_client.get("/stats/vancouver_2020")
    assert "export?format=sdmx-ml" in page.text
    bad = stats_client.get("/api/stats/vancouver_2020/export", params={"format": "sdmx-json"})
    assert bad.status_code == 422 and "unknown format" in bad.json()["error"]["message"]


def test_cli_exports_sdmx_ml_with_its_structure_and_reads_it_back(
    stats_settings,
    monkeypatch,
    tmp_path,
):
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    runner = CliRunner()
    output = tmp_path / "vancouver.xml"
    result = runner.invoke(
        cli,
        ["stats", "export", "vancouver_2020", "--output", str(output), "--format", "sdmx-ml",
         "--level", "1", "--no-by-area"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "vancouver.structure.xml").exists()
    back = runner.invoke(cli, ["stats", "read-sdmx", str(output), "--output", str(tmp_path / "b")])
    assert back.exit_code == 0, back.output
    frame = pd.read_csv(tmp_path / "b", dtype={"ICCS": str}).set_index("ICCS")
    expected = _vancouver_sections()
    shown = frame["OBS_VALUE"].dropna()
    # Sections hidden by the disclosure pattern come back confidential (see above).
    assert shown.to_dict() == expected.astype(float)[shown.index].to_dict()
    assert set(frame.loc[frame["OBS_VALUE"].isna(), "OBS_STATUS"]) <= {"C"}


def test_un_cts_sdmx_ml_imports_back_into_the_warehouse(stats_settings, monkeypatch, tmp_path):
    from crimeprev.indicators.aggregates import aggregate_rows, hierarchy_findings
    from crimeprev.indicators.export import export_aggregate
    from crimeprev.store import open_warehouse
    from crimeprev.store.ingest import import_file
    from crimeprev.store.profiles import load_profile

    warehouse = open_warehouse(stats_settings.warehouse_url)
    try:
        austria = aggregate_rows(warehouse, "unodc_cts", area_id="AUT")
    finally:
        warehouse.close()
    mapped = austria.dropna(subset=["iccs_code"])
    xml = tmp_path / "aut.xml"
    xml.write_bytes(export_aggregate(austria, "sdmx-ml"))
    # SDMX-ML -> SDMX-CSV (crimeprev read-sdmx) -> warehouse (the sdmx_csv profile).
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(
        cli, ["stats", "read-sdmx", str(xml), "--output", str(tmp_path / "aut.csv")]
    )
    assert result.exit_code == 0, result.output
    copy = open_warehouse(f"duckdb://{tmp_path / 'copy.duckdb'}")
    try:
        imported = import_file(copy, load_profile("sdmx_csv"), tmp_path / "aut.csv")
        back = aggregate_rows(copy, "sdmx_csv")
    finally:
        copy.close()
    assert imported.rows_accepted == len(mapped) and imported.rows_quarantined == 0
    keys = ["year", "iccs_code", "sex", "age", "unit"]
    original = mapped.set_index(keys)["value"].sort_index()
    again = back.set_index(keys)["value"].sort_index()
    pd.testing.assert_series_equal(original, again, check_exact=False, rtol=1e-12)
    assert [(f.year, f.parent_code, f.unit) for f in hierarchy_findings(back)] == [
        (f.year, f.parent_code, f.unit) for f in hierarchy_findings(mapped)
    ]
