"""The same ingest and counting expressions on PostgreSQL give the same numbers as DuckDB."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from sqlalchemy import text

from crimeprev.indicators.counts import CountQuery, area_rates, count_incidents
from crimeprev.store import open_warehouse
from crimeprev.store.areas import read_boundaries, store_areas, store_population
from crimeprev.store.bundled import AREA_SETS
from crimeprev.store.ingest import import_file, quarantined
from crimeprev.store.profiles import BUNDLED_DATA_DIR, load_profile

from .test_duplicates import COLUMNS, expected_duplicates, found_duplicates, random_rows
from .test_duplicates import profile as duplicate_profile
from .test_ingest_validation import BAD, GOOD, NOW, POLICE_UK, PROFILE, write

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_warehouse(postgres_engine):
    schema = f"crimeprev_stats_{uuid.uuid4().hex[:10]}"
    with postgres_engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine_url = postgres_engine.url.render_as_string(hide_password=False)
    url = engine_url.replace("postgresql+psycopg://", "postgres://") + f"?schema={schema}"
    warehouse = open_warehouse(url)
    yield warehouse
    warehouse.close()
    with postgres_engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def _load(warehouse, tmp_path):
    chicago = pd.read_parquet(
        BUNDLED_DATA_DIR / "chicago_aggravated_assaults_2010_2019" / "incidents.parquet"
    ).iloc[::150]
    sample = tmp_path / "chicago_sample.parquet"
    chicago.to_parquet(sample, index=False)
    spec = AREA_SETS[0]
    areas = read_boundaries(
        BUNDLED_DATA_DIR / spec.path, area_set=spec.area_set, id_field=spec.id_field,
        name_field=spec.name_field,
    )  # fmt: skip
    store_areas(warehouse, areas)
    store_population(
        warehouse,
        area_set=spec.area_set,
        area_ids=list(areas.ids),
        years=[2010] * len(areas.ids),
        populations=[1000.0 + index for index in range(len(areas.ids))],
        source="test",
    )
    results = [
        import_file(warehouse, load_profile("chicago_assaults"), sample),
        import_file(warehouse, PROFILE, write(tmp_path, GOOD + list(BAD.values())), now=NOW),
    ]
    street = tmp_path / "street.csv"
    street.write_text(POLICE_UK, encoding="utf-8")
    results.append(import_file(warehouse, load_profile("police_uk"), street, now=NOW))
    return results


def test_postgres_counts_equal_duckdb(postgres_warehouse, tmp_path):
    duck = open_warehouse(f"duckdb://{tmp_path / 'duck.duckdb'}")
    duck_results = _load(duck, tmp_path)
    pg_results = _load(postgres_warehouse, tmp_path)
    for left, right in zip(duck_results, pg_results, strict=True):
        assert (left.rows_read, left.rows_accepted, left.rows_quarantined, left.file_hash) == (
            right.rows_read, right.rows_accepted, right.rows_quarantined, right.file_hash,
        )  # fmt: skip
    for query in (
        CountQuery("chicago_assaults", level=3, period="year", by_area=True),
        CountQuery("chicago_assaults", level=1, period="month", tags=("location_type",)),
        CountQuery("test_city", level=None, period="day"),
        CountQuery("police_uk", level=2, period="month"),
    ):
        left = count_incidents(duck, query)
        right = count_incidents(postgres_warehouse, query)
        pd.testing.assert_frame_equal(left, right, check_dtype=False)
    assert [r["reasons"] for r in quarantined(duck, "test_city")] == [
        r["reasons"] for r in quarantined(postgres_warehouse, "test_city")
    ]
    pd.testing.assert_frame_equal(
        area_rates(duck, "chicago_assaults").frame,
        area_rates(postgres_warehouse, "chicago_assaults").frame,
        check_dtype=False,
    )
    assert import_file(postgres_warehouse, PROFILE, tmp_path / "incidents.csv", now=NOW).skipped
    duck.close()


@pytest.mark.parametrize("duplicates", ["id", "identical"], ids=["id", "identical"])
def test_postgres_duplicates_equal_duckdb_and_pandas(postgres_warehouse, tmp_path, duplicates):
    """The fingerprint-then-compare plan finds the same duplicates on PostgreSQL."""
    frame = random_rows(4, rows=600)
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    duck = open_warehouse(f"duckdb://{tmp_path / 'duck.duckdb'}")
    for warehouse in (duck, postgres_warehouse):
        import_file(warehouse, duplicate_profile(duplicates), path, now=NOW)
    keys = list(duplicate_profile(duplicates).id_columns) or [c for c in COLUMNS if c != "id"]
    expected = expected_duplicates(frame, keys)
    assert found_duplicates(postgres_warehouse) == found_duplicates(duck) == expected
    duck.close()
