"""The asset registry's JSON API: end to end on both databases, 409s, roles, the error shape."""

from __future__ import annotations

import pytest

from crimeprev.db import accounts as acc

TODAY_MINUS = "2025-03-0{}"


@pytest.fixture
def tokens(database, people):
    with database.transaction() as session:
        return {
            name: {
                "Authorization": "Bearer "
                + acc.create_api_token(session, acc.SYSTEM, name, name="test").secret
            }
            for name in people
        }


@pytest.fixture
def seized(registry_client, tokens):
    client = registry_client
    case = client.post(
        "/api/assets/cases",
        json={
            "reference": "AR-7",
            "title": "Operation Fictional",
            "jurisdiction": "ITA",
            "opened_on": "2025-01-10",
            "offences": ["0703"],
        },
        headers=tokens["investigator"],
    )
    assert case.status_code == 201, case.text
    asset = client.post(
        "/api/assets/items",
        json={
            "case_id": case.json()["id"],
            "reference": "A-7",
            "category": "real estate",
            "description": "Fictional flat",
            "country": "ITA",
            "identified_on": "2025-01-11",
        },
        headers=tokens["investigator"],
    )
    assert asset.status_code == 201, asset.text
    body = asset.json()
    assert body["state"] == "identified" and body["category"] == "real_estate"
    moved = client.post(
        f"/api/assets/items/{body['id']}/transitions",
        json={
            "to_state": "seized",
            "occurred_on": "2025-02-01",
            "court_order": "GIP 4/2025",
            "expected_version": body["version"],
        },
        headers=tokens["prosecutor"],
    )
    assert moved.status_code == 200, moved.text
    return moved.json()


def test_transition_through_api_records_the_timeline(registry_client, tokens, seized):
    assert seized["state"] == "seized"
    assert seized["allowed_next_states"] == [
        "under_management",
        "interim_sold",
        "confiscated",
        "released",
    ]
    assert [e["to_state"] for e in seized["timeline"]] == ["identified", "seized"]
    assert seized["timeline"][1]["court_order"] == "GIP 4/2025"
    assert seized["timeline"][1]["actor"] == "prosecutor"


def test_refused_transition_is_409_in_the_error_shape(registry_client, tokens, seized):
    response = registry_client.post(
        f"/api/assets/items/{seized['id']}/transitions",
        json={"to_state": "disposed", "occurred_on": "2025-02-02", "disposal": "sold"},
        headers=tokens["admin"],
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert "from 'seized' to 'disposed'" in error["message"]
    assert error["details"]["allowed_next_states"] == [
        "under_management",
        "interim_sold",
        "confiscated",
        "released",
    ]


def test_stale_version_is_409(registry_client, tokens, seized):
    url = f"/api/assets/items/{seized['id']}"
    first = registry_client.patch(
        url,
        json={"expected_version": seized["version"], "location": "Rome"},
        headers=tokens["investigator"],
    )
    assert first.status_code == 200
    second = registry_client.patch(
        url,
        json={"expected_version": seized["version"], "location": "Milan"},
        headers=tokens["investigator"],
    )
    assert second.status_code == 409
    assert "changed since you loaded it" in second.json()["error"]["message"]
    assert registry_client.get(url, headers=tokens["viewer"]).json()["location"] == "Rome"


def test_interim_sale_books_receipt_and_fund_reconciles(registry_client, tokens, seized):
    sold = registry_client.post(
        f"/api/assets/items/{seized['id']}/transitions",
        json={
            "to_state": "interim_sold",
            "occurred_on": "2025-02-10",
            "court_order": "GIP 5/2025",
            "owner_consent": False,
            "realised": {"amount": "180000.00", "currency": "EUR"},
        },
        headers=tokens["manager"],
    )
    assert sold.status_code == 200, sold.text
    fund = registry_client.get("/api/assets/fund", headers=tokens["manager"]).json()
    assert fund["balanced"] is True
    assert {"account": "fund_cash", "amount": "180000.00", "currency": "EUR"} in fund["balances"]
    too_much = registry_client.post(
        "/api/assets/fund/allocations",
        json={
            "amount": {"amount": "200000", "currency": "EUR"},
            "purpose": "victims",
            "posted_on": "2025-02-11",
            "description": "compensation",
        },
        headers=tokens["manager"],
    )
    assert too_much.status_code == 409 and "holds 180000.00 EUR" in too_much.text
    paid = registry_client.post(
        "/api/assets/fund/allocations",
        json={
            "amount": {"amount": "50000", "currency": "EUR"},
            "purpose": "social_reuse",
            "project": "Fictional youth centre",
            "posted_on": "2025-02-11",
            "description": "refurbishment",
        },
        headers=tokens["manager"],
    )
    assert paid.status_code == 201
    fund = registry_client.get("/api/assets/fund", headers=tokens["auditor"]).json()
    cash = next(b for b in fund["balances"] if b["account"] == "fund_cash")
    assert cash["amount"] == "130000.00" and fund["balanced"] is True


def test_other_agencies_do_not_see_the_case(registry_client, tokens, seized):
    response = registry_client.get(f"/api/assets/items/{seized['id']}", headers=tokens["other"])
    assert response.status_code == 404
    listed = registry_client.get("/api/assets/items", headers=tokens["other"]).json()
    assert listed["assets"] == []
    everyone = registry_client.get("/api/assets/items", headers=tokens["auditor"]).json()
    assert [a["reference"] for a in everyone["assets"]] == ["A-7"]


def test_anonymous_requests_get_401(registry_client, seized):
    response = registry_client.get("/api/assets/items")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"amount": "12.345", "currency": "EUR"}, "more than 2 decimals"),
        ({"amount": "12", "currency": "EUX"}, "not an ISO 4217 code"),
        ({"amount": "twelve", "currency": "EUR"}, "not a number"),
    ],
    ids=["decimals", "currency", "number"],
)
def test_bad_money_is_422_with_a_clear_message(registry_client, tokens, seized, body, message):
    response = registry_client.post(
        f"/api/assets/items/{seized['id']}/valuations",
        json={"valued_on": "2025-02-05", "amount": body, "method": "expert"},
        headers=tokens["manager"],
    )
    assert response.status_code == 422 and message in response.json()["error"]["message"]


