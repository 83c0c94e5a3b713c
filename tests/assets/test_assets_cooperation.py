"""International cooperation: requests answered once, sharing agreements cap returns (both DBs)."""

from __future__ import annotations

from datetime import date

import pytest

from crimeprev.assets import cases, cooperation, ledger, registry
from crimeprev.assets.lifecycle import State
from crimeprev.assets.money import Money
from crimeprev.errors import ConflictError, InvalidInputError, PermissionDeniedError


@pytest.fixture
def sold_case(database, people):
    """A case whose seized asset was sold early for 100,000.00 EUR."""
    admin, manager = people["admin"], people["manager"]
    with database.transaction() as session:
        case = cases.create_case(
            session,
            admin,
            reference="AR-C",
            title="Fictional",
            jurisdiction="ITA",
            opened_on=date(2024, 1, 1),
            agency_code="AMO",
        )
        asset = registry.create_asset(
            session,
            admin,
            case.id,
            reference="A-C",
            category="vessel_or_aircraft",
            description="Fictional yacht",
            country="ITA",
            identified_on=date(2024, 1, 2),
        )
        registry.transition_asset(
            session,
            admin,
            asset.id,
            registry.TransitionRequest(State.SEIZED, date(2024, 2, 1), court_order="o1"),
        )
        registry.transition_asset(
            session,
            manager,
            asset.id,
            registry.TransitionRequest(
                State.INTERIM_SOLD,
                date(2024, 3, 1),
                court_order="o2",
                owner_consent=True,
                realised=Money.of("100000.00", "EUR"),
            ),
        )
    return case.id


def test_request_is_answered_once(database, people, sold_case):
    investigator = people["investigator"]
    with database.transaction() as session:
        item = cooperation.add_request(
            session,
            investigator,
            sold_case,
            direction="outgoing",
            kind="tracing",
            counterpart_state="che",
            reference="MLA-1",
            sent_on=date(2024, 1, 5),
            legal_basis="UNCAC art. 46",
        )
        assert item.status == "pending" and item.counterpart_state == "CHE"
    with database.transaction() as session:
        answered = cooperation.answer_request(
            session,
            investigator,
            item.id,
            status="executed",
            answered_on=date(2024, 4, 1),
            expected_version=item.version,
        )
        assert answered.status == "executed"
    with pytest.raises(ConflictError, match="already answered"), database.transaction() as s:
        cooperation.answer_request(
            s, investigator, item.id, status="refused", answered_on=date(2024, 4, 2)
        )
    with pytest.raises(InvalidInputError, match="kind"), database.transaction() as session:
        cooperation.add_request(
            session,
            investigator,
            sold_case,
            direction="outgoing",
            kind="gossip",
            counterpart_state="CHE",
            reference="MLA-2",
            sent_on=date(2024, 1, 5),
        )
    with pytest.raises(PermissionDeniedError), database.transaction() as session:
        cooperation.add_request(
            session,
            people["viewer"],
            sold_case,
            direction="incoming",
            kind="return",
            counterpart_state="CHE",
            reference="MLA-3",
            sent_on=date(2024, 1, 5),
        )


def test_returns_are_capped_by_the_agreed_share(database, people, sold_case):
    manager = people["manager"]
    with database.transaction() as session:
        agreement = cooperation.add_agreement(
            session,
            manager,
            sold_case,
            counterpart_state="CHE",
            reference="SHARE-1",
            share_percent="40",
            signed_on=date(2024, 5, 1),
            legal_basis="UNTOC art. 14(3)(b)",
        )
    with database.transaction() as session:
        cooperation.record_return(
            session,
            manager,
            agreement.id,
            amount=Money.of("30000", "EUR"),
            posted_on=date(2024, 6, 1),
        )
    # 40 % of 100,000.00 = 40,000.00; 30,000.00 paid, so 10,000.01 is too much
    with (
        pytest.raises(ConflictError, match="at most 10000.00 EUR remains"),
        database.transaction() as session,
    ):
        cooperation.record_return(
            session,
            manager,
            agreement.id,
            amount=Money.of("10000.01", "EUR"),
            posted_on=date(2024, 6, 2),
        )
    with database.transaction() as session:
        cooperation.record_return(
            session,
            manager,
            agreement.id,
            amount=Money.of("10000.00", "EUR"),
            posted_on=date(2024, 6, 2),
        )
        assert ledger.cash_balance(session, "EUR") == Money.of("60000.00", "EUR")
        assert ledger.reconcile(session).balanced


def test_cooperation_through_the_api(registry_client, database, people, sold_case):
    from crimeprev.db import accounts as acc

    with database.transaction() as session:
        token = acc.create_api_token(session, acc.SYSTEM, "investigator", name="t").secret
    headers = {"Authorization": f"Bearer {token}"}
    made = registry_client.post(
        f"/api/assets/cases/{sold_case}/requests",
        json={
            "direction": "incoming",
            "kind": "freezing",
            "counterpart_state": "FRA",
            "reference": "MLA-9",
            "sent_on": "2024-02-02",
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    case = registry_client.get(f"/api/assets/cases/{sold_case}", headers=headers).json()
    assert [r["reference"] for r in case["requests"]] == ["MLA-9"]
    answer = registry_client.post(
        f"/api/assets/requests/{made.json()['id']}/answer",
        json={"status": "partially_executed", "answered_on": "2024-03-03"},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "partially_executed"
    again = registry_client.post(
        f"/api/assets/requests/{made.json()['id']}/answer",
        json={"status": "executed", "answered_on": "2024-03-04"},
        headers=headers,
    )
    assert again.status_code == 409
