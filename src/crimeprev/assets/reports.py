"""Registry reports: per year, agency, asset category and stage, with values; CSV export.

For every asset that entered ``frozen``, ``seized``, ``confiscated`` or
``disposed`` in a year: the count and the value at that moment (the latest
valuation on or before the event's date; for ``disposed``, the amount
realised), converted to a base currency at the rate of the event's date when
one is asked for. Also: management costs against proceeds (the self-funding
ratio) and assets held longer than a threshold. Scoped like every read: users
see their agency's and shared cases, auditors and administrators all.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crimeprev.assets import rates
from crimeprev.assets.access import visible_cases
from crimeprev.assets.lifecycle import HELD, State
from crimeprev.assets.models import (
    Asset,
    AssetEvent,
    Case,
    CaseOffence,
    ManagementCost,
    Valuation,
)
from crimeprev.assets.money import Money
from crimeprev.db.accounts import Principal
from crimeprev.db.base import utcnow
from crimeprev.db.models import Agency
from crimeprev.standards import iccs

STAGES = (State.FROZEN, State.SEIZED, State.CONFISCATED, State.DISPOSED)


@dataclass(frozen=True)
class ReportRow:
    """Assets of one agency and category entering one stage in one year."""

    year: int
    agency: str
    category: str
    stage: str
    count: int
    value: tuple[Money, ...]


def _value_on(session: Session, asset_id: int, on: date) -> Money | None:
    row = session.execute(
        select(Valuation.amount_minor, Valuation.currency)
        .where(Valuation.asset_id == asset_id, Valuation.valued_on <= on)
        .order_by(Valuation.valued_on.desc(), Valuation.id.desc())
        .limit(1)
    ).first()
    return Money.from_minor(row[0], row[1]) if row else None


def annual_report(
    session: Session, principal: Principal, *, base_currency: str | None = None
) -> list[ReportRow]:
    """Counts and values per year, agency, category and stage (see the module docstring).

    Raises
    ------
    NotFoundError
        If `base_currency` is given and a needed exchange rate is missing.
    """
    events = session.execute(
        select(
            AssetEvent.asset_id,
            AssetEvent.to_state,
            AssetEvent.occurred_on,
            Asset.category,
            Asset.realised_minor,
            Asset.realised_currency,
            Agency.code,
        )
        .join(Asset, Asset.id == AssetEvent.asset_id)
        .join(Case, Case.id == Asset.case_id)
        .join(Agency, Agency.id == Case.agency_id)
        .where(visible_cases(principal), AssetEvent.to_state.in_([s.value for s in STAGES]))
        .order_by(AssetEvent.occurred_on)
    ).all()
    counts: dict[tuple[int, str, str, str], int] = defaultdict(int)
    values: dict[tuple[int, str, str, str], dict[str, Decimal]] = defaultdict(
        lambda: defaultdict(Decimal)
    )
    for asset_id, stage, occurred, category, realised, currency, agency in events:
        key = (occurred.year, agency, category, stage)
        counts[key] += 1
        if stage == State.DISPOSED.value and realised is not None and currency:
            amount: Money | None = Money.from_minor(realised, currency)
        else:
            amount = _value_on(session, asset_id, occurred)
        if amount is None:
            continue
        if base_currency:
            amount = rates.convert(session, amount, base_currency, occurred).converted
        values[key][amount.currency] += amount.amount
    return [
        ReportRow(
            *key,
            counts[key],
            tuple(Money(total, c) for c, total in sorted(values[key].items())),
        )
        for key in sorted(counts)
    ]


def to_csv(rows: list[ReportRow]) -> str:
    """The report as CSV: one line per row and currency (``value`` empty when unvalued).

    Examples
    --------
    >>> print(to_csv([ReportRow(2025, "AMO", "vehicle", "seized", 2,
    ...                         (Money.of("30000", "EUR"),))]), end="")
    year,agency,category,stage,count,value,currency
    2025,AMO,vehicle,seized,2,30000.00,EUR
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["year", "agency", "category", "stage", "count", "value", "currency"])
    for row in rows:
        for money in row.value or (None,):
            writer.writerow(
                [
                    row.year,
                    row.agency,
                    row.category,
                    row.stage,
                    row.count,
                    str(money.amount) if money else "",
                    money.currency if money else "",
                ]
            )
    return buffer.getvalue()


