"""Pages: sign in, open a case, register an asset, take steps through forms, public view."""

from __future__ import annotations

import re
from datetime import date

import pytest

PASSWORD = "correct horse battery"  # as in conftest.py


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, username):
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": _token(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303


def _post(client, url, data):
    token = _token(client.get("/account").text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


@pytest.fixture
def admin_client(registry_client, people):
    sign_in(registry_client, "admin")
    return registry_client


def test_pages_need_sign_in(registry_client):
    response = registry_client.get("/assets/items", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_case_asset_and_steps_through_forms(registry_client, people):
    client = registry_client
    sign_in(client, "investigator")
    made = _post(
        client,
        "/assets/cases",
        {
            "reference": "AR-9",
            "title": "Fictional operation",
            "jurisdiction": "ITA",
            "opened_on": "2025-01-02",
            "offences": "07041, 0703",
        },
    )
    assert made.status_code == 303, made.text
    case_url = made.headers["location"]
    case_page = client.get(case_url)
    assert "AR-9" in case_page.text and "07041" in case_page.text
    added = _post(
        client,
        case_url + "/assets",
        {
            "reference": "A-9",
            "category": "vehicle",
            "description": "Fictional car",
            "country": "ITA",
            "identified_on": "2025-01-03",
        },
    )
    assert added.status_code == 303
    asset_url = added.headers["location"]
    page = client.get(asset_url)
    assert 'id="asset-state">identified<' in page.text
    version = re.search(r'name="expected_version" value="(\d+)"', page.text).group(1)
    refused = _post(
        client,
        asset_url + "/transitions",
        {
            "to_state": "seized",
            "occurred_on": "2025-01-04",
            "expected_version": version,
        },
    )
    assert refused.status_code == 422 and "legal basis or the court order" in refused.text
    moved = _post(
        client,
        asset_url + "/transitions",
        {
            "to_state": "seized",
            "occurred_on": "2025-01-04",
            "expected_version": version,
            "court_order": "GIP 1/2025",
        },
    )
    assert moved.status_code == 303
    page = client.get(asset_url)
    assert 'id="asset-state">seized<' in page.text and "GIP 1/2025" in page.text
    stale = _post(
        client,
        asset_url + "/transitions",
        {
            "to_state": "released",
            "occurred_on": "2025-01-05",
            "expected_version": version,
            "court_order": "x",
        },
    )
    assert stale.status_code == 403  # investigators may not release


def test_refused_step_rerenders_with_409(admin_client, people, database):
    from crimeprev.assets import cases, registry
    from crimeprev.assets.lifecycle import State

    with database.transaction() as session:
        case = cases.create_case(
            session,
            people["admin"],
            reference="AR-1",
            title="t",
            jurisdiction="ITA",
            opened_on=date(2025, 1, 1),
            agency_code="AMO",
        )
        asset = registry.create_asset(
            session,
            people["admin"],
            case.id,
            reference="A-1",
            category="cash",
            description="Fictional cash",
            country="ITA",
            identified_on=date(2025, 1, 1),
        )
        assert asset.state == State.IDENTIFIED
    response = _post(
        admin_client,
        f"/assets/items/{asset.id}/transitions",
        {
            "to_state": "disposed",
            "occurred_on": "2025-01-02",
            "expected_version": "1",
            "disposal": "destroyed",
        },
    )
    assert response.status_code == 409
    assert "allowed next states: traced, frozen, seized, released" in response.text


def test_dashboard_fund_planning_and_lists(admin_client):
    for url, text in [
        ("/assets", "Asset recovery registry"),
        ("/assets/cases", "Open a case"),
        ("/assets/items", "Assets"),
        ("/assets/fund", "reconciles"),
        ("/assets/reports", "Self-funding"),
        (
            "/assets/planning?value=10000&monthly_cost=100&annual_depreciation=0.2"
            "&months_to_judgment=24&sale_cost_rate=0.1&dissipation_risk=0.3",
            "sell early",
        ),
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert text in response.text, url


def test_transparency_is_public_and_suppresses_small_counts(registry_client, people, database):
    from crimeprev.assets import cases, registry
    from crimeprev.assets.lifecycle import State

    admin = people["admin"]
    with database.transaction() as session:
        case = cases.create_case(
            session,
            admin,
            reference="AR-1",
            title="t",
            jurisdiction="ITA",
            opened_on=date(2024, 1, 1),
            agency_code="AMO",
        )
        for number in range(7):
            category = "vehicle" if number < 5 else "real_estate"
            asset = registry.create_asset(
                session,
                admin,
                case.id,
                reference=f"A-{number}",
                category=category,
                description="fictional",
                country="ITA",
                identified_on=date(2024, 1, 1),
            )
            registry.transition_asset(
                session,
                admin,
                asset.id,
                registry.TransitionRequest(State.SEIZED, date(2024, 2, 1), court_order="o"),
            )
    body = registry_client.get("/api/assets/transparency").json()
    cells = {(c["group"], c["stage"]): c for c in body["asset_flows"]}
    assert cells[("vehicle", "seized")]["count"] == 5
    assert cells[("real_estate", "seized")]["count"] is None
    assert cells[("real_estate", "seized")]["suppressed"] is True
    page = registry_client.get("/assets/transparency")
    assert page.status_code == 200 and "&lt;5" in page.text and "A-1" not in page.text
