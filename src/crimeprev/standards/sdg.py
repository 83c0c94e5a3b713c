"""SDG indicators on crime, violence and justice, and the ICCS codes they rest on.

Nineteen global Sustainable Development Goal indicators ship as
``standards/data/sdg_indicators.csv``: the crime-related indicators of Goal 16
(16.1.1-16.5.2), the violence-against-women indicators of Goal 5 (5.2.1-5.3.2)
and the harassment indicator 11.7.2. Each row gives the official name, how the
indicator is computed (numerator, denominator, unit), its disaggregations,
custodian agencies, data source, the ICCS codes it counts and how far the row
was checked against the UN metadata (sources in ``data/SOURCES.md``).

The ``iccs_codes`` column is free text such as ``"02011 (assault); 0301"`` or
``"0107; 110131 (related)"``. It is parsed into codes the indicator counts
(:attr:`SdgIndicator.iccs_codes`), codes that are only related to it
(:attr:`SdgIndicator.related_iccs_codes`) and any condition attached to the
mapping (:attr:`SdgIndicator.iccs_note`). Codes are strings, so leading zeros
survive.

Examples
--------
>>> indicator("16.1.1").iccs_codes
('0101',)
>>> [found.indicator for found in indicators_for_iccs("0301")]
['16.1.3', '16.2.3', '16.3.1', '5.2.1', '5.2.2', '11.7.2']
>>> indicator("16.1.2").related_iccs_codes
('110131',)
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from crimeprev.errors import DataFileError, InvalidInputError, UnknownCodeError
from crimeprev.standards import iccs

__all__ = [
    "SdgIndicator",
    "indicator",
    "indicators",
    "indicators_for_iccs",
]

_DATA_FILE = "sdg_indicators.csv"
_COLUMNS = (
    "indicator",
    "name",
    "numerator",
    "denominator",
    "unit",
    "disaggregations",
    "custodian_agency",
    "data_source_type",
    "iccs_codes",
    "verification",
)
# Indicator ids are goal.target.number; targets may be letters (e.g. 16.a.1).
_INDICATOR_ID = re.compile(r"\d{1,2}\.[0-9a-z]{1,2}\.\d{1,2}")
# ICCS codes have 2 (section), 4, 5 or 6 digits (levels 1-4).
_ICCS_CODE = re.compile(r"\d{2}|\d{4,6}")
# A qualifier for the whole cell follows " - ", e.g. "0704 (...), 07041 (...) - related".
_CELL_QUALIFIER = re.compile(r"\s+-\s+([^()]+)$")
_PARENTHESES = re.compile(r"\(([^()]*)\)")
_SDG_PREFIX = re.compile(r"^sdg\s*", re.IGNORECASE)


@dataclass(frozen=True)
class SdgIndicator:
    """One global SDG indicator and how it relates to ICCS.

    Attributes
    ----------
    indicator : str
        The indicator id, e.g. ``"16.1.1"``.
    name : str
        The official indicator name.
    numerator, denominator, unit : str
        How the indicator is computed; ``denominator`` describes a level
        indicator (no ratio) in words.
    disaggregations : str
        Official and recommended breakdowns.
    custodian_agency : str
        The custodian agencies as recorded, separated by ``"; "``; see
        :attr:`custodian_agencies` for a parsed tuple.
    data_source_type : str
        Where the data come from (administrative records, sample surveys, ...).
    iccs_codes : tuple of str
        ICCS codes whose offences the indicator counts.
    related_iccs_codes : tuple of str
        ICCS codes that are related to the indicator without defining it, e.g.
        money laundering for illicit financial flows.
    iccs_note : str or None
        A condition on the ICCS mapping, e.g. ``"where criminalized"``.
    verification : str
        How far the row was checked against the UN metadata, and when.
    """

    indicator: str
    name: str
    numerator: str
    denominator: str
    unit: str
    disaggregations: str
    custodian_agency: str
    data_source_type: str
    iccs_codes: tuple[str, ...]
    related_iccs_codes: tuple[str, ...]
    iccs_note: str | None
    verification: str

    @property
    def goal(self) -> int:
        """The Sustainable Development Goal, e.g. ``16``.

        Examples
        --------
        >>> indicator("11.7.2").goal
        11
        """
        return int(self.indicator.split(".")[0])

    @property
    def target(self) -> str:
        """The SDG target, e.g. ``"16.1"``.

        Examples
        --------
        >>> indicator("16.3.2").target
        '16.3'
        """
        return self.indicator.rsplit(".", 1)[0]

    @property
    def custodian_agencies(self) -> tuple[str, ...]:
        """The custodian agencies, with remarks in parentheses left out.

        Examples
        --------
        >>> indicator("16.1.1").custodian_agencies
        ('UNODC', 'WHO')
        """
        cleaned = _PARENTHESES.sub("", self.custodian_agency)
        return tuple(part.strip() for part in cleaned.split(";") if part.strip())

    @property
    def verified(self) -> bool:
        """Whether the whole row was checked against UN metadata (not only partly).

        Examples
        --------
        >>> indicator("16.1.1").verified, indicator("16.1.2").verified
        (True, False)
        """
        return self.verification.startswith("verified")


def _split_outside_parentheses(text: str) -> list[str]:
    """Split at ``;`` and ``,`` that are not inside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for character in text:
        if character == "(":
            depth += 1
        elif character == ")":
            depth = max(depth - 1, 0)
        if character in ";," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(character)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _parse_iccs_cell(text: str, row: int) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """Parse the ``iccs_codes`` cell into (codes, related codes, note).

    Parenthesised text after a code is a label (``"(assault)"``) or the range
    of its sub-codes (``"(02041-02044)"``), both already implied by the code,
    except ``"(related)"``, which marks that one code as related. A trailing
    ``" - related"`` marks every code in the cell as related; any other
    trailing qualifier becomes the note.
    """
    cell = text.strip()
    note: str | None = None
    all_related = False
    qualifier = _CELL_QUALIFIER.search(cell)
    if qualifier:
        cell = cell[: qualifier.start()]
        if qualifier.group(1).strip().lower() == "related":
            all_related = True
        else:
            note = qualifier.group(1).strip()
    codes: list[str] = []
    related: list[str] = []
    for item in _split_outside_parentheses(cell):
        remarks = [remark.strip().lower() for remark in _PARENTHESES.findall(item)]
        bare = _PARENTHESES.sub("", item).strip()
        target = related if all_related or "related" in remarks else codes
        for code in bare.split("/"):
            code = code.strip()
            if not _ICCS_CODE.fullmatch(code):
                raise DataFileError(
                    "not an ICCS code",
                    file=_DATA_FILE,
                    row=row,
                    field="iccs_codes",
                    value=code,
                    expected="2, 4, 5 or 6 digits such as '0101'",
                )
            target.append(code)
    return tuple(codes), tuple(related), note


