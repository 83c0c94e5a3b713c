"""Source profiles: one TOML file per source maps its columns to canonical fields.

A profile says where each canonical field (occurrence date and time, offence
code or label, coordinates, area, tags such as victim sex and age) comes from
in the source's own columns, how to parse it, which rules reject a row, and
which concordance codes the offences to ICCS. The bundled profiles live next
to this module in ``profiles/``; users write their own in the same form.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from crimeprev.errors import DataFileError, NotFoundError

PROFILE_DIR = Path(__file__).parent / "profiles"
#: Folder of the real data bundled with the package.
BUNDLED_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "real"

TAG_FIELDS = (
    "attempted",
    "victim_sex",
    "victim_age",
    "perpetrator_sex",
    "perpetrator_age",
    "relationship",
    "weapon",
    "location_type",
)
_FORMAT_TOKENS = {"%Y": 4, "%m": 2, "%d": 2, "%H": 2, "%M": 2, "%S": 2}
_PRECISIONS = ("year", "month", "day", "hour", "minute", "second")


@dataclass(frozen=True)
class OccurredSpec:
    """Where the occurrence date and time come from.

    Either one ``column`` parsed with a fixed-width ``format`` made of the
    tokens ``%Y %m %d %H %M %S`` and literal characters, or separate
    component columns (``year``, ``month``, ... ``minute``).
    """

    column: str | None = None
    format: str = "%Y-%m-%d"
    components: dict[str, str] = field(default_factory=dict)
    precision: str = "day"

    def tokens(self) -> list[tuple[str, int, int]]:
        """Return (token, start, length) for each token of `format` (1-based start).

        Examples
        --------
        >>> OccurredSpec(column="d", format="%Y-%m-%d %H:%M").tokens()[-1]
        ('%M', 15, 2)
        """
        found = []
        position = 1
        index = 0
        while index < len(self.format):
            piece = self.format[index : index + 2]
            if piece in _FORMAT_TOKENS:
                found.append((piece, position, _FORMAT_TOKENS[piece]))
                position += _FORMAT_TOKENS[piece]
                index += 2
            else:
                position += 1
                index += 1
        return found

    def regex(self) -> str:
        r"""Return the anchored regular expression a well-formed value matches.

        Examples
        --------
        >>> OccurredSpec(column="d", format="%Y-%m").regex()
        '^[0-9]{4}\\-[0-9]{2}$'
        """
        out = []
        index = 0
        while index < len(self.format):
            piece = self.format[index : index + 2]
            if piece in _FORMAT_TOKENS:
                out.append(f"[0-9]{{{_FORMAT_TOKENS[piece]}}}")
                index += 2
            else:
                out.append(re.escape(self.format[index]))
                index += 1
        return "^" + "".join(out) + "$"


@dataclass(frozen=True)
class LocationSpec:
    """Coordinates: lon/lat in degrees or x/y in a projected CRS, with a box."""

    lon: str | None = None
    lat: str | None = None
    x: str | None = None
    y: str | None = None
    crs: str = "EPSG:4326"
    bbox: tuple[float, float, float, float] | None = None
    zero: Literal["reject", "missing"] = "reject"


@dataclass(frozen=True)
class AreaSpec:
    """How rows get their area: a column of ids or names, or point in polygon."""

    area_set: str
    column: str | None = None
    match: Literal["id", "name"] = "id"
    aliases: dict[str, str] = field(default_factory=dict)
    point_in_polygon: bool = False


@dataclass(frozen=True)
class AggregateSpec:
    """Columns of a pre-counted (aggregate) source.

    `year` names the column of the period; with `sdmx_period` (the profile's
    ``period`` key instead of ``year``) it holds SDMX time periods of any
    frequency (``2020``, ``2020-Q1``, ``2020-M01``, ...), see
    :mod:`crimeprev.store.sdmx_time`.
    """

    area: str
    year: str
    value: str
    area_name: str | None = None
    sex: str | None = None
    age: str | None = None
    unit: str | None = None
    unit_value: str | None = None
    sdmx_period: bool = False


@dataclass(frozen=True)
class Profile:
    """A source profile (see the module docstring)."""

    name: str
    title: str
    kind: Literal["incident", "aggregate"]
    file_format: Literal["csv", "parquet", "xlsx", "police_uk"]
    publisher: str = ""
    licence: str = ""
    bundled_files: tuple[str, ...] = ()
    concordance: str | None = None
    timezone: str | None = None
    earliest: date | None = None
    duplicates: Literal["none", "identical", "id"] = "none"
    id_columns: tuple[str, ...] = ()
    occurred: OccurredSpec | None = None
    offence_code: str | None = None
    offence_code_value: str | None = None
    offence_label: str | tuple[str, ...] | None = None
    offence_label_value: str | None = None
    iccs_column: str | None = None
    location: LocationSpec | None = None
    area: AreaSpec | None = None
    tags: dict[str, str] = field(default_factory=dict)
    max_age: int = 120
    aggregate: AggregateSpec | None = None
    sheet: str | None = None
    text: str = ""

    @property
    def digest(self) -> str:
        """SHA-256 of the profile text (recorded with every import)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def label_columns(self) -> tuple[str, ...]:
        """The columns that make up the offence label (may be several)."""
        if self.offence_label is None:
            return ()
        if isinstance(self.offence_label, str):
            return (self.offence_label,)
        return self.offence_label

    def required_columns(self) -> list[str]:
        """Every source column the profile reads, in a stable order."""
        columns: list[str] = []

        def add(name: str | None) -> None:
            if name and name not in columns:
                columns.append(name)

        if self.occurred is not None:
            add(self.occurred.column)
            for name in self.occurred.components.values():
                add(name)
        add(self.offence_code)
        for name in self.label_columns():
            add(name)
        add(self.iccs_column)
        if self.location is not None:
            for coordinate in (
                self.location.lon, self.location.lat, self.location.x, self.location.y,
            ):  # fmt: skip
                add(coordinate)
        if self.area is not None:
            add(self.area.column)
        for name in self.tags.values():
            add(name)
        for name in self.id_columns:
            add(name)
        if self.aggregate is not None:
            spec = self.aggregate
            for optional in (spec.area, spec.year, spec.value, spec.area_name, spec.sex, spec.age):
                add(optional)
            add(spec.unit)
        return columns

    def bundled_paths(self) -> list[Path]:
        """Absolute paths of the bundled files this profile describes."""
        return [BUNDLED_DATA_DIR / name for name in self.bundled_files]


