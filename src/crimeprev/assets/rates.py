"""Exchange rates by date, for reports in one base currency.

A rate says how many units of ``base`` one unit of ``currency`` buys on a date
(e.g. USD -> EUR 0.9215 on 2025-03-03). Conversions use the latest rate on or
before the date asked for, and say which rate they used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from crimeprev.assets.access import VALUE_WRITERS, require
from crimeprev.assets.models import ExchangeRate
from crimeprev.assets.money import Money, currency_code, parse_decimal
from crimeprev.db.accounts import Principal
from crimeprev.db.audit import record_audit
from crimeprev.errors import ConflictError, InvalidInputError, NotFoundError


def add_rate(
    session: Session,
    principal: Principal,
    *,
    currency: str,
    base: str,
    on_date: date,
    rate: Decimal | str,
    source: str = "",
) -> ExchangeRate:
    """Record a rate (units of `base` per unit of `currency`) for a date."""
    require(principal, VALUE_WRITERS, "recording an exchange rate")
    currency, base = currency_code(currency), currency_code(base)
    if currency == base:
        raise InvalidInputError(f"a rate needs two different currencies, got {currency} twice")
    value = parse_decimal(rate, field="rate")
    if value <= 0:
        raise InvalidInputError(f"rate must be > 0, got {value}", field="rate")
    existing = session.execute(
        select(ExchangeRate.id).where(
            ExchangeRate.currency == currency,
            ExchangeRate.base == base,
            ExchangeRate.on_date == on_date,
        )
    ).first()
    if existing:
        raise ConflictError(f"a {currency}->{base} rate for {on_date.isoformat()} exists")
    row = ExchangeRate(
        currency=currency, base=base, on_date=on_date, rate=str(value), source=source.strip()
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        principal,
        "create",
        "exchange_rate",
        row.id,
        None,
        {
            "currency": currency,
            "base": base,
            "on_date": on_date.isoformat(),
            "rate": str(value),
            "source": row.source,
        },
    )
    return row


@dataclass(frozen=True)
class Conversion:
    """A converted amount and the rate used."""

    original: Money
    converted: Money
    rate: Decimal
    rate_date: date | None


def convert(session: Session, amount: Money, base: str, on_date: date) -> Conversion:
    """Convert `amount` into `base` at the latest rate on or before `on_date`.

    Raises
    ------
    NotFoundError
        If no rate (direct or inverse) exists on or before that date.
    """
    base = currency_code(base)
    if amount.currency == base:
        return Conversion(amount, amount, Decimal(1), None)
    for currency, target, invert in ((amount.currency, base, False), (base, amount.currency, True)):
        row = session.execute(
            select(ExchangeRate)
            .where(
                ExchangeRate.currency == currency,
                ExchangeRate.base == target,
                ExchangeRate.on_date <= on_date,
            )
            .order_by(ExchangeRate.on_date.desc())
            .limit(1)
        ).scalar()
        if row is not None:
            rate = Decimal(row.rate)
            if invert:
                rate = Decimal(1) / rate
            return Conversion(amount, amount.convert(rate, base), rate, row.on_date)
    raise NotFoundError(
        f"no {amount.currency}->{base} exchange rate on or before {on_date.isoformat()}; "
        "record one with `crimeprev assets add-rate`"
    )


def list_rates(session: Session) -> list[ExchangeRate]:
    """Every rate, newest first."""
    statement = select(ExchangeRate).order_by(
        ExchangeRate.on_date.desc(), ExchangeRate.currency, ExchangeRate.base
    )
    return list(session.execute(statement).scalars())
