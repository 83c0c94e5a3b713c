"""Benchmark: bulk import of cases and assets, and backup/restore, on SQLite and PostgreSQL.

For each size N (assets; cases = N / 4) the script generates a fictional XLSX
workbook in the import template's layout and measures, side by side on the
same fresh database:

* ``import``: :func:`crimeprev.assets.bulk_import.import_file` - one
  transaction, each row checked and written in a savepoint, one audit record
  per created case and asset;
* ``one by one``: the peer - the same records created through the same
  services, one transaction per record (what a script calling the API per row
  does, without HTTP);
* ``backup`` and ``restore`` of the resulting database (restore into an
  emptied database, verified by counts and the audit chain).

Each timing is the median of ``--repeats`` runs (fresh database each run);
peak Python memory (tracemalloc) is taken in one further run of ``import``.

Usage::

    python bench/bench_assets_import.py --sizes 400 2000 --backends sqlite postgres

PostgreSQL: ``CRIMEPREV_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each run uses a fresh
schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import create_engine

from crimeprev.assets import backup, bulk_import, cases, registry
from crimeprev.db import Database
from crimeprev.db import accounts as acc
from crimeprev.db.testing import (
    fast_password_hashing,
    reset_database,
    temporary_schema,
    url_with_schema,
)

POSTGRES_URL = os.environ.get(
    "CRIMEPREV_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CATEGORIES = ["vehicle", "real_estate", "bank_account", "cash", "valuables_and_art"]


def workbook(size: int) -> bytes:
    """A filled import workbook: size/4 fictional cases and `size` fictional assets."""
    book = load_workbook(io.BytesIO(bulk_import.template_xlsx()))
    cases_sheet, assets_sheet = book["cases"], book["assets"]
    cases_sheet.delete_rows(2, cases_sheet.max_row)
    assets_sheet.delete_rows(2, assets_sheet.max_row)
    n_cases = max(1, size // 4)
    start = date(2024, 1, 1)
    for number in range(n_cases):
        opened = (start + timedelta(days=number % 300)).isoformat()
        cases_sheet.append(
            [f"BC-{number}", f"Fictional case {number}", "ITA", opened, "07041;0703", "", ""]
        )
    for number in range(size):
        assets_sheet.append(
            [
                f"BA-{number}",
                f"BC-{number % n_cases}",
                CATEGORIES[number % len(CATEGORIES)],
                f"Fictional asset {number}",
                "ITA",
                "2024-12-01",
                f"ID-{number}",
                "register",
                "Fictional town",
                "",
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@contextmanager
def fresh(backend: str) -> Iterator[Database]:
    """A migrated, empty registry with one agency and one investigator."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            database = Database(f"sqlite:///{Path(folder, 'bench.sqlite').as_posix()}")
            try:
                yield _prepared(database)
            finally:
                database.dispose()
    else:
        engine = create_engine(POSTGRES_URL)
        try:
            with temporary_schema(engine, prefix="bench_import") as schema:
                database = Database(url_with_schema(POSTGRES_URL, schema))
                try:
                    yield _prepared(database)
                finally:
                    database.dispose()
        finally:
            engine.dispose()


def _prepared(database: Database) -> Database:
    database.upgrade()
    with database.transaction() as session:
        acc.create_agency(session, acc.SYSTEM, code="AMO", name="Bench office", country="ITA")
        acc.create_user(
            session,
            acc.SYSTEM,
            username="ivan",
            password="a bench passphrase",
            roles=["investigator"],
            agency_code="AMO",
        )
    return database


def principal(database: Database) -> acc.Principal:
    with database.transaction() as session:
        return acc.principal_for(acc.get_user(session, "ivan"), via="bench")


def run_import(database: Database, content: bytes) -> None:
    actor = principal(database)
    with database.transaction() as session:
        bulk_import.import_file(session, actor, "bench.xlsx", content)


def run_one_by_one(database: Database, content: bytes) -> None:
    actor = principal(database)
    tables = bulk_import.read_file("bench.xlsx", content)
    case_ids: dict[str, int] = {}
    for row in tables["cases"]:
        values, _ = bulk_import.check_row(row, bulk_import.COLUMNS["cases"])
        with database.transaction() as session:
            case = cases.create_case(
                session,
                actor,
                reference=values["reference"],
                title=values["title"],
                jurisdiction=values["jurisdiction"],
                opened_on=values["opened_on"],
                offences=values["offences"],
            )
            case_ids[case.reference] = case.id
    for row in tables["assets"]:
        values, _ = bulk_import.check_row(row, bulk_import.COLUMNS["assets"])
        with database.transaction() as session:
            registry.create_asset(
                session,
                actor,
                case_ids[values["case_reference"]],
                reference=values["reference"],
                category=values["category"],
                description=values["description"],
                country=values["country"],
                identified_on=values["identified_on"],
                identifier=values["identifier"],
                identifier_type=values["identifier_type"],
                location=values["location"],
            )


def timed(
    backend: str, repeats: int, work: Callable[[Database], None]
) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        with fresh(backend) as database:
            started = time.perf_counter()
            work(database)
            times.append(time.perf_counter() - started)
    return statistics.median(times), times


def backup_restore(backend: str, content: bytes, repeats: int) -> tuple[float, float, int]:
    backups, restores = [], []
    size = 0
    for _ in range(repeats):
        with fresh(backend) as database:
            run_import(database, content)
            started = time.perf_counter()
            with database.transaction() as session:
                document = backup.create_backup(session)
            backups.append(time.perf_counter() - started)
            size = sum(document["counts"].values())
            reset_database(database.engine)
            started = time.perf_counter()
            with database.transaction() as session:
                backup.restore_backup(session, "bench", document)
            restores.append(time.perf_counter() - started)
    return statistics.median(backups), statistics.median(restores), size


def peak_import_memory(backend: str, content: bytes) -> float:
    with fresh(backend) as database:
        tracemalloc.start()
        run_import(database, content)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[400, 2000])
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", file=sys.stderr)
    header = (
        "| backend | assets | cases | import s | one by one s | one by one / import | "
        "rows/s (import) | backup s | restore s | rows backed up | import peak MiB |"
    )
    print(header)
    print("|---" * 11 + "|")
    with fast_password_hashing():
        for backend in args.backends:
            for size in args.sizes:
                content = workbook(size)
                rows = size + max(1, size // 4)
                bulk, _ = timed(backend, args.repeats, lambda db, c=content: run_import(db, c))
                single, _ = timed(
                    backend, args.repeats, lambda db, c=content: run_one_by_one(db, c)
                )
                taken, put_back, backed_up = backup_restore(backend, content, args.repeats)
                peak = peak_import_memory(backend, content)
                print(
                    f"| {backend} | {size} | {rows - size} | {bulk:.2f} | {single:.2f} | "
                    f"{single / bulk:.2f} | {rows / bulk:.0f} | {taken:.2f} | {put_back:.2f} | "
                    f"{backed_up} | {peak:.1f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
