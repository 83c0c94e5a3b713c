"""How imports are stored: one table per import behind the ``incident`` view, engine options."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import datetime

import duckdb
import pyarrow as pa
import pytest

from crimeprev.errors import ConfigurationError
from crimeprev.store import open_warehouse
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import parse_profile
from crimeprev.store.warehouse import DEFAULT_MEMORY_LIMIT, TABLES

from .test_ingest_validation import BAD, GOOD, NOW, PROFILE, write


def _settings(warehouse, *names):
    con = warehouse.con.con
    return [con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0] for name in names]


def test_import_stores_only_the_mapped_columns(tmp_path, monkeypatch):
    import crimeprev.store.ingest as ingest

    monkeypatch.setattr(ingest, "OWN_TABLE_ROWS", 1)
    warehouse = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    result = import_file(warehouse, PROFILE, write(tmp_path, GOOD + [BAD["date_future"]]), now=NOW)
    part = warehouse.to_arrow(warehouse.table("incident_part")).to_pylist()
    assert len(part) == 1 and part[0]["import_id"] == result.import_id
    stored = part[0]["columns"].split(",")
    # The profile maps no weapon, x/y or perpetrator; the constants are kept once;
    # the ICCS code and weight come from the import's code table, joined by the view.
    assert {"weapon", "x", "y", "perpetrator_age", "source", "import_id"}.isdisjoint(stored)
    assert {"iccs_code", "iccs_weight"}.isdisjoint(stored)
    assert {"source_row", "occurred_at", "offence_code", "lon", "victim_age"} <= set(stored)
    assert part[0]["mapping"] == "offence_code"
    assert f"{part[0]['table_name']}_codes" in warehouse.list_tables()
    columns = warehouse.con.con.sql(f"DESCRIBE {part[0]['table_name']}").fetchall()
    assert [row[0] for row in columns] == stored
    rows = warehouse.to_arrow(warehouse.table("incident").order_by("source_row")).to_pylist()
    assert len(rows) == result.rows_accepted == 3
    assert list(rows[0]) == list(TABLES["incident"])
    assert {(r["source"], r["import_id"], r["occurred_precision"], r["weapon"]) for r in rows} == {
        ("test_city", result.import_id, "minute", None)
    }
    assert [r["occurred_at"] for r in rows] == [
        datetime(2020, 1, 5, 10, 0),
        datetime(2020, 1, 6, 23, 59),
        datetime(2021, 2, 28, 0, 0),
    ]
    warehouse.close()


CONCORDANCES = {
    "one_to_one": "A,Assault,0101,1,,,\nB,Burglary,0501,1,,,\n",
    "one_to_many": "A,Assault,0101,1,,,\nB,Burglary,0501,0.25,,,\nB,Burglary,0502,0.75,,,\n",
    "dated": "A,Assault,0101,1,,2019-12-31,\nA,Assault,0102,1,2020-01-01,,\nB,Burglary,0501,1,,,\n",
}


@pytest.mark.parametrize("scheme", list(CONCORDANCES), ids=list(CONCORDANCES))
def test_codes_joined_by_the_view_equal_codes_stored_per_row(tmp_path, monkeypatch, scheme):
    """An import's own table (codes joined in the view) reads as the shared table (per row)."""
    import crimeprev.store.ingest as ingest

    concordance = tmp_path / f"{scheme}.csv"
    concordance.write_text(
        "national_code,national_label,iccs_code,share,valid_from,valid_to,note\n"
        + CONCORDANCES[scheme],
        encoding="utf-8",
    )
    profile = parse_profile(
        textwrap.dedent(
            f"""
            name = "coded"
            title = "Coded"
            kind = "incident"
            format = "csv"
            concordance = "{concordance.as_posix()}"

            [occurred]
            column = "when"
            format = "%Y-%m-%d"
            precision = "day"

            [offence]
            code = "code"
            """
        )
    )
    lines = ["2019-06-01,A", "2020-06-01,A", "2020-06-02,B", "2020-06-03,C", "2021-01-01, B "]
    path = write(tmp_path, lines, header="when,code\n")
    read = {}
    for own_rows in (1, 10**9):
        monkeypatch.setattr(ingest, "OWN_TABLE_ROWS", own_rows)
        warehouse = open_warehouse(f"duckdb://{tmp_path / f'w{own_rows}.duckdb'}")
        result = import_file(warehouse, profile, path, now=NOW)
        assert (result.rows_accepted, result.rows_quarantined) == (5, 0)
        incident = warehouse.table("incident")
        rows = incident.select("source_row", "offence_code", "iccs_code", "iccs_weight")
        read[own_rows] = sorted(
            warehouse.to_arrow(rows).to_pylist(), key=lambda r: (r["source_row"], r["iccs_code"])
        )
        mapping = warehouse.to_arrow(warehouse.table("incident_part").select("mapping"))
        assert mapping.column(0).to_pylist() == (
            [] if own_rows > 1 else [None if scheme == "dated" else "offence_code"]
        )
        warehouse.close()
    assert read[1] == read[10**9]
    expected_b = [("0501", 0.25), ("0502", 0.75)] if scheme == "one_to_many" else [("0501", 1.0)]
    assert [(r["iccs_code"], r["iccs_weight"]) for r in read[1] if r["source_row"] == 3] == (
        expected_b
    )
    assert [r["iccs_code"] for r in read[1] if r["source_row"] in (1, 2, 4)] == [
        "0101",
        "0102" if scheme == "dated" else "0101",
        None,
    ]


