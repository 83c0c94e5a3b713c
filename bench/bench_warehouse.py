"""Benchmark: ingest + concordance join + counts by ICCS level 3 x area x month + rates.

Four pipelines run side by side on the same synthetic Parquet file, each
doing the same validation, quarantine, join, counts and rates:

* ``crimeprev``: ``import_file`` into a DuckDB file warehouse (SHA-256 of the
  file, every validation rule of the profile, quarantine with raw text and
  reasons, concordance join, import log, one transaction), then
  ``count_incidents`` and Garwood rates;
* ``duckdb-sql``: the same steps written by hand in DuckDB SQL (the engine's
  floor): the file hashed with hashlib, the profile's rules (date missing, in
  the future or before 2015-01-01; offence code blank; one coordinate without
  the other, (0, 0), outside the bounding box; with ``--duplicates id`` a
  repeated id) as one SQL expression, accepted rows stored with the same
  columns (code and area trimmed of whitespace as crimeprev does, lon/lat, row
  number, the id as text with ``--duplicates id``) in a DuckDB file, the offence
  codes' ICCS code and share once in a table of their own (as crimeprev stores
  an import, joined when counting), rejected rows with the raw text and every
  reason, an import log row, one transaction; then the same counts (weighted
  and records, sorted as ``count_incidents`` returns them) and rates;
* ``polars``: the same rules, quarantine frame, join, counts and rates as one
  lazy polars plan per output (``collect_all`` shares the scan), in memory;
* ``pandas``: the same steps written plainly in pandas, in memory.

The DuckDB pipelines store the accepted rows in a database file; polars and
pandas keep them in memory only, which is less work. Both DuckDB pipelines use
a fresh database file with the same engine settings (``memory_limit`` 512MB,
the warehouse default, or ``--memory-limit``; DuckDB's default threads), hash
the file in a background thread while DuckDB reads it, and check the hash
against the import log before committing. Duplicates (``--duplicates id``)
are found the same way by every peer: candidates first (a hash of the id
repeated), then the exact first row among the candidates only. Each run is a
fresh process, so the peak resident memory of a run is its own; ``ingest s``
is the time until the accepted and quarantined rows exist; ``cpu s`` the
median CPU time of the run (all threads), the figure that shows what two
cores can and cannot do. Usage::

    python bench/bench_warehouse.py 1000000 10000000 30000000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import string
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

AREAS = 500
NATIONAL_CODES = 200
START = np.datetime64("2015-01-01T00:00")
MINUTES = 5 * 365 * 24 * 60
MEMORY_LIMIT = "512MB"
#: The profile's duplicates rule: "none" or "id" (``--duplicates``).
DUPLICATES = "none"
#: Threads every engine may use (``--threads``; 0 = each engine's default, all cores).
THREADS = 0


def _engine_settings() -> str:
    """The DuckDB settings of the hand-written pipelines (as the warehouse URL gives crimeprev)."""
    threads = f"; SET threads = {THREADS}" if THREADS else ""
    return f"SET memory_limit = '{MEMORY_LIMIT}'; SET preserve_insertion_order = false{threads}"


def make_data(rows: int, folder: Path, seed: int = 7) -> Path:
    """Write the synthetic incidents, concordance, population and profile; return the folder."""
    from crimeprev.standards import iccs

    rng = np.random.default_rng(seed)
    path = folder / f"incidents_{rows}.parquet"
    if not path.exists():
        writer = None
        chunk = 2_000_000
        for start in range(0, rows, chunk):
            size = min(chunk, rows - start)
            codes = rng.zipf(1.3, size) % NATIONAL_CODES
            occurred = START + rng.integers(0, MINUTES, size).astype("timedelta64[m]")
            lon = rng.uniform(-87.9, -87.5, size)
            lat = rng.uniform(41.65, 42.0, size)
            bad = rng.random(size) < 0.001  # 0.1% of rows outside the bounding box
            lon[bad] = 0.0
            table = pa.table(
                {
                    "id": pa.array(np.arange(start, start + size, dtype=np.int64)),
                    "occurred": pa.array(occurred.astype("datetime64[us]")),
                    "offence_code": pa.array([f"N{c:03d}" for c in codes]),
                    "area": pa.array([f"A{a:03d}" for a in rng.integers(0, AREAS, size)]),
                    "lon": pa.array(lon),
                    "lat": pa.array(lat),
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=131_072)
        assert writer is not None
        writer.close()
    level4 = [c.code for c in iccs.codes() if len(c.code) >= 5][:60]
    with (folder / "bench_scheme.csv").open("w") as handle:
        handle.write("national_code,national_label,iccs_code,share,valid_from,valid_to,note\n")
        for number in range(NATIONAL_CODES):
            handle.write(f"N{number:03d},Offence {number},{level4[number % 60]},1,,,\n")
    populations = rng.integers(2_000, 90_000, AREAS)
    pq.write_table(
        pa.table({"area": [f"A{a:03d}" for a in range(AREAS)], "population": populations}),
        folder / "population.parquet",
    )
    (folder / "bench.toml").write_text(
        f"""
