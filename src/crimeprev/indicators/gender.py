"""The gender lens: victims by sex and by their relationship to the perpetrator.

The UN Crime Trends Survey (bundled as ``unodc_cts``) publishes, per country
and year, the victims of sexual violence and of serious assault by sex (male,
female) and by relationship to the perpetrator in four categories: intimate
partner or family member, other perpetrator known to the victim, perpetrator
unknown to the victim, and relationship not known. It publishes no total, so
the total of a sex is the sum of its four categories, and only where all four
are reported: a row lacking one is flagged, and no total or share is given
for it.

Each proportion of counts comes with its exact binomial (Clopper-Pearson)
interval (Clopper and Pearson 1934):

- the share of victims whose perpetrator was an intimate partner or family
  member, among all victims of the sex, and among the victims whose
  relationship to the perpetrator is known;
- the share female among all victims, and among the victims of an intimate
  partner or family member.

The source publishes these counts; as in every crimeprev table, counts from 1
to `threshold` - 1 are still hidden (:func:`crimeprev.indicators.disclosure.suppress_small`).
A hidden count would follow from the total and the other categories, and
from a share and its base, so a row with a hidden count shows no total, rate
or share that contains it.

References
----------
Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or fiducial
limits illustrated in the case of the binomial. Biometrika 26(4), 404-413.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
from scipy import stats

from crimeprev.errors import InvalidInputError, NotFoundError
from crimeprev.indicators.aggregates import aggregate_rows
from crimeprev.indicators.disclosure import suppress_small
from crimeprev.store.warehouse import Warehouse

#: The victim indicators of the UN-CTS and the ICCS code of their offence.
INDICATORS = {"Victims of sexual violence": "0301", "Victims of serious assault": "020111"}
PARTNER_FAMILY = "Intimate partner or family member"
NOT_KNOWN = "Relationship to perpetrator is not known"
#: The relationship categories, in the order the source lists them.
CATEGORIES = (
    PARTNER_FAMILY,
    "Other Perpetrator known to the victim",
    "Perpetrator unknown to the victim",
    NOT_KNOWN,
)
SEXES = ("Female", "Male")
RATE_UNIT = "Rate per 100,000 population"


@dataclass(frozen=True)
class Proportion:
    """A share of counts with its exact (Clopper-Pearson) interval."""

    successes: float
    trials: float
    share: float
    ci_low: float
    ci_high: float


def clopper_pearson(successes: int, trials: int, *, confidence: float = 0.95) -> Proportion:
    """The share ``successes / trials`` with its exact binomial (Clopper-Pearson) interval.

    Parameters
    ----------
    successes : int
        Counted cases of interest, 0 <= successes <= trials.
    trials : int
        All counted cases; must be > 0.
    confidence : float, default=0.95
        Coverage of the interval.

    Raises
    ------
    InvalidInputError
        If the counts are not whole numbers with 0 <= successes <= trials and
        trials > 0, or `confidence` is not between 0 and 1.

    Examples
    --------
    >>> p = clopper_pearson(3, 10)
    >>> round(p.share, 2), round(p.ci_low, 4), round(p.ci_high, 4)
    (0.3, 0.0667, 0.6525)
    """
    if not 0 < confidence < 1:
        raise InvalidInputError(f"confidence must be between 0 and 1, got {confidence!r}")
    if successes != int(successes) or trials != int(trials):
        raise InvalidInputError(
            f"counts must be whole numbers, got {successes!r} of {trials!r}; "
            "a share with an exact interval needs counts, not rates"
        )
    if trials <= 0 or not 0 <= successes <= trials:
        raise InvalidInputError(
            f"need 0 <= successes <= trials and trials > 0, got {successes!r} of {trials!r}"
        )
    k, n = int(successes), int(trials)
    alpha = 1 - confidence
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return Proportion(float(k), float(n), k / n, low, high)


@dataclass(frozen=True)
class VictimRow:
    """The victims of one sex in one year, by relationship to the perpetrator.

    `counts` gives each category's count, None where the source does not
    report it (listed in `missing`) or where it is below the threshold
    (listed in `hidden`). `total` and `rate` (victims per 100,000 residents
    of the sex, the sum of the published category rates) are None unless all
    four categories are reported and shown.
    """

    indicator: str
    iccs_code: str
    year: int
    sex: str
    counts: dict[str, float | None]
    missing: list[str]
    hidden: list[str]
    total: float | None
    rate: float | None
    partner_family: Proportion | None  # share of all victims of the sex
    partner_family_known: Proportion | None  # share of victims whose relationship is known
    flags: list[str]


@dataclass(frozen=True)
class FemaleShare:
    """The share female among the victims of one indicator in one year."""

    indicator: str
    year: int
    victims: Proportion | None  # female victims / all victims
    partner_family: Proportion | None  # among the victims of a partner or family member


@dataclass(frozen=True)
class VictimProfile:
    """An area's victims by sex and relationship to the perpetrator, with shares."""

    source: str
    area_id: str
    area_name: str
    threshold: int
    confidence: float
    rows: list[VictimRow]
    female_shares: list[FemaleShare]


