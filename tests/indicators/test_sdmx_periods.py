"""Sub-annual SDMX periods: every SDMX time format read with its FREQ, monthly and quarterly
exports of real Vancouver counts read back (SDMX-CSV, SDMX-ML, sdmx1, the warehouse ingest)."""

from __future__ import annotations

import io
import uuid
import warnings

import ibis
import pandas as pd
import pyarrow as pa
import pytest
import sdmx
from sqlalchemy import text

from crimeprev.errors import DataFileError
from crimeprev.indicators.aggregates import aggregate_rows
from crimeprev.indicators.counts import CountQuery, count_incidents
from crimeprev.indicators.export import export_aggregate, export_counts, read_sdmx
from crimeprev.indicators.sdmx import (
    data_structure,
    read_sdmx_csv,
    read_sdmx_ml,
    to_sdmx_frame,
    write_sdmx_csv,
    write_sdmx_ml,
)
from crimeprev.store import open_warehouse
from crimeprev.store.ingest import import_file, quarantined
from crimeprev.store.profiles import BUNDLED_DATA_DIR, load_profile
from crimeprev.store.sdmx_time import parse_time_periods, time_period_columns

#: (TIME_PERIOD, stored period, FREQ) of valid values, one per SDMX time format.
VALID = [
    ("2020", "2020", "A"),
    ("2020Z", "2020", "A"),
    ("2020-A1", "2020", "A"),
    ("2020-S2", "2020-S2", "S"),
    ("2020-T3", "2020-T3", "A_3"),
    ("2020-Q1", "2020-Q1", "Q"),
    ("2020-Q4+01:00", "2020-Q4", "Q"),
    ("2020-01", "2020-01", "M"),
    ("2020-M01", "2020-01", "M"),
    ("2020-M12", "2020-12", "M"),
    ("2020-W05", "2020-W05", "W"),
    ("2020-W53", "2020-W53", "W"),  # 2020 has 53 ISO weeks
    ("2020-01-15", "2020-01-15", "D"),
    ("2020-02-29", "2020-02-29", "D"),
    ("2020-D060", "2020-02-29", "D"),
    ("2021-D060", "2021-03-01", "D"),
    ("2020-D366", "2020-12-31", "D"),
    ("2020-01-15T10:30:00", "2020-01-15T10:30:00", "_O"),
    ("2020-01-15T10:30:00.25Z", "2020-01-15T10:30:00.25Z", "_O"),
    ("2020-01-01/P3M", "2020-01-01/P3M", "Q"),
    ("2020-01-01/P1Y", "2020-01-01/P1Y", "A"),
    ("2020-07-01T00:00:00/P1M", "2020-07-01T00:00:00/P1M", "M"),
    ("2020-01-01/P2M", "2020-01-01/P2M", "_O"),
    (" 2020-Q2 ", "2020-Q2", "Q"),
]
INVALID = [
    "2020-13", "2020-M13", "2020-M00", "2020-Q5", "2020-Q0", "2020-S3", "2020-T4", "2020-A2",
    "2021-W53", "2020-W00", "2021-D366", "2020-D000", "2019-02-29", "2020-04-31",
    "2020-01-15T24:00:00", "2020-01-15T10:60", "2020-01-01/P", "2020-01-01/PT", "2020/P1Y",
    "20201", "2020-1", "2020Q1", "Q1-2020", "2020-X1", "", "abc",
]  # fmt: skip


def test_every_sdmx_time_format_gets_its_period_and_freq_in_pandas_and_in_the_engine():
    values = [v for v, _, _ in VALID] + INVALID
    parsed = parse_time_periods(pd.Series(values))
    table = ibis.memtable(pa.table({"t": pa.array(values, pa.string())}))
    columns = time_period_columns(table.t.strip().nullif(""))
    engine = (
        table.select(period=columns.period, freq=columns.freq, invalid=columns.invalid)
        .to_pyarrow()
        .to_pylist()
    )
    for index, (value, period, freq) in enumerate(VALID):
        assert parsed["valid"][index], value
        assert (parsed["period"][index], parsed["freq"][index]) == (period, freq), value
        assert parsed["year"][index] == 2020 + value.startswith("2021")
        assert engine[index] == {"period": period, "freq": freq, "invalid": False}, value
    for index, value in enumerate(INVALID, start=len(VALID)):
        assert not parsed["valid"][index], value
        assert engine[index]["invalid"] and engine[index]["period"] is None, value


