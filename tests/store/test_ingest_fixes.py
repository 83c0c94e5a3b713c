"""Ingest fixes: profiles coding offences straight to ICCS, ages exported as decimals,
and counts sorted by the engine."""

from __future__ import annotations

import textwrap
import uuid
from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import text

from crimeprev.errors import DataFileError
from crimeprev.indicators.counts import CountQuery, count_incidents, sorted_count_expression
from crimeprev.store import open_warehouse
from crimeprev.store.ingest import import_file, quarantined
from crimeprev.store.profiles import parse_profile

NOW = datetime(2024, 6, 1, tzinfo=UTC)
HEAD = """
name = "iccs_city"
title = "A source coded to ICCS"
kind = "incident"
format = "csv"

[occurred]
column = "when"
format = "%Y-%m-%d"
"""


def profile(offence: str, tags: str = "") -> object:
    return parse_profile(textwrap.dedent(HEAD) + textwrap.dedent(offence) + textwrap.dedent(tags))


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request, tmp_path):
    """The fixes run on both warehouse backends."""
    if request.param == "duckdb":
        w = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
        yield w
        w.close()
        return
    engine = request.getfixturevalue("postgres_engine")
    schema = f"crimeprev_fix_{uuid.uuid4().hex[:10]}"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = engine.url.render_as_string(hide_password=False)
    w = open_warehouse(url.replace("postgresql+psycopg://", "postgres://") + f"?schema={schema}")
    yield w
    w.close()
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def write(tmp_path, text: str):
    path = tmp_path / "rows.csv"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_iccs_column_alone_codes_rows_and_quarantines_unknown_codes(warehouse, tmp_path):
    only_iccs = profile('[offence]\niccs = "iccs_code"\n')
    path = write(
        tmp_path,
        """
        when,iccs_code
        2020-01-05,0101
        2020-02-05,0101
        2020-03-05,050211
        2020-04-05,9999
        2020-05-05,
        """,
    )
    result = import_file(warehouse, only_iccs, path, now=NOW)
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (5, 3, 2)
    counts = count_incidents(warehouse, CountQuery("iccs_city", level=None, period=None))
    assert dict(zip(counts["iccs_code"], counts["count"], strict=True)) == {
        "0101": 2.0,
        "050211": 1.0,
    }
    rows = {row["source_row"]: row["reasons"] for row in quarantined(warehouse, "iccs_city")}
    assert "[iccs_unknown]" in rows[4]
    assert "column 'iccs_code' = '9999': not an ICCS code" in rows[4]
    assert "[offence_missing]" not in rows[4]
    assert "[offence_missing]" in rows[5]
    assert "'iccs_code'" in rows[5]


def test_profile_without_any_offence_column_refused_on_load():
    with pytest.raises(DataFileError) as caught:
        profile("")
    message = str(caught.value)
    assert "'offence' table" in message
    for key in ("code", "label", "iccs", "code_value", "label_value"):
        assert key in message


def test_offence_table_with_misspelt_key_refused_on_load():
    with pytest.raises(DataFileError) as caught:
        profile('[offence]\niccs_code = "iccs_code"\n')
    assert "iccs_code" in str(caught.value)


AGES = '[offence]\niccs = "iccs_code"\n'
AGE_TAGS = '\n[tags]\nvictim_age = "age"\n'


def test_whole_number_decimal_ages_accepted_others_refused(warehouse, tmp_path):
    path = write(
        tmp_path,
        """
        when,iccs_code,age
        2020-01-05,0101,5.0
        2020-01-06,0101," 5 "
        2020-01-07,0101,34.00
        2020-01-08,0101,0.0
        2020-01-09,0101,5.5
        2020-01-10,0101,-1
        2020-01-11,0101,abc
        2020-01-12,0101,121.0
        2020-01-13,0101,
        """,
    )
    result = import_file(warehouse, profile(AGES, AGE_TAGS), path, now=NOW)
    assert (result.rows_accepted, result.rows_quarantined) == (5, 4)
    incident = warehouse.table("incident")
    ages = warehouse.to_arrow(incident.order_by("source_row").select("victim_age"))
    assert ages.column(0).to_pylist() == [5, 5, 34, 0, None]
    rows = {row["source_row"]: row["reasons"] for row in quarantined(warehouse, "iccs_city")}
    for row, value in ((5, "5.5"), (6, "-1"), (7, "abc"), (8, "121.0")):
        assert "[victim_age_invalid]" in rows[row]
        assert f"column 'age' = '{value}': age must be a whole number from 0 to 120" in rows[row]


def test_counts_sorted_by_the_engine_nulls_last(warehouse, tmp_path):
    path = write(
        tmp_path,
        """
        when,iccs_code,sex
        2021-03-05,0101,M
        2020-02-05,050211,
        2020-02-05,0101,M
        2020-02-06,0101,
        2020-02-07,0101,F
        2021-01-05,0504,F
        """,
    )
    tags = '\n[tags]\nvictim_sex = "sex"\n'
    import_file(warehouse, profile('[offence]\niccs = "iccs_code"\n', tags), path, now=NOW)
    query = CountQuery("iccs_city", level=None, period="month", tags=("victim_sex",))
    expected = [
        ("2020-02-01", "0101", "F"),
        ("2020-02-01", "0101", "M"),
        ("2020-02-01", "0101", None),
        ("2020-02-01", "050211", None),
        ("2021-01-01", "0504", "F"),
        ("2021-03-01", "0101", "M"),
    ]
    # The expression itself is ordered: run by the engine, with no pandas sort.
    rows = warehouse.to_arrow(sorted_count_expression(warehouse, query)).to_pylist()
    assert [(str(r["period"]), r["iccs_code"], r["victim_sex"]) for r in rows] == expected
    counts = count_incidents(warehouse, query)
    sexes = [None if pd.isna(v) else v for v in counts["victim_sex"]]
    got = list(zip(counts["period"].astype(str), counts["iccs_code"], sexes, strict=True))
    assert got == expected
    assert counts["count"].tolist() == [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_ages_from_a_spreadsheet_numeric_column(tmp_path):
    """A workbook stores ages as numbers; 34 and 7.0 are whole, 2.5 is not."""
    w = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    frame = pd.DataFrame(
        {"when": ["2020-01-05", "2020-01-06", "2020-01-07"], "iccs_code": ["0101"] * 3,
         "age": [34.0, 7.0, 2.5]}
    )  # fmt: skip
    path = tmp_path / "rows.xlsx"
    frame.to_excel(path, index=False)
    xlsx = parse_profile(
        (textwrap.dedent(HEAD) + AGES + AGE_TAGS).replace('format = "csv"', 'format = "xlsx"')
    )
    result = import_file(w, xlsx, path, now=NOW)
    assert (result.rows_accepted, result.rows_quarantined) == (2, 1)
    reasons = quarantined(w, "iccs_city")[0]["reasons"]
    assert "column 'age' = '2.5': age must be a whole number from 0 to 120" in reasons
    w.close()
