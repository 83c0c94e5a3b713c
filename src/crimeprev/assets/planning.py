"""Pre-seizure planning: is the asset worth taking, and how?

Before a freezing or seizure order, the draft UNCAC guidelines (area A) ask
authorities to weigh what keeping an asset will cost against what it will be
worth when the case ends. This module compares three courses over the expected
time to judgment, with the figures behind each:

* **seize and manage**: the State keeps the asset; it depreciates at
  ``annual_depreciation`` and costs ``monthly_cost`` to keep; at judgment it is
  sold, losing ``sale_cost_rate`` of its value;
* **freeze with restrictions on use**: the owner keeps it under a court order
  (no management cost to the State), but it may be dissipated or run down, a
  risk of ``dissipation_risk``;
* **sell early** (interim sale): sell now, losing ``sale_cost_rate``; the
  proceeds earn ``interest_rate`` a year until judgment.

Expected value held = V0 (1 - d)^(T/12); costs = c T. The recommendation is
the course with the highest expected net value; ``worth_pursuing`` is false when
even that is not positive. All amounts are exact Decimals in one currency.

Examples
--------
>>> plan = plan_seizure(
...     value=Money.of("10000", "EUR"), annual_depreciation=Decimal("0.20"),
...     monthly_cost=Money.of("100", "EUR"), months_to_judgment=24,
...     sale_cost_rate=Decimal("0.10"), dissipation_risk=Decimal("0.30"))
>>> plan.recommendation
'sell_early'
>>> str(plan.seize.net), str(plan.freeze.net), str(plan.sell_early.net)
('3360.00 EUR', '4032.00 EUR', '9000.00 EUR')
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from crimeprev.assets.money import Money
from crimeprev.errors import InvalidInputError

#: Courses of action, in the order they are compared (ties go to the earlier one).
COURSES = ("seize", "freeze_with_restrictions", "sell_early")


@dataclass(frozen=True)
class Course:
    """Expected figures of one course of action.

    Attributes
    ----------
    value_at_judgment : Money
        Expected value of what the State holds (asset or proceeds) at judgment.
    costs : Money
        Management cost to the State until judgment.
    sale_costs : Money
        Lost in selling (fees, discount).
    net : Money
        value_at_judgment - costs - sale_costs, after dissipation risk for a freeze.
    """

    value_at_judgment: Money
    costs: Money
    sale_costs: Money
    net: Money


@dataclass(frozen=True)
class SeizurePlan:
    """The three courses and the recommendation."""

    seize: Course
    freeze: Course
    sell_early: Course
    recommendation: str
    worth_pursuing: bool
    reason: str


def _fraction(value: Decimal, name: str) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise InvalidInputError(f"{name} must be between 0 and 1, got {value}", field=name)
    return value


def plan_seizure(
    *,
    value: Money,
    annual_depreciation: Decimal,
    monthly_cost: Money,
    months_to_judgment: int,
    sale_cost_rate: Decimal = Decimal("0.10"),
    dissipation_risk: Decimal = Decimal("0.25"),
    interest_rate: Decimal = Decimal(0),
) -> SeizurePlan:
    """Compare seizing, freezing with restrictions and selling early.

    Parameters
    ----------
    value : Money
        Current market value.
    annual_depreciation : Decimal
        Fraction of value lost per year (0.15 for a typical car).
    monthly_cost : Money
        Storage, maintenance, insurance and fees per month if the State keeps it.
    months_to_judgment : int
        Expected months until the final confiscation decision (> 0).
    sale_cost_rate : Decimal, default=0.10
        Fraction of the price lost in a sale (auction fees, discount).
    dissipation_risk : Decimal, default=0.25
        Probability that an asset left with the owner is lost or run down.
    interest_rate : Decimal, default=0
        Annual interest on proceeds of an early sale held in an account.

    Returns
    -------
    SeizurePlan

    Raises
    ------
    InvalidInputError
        For negative values, fractions outside [0, 1], months <= 0, or mixed currencies.
    """
    if value.currency != monthly_cost.currency:
        raise InvalidInputError(
            f"value is in {value.currency} but monthly_cost in {monthly_cost.currency}; "
            "give both in one currency"
        )
    if value.amount < 0 or monthly_cost.amount < 0:
        raise InvalidInputError("value and monthly_cost must not be negative")
    if months_to_judgment <= 0:
        raise InvalidInputError(
            f"months_to_judgment must be > 0, got {months_to_judgment}", field="months"
        )
    depreciation = _fraction(annual_depreciation, "annual_depreciation")
    sale_rate = _fraction(sale_cost_rate, "sale_cost_rate")
    risk = _fraction(dissipation_risk, "dissipation_risk")
    if interest_rate < 0:
        raise InvalidInputError(f"interest_rate must be >= 0, got {interest_rate}")
    currency = value.currency
    years = Decimal(months_to_judgment) / Decimal(12)

    def money(amount: Decimal) -> Money:
        # round to the currency's minor unit (half-even), as every stored amount is
        return Money(amount, currency).convert(Decimal(1), currency)

    held = value.amount * (Decimal(1) - depreciation) ** years
    costs = monthly_cost.amount * months_to_judgment
    seize_sale = held * sale_rate
    seize = Course(money(held), money(costs), money(seize_sale), money(held - costs - seize_sale))
    freeze_value = held * (Decimal(1) - risk)
    freeze_sale = freeze_value * sale_rate
    freeze = Course(
        money(freeze_value),
        money(Decimal(0)),
        money(freeze_sale),
        money(freeze_value - freeze_sale),
    )
    early_sale = value.amount * sale_rate
    proceeds = (value.amount - early_sale) * (Decimal(1) + interest_rate) ** years
    sell = Course(money(proceeds), money(Decimal(0)), money(early_sale), money(proceeds))
    options = {"seize": seize, "freeze_with_restrictions": freeze, "sell_early": sell}
    best = max(COURSES, key=lambda name: (options[name].net.amount, -COURSES.index(name)))
    worth = options[best].net.amount > 0
    reason = (
        f"{best.replace('_', ' ')} keeps the most value at judgment "
        f"({options[best].net}) against seize {seize.net}, freeze {freeze.net}, "
        f"sell early {sell.net}"
    )
    if not worth:
        reason = (
            f"no course keeps positive value (best: {options[best].net}); consider a "
            "value-based order instead of taking the asset"
        )
    return SeizurePlan(seize, freeze, sell, best, worth, reason)