def test_incident_part_of_an_older_warehouse_gets_the_mapping_column(tmp_path):
    path = tmp_path / "old.duckdb"
    warehouse = open_warehouse(f"duckdb://{path}")
    warehouse.execute_sql("ALTER TABLE incident_part DROP COLUMN mapping")
    warehouse.close()
    reopened = open_warehouse(f"duckdb://{path}")
    assert "mapping" in reopened.table("incident_part").columns
    import_file(reopened, PROFILE, write(tmp_path, GOOD), now=NOW)
    assert reopened.scalar(reopened.table("incident").count()) == 3
    reopened.close()


def test_unmapped_label_is_not_stored(tmp_path, monkeypatch):
    import dataclasses

    import crimeprev.store.ingest as ingest

    monkeypatch.setattr(ingest, "OWN_TABLE_ROWS", 1)
    warehouse = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    code_only = dataclasses.replace(PROFILE, offence_label=None)
    result = import_file(warehouse, code_only, write(tmp_path, GOOD), now=NOW)
    columns = warehouse.to_arrow(warehouse.table("incident_part")).column("columns")[0].as_py()
    assert "offence_code" in columns.split(",") and "offence_label" not in columns.split(",")
    rows = warehouse.to_arrow(warehouse.table("incident").order_by("source_row")).to_pylist()
    assert [(r["offence_code"], r["offence_label"]) for r in rows] == [
        ("Mischief", None),
        ("Theft of Vehicle", None),
        ("Homicide", None),
    ]
    assert result.rows_accepted == 3
    warehouse.close()


def test_rows_inserted_directly_and_imports_read_together(tmp_path, monkeypatch):
    import crimeprev.store.ingest as ingest

    monkeypatch.setattr(ingest, "OWN_TABLE_ROWS", 1)
    warehouse = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    import_file(warehouse, PROFILE, write(tmp_path, GOOD), now=NOW)
    written = warehouse.insert(
        "incident",
        pa.table({"source": ["other"], "iccs_code": ["0101"], "iccs_weight": [1.0]}),
    )
    assert written == 1
    incident = warehouse.table("incident")
    by_source = warehouse.to_arrow(incident.group_by("source").aggregate(n=incident.count()))
    assert dict(zip(*by_source.to_pydict().values(), strict=True)) == {"test_city": 3, "other": 1}
    # A filter on the source reads only that source's branch of the view.
    part = warehouse.to_arrow(warehouse.table("incident_part")).column("table_name")[0].as_py()
    explain = "EXPLAIN SELECT sum(iccs_weight) FROM incident WHERE source = '{}'"
    other = warehouse.con.con.sql(explain.format("other")).fetchall()[0][1]
    mine = warehouse.con.con.sql(explain.format("test_city")).fetchall()[0][1]
    assert part not in other and part in mine
    warehouse.close()


def test_small_import_joins_the_shared_table(tmp_path):
    warehouse = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    result = import_file(warehouse, PROFILE, write(tmp_path, GOOD), now=NOW)
    assert warehouse.scalar(warehouse.table("incident_part").count()) == 0
    stored = warehouse.con.con.execute(
        "SELECT count(*), min(source), min(import_id), min(occurred_precision) FROM incident_rows"
    ).fetchall()
    assert stored == [(3, "test_city", result.import_id, "minute")]
    warehouse.close()


def test_warehouse_written_with_incident_as_a_table_keeps_its_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    body = ", ".join(f"{col} {kind}" for col, kind in TABLES["incident"].items())
    con.execute(f"CREATE TABLE incident ({body})")
    con.execute("INSERT INTO incident (source, iccs_code, iccs_weight) VALUES ('old', '0101', 1)")
    con.close()
    warehouse = open_warehouse(f"duckdb://{path}")
    assert "incident_rows" in warehouse.list_tables()
    rows = warehouse.to_arrow(warehouse.table("incident")).to_pylist()
    assert [(r["source"], r["iccs_code"]) for r in rows] == [("old", "0101")]
    import_file(warehouse, PROFILE, write(tmp_path, GOOD), now=NOW)
    assert warehouse.scalar(warehouse.table("incident").count()) == 4
    warehouse.close()
    reopened = open_warehouse(f"duckdb://{path}")
    assert reopened.scalar(reopened.table("incident").count()) == 4
    reopened.close()


