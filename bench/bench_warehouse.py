"""Benchmark: ingest + concordance join + counts by ICCS level 3 x area x month + rates.

Three pipelines run side by side on the same synthetic Parquet file:

* ``crimeprev``: ``import_file`` (file hash, per-row validation with quarantine,
  concordance join, import log) then ``count_incidents`` and Garwood rates;
* ``duckdb-sql``: the same steps hand-written in DuckDB SQL over the Parquet
  file (the engine's floor);
* ``pandas``: the same steps written plainly in pandas.

Each run is a fresh process, so the peak resident memory of a run is its
own. Usage::

    python bench/bench_warehouse.py 1000000 10000000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

AREAS = 500
NATIONAL_CODES = 200
START = np.datetime64("2015-01-01T00:00")
MINUTES = 5 * 365 * 24 * 60


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


def run_crimeprev(path: Path, folder: Path) -> int:
    import pandas as pd

    from crimeprev.indicators.counts import CountQuery, count_incidents
    from crimeprev.indicators.poisson import rates_with_intervals
    from crimeprev.store import open_warehouse
    from crimeprev.store.ingest import import_file
    from crimeprev.store.profiles import load_profile

    warehouse = open_warehouse("duckdb://")
    import_file(warehouse, load_profile(folder / "bench.toml"), path)
    counts = count_incidents(warehouse, CountQuery("bench", level=3, period="month", by_area=True))
    population = pd.read_parquet(folder / "population.parquet")
    table = counts.merge(population, left_on="area_id", right_on="area", how="left")
    table["rate"], table["low"], table["high"] = rates_with_intervals(
        table["count"].to_numpy(), table["population"].to_numpy()
    )
    return len(table)


def run_duckdb_sql(path: Path, folder: Path) -> int:
    import duckdb
    import pandas as pd

    from crimeprev.indicators.poisson import rates_with_intervals

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE concordance AS SELECT * FROM read_csv("
        f"'{folder / 'bench_scheme.csv'}', types={{'iccs_code': 'VARCHAR'}})"
    )
    bad = (
        "occurred IS NULL OR occurred < TIMESTAMP '2015-01-01' OR occurred > now()::TIMESTAMP "
        "OR offence_code IS NULL OR lon < -88.0 OR lon > -87.4 OR lat < 41.6 OR lat > 42.1 "
        "OR (lon = 0 AND lat = 0)"
    )
    con.execute(
        f"""CREATE TABLE incident AS
        SELECT i.id, i.occurred, i.offence_code, c.iccs_code, coalesce(c.share, 1) AS weight,
               i.area, i.lon, i.lat
        FROM read_parquet('{path}') i LEFT JOIN concordance c ON i.offence_code = c.national_code
        WHERE NOT ({bad})"""
    )
    con.execute(
        f"""CREATE TABLE quarantine AS SELECT id, 'bad row' AS reason
        FROM read_parquet('{path}') WHERE {bad}"""
    )
    counts = con.execute(
        """SELECT substr(iccs_code, 1, 5) AS iccs3, area, date_trunc('month', occurred) AS month,
                  sum(weight) AS count
           FROM incident GROUP BY ALL"""
    ).df()
    population = pd.read_parquet(folder / "population.parquet")
    table = counts.merge(population, on="area", how="left")
    table["rate"], table["low"], table["high"] = rates_with_intervals(
        table["count"].to_numpy(), table["population"].to_numpy()
    )
    return len(table)


def run_pandas(path: Path, folder: Path) -> int:
    import pandas as pd

    from crimeprev.indicators.poisson import rates_with_intervals

    frame = pd.read_parquet(path)
    concordance = pd.read_csv(folder / "bench_scheme.csv", dtype={"iccs_code": str})
    bad = (
        frame["occurred"].isna()
        | (frame["occurred"] < pd.Timestamp("2015-01-01"))
        | (frame["occurred"] > pd.Timestamp.now())
        | frame["offence_code"].isna()
        | ~frame["lon"].between(-88.0, -87.4)
        | ~frame["lat"].between(41.6, 42.1)
    )
    quarantine = frame.loc[bad, ["id"]]
    good = frame.loc[~bad].merge(
        concordance, left_on="offence_code", right_on="national_code", how="left"
    )
    good["weight"] = good["share"].fillna(1.0)
    good["iccs3"] = good["iccs_code"].str[:5]
    good["month"] = good["occurred"].dt.to_period("M")
    counts = good.groupby(["iccs3", "area", "month"], as_index=False)["weight"].sum()
    population = pd.read_parquet(folder / "population.parquet")
    table = counts.merge(population, on="area", how="left")
    table["rate"], table["low"], table["high"] = rates_with_intervals(
        table["weight"].to_numpy(), table["population"].to_numpy()
    )
    del quarantine
    return len(table)


PIPELINES = {"crimeprev": run_crimeprev, "duckdb-sql": run_duckdb_sql, "pandas": run_pandas}


def child(name: str, path: str, folder: str) -> None:
    """Run one pipeline once; print seconds and result rows as JSON."""
    # Import everything before the clock starts: imports are not the pipeline.
    import duckdb  # noqa: F401
    import ibis
    import pandas  # noqa: F401

    import crimeprev.indicators.counts  # noqa: F401
    import crimeprev.indicators.poisson  # noqa: F401
    import crimeprev.store.ingest  # noqa: F401

    # Load the SQL dialect modules (lazy imports) with a trivial compile.
    ibis.to_sql(ibis.table({"a": "int64"}, name="t").a.sum(), dialect="duckdb")
    warm = crimeprev.indicators.poisson.rates_with_intervals(np.array([1.0]), np.array([10.0]))
    del warm
    started = time.perf_counter()
    rows = PIPELINES[name](Path(path), Path(folder))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": rows}))


def measure(name: str, path: Path, folder: Path) -> tuple[float, float, int]:
    """Run a pipeline in a fresh process; return (seconds, peak GiB, result rows)."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", name, str(path), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read() if process.stdout else ""
    if status != 0:
        raise SystemExit(f"{name} failed with status {status}")
    result = json.loads(output.strip().splitlines()[-1])
    return result["seconds"], usage.ru_maxrss / 1024**2, result["rows"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pipelines", default="crimeprev,duckdb-sql,pandas")
    parser.add_argument("--folder", type=Path, default=None, help="Keep the data here")
    parser.add_argument("--child", nargs=3, metavar=("PIPELINE", "FILE", "FOLDER"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench_warehouse_"))
    folder.mkdir(parents=True, exist_ok=True)
    names = args.pipelines.split(",")
    header = ("rows", "pipeline", "median s", "peak GiB", "x duckdb-sql", "result rows")
    print("{:>12} {:<11} {:>9} {:>9} {:>13} {:>12}".format(*header))
    for size in args.sizes:
        path = make_data(size, folder)
        medians: dict[str, tuple[float, float, int]] = {}
        for name in names:
            runs = [measure(name, path, folder) for _ in range(args.repeats)]
            medians[name] = (
                statistics.median(r[0] for r in runs),
                max(r[1] for r in runs),
                runs[0][2],
            )
        floor = medians.get("duckdb-sql", (float("nan"),))[0]
        for name, (seconds, peak, rows) in medians.items():
            ratio = seconds / floor
            print(f"{size:>12,} {name:<11} {seconds:>9.2f} {peak:>9.2f} {ratio:>13.2f} {rows:>12,}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