def _sdmx_csv(rows: list[str], header: str = "FREQ,TIME_PERIOD") -> str:
    columns = f"DATAFLOW,{header},REF_AREA,ICCS,SEX,AGE,UNIT_MEASURE,OBS_VALUE,OBS_STATUS"
    return "\n".join([columns, *[f"X:Y(1.0),{r},AUT,0501,_T,_T,NUMBER,5,A" for r in rows]]) + "\n"


def test_read_sdmx_csv_fills_freq_from_the_period_and_names_bad_periods():
    back = read_sdmx_csv(_sdmx_csv(["2020-M02", "2020-Q3", "2020-W05"], header="TIME_PERIOD"))
    assert back["FREQ"].tolist() == ["M", "Q", "W"]
    assert back["TIME_PERIOD"].tolist() == ["2020-M02", "2020-Q3", "2020-W05"]
    with pytest.raises(DataFileError) as error:
        read_sdmx_csv(_sdmx_csv(["A,2020-Q1", "Q,2020-Q5"]), file="counts.csv")
    message = str(error.value)
    assert "counts.csv" in message and "row 2" in message and "TIME_PERIOD" in message
    assert "2020-Q5" in message and "2020-Q1" in message  # the value, and an example expected
    with pytest.raises(
        DataFileError, match=r"row 1, field 'FREQ': FREQ contradicts .*'A'; expected M"
    ):
        read_sdmx_csv(_sdmx_csv(["A,2020-01"]), file="counts.csv")