def test_engine_options_from_the_url(tmp_path):
    plain = open_warehouse(f"duckdb://{tmp_path / 'a.duckdb'}")
    assert DEFAULT_MEMORY_LIMIT == "512MB"
    assert _settings(plain, "memory_limit") == ["488.2 MiB"]  # 512 MB as DuckDB shows it
    plain.close()
    tuned = open_warehouse(f"duckdb://{tmp_path / 'b.duckdb'}?memory_limit=200MB&threads=1")
    assert _settings(tuned, "memory_limit", "threads") == ["190.7 MiB", 1]
    tuned.close()
    with pytest.raises(ConfigurationError, match="unknown DuckDB option 'cache'"):
        open_warehouse(f"duckdb://{tmp_path / 'c.duckdb'}?cache=1")
    with pytest.raises(ConfigurationError, match="not a plain value"):
        open_warehouse(f"duckdb://{tmp_path / 'c.duckdb'}?memory_limit=1GB';DROP")


def test_import_under_a_small_memory_limit_spills_and_counts_right(tmp_path):
    # 20,000 rows under a 20 MB cap: DuckDB must stay within it (or spill), not fail.
    lines = [
        f"{n},2020-{1 + n % 12:02d}-{1 + n % 28:02d} 10:00,Mischief,-87.6,41.8,{n % 90},F"
        for n in range(1, 20_001)
    ]
    warehouse = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}?memory_limit=20MB&threads=1")
    result = import_file(warehouse, PROFILE, write(tmp_path, lines), now=NOW)
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (20_000, 20_000, 0)
    incident = warehouse.table("incident")
    ages = warehouse.scalar(incident.victim_age.sum())
    assert ages == sum(n % 90 for n in range(1, 20_001))
    warehouse.close()


def test_large_file_hashed_during_the_import_is_still_skipped_the_second_time(
    tmp_path, monkeypatch
):
    import crimeprev.store.ingest as ingest

    # Every file counts as large: the hash is awaited only before the log is written.
    monkeypatch.setattr(ingest, "EARLY_HASH_BYTES", 0)
    monkeypatch.setattr(ingest, "OWN_TABLE_ROWS", 1)
    warehouse = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    path = write(tmp_path, GOOD + [BAD["date_future"]])
    first = import_file(warehouse, PROFILE, path, now=NOW)
    second = import_file(warehouse, PROFILE, path, now=NOW)
    assert not first.skipped and second.skipped
    assert second.import_id == first.import_id and second.file_hash == first.file_hash
    assert (second.rows_read, second.rows_accepted, second.rows_quarantined) == (4, 3, 1)
    assert warehouse.scalar(warehouse.table("incident").count()) == 3
    assert warehouse.scalar(warehouse.table("quarantine").count()) == 1
    assert warehouse.scalar(warehouse.table("import_log").count()) == 1
    assert warehouse.scalar(warehouse.table("incident_part").count()) == 1
    warehouse.close()


@pytest.mark.slow
def test_killed_import_leaves_no_table_of_its_own(tmp_path):
    # The child stores its rows in a table of their own, then dies (no clean-up)
    # before the commit: neither the table nor the view's new branch may remain.
    database = tmp_path / "killed.duckdb"
    csv_path = write(tmp_path, GOOD)
    script = textwrap.dedent(
        f"""
        import os
        import crimeprev.store.ingest as ingest
        from crimeprev.store import open_warehouse
        from tests.store.test_ingest_validation import PROFILE, NOW
        warehouse = open_warehouse("duckdb://{database}")
        ingest.OWN_TABLE_ROWS = 1
        ingest._write_quarantine = lambda *a, **k: os._exit(9)
        ingest.import_file(warehouse, PROFILE, "{csv_path}", now=NOW)
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    child = subprocess.run([sys.executable, "-c", script], cwd=root, timeout=120)
    assert child.returncode == 9
    warehouse = open_warehouse(f"duckdb://{database}")
    assert warehouse.scalar(warehouse.table("incident").count()) == 0
    assert warehouse.scalar(warehouse.table("incident_part").count()) == 0
    assert warehouse.scalar(warehouse.table("import_log").count()) == 0
    assert [name for name in warehouse.list_tables() if name.startswith("incident_")] == [
        "incident_part",
        "incident_rows",
    ]
    warehouse.close()
