"""Published tables as files: CSV, Parquet, Excel, SDMX-CSV and SDMX-ML.

The CLI's ``export`` command and the web download call the same function, so
a file downloaded from the page equals the one the command writes. Counts
are protected before anything is written: small counts are hidden (primary
suppression) and so are the complements that stop a reader from getting
them back from the totals over areas and the ICCS parent sums (secondary
suppression, :func:`crimeprev.indicators.disclosure.protect_counts`). Every
format marks what was hidden, with one mark whatever the reason: a
``suppressed`` column (true or false) and a ``suppression`` column
(``suppressed`` or empty) in CSV, Parquet and Excel, and in SDMX the
observation status ``C`` with the confidentiality status ``C``. Saying which
cells are small counts would tell the reader they are below the threshold
(:func:`crimeprev.indicators.disclosure.public_marks`). Only a file for an
organisation that manages confidentiality itself (``detailed_marks``, not for
publication) says ``primary`` or ``secondary`` (SDMX ``A`` or ``D``).
"""

from __future__ import annotations

import io

import pandas as pd

from crimeprev.errors import DataFileError, InvalidInputError
from crimeprev.indicators.disclosure import PUBLISHED, protect_counts, public_marks
from crimeprev.indicators.sdmx import (
    aggregate_sdmx_frame,
    read_sdmx_csv,
    read_sdmx_ml,
    to_sdmx_frame,
    write_sdmx_csv,
    write_sdmx_ml,
)

#: Export format -> (file suffix, media type).
FORMATS: dict[str, tuple[str, str]] = {
    "csv": (".csv", "text/csv"),
    "parquet": (".parquet", "application/vnd.apache.parquet"),
    "xlsx": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "sdmx-csv": (".csv", "text/csv"),
    "sdmx-ml": (".xml", "application/vnd.sdmx.structurespecificdata+xml;version=2.1"),
}


def export_counts(
    frame: pd.DataFrame,
    file_format: str,
    *,
    threshold: int,
    period_kind: str | None = None,
    unit: str = "NUMBER",
    value: str = "count",
    status: pd.Series | None = None,
    detailed_marks: bool = False,
) -> bytes:
    """The bytes of a counts table in `file_format`, with primary and secondary suppression.

    `status` (``""``, ``"primary"`` or ``"secondary"`` per row) is the
    source's one disclosure pattern
    (:func:`crimeprev.indicators.source_protection.counts_status`); without
    it the table is protected on its own. The file marks every hidden cell
    ``suppressed`` (SDMX CONF_STATUS ``C``); with `detailed_marks`,
    ``primary`` or ``secondary`` (SDMX ``A`` or ``D``), for an organisation
    that manages confidentiality: such a file must not be published.

    Raises
    ------
    InvalidInputError
        If the format is not one of :data:`FORMATS`.

    Examples
    --------
    >>> table = pd.DataFrame({"period": ["2019-01-01"], "iccs_code": ["0501"], "count": [3.0]})
    >>> print(export_counts(table, "csv", threshold=5).decode().strip())
    period,iccs_code,count,suppressed,suppression
    2019-01-01,0501,,True,suppressed
    """
    if file_format not in FORMATS:
        raise InvalidInputError(
            f"unknown format {file_format!r}; expected one of {', '.join(FORMATS)}"
        )
    if status is None:
        status = protect_counts(frame, threshold=threshold, value=value).status
    marks = status if detailed_marks else public_marks(status)
    if file_format in ("sdmx-csv", "sdmx-ml"):
        sdmx = to_sdmx_frame(
            frame,
            period_kind=period_kind,
            unit=unit,
            value=value,
            suppression=marks.tolist(),
            detailed=detailed_marks,
        )
        if file_format == "sdmx-csv":
            return write_sdmx_csv(sdmx).encode("utf-8")
        return write_sdmx_ml(sdmx)
    hidden = (status != PUBLISHED).to_numpy()
    table = frame.drop(columns=[c for c in ("records",) if c in frame.columns]).copy()
    table[value] = table[value].astype(float).where(~hidden)
    table["suppressed"] = hidden
    table["suppression"] = marks.to_numpy()
    buffer = io.BytesIO()
    if file_format == "csv":
        return table.to_csv(index=False).encode("utf-8")
    if file_format == "parquet":
        table.to_parquet(buffer, index=False)
    else:
        table.to_excel(buffer, index=False)
    return buffer.getvalue()


def export_aggregate(frame: pd.DataFrame, file_format: str) -> bytes:
    """The bytes of an aggregate source's rows in `file_format` (published values, as is).

    Raises
    ------
    InvalidInputError
        If the format is not one of :data:`FORMATS`.
    """
    if file_format not in FORMATS:
        raise InvalidInputError(
            f"unknown format {file_format!r}; expected one of {', '.join(FORMATS)}"
        )
    if file_format == "sdmx-csv":
        return write_sdmx_csv(aggregate_sdmx_frame(frame)).encode("utf-8")
    if file_format == "sdmx-ml":
        return write_sdmx_ml(aggregate_sdmx_frame(frame))
    table = frame.drop(columns=[c for c in ("source_row",) if c in frame.columns])
    buffer = io.BytesIO()
    if file_format == "csv":
        return table.to_csv(index=False).encode("utf-8")
    if file_format == "parquet":
        table.to_parquet(buffer, index=False)
    else:
        table.to_excel(buffer, index=False)
    return buffer.getvalue()


def read_sdmx(data: bytes, *, file: str = "<sdmx>") -> pd.DataFrame:
    """Read an SDMX-CSV or SDMX-ML file (told apart by its first character) into SDMX columns.

    Raises
    ------
    DataFileError
        If the file is empty or not valid SDMX of our data structure.
    """
    text_start = data.lstrip()[:1]
    if not text_start:
        raise DataFileError("the file is empty", file=file, expected="SDMX-CSV or SDMX-ML")
    if text_start == b"<":
        return read_sdmx_ml(data, file=file)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataFileError(
            f"not UTF-8 text ({error.reason} at byte {error.start})",
            file=file,
            expected="SDMX-CSV in UTF-8 or SDMX-ML",
        ) from error
    return read_sdmx_csv(text, file=file)
