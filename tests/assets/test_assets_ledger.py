"""The fund ledger always reconciles (Hypothesis), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crimeprev.assets import ledger
from crimeprev.assets.money import Money
from crimeprev.db.accounts import SYSTEM
from crimeprev.db.testing import reset_database
from crimeprev.errors import ConflictError, InvalidInputError, PermissionDeniedError

operations = st.lists(
    st.tuples(
        st.sampled_from(["receipt", "allocation"]),
        st.sampled_from(["EUR", "USD", "JPY"]),
        st.integers(min_value=1, max_value=5_000_000),
        st.sampled_from(sorted(ledger.ALLOCATIONS)),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=operations)
def test_ledger_always_reconciles(database, steps):
    reset_database(database.engine)
    expected: dict[str, int] = {}
    for kind, currency, minor, purpose in steps:
        amount = Money.from_minor(minor, currency)
        with database.transaction() as session:
            if kind == "receipt":
                ledger.record_receipt(
                    session,
                    SYSTEM,
                    amount=amount,
                    source="sale",
                    posted_on=date(2025, 1, 1),
                    description="sale",
                )
                expected[currency] = expected.get(currency, 0) + minor
                continue
            try:
                ledger.allocate(
                    session,
                    SYSTEM,
                    amount=amount,
                    purpose=purpose,
                    posted_on=date(2025, 1, 2),
                    description="allocation",
                    project="Fictional project",
                )
            except ConflictError:
                # refused because the fund holds too little: nothing was written
                assert expected.get(currency, 0) < minor
            else:
                assert expected.get(currency, 0) >= minor
                expected[currency] = expected[currency] - minor
    with database.transaction() as session:
        result = ledger.reconcile(session)
        assert result.balanced and result.cash_matches
        assert all(total.amount == 0 for total in result.totals.values())
        for currency, minor in expected.items():
            assert ledger.cash_balance(session, currency) == Money.from_minor(minor, currency)
            assert minor >= 0


def test_unbalanced_postings_are_refused():
    with pytest.raises(InvalidInputError, match="EUR sums to 1"):
        ledger.check_balanced([("fund_cash", 101, "EUR"), ("receipts_sales", -100, "EUR")])
    with pytest.raises(InvalidInputError, match="USD sums to -5"):
        ledger.check_balanced([("fund_cash", 5, "EUR"), ("receipts_sales", -5, "USD")][1:])


def test_social_reuse_needs_a_project_and_roles_are_checked(database, people):
    with database.transaction() as session:
        ledger.record_receipt(
            session,
            people["manager"],
            amount=Money.of("100", "EUR"),
            source="sale",
            posted_on=date(2025, 1, 1),
            description="sale",
        )
    with pytest.raises(InvalidInputError, match="project"), database.transaction() as session:
        ledger.allocate(
            session,
            people["manager"],
            amount=Money.of("10", "EUR"),
            purpose="social_reuse",
            posted_on=date(2025, 1, 2),
            description="x",
        )
    with pytest.raises(PermissionDeniedError), database.transaction() as session:
        ledger.allocate(
            session,
            people["prosecutor"],
            amount=Money.of("10", "EUR"),
            purpose="victims",
            posted_on=date(2025, 1, 2),
            description="x",
        )
    with database.transaction() as session:
        assert ledger.cash_balance(session, "EUR").amount == Decimal("100.00")