def _vancouver_counts(kind: str) -> pd.Series:
    """Vancouver 2020 offences by ICCS section and month or quarter, counted with pandas."""
    raw = pd.read_parquet(BUNDLED_DATA_DIR / "vancouver_crime_2020/incidents.parquet")
    # 2020-03-08 02:00-02:59 does not exist in Vancouver (clocks went forward).
    raw = raw[~((raw["MONTH"] == 3) & (raw["DAY"] == 8) & (raw["HOUR"] == 2))]
    concordance = pd.read_csv(
        BUNDLED_DATA_DIR.parent.parent / "store/concordances/vpd_type.csv", dtype=str
    )
    section = (
        raw["TYPE"]
        .map(dict(zip(concordance.national_code, concordance.iccs_code, strict=True)))
        .str[:2]
    )
    if kind == "month":
        period = raw["YEAR"].astype(str) + "-" + raw["MONTH"].map("{:02d}".format)
    else:
        period = raw["YEAR"].astype(str) + "-Q" + ((raw["MONTH"] - 1) // 3 + 1).astype(str)
    counts = pd.DataFrame({"period": period, "iccs": section}).value_counts()
    return counts.astype(float).sort_index()


@pytest.fixture(scope="module")
def vancouver_exports(stats_settings):
    """Monthly and quarterly counts by ICCS section as SDMX-CSV and SDMX-ML, nothing suppressed."""
    warehouse = open_warehouse(stats_settings.warehouse_url)
    files = {}
    try:
        for kind in ("month", "quarter"):
            frame = count_incidents(
                warehouse, CountQuery(source="vancouver_2020", level=1, period=kind, by_area=False)
            )
            for file_format in ("sdmx-csv", "sdmx-ml"):
                files[kind, file_format] = export_counts(
                    frame, file_format, threshold=0, period_kind=kind
                )
    finally:
        warehouse.close()
    return files


@pytest.mark.parametrize("file_format", ["sdmx-csv", "sdmx-ml"], ids=["csv", "ml"])
@pytest.mark.parametrize(("kind", "freq"), [("month", "M"), ("quarter", "Q")], ids=["M", "Q"])
def test_monthly_and_quarterly_vancouver_exports_read_back_equal_to_pandas(
    vancouver_exports, file_format, kind, freq
):
    back = read_sdmx(vancouver_exports[kind, file_format])
    assert set(back["FREQ"]) == {freq}
    got = back.set_index(["TIME_PERIOD", "ICCS"])["OBS_VALUE"].sort_index()
    expected = _vancouver_counts(kind)
    assert got.to_dict() == expected.to_dict()
    periods = sorted(set(back["TIME_PERIOD"]))
    assert periods[0] == ("2020-01" if kind == "month" else "2020-Q1")
    assert len(periods) == (12 if kind == "month" else 4)


@pytest.mark.parametrize(("kind", "freq"), [("month", "M"), ("quarter", "Q")], ids=["M", "Q"])
def test_sdmx1_reads_our_sub_annual_sdmx_ml_as_periods_of_the_freq(vancouver_exports, kind, freq):
    dsd, _ = data_structure()
    message = sdmx.read_sdmx(io.BytesIO(vancouver_exports[kind, "sdmx-ml"]), structure=dsd)
    with warnings.catch_warnings():
        # sdmx1 2.28 parses "2020-Q1" with pd.to_datetime, which pandas 3 deprecates.
        warnings.filterwarnings("ignore", message="Parsing '2020-Q", category=Warning)
        frame = sdmx.to_pandas(
            message.data[0],
            datetime_dimension="TIME_PERIOD",
            datetime_freq="FREQ",
            datetime_axis=0,
        )
    # sdmx1 turns TIME_PERIOD into a pandas PeriodIndex of FREQ's frequency.
    assert isinstance(frame.index, pd.PeriodIndex) and frame.index.freqstr.startswith(freq)
    frame.columns = frame.columns.get_level_values("ICCS")
    stacked = frame.stack(future_stack=True).dropna()
    got = dict(zip([(str(p), i) for p, i in stacked.index.to_list()], stacked, strict=True))
    counts = _vancouver_counts(kind)
    keys = [(str(pd.Period(p.replace("-Q", "Q"), freq=freq)), i) for p, i in counts.index]
    assert got == dict(zip(keys, counts, strict=True))


def _import_monthly(warehouse, vancouver_exports, tmp_path):
    written = vancouver_exports["month", "sdmx-csv"].decode()
    # The same observations with SDMX reporting months (2020-M01), one broken period and one
    # month written as a range, as other senders write them.
    lines = written.splitlines()
    header, rows = lines[0], lines[1:]
    rows = [r.replace(",2020-0", ",2020-M0").replace(",2020-1", ",2020-M1") for r in rows]
    rows[0] = rows[0].replace(",2020-M01,", ",2020-01-01/P1M,")
    rows.append(rows[1].replace(",2020-M01,", ",2020-M13,"))
    path = tmp_path / "vancouver_monthly_sdmx.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    result = import_file(warehouse, load_profile("sdmx_csv"), path)
    stored = warehouse.to_arrow(warehouse.table("aggregate")).to_pandas()
    return result, stored, len(rows)


def _check_monthly_import(warehouse, result, stored, rows):
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (rows, rows - 1, 1)
    assert set(stored["freq"]) == {"M"} and set(stored["year"]) == {2020}
    range_row = stored[stored["period"] == "2020-01-01/P1M"]
    assert len(range_row) == 1
    stored["month"] = stored["period"].str[:7]
    got = stored.set_index(["month", "iccs_code"])["value"].sort_index()
    assert got.to_dict() == _vancouver_counts("month").to_dict()
    (bad,) = quarantined(warehouse, "sdmx_csv")
    assert bad["source_row"] == rows and "'TIME_PERIOD' = '2020-M13'" in bad["reasons"]
    assert "2020-Q1" in bad["reasons"]  # what was expected
    # Exported again as an aggregate source, the months stay months.
    again = read_sdmx(export_aggregate(aggregate_rows(warehouse, "sdmx_csv"), "sdmx-csv"))
    assert set(again["FREQ"]) == {"M"}
    again["month"] = again["TIME_PERIOD"].str[:7]
    assert again.set_index(["month", "ICCS"])["OBS_VALUE"].sort_index().to_dict() == (
        _vancouver_counts("month").to_dict()
    )


def test_monthly_sdmx_csv_imports_as_an_aggregate_source_with_periods(vancouver_exports, tmp_path):
    warehouse = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    try:
        result, stored, rows = _import_monthly(warehouse, vancouver_exports, tmp_path)
        _check_monthly_import(warehouse, result, stored, rows)
    finally:
        warehouse.close()


@pytest.mark.postgres
def test_monthly_sdmx_csv_imports_the_same_on_postgresql(
    vancouver_exports, tmp_path, postgres_engine
):
    schema = f"crimeprev_sdmx_{uuid.uuid4().hex[:10]}"
    with postgres_engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = postgres_engine.url.render_as_string(hide_password=False)
    warehouse = open_warehouse(
        url.replace("postgresql+psycopg://", "postgres://") + f"?schema={schema}"
    )
    try:
        result, stored, rows = _import_monthly(warehouse, vancouver_exports, tmp_path)
        _check_monthly_import(warehouse, result, stored, rows)
    finally:
        warehouse.close()
        with postgres_engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def test_sdmx_ml_with_a_bad_period_names_row_field_and_value(vancouver_exports):
    data = vancouver_exports["quarter", "sdmx-ml"].decode()
    broken = data.replace('TIME_PERIOD="2020-Q2"', 'TIME_PERIOD="2020-Q7"', 1)
    with pytest.raises(DataFileError, match=r"quarterly\.xml.*field 'TIME_PERIOD'.*2020-Q7"):
        read_sdmx_ml(broken.encode(), file="quarterly.xml")


def test_a_warehouse_from_before_periods_gets_the_columns_and_reads_its_rows_as_years(tmp_path):
    import duckdb

    from crimeprev.store.warehouse import TABLES

    path = tmp_path / "old.duckdb"
    old = {k: v for k, v in TABLES["aggregate"].items() if k not in ("period", "freq")}
    connection = duckdb.connect(str(path))
    connection.execute(f"CREATE TABLE aggregate ({', '.join(f'{k} {v}' for k, v in old.items())})")
    connection.execute(
        "INSERT INTO aggregate (source, area_id, year, iccs_code, sex, age, unit, value) "
        "VALUES ('old', 'AUT', 2019, '0501', 'Total', 'Total', 'Counts', 12)"
    )
    connection.close()
    warehouse = open_warehouse(f"duckdb://{path}")
    try:
        assert {"period", "freq"} <= set(warehouse.table("aggregate").columns)
        rows = aggregate_rows(warehouse, "old")
        assert rows[["year", "period", "freq", "value"]].values.tolist() == [
            [2019, "2019", "A", 12]
        ]
    finally:
        warehouse.close()


@pytest.mark.parametrize("write", [write_sdmx_csv, write_sdmx_ml], ids=["csv", "ml"])
def test_weekly_daily_and_other_sdmx_periods_survive_both_formats(write):
    counts = pd.DataFrame(
        {
            "area_id": "_T",
            "period": ["2020-01-27", "2020-02-03", "2020-12-28"],
            "iccs_code": ["01", "01", "05"],
            "count": [1.0, 2.0, 3.0],
        }
    )
    weekly = read_sdmx(_bytes(write(to_sdmx_frame(counts, period_kind="week"))))
    # 28 December 2020 lies in ISO week 53 of 2020.
    assert weekly[["FREQ", "TIME_PERIOD"]].values.tolist() == [
        ["W", "2020-W05"], ["W", "2020-W06"], ["W", "2020-W53"]
    ]  # fmt: skip
    daily = read_sdmx(_bytes(write(to_sdmx_frame(counts, period_kind="day"))))
    assert set(daily["FREQ"]) == {"D"} and daily["TIME_PERIOD"].tolist()[0] == "2020-01-27"
    others = to_sdmx_frame(counts).assign(
        TIME_PERIOD=["2020-01-01/P3M", "2020-S1", "2020-01-15T10:00:00"], FREQ=["Q", "S", "_O"]
    )
    back = read_sdmx(_bytes(write(others)))
    assert (
        back[["FREQ", "TIME_PERIOD"]].values.tolist()
        == others[["FREQ", "TIME_PERIOD"]].values.tolist()
    )


def _bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data
