"""Duplicate rows (same id, identical rows), checked against pandas on random files.

The ingest finds duplicates in two steps (a 64-bit fingerprint per row, then an
exact comparison of the rows whose fingerprint repeats); the expected rows come
from pandas grouping the raw values, independently of that plan.
"""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crimeprev.store import open_warehouse, validation
from crimeprev.store.ingest import import_file, quarantined
from crimeprev.store.profiles import parse_profile

NOW = datetime(2024, 6, 1, tzinfo=UTC)
COLUMNS = ["id", "when", "type", "lon", "lat", "age", "sex"]


def profile(duplicates: str, file_format: str = "csv"):
    id_columns = 'id_columns = ["id"]' if duplicates == "id" else ""
    return parse_profile(
        textwrap.dedent(
            f"""
            name = "dup_city"
            title = "Duplicates"
            kind = "incident"
            format = "{file_format}"
            concordance = "vpd_type"
            duplicates = "{duplicates}"
            {id_columns}

            [occurred]
            column = "when"
            format = "%Y-%m-%d %H:%M"
            precision = "minute"

            [offence]
            code = "type"

            [location]
            lon = "lon"
            lat = "lat"

            [tags]
            victim_age = "age"
            victim_sex = "sex"
            """
        )
    )


def random_rows(seed: int, rows: int = 1500) -> pd.DataFrame:
    """Random rows with exact copies, copies with one field changed, and empty fields."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": rng.integers(0, rows * 3, rows).astype(str),
            "when": [f"2020-{m:02d}-{d:02d} 10:00" for m, d in rng.integers(1, 13, (rows, 2))],
            "type": rng.choice(["Mischief", "Theft of Vehicle", "Homicide"], rows),
            "lon": rng.choice(["-87.6", "-87.7", ""], rows),
            "lat": rng.choice(["41.8", "41.9", ""], rows),
            "age": rng.choice(["20", "34", ""], rows),
            "sex": rng.choice(["F", "M"], rows),
        }
    )
    copies = frame.sample(rows // 5, replace=True, random_state=seed)
    changed = frame.sample(rows // 10, random_state=seed + 1).assign(sex="X")
    frame = pd.concat([frame, copies, changed], ignore_index=True)
    return frame.sample(frac=1, random_state=seed + 2).reset_index(drop=True)


def expected_duplicates(frame: pd.DataFrame, keys: list[str]) -> dict[int, int]:
    """Row number (1-based) of every duplicate -> row number of its first occurrence."""
    numbered = frame.replace("", None).assign(row=np.arange(1, len(frame) + 1))
    first = numbered.groupby(keys, dropna=False)["row"].transform("min")
    repeated = numbered["row"] != first
    return dict(zip(numbered["row"][repeated], first[repeated], strict=True))


def found_duplicates(warehouse, source: str = "dup_city") -> dict[int, int]:
    found = {}
    for row in quarantined(warehouse, source, limit=100_000):
        match = re.search(r"\[duplicate\] duplicate \(.*?\) of row (\d+)", row["reasons"])
        if match:
            found[row["source_row"]] = int(match.group(1))
    return found


@pytest.fixture
def warehouse(tmp_path):
    w = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    yield w
    w.close()


@pytest.mark.parametrize("duplicates", ["id", "identical"], ids=["id", "identical"])
@pytest.mark.parametrize("seed", [1, 2], ids=["seed1", "seed2"])
def test_duplicates_match_pandas(warehouse, tmp_path, duplicates, seed):
    frame = random_rows(seed)
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    import_file(warehouse, profile(duplicates), path, now=NOW)
    # "identical" compares the columns the profile reads (not the unused id).
    keys = ["id"] if duplicates == "id" else [c for c in COLUMNS if c != "id"]
    assert keys == list(profile(duplicates).id_columns or profile(duplicates).required_columns())
    expected = expected_duplicates(frame, keys)
    assert len(expected) > 100
    assert found_duplicates(warehouse) == expected


def test_colliding_fingerprints_are_compared_exactly(warehouse, tmp_path, monkeypatch):
    """Every row with one fingerprint: the exact comparison alone must decide."""
    frame = random_rows(3, rows=400)
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setattr(
        validation, "_fingerprint", lambda _table, _keys: ibis.literal(42, type="int64")
    )
    import_file(warehouse, profile("identical"), path, now=NOW)
    keys = [c for c in COLUMNS if c != "id"]
    assert found_duplicates(warehouse) == expected_duplicates(frame, keys)


def test_identical_typed_parquet_rows_with_nulls(warehouse, tmp_path):
    """Timestamps (hashed as text), floats, 32-bit integers and NULLs compare alike."""
    stamps = pd.to_datetime(["2020-01-05 10:00", "2020-01-05 10:00", "2020-01-06 11:00"] * 2)
    table = pa.table(
        {
            "id": pa.array([1, 1, 2, 1, 1, 2], pa.int32()),
            "when": pa.array(stamps.to_numpy().astype("datetime64[us]")),
            "type": ["Mischief", "Mischief", "Homicide", "Mischief", None, "Homicide"],
            "lon": pa.array([-87.6, -87.6, None, -87.6, -87.6, None]),
            "lat": pa.array([41.8, 41.8, None, 41.8, 41.8, None]),
            "age": pa.array([20, 20, None, 21, 20, None], pa.int32()),
            "sex": ["F", "F", None, "F", "F", None],
        }
    )
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path)
    result = import_file(warehouse, profile("identical", "parquet"), path, now=NOW)
    # Row 2 repeats row 1 and row 6 row 3 (NULLs equal); rows 4 (age) and 5 (type) differ;
    # the id column is not read by the profile, so it takes no part.
    assert found_duplicates(warehouse) == {2: 1, 6: 3}
    assert result.rows_accepted == 3