name = "bench"
title = "Synthetic incidents"
kind = "incident"
format = "parquet"
concordance = "{(folder / "bench_scheme.csv").as_posix()}"
earliest = "2015-01-01"
{'duplicates = "id"' + chr(10) + 'id_columns = ["id"]' if DUPLICATES == "id" else ""}

[occurred]
column = "occurred"
precision = "minute"

[offence]
code = "offence_code"

[location]
lon = "lon"
lat = "lat"
bbox = [-88.0, 41.6, -87.4, 42.1]

[area]
set = "bench_areas"
column = "area"
"""
    )
    return path


def run_crimeprev(path: Path, folder: Path) -> tuple[int, float]:
    import pandas as pd

    from crimeprev.indicators.counts import CountQuery, count_incidents
    from crimeprev.indicators.poisson import rates_with_intervals
    from crimeprev.store import open_warehouse
    from crimeprev.store.ingest import import_file
    from crimeprev.store.profiles import load_profile

    database = _fresh_database(folder, "crimeprev")
    started = time.perf_counter()
    warehouse = open_warehouse(
        f"duckdb://{database}?memory_limit={MEMORY_LIMIT}"
        + (f"&threads={THREADS}" if THREADS else "")
    )
    import_file(warehouse, load_profile(folder / "bench.toml"), path)
    ingested = time.perf_counter() - started
    counts = count_incidents(warehouse, CountQuery("bench", level=3, period="month", by_area=True))
    population = pd.read_parquet(folder / "population.parquet")
    table = counts.merge(population, left_on="area_id", right_on="area", how="left")
    table["rate"], table["low"], table["high"] = rates_with_intervals(
        table["count"].to_numpy(), table["population"].to_numpy()
    )
    return len(table), ingested


def _fresh_database(folder: Path, name: str) -> Path:
    database = folder / f"{name}.duckdb"
    for leftover in (database, database.with_name(database.name + ".wal")):
        leftover.unlink(missing_ok=True)
    return database


#: Text is trimmed of every whitespace character, as crimeprev does (DuckDB's
#: one-argument trim() takes spaces only).
TRIM = "'" + string.whitespace + "'"

#: The bench profile's rules, each a SQL flag and the reason stored in quarantine.
SQL_RULES = {
    "date_missing": ("occurred IS NULL", "date missing"),
    "date_future": ("occurred > now()::TIMESTAMP", "date in the future"),
    "date_too_early": ("occurred < TIMESTAMP '2015-01-01'", "before 2015-01-01"),
    "offence_missing": (f"nullif(trim(offence_code, {TRIM}), '') IS NULL", "offence missing"),
    "coordinate_half_missing": ("(lon IS NULL) <> (lat IS NULL)", "one coordinate"),
    "coordinate_zero": ("lon = 0 AND lat = 0", "(0, 0) is not a real location"),
    "coordinate_outside": (
        "NOT (lon = 0 AND lat = 0) AND (lon < -88.0 OR lon > -87.4 OR lat < 41.6 OR lat > 42.1)",
        "outside the bounding box",
    ),
}


def _sha256(path: Path) -> str:
    import hashlib

    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def run_duckdb_sql(path: Path, folder: Path) -> tuple[int, float]:
    import uuid

    import duckdb

    started = time.perf_counter()
    hashing = ThreadPoolExecutor(max_workers=1).submit(_sha256, path)
    con = duckdb.connect(str(_fresh_database(folder, "duckdb_sql")))
    con.execute(_engine_settings())
    con.execute(
        "CREATE TABLE import_log (import_id TEXT, file_hash TEXT, rows_read BIGINT, "
        "rows_accepted BIGINT, rows_quarantined BIGINT)"
    )
    con.execute(
        "CREATE TABLE quarantine (import_id TEXT, source_row BIGINT, raw TEXT, reasons TEXT)"
    )
    con.execute(
        "CREATE TABLE concordance AS SELECT * FROM read_csv("
        f"'{folder / 'bench_scheme.csv'}', types={{'iccs_code': 'VARCHAR'}})"
    )
    import_id = uuid.uuid4().hex
    rules = {name: sql for name, (sql, _) in SQL_RULES.items()}
    reasons = [
        f"CASE WHEN {name} THEN '[{name}] ' || {reason!r} END"
        for name, (_, reason) in SQL_RULES.items()
    ]
    source = f"read_parquet('{path}', file_row_number = true)"
    extra = ""
    if DUPLICATES == "id":
        # Candidates (ids whose hash repeats), then the exact first row among them only.
        con.execute(
            f"""CREATE TEMPORARY TABLE dups AS
            SELECT r AS dup_row, first_row AS dup_first FROM (
                SELECT file_row_number + 1 AS r,
                       min(file_row_number + 1) OVER (PARTITION BY id) AS first_row
                FROM {source}
                WHERE hash(id) IN (
                    SELECT hash(id) FROM read_parquet('{path}') GROUP BY 1 HAVING count(*) > 1
                )
            ) WHERE r <> first_row"""
        )
        source = f"{source} LEFT JOIN dups ON file_row_number + 1 = dup_row"
        rules["duplicate"] = "dup_first IS NOT NULL"
        reasons.append("CASE WHEN duplicate THEN '[duplicate] of row ' || dup_first END")
        extra = ", i.id::TEXT AS source_id"
    flags = ", ".join(f"coalesce({sql}, false) AS {name}" for name, sql in rules.items())
    bad = " OR ".join(rules)
    scan = f"(SELECT *, {flags} FROM {source})"
    con.execute("BEGIN")
    # As crimeprev stores an import: the offence codes once, joined when counting.
    con.execute("CREATE TABLE codes AS SELECT national_code, iccs_code, share FROM concordance")
    accepted = con.execute(
        f"""CREATE TABLE incident AS
        SELECT i.file_row_number + 1 AS source_row, i.occurred AS occurred_at,
               nullif(trim(i.offence_code, {TRIM}), '') AS offence_code,
               nullif(trim(i.area, {TRIM}), '') AS area_id, i.lon, i.lat{extra}
        FROM {scan} i
        WHERE NOT ({bad})"""
    ).fetchall()[0][0]
    rejected = con.execute(
        f"""INSERT INTO quarantine
        SELECT '{import_id}', file_row_number + 1,
               'occurred=' || coalesce(occurred::TEXT, '') || ' | offence_code='
               || coalesce(offence_code, '') || ' | lon=' || coalesce(lon::TEXT, '')
               || ' | lat=' || coalesce(lat::TEXT, '') || ' | area=' || coalesce(area, ''),
               concat_ws('; ', {", ".join(reasons)})
        FROM {scan} WHERE {bad}"""
    ).fetchall()[0][0]
    rows = pq.ParquetFile(path).metadata.num_rows
    if accepted + rejected != rows:
        raise SystemExit("row accounting failed")
    digest = hashing.result()
    logged = con.execute("SELECT count(*) FROM import_log WHERE file_hash = ?", [digest])
    if logged.fetchall()[0][0]:
        raise SystemExit("already imported")
    con.execute(
        "INSERT INTO import_log VALUES (?, ?, ?, ?, ?)",
        [import_id, digest, rows, accepted, rejected],
    )
    con.execute("COMMIT")
    ingested = time.perf_counter() - started
    counts = con.execute(_COUNTS_SQL.format(rows=_coded("incident", "codes"))).df()
    return _rates(counts, folder), ingested


_COUNTS_SQL = """SELECT CASE WHEN length(iccs_code) >= 5 THEN substr(iccs_code, 1, 5)
                          ELSE iccs_code END AS iccs_code,
                     area_id, date_trunc('month', occurred_at)::DATE AS period,
                     sum(iccs_weight) AS count, count(*) AS records
              FROM {rows} GROUP BY ALL ORDER BY period, area_id, iccs_code"""


def _accepted_sql(path: Path) -> str:
    """The accepted rows as crimeprev stores them (no quarantine, no hash, no ICCS columns)."""
    good = " AND ".join(f"NOT coalesce({sql}, false)" for sql, _ in SQL_RULES.values())
    return f"""SELECT file_row_number + 1 AS source_row, occurred AS occurred_at,
               nullif(trim(offence_code, {TRIM}), '') AS offence_code,
               nullif(trim(area, {TRIM}), '') AS area_id, lon, lat
        FROM read_parquet('{path}', file_row_number = true)
        WHERE {good}"""


def _coded(rows: str, codes: str) -> str:
    """`rows` with the ICCS code and weight of their offence code, as crimeprev's view adds."""
    return f"""(SELECT i.*, c.iccs_code, coalesce(c.share, 1.0) AS iccs_weight
                FROM {rows} i LEFT JOIN {codes} c ON i.offence_code = c.national_code)"""


