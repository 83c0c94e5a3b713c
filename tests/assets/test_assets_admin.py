"""Users and agencies administration: API and page (administrators only, CSRF, audited),
and that what the administrator does takes effect (new users sign in, revoked or deactivated
credentials stop working). Both databases."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crimeprev.db import accounts as acc
from crimeprev.db.audit import verify_audit_chain
from crimeprev.db.models import AuditRecord

PASSWORD = "correct horse battery"  # as in conftest.py


@pytest.fixture
def bearer(database, people):
    with database.transaction() as session:
        return {
            name: {
                "Authorization": "Bearer "
                + acc.create_api_token(session, acc.SYSTEM, name, name="t").secret
            }
            for name in ("admin", "manager")
        }


def _audit(database, entity: str) -> list[tuple[str, str, str]]:
    with database.transaction() as session:
        rows = session.execute(
            select(AuditRecord.actor, AuditRecord.action, AuditRecord.after_json)
            .where(AuditRecord.entity == entity)
            .order_by(AuditRecord.sequence)
        ).all()
        assert verify_audit_chain(session).valid
    return [(actor, action, after or "") for actor, action, after in rows]


def test_api_agency_user_token_lifecycle(registry_client, database, bearer):
    client, admin = registry_client, bearer["admin"]
    made = client.post(
        "/api/assets/admin/agencies",
        headers=admin,
        json={"code": "fiu-x", "name": "Fictional FIU", "country": "fra"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["code"] == "FIU-X"
    again = client.post(
        "/api/assets/admin/agencies",
        headers=admin,
        json={"code": "FIU-X", "name": "Twice", "country": "FRA"},
    )
    assert again.status_code == 409
    user = client.post(
        "/api/assets/admin/users",
        headers=admin,
        json={
            "username": "nadia",
            "password": "a fictional passphrase",
            "roles": ["investigator", "prosecutor"],
            "agency": "FIU-X",
        },
    )
    assert user.status_code == 201, user.text
    assert user.json()["roles"] == ["investigator", "prosecutor"]
    assert user.json()["agency"] == "FIU-X" and user.json()["active"]
    weak = client.post(
        "/api/assets/admin/users",
        headers=admin,
        json={"username": "weak", "password": "short", "roles": ["viewer"]},
    )
    assert weak.status_code == 422
    bad_role = client.post(
        "/api/assets/admin/users",
        headers=admin,
        json={"username": "odd", "password": "a fictional passphrase", "roles": ["king"]},
    )
    assert bad_role.status_code == 422 and "king" in bad_role.json()["error"]["message"]
    issued = client.post(
        "/api/assets/admin/users/nadia/tokens", headers=admin, json={"name": "scripts", "days": 7}
    )
    assert issued.status_code == 201
    nadia = {"Authorization": f"Bearer {issued.json()['secret']}"}
    opened = client.post(
        "/api/assets/cases",
        headers=nadia,
        json={"reference": "AR-N", "title": "t", "jurisdiction": "FRA", "opened_on": "2025-01-01"},
    )
    assert opened.status_code == 201 and opened.json()["agency"] == "FIU-X"
    overview = client.get("/api/assets/admin", headers=admin).json()
    listed = next(u for u in overview["users"] if u["username"] == "nadia")
    assert [t["name"] for t in listed["tokens"]] == ["scripts"]
    assert "secret" not in listed["tokens"][0] and "token_hash" not in listed["tokens"][0]
    revoked = client.post(f"/api/assets/admin/tokens/{issued.json()['id']}/revoke", headers=admin)
    assert revoked.status_code == 200
    assert client.get("/api/assets/items", headers=nadia).status_code == 401
    second = client.post(
        "/api/assets/admin/users/nadia/tokens", headers=admin, json={"name": "second"}
    ).json()
    nadia = {"Authorization": f"Bearer {second['secret']}"}
    assert client.get("/api/assets/items", headers=nadia).status_code == 200
    off = client.post("/api/assets/admin/users/nadia/active", headers=admin, json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert client.get("/api/assets/items", headers=nadia).status_code == 401
    on = client.post("/api/assets/admin/users/nadia/active", headers=admin, json={"active": True})
    assert on.json()["active"] is True
    assert client.get("/api/assets/items", headers=nadia).status_code == 200
    assert (
        client.post(
            "/api/assets/admin/users/admin/active", headers=admin, json={"active": False}
        ).status_code
        == 409
    )
    changed = client.post(
        "/api/assets/admin/users/nadia/roles", headers=admin, json={"roles": ["viewer"]}
    )
    assert changed.status_code == 200 and changed.json()["roles"] == ["viewer"]
    refused_case = client.post(
        "/api/assets/cases",
        headers=nadia,
        json={"reference": "AR-N2", "title": "t", "jurisdiction": "FRA", "opened_on": "2025-01-01"},
    )
    assert refused_case.status_code == 403  # a viewer now
    own = client.post(
        "/api/assets/admin/users/admin/roles", headers=admin, json={"roles": ["auditor"]}
    )
    assert own.status_code == 409 and "your own administrator role" in own.text
    assert client.post("/api/assets/admin/tokens/999999/revoke", headers=admin).status_code == 404
    assert (
        client.post(
            "/api/assets/admin/users/nobody/tokens", headers=admin, json={"name": "x"}
        ).status_code
        == 404
    )
    # audited, in order, by the administrator
    assert [a[:2] for a in _audit(database, "agency")][-1] == ("admin", "create")
    user_actions = [a[:2] for a in _audit(database, "user") if '"nadia"' in a[2]]
    assert user_actions == [("admin", "create")] + [("admin", "update")] * 3
    token_actions = [a[:2] for a in _audit(database, "api_token")]
    assert ("admin", "revoke") in token_actions
    assert token_actions.count(("admin", "create")) == 2


def test_non_administrators_are_refused(registry_client, bearer):
    manager = bearer["manager"]
    for method, url, body in (
        ("get", "/api/assets/admin", None),
        ("post", "/api/assets/admin/agencies", {"code": "X", "name": "x", "country": "ITA"}),
        (
            "post",
            "/api/assets/admin/users",
            {"username": "x1", "password": "a long passphrase", "roles": ["administrator"]},
        ),
        ("post", "/api/assets/admin/users/viewer/active", {"active": False}),
        ("post", "/api/assets/admin/users/manager/tokens", {"name": "mine"}),
    ):
        response = registry_client.request(method, url, headers=manager, json=body)
        assert response.status_code == 403, url
        assert "administrator" in response.json()["error"]["message"]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _sign_in(client, username: str) -> None:
    page = client.get("/login")
    data = {"username": username, "password": PASSWORD, "csrf_token": _csrf(page.text)}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303


def test_admin_page_forms(registry_client, database, people):
    client = registry_client
    _sign_in(client, "admin")
    page = client.get("/assets/admin")
    assert page.status_code == 200 and 'id="user-viewer"' in page.text
    token = _csrf(page.text)

    def post(url, data):
        return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)

    assert (
        client.post(
            "/assets/admin/agencies",
            data={"code": "NOPE", "name": "x", "country": "ITA"},
            follow_redirects=False,
        ).status_code
        == 403
    )  # no CSRF token
    made = post("/assets/admin/agencies", {"code": "CUS", "name": "Customs", "country": "ITA"})
    assert made.status_code == 303
    refused = post("/assets/admin/agencies", {"code": "CUS", "name": "Twice", "country": "ITA"})
    assert refused.status_code == 409 and "already exists" in refused.text
    created = client.post(
        "/assets/admin/users",
        data={
            "username": "carla",
            "password": "a fictional passphrase",
            "roles": ["asset_manager", "auditor"],
            "agency": "CUS",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    listing = client.get("/assets/admin").text
    row = re.search(r'<tr id="user-carla">.*?</tr>', listing, re.S).group(0)
    assert "CUS" in row and "asset manager, auditor" in row and "active" in row
    issued = post("/assets/admin/users/carla/tokens", {"name": "etl", "days": "30"})
    assert issued.status_code == 200
    secret = re.search(r'<code id="token-secret">([^<]+)</code>', issued.text).group(1)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/assets/fund", headers=headers).status_code == 200
    token_id = re.search(r"/assets/admin/tokens/(\d+)/revoke", issued.text).group(1)
    assert post(f"/assets/admin/tokens/{token_id}/revoke", {}).status_code == 303
    assert client.get("/api/assets/fund", headers=headers).status_code == 401
    bad_days = post("/assets/admin/users/carla/tokens", {"name": "x", "days": "forever"})
    assert bad_days.status_code == 422 and "forever" in bad_days.text
    roles = client.post(
        "/assets/admin/users/carla/roles",
        data={"roles": ["viewer"], "csrf_token": token},
        follow_redirects=False,
    )
    assert roles.status_code == 303
    row = re.search(r'<tr id="user-carla">.*?</tr>', client.get("/assets/admin").text, re.S)
    assert '<span class="user-roles">viewer</span>' in row.group(0)
    assert post("/assets/admin/users/carla/active", {"active": "no"}).status_code == 303
    row = re.search(r'<tr id="user-carla">.*?</tr>', client.get("/assets/admin").text, re.S)
    assert "deactivated" in row.group(0)
    with database.transaction() as session, pytest.raises(acc.AuthenticationError):
        acc.authenticate(session, "carla", "a fictional passphrase")
    client.cookies.clear()
    _sign_in(client, "manager")
    assert client.get("/assets/admin").status_code == 403
    assert 'href="/assets/admin"' not in client.get("/assets/fund").text
