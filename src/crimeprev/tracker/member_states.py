"""The 193 Member States of the United Nations: ISO codes, names and M49 regions.

The list ships as ``tracker/data/member_states.csv`` (sources and how it was
made in ``tracker/data/PROVENANCE.md``). It is read once, on first use.

Examples
--------
>>> len(member_states())
193
>>> found = member_state("ke")
>>> found.iso3, found.name, found.region, found.subregion, found.intermediate_region
('KEN', 'Kenya', 'Africa', 'Sub-Saharan Africa', 'Eastern Africa')
>>> member_state("Türkiye").subregion
'Western Asia'
>>> regions()
['Africa', 'Americas', 'Asia', 'Europe', 'Oceania']
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from rapidfuzz import process

from crimeprev.errors import DataFileError, InvalidInputError, UnknownCodeError

__all__ = ["MemberState", "member_state", "member_states", "regions", "subregions"]

_DATA_FILE = "member_states.csv"
_COLUMNS = (
    "iso3",
    "iso2",
    "m49",
    "name",
    "iso_name",
    "region_code",
    "region",
    "subregion_code",
    "subregion",
    "intermediate_region_code",
    "intermediate_region",
)


@dataclass(frozen=True)
class MemberState:
    """One UN Member State.

    Attributes
    ----------
    iso3, iso2 : str
        ISO 3166-1 alpha-3 and alpha-2 codes.
    m49 : str
        Three-digit UN M49 code.
    name : str
        English short name as the UN writes it ("Bolivia (Plurinational State of)").
    iso_name : str
        English short name in ISO 3166-1 ("Bolivia, Plurinational State of").
    region, subregion : str
        M49 region and sub-region.
    intermediate_region : str or None
        M49 intermediate region, where M49 defines one.
    """

    iso3: str
    iso2: str
    m49: str
    name: str
    iso_name: str
    region: str
    subregion: str
    intermediate_region: str | None

    @property
    def area(self) -> str:
        """The finest M49 grouping: the intermediate region, else the sub-region.

        Examples
        --------
        >>> member_state("CHL").area, member_state("FRA").area
        ('South America', 'Western Europe')
        """
        return self.intermediate_region or self.subregion


@dataclass(frozen=True)
class _Table:
    states: tuple[MemberState, ...]
    by_key: dict[str, MemberState]


@cache
def _table() -> _Table:
    text = resources.files("crimeprev.tracker").joinpath("data", _DATA_FILE).read_text("utf-8")
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise DataFileError(
            "unexpected columns; reinstall crimeprev",
            file=_DATA_FILE,
            value=reader.fieldnames,
            expected=", ".join(_COLUMNS),
        )
    states = []
    by_key: dict[str, MemberState] = {}
    # Row 1 is the header, so data rows start at 2 (as a spreadsheet numbers them).
    for row_number, row in enumerate(reader, start=2):
        for column in ("iso3", "iso2", "m49", "name", "region", "subregion"):
            if not row[column]:
                raise DataFileError(
                    "empty value", file=_DATA_FILE, row=row_number, field=column, value=""
                )
        state = MemberState(
            iso3=row["iso3"],
            iso2=row["iso2"],
            m49=row["m49"],
            name=row["name"],
            iso_name=row["iso_name"],
            region=row["region"],
            subregion=row["subregion"],
            intermediate_region=row["intermediate_region"] or None,
        )
        states.append(state)
        for key in (state.iso3, state.iso2, state.m49, state.name, state.iso_name):
            by_key[key.casefold()] = state
    return _Table(states=tuple(states), by_key=by_key)


def member_states(region: str | None = None) -> list[MemberState]:
    """Return the Member States by alpha-3 code, all or those of one M49 region.

    Parameters
    ----------
    region : str, optional
        A region, sub-region or intermediate region name (any case), e.g.
        ``"Africa"``, ``"Western Asia"`` or ``"Caribbean"``.

    Returns
    -------
    list of MemberState

    Raises
    ------
    UnknownCodeError
        If `region` names no M49 grouping of a Member State.

    Examples
    --------
    >>> len(member_states("Africa")), len(member_states("caribbean"))
    (54, 13)
    """
    states = list(_table().states)
    if region is None:
        return states
    wanted = region.strip().casefold()
    chosen = [
        state
        for state in states
        if wanted
        in {
            state.region.casefold(),
            state.subregion.casefold(),
            (state.intermediate_region or "").casefold(),
        }
    ]
    if not chosen:
        known = sorted(regions() + subregions())
        raise UnknownCodeError(
            f"no Member State is in an M49 region named {region!r}; "
            f"expected one of: {', '.join(known)}",
            received=region,
            valid=known,
        )
    return chosen


def member_state(code_or_name: str) -> MemberState:
    """Return one Member State by alpha-3, alpha-2 or M49 code, or by name.

    Parameters
    ----------
    code_or_name : str
        ``"KEN"``, ``"ke"``, ``"404"``, ``"Kenya"`` (any case). UN and ISO
        names are both accepted.

    Returns
    -------
    MemberState

    Raises
    ------
    UnknownCodeError
        If nothing matches; the message suggests the closest names.
    InvalidInputError
        If `code_or_name` is not text.

    Examples
    --------
    >>> member_state("404").iso3
    'KEN'
    >>> member_state("United Kingdom").iso3
    'GBR'
    >>> member_state("PSE")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    crimeprev.errors.UnknownCodeError: 'PSE' is not a UN Member State ...
    """
    if not isinstance(code_or_name, str):
        raise InvalidInputError(
            f"a Member State is named by a code or name (text), got {code_or_name!r}"
        )
    table = _table()
    found = table.by_key.get(code_or_name.strip().casefold())
    if found is not None:
        return found
    names = [state.name for state in table.states]
    nearest = [name for name, _, _ in process.extract(code_or_name, names, limit=3)]
    raise UnknownCodeError(
        f"{code_or_name!r} is not a UN Member State code or name; use an ISO 3166-1 "
        f"alpha-3 or alpha-2 code, an M49 code or a name (closest: {', '.join(nearest)})",
        received=code_or_name,
        closest=nearest,
    )


def regions() -> list[str]:
    """Return the M49 regions that hold Member States, sorted by name.

    Examples
    --------
    >>> regions()
    ['Africa', 'Americas', 'Asia', 'Europe', 'Oceania']
    """
    return sorted({state.region for state in _table().states})


def subregions() -> list[str]:
    """Return the M49 sub-regions that hold Member States, sorted by name.

    Examples
    --------
    >>> len(subregions()), "Sub-Saharan Africa" in subregions()
    (17, True)
    """
    return sorted({state.subregion for state in _table().states})
