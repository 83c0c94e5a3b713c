"""SDMX-CSV exchange of ICCS counts and indicators.

SDMX-CSV (version 1.0 of the format): one row per observation, the first
column ``DATAFLOW`` names the dataflow (agency:id(version)), then one column
per dimension, ``OBS_VALUE`` and the ``OBS_STATUS`` attribute (``A`` normal,
``C`` confidential: suppressed, value left empty). Our data structure has the
dimensions REF_AREA, TIME_PERIOD, ICCS, SEX, AGE and UNIT_MEASURE.
"""

from __future__ import annotations

import io

import pandas as pd

from crimeprev.errors import DataFileError
from crimeprev.indicators.disclosure import suppress_small

DATAFLOW = "CRIMEPREV:ICCS_COUNTS(1.0)"
DIMENSIONS = ("REF_AREA", "TIME_PERIOD", "ICCS", "SEX", "AGE", "UNIT_MEASURE")
COLUMNS = ("DATAFLOW", *DIMENSIONS, "OBS_VALUE", "OBS_STATUS")


def to_sdmx_frame(
    frame: pd.DataFrame,
    *,
    area: str = "area_id",
    period: str = "period",
    code: str = "iccs_code",
    value: str = "count",
    unit: str = "NUMBER",
    threshold: int = 0,
    dataflow: str = DATAFLOW,
) -> pd.DataFrame:
    """Map a counts frame to SDMX-CSV columns, suppressing counts below `threshold`.

    Examples
    --------
    >>> counts = pd.DataFrame({"area_id": ["25"], "period": ["2019"], "iccs_code": ["02011"],
    ...                        "count": [3.0]})
    >>> to_sdmx_frame(counts, threshold=5)[["REF_AREA", "OBS_VALUE", "OBS_STATUS"]].values.tolist()
    [['25', None, 'C']]
    """
    shown = suppress_small(frame[value].tolist(), threshold=threshold)
    out = pd.DataFrame(
        {
            "DATAFLOW": dataflow,
            "REF_AREA": frame[area].fillna("_Z").astype(str) if area in frame else "_T",
            "TIME_PERIOD": frame[period].astype(str).str[:10] if period in frame else "_Z",
            "ICCS": frame[code].fillna("_U").astype(str),
            "SEX": frame["sex"].astype(str) if "sex" in frame else "_T",
            "AGE": frame["age"].astype(str) if "age" in frame else "_T",
            "UNIT_MEASURE": unit,
            "OBS_VALUE": shown.values,
            "OBS_STATUS": ["C" if hidden else "A" for hidden in shown.suppressed],
        }
    )
    return out[list(COLUMNS)]


def write_sdmx_csv(frame: pd.DataFrame) -> str:
    """SDMX-CSV text of a frame made by :func:`to_sdmx_frame`."""
    return frame.to_csv(index=False)


def read_sdmx_csv(text: str, *, file: str = "<sdmx-csv>") -> pd.DataFrame:
    """Read SDMX-CSV back; check the columns and that values are numbers.

    Raises
    ------
    DataFileError
        Naming the missing columns or the first row whose OBS_VALUE is not a number.
    """
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataFileError(
            f"missing SDMX-CSV column(s) {missing}", file=file, expected=", ".join(COLUMNS)
        )
    values = pd.to_numeric(frame["OBS_VALUE"].replace("", None), errors="coerce")
    bad = values.isna() & (frame["OBS_VALUE"] != "")
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise DataFileError(
            "OBS_VALUE is not a number",
            file=file,
            row=row + 1,
            field="OBS_VALUE",
            value=frame["OBS_VALUE"].iloc[row],
            expected="a number or empty (confidential)",
        )
    frame["OBS_VALUE"] = values
    return frame
