"""Read event files (CSV or Parquet) for the spatial analyses, and find bundled data.

The analyses take arrays; this module is the thin I/O layer the CLI and the web
pages share. Every problem is reported with the file, the row (1-based, header
= row 1 for CSV), the field and the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from crimeprev.errors import DataFileError, InvalidInputError, NotFoundError

#: Folder of the bundled real data inside the package.
REAL_DATA = resources.files("crimeprev") / "data" / "real"


@dataclass(frozen=True, eq=False)
class Events:
    """Events read from a file: coordinates (projected metres or lon/lat) and times."""

    x: np.ndarray
    y: np.ndarray
    times: np.ndarray | None
    geographic: bool
    source: str
    rows: int
    dropped: int = 0


def bundled_path(folder: str, name: str) -> Path:
    """Return the path of a bundled data file, or raise NotFoundError.

    Examples
    --------
    >>> bundled_path("chicago_near_repeat_2016", "chicago_arson_2016.csv").name
    'chicago_arson_2016.csv'
    """
    path = Path(str(REAL_DATA / folder / name))
    if not path.is_file():
        raise NotFoundError(f"bundled data file {folder}/{name} is not installed")
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a data frame."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError("file not found", file=str(path))
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, OSError) as error:
        raise DataFileError(
            f"cannot read the file: {error}", file=str(path), expected="CSV or Parquet"
        ) from error


def _pick(frame: pd.DataFrame, wanted: str | None, candidates: tuple[str, ...]) -> str | None:
    if wanted is not None:
        return wanted
    lower = {column.lower(): column for column in frame.columns}
    for candidate in candidates:
        if candidate in lower:
            return lower[candidate]
    return None


def _numbers(frame: pd.DataFrame, column: str, path: str, low: float, high: float) -> np.ndarray:
    if column not in frame.columns:
        raise DataFileError(
            "column is missing",
            file=path,
            field=column,
            expected=f"one of the columns {list(frame.columns)}",
        )
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values < low) | (values > high))
    if bad.size:
        row = int(bad[0])
        raise DataFileError(
            f"{bad.size} row(s) have a missing or invalid coordinate",
            file=path,
            row=row + 2,
            field=column,
            value=str(frame[column].iloc[row]),
            expected=f"a number between {low:g} and {high:g}",
        )
    return values


def read_events(
    path: str | Path,
    *,
    x: str | None = None,
    y: str | None = None,
    lon: str | None = None,
    lat: str | None = None,
    date: str | None = None,
    need_date: bool = False,
    drop_missing: bool = False,
) -> Events:
    """Read events from CSV/Parquet with x/y (metres) or lon/lat columns and a date.

    Columns are found by name when not given: x/y (``X``, ``Y``), lon/lat
    (``longitude``, ``lon``, ``latitude``, ``lat``) and date (``date``,
    ``datetime``, ``occurred_at``, or separate ``YEAR``/``MONTH``/``DAY``
    columns). Rows at (0, 0), a common placeholder for withheld locations,
    count as missing.

    Parameters
    ----------
    path : str or Path
    x, y, lon, lat, date : str, optional
        Column names.
    need_date : bool, default=False
        Raise if there is no date column.
    drop_missing : bool, default=False
        Drop rows with a missing coordinate or date instead of raising (the
        number dropped is in ``Events.rows`` versus the file's rows).

    Raises
    ------
    DataFileError
        Naming the file, row, field and value of the first bad entry.

    Examples
    --------
    >>> events = read_events(bundled_path("chicago_near_repeat_2016", "chicago_arson_2016.csv"))
    >>> events.rows, events.geographic, events.times.dtype
    (522, False, dtype('<M8[s]'))
    """
    text = str(path)
    frame = read_table(path)
    total = len(frame)
    x_column = _pick(frame, x, ("x",))
    y_column = _pick(frame, y, ("y",))
    lon_column = _pick(frame, lon, ("longitude", "lon", "lng"))
    lat_column = _pick(frame, lat, ("latitude", "lat"))
    date_column = _pick(frame, date, ("date", "datetime", "occurred_at", "time"))
    geographic = not (x_column and y_column) or lon is not None
    if geographic and not (lon_column and lat_column):
        raise DataFileError(
            "no coordinate columns found",
            file=text,
            expected=f"x/y or longitude/latitude columns among {list(frame.columns)}",
        )
    first, second = (lon_column, lat_column) if geographic else (x_column, y_column)
    assert first is not None and second is not None
    if date_column is None:
        parts = {name: _pick(frame, None, (name,)) for name in ("year", "month", "day")}
        if all(parts.values()):
            # Separate YEAR/MONTH/DAY columns (e.g. Vancouver police data) make the date.
            frame = frame.copy()
            pieces = pd.DataFrame({name: frame[column] for name, column in parts.items()})
            frame["date"] = pd.to_datetime(pieces, errors="coerce")
            date_column = "date"
    if need_date and (date_column is None or date_column not in frame.columns):
        raise DataFileError(
            "no date column found",
            file=text,
            field=date_column,
            expected=f"a date column (pass --date) among {list(frame.columns)}",
        )
    # (0, 0) is a placeholder for a withheld or unknown location, never a real place.
    placeholder = (
        (pd.to_numeric(frame[first], errors="coerce") == 0)
        & (pd.to_numeric(frame[second], errors="coerce") == 0)
        if first in frame.columns and second in frame.columns
        else None
    )
    if placeholder is not None and placeholder.any():
        if not drop_missing:
            row = int(np.flatnonzero(placeholder.to_numpy())[0])
            raise DataFileError(
                f"{int(placeholder.sum())} row(s) have the placeholder location (0, 0)",
                file=text,
                row=row + 2,
                field=first,
                value="0, 0",
                expected="a real location (pass --drop-missing to leave these rows out)",
            )
        frame = frame[~placeholder]
    if drop_missing:
        subset = [first, second] + ([date_column] if need_date and date_column else [])
        frame = frame.dropna(subset=[c for c in subset if c in frame.columns]).reset_index(
            drop=True
        )
    if geographic:
        xs = _numbers(frame, first, text, -180, 180)
        ys = _numbers(frame, second, text, -90, 90)
    else:
        xs = _numbers(frame, first, text, -1e9, 1e9)
        ys = _numbers(frame, second, text, -1e9, 1e9)
    times = None
    if date_column is not None and date_column in frame.columns:
        parsed = pd.to_datetime(frame[date_column], errors="coerce")
        bad = np.flatnonzero(parsed.isna().to_numpy())
        if bad.size and need_date:
            row = int(bad[0])
            raise DataFileError(
                f"{bad.size} row(s) have a missing or unreadable date",
                file=text,
                row=row + 2,
                field=date_column,
                value=str(frame[date_column].iloc[row]),
                expected="a date such as 2016-01-31 (or pass --drop-missing)",
            )
        if not bad.size:
            times = parsed.to_numpy().astype("datetime64[s]")
    if len(frame) == 0:
        raise InvalidInputError(f"{text} has no events")
    return Events(
        x=xs,
        y=ys,
        times=times,
        geographic=geographic,
        source=Path(text).name,
        rows=len(frame),
        dropped=total - len(frame),
    )
