"""Import a source file into the warehouse: validate, quarantine, code to ICCS, log.

One import is one transaction. The engine reads the file (DuckDB scans
Parquet in place), every validation rule is a vectorised expression
(:mod:`crimeprev.store.validation`), accepted rows are joined to the
concordance and written by one statement (on DuckDB a large import becomes a
table of the columns its profile maps, see
:meth:`~crimeprev.store.warehouse.Warehouse.store_import`), rejected rows go
to ``quarantine`` with every reason, and ``import_log`` records the file's
SHA-256 and the row counts, taken from the statements' own results. A file
already imported (same source, same hash) adds nothing. If anything fails,
or the process is killed, the transaction never commits and the warehouse is
as it was. Rows pass through Python only when a step needs a Python library
(re-projection with pyproj, point-in-polygon with Shapely), and then as Arrow
columns, never row by row.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa

from crimeprev.errors import DataFileError
from crimeprev.store import areas as area_module
from crimeprev.store.concordance import Concordance, install_concordance, load_concordance
from crimeprev.store.profiles import Profile
from crimeprev.store.readers import ROW, file_hash, open_source
from crimeprev.store.validation import Parsed, any_flag, parse_rows, raw_text, reasons_text
from crimeprev.store.warehouse import PART_CONSTANTS, Warehouse, literal_columns, table_schema

Progress = Callable[[str], None]

#: Files up to this size are hashed before anything else, so a repeat import
#: is skipped at once; larger files are hashed while the engine reads them.
EARLY_HASH_BYTES = 64 * 1024 * 1024
#: Imports of at least this many rows get a table of their own (see
#: :meth:`Warehouse.store_import`); smaller ones join the shared table, which
#: keeps the ``incident`` view short when a source arrives as many small files.
OWN_TABLE_ROWS = 250_000


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    import_id: str
    source: str
    file: str
    file_hash: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    skipped: bool
    seconds: float


def _previous(warehouse: Warehouse, source: str, digest: str) -> dict | None:
    """The log row of the committed import of this file for this source, if any."""
    rows = warehouse.select_rows(
        "import_log", {"source": source, "file_hash": digest, "status": "committed"}, limit=1
    )
    return rows[0] if rows else None


def _with_concordance(
    parsed_rows: ibis.Table, profile: Profile, concordance: Concordance | None, warehouse: Warehouse
) -> ibis.Table:
    has_column_code = "iccs_code" in parsed_rows.columns
    if concordance is None:
        weight = ibis.literal(1.0)
        return parsed_rows.mutate(
            iccs_code=parsed_rows.iccs_code if has_column_code else ibis.null("string"),
            iccs_weight=weight,
        )
    mapping = warehouse.table("concordance")
    mapping = mapping.filter(mapping.scheme == concordance.scheme).select(
        _c_code="national_code",
        _c_iccs="iccs_code",
        _c_share="share",
        _c_from="valid_from",
        _c_to="valid_to",
    )
    predicates = [parsed_rows[_code_key(profile)] == mapping._c_code]
    if concordance.dated:
        if "occurred_at" in parsed_rows.columns:
            day = parsed_rows.occurred_at.date()
        else:
            day = ibis.date(parsed_rows.year, 1, 1)
        predicates.append(mapping._c_from.isnull() | (mapping._c_from <= day))
        predicates.append(mapping._c_to.isnull() | (day <= mapping._c_to))
    joined = parsed_rows.left_join(mapping, predicates)
    code = joined._c_iccs
    if has_column_code:
        code = joined.iccs_code.fill_null(joined._c_iccs)
    joined = joined.mutate(iccs_code=code, iccs_weight=joined._c_share.fill_null(1.0))
    return joined.drop("_c_code", "_c_iccs", "_c_share", "_c_from", "_c_to")


def _needs_python(profile: Profile) -> bool:
    location = profile.location
    projected = location is not None and location.x is not None and location.crs != "EPSG:4326"
    pip = profile.area is not None and profile.area.point_in_polygon
    return projected or pip


def _python_step(warehouse: Warehouse, profile: Profile, rows: ibis.Table) -> pa.Table:
    """Re-project x/y to lon/lat and assign areas by point in polygon, on Arrow columns."""
    arrow = warehouse.to_arrow(rows)
    location = profile.location
    if location is not None and location.x is not None and location.crs != "EPSG:4326":
        from pyproj import Transformer

        transformer = Transformer.from_crs(location.crs, "EPSG:4326", always_xy=True)
        x = arrow["x"].to_numpy(zero_copy_only=False).astype(float)
        y = arrow["y"].to_numpy(zero_copy_only=False).astype(float)
        lon, lat = transformer.transform(x, y)
        lon = np.where(np.isnan(x), np.nan, lon)
        lat = np.where(np.isnan(y), np.nan, lat)
        arrow = arrow.set_column(
            arrow.schema.get_field_index("lon"), "lon", pa.array(lon, mask=np.isnan(lon))
        ).set_column(arrow.schema.get_field_index("lat"), "lat", pa.array(lat, mask=np.isnan(lat)))
    if profile.area is not None and profile.area.point_in_polygon and arrow.num_rows:
        area_set = area_module.load_area_set(warehouse, profile.area.area_set)
        if not area_set.ids:
            raise DataFileError(
                f"area set {profile.area.area_set!r} is not loaded: load its boundaries first "
                "(crimeprev areas load ...)",
                expected="boundaries in the warehouse",
            )
        lon = arrow["lon"].to_numpy(zero_copy_only=False).astype(float)
        lat = arrow["lat"].to_numpy(zero_copy_only=False).astype(float)
        assigned = list(area_module.assign_points(area_set, lon, lat))
        if "area_id" in arrow.column_names:
            current = arrow["area_id"].to_pylist()
            assigned = [c if c is not None else a for c, a in zip(current, assigned, strict=True)]
            arrow = arrow.drop_columns(["area_id"])
        arrow = arrow.append_column("area_id", pa.array(assigned, pa.string()))
    return arrow


def _constants(profile: Profile, import_id: str) -> dict[str, str | None]:
    """The values every stored row of this import shares (see ``PART_CONSTANTS``)."""
    area_set = profile.area.area_set if profile.area else None
    if profile.kind == "aggregate" and profile.aggregate is not None:
        area_set = area_set or f"{profile.name}_areas"
    constants: dict[str, str | None] = {
        "source": profile.name,
        "import_id": import_id,
        "area_set": area_set,
    }
    if profile.kind == "incident":
        constants["occurred_precision"] = profile.occurred.precision if profile.occurred else None
    return constants


def _code_key(profile: Profile) -> str:
    """The canonical column the concordance maps: the offence code, else the label."""
    has_code = profile.offence_code or profile.offence_code_value
    return "offence_code" if has_code else "offence_label"


def _codes(concordance: Concordance | None, parsed: Parsed) -> str | None:
    """The concordance scheme whose rows an import's own table can join in the view, if any.

    Not when no concordance applies, when it is dated (the ICCS code then
    depends on each row's date) or when the file gives ICCS codes itself.
    """
    if concordance is None or concordance.dated or "_k_iccs_code" in parsed.table.columns:
        return None
    return concordance.scheme


def _accepted_rows(
    warehouse: Warehouse,
    profile: Profile,
    parsed: Parsed,
    concordance: Concordance | None,
    *,
    coded: bool = True,
) -> ibis.Table:
    """The accepted rows, coded to ICCS: only the canonical columns the profile maps.

    The columns every row shares (:func:`_constants`) are left out; columns
    the profile does not map are left out too (they are NULL when stored).
    With `coded` False the ICCS code and weight are left out too, for the
    view to join them (see :meth:`Warehouse.store_import`).
    """
    table = parsed.canonical()
    rows = table.filter(~any_flag(parsed, table))
    if coded:
        rows = _with_concordance(rows, profile, concordance, warehouse)
    if profile.kind == "incident" and profile.area is not None and profile.area.column:
        if profile.area.match == "name":
            areas = warehouse.table("area")
            names = areas.filter(areas.area_set == profile.area.area_set).select(
                _a_name="name", _a_id="area_id"
            )
            rows = rows.left_join(names, rows._area_key == names._a_name)
            rows = rows.mutate(area_id=rows._a_id).drop("_a_name", "_a_id")
        else:
            rows = rows.mutate(area_id=rows._area_key)
    target = "incident" if profile.kind == "incident" else "aggregate"
    schema = table_schema(target)
    return rows.select(
        *[
            rows[col].cast(dtype).name(col)
            for col, dtype in schema.items()
            if col in rows.columns and col not in PART_CONSTANTS
        ]
    )


def _quarantine_rows(profile: Profile, parsed: Parsed, import_id: str) -> ibis.Table:
    table = parsed.table
    flagged = table.filter(any_flag(parsed, table))
    return flagged.select(
        source=ibis.literal(profile.name),
        import_id=ibis.literal(import_id),
        source_row=flagged[ROW].cast("int64"),
        raw=raw_text(profile, flagged),
        reasons=reasons_text(parsed, flagged),
    )


def import_file(
    warehouse: Warehouse,
    profile: Profile,
    path: str | Path,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Import one file described by `profile` into the warehouse.

    Parameters
    ----------
    warehouse : Warehouse
        The open warehouse.
    profile : Profile
        The source profile.
    path : str or Path
        CSV, Parquet, Excel (.xlsx) or police.uk CSV file.
    progress : callable, optional
        Called with the name of each stage as it starts (for progress bars).
    now : datetime, optional
        The import time; dates after it are rejected as in the future.

    Returns
    -------
    ImportResult
        Counts and the file hash; ``skipped`` is True when the same file was
        already imported for this source (nothing is added).

    Raises
    ------
    DataFileError
        For whole-file problems (missing columns, wrong delimiter or encoding,
        empty or truncated file) or a bad concordance.
    """
    started = time.perf_counter()
    path = Path(path)
    report = progress or (lambda _stage: None)
    if not path.exists():
        raise DataFileError("no such file", file=str(path))
    # hashlib releases the GIL, so a large file is hashed while the engine reads it.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crimeprev-hash") as pool:
        hashing = pool.submit(file_hash, path)

        def skip_if_imported() -> None:
            report("hashing")
            previous = _previous(warehouse, profile.name, hashing.result())
            if previous is not None:
                raise _AlreadyImportedError(previous)

        # A small file is looked up in the log before anything is written. A
        # Parquet file costs little to open, so its hash is computed while its
        # rules are built and compiled (pure Python); other files are read
        # into memory first, so they are looked up before that.
        check = None
        if path.stat().st_size <= EARLY_HASH_BYTES:
            if path.suffix.lower() == ".parquet":
                check = skip_if_imported
            else:
                try:
                    skip_if_imported()
                except _AlreadyImportedError as already:
                    return _skipped(already.previous, profile, path, hashing.result(), started)
        try:
            return _import(warehouse, profile, path, hashing, report, now, started, check)
        except _AlreadyImportedError as already:
            return _skipped(already.previous, profile, path, hashing.result(), started)


class _AlreadyImportedError(Exception):
    """Raised inside the import's transaction to roll it back: the file is in the log."""

    def __init__(self, previous: dict) -> None:
        super().__init__("already imported")
        self.previous = previous


def _skipped(
    previous: dict, profile: Profile, path: Path, digest: str, started: float
) -> ImportResult:
    return ImportResult(
        import_id=previous["import_id"],
        source=profile.name,
        file=str(path),
        file_hash=digest,
        rows_read=int(previous["rows_read"]),
        rows_accepted=int(previous["rows_accepted"]),
        rows_quarantined=int(previous["rows_quarantined"]),
        skipped=True,
        seconds=time.perf_counter() - started,
    )


def _import(
    warehouse: Warehouse,
    profile: Profile,
    path: Path,
    hashing: Future[str],
    report: Progress,
    now: datetime | None,
    started: float,
    check: Callable[[], None] | None = None,
) -> ImportResult:
    """Validate, store, quarantine and log in one transaction (see :func:`import_file`).

    `check`, if given, raises :class:`_AlreadyImportedError` when the log
    already holds the file; it is called once the rules are compiled, before
    anything is written. Otherwise the file's hash is awaited just before the
    log is written; if the log already holds it (a large file, or another
    import of the same file that committed meanwhile), the transaction is
    rolled back and nothing is added.
    """
    concordance = load_concordance(profile.concordance) if profile.concordance else None
    report("reading")
    source = open_source(warehouse, profile, path)
    import_id = uuid.uuid4().hex
    staging: list[str] = []

    def keep(stage: ibis.Table) -> ibis.Table:
        staging.append(f"_stage_{import_id}_{len(staging)}")
        return warehouse.materialize(stage, staging[-1])

    report("parsing")
    parsed = parse_rows(
        profile,
        source.table,
        now=now,
        materialize=keep if warehouse.backend != "duckdb" else None,
        keep=keep,
    )
    temporary_view = None
    view_sql = None
    if warehouse.backend == "duckdb":
        # The stored rows and the quarantine both read the parsed rows: as a
        # view, their SQL is compiled once instead of twice.
        temporary_view = f"_parsed_{import_id}"
        view_sql = warehouse.compile_sql(parsed.table)
    if temporary_view is not None and view_sql is not None:
        # A temporary view: nothing is written to the warehouse yet.
        parsed = Parsed(warehouse.temporary_view(view_sql, temporary_view), parsed.rules)
    constants = _constants(profile, import_id)
    own_table = source.rows >= OWN_TABLE_ROWS
    codes = None
    if profile.kind == "incident" and own_table and warehouse.backend == "duckdb":
        codes = _codes(concordance, parsed)
    accepted = _accepted_rows(warehouse, profile, parsed, concordance, coded=codes is None)
    prepared = None
    if profile.kind == "incident" and codes is not None and not _needs_python(profile):
        # Compiled while the file is still being hashed (see `check`).
        prepared = warehouse.import_select(accepted, constants)
    if check is not None:
        try:
            check()
        except _AlreadyImportedError:
            for name in staging:
                warehouse.execute_sql(f"DROP TABLE IF EXISTS {name}")
            if temporary_view is not None:
                warehouse.execute_sql(f"DROP VIEW IF EXISTS {temporary_view}")
            raise
    if concordance is not None:
        install_concordance(warehouse, concordance)
    started_at = datetime.now(tz=UTC).replace(tzinfo=None)
    # The quarantine statement is compiled (pure Python, about 0.1 s) while the
    # engine stores the accepted rows, which releases the GIL: a fixed cost
    # that otherwise weighs on every file, most on small ones.
    compiling = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crimeprev-compile")
    quarantine_sql = compiling.submit(
        lambda: warehouse.insert_statement(
            "quarantine", _quarantine_rows(profile, parsed, import_id)
        )
    )
    compiling.shutdown(wait=False)
    try:
        with warehouse.transaction():
            report("validating and storing accepted rows")
            if profile.kind == "incident":
                rows = (
                    _python_step(warehouse, profile, accepted)
                    if _needs_python(profile)
                    else accepted
                )
                written = warehouse.store_import(
                    import_id,
                    rows,
                    constants,
                    own_table=own_table,
                    codes=codes,
                    code_key=_code_key(profile) if codes is not None else None,
                    prepared=prepared,
                )
            else:
                written = warehouse.insert(
                    "aggregate", accepted.mutate(**literal_columns(constants))
                )
            report("quarantining rejected rows")
            rejected = _write_quarantine(warehouse, quarantine_sql.result())
            report("checking counts")
            digest = hashing.result()
            previous = _previous(warehouse, profile.name, digest)
            if previous is not None:
                raise _AlreadyImportedError(previous)
            accepted_records = _accepted_records(
                warehouse, profile, concordance, import_id, written
            )
            if accepted_records + rejected != source.rows:
                raise DataFileError(
                    f"row accounting failed: read {source.rows}, accepted {accepted_records}, "
                    f"quarantined {rejected}; the import was rolled back",
                    file=str(path),
                )
            warehouse.insert(
                "import_log",
                pa.table(
                    {
                        "import_id": [import_id],
                        "source": [profile.name],
                        "file_name": [path.name],
                        "file_hash": [digest],
                        "rows_read": [source.rows],
                        "rows_accepted": [accepted_records],
                        "rows_quarantined": [rejected],
                        "status": ["committed"],
                        "started_at": [started_at],
                        "finished_at": [datetime.now(tz=UTC).replace(tzinfo=None)],
                        "note": [f"profile sha256 {profile.digest[:12]}"],
                    }
                ),
            )
    finally:
        for name in staging:
            warehouse.execute_sql(f"DROP TABLE IF EXISTS {name}")
        if temporary_view is not None:
            warehouse.execute_sql(f"DROP VIEW IF EXISTS {temporary_view}")
    report("done")
    return ImportResult(
        import_id=import_id,
        source=profile.name,
        file=str(path),
        file_hash=digest,
        rows_read=source.rows,
        rows_accepted=accepted_records,
        rows_quarantined=rejected,
        skipped=False,
        seconds=time.perf_counter() - started,
    )


def _write_quarantine(warehouse: Warehouse, statement: str) -> int:
    """Store the rejected rows (the compiled insert); return how many there were."""
    return warehouse.execute_count(statement)


def _accepted_records(
    warehouse: Warehouse,
    profile: Profile,
    concordance: Concordance | None,
    import_id: str,
    written: int,
) -> int:
    """Source records behind the `written` stored rows.

    With a one-to-one concordance a record is one row, so the statement's
    own count is the answer. A one-to-many concordance splits a record into
    rows whose shares sum to 1: then the shares are summed in the warehouse.
    """
    if concordance is None or all(row.share == 1 for row in concordance.rows):
        return written
    target = warehouse.table("incident" if profile.kind == "incident" else "aggregate")
    mine = target.filter(target.import_id == import_id)
    return round(warehouse.scalar(mine.iccs_weight.sum().fill_null(0)))


def import_log(warehouse: Warehouse, source: str | None = None) -> list[dict]:
    """The import log, newest first (optionally for one source)."""
    log = warehouse.table("import_log")
    if source:
        log = log.filter(log.source == source)
    return warehouse.to_arrow(log.order_by(ibis.desc("started_at"))).to_pylist()


def quarantined(
    warehouse: Warehouse, source: str, *, limit: int = 100, offset: int = 0
) -> list[dict]:
    """Quarantined rows of a source, in file order, each with its file's name (``file_name``).

    ``source_row`` numbers the file's data rows from 1 (the header is not counted).
    """
    table = warehouse.table("quarantine")
    rows = table.filter(table.source == source).order_by("import_id", "source_row")
    page = rows.limit(limit, offset=offset)
    log = warehouse.table("import_log")
    files = log.filter(log.source == source).select("import_id", "file_name")
    named = page.left_join(files, "import_id").select(*page.columns, files.file_name)
    return warehouse.to_arrow(named.order_by("import_id", "source_row")).to_pylist()