@dataclass(frozen=True)
class SelfFunding:
    """Management costs against proceeds realised, in one currency."""

    currency: str
    costs: Money
    proceeds: Money
    ratio: Decimal | None


def self_funding(session: Session, principal: Principal) -> list[SelfFunding]:
    """Proceeds / management costs per currency (``None`` when there are no costs)."""
    costs: dict[str, int] = defaultdict(int)
    proceeds: dict[str, int] = defaultdict(int)
    for minor, currency in session.execute(
        select(ManagementCost.amount_minor, ManagementCost.currency)
        .join(Asset, Asset.id == ManagementCost.asset_id)
        .join(Case, Case.id == Asset.case_id)
        .where(visible_cases(principal))
    ).all():
        costs[currency] += int(minor)
    for realised, realised_currency in session.execute(
        select(Asset.realised_minor, Asset.realised_currency)
        .join(Case, Case.id == Asset.case_id)
        .where(visible_cases(principal), Asset.realised_minor.is_not(None))
    ).all():
        if realised is not None and realised_currency:
            proceeds[realised_currency] += int(realised)
    result = []
    for currency in sorted(set(costs) | set(proceeds)):
        spent, earned = costs[currency], proceeds[currency]
        ratio = (Decimal(earned) / Decimal(spent)).quantize(Decimal("0.01")) if spent else None
        result.append(
            SelfFunding(
                currency,
                Money.from_minor(spent, currency),
                Money.from_minor(earned, currency),
                ratio,
            )
        )
    return result


def held_longer_than(
    session: Session, principal: Principal, *, days: int, today: date
) -> list[Asset]:
    """Assets frozen, seized or under management for more than `days` days."""
    limit = date.fromordinal(today.toordinal() - days)
    statement = (
        select(Asset)
        .join(Case, Case.id == Asset.case_id)
        .where(
            visible_cases(principal),
            Asset.state.in_([s.value for s in HELD]),
            Asset.state_since < limit,
        )
        .order_by(Asset.state_since)
    )
    return list(session.execute(statement).unique().scalars())