def relationship_rows(
    frame: pd.DataFrame, *, threshold: int = 0, confidence: float = 0.95
) -> tuple[list[VictimRow], list[FemaleShare]]:
    """Victims by indicator, year, sex and relationship, with totals, shares and flags.

    Parameters
    ----------
    frame : pandas.DataFrame
        Published values with the columns ``indicator`` (a key of
        :data:`INDICATORS`), ``category`` (one of :data:`CATEGORIES`),
        ``year``, ``sex`` (``Female``, ``Male``), ``unit`` (``Counts`` or
        :data:`RATE_UNIT`) and ``value``; other rows are ignored.
    threshold : int, default=0
        Counts from 1 to `threshold` - 1 are hidden (0 shows every count).
    confidence : float, default=0.95
        Coverage of the Clopper-Pearson intervals.

    Raises
    ------
    InvalidInputError
        If `confidence` is not between 0 and 1.

    Returns
    -------
    rows, female_shares : list of VictimRow, list of FemaleShare
        One row per indicator, year and sex reported; one share per
        indicator and year.

    Examples
    --------
    >>> frame = pd.DataFrame({"indicator": "Victims of sexual violence", "year": 2020,
    ...     "sex": ["Female"] * 4 + ["Male"] * 4, "category": list(CATEGORIES) * 2,
    ...     "unit": "Counts", "value": [40.0, 30, 20, 10, 4, 6, 8, 2]})
    >>> rows, shares = relationship_rows(frame)
    >>> rows[0].sex, rows[0].total, rows[0].partner_family.share
    ('Female', 100.0, 0.4)
    >>> round(shares[0].victims.share, 4), round(shares[0].partner_family.share, 4)
    (0.8333, 0.9091)
    """
    if not 0 < confidence < 1:
        raise InvalidInputError(f"confidence must be between 0 and 1, got {confidence!r}")
    chosen = frame[
        frame["indicator"].isin(list(INDICATORS))
        & frame["category"].isin(list(CATEGORIES))
        & frame["sex"].isin(list(SEXES))
    ]
    chosen = chosen.dropna(subset=["value"]).drop_duplicates(
        ["indicator", "year", "sex", "category", "unit"]
    )
    counts = chosen[chosen["unit"] == "Counts"]
    rates = chosen[chosen["unit"] == RATE_UNIT]
    rate_of = {
        (str(indicator), int(year), str(sex), str(category)): float(value)
        for indicator, year, sex, category, value in zip(
            rates["indicator"], rates["year"], rates["sex"], rates["category"], rates["value"],
            strict=True,
        )
    }  # fmt: skip
    rows: list[VictimRow] = []
    shares: list[FemaleShare] = []
    for (indicator, year), group in counts.groupby(["indicator", "year"], sort=True):
        by_sex: dict[str, VictimRow] = {}
        for sex in SEXES:
            reported = group[group["sex"] == sex]
            if reported.empty:
                continue
            row = _victim_row(
                str(indicator), int(str(year)), sex, reported, rate_of, threshold, confidence
            )
            by_sex[sex] = row
            rows.append(row)
        shares.append(_female_share(str(indicator), int(str(year)), by_sex, confidence))
    return rows, shares


