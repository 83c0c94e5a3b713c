"""The fund ledger: double-entry bookkeeping of receipts and allocations.

Receipts (proceeds of sales, confiscated cash) debit the fund's cash account
and credit a receipts account; allocations (victims' compensation, social-reuse
projects, the asset recovery office, the treasury, returns to other States)
debit an allocation account and credit cash. Every entry's postings sum to
zero in each currency, so the whole ledger always sums to zero, and the cash
balance equals receipts minus allocations; :func:`reconcile` checks both.
An allocation larger than the cash available in that currency is refused.

Amounts are integer minor units (see :mod:`crimeprev.assets.money`).

Examples
--------
>>> postings = [("fund_cash", 1000, "EUR"), ("receipts_sales", -1000, "EUR")]
>>> check_balanced(postings)
>>> check_balanced([("fund_cash", 1000, "EUR"), ("receipts_sales", -900, "EUR")])
Traceback (most recent call last):
...
crimeprev.errors.InvalidInputError: postings must sum to zero in each currency; EUR sums to 100
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crimeprev.assets.access import FUND_WRITERS, SEE_ALL, require
from crimeprev.assets.models import LedgerEntry, LedgerPosting
from crimeprev.assets.money import Money
from crimeprev.db.accounts import Principal
from crimeprev.db.audit import lock_audit_chain, record_audit
from crimeprev.db.base import utcnow
from crimeprev.db.models import Role
from crimeprev.errors import ConflictError, InvalidInputError


class Account(StrEnum):
    """Accounts of the fund."""

    FUND_CASH = "fund_cash"
    RECEIPTS_SALES = "receipts_sales"
    RECEIPTS_CONFISCATED_CASH = "receipts_confiscated_cash"
    ALLOCATION_VICTIMS = "allocation_victims"
    ALLOCATION_SOCIAL_REUSE = "allocation_social_reuse"
    ALLOCATION_RECOVERY_OFFICE = "allocation_recovery_office"
    ALLOCATION_TREASURY = "allocation_treasury"
    ALLOCATION_FOREIGN_STATES = "allocation_foreign_states"


#: Receipt sources and the account each credits.
RECEIPTS: dict[str, Account] = {
    "sale": Account.RECEIPTS_SALES,
    "confiscated_cash": Account.RECEIPTS_CONFISCATED_CASH,
}
#: Allocation purposes and the account each debits.
ALLOCATIONS: dict[str, Account] = {
    "victims": Account.ALLOCATION_VICTIMS,
    "social_reuse": Account.ALLOCATION_SOCIAL_REUSE,
    "recovery_office": Account.ALLOCATION_RECOVERY_OFFICE,
    "treasury": Account.ALLOCATION_TREASURY,
    "foreign_states": Account.ALLOCATION_FOREIGN_STATES,
}


def check_balanced(postings: Iterable[tuple[str, int, str]]) -> None:
    """Refuse postings (account, minor amount, currency) that do not sum to zero per currency."""
    totals: dict[str, int] = defaultdict(int)
    for _, amount, currency in postings:
        totals[currency] += amount
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        listed = ", ".join(f"{c} sums to {t}" for c, t in sorted(unbalanced.items()))
        raise InvalidInputError(f"postings must sum to zero in each currency; {listed}")


def _post(
    session: Session,
    principal: Principal,
    *,
    posted_on: date,
    description: str,
    postings: list[tuple[Account, int, str]],
    asset_id: int | None = None,
    project: str = "",
) -> LedgerEntry:
    check_balanced(postings)
    if not description.strip():
        raise InvalidInputError("a fund entry needs a description")
    if posted_on > utcnow().date():
        raise InvalidInputError(f"posted_on {posted_on.isoformat()} is in the future")
    entry = LedgerEntry(
        posted_on=posted_on,
        description=description.strip()[:300],
        asset_id=asset_id,
        project=project.strip()[:200],
        actor=principal.username,
        created_at=utcnow(),
        postings=[
            LedgerPosting(account=account.value, amount_minor=amount, currency=currency)
            for account, amount, currency in postings
        ],
    )
    session.add(entry)
    session.flush()
    record_audit(session, principal, "post", "fund_entry", entry.id, None, entry_json(entry))
    return entry


def entry_json(entry: LedgerEntry) -> dict[str, object]:
    """An entry as JSON-ready data (amounts as exact decimal strings)."""
    return {
        "id": entry.id,
        "posted_on": entry.posted_on.isoformat(),
        "description": entry.description,
        "asset_id": entry.asset_id,
        "project": entry.project,
        "actor": entry.actor,
        "postings": [
            {"account": p.account, **Money.from_minor(p.amount_minor, p.currency).to_json()}
            for p in entry.postings
        ],
    }


def record_receipt(
    session: Session,
    principal: Principal,
    *,
    amount: Money,
    source: str,
    posted_on: date,
    description: str,
    asset_id: int | None = None,
    check_role: bool = True,
) -> LedgerEntry:
    """Book money received into the fund (debit cash, credit the receipts account)."""
    if check_role:
        require(principal, FUND_WRITERS, "booking a receipt")
    if source not in RECEIPTS:
        raise InvalidInputError(
            f"receipt source {source!r} is unknown; expected one of {', '.join(RECEIPTS)}"
        )
    if amount.minor <= 0:
        raise InvalidInputError(f"a receipt must be positive, got {amount}")
    return _post(
        session,
        principal,
        posted_on=posted_on,
        description=description,
        asset_id=asset_id,
        postings=[
            (Account.FUND_CASH, amount.minor, amount.currency),
            (RECEIPTS[source], -amount.minor, amount.currency),
        ],
    )


def allocate(
    session: Session,
    principal: Principal,
    *,
    amount: Money,
    purpose: str,
    posted_on: date,
    description: str,
    project: str = "",
) -> LedgerEntry:
    """Pay out of the fund (debit the allocation account, credit cash).

    Raises
    ------
    ConflictError
        If the fund holds less than `amount` in that currency.
    """
    require(principal, FUND_WRITERS, "allocating from the fund")
    if purpose not in ALLOCATIONS:
        raise InvalidInputError(
            f"allocation purpose {purpose!r} is unknown; expected one of {', '.join(ALLOCATIONS)}"
        )
    if amount.minor <= 0:
        raise InvalidInputError(f"an allocation must be positive, got {amount}")
    if purpose == "social_reuse" and not project.strip():
        raise InvalidInputError("name the social-reuse project the money goes to (project)")
    lock_audit_chain(session)  # no other writer between the balance check and the posting
    available = cash_balance(session, amount.currency)
    if available.minor < amount.minor:
        raise ConflictError(
            f"the fund holds {available} but {amount} was requested; book receipts first "
            "or allocate less",
            available=str(available.amount),
            requested=str(amount.amount),
            currency=amount.currency,
        )
    return _post(
        session,
        principal,
        posted_on=posted_on,
        description=description,
        project=project,
        postings=[
            (ALLOCATIONS[purpose], amount.minor, amount.currency),
            (Account.FUND_CASH, -amount.minor, amount.currency),
        ],
    )


def cash_balance(session: Session, currency: str) -> Money:
    """Cash the fund holds in `currency`."""
    total = session.execute(
        select(func.coalesce(func.sum(LedgerPosting.amount_minor), 0)).where(
            LedgerPosting.account == Account.FUND_CASH.value,
            LedgerPosting.currency == currency,
        )
    ).scalar_one()
    return Money.from_minor(int(total), currency)


@dataclass(frozen=True)
class Balance:
    """Balance of one account in one currency (debits positive)."""

    account: str
    currency: str
    balance: Money


@dataclass(frozen=True)
class Reconciliation:
    """Whether the ledger balances.

    Attributes
    ----------
    balances : list of Balance
    totals : dict
        Sum of every posting per currency (must be zero).
    cash_matches : bool
        Whether, per currency, cash = receipts - allocations.
    balanced : bool
        Whether every total is zero and cash matches.
    """

    balances: list[Balance]
    totals: dict[str, Money]
    cash_matches: bool
    balanced: bool


def reconcile(session: Session, principal: Principal | None = None) -> Reconciliation:
    """Trial balance of the fund and the two checks that it reconciles."""
    if principal is not None:
        require(principal, FUND_WRITERS | SEE_ALL | {Role.PROSECUTOR}, "reading the fund")
    rows = session.execute(
        select(
            LedgerPosting.account,
            LedgerPosting.currency,
            func.sum(LedgerPosting.amount_minor),
        )
        .group_by(LedgerPosting.account, LedgerPosting.currency)
        .order_by(LedgerPosting.currency, LedgerPosting.account)
    ).all()
    balances = [Balance(a, c, Money.from_minor(int(t), c)) for a, c, t in rows]
    totals: dict[str, int] = defaultdict(int)
    cash: dict[str, int] = defaultdict(int)
    flows: dict[str, int] = defaultdict(int)
    for account, currency, total in rows:
        totals[currency] += int(total)
        if account == Account.FUND_CASH.value:
            cash[currency] += int(total)
        else:
            # receipts are credits (negative), allocations debits (positive)
            flows[currency] -= int(total)
    cash_matches = all(cash[c] == flows[c] for c in set(cash) | set(flows))
    money_totals = {c: Money.from_minor(t, c) for c, t in totals.items()}
    return Reconciliation(
        balances=balances,
        totals=money_totals,
        cash_matches=cash_matches,
        balanced=cash_matches and all(t == 0 for t in totals.values()),
    )


def list_entries(session: Session, *, limit: int = 200) -> list[LedgerEntry]:
    """Entries, newest first."""
    statement = select(LedgerEntry).order_by(LedgerEntry.id.desc()).limit(limit)
    return list(session.execute(statement).scalars())