def _rates(counts: object, folder: Path) -> int:
    import pandas as pd

    from crimeprev.indicators.poisson import rates_with_intervals

    assert isinstance(counts, pd.DataFrame)
    population = pd.read_parquet(folder / "population.parquet")
    table = counts.merge(population, left_on="area_id", right_on="area", how="left")
    table["rate"], table["low"], table["high"] = rates_with_intervals(
        table["count"].to_numpy(), table["population"].to_numpy()
    )
    return len(table)


def run_sql_bare(path: Path, folder: Path) -> tuple[int, float]:
    """Floor without a warehouse: the accepted rows counted straight from Parquet.

    No rows stored, no quarantine, no file hash: the issue's "hand-written
    DuckDB SQL straight over Parquet". Not the same work as the others.
    """
    import duckdb

    con = duckdb.connect()
    con.execute(_engine_settings())
    codes = f"read_csv('{folder / 'bench_scheme.csv'}', types={{'iccs_code': 'VARCHAR'}})"
    rows = _coded(f"({_accepted_sql(path)})", codes)
    counts = con.execute(_COUNTS_SQL.format(rows=rows)).df()
    return _rates(counts, folder), 0.0


def run_sql_store(path: Path, folder: Path) -> tuple[int, float]:
    """Floor of storing: the accepted rows written to a DuckDB file, then counted.

    No quarantine, no file hash, no import log: what writing the rows alone costs.
    """
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(str(_fresh_database(folder, "sql_store")))
    con.execute(_engine_settings())
    con.execute(f"CREATE TABLE incident AS {_accepted_sql(path)}")
    con.execute(
        "CREATE TABLE codes AS SELECT national_code, iccs_code, share FROM read_csv("
        f"'{folder / 'bench_scheme.csv'}', types={{'iccs_code': 'VARCHAR'}})"
    )
    ingested = time.perf_counter() - started
    counts = con.execute(_COUNTS_SQL.format(rows=_coded("incident", "codes"))).df()
    return _rates(counts, folder), ingested