def _victim_row(
    indicator: str,
    year: int,
    sex: str,
    reported: pd.DataFrame,
    rate_of: dict[tuple[str, int, str, str], float],
    threshold: int,
    confidence: float,
) -> VictimRow:
    values = dict(zip(reported["category"], reported["value"].astype(float), strict=True))
    missing = [c for c in CATEGORIES if c not in values]
    shown = suppress_small([values[c] for c in CATEGORIES if c in values], threshold=threshold)
    present = [c for c in CATEGORIES if c in values]
    hidden = [c for c, h in zip(present, shown.suppressed, strict=True) if h]
    counts: dict[str, float | None] = {
        c: (None if c in hidden or c in missing else values[c]) for c in CATEGORIES
    }
    flags = []
    if missing:
        flags.append(f"not reported: {'; '.join(missing)}; no total without all four categories")
    if hidden:
        flags.append(
            f"below {threshold}, hidden: {'; '.join(hidden)}; the total, rate and shares "
            "containing them are withheld"
        )
    fractional = [c for c in present if values[c] != int(values[c])]
    if fractional:
        flags.append(f"not whole numbers: {'; '.join(fractional)}; no share with an exact interval")
    complete = not missing and not hidden
    total = sum(values[c] for c in CATEGORIES) if complete else None
    category_rates = [rate_of.get((indicator, year, sex, c)) for c in CATEGORIES]
    rate = (
        sum(r for r in category_rates if r is not None)
        if complete and all(r is not None for r in category_rates)
        else None
    )
    partner = counts[PARTNER_FAMILY]
    known = [counts[c] for c in CATEGORIES if c != NOT_KNOWN]
    known_total = sum(v for v in known if v is not None)
    return VictimRow(
        indicator=indicator,
        iccs_code=INDICATORS[indicator],
        year=year,
        sex=sex,
        counts=counts,
        missing=missing,
        hidden=hidden,
        total=total,
        rate=rate,
        partner_family=_share(partner, total, confidence),
        partner_family_known=(
            _share(partner, known_total, confidence) if all(v is not None for v in known) else None
        ),
        flags=flags,
    )


def _share(part: float | None, whole: float | None, confidence: float) -> Proportion | None:
    """The proportion, or None when a count is unknown, hidden or not whole, or the base is 0."""
    if part is None or whole is None or whole <= 0:
        return None
    if part != int(part) or whole != int(whole):
        return None  # an exact binomial interval needs counts (flagged in the row)
    return clopper_pearson(int(part), int(whole), confidence=confidence)


def _female_share(
    indicator: str, year: int, by_sex: dict[str, VictimRow], confidence: float
) -> FemaleShare:
    female, male = by_sex.get("Female"), by_sex.get("Male")
    if female is None or male is None:
        return FemaleShare(indicator, year, None, None)
    both = None if female.total is None or male.total is None else female.total + male.total
    female_partner, male_partner = (
        female.counts[PARTNER_FAMILY],
        male.counts[PARTNER_FAMILY],
    )
    partners = (
        None if female_partner is None or male_partner is None else female_partner + male_partner
    )
    return FemaleShare(
        indicator,
        year,
        victims=_share(female.total, both, confidence),
        partner_family=_share(female_partner, partners, confidence),
    )