def _expect(value: Any, kind: type | tuple[type, ...], where: str, path: Path) -> Any:
    if value is not None and not isinstance(value, kind):
        raise DataFileError(
            f"{where} has the wrong type",
            file=str(path),
            field=where,
            value=value,
            expected=getattr(kind, "__name__", str(kind)),
        )
    return value


_OFFENCE_KEYS = ("code", "label", "iccs", "code_value", "label_value")


def _offence_table(offence: Any, where: Path) -> dict[str, Any]:
    """Check the ``[offence]`` table names at least one source of the offence.

    Messages avoid square brackets: the command line prints them with Rich,
    which would take ``[offence]`` for a style tag and drop it.

    Without one every row would be quarantined as "offence missing", so the
    mistake is reported once, when the profile is read, instead of per row.
    A misspelt key (``iccs_code`` for ``iccs``) is refused for the same reason.
    """
    expected = (
        "an 'offence' table with a column 'code', 'label' or 'iccs' (an ICCS code), "
        "or a constant 'code_value' or 'label_value'"
    )
    if not isinstance(offence, dict):
        raise DataFileError(
            "'offence' must be a table", file=str(where), field="offence", expected=expected
        )
    unknown = sorted(set(offence) - set(_OFFENCE_KEYS))
    if unknown:
        raise DataFileError(
            f"unknown key(s) {unknown} in the 'offence' table",
            file=str(where),
            field="offence",
            value=unknown,
            expected=f"keys among {list(_OFFENCE_KEYS)}",
        )
    if not any(offence.get(key) for key in _OFFENCE_KEYS):
        raise DataFileError(
            "the profile maps no offence column, so no row could be coded",
            file=str(where),
            field="offence",
            expected=expected,
        )
    return offence


