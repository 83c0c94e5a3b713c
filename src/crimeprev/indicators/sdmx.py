"""SDMX exchange of ICCS counts and indicators: SDMX-CSV and SDMX-ML.

SDMX-CSV (version 1.0 of the format): one row per observation, the first
column ``DATAFLOW`` names the dataflow (agency:id(version)), then one column
per dimension, ``OBS_VALUE``, the ``OBS_STATUS`` attribute (``A`` normal,
``C`` confidential: suppressed, value left empty) and the ``CONF_STATUS``
attribute (``F`` free, ``C`` confidential statistical information). A
published file gives every hidden cell the same ``C``: telling a small count
(``A``, primary) from a complement (``D``, secondary) would tell the reader
that the first is below the threshold and the second at least the threshold,
bounds that can pin a hidden cell
(:func:`crimeprev.indicators.disclosure.public_marks`). Files for an
organisation that manages confidentiality itself may carry ``A`` and ``D``
(``detailed=True``, ``crimeprev stats export --detailed-marks``); they must
not be published. Our data structure has the dimensions FREQ, REF_AREA,
TIME_PERIOD, ICCS, SEX, AGE and UNIT_MEASURE.

TIME_PERIOD is written the SDMX way for the period it holds (``2020``,
``2020-Q1``, ``2020-01``, ``2020-W05``, ``2020-01-15``) and FREQ says which
(``A``, ``Q``, ``M``, ``W``, ``D``; ``_Z`` for a table over all periods). The
readers accept every SDMX time format (:mod:`crimeprev.store.sdmx_time`), fill
FREQ from the period in files written before version 1.1 of the structure,
which had no FREQ, and refuse a FREQ that contradicts the period.

SDMX-ML (version 2.1, structure-specific data) carries the same observations
as XML; the ``sdmx1`` library writes and reads it. Structure-specific data can
only be read with its data structure definition (DSD), so
:func:`structure_xml` writes ours as an SDMX-ML structure message to send
beside the data, and :func:`read_sdmx_ml` reads with it. Suppressed cells are
written as ``NaN`` (the SDMX convention for a missing value) with status ``C``.
"""

from __future__ import annotations

import io
import math
from typing import Any

import pandas as pd

from crimeprev.errors import DataFileError, InvalidInputError
from crimeprev.indicators.disclosure import PRIMARY, public_marks, suppress_small
from crimeprev.store.sdmx_time import EXPECTED as PERIOD_EXPECTED
from crimeprev.store.sdmx_time import parse_time_periods

