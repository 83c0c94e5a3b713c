"""Money: exact Decimal amounts with ISO 4217 currency codes.

Amounts are stored as integers of the currency's minor unit (cents, fils,
yen), so sums in SQL are exact on SQLite and PostgreSQL alike (SQLite has no
decimal type). :class:`Money` refuses amounts with more decimals than the
currency has, instead of rounding them silently.

Examples
--------
>>> price = Money.of("1250.50", "eur")
>>> price
Money(amount=Decimal('1250.50'), currency='EUR')
>>> price.minor
125050
>>> Money.from_minor(125050, "EUR") == price
True
>>> str(Money.of("1000", "JPY") + Money.of("5", "JPY"))
'1005 JPY'
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from crimeprev.assets._currencies import MINOR_UNITS
from crimeprev.errors import InvalidInputError


def currency_code(value: str) -> str:
    """Return the upper-case ISO 4217 code, refusing unknown ones.

    Examples
    --------
    >>> currency_code(" usd ")
    'USD'
    >>> currency_code("EURO")
    Traceback (most recent call last):
    ...
    crimeprev.errors.InvalidInputError: currency 'EURO' is not an ISO 4217 code (e.g. EUR, USD, KES)
    """
    code = str(value).strip().upper()
    if code not in MINOR_UNITS:
        raise InvalidInputError(
            f"currency {value!r} is not an ISO 4217 code (e.g. EUR, USD, KES)", currency=value
        )
    return code


def minor_units(currency: str) -> int:
    """Decimals of `currency` (2 for EUR, 0 for JPY, 3 for KWD).

    Examples
    --------
    >>> minor_units("KWD"), minor_units("JPY"), minor_units("EUR")
    (3, 0, 2)
    """
    return MINOR_UNITS[currency_code(currency)]


def parse_decimal(value: Any, *, field: str = "amount") -> Decimal:
    """Return `value` as a finite Decimal (floats go through their shortest repr).

    Examples
    --------
    >>> parse_decimal("12.30"), parse_decimal(0.1)
    (Decimal('12.30'), Decimal('0.1'))
    """
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInputError(
            f"{field} {value!r} is not a number; write it like 1250.50", field=field
        ) from None
    if not number.is_finite():
        raise InvalidInputError(f"{field} must be a finite number, got {value!r}", field=field)
    return number


@dataclass(frozen=True, order=False)
class Money:
    """An exact amount in one currency."""

    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Any, currency: str) -> Money:
        """Build from a number or string, refusing more decimals than the currency has."""
        code = currency_code(currency)
        number = parse_decimal(amount)
        places = MINOR_UNITS[code]
        exponent = number.as_tuple().exponent
        if (
            isinstance(exponent, int)
            and -exponent > places
            and number != number.quantize(Decimal(1).scaleb(-places))
        ):
            raise InvalidInputError(
                f"{number} {code} has more than {places} decimals, the minor unit of {code}",
                amount=str(number),
                currency=code,
            )
        return cls(number.quantize(Decimal(1).scaleb(-places)), code)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        """Build from an integer number of minor units."""
        code = currency_code(currency)
        return cls(Decimal(int(minor)).scaleb(-MINOR_UNITS[code]), code)

    @property
    def minor(self) -> int:
        """The amount in minor units (what the database stores)."""
        return int(self.amount.scaleb(MINOR_UNITS[self.currency]))

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise InvalidInputError(
                f"cannot combine {self.currency} and {other.currency}; convert first "
                "with an exchange rate"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def convert(self, rate: Decimal, currency: str) -> Money:
        """Convert at `rate` (units of `currency` per unit of this one), rounding half-even.

        Examples
        --------
        >>> Money.of("100.00", "USD").convert(Decimal("0.9215"), "EUR")
        Money(amount=Decimal('92.15'), currency='EUR')
        """
        code = currency_code(currency)
        step = Decimal(1).scaleb(-MINOR_UNITS[code])
        return Money((self.amount * rate).quantize(step, rounding=ROUND_HALF_EVEN), code)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def to_json(self) -> dict[str, str]:
        """``{"amount": "1250.50", "currency": "EUR"}`` (amounts as strings: exact)."""
        return {"amount": str(self.amount), "currency": self.currency}
