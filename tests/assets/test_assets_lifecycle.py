"""Cases, assets and the lifecycle state machine, with audit and fund postings (both databases)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from crimeprev.assets import cases, ledger, registry
from crimeprev.assets.lifecycle import TRANSITIONS, State, check_transition
from crimeprev.assets.models import Asset, AssetEvent, LedgerEntry
from crimeprev.assets.money import Money
from crimeprev.db import verify_audit_chain
from crimeprev.db.audit import audit_trail
from crimeprev.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnknownCodeError,
)

DAY = date(2025, 3, 1)


def _case(session, principal, reference="AR-1", **extra):
    values = {
        "reference": reference,
        "title": "Operation Lighthouse",
        "jurisdiction": "ita",
        "opened_on": DAY,
        "offences": ["07041", "0601"],
    } | extra
    return cases.create_case(session, principal, **values)


def _asset(session, principal, case_id, reference="A-1", category="vehicle"):
    return registry.create_asset(
        session,
        principal,
        case_id,
        reference=reference,
        category=category,
        description="Fictional sports car",
        country="ITA",
        identified_on=DAY,
        identifier="ZFF00000000000000",
        identifier_type="VIN",
    )


@pytest.fixture
def vehicle(database, people):
    with database.transaction() as session:
        case = _case(session, people["investigator"])
        asset = _asset(session, people["investigator"], case.id)
    return asset.id


def step(database, principal, asset_id, to_state, days=1, **extra):
    request = registry.TransitionRequest(
        to_state=State(to_state), occurred_on=DAY + timedelta(days=days), **extra
    )
    with database.transaction() as session:
        return registry.transition_asset(session, principal, asset_id, request)


def test_case_records_offences_as_iccs_codes(database, people):
    with database.transaction() as session:
        case = _case(session, people["investigator"])
        assert [o.iccs_code for o in case.offences] == ["0601", "07041"]
        assert case.agency.code == "AMO" and case.jurisdiction == "ITA"
        listed = cases.list_cases(session, people["viewer"], offence="07")
        assert [c.reference for c in listed] == ["AR-1"]
        assert cases.list_cases(session, people["viewer"], offence="0501") == []


def test_unknown_iccs_code_is_refused(database, people):
    with pytest.raises(UnknownCodeError), database.transaction() as session:
        _case(session, people["investigator"], offences=["0599"])


def test_full_lifecycle_to_sale_books_the_receipt(database, people, vehicle):
    step(database, people["investigator"], vehicle, "traced")
    step(database, people["prosecutor"], vehicle, "seized", 2, court_order="GIP Roma 12/2025")
    step(database, people["manager"], vehicle, "under_management", 3, legal_basis="art. 104-bis")
    step(
        database,
        people["prosecutor"],
        vehicle,
        "confiscated",
        30,
        court_order="Trib. 9/2026",
        confiscation_type="object-based",
        confiscation_basis="conviction",
    )
    asset = step(
        database,
        people["manager"],
        vehicle,
        "disposed",
        60,
        disposal="sold",
        realised=Money.of("41250.00", "EUR"),
        legal_basis="auction 3/2025",
    )
    assert asset.state == "disposed" and asset.disposal == "sold"
    assert asset.confiscation_type == "object_based"
    with database.transaction() as session:
        timeline = registry.events(session.get(Asset, vehicle))
        assert [e["to_state"] for e in timeline] == [
            "identified",
            "traced",
            "seized",
            "under_management",
            "confiscated",
            "disposed",
        ]
        assert timeline[2]["court_order"] == "GIP Roma 12/2025"
        assert timeline[2]["actor"] == "prosecutor"
        assert timeline[5]["details"]["realised"] == {"amount": "41250.00", "currency": "EUR"}
        assert ledger.cash_balance(session, "EUR") == Money.of("41250", "EUR")
        assert ledger.reconcile(session).balanced
        trail = audit_trail(session, "asset", vehicle)
        assert [r.action for r in trail] == ["create"] + ["transition"] * 5
        assert verify_audit_chain(session).valid


def test_refused_transition_names_current_and_allowed_states(database, people, vehicle):
    with pytest.raises(ConflictError) as caught:
        step(database, people["admin"], vehicle, "disposed", disposal="sold")
    error = caught.value
    assert error.status == 409
    assert "from 'identified' to 'disposed'" in error.message
    assert error.details["allowed_next_states"] == ["traced", "frozen", "seized", "released"]


@pytest.mark.parametrize("current", list(State), ids=lambda s: s.value)
def test_transition_table_is_exactly_what_check_transition_allows(current):
    for target in State:
        if target in TRANSITIONS[current]:
            check_transition(current, target)
        else:
            with pytest.raises(ConflictError):
                check_transition(current, target)


def test_final_states_allow_nothing():
    assert TRANSITIONS[State.RELEASED] == () and TRANSITIONS[State.DISPOSED] == ()


@pytest.mark.parametrize(
    ("who", "to_state"),
    [
        ("viewer", "traced"),
        ("manager", "seized"),
        ("investigator", "released"),
        ("auditor", "traced"),
    ],
    ids=["viewer", "manager-seizes", "investigator-releases", "auditor"],
)
def test_roles_that_may_not_take_a_step_are_refused(database, people, vehicle, who, to_state):
    with pytest.raises(PermissionDeniedError, match="needs one of the roles"):
        step(database, people[who], vehicle, to_state, court_order="X")


def test_orders_are_required_where_the_law_needs_them(database, people, vehicle):
    with pytest.raises(InvalidInputError, match="legal basis or the court order"):
        step(database, people["prosecutor"], vehicle, "frozen")


def test_confiscation_needs_its_type_and_interim_sale_its_consent(database, people, vehicle):
    step(database, people["prosecutor"], vehicle, "seized", court_order="O-1")
    with pytest.raises(InvalidInputError, match="owner consented"):
        step(
            database,
            people["manager"],
            vehicle,
            "interim_sold",
            2,
            court_order="O-2",
            realised=Money.of("100", "EUR"),
        )
    with pytest.raises(InvalidInputError, match="confiscation_type"):
        step(database, people["prosecutor"], vehicle, "confiscated", 2, court_order="O-3")


def test_dates_cannot_go_back_or_into_the_future(database, people, vehicle):
    with pytest.raises(InvalidInputError, match="before the asset entered"):
        step(database, people["investigator"], vehicle, "traced", days=-1)
    with pytest.raises(InvalidInputError, match="future"):
        step(database, people["investigator"], vehicle, "traced", days=10_000)


def test_stale_version_is_a_conflict_not_an_overwrite(database, people, vehicle):
    with database.transaction() as session:
        version = session.get(Asset, vehicle).version
        registry.update_asset(
            session,
            people["investigator"],
            vehicle,
            expected_version=version,
            location="Depot 1",
        )
    with (
        pytest.raises(ConflictError, match="changed since you loaded it"),
        database.transaction() as session,
    ):
        registry.update_asset(
            session,
            people["investigator"],
            vehicle,
            expected_version=version,
            location="Depot 2",
        )
    with pytest.raises(ConflictError):
        step(database, people["investigator"], vehicle, "traced", expected_version=version)
    with database.transaction() as session:
        assert session.get(Asset, vehicle).location == "Depot 1"


def test_failure_midway_leaves_neither_transition_nor_posting(
    database, people, vehicle, monkeypatch
):
    step(database, people["prosecutor"], vehicle, "seized", court_order="O-1")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while posting")

    monkeypatch.setattr(ledger, "record_receipt", broken)
    with pytest.raises(RuntimeError):
        step(
            database,
            people["manager"],
            vehicle,
            "interim_sold",
            2,
            court_order="O-2",
            owner_consent=True,
            realised=Money.of("9000", "EUR"),
        )
    with database.transaction() as session:
        asset = session.get(Asset, vehicle)
        assert asset.state == "seized" and asset.realised_minor is None
        events = session.execute(
            select(func.count(AssetEvent.id)).where(AssetEvent.asset_id == vehicle)
        ).scalar_one()
        assert events == 2
        assert session.execute(select(func.count(LedgerEntry.id))).scalar_one() == 0
        assert [r.action for r in audit_trail(session, "asset", vehicle)] == [
            "create",
            "transition",
        ]
        assert verify_audit_chain(session).valid


def test_agency_scoping(database, people, vehicle):
    with database.transaction() as session:
        with pytest.raises(NotFoundError):
            registry.get_asset(session, people["other"], vehicle)
        assert registry.list_assets(session, people["other"]) == []
        assert len(registry.list_assets(session, people["auditor"])) == 1
        case_id = session.get(Asset, vehicle).case_id
        cases.share_case(session, people["investigator"], case_id, "POL")
    with database.transaction() as session:
        assert registry.get_asset(session, people["other"], vehicle).id == vehicle


def test_parties_valuations_and_costs(database, people, vehicle):
    with database.transaction() as session:
        registry.add_party(
            session,
            people["investigator"],
            vehicle,
            name="Fictional Holding Ltd",
            role="owner",
        )
        registry.add_party(
            session,
            people["investigator"],
            vehicle,
            name="Fictional Bank",
            role="third_party",
            claim="lien",
            claim_amount=Money.of("5000", "EUR"),
            claim_status="pending",
        )
        registry.add_valuation(
            session,
            people["manager"],
            vehicle,
            valued_on=DAY,
            amount=Money.of("60000", "EUR"),
            method="expert",
        )
        registry.add_cost(
            session,
            people["manager"],
            vehicle,
            incurred_on=DAY,
            amount=Money.of("350", "EUR"),
            kind="storage",
        )
        with pytest.raises(PermissionDeniedError):
            registry.add_cost(
                session,
                people["viewer"],
                vehicle,
                incurred_on=DAY,
                amount=Money.of("1", "EUR"),
                kind="storage",
            )
    with database.transaction() as session:
        asset = session.get(Asset, vehicle)
        assert [p.role for p in asset.parties] == ["owner", "third_party"]
        assert asset.parties[1].claim_minor == 500000
        assert registry.latest_valuation(asset).amount_minor == 6000000
        assert asset.costs[0].kind == "storage"


def test_duplicate_references_are_conflicts(database, people, vehicle):
    with pytest.raises(ConflictError), database.transaction() as session:
        _case(session, people["investigator"])
    with pytest.raises(ConflictError), database.transaction() as session:
        _asset(session, people["investigator"], session.get(Asset, vehicle).case_id)