def to_xlsx(
    rows: list[ReportRow],
    funding: list[SelfFunding],
    *,
    base_currency: str | None,
    prepared_for: str,
    projects: list[dict[str, Any]] | None = None,
    timing: list[DisposalTiming] | None = None,
    returned: list[ReturnRow] | None = None,
    offences: list[OffenceRow] | None = None,
) -> bytes:
    """The report as an XLSX workbook: the annual table, the self-funding table and a notes sheet.

    Amounts are written as numbers (exact decimals) with their currency in the
    next column, so a spreadsheet can sum them per currency; one line per row
    and currency, as in :func:`to_csv`.

    Examples
    --------
    >>> from openpyxl import load_workbook
    >>> content = to_xlsx([ReportRow(2025, "AMO", "vehicle", "seized", 2,
    ...                              (Money.of("30000", "EUR"),))], [],
    ...                   base_currency=None, prepared_for="ana")
    >>> book = load_workbook(io.BytesIO(content))
    >>> book.sheetnames  # doctest: +NORMALIZE_WHITESPACE
    ['annual', 'self-funding', 'social reuse', 'time to disposal', 'returns', 'by offence',
     'notes']
    >>> [cell.value for cell in book["annual"][2]]
    [2025, 'AMO', 'vehicle', 'seized', 2, 30000, 'EUR']
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    annual = book.active
    assert annual is not None
    annual.title = "annual"
    annual.append(["year", "agency", "category", "stage", "count", "value", "currency"])
    for row in rows:
        for money in row.value or (None,):
            annual.append(
                [
                    row.year,
                    row.agency,
                    row.category,
                    row.stage,
                    row.count,
                    money.amount if money else None,
                    money.currency if money else None,
                ]
            )
    funding_sheet = book.create_sheet("self-funding")
    funding_sheet.append(["currency", "proceeds", "management costs", "proceeds / costs"])
    for item in funding:
        funding_sheet.append([item.currency, item.proceeds.amount, item.costs.amount, item.ratio])
    reuse = book.create_sheet("social reuse")
    reuse.append(
        [
            "project",
            "asset",
            "agency",
            "beneficiary",
            "started on",
            "last report",
            "status",
            "monitoring overdue",
            "allocated",
        ]
    )
    for project in projects or []:
        reuse.append(
            [
                project["name"],
                project.get("asset"),
                project.get("agency"),
                project["beneficiary"],
                project["started_on"],
                project["last_report_on"],
                project["status"],
                "yes" if project["monitoring_overdue"] else "no",
                ", ".join(f"{m['amount']} {m['currency']}" for m in project["allocated"]),
            ]
        )
    timing_sheet = book.create_sheet("time to disposal")
    timing_sheet.append(["year disposed", "category", "assets", "median days", "max days"])
    for held in timing or []:
        timing_sheet.append([held.year, held.category, held.count, held.median_days, held.max_days])
    returns_sheet = book.create_sheet("returns")
    returns_sheet.append(["year", "disposal", "assets", "realised", "currency"])
    for back in returned or []:
        for money in back.realised or (None,):
            returns_sheet.append(
                [
                    back.year,
                    back.disposal,
                    back.count,
                    money.amount if money else None,
                    money.currency if money else None,
                ]
            )
    offence_sheet = book.create_sheet("by offence")
    offence_sheet.append(["year", "ICCS section", "stage", "assets"])
    for section in offences or []:
        offence_sheet.append([section.year, section.iccs_section, section.stage, section.count])
    notes = book.create_sheet("notes")
    for line in (
        ("report", "assets entering each stage per year, agency and category"),
        ("prepared for", prepared_for),
        ("prepared at (UTC)", utcnow().strftime("%Y-%m-%d %H:%M")),
        ("values", f"in {base_currency} at each event's rate" if base_currency else "as recorded"),
        ("value of a stage", "latest valuation on or before the event; disposed: amount realised"),
        ("scope", "cases visible to the user (own agency and shared; auditors see all)"),
    ):
        notes.append(list(line))
    for sheet in (annual, funding_sheet, reuse, timing_sheet, returns_sheet, offence_sheet):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for column in sheet.columns:
            letter = column[0].column_letter
            sheet.column_dimensions[letter].width = 16
    for cell in funding_sheet["B"][1:] + funding_sheet["C"][1:]:
        cell.number_format = "#,##0.00"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def charts(rows: list[ReportRow]) -> list[dict[str, object]]:
    """Vega-Lite specifications for the reports page: assets per year and stage, and their
    value when every value is in one currency (ask for a base currency to get it otherwise).

    Examples
    --------
    >>> specs = charts([ReportRow(2025, "AMO", "vehicle", "seized", 2, (Money.of("5", "EUR"),))])
    >>> [spec["title"] for spec in specs]
    ['Assets entering each stage, per year', 'Value entering each stage, per year (EUR)']
    >>> specs[0]["data"]["values"]
    [{'year': '2025', 'stage': 'seized', 'count': 2}]
    """
    counts: dict[tuple[int, str], int] = defaultdict(int)
    values: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    currencies = {money.currency for row in rows for money in row.value}
    for row in rows:
        counts[(row.year, row.stage)] += row.count
        for money in row.value:
            values[(row.year, row.stage)] += money.amount
    order = [stage.value for stage in STAGES]

    def spec(title: str, field: str, data: list[dict[str, object]]) -> dict[str, object]:
        return {
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "title": title,
            "width": "container",
            "height": 220,
            "data": {"values": data},
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "year", "type": "ordinal", "title": "year"},
                "xOffset": {"field": "stage", "sort": order},
                "y": {"field": field, "type": "quantitative", "title": field},
                "color": {"field": "stage", "type": "nominal", "sort": order},
            },
        }

    result = [
        spec(
            "Assets entering each stage, per year",
            "count",
            [{"year": str(y), "stage": s, "count": n} for (y, s), n in sorted(counts.items())],
        )
    ]
    if len(currencies) == 1:
        currency = next(iter(currencies))
        result.append(
            spec(
                f"Value entering each stage, per year ({currency})",
                "value",
                [
                    {"year": str(y), "stage": s, "value": float(v)}
                    for (y, s), v in sorted(values.items())
                ],
            )
        )
    return result


#: Disposals that return assets or their value to victims or to other States.
RETURN_DISPOSALS = ("returned_to_victims", "returned_to_requesting_state", "shared_with_state")


@dataclass(frozen=True)
class DisposalTiming:
    """How long assets disposed of in one year and category were held, from seizure or freezing."""

    year: int
    category: str
    count: int
    median_days: Decimal
    max_days: int


def _median(values: list[int]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[middle])
    return (Decimal(ordered[middle - 1]) + Decimal(ordered[middle])) / 2


def time_to_disposal(session: Session, principal: Principal) -> list[DisposalTiming]:
    """Days from an asset's first freezing or seizure to its disposal, per year and category.

    Assets disposed of without ever being frozen or seized (not possible in the
    lifecycle today) would be left out rather than timed from identification.

    Examples
    --------
    >>> _median([10, 30, 20]), _median([10, 20, 30, 40])
    (Decimal('20'), Decimal('25'))
    """
    rows = session.execute(
        select(AssetEvent.asset_id, AssetEvent.to_state, AssetEvent.occurred_on, Asset.category)
        .join(Asset, Asset.id == AssetEvent.asset_id)
        .join(Case, Case.id == Asset.case_id)
        .where(
            visible_cases(principal),
            AssetEvent.to_state.in_([State.FROZEN.value, State.SEIZED.value, State.DISPOSED.value]),
        )
        .order_by(AssetEvent.asset_id, AssetEvent.occurred_on, AssetEvent.id)
    ).all()
    held_from: dict[int, date] = {}
    days: dict[tuple[int, str], list[int]] = defaultdict(list)
    for asset_id, state, occurred, category in rows:
        if state == State.DISPOSED.value:
            if asset_id in held_from:
                days[(occurred.year, category)].append((occurred - held_from[asset_id]).days)
        else:
            held_from.setdefault(asset_id, occurred)
    return [
        DisposalTiming(year, category, len(values), _median(values), max(values))
        for (year, category), values in sorted(days.items())
    ]


@dataclass(frozen=True)
class ReturnRow:
    """Assets returned to victims or to other States (or shared with them) in one year."""

    year: int
    disposal: str
    count: int
    realised: tuple[Money, ...]


def returns(session: Session, principal: Principal) -> list[ReturnRow]:
    """Disposals by return to victims, to the requesting State or sharing, per year."""
    rows = session.execute(
        select(
            AssetEvent.occurred_on,
            Asset.disposal,
            Asset.realised_minor,
            Asset.realised_currency,
        )
        .join(Asset, Asset.id == AssetEvent.asset_id)
        .join(Case, Case.id == Asset.case_id)
        .where(
            visible_cases(principal),
            AssetEvent.to_state == State.DISPOSED.value,
            Asset.disposal.in_(RETURN_DISPOSALS),
        )
    ).all()
    counts: dict[tuple[int, str], int] = defaultdict(int)
    values: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for occurred, disposal, minor, currency in rows:
        key = (occurred.year, str(disposal))
        counts[key] += 1
        if minor is not None and currency:
            values[key][currency] += int(minor)
    return [
        ReturnRow(
            *key,
            counts[key],
            tuple(Money.from_minor(m, c) for c, m in sorted(values[key].items())),
        )
        for key in sorted(counts)
    ]


@dataclass(frozen=True)
class OffenceRow:
    """Assets entering a stage in a year, in cases with an offence of one ICCS section."""

    year: int
    iccs_section: str
    stage: str
    count: int


def by_offence(session: Session, principal: Principal) -> list[OffenceRow]:
    """Assets entering each stage per year and ICCS section (level 1) of their case's offences.

    An asset whose case lists offences in two sections counts once in each, so
    the sections do not add up to the total; a case without offences is left out.
    """
    rows = session.execute(
        select(
            AssetEvent.asset_id, AssetEvent.to_state, AssetEvent.occurred_on, CaseOffence.iccs_code
        )
        .join(Asset, Asset.id == AssetEvent.asset_id)
        .join(Case, Case.id == Asset.case_id)
        .join(CaseOffence, CaseOffence.case_id == Case.id)
        .where(visible_cases(principal), AssetEvent.to_state.in_([s.value for s in STAGES]))
    ).all()
    seen: set[tuple[int, str, int, str]] = set()
    counts: dict[tuple[int, str, str], int] = defaultdict(int)
    for asset_id, stage, occurred, code in rows:
        section = iccs.roll_up(code, 1)
        mark = (occurred.year, section, asset_id, stage)
        if mark not in seen:
            seen.add(mark)
            counts[(occurred.year, section, stage)] += 1
    return [OffenceRow(*key, count) for key, count in sorted(counts.items())]