def run_polars(path: Path, folder: Path) -> tuple[int, float]:
    import polars as pl

    from crimeprev.indicators.poisson import rates_with_intervals

    started = time.perf_counter()
    hashing = ThreadPoolExecutor(max_workers=1).submit(_sha256, path)
    frame = pl.scan_parquet(path).with_row_index("source_row", offset=1)
    lon, lat, occurred = pl.col("lon"), pl.col("lat"), pl.col("occurred")
    code = pl.col("offence_code").str.strip_chars().replace("", None)
    zero = (lon == 0) & (lat == 0)
    flags = {
        "date_missing": occurred.is_null(),
        "date_future": occurred > pl.lit(datetime.now()),
        "date_too_early": occurred < pl.lit(datetime(2015, 1, 1)),
        "offence_missing": code.is_null(),
        "coordinate_half_missing": lon.is_null() != lat.is_null(),
        "coordinate_zero": zero,
        "coordinate_outside": ~zero & ~(lon.is_between(-88.0, -87.4) & lat.is_between(41.6, 42.1)),
    }
    reasons = {name: pl.lit(f"[{name}]") for name in flags}
    if DUPLICATES == "id":
        candidates = frame.filter(pl.col("id").is_duplicated())
        pairs = candidates.select(
            "source_row", dup_first=pl.col("source_row").min().over("id")
        ).filter(pl.col("source_row") != pl.col("dup_first"))
        frame = frame.join(pairs, on="source_row", how="left")
        flags["duplicate"] = pl.col("dup_first").is_not_null()
        reasons["duplicate"] = pl.concat_str(
            pl.lit("[duplicate] of row "), pl.col("dup_first").cast(pl.String)
        )
    frame = frame.with_columns(**{name: flag.fill_null(False) for name, flag in flags.items()})
    bad = pl.any_horizontal(*flags)
    text = [
        pl.concat_str(pl.lit(f"{name}="), pl.col(name).cast(pl.String).fill_null(""))
        for name in ("occurred", "offence_code", "lon", "lat", "area")
    ]
    quarantine = frame.filter(bad).select(
        "source_row",
        raw=pl.concat_str(text, separator=" | "),
        reasons=pl.concat_str(
            [pl.when(pl.col(name)).then(reason) for name, reason in reasons.items()],
            separator="; ",
            ignore_nulls=True,
        ),
    )
    concordance = pl.scan_csv(
        folder / "bench_scheme.csv", schema_overrides={"iccs_code": pl.String}
    )
    good = frame.filter(~bad).with_columns(
        offence_code=code, area=pl.col("area").str.strip_chars().replace("", None)
    )
    good = good.join(concordance, left_on="offence_code", right_on="national_code", how="left")
    iccs = pl.col("iccs_code")
    counts = (
        good.with_columns(
            weight=pl.col("share").fill_null(1.0),
            iccs3=pl.when(iccs.str.len_chars() >= 5).then(iccs.str.slice(0, 5)).otherwise(iccs),
            period=occurred.dt.truncate("1mo").cast(pl.Date),
        )
        .group_by("iccs3", "area", "period")
        .agg(count=pl.col("weight").sum(), records=pl.len())
        .sort("period", "area", "iccs3", nulls_last=True)
    )
    accepted = good.select(pl.len())
    rejected, counted, kept = pl.collect_all([quarantine, counts, accepted])
    ingested = time.perf_counter() - started
    rows = pq.ParquetFile(path).metadata.num_rows
    assert kept.item() + rejected.height == rows and hashing.result()
    population = pl.read_parquet(folder / "population.parquet")
    table = counted.join(population, on="area", how="left")
    rate, low, high = rates_with_intervals(
        table["count"].to_numpy(), table["population"].to_numpy().astype(float)
    )
    assert len(rate) == len(low) == len(high) == table.height
    return table.height, ingested