AGENCY = "CRIMEPREV"
STRUCTURE_ID = "ICCS_COUNTS"
# 1.1 added the FREQ dimension.
STRUCTURE_VERSION = "1.1"
DATAFLOW = f"{AGENCY}:{STRUCTURE_ID}({STRUCTURE_VERSION})"
DIMENSIONS = ("FREQ", "REF_AREA", "TIME_PERIOD", "ICCS", "SEX", "AGE", "UNIT_MEASURE")
COLUMNS = ("DATAFLOW", *DIMENSIONS, "OBS_VALUE", "OBS_STATUS", "CONF_STATUS")
#: Confidentiality status (SDMX cross-domain code list CL_CONF_STATUS) of a
#: published value (``F`` free) and of a hidden one in published files (``C``
#: confidential statistical information, whatever the reason); files for an
#: organisation managing confidentiality tell a small count (``A`` primary
#: confidentiality due to small counts) from a complement (``D`` secondary
#: confidentiality set by the sender, not for publication).
CONF_CODES = {"": "F", "suppressed": "C", "primary": "A", "secondary": "D"}
#: Names of the concepts behind the dimensions, the measure and the attribute.
CONCEPTS = {
    "FREQ": "Frequency (SDMX code list CL_FREQ: A annual, Q quarterly, M monthly, ...)",
    "REF_AREA": "Reference area",
    "TIME_PERIOD": "Time period",
    "ICCS": "Offence (International Classification of Crime for Statistical Purposes)",
    "SEX": "Sex",
    "AGE": "Age",
    "UNIT_MEASURE": "Unit of measure",
    "OBS_VALUE": "Observation value",
    "OBS_STATUS": "Observation status (A normal, C confidential: suppressed)",
    "CONF_STATUS": (
        "Confidentiality status (CL_CONF_STATUS: F free, C confidential; files not for "
        "publication may say A primary: small count, D secondary)"
    ),
}
#: How a period start date is written as an SDMX TIME_PERIOD, by period kind.
_PERIOD_FORMATS = {"year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d", "week": "%G-W%V"}


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
    period_kind: str | None = None,
    suppression: list[str] | None = None,
    detailed: bool = False,
) -> pd.DataFrame:
    """Map a counts frame to SDMX-CSV columns, suppressing counts below `threshold`.

    `suppression` (``primary``, ``secondary`` or empty per row, from
    :func:`crimeprev.indicators.disclosure.protect_counts`) replaces the
    plain threshold when given. Every hidden cell gets CONF_STATUS ``C``;
    with `detailed`, ``A`` or ``D`` as the status says (not for publication).

    `period_kind` (``year``, ``quarter``, ``month``, ``week``, ``day``) writes
    period start dates the SDMX way (``2019``, ``2019-Q1``, ``2019-01``,
    ``2019-W01``, ``2019-01-31``); without it the first ten characters of the
    period are kept.

    Examples
    --------
    >>> counts = pd.DataFrame({"area_id": ["25"], "period": ["2019"], "iccs_code": ["02011"],
    ...                        "count": [3.0]})
    >>> columns = ["REF_AREA", "OBS_VALUE", "OBS_STATUS", "CONF_STATUS"]
    >>> to_sdmx_frame(counts, threshold=5)[columns].values.tolist()
    [['25', None, 'C', 'C']]
    """
    if suppression is None:
        primary = suppress_small(frame[value].tolist(), threshold=threshold).suppressed
        suppression = [PRIMARY if hidden else "" for hidden in primary]
    if not detailed:
        suppression = public_marks(list(suppression))
    hidden = pd.Series([bool(s) for s in suppression], dtype=bool)
    periods = (
        _time_period(frame[period], period_kind).reset_index(drop=True)
        if period in frame
        else pd.Series("_Z", index=range(len(frame)))
    )
    out = pd.DataFrame(
        {
            "DATAFLOW": dataflow,
            "FREQ": frequencies(periods).to_numpy(),
            "REF_AREA": frame[area].fillna("_Z").astype(str) if area in frame else "_T",
            "TIME_PERIOD": periods.to_numpy(),
            "ICCS": frame[code].fillna("_U").astype(str),
            "SEX": frame["sex"].astype(str) if "sex" in frame else "_T",
            "AGE": frame["age"].astype(str) if "age" in frame else "_T",
            "UNIT_MEASURE": unit,
            "OBS_VALUE": [None if h else v for v, h in zip(frame[value], hidden, strict=True)],
            "OBS_STATUS": ["C" if h else "A" for h in hidden],
            "CONF_STATUS": [CONF_CODES[s] for s in suppression],
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
    if "CONF_STATUS" not in frame.columns and "OBS_STATUS" in frame.columns:
        frame["CONF_STATUS"] = frame["OBS_STATUS"].map(_conf_of)
    if "FREQ" not in frame.columns and "TIME_PERIOD" in frame.columns:
        frame.insert(1, "FREQ", "")  # written before the structure had FREQ: from the period
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
    frame["FREQ"] = checked_frequencies(frame["TIME_PERIOD"], frame["FREQ"], file=file)
    return frame


def frequencies(periods: pd.Series) -> pd.Series:
    """FREQ (SDMX code list CL_FREQ) of SDMX TIME_PERIOD values; ``_Z`` for ``_Z``.

    Examples
    --------
    >>> frequencies(pd.Series(["2020", "2020-Q1", "2020-01", "2020-W05", "_Z"])).tolist()
    ['A', 'Q', 'M', 'W', '_Z']
    """
    parsed = parse_time_periods(periods)
    return parsed["freq"].where(parsed["valid"], "_Z").astype(object)


def checked_frequencies(periods: pd.Series, given: pd.Series, *, file: str) -> pd.Series:
    """FREQ of each observation: checked against its TIME_PERIOD, or taken from it where empty.

    Raises
    ------
    DataFileError
        Naming the first row whose TIME_PERIOD is no SDMX time period, or
        whose FREQ contradicts it (a moment or a range of odd length, FREQ
        ``_O``, may come with any FREQ).
    """
    periods = periods.reset_index(drop=True).astype(str)
    given = given.reset_index(drop=True).fillna("").astype(str).str.strip()
    parsed = parse_time_periods(periods)
    unset = periods.str.strip() == "_Z"
    bad = ~parsed["valid"] & ~unset
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise DataFileError(
            "TIME_PERIOD is not an SDMX time period",
            file=file,
            row=row + 1,
            field="TIME_PERIOD",
            value=periods.iloc[row],
            expected=f"{PERIOD_EXPECTED}, or _Z (not applicable)",
        )
    derived = parsed["freq"].where(~unset, "_Z").astype(object)
    clash = (given != "") & (given != derived) & (derived != "_O")
    if clash.any():
        row = int(clash.to_numpy().argmax())
        raise DataFileError(
            "FREQ contradicts TIME_PERIOD",
            file=file,
            row=row + 1,
            field="FREQ",
            value=given.iloc[row],
            expected=f"{derived.iloc[row]} for TIME_PERIOD {periods.iloc[row]!r}",
        )
    return given.where(given != "", derived)


def _time_period(values: pd.Series, kind: str | None) -> pd.Series:
    """Period start dates as SDMX TIME_PERIOD text (see :func:`to_sdmx_frame`)."""
    if kind is None:
        return values.astype(str).str[:10]
    dates = pd.to_datetime(values)
    if kind == "quarter":
        return dates.dt.year.astype(str) + "-Q" + dates.dt.quarter.astype(str)
    if kind not in _PERIOD_FORMATS:
        raise InvalidInputError(
            f"period kind must be one of year, quarter, month, week, day; got {kind!r}"
        )
    return dates.dt.strftime(_PERIOD_FORMATS[kind])


def data_structure() -> Any:
    """Our SDMX data structure definition (DSD) as an ``sdmx1`` object.

    Dimensions REF_AREA, ICCS, SEX, AGE, UNIT_MEASURE and the time dimension
    TIME_PERIOD; the primary measure OBS_VALUE; the observation attribute
    OBS_STATUS. Each component names its concept in a concept scheme.
    """
    from sdmx.model import common
    from sdmx.model import v21 as model

    agency = common.Agency(id=AGENCY)
    scheme = model.ConceptScheme(id="CRIMEPREV_CONCEPTS", maintainer=agency, version="1.0")
    for concept_id, name in CONCEPTS.items():
        scheme.append(model.Concept(id=concept_id, name={"en": name}))
    dsd = model.DataStructureDefinition(
        id=STRUCTURE_ID,
        maintainer=agency,
        version=STRUCTURE_VERSION,
        name={"en": "ICCS offence counts and indicators"},
    )
    order = [d for d in DIMENSIONS if d != "TIME_PERIOD"]
    for position, dimension_id in enumerate(order):
        dsd.dimensions.append(
            model.Dimension(id=dimension_id, order=position, concept_identity=scheme[dimension_id])
        )
    dsd.dimensions.append(
        model.TimeDimension(
            id="TIME_PERIOD", order=len(order), concept_identity=scheme["TIME_PERIOD"]
        )
    )
    dsd.measures.append(model.PrimaryMeasure(id="OBS_VALUE", concept_identity=scheme["OBS_VALUE"]))
    for attribute in ("OBS_STATUS", "CONF_STATUS"):
        dsd.attributes.append(
            model.DataAttribute(
                id=attribute,
                concept_identity=scheme[attribute],
                related_to=model.PrimaryMeasureRelationship(),
            )
        )
    return dsd, scheme


def structure_xml() -> bytes:
    """Our DSD and its concept scheme as an SDMX-ML 2.1 structure message."""
    import sdmx
    from sdmx import message
    from sdmx.model import common

    dsd, scheme = data_structure()
    structure = message.StructureMessage(
        header=message.Header(id="CRIMEPREV_DSD", sender=common.Agency(id=AGENCY))
    )
    structure.add(scheme)
    structure.add(dsd)
    return bytes(sdmx.to_xml(structure, pretty_print=True))


def write_sdmx_ml(frame: pd.DataFrame) -> bytes:
    """SDMX-ML 2.1 structure-specific data of a frame made by :func:`to_sdmx_frame`.

    Every observation carries its full key (no series grouping), so the file
    reads back row for row.
    """
    import sdmx
    from sdmx import message
    from sdmx.model import common
    from sdmx.model import v21 as model

    dsd, _ = data_structure()
    measure = dsd.measures.get("OBS_VALUE")
    attributes = {a: dsd.attributes.get(a) for a in ("OBS_STATUS", "CONF_STATUS")}
    observations: list[Any] = []
    for values in frame[list(COLUMNS[1:])].to_dict(orient="records"):
        key = dsd.make_key(model.Key, {d: str(values[d]) for d in DIMENSIONS})
        value = values["OBS_VALUE"]
        observations.append(
            model.Observation(
                dimension=key,
                value=float("nan") if value is None or pd.isna(value) else float(value),
                value_for=measure,
                attached_attribute={
                    a: model.AttributeValue(value=str(values[a]), value_for=attribute)
                    for a, attribute in attributes.items()
                },
            )
        )
    data_set = model.StructureSpecificDataSet(structured_by=dsd, obs=observations)
    data = message.DataMessage(
        data=[data_set],
        header=message.Header(id="CRIMEPREV_DATA", sender=common.Agency(id=AGENCY)),
    )
    return bytes(sdmx.to_xml(data, pretty_print=True))


def read_sdmx_ml(data: bytes, *, file: str = "<sdmx-ml>") -> pd.DataFrame:
    """Read SDMX-ML structure-specific data written with our DSD back into SDMX-CSV columns.

    Raises
    ------
    DataFileError
        If the file is not SDMX-ML data, is structured by another DSD, or an
        observation lacks a dimension, its value or its status.
    """
    import sdmx

    dsd, _ = data_structure()
    try:
        message = sdmx.read_sdmx(io.BytesIO(data), structure=dsd)
    except Exception as error:  # the XML parser and sdmx1 raise many kinds
        raise DataFileError(
            f"not readable as SDMX-ML data: {error}",
            file=file,
            expected=f"SDMX-ML 2.1 structure-specific data structured by {DATAFLOW}",
        ) from error
    data_sets = getattr(message, "data", None)
    if not data_sets:
        raise DataFileError(
            "the message holds no data set", file=file, expected="one SDMX-ML data set"
        )
    rows: list[dict[str, Any]] = []
    for data_set in data_sets:
        structure = getattr(data_set.structured_by, "id", None)
        if structure not in (None, STRUCTURE_ID):
            raise DataFileError(
                "data set structured by another DSD",
                file=file,
                field="structureRef",
                value=structure,
                expected=STRUCTURE_ID,
            )
        for number, observation in enumerate(data_set.obs, start=1):
            rows.append(_observation_row(observation, number, file))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["OBS_VALUE"] = frame["OBS_VALUE"].astype(float)
    frame["FREQ"] = checked_frequencies(frame["TIME_PERIOD"], frame["FREQ"], file=file)
    return frame


def _observation_row(observation: Any, number: int, file: str) -> dict[str, Any]:
    key = {kv.id: str(kv.value) for kv in observation.key.values.values()}
    # A file written before version 1.1 has no FREQ: it is read from TIME_PERIOD.
    key.setdefault("FREQ", "")
    missing = [d for d in DIMENSIONS if d not in key]
    if missing:
        raise DataFileError(
            "observation lacks dimension(s)",
            file=file,
            row=number,
            field=", ".join(missing),
            expected=", ".join(DIMENSIONS),
        )
    raw = observation.value
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise DataFileError(
            "OBS_VALUE is not a number",
            file=file,
            row=number,
            field="OBS_VALUE",
            value=raw,
            expected="a number or NaN (confidential)",
        ) from None
    attribute = observation.attached_attribute.get("OBS_STATUS")
    status = str(attribute.value) if attribute is not None else ""
    if status not in ("A", "C"):
        raise DataFileError(
            "OBS_STATUS missing or unknown",
            file=file,
            row=number,
            field="OBS_STATUS",
            value=status,
            expected="A (normal) or C (confidential)",
        )
    confidentiality = observation.attached_attribute.get("CONF_STATUS")
    conf = str(confidentiality.value) if confidentiality is not None else _conf_of(status)
    if conf not in CONF_CODES.values():
        raise DataFileError(
            "CONF_STATUS unknown",
            file=file,
            row=number,
            field="CONF_STATUS",
            value=conf,
            expected="F (free), C (confidential), A (primary) or D (secondary)",
        )
    return {
        "DATAFLOW": DATAFLOW,
        **{d: key[d] for d in DIMENSIONS},
        "OBS_VALUE": None if math.isnan(value) else value,
        "OBS_STATUS": status,
        "CONF_STATUS": conf,
    }


def _conf_of(status: str) -> str:
    """CONF_STATUS of a file written before it existed: confidential counts were primary."""
    return "A" if status == "C" else "F"


#: SDMX codes (the global SEX code list) of our canonical sex labels.
SEX_CODES = {"Male": "M", "Female": "F", "Total": "_T", "Unknown": "_U"}


def age_code(band: str) -> str:
    """SDMX AGE code of an age band label (``15-29`` -> ``Y15T29``, ``60+`` -> ``Y_GE60``).

    Examples
    --------
    >>> [age_code(b) for b in ["0-14", "60+", "Total", "Unknown"]]
    ['Y0T14', 'Y_GE60', '_T', '_U']
    """
    if band == "Total":
        return "_T"
    if band.endswith("+"):
        return f"Y_GE{band[:-1]}"
    if "-" in band:
        low, high = band.split("-", 1)
        return f"Y{low}T{high}"
    return "_U"


def indicator_sdmx_frame(
    frame: pd.DataFrame,
    *,
    iccs_code: str,
    threshold: int = 0,
    dataflow: str = DATAFLOW,
    detailed: bool = False,
) -> pd.DataFrame:
    """SDMX observations of an SDG indicator table: the numerator and the rate per 100,000.

    Each row of the indicator gives two observations, UNIT_MEASURE ``NUMBER``
    (victims) and ``PER_100000`` (the rate). A numerator below `threshold`
    is confidential, and so is its rate (the rate and the published
    population would give it back); so are the complements that stop the
    Total rows from giving it back (secondary). Every hidden observation
    has CONF_STATUS ``C``; with `detailed` (not for publication), ``A`` for
    a small count and ``D`` for a complement. Rows without a denominator
    give the numerator only.
    """
    from crimeprev.indicators.source_protection import protect_breakdown

    # The Total rows add up the others: secondary suppression over sex x age (x form).
    suppression = protect_breakdown(
        frame,
        threshold=threshold,
        value="numerator",
        breakdowns=[c for c in ("sex", "age", "form") if c in frame],
        keys=[c for c in ("area_id", "year") if c in frame],
    ).tolist()
    if not detailed:
        suppression = public_marks(suppression)
    hidden = [bool(s) for s in suppression]
    # 16.2.2's form of exploitation is an ICCS code below the indicator's.
    codes = (
        [f if f not in ("Total", "Unknown") else iccs_code for f in frame["form"]]
        if "form" in frame
        else iccs_code
    )
    base = pd.DataFrame(
        {
            "DATAFLOW": dataflow,
            "FREQ": "A",
            "REF_AREA": frame["area_id"].astype(str),
            "TIME_PERIOD": frame["year"].astype(int).astype(str),
            "ICCS": codes,
            "SEX": frame["sex"].map(SEX_CODES).fillna("_U") if "sex" in frame else "_T",
            "AGE": frame["age"].map(age_code) if "age" in frame else "_T",
        }
    )
    status = ["C" if h else "A" for h in hidden]
    conf = [CONF_CODES[s] for s in suppression]
    numbers = base.assign(
        UNIT_MEASURE="NUMBER",
        OBS_VALUE=_shown(frame["numerator"].to_numpy(dtype=float), hidden),
        OBS_STATUS=status,
        CONF_STATUS=conf,
    )
    has_rate = frame["value"].notna().to_numpy()
    rates = base.assign(
        UNIT_MEASURE="PER_100000",
        OBS_VALUE=_shown(frame["value"].to_numpy(dtype=float), hidden),
        OBS_STATUS=status,
        CONF_STATUS=conf,
    )[has_rate]
    out = pd.concat([numbers, rates], ignore_index=True)
    return out[list(COLUMNS)]


def _shown(values: Any, hidden: list[bool]) -> pd.Series:
    """The values with the hidden ones set to missing (NaN)."""
    return pd.Series(values, dtype=float).where(~pd.Series(hidden, dtype=bool))


def unit_code(unit: str) -> str:
    """SDMX UNIT_MEASURE code of a published unit (``Counts`` -> ``NUMBER``).

    Examples
    --------
    >>> unit_code("Counts"), unit_code("Rate per 100,000 population")
    ('NUMBER', 'PER_100000')
    """
    text = str(unit).strip().lower()
    if text in ("counts", "count", "number"):
        return "NUMBER"
    if text.startswith("rate per 100,000"):
        return "PER_100000"
    return "_Z"


def aggregate_sdmx_frame(frame: pd.DataFrame, *, dataflow: str = DATAFLOW) -> pd.DataFrame:
    """SDMX observations of an aggregate source's rows mapped to ICCS, as published.

    The values are already public (e.g. UN-CTS), so nothing is suppressed;
    rows whose offence is not mapped to ICCS are left out. A source read from
    sub-annual SDMX keeps its periods and their FREQ (``period`` and ``freq``
    columns); otherwise the period is the year, FREQ ``A``.

    Examples
    --------
    >>> rows = pd.DataFrame({"area_id": ["AUT"], "year": [2010], "iccs_code": ["0301"],
    ...     "sex": ["Total"], "age": ["Total"], "unit": ["Counts"], "value": [3300.0]})
    >>> aggregate_sdmx_frame(rows).iloc[0, 1:8].tolist()
    ['A', 'AUT', '2010', '0301', '_T', '_T', 'NUMBER']
    """
    mapped = frame.dropna(subset=["iccs_code"])
    out = pd.DataFrame(
        {
            "DATAFLOW": dataflow,
            "FREQ": mapped["freq"].fillna("A") if "freq" in mapped else "A",
            "REF_AREA": mapped["area_id"].astype(str),
            "TIME_PERIOD": (
                mapped["period"].fillna(mapped["year"].astype(int).astype(str))
                if "period" in mapped
                else mapped["year"].astype(int).astype(str)
            ),
            "ICCS": mapped["iccs_code"].astype(str),
            "SEX": mapped["sex"].map(SEX_CODES).fillna("_U"),
            "AGE": mapped["age"].fillna("Total").map(age_code),
            "UNIT_MEASURE": mapped["unit"].map(unit_code),
            "OBS_VALUE": mapped["value"].astype(float),
            "OBS_STATUS": "A",
            "CONF_STATUS": "F",
        }
    )
    return out[list(COLUMNS)].reset_index(drop=True)
