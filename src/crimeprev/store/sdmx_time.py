"""SDMX time periods: recognise every SDMX time format and give each period its frequency.

SDMX 2.1 (Section 6, Technical Notes, "Time and Time Format") allows these
values of ``TIME_PERIOD``, all of them starting with a four-digit year:

========================  ======================  ==========  =====================
format                    example                 FREQ        stored as
========================  ======================  ==========  =====================
gregorian year            ``2020``                A           ``2020``
gregorian year-month      ``2020-01``             M           ``2020-01``
gregorian day             ``2020-01-15``          D           ``2020-01-15``
date-time                 ``2020-01-15T10:30:00`` _O          as given
reporting year            ``2020-A1``             A           ``2020``
reporting semester        ``2020-S1``             S           ``2020-S1``
reporting trimester       ``2020-T1``             A_3         ``2020-T1``
reporting quarter         ``2020-Q1``             Q           ``2020-Q1``
reporting month           ``2020-M01``            M           ``2020-01``
reporting week (ISO 8601) ``2020-W05``            W           ``2020-W05``
reporting day             ``2020-D015``           D           ``2020-01-15``
time range                ``2020-01-01/P3M``      by duration as given
========================  ======================  ==========  =====================

Any of the first eleven may end in a time zone (``Z`` or ``+01:00``), which
the stored form drops. FREQ codes are those of the SDMX code list CL_FREQ
(``A_3``: three times a year; ``_O``: other, for a moment in time or a range
whose duration is no standard frequency). Reporting periods are read against
a reporting year that starts on 1 January (the SDMX default). The same
patterns drive two implementations: :func:`parse_time_periods` (pandas, for
the SDMX readers) and :func:`time_period_columns` (Ibis, for the warehouse
ingest, run by DuckDB or PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

_ZONE = r"(Z|[+-][0-9]{2}:[0-9]{2})?"
_TIME = r"T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
_DURATION = (
    r"P([0-9]+Y)?([0-9]+M)?([0-9]+W)?([0-9]+D)?" r"(T([0-9]+H)?([0-9]+M)?([0-9]+(\.[0-9]+)?S)?)?"
)
#: Pattern of each SDMX time format (anchored; the year is always the first four characters).
PATTERNS = {
    "year": rf"^[0-9]{{4}}{_ZONE}$",
    "month": rf"^[0-9]{{4}}-[0-9]{{2}}{_ZONE}$",
    "day": rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{_ZONE}$",
    "datetime": rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{_TIME}{_ZONE}$",
    "reporting": rf"^[0-9]{{4}}-(A1|S[12]|T[1-3]|Q[1-4]|[MW][0-9]{{2}}|D[0-9]{{3}}){_ZONE}$",
    "range": rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}({_TIME}{_ZONE})?/{_DURATION}$",
}
#: FREQ of a reporting period, by its period indicator.
REPORTING_FREQ = {"A": "A", "S": "S", "T": "A_3", "Q": "Q", "M": "M", "W": "W", "D": "D"}
#: FREQ of a time range, by its duration; other durations are ``_O``.
DURATION_FREQ = {
    "P1Y": "A", "P12M": "A", "P6M": "S", "P4M": "A_3", "P3M": "Q", "P1M": "M",
    "P1W": "W", "P7D": "W", "P1D": "D", "PT1H": "H", "PT60M": "H", "PT1M": "N",
}  # fmt: skip
#: What a bad TIME_PERIOD is told to look like.
EXPECTED = (
    "an SDMX time period: 2020, 2020-01, 2020-01-15, 2020-01-15T10:30:00, 2020-A1, "
    "2020-S1, 2020-T1, 2020-Q1, 2020-M01, 2020-W05, 2020-D015 or a range such as "
    "2020-01-01/P3M"
)


@dataclass(frozen=True)
class TimePeriodColumns:
    """Ibis columns of an SDMX time period (see :func:`time_period_columns`)."""

    year: ir.IntegerValue
    period: ir.StringValue
    freq: ir.StringValue
    invalid: ir.BooleanValue


def parse_time_periods(values: pd.Series) -> pd.DataFrame:
    """Recognise SDMX time periods: the stored form, FREQ, start year and validity of each.

    Parameters
    ----------
    values : pandas.Series
        ``TIME_PERIOD`` text; surrounding spaces are ignored.

    Returns
    -------
    pandas.DataFrame
        Columns ``period`` (the stored form, see the module table), ``freq``
        (a CL_FREQ code), ``year`` (of the period's start) and ``valid``;
        the first three are missing where ``valid`` is false (an unknown
        format, or a month, day, week or time that does not exist).

    Examples
    --------
    >>> parsed = parse_time_periods(pd.Series(["2020-M02", "2020-Q1", "2021-W53", "2020-02-30"]))
    >>> parsed["period"].tolist(), parsed["freq"].tolist()[:2], parsed["valid"].tolist()
    (['2020-02', '2020-Q1', <NA>, <NA>], ['M', 'Q'], [True, True, False, False])
    """
    text = values.astype("string").str.strip()
    kind = pd.Series(pd.NA, index=text.index, dtype="string")
    for name, pattern in PATTERNS.items():
        kind = kind.mask(kind.isna() & text.str.match(pattern).fillna(False), name)
    year = pd.to_numeric(text.str[:4], errors="coerce").astype("Int64")
    month = pd.to_numeric(text.str[5:7], errors="coerce")
    indicator = text.str[5]
    number = pd.to_numeric(text.str.extract(r"^[0-9]{4}-[A-Z]([0-9]+)")[0], errors="coerce")
    dated = kind.isin(["day", "datetime", "range"]).fillna(False)
    # A day that does not exist (30 February) makes no date.
    calendar = pd.to_datetime(text.str[:10].where(dated), format="%Y-%m-%d", errors="coerce")
    valid = kind.notna()
    valid &= ~(kind == "month").fillna(False) | month.between(1, 12)
    valid &= ~dated | calendar.notna()
    hours = pd.to_numeric(text.str[11:13], errors="coerce")
    minutes = pd.to_numeric(text.str[14:16], errors="coerce")
    seconds = pd.to_numeric(text.str.extract(r"T[0-9]{2}:[0-9]{2}:([0-9]{2})")[0], errors="coerce")
    timed = text.str.contains(r"^[0-9-]{10}T", regex=True).fillna(False)
    valid &= ~timed | ((hours < 24) & (minutes < 60) & ~(seconds >= 60))
    reporting = (kind == "reporting").fillna(False)
    last_week = pd.to_datetime(year.astype("string") + "-12-28", errors="coerce").dt.isocalendar()
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    limit = indicator.map({"M": 12, "W": 53, "D": 366}).astype("Float64")
    limit = limit.mask(indicator == "W", last_week["week"].astype("Float64"))
    limit = limit.mask(indicator == "D", 365 + leap.astype("Float64"))
    valid &= ~reporting | (number >= 1) & ~(number > limit).fillna(False)
    # A range needs a duration with at least one number, and no dangling "T".
    duration = text.str.extract(r"/(P.*)$")[0]
    valid &= ~(kind == "range").fillna(False) | (
        duration.str.contains("[0-9]", regex=True) & ~duration.str.endswith("T")
    ).fillna(False)
    valid = valid.fillna(False).astype(bool)
    period = pd.Series(pd.NA, index=text.index, dtype="string")
    freq = pd.Series(pd.NA, index=text.index, dtype="object")
    plain = {"year": (4, "A"), "month": (7, "M"), "day": (10, "D")}
    for name, (width, code) in plain.items():
        chosen = valid & (kind == name).fillna(False)
        period = period.mask(chosen, text.str[:width])
        freq = freq.mask(chosen, code)
    moment = valid & kind.isin(["datetime", "range"]).fillna(False)
    period = period.mask(moment, text)
    freq = freq.mask(valid & (kind == "datetime").fillna(False), "_O")
    ranged = valid & (kind == "range").fillna(False)
    freq = freq.mask(ranged, duration.map(DURATION_FREQ).fillna("_O"))
    chosen = valid & reporting
    reported = text.str.extract(r"^([0-9]{4}-[A-Z][0-9]+)")[0]
    ordinal = pd.to_datetime(year.astype("string") + "-01-01", errors="coerce") + pd.to_timedelta(
        number - 1, unit="D"
    )
    stored = reported.mask(indicator == "A", text.str[:4])
    stored = stored.mask(indicator == "M", text.str[:4] + "-" + text.str[6:8])
    stored = stored.mask(indicator == "D", ordinal.dt.strftime("%Y-%m-%d").astype("string"))
    period = period.mask(chosen, stored)
    freq = freq.mask(chosen, indicator.map(REPORTING_FREQ))
    return pd.DataFrame({"period": period, "freq": freq, "year": year.where(valid), "valid": valid})


def time_period_columns(text: ir.StringValue) -> TimePeriodColumns:
    """The stored period, FREQ, start year and an invalid flag of SDMX time periods, in Ibis.

    The same rules as :func:`parse_time_periods`, as expressions that DuckDB
    and PostgreSQL run over the whole file. `text` is trimmed and NULL when
    empty; a NULL period is invalid.
    """
    matched = {name: text.re_search(pattern).fill_null(False) for name, pattern in PATTERNS.items()}
    known = ibis.literal(False)
    for flag in matched.values():
        known = known | flag

    def number(start: int, length: int, where: ir.BooleanValue) -> ir.IntegerValue:
        # Cast only matched text: PostgreSQL's cast fails on anything but digits.
        return where.ifelse(text.substr(start, length), ibis.null("string")).cast("int64")

    year = number(0, 4, known)
    dated = matched["day"] | matched["datetime"] | matched["range"]
    month = number(5, 2, dated | matched["month"])
    day = number(8, 2, dated)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days = ibis.cases((month == 2, leap.ifelse(29, 28)), (month.isin([4, 6, 9, 11]), 30), else_=31)
    date_ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= days)
    timed = text.re_search(r"^[0-9-]{10}T").fill_null(False)
    hours = number(11, 2, timed)
    minutes = number(14, 2, timed)
    with_seconds = text.re_search(r"^[0-9-]{10}T[0-9]{2}:[0-9]{2}:").fill_null(False)
    seconds = number(17, 2, with_seconds)
    time_ok = (hours < 24) & (minutes < 60) & (seconds.isnull() | (seconds < 60))
    indicator = matched["reporting"].ifelse(text.substr(5, 1), ibis.null("string"))
    ordinal = (
        matched["reporting"]
        .ifelse(text.re_extract(r"^[0-9]{4}-[A-Z]([0-9]+)", 1), ibis.null("string"))
        .cast("int64")
    )
    # ISO 8601: 28 December always lies in the last week of its year.
    weeks = ibis.date(year, 12, 28).week_of_year()
    limit = ibis.cases(
        (indicator == "M", 12),
        (indicator == "W", weeks),
        (indicator == "D", leap.ifelse(366, 365)),
        else_=9,
    )
    duration = matched["range"].ifelse(text.re_extract(r"/(P.*)$", 1), ibis.null("string"))
    # A range needs a duration with at least one number, and no dangling "T".
    duration_ok = duration.re_search("[0-9]") & ~duration.re_search("T$")
    valid = ibis.cases(
        (matched["year"], True),
        (matched["month"], (month >= 1) & (month <= 12)),
        (matched["day"], date_ok),
        (matched["datetime"], date_ok & time_ok),
        (matched["range"], date_ok & (~timed | time_ok) & duration_ok),
        (matched["reporting"], (ordinal >= 1) & (ordinal <= limit)),
        else_=False,
    ).fill_null(False)
    reported = text.re_extract(r"^([0-9]{4}-[A-Z][0-9]+)", 1)
    first_day = ibis.date(year, 1, 1) + (ordinal - 1).as_interval("D")
    period = ibis.cases(
        (matched["year"], text.substr(0, 4)),
        (matched["month"], text.substr(0, 7)),
        (matched["day"], text.substr(0, 10)),
        (matched["datetime"] | matched["range"], text),
        (indicator == "A", text.substr(0, 4)),
        (indicator == "M", text.substr(0, 4).concat("-", text.substr(6, 2))),
        (indicator == "D", first_day.cast("string").substr(0, 10)),
        else_=reported,
    )
    freq = ibis.cases(
        (matched["year"], "A"),
        (matched["month"], "M"),
        (matched["day"], "D"),
        (matched["datetime"], "_O"),
        (matched["range"], duration.substitute(DURATION_FREQ, else_="_O")),
        else_=indicator.substitute(REPORTING_FREQ),
    )
    invalid = ~valid
    return TimePeriodColumns(
        year=invalid.ifelse(ibis.null("int64"), year),
        period=invalid.ifelse(ibis.null("string"), period),
        freq=invalid.ifelse(ibis.null("string"), freq),
        invalid=invalid,
    )