def run_pandas(path: Path, folder: Path) -> tuple[int, float]:
    import pandas as pd

    from crimeprev.indicators.poisson import rates_with_intervals

    started = time.perf_counter()
    digest = _sha256(path)
    frame = pd.read_parquet(path)
    frame["source_row"] = np.arange(1, len(frame) + 1)
    concordance = pd.read_csv(folder / "bench_scheme.csv", dtype={"iccs_code": str})
    code = frame["offence_code"].str.strip().replace("", None)
    zero = (frame["lon"] == 0) & (frame["lat"] == 0)
    flags = {
        "date_missing": frame["occurred"].isna(),
        "date_future": frame["occurred"] > pd.Timestamp.now(),
        "date_too_early": frame["occurred"] < pd.Timestamp("2015-01-01"),
        "offence_missing": code.isna(),
        "coordinate_half_missing": frame["lon"].isna() != frame["lat"].isna(),
        "coordinate_zero": zero,
        "coordinate_outside": ~zero
        & ~(frame["lon"].between(-88.0, -87.4) & frame["lat"].between(41.6, 42.1)),
    }
    if DUPLICATES == "id":
        # Candidates (ids that occur more than once), then the first row among them only.
        candidates = frame["id"].duplicated(keep=False)
        first = frame.loc[candidates].groupby("id")["source_row"].transform("min")
        flags["duplicate"] = pd.Series(False, index=frame.index)
        flags["duplicate"][candidates] = first != frame.loc[candidates, "source_row"]
    bad = pd.concat(flags, axis=1).any(axis=1)
    rejected = frame.loc[bad]
    reasons = pd.Series("", index=rejected.index)
    for name, flag in flags.items():
        reasons = reasons + np.where(flag[bad], f"[{name}]; ", "")
    quarantine = pd.DataFrame(
        {"source_row": rejected["source_row"], "raw": rejected.astype(str).agg(" | ".join, axis=1)}
    ).assign(reasons=reasons.str.removesuffix("; "))
    good = frame.loc[~bad].assign(offence_code=code[~bad], area=frame["area"][~bad].str.strip())
    if DUPLICATES == "id":
        good["source_id"] = good["id"].astype(str)
    good = good.merge(concordance, left_on="offence_code", right_on="national_code", how="left")
    good["weight"] = good["share"].fillna(1.0)
    good["iccs3"] = good["iccs_code"].where(
        good["iccs_code"].str.len() < 5, good["iccs_code"].str[:5]
    )
    good["month"] = good["occurred"].dt.to_period("M")
    assert len(good) + len(quarantine) == len(frame) and digest
    ingested = time.perf_counter() - started
    counts = good.groupby(["iccs3", "area", "month"], as_index=False).agg(
        weight=("weight", "sum"), records=("weight", "size")
    )
    population = pd.read_parquet(folder / "population.parquet")
    table = counts.merge(population, on="area", how="left")
    table["rate"], table["low"], table["high"] = rates_with_intervals(
        table["weight"].to_numpy(), table["population"].to_numpy()
    )
    return len(table), ingested


