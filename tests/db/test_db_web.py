"""Sign-in pages with CSRF, sessions, API tokens, throttling and the upgrade on start."""

from __future__ import annotations

import re

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from crimeprev.config import Settings
from crimeprev.db import Database, Role
from crimeprev.db import accounts as acc
from crimeprev.db.migrate import current_revisions, head_revisions
from crimeprev.web.app import create_app
from crimeprev.web.auth import database_lifespan, require_roles
from crimeprev.web.errors import install_error_handlers

PASSWORD = "correct horse battery"


@pytest.fixture
def users(database):
    with database.transaction() as session:
        acc.create_agency(session, acc.SYSTEM, code="AMO", name="Asset office", country="ITA")
        acc.create_user(
            session,
            acc.SYSTEM,
            username="ana",
            password=PASSWORD,
            roles=["investigator"],
            agency_code="AMO",
        )
    return database


def _form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def sign_in(client: TestClient, username: str = "ana", password: str = PASSWORD, next_path="/"):
    page = client.get("/login", params={"next": next_path})
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": _form_token(page.text),
            "next": next_path,
        },
        follow_redirects=False,
    )


def test_app_creates_and_upgrades_its_database_on_start(tmp_path):
    settings = Settings(data_dir=tmp_path / "fresh", secret_key="k")
    with TestClient(create_app(settings)):
        database = Database(settings.database_url)
        assert current_revisions(database.engine) == head_revisions()
        database.dispose()


def test_sign_in_sets_a_session_cookie_and_goes_on(users, registry_client):
    response = sign_in(registry_client, next_path="/account")
    assert response.status_code == 303 and response.headers["location"] == "/account"
    cookie = response.headers["set-cookie"]
    assert "crimeprev_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    account = registry_client.get("/account")
    assert account.status_code == 200 and "investigator" in account.text
    me = registry_client.get("/api/auth/me").json()
    assert me == {
        "user_id": me["user_id"],
        "username": "ana",
        "roles": ["investigator"],
        "agency": "AMO",
        "via": "session",
    }


def test_sign_in_refuses_a_missing_csrf_token(users, registry_client):
    registry_client.get("/login")
    response = registry_client.post(
        "/login", data={"username": "ana", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403 and "form expired" in response.text


def test_wrong_password_then_throttled(users, registry_client):
    for _ in range(3):  # registry_settings allow 3 failures
        response = sign_in(registry_client, password="wrong password!!")
        assert response.status_code == 401 and "wrong username or password" in response.text
    response = sign_in(registry_client)
    assert response.status_code == 429 and "too many failed sign-ins" in response.text
    assert int(response.headers["retry-after"]) > 0


def test_offsite_next_is_ignored(users, registry_client):
    response = sign_in(registry_client, next_path="//evil.example/")
    assert response.headers["location"] == "/"


def test_pages_send_strangers_to_sign_in(registry_client):
    response = registry_client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faccount"
    assert registry_client.get("/api/auth/me").status_code == 401


def test_unsafe_request_with_cookie_needs_the_csrf_token(users, registry_client):
    sign_in(registry_client)
    refused = registry_client.post("/account/tokens", data={"name": "x"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    refused_api = registry_client.post("/api/auth/tokens", json={"name": "x"})
    assert refused_api.status_code == 403
    assert refused_api.json()["error"]["code"] == "permission_denied"
    token = _form_token(registry_client.get("/account").text)
    created = registry_client.post(
        "/account/tokens", data={"name": "nightly export", "csrf_token": token}
    )
    assert created.status_code == 200
    secret = re.search(r'id="new-token">([^<]+)<', created.text).group(1)
    assert secret.startswith("cpv_")
    with_header = registry_client.post(
        "/api/auth/tokens", json={"name": "y"}, headers={"X-CSRF-Token": token}
    )
    assert with_header.status_code == 201


def test_api_token_authenticates_without_csrf(users, registry_client, database):
    with database.transaction() as session:
        issued = acc.create_api_token(session, acc.SYSTEM, "ana", name="script")
    headers = {"Authorization": f"Bearer {issued.secret}"}
    assert registry_client.get("/api/auth/me", headers=headers).json()["via"] == "token"
    made = registry_client.post("/api/auth/tokens", json={"name": "second"}, headers=headers)
    assert made.status_code == 201 and made.json()["token"].startswith("cpv_")
    listed = registry_client.get("/api/auth/tokens", headers=headers).json()["tokens"]
    assert [t["name"] for t in listed] == ["second", "script"]
    assert all("token" not in t for t in listed)
    gone = registry_client.delete(f"/api/auth/tokens/{made.json()['id']}", headers=headers)
    assert gone.status_code == 204
    revoked = {"Authorization": f"Bearer {made.json()['token']}"}
    response = registry_client.get("/api/auth/me", headers=revoked)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_sign_out_ends_the_session(users, registry_client):
    sign_in(registry_client)
    token = _form_token(registry_client.get("/account").text)
    cookie = registry_client.cookies.get("crimeprev_session")
    response = registry_client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    registry_client.cookies.set("crimeprev_session", cookie)  # replaying the old cookie fails
    assert registry_client.get("/api/auth/me").status_code == 401


def test_require_roles_dependency(users, registry_settings, database):
    app = FastAPI(lifespan=database_lifespan)
    app.state.settings = registry_settings
    install_error_handlers(app)

    @app.get("/api/secret")
    def secret(principal=Depends(require_roles(Role.AUDITOR))):
        return {"ok": principal.username}

    with database.transaction() as session:
        acc.create_user(session, acc.SYSTEM, username="aud", password=PASSWORD, roles=["auditor"])
        tokens = {
            name: acc.create_api_token(session, acc.SYSTEM, name, name="t").secret
            for name in ("ana", "aud")
        }
    with TestClient(app) as client:
        denied = client.get("/api/secret", headers={"Authorization": f"Bearer {tokens['ana']}"})
        assert denied.status_code == 403
        assert "needs one of the roles auditor" in denied.json()["error"]["message"]
        allowed = client.get("/api/secret", headers={"Authorization": f"Bearer {tokens['aud']}"})
        assert allowed.json() == {"ok": "aud"}
