"""Per-row validation as Ibis expressions: every rule is a boolean column.

The rules run inside the warehouse engine over all rows at once (no Python
loop): a row that breaks any rule goes to quarantine with one reason per
broken rule, naming the column, the value and the rule. Values are parsed
defensively: a string is only cast after a regular expression has shown it
is well formed, because PostgreSQL (unlike DuckDB) has no ``TRY_CAST``.

The parse is built in stages separated by ``Table.view()``: each stage
refers to the previous stage's columns by name, so a parsed value used by
several rules is computed once instead of being inlined into every rule
(inlined, the SQL for one profile grew to megabytes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from crimeprev.standards import iccs
from crimeprev.store.profiles import Profile
from crimeprev.store.readers import ROW
from crimeprev.store.sdmx_time import EXPECTED as SDMX_PERIODS
from crimeprev.store.sdmx_time import time_period_columns

_NUMBER = r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"
#: A whole number, optionally written as a decimal with a zero fraction ("5.0"),
#: as spreadsheets export integer columns.
_INTEGER = r"^[0-9]+(\.0*)?$"
_TOKEN_NAMES = {
    "%Y": "year",
    "%m": "month",
    "%d": "day",
    "%H": "hour",
    "%M": "minute",
    "%S": "second",
}

Reason = Callable[[ibis.Table], ir.StringValue]


@dataclass(frozen=True)
class Rule:
    """One validation rule: its flag column (True = broken) and its reason text."""

    name: str
    reason: Reason

    @property
    def column(self) -> str:
        """Name of the flag column."""
        return f"_bad_{self.name}"


@dataclass(frozen=True)
class Parsed:
    """The parsed rows: raw columns, canonical columns and one flag per rule."""

    table: ibis.Table
    rules: tuple[Rule, ...]

    @property
    def flag_columns(self) -> tuple[str, ...]:
        """Names of the flag columns."""
        return tuple(rule.column for rule in self.rules)

    def canonical(self) -> ibis.Table:
        """Canonical columns and flags only (no raw columns).

        Parsed values live in ``_k_<name>`` columns beside the raw ones while
        parsing, because DuckDB matches column names case-insensitively: a
        source column ``X`` would otherwise shadow the canonical ``x``.
        """
        table = self.table
        names = {name[3:]: table[name] for name in table.columns if name.startswith("_k_")}
        keep = [name for name in (*self.flag_columns, "_area_key") if name in table.columns]
        return table.select(**names, **{name: table[name] for name in keep})


class _Stages:
    """Accumulates columns and turns them into a new stage on demand."""

    def __init__(
        self, table: ibis.Table, materialize: Callable[[ibis.Table], ibis.Table] | None = None
    ) -> None:
        self.t = table
        self.pending: dict[str, ir.Value] = {}
        self.materialize = materialize

    def add(self, **columns: ir.Value) -> None:
        self.pending.update(columns)

    def next(self) -> ibis.Table:
        if self.pending:
            stage = self.t.mutate(**self.pending)
            self.t = self.materialize(stage) if self.materialize else stage.view()
            self.pending = {}
        return self.t


def _text(value: ir.Value) -> ir.StringValue:
    """A column as trimmed text, with empty strings as NULL.

    Only text is trimmed: a number, date or flag written as text has no
    surrounding whitespace and is never empty, and trimming a set of
    characters off millions of freshly cast strings costs DuckDB about five
    times the cast (an integer id column as ``source_id``).
    """
    if not value.type().is_string():
        return value.cast("string")
    return value.strip().nullif("")


def _joined(parts: list[ir.StringValue | str]) -> ir.StringValue:
    """Concatenate `parts` in one flat expression.

    Chained ``+`` nests one concatenation per part, and compiling that deep
    tree costs a noticeable fraction of a second for the quarantine query.
    """
    values = [ibis.literal(part) if isinstance(part, str) else part for part in parts]
    if len(values) == 1:
        return values[0]
    return values[0].concat(*values[1:])


def _shown(t: ibis.Table, columns: list[str]) -> ir.StringValue:
    """``column 'a' = 'value'`` text for a reason."""
    parts: list[ir.StringValue | str] = []
    for index, name in enumerate(columns):
        sep = "" if index == 0 else ", "
        parts += [f"{sep}column {name!r} = '", _text(t[name]).fill_null(""), "'"]
    return _joined(parts)


def _number(t: ibis.Table, name: str) -> tuple[ir.FloatingValue, ir.BooleanValue]:
    """Parse a numeric column; return (value, unparseable flag)."""
    value = t[name]
    if value.type().is_numeric():
        return value.cast("float64"), ibis.literal(False)
    text = t[f"_s_{name}"]
    well_formed = text.re_search(_NUMBER)
    return well_formed.ifelse(text, ibis.null("string")).cast(
        "float64"
    ), text.notnull() & ~well_formed


def _integer(t: ibis.Table, name: str) -> tuple[ir.IntegerValue, ir.BooleanValue]:
    """Parse a whole-number column; return (value, malformed flag)."""
    value = t[name]
    if value.type().is_integer():
        return value.cast("int64"), ibis.literal(False)
    if value.type().is_floating():
        whole = value.notnull() & (value.floor() == value)
        return whole.ifelse(value, ibis.null("float64")).cast("int64"), value.notnull() & ~whole
    text = t[f"_s_{name}"]
    # Only the digits before the point are cast: "5.0" is not a valid integer
    # literal for PostgreSQL's cast.
    digits = text.re_replace(r"\.0*$", "")
    well_formed = text.re_search(_INTEGER) & (digits.length() <= 9)
    return well_formed.ifelse(digits, ibis.null("string")).cast(
        "int64"
    ), text.notnull() & ~well_formed


def _days_in_month(year: ir.IntegerValue, month: ir.IntegerValue) -> ir.IntegerValue:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return ibis.cases(
        (month == 2, leap.ifelse(29, 28)), (month.isin([4, 6, 9, 11]), 30), else_=31
    ).cast("int64")


def dst_gaps(timezone: str, first_year: int, last_year: int) -> list[tuple[datetime, datetime]]:
    """Local wall-clock intervals that do not exist in `timezone` (spring-forward gaps).

    Examples
    --------
    >>> dst_gaps("America/Chicago", 2019, 2019)
    [(datetime.datetime(2019, 3, 10, 2, 0), datetime.datetime(2019, 3, 10, 3, 0))]
    """
    zone = ZoneInfo(timezone)
    utc = ZoneInfo("UTC")
    gaps = []
    moment = datetime(first_year, 1, 1, tzinfo=utc)
    end = datetime(last_year + 1, 1, 1, tzinfo=utc)
    step = timedelta(hours=1)
    previous = moment.astimezone(zone).utcoffset()
    # An hourly walk over UTC (about 9,000 steps a year), once per import.
    while moment < end:
        moment += step
        offset = moment.astimezone(zone).utcoffset()
        if offset is not None and previous is not None and offset > previous:
            local = moment.astimezone(zone).replace(tzinfo=None)
            gaps.append((local - (offset - previous), local))
        previous = offset
    return gaps


def _text_columns(profile: Profile, raw: ibis.Table) -> dict[str, ir.Value]:
    return {
        f"_s_{name}": _text(raw[name])
        for name in profile.required_columns()
        if raw[name].type().is_string()
    }


def _occurred(profile: Profile, stages: _Stages, now: datetime) -> list[Rule]:
    spec = profile.occurred
    assert spec is not None
    t = stages.t
    native = spec.column is not None and (
        t[spec.column].type().is_timestamp() or t[spec.column].type().is_date()
    )
    shown_columns = [spec.column] if spec.column else list(spec.components.values())
    if native:
        assert spec.column is not None
        stages.add(
            _k_occurred_at=t[spec.column].cast("timestamp"),
            _d_missing=t[spec.column].isnull(),
            _d_malformed=ibis.literal(False),
            _d_impossible=ibis.literal(False),
        )
        t = stages.next()
    else:
        parts: dict[str, ir.Value] = {}
        if spec.column:
            text = t[f"_s_{spec.column}"]
            well_formed = text.re_search(spec.regex())
            for token, start, length in spec.tokens():
                piece = well_formed.ifelse(text.substr(start - 1, length), ibis.literal("1"))
                parts[f"_d_{_TOKEN_NAMES[token]}"] = piece.cast("int64")
            missing = text.isnull()
            malformed = text.notnull() & ~well_formed
        else:
            missing = ibis.literal(False)
            malformed = ibis.literal(False)
            for name, column in spec.components.items():
                value, bad = _integer(t, column)
                parts[f"_d_{name}"] = value
                missing = missing | t[column].isnull()
                if t[column].type().is_string():
                    missing = missing | t[f"_s_{column}"].isnull()
                malformed = malformed | bad
        stages.add(_d_missing=missing, _d_malformed=malformed, **parts)
        t = stages.next()
        defaults = {"year": 2000, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0}
        part = {
            name: t[f"_d_{name}"].fill_null(default)
            if f"_d_{name}" in t.columns
            else ibis.literal(default)
            for name, default in defaults.items()
        }
        valid = (
            (part["year"] >= 1) & (part["year"] <= 9999)
            & (part["month"] >= 1) & (part["month"] <= 12)
            & (part["day"] >= 1) & (part["day"] <= _days_in_month(part["year"], part["month"]))
            & (part["hour"] >= 0) & (part["hour"] < 24)
            & (part["minute"] >= 0) & (part["minute"] < 60)
            & (part["second"] >= 0) & (part["second"] < 60)
        )  # fmt: skip
        stages.add(
            _d_ok=~t._d_missing & ~t._d_malformed & valid,
            **{f"_p_{name}": value for name, value in part.items()},
        )
        t = stages.next()
        ok = t._d_ok
        stamp = ok.ifelse(
            ibis.timestamp(
                *(ok.ifelse(t[f"_p_{name}"], default) for name, default in defaults.items())
            ),
            ibis.null("timestamp"),
        )
        stages.add(_k_occurred_at=stamp, _d_impossible=~t._d_missing & ~t._d_malformed & ~ok)
        t = stages.next()
    rules = [
        Rule(
            "date_missing",
            lambda _t: ibis.literal(f"date missing: {', '.join(map(repr, shown_columns))} empty"),
        )
    ]
    expected = spec.format if spec.column else "whole numbers"
    rules.append(
        Rule(
            "date_malformed",
            lambda t: _shown(t, shown_columns) + f": not a date in the format {expected!r}",
        )
    )
    rules.append(
        Rule("date_impossible", lambda t: _shown(t, shown_columns) + ": impossible date or time")
    )
    flags = {
        "date_missing": t._d_missing,
        "date_malformed": t._d_malformed,
        "date_impossible": t._d_impossible,
    }
    now_naive = ibis.literal(now.replace(tzinfo=None, microsecond=0), type=dt.timestamp)
    flags["date_future"] = t._k_occurred_at > now_naive
    rules.append(Rule("date_future", lambda t: _shown(t, shown_columns) + ": date in the future"))
    if profile.earliest is not None:
        first = datetime.combine(profile.earliest, datetime.min.time())
        flags["date_too_early"] = t._k_occurred_at < ibis.literal(first, type=dt.timestamp)
        rules.append(
            Rule(
                "date_too_early",
                lambda t: (
                    _shown(t, shown_columns)
                    + f": before the source's first date {first.date().isoformat()}"
                ),
            )
        )
    if profile.timezone and spec.precision in ("hour", "minute", "second"):
        first_year = profile.earliest.year if profile.earliest else 1990
        gap = ibis.literal(False)
        for gap_start, gap_end in dst_gaps(profile.timezone, first_year, now.year):
            gap = gap | t._k_occurred_at.between(
                ibis.literal(gap_start, type=dt.timestamp),
                ibis.literal(gap_end - timedelta(microseconds=1), type=dt.timestamp),
            )
        flags["date_nonexistent"] = gap
        zone = profile.timezone
        rules.append(
            Rule(
                "date_nonexistent",
                lambda t: (
                    _shown(t, shown_columns)
                    + f": this local time does not exist in {zone} (clocks went forward)"
                ),
            )
        )
    stages.add(**{f"_bad_{name}": flag.fill_null(False) for name, flag in flags.items()})
    return rules


def _location(profile: Profile, stages: _Stages) -> list[Rule]:
    spec = profile.location
    assert spec is not None
    t = stages.t
    geographic = spec.lon is not None
    first_name = spec.lon if geographic else spec.x
    second_name = spec.lat if geographic else spec.y
    assert first_name is not None and second_name is not None
    first, bad_first = _number(t, first_name)
    second, bad_second = _number(t, second_name)
    stages.add(_c1=first, _c2=second, _c_bad=bad_first | bad_second)
    t = stages.next()
    shown = [first_name, second_name]
    zero = (t._c1 == 0) & (t._c2 == 0)
    flags = {
        "coordinate_malformed": t._c_bad,
        "coordinate_half_missing": t._c1.isnull() != t._c2.isnull(),
    }
    rules = [
        Rule("coordinate_malformed", lambda t: _shown(t, shown) + ": not a number"),
        Rule(
            "coordinate_half_missing",
            lambda t: _shown(t, shown) + ": one coordinate without the other",
        ),
    ]
    if spec.zero == "reject":
        flags["coordinate_zero"] = zero
        rules.append(
            Rule("coordinate_zero", lambda t: _shown(t, shown) + ": (0, 0) is not a real location")
        )
    bbox = spec.bbox or ((-180.0, -90.0, 180.0, 90.0) if geographic else None)
    if bbox is not None:
        outside = ~zero & (
            (t._c1 < bbox[0]) | (t._c1 > bbox[2]) | (t._c2 < bbox[1]) | (t._c2 > bbox[3])
        )
        flags["coordinate_outside"] = outside
        crs = spec.crs
        rules.append(
            Rule(
                "coordinate_outside",
                lambda t: (
                    _shown(t, shown) + f": outside the source's bounding box {list(bbox)} ({crs})"
                ),
            )
        )
    kept_first = zero.ifelse(ibis.null("float64"), t._c1)
    kept_second = zero.ifelse(ibis.null("float64"), t._c2)
    if geographic:
        stages.add(_k_lon=kept_first, _k_lat=kept_second)
    else:
        stages.add(
            _k_x=kept_first,
            _k_y=kept_second,
            _k_lon=ibis.null("float64"),
            _k_lat=ibis.null("float64"),
        )
    stages.add(**{f"_bad_{name}": flag.fill_null(False) for name, flag in flags.items()})
    return rules


def _offence(profile: Profile, stages: _Stages) -> list[Rule]:
    t = stages.t

    def text(name: str) -> ir.StringValue:
        return t[f"_s_{name}"] if f"_s_{name}" in t.columns else _text(t[name])

    if profile.offence_code:
        code = text(profile.offence_code)
    elif profile.offence_code_value:
        code = ibis.literal(profile.offence_code_value)
    else:
        code = ibis.null("string")
    label_columns = profile.label_columns()
    if label_columns:
        label = text(label_columns[0])
        for name in label_columns[1:]:
            label = label.concat(": ", text(name).fill_null(""))
    elif profile.offence_label_value:
        label = ibis.literal(profile.offence_label_value)
    else:
        label = ibis.null("string")
    iccs_value = text(profile.iccs_column) if profile.iccs_column else ibis.null("string")
    names = ", ".join(
        repr(c) for c in (profile.offence_code, *label_columns, profile.iccs_column) if c
    )
    # An ICCS code given directly is an offence too, so a row needs one of the three.
    flags = {"offence_missing": code.isnull() & label.isnull() & iccs_value.isnull()}
    rules = [Rule("offence_missing", lambda _t: ibis.literal(f"offence missing: {names} empty"))]
    columns: dict[str, ir.Value] = {"_k_offence_code": code}
    has_code = bool(profile.offence_code or profile.offence_code_value)
    if label_columns or profile.offence_label_value or not has_code:
        # A label the profile does not map would be stored as a column of NULLs.
        columns["_k_offence_label"] = label
    if profile.iccs_column:
        value = iccs_value
        known = [item.code for item in iccs.codes()]
        flags["iccs_unknown"] = value.notnull() & ~value.isin(known)
        iccs_column = profile.iccs_column
        rules.append(
            Rule("iccs_unknown", lambda t: _shown(t, [iccs_column]) + ": not an ICCS code")
        )
        columns["_k_iccs_code"] = value
    stages.add(**columns, **{f"_bad_{name}": flag.fill_null(False) for name, flag in flags.items()})
    return rules


def _tags(profile: Profile, stages: _Stages) -> list[Rule]:
    t = stages.t
    rules: list[Rule] = []
    columns: dict[str, ir.Value] = {}
    for field, source_column in profile.tags.items():
        text = (
            t[f"_s_{source_column}"]
            if f"_s_{source_column}" in t.columns
            else _text(t[source_column])
        )
        if field in ("victim_age", "perpetrator_age"):
            age, malformed = _integer(t, source_column)
            bad = (malformed | (age < 0) | (age > profile.max_age)).fill_null(False)
            columns[f"_bad_{field}_invalid"] = bad
            columns[f"_k_{field}"] = bad.ifelse(ibis.null("int64"), age)
            rules.append(Rule(f"{field}_invalid", _age_reason(source_column, profile.max_age)))
        elif field == "attempted":
            columns[f"_k_{field}"] = text.lower().isin(["1", "true", "yes", "y", "attempted", "a"])
        else:
            columns[f"_k_{field}"] = text
    stages.add(**columns)
    return rules


def _age_reason(column: str, maximum: int) -> Reason:
    def reason(t: ibis.Table) -> ir.StringValue:
        return _shown(t, [column]) + f": age must be a whole number from 0 to {maximum}"

    return reason


def _fingerprint(t: ibis.Table, keys: list[str]) -> ir.IntegerValue:
    """One 64-bit hash of the `keys` columns of a row (NULLs hash alike).

    Each column is hashed on its own (both engines hash text and numbers;
    other types are hashed as text), and each hash is mixed into the hash of
    the columns before it by hashing their XOR: order-sensitive, and without
    the arithmetic that overflows a BIGINT. Different rows may share a
    fingerprint; :func:`_duplicates` compares the candidates' values exactly.
    """
    combined: ir.IntegerValue | None = None
    for index, name in enumerate(keys):
        value = t[name]
        dtype = value.type()
        if not (dtype.is_string() or dtype.is_integer() or dtype.is_floating()):
            value = value.cast("string")
        elif dtype.is_integer() and not dtype.is_int64():
            value = value.cast("int64")
        digest = value.hash().fill_null(index + 1)
        combined = digest if combined is None else (combined ^ digest).hash()
    assert combined is not None
    return combined


def _duplicates(
    profile: Profile,
    stages: _Stages,
    keep: Callable[[ibis.Table], ibis.Table] | None = None,
) -> list[Rule]:
    """Flag every row whose key values occurred on an earlier row.

    Grouping or windowing all rows by the key columns (every raw column for
    "identical rows") sorts or hashes wide text keys of millions of rows. So
    rows are first fingerprinted with one 64-bit hash; only rows whose
    fingerprint occurs more than once (the candidates, few in a clean file)
    are compared exactly by their key values, and the resulting (row, first
    row) pairs are joined back. `keep` stores those pairs once, so the two
    statements that read the parsed rows do not recompute them.
    """
    if profile.duplicates == "none":
        return []
    t = stages.next()
    keys = list(profile.id_columns) if profile.duplicates == "id" else profile.required_columns()
    hashed = t.select(ROW, *keys, _dup_hash=_fingerprint(t, keys))
    repeated = (
        hashed.group_by("_dup_hash")
        .aggregate(_dup_n=hashed.count())
        .filter(lambda g: g._dup_n > 1)
        .select("_dup_hash")
    )
    candidates = hashed.semi_join(repeated, "_dup_hash")
    first = candidates[ROW].min().over(ibis.window(group_by=[candidates[name] for name in keys]))
    pairs = candidates.select(_dup_row=candidates[ROW], _dup_first=first)
    pairs = pairs.filter(pairs._dup_row != pairs._dup_first)
    if keep is not None:
        pairs = keep(pairs)
    joined = t.left_join(pairs, t[ROW] == pairs._dup_row)
    stages.t = joined.select(*[joined[name] for name in t.columns], joined._dup_first).view()
    stages.add(_bad_duplicate=stages.t._dup_first.notnull())
    what = "same id" if profile.duplicates == "id" else "identical row"
    listed = ", ".join(repr(k) for k in keys)
    return [
        Rule(
            "duplicate",
            lambda t: (
                ibis.literal(f"duplicate ({what} in {listed}) of row ")
                + t._dup_first.cast("string")
            ),
        )
    ]


def _aggregate(profile: Profile, stages: _Stages) -> list[Rule]:
    spec = profile.aggregate
    assert spec is not None
    t = stages.t
    if spec.sdmx_period:
        period_text = (
            t[f"_s_{spec.year}"] if f"_s_{spec.year}" in t.columns else _text(t[spec.year])
        )
        periods = time_period_columns(period_text)
        year, bad_year = periods.year, periods.invalid
        period, freq = periods.period, periods.freq
        year_reason = f": expected {SDMX_PERIODS}"
    else:
        year, bad_year = _integer(t, spec.year)
        period, freq = year.cast("string"), ibis.literal("A")
        year_reason = ": not a plausible year"
    value, bad_value = _number(t, spec.value)

    def text(name: str | None, default: str) -> ir.StringValue:
        if name is None:
            return ibis.literal(default)
        return t[f"_s_{name}"] if f"_s_{name}" in t.columns else _text(t[name])

    area = text(spec.area, "")
    stages.add(
        _k_area_id=area,
        _k_area_name=text(spec.area_name, "") if spec.area_name else ibis.null("string"),
        _k_year=year,
        _k_period=period,
        _k_freq=freq,
        _k_sex=text(spec.sex, "Total"),
        _k_age=text(spec.age, "Total"),
        _k_unit=text(spec.unit, spec.unit_value or "Counts"),
        _k_value=value,
        _bad_area_missing=area.isnull(),
        _bad_year_invalid=(
            bad_year | year.isnull() | (year < 1800) | (year > datetime.now().year)
        ).fill_null(True),
        _bad_value_invalid=(bad_value | value.isnull() | (value < 0)).fill_null(True),
    )
    return [
        Rule(
            "area_missing", lambda _t: ibis.literal(f"area missing: column {spec.area!r} is empty")
        ),
        Rule("year_invalid", lambda t: _shown(t, [spec.year]) + year_reason),
        Rule("value_invalid", lambda t: _shown(t, [spec.value]) + ": value must be a number >= 0"),
    ]


def parse_rows(
    profile: Profile,
    raw: ibis.Table,
    *,
    now: datetime | None = None,
    materialize: Callable[[ibis.Table], ibis.Table] | None = None,
    keep: Callable[[ibis.Table], ibis.Table] | None = None,
) -> Parsed:
    """Build the parsed-and-flagged rows of `raw` as one Ibis expression.

    Parameters
    ----------
    profile : Profile
        The source profile.
    raw : ibis.Table
        Raw rows with the ``_row`` column (see :func:`~crimeprev.store.readers.open_source`).
    now : datetime, optional
        The import time; later dates are "in the future". Defaults to now (UTC).
    materialize : callable, optional
        Stores each stage in a table and returns it. PostgreSQL flattens
        nested subqueries and then evaluates every inlined expression again
        (it has no common-subexpression elimination), so on PostgreSQL each
        stage is materialised; DuckDB keeps the stages as views.
    keep : callable, optional
        Stores a small intermediate result (the duplicate rows and the rows
        they repeat) in a table and returns it, so that it is computed once
        however often the parsed rows are read.
    """
    now = now or datetime.now(tz=ZoneInfo("UTC"))
    stages = _Stages(raw, materialize)
    stages.add(**_text_columns(profile, raw))
    stages.next()
    rules: list[Rule] = []
    if profile.kind == "aggregate":
        rules += _aggregate(profile, stages)
    if profile.occurred is not None:
        rules += _occurred(profile, stages, now)
        stages.add(_k_occurred_precision=ibis.literal(profile.occurred.precision))
    rules += _offence(profile, stages)
    if profile.location is not None:
        stages.next()
        rules += _location(profile, stages)
    rules += _tags(profile, stages)
    stages.next()
    rules += _duplicates(profile, stages, keep)
    t = stages.t
    extra: dict[str, ir.Value] = {"_k_source_row": t[ROW]}
    if profile.id_columns:
        source_id = _text(t[profile.id_columns[0]])
        for name in profile.id_columns[1:]:
            source_id = source_id.concat("|", _text(t[name]).fill_null(""))
        extra["_k_source_id"] = source_id
    if profile.area is not None and profile.area.column:
        area_text = _text(t[profile.area.column])
        if profile.area.aliases:
            area_text = area_text.substitute(profile.area.aliases)
        extra["_area_key"] = area_text
    stages.add(**extra)
    return Parsed(table=stages.next(), rules=tuple(rules))


def any_flag(parsed: Parsed, table: ibis.Table | None = None) -> ir.BooleanValue:
    """True for rows that break at least one rule."""
    table = parsed.table if table is None else table
    result: ir.BooleanValue = ibis.literal(False)
    for name in parsed.flag_columns:
        result = result | table[name]
    return result


def raw_text(profile: Profile, table: ibis.Table) -> ir.StringValue:
    """The raw row as ``column=value | column=value`` text, for quarantine."""
    parts: list[ir.StringValue | str] = []
    for index, name in enumerate(profile.required_columns()):
        sep = "" if index == 0 else " | "
        parts += [f"{sep}{name}=", _text(table[name]).fill_null("")]
    return _joined(parts)


def reasons_text(parsed: Parsed, table: ibis.Table) -> ir.StringValue:
    """All broken rules of a row, each as ``[rule] reason``, joined with ``"; "``."""
    parts: list[ir.StringValue | str] = [
        table[rule.column].ifelse(
            _joined([f"[{rule.name}] ", rule.reason(table), "; "]), ibis.literal("")
        )
        for rule in parsed.rules
    ]
    return _joined(parts or [""]).re_replace(r"; $", "")