def victims_by_relationship(
    warehouse: Warehouse,
    area_id: str,
    *,
    source: str = "unodc_cts",
    threshold: int = 0,
    confidence: float = 0.95,
) -> VictimProfile:
    """An area's victims by sex and relationship to the perpetrator (see the module).

    Raises
    ------
    NotFoundError
        If the source has no rows for the area, or none of victims by relationship.
    """
    frame = aggregate_rows(warehouse, source, area_id=area_id)
    victims = victim_frame(frame)
    if victims.empty:
        raise NotFoundError(
            f"source {source!r} has no victims by sex and relationship to the perpetrator "
            f"for area {area_id!r}; the UN-CTS (unodc_cts) reports them for some countries"
        )
    rows, shares = relationship_rows(victims, threshold=threshold, confidence=confidence)
    names = frame["area_name"].dropna()
    return VictimProfile(
        source=source,
        area_id=area_id,
        area_name=str(names.iloc[0]) if len(names) else "",
        threshold=threshold,
        confidence=confidence,
        rows=rows,
        female_shares=shares,
    )


def victim_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The victim rows of an aggregate source's rows, as :func:`relationship_rows` reads them.

    The UN-CTS stores them with the label ``Indicator: Dimension: Category``
    and the category as the offence code.

    Examples
    --------
    >>> rows = pd.DataFrame({"offence_label": [
    ...     "Victims of sexual violence: by relationship to perpetrator: " + PARTNER_FAMILY,
    ...     "Violent offences: by type of offence: Serious assault"],
    ...     "offence_code": [PARTNER_FAMILY, "Serious assault"], "year": 2020,
    ...     "sex": "Female", "unit": "Counts", "value": [5.0, 9.0]})
    >>> victim_frame(rows)[["indicator", "category"]].values.tolist()
    [['Victims of sexual violence', 'Intimate partner or family member']]
    """
    labels = frame["offence_label"].fillna("")
    indicator = labels.str.split(": ").str[0]
    chosen = indicator.isin(list(INDICATORS)) & frame["offence_code"].isin(list(CATEGORIES))
    out = frame[chosen].assign(indicator=indicator[chosen], category=frame["offence_code"][chosen])
    keep = ["indicator", "category", "year", "sex", "unit", "value"]
    keep += [c for c in ("area_id", "area_name") if c in out]
    return out[keep].reset_index(drop=True)


def victim_areas(warehouse: Warehouse, source: str = "unodc_cts") -> list[str]:
    """The areas of an aggregate source that report victims by relationship to the perpetrator."""
    table = warehouse.table("aggregate")
    rows = table.filter(
        (table.source == source)
        & table.offence_code.isin(list(CATEGORIES))
        & table.offence_label.startswith("Victims of")
    )
    frame = warehouse.to_arrow(rows.select("area_id").distinct().order_by("area_id")).to_pandas()
    return [str(a) for a in frame["area_id"]]


def victims_json(profile: VictimProfile) -> dict[str, Any]:
    """A victim profile as JSON-ready data (None for withheld values)."""
    return {
        "source": profile.source,
        "area_id": profile.area_id,
        "area_name": profile.area_name,
        "threshold": profile.threshold,
        "confidence": profile.confidence,
        "categories": list(CATEGORIES),
        "rows": [asdict(row) for row in profile.rows],
        "female_shares": [asdict(share) for share in profile.female_shares],
    }


def victims_table(profile: VictimProfile) -> pd.DataFrame:
    """One line per indicator, year and sex: counts, total, rate and shares with intervals.

    Withheld values are missing (NaN); the ``flags`` column says why.
    """
    lines = []
    shares = {(s.indicator, s.year): s for s in profile.female_shares}
    for row in profile.rows:
        female = shares[(row.indicator, row.year)]
        line: dict[str, Any] = {
            "indicator": row.indicator,
            "year": row.year,
            "sex": row.sex,
            **{category: row.counts[category] for category in CATEGORIES},
            "total": row.total,
            "rate_per_100000": row.rate,
        }
        for name, share in (
            ("partner_family_share", row.partner_family),
            ("partner_family_share_known", row.partner_family_known),
            ("female_share", female.victims if row.sex == "Female" else None),
        ):
            line[name] = share.share if share else None
            line[f"{name}_low"] = share.ci_low if share else None
            line[f"{name}_high"] = share.ci_high if share else None
        line["flags"] = " | ".join(row.flags)
        lines.append(line)
    return pd.DataFrame(lines)


@dataclass(frozen=True)
class CountryVictims:
    """One area's latest shares for one victim indicator (see :func:`victims_overview`).

    `year` is the latest year whose female victims are complete and shown
    (None when no year is); `years` counts the years reported at all.
    """

    area_id: str
    area_name: str
    indicator: str
    year: int | None
    years: int
    partner_family_female: Proportion | None  # share partner/family among female victims
    partner_family_male: Proportion | None  # the same among male victims
    female_share: Proportion | None  # share female among all victims


def latest_shares(
    rows: list[VictimRow], shares: list[FemaleShare], *, area_id: str = "", area_name: str = ""
) -> list[CountryVictims]:
    """Per indicator, the shares of the latest year with complete female victims.

    Examples
    --------
    >>> frame = pd.DataFrame({"indicator": "Victims of sexual violence",
    ...     "year": [2019] * 4 + [2020], "sex": "Female",
    ...     "category": list(CATEGORIES) + [PARTNER_FAMILY], "unit": "Counts",
    ...     "value": [40.0, 30, 20, 10, 50]})
    >>> (latest,) = latest_shares(*relationship_rows(frame))
    >>> latest.year, latest.years, latest.partner_family_female.share
    (2019, 2, 0.4)
    """
    out = []
    female_share = {(s.indicator, s.year): s.victims for s in shares}
    for indicator in dict.fromkeys(row.indicator for row in rows):
        mine = [row for row in rows if row.indicator == indicator]
        complete = [r for r in mine if r.sex == "Female" and r.partner_family is not None]
        year = max((r.year for r in complete), default=None)
        by_sex = {r.sex: r for r in mine if r.year == year}
        out.append(
            CountryVictims(
                area_id=area_id,
                area_name=area_name,
                indicator=indicator,
                year=year,
                years=len({r.year for r in mine}),
                partner_family_female=(
                    by_sex["Female"].partner_family if year is not None else None
                ),
                partner_family_male=by_sex["Male"].partner_family if "Male" in by_sex else None,
                female_share=female_share.get((indicator, year)) if year is not None else None,
            )
        )
    return out


def victims_overview(
    warehouse: Warehouse,
    *,
    source: str = "unodc_cts",
    threshold: int = 0,
    confidence: float = 0.95,
) -> list[CountryVictims]:
    """Every area's latest shares by victim indicator, read in one pass over the source.

    Raises
    ------
    NotFoundError
        If the source has no victims by sex and relationship to the perpetrator.
    """
    frame = aggregate_rows(warehouse, source)
    victims = victim_frame(frame)
    if victims.empty:
        raise NotFoundError(
            f"source {source!r} has no victims by sex and relationship to the perpetrator; "
            "the UN-CTS (unodc_cts) reports them for some countries"
        )
    out: list[CountryVictims] = []
    for area_id, group in victims.groupby("area_id", sort=True):
        rows, shares = relationship_rows(group, threshold=threshold, confidence=confidence)
        names = group["area_name"].dropna()
        name = str(names.iloc[0]) if len(names) else ""
        out += latest_shares(rows, shares, area_id=str(area_id), area_name=name)
    return out


def overview_json(
    overview: list[CountryVictims], *, source: str, threshold: int, confidence: float
) -> dict[str, Any]:
    """:func:`victims_overview` as JSON-ready data."""
    return {
        "source": source,
        "threshold": threshold,
        "confidence": confidence,
        "areas": [asdict(item) for item in overview],
    }