PIPELINES = {
    "crimeprev": run_crimeprev,
    "duckdb-sql": run_duckdb_sql,
    "polars": run_polars,
    "pandas": run_pandas,
    # Floors, not peers (less work; see their docstrings): --pipelines ...,sql-store,sql-bare
    "sql-store": run_sql_store,
    "sql-bare": run_sql_bare,
}


def child(name: str, path: str, folder: str) -> None:
    """Run one pipeline once; print seconds, ingest seconds and result rows as JSON."""
    if THREADS:
        # polars reads its pool size once, at import; Arrow's pool serves pandas'
        # Parquet reader and the hashing of pyarrow-backed strings.
        os.environ["POLARS_MAX_THREADS"] = str(THREADS)
        pa.set_cpu_count(THREADS)
        pa.set_io_thread_count(THREADS)
    # Import everything before the clock starts: imports are not the pipeline.
    import duckdb  # noqa: F401
    import ibis
    import pandas  # noqa: F401
    import polars  # noqa: F401

    import crimeprev.indicators.counts  # noqa: F401
    import crimeprev.indicators.poisson  # noqa: F401
    import crimeprev.store.ingest  # noqa: F401

    # Load the SQL dialect modules and the DuckDB backend (lazy imports) with a
    # trivial compile.
    ibis.to_sql(ibis.table({"a": "int64"}, name="t").a.sum(), dialect="duckdb")
    assert ibis.duckdb is not None
    warm = crimeprev.indicators.poisson.rates_with_intervals(np.array([1.0]), np.array([10.0]))
    del warm
    started = time.perf_counter()
    rows, ingested = PIPELINES[name](Path(path), Path(folder))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "ingest": ingested, "rows": rows}))