def _read_rows() -> list[dict[str, str]]:
    text = resources.files("crimeprev.standards").joinpath("data", _DATA_FILE).read_text("utf-8")
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise DataFileError(
            "unexpected header",
            file=_DATA_FILE,
            row=1,
            value=reader.fieldnames,
            expected=", ".join(_COLUMNS),
        )
    return list(reader)


@cache
def _table() -> dict[str, SdgIndicator]:
    table: dict[str, SdgIndicator] = {}
    # Row 1 is the header, so data rows start at 2 as in a spreadsheet.
    for row_number, row in enumerate(_read_rows(), start=2):
        identifier = row["indicator"].strip()
        if not _INDICATOR_ID.fullmatch(identifier) or identifier in table:
            raise DataFileError(
                "invalid or repeated indicator id",
                file=_DATA_FILE,
                row=row_number,
                field="indicator",
                value=identifier,
                expected="a new id such as '16.1.1'",
            )
        codes, related, note = _parse_iccs_cell(row["iccs_codes"], row_number)
        table[identifier] = SdgIndicator(
            indicator=identifier,
            name=row["name"],
            numerator=row["numerator"],
            denominator=row["denominator"],
            unit=row["unit"],
            disaggregations=row["disaggregations"],
            custodian_agency=row["custodian_agency"],
            data_source_type=row["data_source_type"],
            iccs_codes=codes,
            related_iccs_codes=related,
            iccs_note=note,
            verification=row["verification"],
        )
    return table


