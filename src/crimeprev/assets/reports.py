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
from crimeprev.assets.models import Asset, AssetEvent, Case, ManagementCost, Valuation
from crimeprev.assets.money import Money
from crimeprev.db.accounts import Principal
from crimeprev.db.base import utcnow
from crimeprev.db.models import Agency

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
    >>> book.sheetnames
    ['annual', 'self-funding', 'social reuse', 'notes']
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
    for sheet in (annual, funding_sheet, reuse):
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
