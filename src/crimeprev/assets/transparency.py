"""Public transparency view: aggregates only, small counts suppressed.

Counts of assets that entered the frozen, seized, confiscated and disposed
states, per year and asset category, with the values realised; and fund
allocations per year and purpose. A cell counting fewer than the threshold
(``settings.small_count_threshold``) is published as suppressed, with its
amounts, so that a single identifiable case cannot be read off the table.
Nothing here names a case, an asset, a person or an agency.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crimeprev.assets.ledger import ALLOCATIONS
from crimeprev.assets.lifecycle import State
from crimeprev.assets.models import Asset, AssetEvent, LedgerEntry, LedgerPosting
from crimeprev.assets.money import Money

#: Lifecycle states that the public view counts.
PUBLISHED_STATES = (State.FROZEN, State.SEIZED, State.CONFISCATED, State.DISPOSED)


@dataclass(frozen=True)
class Cell:
    """One published cell: a count and the amounts realised, or suppressed."""

    year: int
    group: str
    stage: str
    count: int | None
    realised: tuple[Money, ...]
    suppressed: bool


def suppress(count: int, threshold: int) -> bool:
    """Whether a count is too small to publish (0 is published: it identifies no one).

    Examples
    --------
    >>> suppress(3, 5), suppress(0, 5), suppress(5, 5), suppress(1, 0)
    (True, False, False, False)
    """
    return 0 < count < threshold


def _year(value: object) -> int:
    return int(str(value)[:4])


def asset_flows(session: Session, threshold: int) -> list[Cell]:
    """Assets entering each published state per year and category, suppressed where small."""
    rows = session.execute(
        select(AssetEvent.occurred_on, Asset.category, AssetEvent.to_state, Asset.id)
        .join(Asset, Asset.id == AssetEvent.asset_id)
        .where(AssetEvent.to_state.in_([s.value for s in PUBLISHED_STATES]))
    ).all()
    counts: dict[tuple[int, str, str], set[int]] = defaultdict(set)
    for occurred_on, category, state, asset_id in rows:
        counts[(occurred_on.year, category, state)].add(asset_id)
    realised: dict[tuple[int, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    disposed = session.execute(
        select(
            AssetEvent.occurred_on, Asset.category, Asset.realised_minor, Asset.realised_currency
        )
        .join(Asset, Asset.id == AssetEvent.asset_id)
        .where(AssetEvent.to_state == State.DISPOSED.value, Asset.realised_minor.is_not(None))
    ).all()
    for occurred_on, category, minor, currency in disposed:
        if minor is None or currency is None:
            continue
        realised[(occurred_on.year, category, State.DISPOSED.value)][currency] += int(minor)
    cells = []
    for (year, category, state), assets in sorted(counts.items()):
        hidden = suppress(len(assets), threshold)
        amounts = tuple(
            Money.from_minor(total, currency)
            for currency, total in sorted(realised[(year, category, state)].items())
        )
        cells.append(
            Cell(
                year,
                category,
                state,
                None if hidden else len(assets),
                () if hidden else amounts,
                hidden,
            )
        )
    return cells


def fund_allocations(session: Session, threshold: int) -> list[Cell]:
    """Money allocated from the fund per year and purpose (suppressed where few entries)."""
    accounts = {account.value: purpose for purpose, account in ALLOCATIONS.items()}
    rows = session.execute(
        select(
            LedgerEntry.posted_on,
            LedgerPosting.account,
            LedgerPosting.currency,
            func.sum(LedgerPosting.amount_minor),
            func.count(LedgerEntry.id.distinct()),
        )
        .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
        .where(LedgerPosting.account.in_(list(accounts)))
        .group_by(LedgerEntry.posted_on, LedgerPosting.account, LedgerPosting.currency)
    ).all()
    totals: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    entries: dict[tuple[int, str], int] = defaultdict(int)
    for posted_on, account, currency, total, count in rows:
        key = (_year(posted_on), accounts[account])
        totals[key][currency] += int(total)
        entries[key] += int(count)
    cells = []
    for key in sorted(totals):
        hidden = suppress(entries[key], threshold)
        amounts = tuple(Money.from_minor(t, c) for c, t in sorted(totals[key].items()))
        cells.append(
            Cell(
                key[0],
                key[1],
                "allocated",
                None if hidden else entries[key],
                () if hidden else amounts,
                hidden,
            )
        )
    return cells


def cell_json(cell: Cell) -> dict[str, object]:
    """A cell as JSON."""
    return {
        "year": cell.year,
        "group": cell.group,
        "stage": cell.stage,
        "count": cell.count,
        "realised": [money.to_json() for money in cell.realised],
        "suppressed": cell.suppressed,
    }
