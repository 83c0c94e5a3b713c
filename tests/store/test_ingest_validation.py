"""Row validation, quarantine reasons, whole-file errors and atomic imports on small files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pandas as pd
import pytest

from crimeprev.errors import DataFileError
from crimeprev.indicators.counts import CountQuery, count_incidents
from crimeprev.store import open_warehouse
from crimeprev.store.ingest import import_file, import_log, quarantined
from crimeprev.store.profiles import load_profile, parse_profile

PROFILE = parse_profile(
    textwrap.dedent(
        """
        name = "test_city"
        title = "Test city"
        kind = "incident"
        format = "csv"
        concordance = "vpd_type"
        timezone = "America/Chicago"
        earliest = "2015-01-01"
        duplicates = "id"
        id_columns = ["id"]

        [occurred]
        column = "when"
        format = "%Y-%m-%d %H:%M"
        precision = "minute"

        [offence]
        code = "type"
        label = "type"

        [location]
        lon = "lon"
        lat = "lat"
        bbox = [-88.0, 41.0, -87.0, 42.5]
        zero = "reject"

        [tags]
        victim_age = "age"
        victim_sex = "sex"
        """
    )
)
NOW = datetime(2024, 6, 1, tzinfo=UTC)
HEADER = "id,when,type,lon,lat,age,sex\n"
GOOD = [
    "1,2020-01-05 10:00,Mischief,-87.6,41.8,34,F",
    "2,2020-01-06 23:59,Theft of Vehicle,-87.7,41.9,,M",
    "3,2021-02-28 00:00,Homicide,-87.65,41.85,51,M",
]
BAD = {
    "date_future": "4,2030-01-01 10:00,Mischief,-87.6,41.8,20,F",
    "date_impossible": "5,2021-02-30 10:00,Mischief,-87.6,41.8,20,F",
    "date_malformed": "6,05/01/2020,Mischief,-87.6,41.8,20,F",
    "date_too_early": "7,2014-12-31 23:00,Mischief,-87.6,41.8,20,F",
    "date_nonexistent": "8,2019-03-10 02:30,Mischief,-87.6,41.8,20,F",
    "coordinate_zero": "9,2020-01-05 10:00,Mischief,0,0,20,F",
    "coordinate_outside": "10,2020-01-05 10:00,Mischief,-122.4,37.8,20,F",
    "coordinate_malformed": "11,2020-01-05 10:00,Mischief,west,41.8,20,F",
    "offence_missing": "12,2020-01-05 10:00,,-87.6,41.8,20,F",
    "victim_age_invalid": "13,2020-01-05 10:00,Mischief,-87.6,41.8,131,F",
    "duplicate": "1,2020-01-05 10:00,Mischief,-87.6,41.8,34,F",
    "date_missing": "14,,Mischief,-87.6,41.8,20,F",
}


def write(tmp_path, lines, name="incidents.csv", header=HEADER):
    path = tmp_path / name
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def warehouse(tmp_path):
    w = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    yield w
    w.close()


def test_every_bad_row_quarantined_with_its_reason(warehouse, tmp_path):
    path = write(tmp_path, GOOD + list(BAD.values()))
    result = import_file(warehouse, PROFILE, path, now=NOW)
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (15, 3, 12)
    rows = {row["source_row"]: row for row in quarantined(warehouse, "test_city")}
    for offset, (rule, line) in enumerate(BAD.items(), start=len(GOOD) + 1):
        row = rows[offset]
        assert f"[{rule}]" in row["reasons"], (rule, row["reasons"])
        assert row["raw"].startswith("when=") and line.split(",")[2] in row["raw"]
    assert "column 'when' = '2021-02-30 10:00': impossible date" in rows[5]["reasons"]
    assert "column 'lon' = '-122.4', column 'lat' = '37.8': outside" in rows[10]["reasons"]
    assert "column 'age' = '131': age must be a whole number from 0 to 120" in rows[13]["reasons"]
    assert "of row 1" in rows[14]["reasons"]
    log = import_log(warehouse, "test_city")[0]
    assert (log["rows_read"], log["rows_accepted"], log["rows_quarantined"]) == (15, 3, 12)
    assert len(log["file_hash"]) == 64


def test_row_breaking_several_rules_lists_them_all(warehouse, tmp_path):
    path = write(tmp_path, ["1,2030-02-30 10:00,,0,0,999,F"])
    import_file(warehouse, PROFILE, path, now=NOW)
    reasons = quarantined(warehouse, "test_city")[0]["reasons"]
    for rule in ("date_impossible", "offence_missing", "coordinate_zero", "victim_age_invalid"):
        assert f"[{rule}]" in reasons


def test_accepted_rows_coded_and_typed(warehouse, tmp_path):
    import_file(warehouse, PROFILE, write(tmp_path, GOOD), now=NOW)
    counts = count_incidents(warehouse, CountQuery("test_city", level=None, period="year"))
    assert counts[["iccs_code", "count"]].values.tolist() == [
        ["050211", 1.0],
        ["0504", 1.0],
        ["0101", 1.0],
    ]
    incident = warehouse.table("incident")
    ages = warehouse.to_arrow(incident.select("victim_age").order_by("victim_age")).to_pylist()
    assert [a["victim_age"] for a in ages] == [34, 51, None]


def test_same_file_twice_adds_nothing(warehouse, tmp_path):
    path = write(tmp_path, GOOD + [BAD["date_future"]])
    first = import_file(warehouse, PROFILE, path, now=NOW)
    second = import_file(warehouse, PROFILE, path, now=NOW)
    assert not first.skipped and second.skipped
    assert warehouse.scalar(warehouse.table("incident").count()) == 3
    assert warehouse.scalar(warehouse.table("quarantine").count()) == 1
    assert len(import_log(warehouse, "test_city")) == 1


def test_failure_midway_leaves_warehouse_unchanged(warehouse, tmp_path, monkeypatch):
    import crimeprev.store.ingest as ingest

    import_file(warehouse, PROFILE, write(tmp_path, GOOD[:1], name="a.csv"), now=NOW)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "_write_quarantine", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(warehouse, PROFILE, write(tmp_path, GOOD[1:], name="b.csv"), now=NOW)
    assert warehouse.scalar(warehouse.table("incident").count()) == 1
    assert len(import_log(warehouse, "test_city")) == 1


@pytest.mark.slow
def test_killed_process_leaves_warehouse_unchanged(tmp_path):
    # The child is killed (os._exit, no clean-up) after inserting the accepted
    # rows and before the commit; the warehouse file must not show them.
    database = tmp_path / "killed.duckdb"
    csv_path = write(tmp_path, GOOD)
    script = textwrap.dedent(
        f"""
        import os
        import crimeprev.store.ingest as ingest
        from crimeprev.store import open_warehouse
        from tests.store.test_ingest_validation import PROFILE, NOW
        warehouse = open_warehouse("duckdb://{database}")
        ingest._write_quarantine = lambda *a, **k: os._exit(9)
        ingest.import_file(warehouse, PROFILE, "{csv_path}", now=NOW)
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    child = subprocess.run([sys.executable, "-c", script], cwd=root, timeout=120)
    assert child.returncode == 9
    warehouse = open_warehouse(f"duckdb://{database}")
    assert warehouse.scalar(warehouse.table("incident").count()) == 0
    assert warehouse.scalar(warehouse.table("import_log").count()) == 0
    warehouse.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (HEADER.encode(), "header but no data rows"),
        (
            b"id;when;type;lon;lat;age;sex\n1;2020-01-05 10:00;Mischief;-87.6;41.8;34;F\n",
            "wrong delimiter",
        ),
        (
            b"id,when,type,lon,lat\n1,2020-01-05 10:00,Mischief,-87.6,41.8\n",
            "missing required column(s) ['age', 'sex']",
        ),
        (
            HEADER.encode() + "1,2020-01-05 10:00,Caf\xe9,-87.6,41.8,34,F\n".encode("latin-1"),
            "not UTF-8",
        ),
        (
            HEADER.encode()
            + b"1,2020-01-05 10:00,Mischief,-87.6,41.8,34,F\n2,2020-01-06 10:00,Mis",
            "row 2",
        ),
        (
            HEADER.encode() + b"1,2020-01-05 10:00,Mischief,-87.6,41.8,34,F" + b",x" * 5000 + b"\n",
            "5007 columns",
        ),
    ],
    ids=[
        "empty",
        "header-only",
        "semicolons",
        "missing-column",
        "latin-1",
        "truncated",
        "thousands-of-columns",
    ],
)
def test_whole_file_errors_say_what_was_found(warehouse, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataFileError) as caught:
        import_file(warehouse, PROFILE, path, now=NOW)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    assert warehouse.scalar(warehouse.table("import_log").count()) == 0