def test_planning_endpoint(registry_client):
    response = registry_client.post(
        "/api/assets/planning",
        json={
            "value": {"amount": "10000", "currency": "EUR"},
            "annual_depreciation": "0.2",
            "monthly_cost": {"amount": "100", "currency": "EUR"},
            "months_to_judgment": 24,
            "sale_cost_rate": "0.1",
            "dissipation_risk": "0.3",
        },
    )
    body = response.json()
    assert body["recommendation"] == "sell_early"
    assert body["courses"]["seize"]["net"] == {"amount": "3360.00", "currency": "EUR"}


def test_rates_and_conversion(registry_client, tokens):
    made = registry_client.post(
        "/api/assets/rates",
        json={"currency": "USD", "base": "EUR", "on_date": "2025-03-03", "rate": "0.9215"},
        headers=tokens["manager"],
    )
    assert made.status_code == 201
    converted = registry_client.get(
        "/api/assets/convert",
        params={"amount": "100", "currency": "USD", "base": "EUR", "on_date": "2025-03-10"},
        headers=tokens["viewer"],
    ).json()
    assert converted["converted"] == {"amount": "92.15", "currency": "EUR"}
    assert converted["rate_date"] == "2025-03-03"
    missing = registry_client.get(
        "/api/assets/convert",
        params={"amount": "100", "currency": "USD", "base": "EUR", "on_date": "2025-03-01"},
        headers=tokens["viewer"],
    )
    assert missing.status_code == 404 and "no USD->EUR exchange rate" in missing.text


def test_audit_verify_is_for_auditors(registry_client, tokens, seized):
    assert (
        registry_client.get("/api/assets/audit/verify", headers=tokens["viewer"]).status_code == 403
    )
    body = registry_client.get("/api/assets/audit/verify", headers=tokens["auditor"]).json()
    assert body["valid"] is True and body["records"] > 0


def test_full_json_export_is_scoped(registry_client, tokens, seized):
    body = registry_client.get("/api/assets/export", headers=tokens["auditor"]).json()
    assert body["format"] == "crimeprev-assets-export/1"
    assert [a["reference"] for c in body["cases"] for a in c["assets"]] == ["A-7"]
    assert body["cases"][0]["assets"][0]["timeline"][1]["court_order"] == "GIP 4/2025"
    other = registry_client.get("/api/assets/export", headers=tokens["other"]).json()
    assert other["cases"] == [] and other["fund_entries"] == []
