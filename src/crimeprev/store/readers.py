"""Read a source file into the warehouse engine as a table of raw rows.

Every reader adds ``_row``, the 1-based data row number (the header is not
counted, so row 1 is the file's second line in a CSV), which quarantine
reasons cite. On DuckDB a Parquet file is scanned in place by the engine
(``read_parquet`` with its file row numbers); other files are parsed once into
Arrow (multi-threaded for CSV) and handed to the engine as one table. Whole-file
problems (no such file, empty, wrong delimiter or encoding, ragged rows, missing
columns) raise :class:`~crimeprev.errors.DataFileError` saying what was found
and what was expected.
"""

from __future__ import annotations

import csv
import hashlib
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from crimeprev.errors import DataFileError
from crimeprev.store.profiles import Profile
from crimeprev.store.warehouse import Warehouse, ibis_duckdb_compat

ROW = "_row"
_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class RawSource:
    """A source file opened in the engine: the raw table and its row count."""

    table: ibis.Table
    rows: int
    columns: tuple[str, ...]


def file_hash(path: Path) -> str:
    """Return the SHA-256 hex digest of a file, read in chunks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "a.txt").write_bytes(b"abc")
    3
    >>> file_hash(folder / "a.txt")[:16]
    'ba7816bf8f01cfea'
    """
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _check_columns(profile: Profile, columns: list[str], path: Path, sniffed: str = "") -> None:
    missing = [name for name in profile.required_columns() if name not in columns]
    if not missing:
        return
    hint = ""
    if len(columns) == 1:
        for delimiter in _DELIMITERS:
            if delimiter in columns[0]:
                hint = f"; the header holds one column containing {delimiter!r}: wrong delimiter?"
    raise DataFileError(
        f"missing required column(s) {missing}; found {columns[:20]}{hint}{sniffed}",
        file=str(path),
        expected=f"columns {profile.required_columns()}",
    )


def _first_bad_line(path: Path, expected_columns: int) -> tuple[int, int]:
    """Find the first data row whose column count differs (slow path, errors only)."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for number, row in enumerate(reader, start=1):
            if len(row) != expected_columns:
                return number, len(row)
    return -1, expected_columns


def _read_csv(path: Path, profile: Profile) -> pa.Table:
    if path.stat().st_size == 0:
        raise DataFileError("the file is empty", file=str(path), expected="a header row and data")
    with path.open("rb") as handle:
        head = handle.read(65536)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A cut in the middle of a multi-byte character at the block end is fine.
        if error.start < len(head) - 4:
            raise DataFileError(
                f"the file is not UTF-8 text (byte 0x{head[error.start]:02x} at offset "
                f"{error.start}); re-save it as UTF-8",
                file=str(path),
                expected="UTF-8 encoded CSV",
            ) from error
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise DataFileError(
            "the file is XML (an SDMX-ML message?), not CSV; for SDMX-ML, convert it first: "
            f"crimeprev stats read-sdmx {path.name} --output {path.stem}.csv, "
            "then import that CSV",
            file=str(path),
            expected="a CSV file with a header row",
        )
    header_line = head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()[0]
    header = next(csv.reader([header_line]))
    _check_columns(profile, header, path)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as error:
        text = str(error)
        if "UTF8" in text or "utf8" in text or "UTF-8" in text:
            raise DataFileError(
                "the file is not UTF-8 text; re-save it as UTF-8",
                file=str(path),
                expected="UTF-8 encoded CSV",
            ) from error
        row, found = _first_bad_line(path, len(header))
        raise DataFileError(
            f"row has {found} columns but the header has {len(header)} "
            "(a truncated file or an unquoted delimiter?)",
            file=str(path),
            row=row if row > 0 else None,
            expected=f"{len(header)} columns",
        ) from error
    if table.num_rows == 0:
        raise DataFileError(
            "the file has a header but no data rows", file=str(path), expected="data rows"
        )
    return table


def _read_xlsx(path: Path, profile: Profile) -> pa.Table:
    import pandas as pd

    try:
        frame = pd.read_excel(path, sheet_name=profile.sheet or 0, dtype=object)
    except ValueError as error:
        raise DataFileError(
            f"cannot read the workbook: {error}", file=str(path), expected="an .xlsx workbook"
        ) from error
    if frame.empty:
        raise DataFileError("the sheet has no data rows", file=str(path), expected="data rows")
    frame.columns = [str(name) for name in frame.columns]
    # Cells as text, as a CSV gives them; a date cell in the occurrence column (Excel turns
    # a typed "2022-03" into a date) is written in the profile's format, not as a timestamp.
    occurred = profile.occurred
    for column in frame.columns:
        if occurred is not None and column == occurred.column:
            frame[column] = frame[column].map(lambda v: _cell_text(v, occurred.format))
        else:
            frame[column] = frame[column].map(_cell_text)
    _check_columns(profile, list(frame.columns), path)
    return pa.Table.from_pandas(frame, preserve_index=False)


def _cell_text(value: object, date_format: str | None = None) -> str | None:
    """A spreadsheet cell as text (None when empty); a date cell in `date_format` if given.

    Examples
    --------
    >>> from datetime import datetime
    >>> _cell_text(datetime(2022, 3, 1), "%Y-%m"), _cell_text(34), _cell_text(float("nan"))
    ('2022-03', '34', None)
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    if date_format is not None and isinstance(value, date):
        return value.strftime(date_format)
    return str(value)


def _with_row_numbers(table: pa.Table) -> pa.Table:
    return table.append_column(ROW, pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)))


def open_source(warehouse: Warehouse, profile: Profile, path: Path) -> RawSource:
    """Open `path` as described by `profile` and return its raw rows in the engine.

    Raises
    ------
    DataFileError
        If the file is missing, empty, unreadable, ragged or lacks a column
        the profile needs.
    """
    if not path.exists():
        raise DataFileError("no such file", file=str(path))
    kind = {".parquet": "parquet", ".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".txt": "csv"}
    file_format = kind.get(path.suffix.lower(), profile.file_format)
    if file_format == "parquet":
        try:
            metadata = pq.ParquetFile(path).metadata
        except (pa.ArrowInvalid, OSError) as error:
            raise DataFileError(
                f"not a readable Parquet file: {error}", file=str(path), expected="Parquet"
            ) from error
        columns = list(pq.read_schema(path).names)
        _check_columns(profile, columns, path)
        if metadata.num_rows == 0:
            raise DataFileError("the file has no data rows", file=str(path), expected="data rows")
        if warehouse.backend == "duckdb":
            with ibis_duckdb_compat():
                scanned = warehouse.con.read_parquet(path, file_row_number=True)
            table = scanned.mutate(**{ROW: scanned.file_row_number + 1}).drop("file_row_number")
            return RawSource(table, int(metadata.num_rows), tuple(columns))
        arrow = _with_row_numbers(pq.read_table(path, columns=profile.required_columns()))
        return RawSource(ibis.memtable(arrow), arrow.num_rows, tuple(columns))
    arrow = _read_xlsx(path, profile) if file_format == "xlsx" else _read_csv(path, profile)
    columns = list(arrow.column_names)
    arrow = _with_row_numbers(arrow.select(profile.required_columns()))
    if warehouse.backend == "duckdb":
        # Registered with DuckDB directly: an Ibis memtable would be copied.
        name = f"_source_{uuid.uuid4().hex}"
        warehouse.con.con.register(name, arrow)
        with ibis_duckdb_compat():
            return RawSource(warehouse.con.table(name), arrow.num_rows, tuple(columns))
    return RawSource(ibis.memtable(arrow), arrow.num_rows, tuple(columns))