def test_excel_import(warehouse, tmp_path):
    frame = pd.DataFrame([line.split(",") for line in GOOD], columns=HEADER.strip().split(","))
    path = tmp_path / "incidents.xlsx"
    frame.to_excel(path, index=False)
    result = import_file(warehouse, PROFILE, path, now=NOW)
    assert (result.rows_read, result.rows_accepted) == (3, 3)


POLICE_UK = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context\n"
    ",2022-03,Lancashire Constabulary,Lancashire Constabulary,-2.70,53.76,On or near A St,"
    "E01025001,Preston 001A,Anti-social behaviour,,\n"
    "abc1,2022-03,Lancashire Constabulary,Lancashire Constabulary,-2.71,53.77,On or near B St,"
    "E01025001,Preston 001A,Vehicle crime,Under investigation,\n"
    "abc2,2022-03,Lancashire Constabulary,Lancashire Constabulary,,,No location,"
    ",,Burglary,Under investigation,\n"
    "abc3,2022-13,Lancashire Constabulary,Lancashire Constabulary,-2.71,53.77,On or near B St,"
    "E01025001,Preston 001A,Burglary,Under investigation,\n"
)


def test_police_uk_format_with_one_to_many_concordance(warehouse, tmp_path):
    path = tmp_path / "2022-03-lancashire-street.csv"
    path.write_text(POLICE_UK, encoding="utf-8")
    result = import_file(warehouse, load_profile("police_uk"), path, now=NOW)
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (4, 3, 1)
    assert "[date_impossible]" in quarantined(warehouse, "police_uk")[0]["reasons"]
    counts = count_incidents(warehouse, CountQuery("police_uk", level=None, period="month"))
    shares = dict(zip(counts["iccs_code"], counts["count"], strict=True))
    # "Vehicle crime" is split 0.5 / 0.5 between theft of and theft from a vehicle.
    assert shares == {"0501": 1.0, "05021": 0.5, "050222": 0.5, "08019": 1.0}
    assert counts["count"].sum() == 3