def measure(name: str, path: Path, folder: Path) -> tuple[float, float, float, int, float]:
    """Run a pipeline in a fresh process.

    Returns (seconds, ingest s, peak GiB, result rows, CPU seconds); the CPU
    seconds (user + system, every thread) depend much less on the other
    load of a shared machine than the elapsed time does.
    """
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--child",
            name,
            str(path),
            str(folder),
            "--memory-limit",
            MEMORY_LIMIT,
            "--duplicates",
            DUPLICATES,
            "--threads",
            str(THREADS),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read() if process.stdout else ""
    if status != 0:
        raise SystemExit(f"{name} failed with status {status}")
    result = json.loads(output.strip().splitlines()[-1])
    cpu = usage.ru_utime + usage.ru_stime
    return result["seconds"], result["ingest"], usage.ru_maxrss / 1024**2, result["rows"], cpu


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    global MEMORY_LIMIT, DUPLICATES, THREADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pipelines", default="crimeprev,duckdb-sql,polars,pandas")
    parser.add_argument("--folder", type=Path, default=None, help="Keep the data here")
    parser.add_argument("--child", nargs=3, metavar=("PIPELINE", "FILE", "FOLDER"))
    parser.add_argument(
        "--memory-limit", default=MEMORY_LIMIT, help="DuckDB memory_limit of both DuckDB pipelines"
    )
    parser.add_argument(
        "--duplicates",
        choices=("none", "id"),
        default=DUPLICATES,
        help="Duplicates rule of the profile (every peer applies it)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=THREADS,
        help="Threads for every engine (DuckDB, polars, Arrow); 0 = their defaults (all cores)",
    )
    args = parser.parse_args()
    MEMORY_LIMIT = args.memory_limit
    THREADS = args.threads
    DUPLICATES = args.duplicates
    if args.child:
        child(*args.child)
        return
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench_warehouse_"))
    folder.mkdir(parents=True, exist_ok=True)
    names = args.pipelines.split(",")
    header = (
        "rows", "pipeline", "median s", "ingest s", "cpu s", "peak GiB", "x sql", "pandas/x",
        "result",
    )  # fmt: skip
    print(f"duplicates rule: {DUPLICATES}; threads: {THREADS or 'engine default'}")
    print("{:>12} {:<11} {:>9} {:>9} {:>7} {:>9} {:>6} {:>9} {:>10}".format(*header))
    for size in args.sizes:
        path = make_data(size, folder)
        load = _load()
        # Round-robin, so that a change in the machine's load hits every pipeline alike.
        runs: dict[str, list[tuple[float, float, float, int, float]]] = {n: [] for n in names}
        for _ in range(args.repeats):
            for name in names:
                runs[name].append(measure(name, path, folder))
        medians = {
            name: (
                statistics.median(r[0] for r in done),
                statistics.median(r[1] for r in done),
                max(r[2] for r in done),
                done[0][3],
                statistics.median(r[4] for r in done),
            )
            for name, done in runs.items()
        }
        floor = medians.get("duckdb-sql", (float("nan"),))[0]
        pandas = medians.get("pandas", (float("nan"),))[0]
        for name, (seconds, ingest, peak, rows, cpu) in medians.items():
            print(
                f"{size:>12,} {name:<11} {seconds:>9.2f} {ingest:>9.2f} {cpu:>7.2f} {peak:>9.2f} "
                f"{seconds / floor:>6.2f} {pandas / seconds:>9.2f} {rows:>10,}"
            )
        print(f"{'':>12} load average {load} -> {_load()}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