def indicators(goal: int | None = None) -> list[SdgIndicator]:
    """Return the indicators in the order of the data file, optionally of one goal.

    Parameters
    ----------
    goal : int, optional
        Keep only the indicators of this Sustainable Development Goal (5, 11 or 16).

    Returns
    -------
    list of SdgIndicator
        Goal 16 first, then Goal 5 and Goal 11; empty for a goal not covered.

    Examples
    --------
    >>> len(indicators())
    19
    >>> [found.indicator for found in indicators(goal=5)]
    ['5.2.1', '5.2.2', '5.3.1', '5.3.2']
    """
    every = list(_table().values())
    if goal is None:
        return every
    return [found for found in every if found.goal == goal]


def indicator(indicator_id: str) -> SdgIndicator:
    """Return one indicator by its id.

    Parameters
    ----------
    indicator_id : str
        An id such as ``"16.1.1"``; an ``"SDG"`` prefix and spaces are ignored.

    Returns
    -------
    SdgIndicator
        The indicator.

    Raises
    ------
    UnknownCodeError
        If the id is not one of the 19 indicators; the message lists them.
    InvalidInputError
        If `indicator_id` is not text.

    Examples
    --------
    >>> indicator("SDG 16.2.2").unit
    'per 100,000 population'
    >>> indicator("16.9.9")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    crimeprev.errors.UnknownCodeError: '16.9.9' is not an SDG indicator known to crimeprev; ...
    """
    if not isinstance(indicator_id, str):
        raise InvalidInputError(
            f"an SDG indicator id must be text such as '16.1.1', got {indicator_id!r} "
            f"({type(indicator_id).__name__})"
        )
    table = _table()
    found = table.get(_SDG_PREFIX.sub("", indicator_id.strip()))
    if found is None:
        valid = list(table)
        raise UnknownCodeError(
            f"{indicator_id!r} is not an SDG indicator known to crimeprev; "
            f"expected one of {', '.join(valid)}",
            received=indicator_id,
            valid=valid,
        )
    return found


def _same_branch(code: str, other: str) -> bool:
    """Whether one code is the other, its ancestor or its descendant."""
    return code.startswith(other) or other.startswith(code)


def indicators_for_iccs(code: str, *, include_related: bool = True) -> list[SdgIndicator]:
    """Return the indicators that rest on an ICCS code, its ancestors or descendants.

    ICCS is hierarchical by prefix ("0101" lies under "01"), so an indicator
    that counts "0301" (sexual violence) answers for "03" (its section) and
    for "030122" (one of its sub-categories), and an indicator that counts
    "030122" answers for "0301".

    Parameters
    ----------
    code : str
        An ICCS 1.0 code; the Eurostat prefix ``"ICCS"`` is accepted.
    include_related : bool, default=True
        Also match the indicators' related codes (e.g. money laundering for
        illicit financial flows), not only the codes they count.

    Returns
    -------
    list of SdgIndicator
        In the order of :func:`indicators`; empty if none matches.

    Raises
    ------
    UnknownCodeError
        If `code` is not an ICCS 1.0 code.

    Examples
    --------
    >>> [found.indicator for found in indicators_for_iccs("01")]
    ['16.1.1', '16.1.2']
    >>> [found.indicator for found in indicators_for_iccs("ICCS07041")]
    ['16.4.1']
    >>> indicators_for_iccs("07041", include_related=False)
    []
    """
    canonical = iccs.validate(code)
    matches: list[SdgIndicator] = []
    for found in _table().values():
        candidates = found.iccs_codes + (found.related_iccs_codes if include_related else ())
        if any(_same_branch(canonical, other) for other in candidates):
            matches.append(found)
    return matches