def parse_profile(text: str, *, path: Path | None = None) -> Profile:
    """Parse the TOML text of a profile.

    Raises
    ------
    DataFileError
        If the TOML is malformed or a key is missing, unknown or mistyped.

    Examples
    --------
    >>> profile = parse_profile('''
    ... name = "demo"
    ... title = "Demo"
    ... kind = "incident"
    ... format = "csv"
    ... [occurred]
    ... column = "date"
    ... format = "%Y-%m-%d"
    ... [offence]
    ... label = "type"
    ... ''')
    >>> profile.required_columns()
    ['date', 'type']
    """
    where = path or Path("<profile>")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DataFileError(f"profile is not valid TOML: {error}", file=str(where)) from error
    known = {
        "name", "title", "kind", "format", "publisher", "licence", "bundled_files",
        "concordance", "timezone", "earliest", "duplicates", "id_columns", "occurred",
        "offence", "location", "area", "tags", "max_age", "aggregate", "sheet",
    }  # fmt: skip
    unknown = sorted(set(data) - known)
    if unknown:
        raise DataFileError(
            f"unknown profile key(s) {unknown}",
            file=str(where),
            expected=f"keys among {sorted(known)}",
        )
    for key in ("name", "title", "kind", "format"):
        if key not in data:
            raise DataFileError(f"profile lacks required key {key!r}", file=str(where))
    kind = data["kind"]
    if kind not in ("incident", "aggregate"):
        raise DataFileError(
            "unknown kind", file=str(where), field="kind", value=kind, expected="incident|aggregate"
        )
    file_format = data["format"]
    if file_format not in ("csv", "parquet", "xlsx", "police_uk"):
        raise DataFileError(
            "unknown format",
            file=str(where),
            field="format",
            value=file_format,
            expected="csv|parquet|xlsx|police_uk",
        )
    occurred = None
    if "occurred" in data:
        raw = data["occurred"]
        components = {
            part: raw[part] for part in ("year", "month", "day", "hour", "minute") if part in raw
        }
        precision = raw.get("precision", "day")
        if precision not in _PRECISIONS:
            raise DataFileError(
                "unknown precision",
                file=str(where),
                field="occurred.precision",
                value=precision,
                expected="|".join(_PRECISIONS),
            )
        if not raw.get("column") and not components:
            raise DataFileError(
                "[occurred] needs a column or component columns (year, month, day, ...)",
                file=str(where),
            )
        occurred = OccurredSpec(
            column=raw.get("column"),
            format=raw.get("format", "%Y-%m-%d"),
            components=components,
            precision=precision,
        )
    offence = _offence_table(data.get("offence", {}), where)
    location = None
    if "location" in data:
        raw = data["location"]
        bbox = raw.get("bbox")
        if bbox is not None and (len(bbox) != 4 or bbox[0] >= bbox[2] or bbox[1] >= bbox[3]):
            raise DataFileError(
                "bounding box must be [min_x, min_y, max_x, max_y] with min < max",
                file=str(where),
                field="location.bbox",
                value=bbox,
            )
        location = LocationSpec(
            lon=raw.get("lon"),
            lat=raw.get("lat"),
            x=raw.get("x"),
            y=raw.get("y"),
            crs=raw.get("crs", "EPSG:4326"),
            bbox=tuple(float(v) for v in bbox) if bbox else None,  # type: ignore[arg-type]
            zero=raw.get("zero", "reject"),
        )
    area = None
    if "area" in data:
        raw = data["area"]
        area = AreaSpec(
            area_set=raw["set"],
            column=raw.get("column"),
            match=raw.get("match", "id"),
            aliases=dict(raw.get("aliases", {})),
            point_in_polygon=bool(raw.get("point_in_polygon", False)),
        )
    tags = dict(data.get("tags", {}))
    bad_tags = sorted(set(tags) - set(TAG_FIELDS))
    if bad_tags:
        raise DataFileError(
            f"unknown tag field(s) {bad_tags}", file=str(where), expected=", ".join(TAG_FIELDS)
        )
    aggregate = None
    if "aggregate" in data:
        raw = data["aggregate"]
        aggregate = AggregateSpec(
            area=raw["area"],
            # ``period`` names a column of SDMX time periods, ``year`` one of years.
            year=raw["period"] if "period" in raw else raw["year"],
            value=raw["value"],
            area_name=raw.get("area_name"),
            sex=raw.get("sex"),
            age=raw.get("age"),
            unit=raw.get("unit"),
            unit_value=raw.get("unit_value"),
            sdmx_period="period" in raw,
        )
    if kind == "aggregate" and aggregate is None:
        raise DataFileError("an aggregate profile needs an [aggregate] table", file=str(where))
    label = offence.get("label")
    earliest = data.get("earliest")
    if isinstance(earliest, str):
        earliest = date.fromisoformat(earliest)
    duplicates = data.get("duplicates", "none")
    if duplicates not in ("none", "identical", "id"):
        raise DataFileError(
            "unknown duplicates rule",
            file=str(where),
            field="duplicates",
            value=duplicates,
            expected="none|identical|id",
        )
    return Profile(
        name=_expect(data["name"], str, "name", where),
        title=data["title"],
        kind=kind,
        file_format=file_format,
        publisher=data.get("publisher", ""),
        licence=data.get("licence", ""),
        bundled_files=tuple(data.get("bundled_files", ())),
        concordance=data.get("concordance"),
        timezone=data.get("timezone"),
        earliest=earliest,
        duplicates=duplicates,
        id_columns=tuple(data.get("id_columns", ())),
        occurred=occurred,
        offence_code=offence.get("code"),
        offence_code_value=offence.get("code_value"),
        offence_label=tuple(label) if isinstance(label, list) else label,
        offence_label_value=offence.get("label_value"),
        iccs_column=offence.get("iccs"),
        location=location,
        area=area,
        tags=tags,
        max_age=int(data.get("max_age", 120)),
        aggregate=aggregate,
        sheet=data.get("sheet"),
        text=text,
    )


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a bundled profile by name, or a profile file by path.

    Raises
    ------
    NotFoundError
        If no bundled profile has that name and no such file exists.

    Examples
    --------
    >>> load_profile("chicago_assaults").concordance
    'code_nibrs'
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.toml"
    if not path.exists():
        raise NotFoundError(
            f"no source profile {str(name_or_path)!r}; bundled profiles: "
            f"{', '.join(profile_names())}, or give the path of a .toml file"
        )
    return parse_profile(path.read_text(encoding="utf-8"), path=path)


def profile_names() -> list[str]:
    """Names of the bundled profiles.

    Examples
    --------
    >>> "vancouver_2020" in profile_names()
    True
    """
    return sorted(path.stem for path in PROFILE_DIR.glob("*.toml"))


def bundled_profiles() -> list[Profile]:
    """Every bundled profile."""
    return [load_profile(name) for name in profile_names()]
