"""Agencies, users, roles, argon2 passwords, throttling, API tokens and browser sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crimeprev.db import Role, utcnow, verify_audit_chain
from crimeprev.db import accounts as acc
from crimeprev.db.models import ApiToken, LoginAttempt, User
from crimeprev.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def people(database):
    with database.transaction() as session:
        acc.create_agency(session, acc.SYSTEM, code="amo-it", name="Asset office", country="ita")
        acc.create_user(
            session,
            acc.SYSTEM,
            username="Ana",
            password=PASSWORD,
            roles=["asset-manager", "viewer"],
            agency_code="AMO-IT",
        )
    return database


def _login(database, username="ana", password=PASSWORD, **kwargs):
    session = database.session()
    session.begin()
    try:
        principal = acc.authenticate(session, username, password, **kwargs)
    except Exception:
        session.commit()  # keep the failed attempt, as the faces do
        session.close()
        raise
    session.commit()
    session.close()
    return principal


def test_user_gets_argon2_hash_roles_and_agency(people):
    with people.transaction() as session:
        user = session.execute(select(User)).scalar_one()
        assert user.username == "ana"
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert user.roles == {Role.ASSET_MANAGER, Role.VIEWER}
        assert user.agency is not None and user.agency.code == "AMO-IT"
        assert user.agency.country == "ITA"
        assert verify_audit_chain(session).records == 2


def test_sign_in_returns_the_principal(people):
    principal = _login(people, "ANA", client="10.0.0.1")
    assert principal.username == "ana"
    assert principal.agency_code == "AMO-IT"
    assert principal.has_any(Role.ASSET_MANAGER) and not principal.has_any(Role.AUDITOR)


@pytest.mark.parametrize(
    ("username", "password"),
    [("ana", "wrong password!!"), ("nobody", PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
def test_failed_sign_in_says_the_same_for_unknown_user_and_wrong_password(
    people, username, password
):
    with pytest.raises(AuthenticationError, match="wrong username or password"):
        _login(people, username, password)


def test_throttling_after_max_failures_then_window_passes(people):
    policy = acc.ThrottlePolicy(max_failures=3, window=timedelta(minutes=10))
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            _login(people, password="wrong password!!", policy=policy)
    with pytest.raises(acc.TooManyAttemptsError, match="too many failed sign-ins") as caught:
        _login(people, policy=policy)  # even the right password is refused now
    assert caught.value.status == 429
    later = utcnow() + timedelta(minutes=11)
    assert _login(people, policy=policy, now=later).username == "ana"
    with people.transaction() as session:
        attempts = session.execute(select(LoginAttempt)).scalars().all()
    assert [a.succeeded for a in attempts] == [False, False, False, True]


def test_disabled_user_cannot_sign_in_or_use_tokens(people):
    with people.transaction() as session:
        issued = acc.create_api_token(session, acc.SYSTEM, "ana", name="export")
        acc.set_active(session, acc.SYSTEM, "ana", False)
    with pytest.raises(AuthenticationError):
        _login(people)
    with pytest.raises(AuthenticationError), people.transaction() as session:
        acc.resolve_api_token(session, issued.secret)


def test_api_token_is_stored_as_digest_and_resolves(people):
    with people.transaction() as session:
        issued = acc.create_api_token(
            session, acc.SYSTEM, "ana", name="nightly", lifetime=timedelta(days=1)
        )
    assert issued.secret.startswith(acc.TOKEN_PREFIX)
    with people.transaction() as session:
        stored = session.execute(select(ApiToken)).scalar_one()
        assert issued.secret not in (stored.token_hash, stored.prefix)
        principal = acc.resolve_api_token(session, issued.secret)
    assert principal.username == "ana" and principal.via == "token"
    with people.transaction() as session:
        assert session.execute(select(ApiToken)).scalar_one().last_used_at is not None
        acc.revoke_api_token(session, acc.SYSTEM, issued.id)
    with pytest.raises(AuthenticationError, match="revoked"), people.transaction() as session:
        acc.resolve_api_token(session, issued.secret)


def test_expired_and_unknown_tokens_are_refused(people):
    with people.transaction() as session:
        issued = acc.create_api_token(session, acc.SYSTEM, "ana", name="x")
        token = session.get(ApiToken, issued.id)
        token.expires_at = utcnow() - timedelta(seconds=1)
    for secret in (issued.secret, "cpv_made_up"):
        with pytest.raises(AuthenticationError), people.transaction() as session:
            acc.resolve_api_token(session, secret)


def test_users_revoke_only_their_own_tokens(people):
    with people.transaction() as session:
        acc.create_user(session, acc.SYSTEM, username="bo", password=PASSWORD)
        issued = acc.create_api_token(session, acc.SYSTEM, "ana", name="x")
        bo = acc.principal_for(acc.get_user(session, "bo"), via="session")
    with pytest.raises(NotFoundError), people.transaction() as session:
        acc.revoke_api_token(session, bo, issued.id)


def test_web_session_lifecycle_and_password_change_ends_it(people):
    principal = _login(people)
    with people.transaction() as session:
        issued = acc.start_web_session(session, principal, lifetime=timedelta(hours=1))
    with people.transaction() as session:
        active = acc.resolve_web_session(session, issued.secret)
    assert active.principal.username == "ana" and active.csrf_token == issued.csrf_token
    with people.transaction() as session:
        acc.set_password(session, acc.SYSTEM, "ana", "another long passphrase")
    with pytest.raises(AuthenticationError), people.transaction() as session:
        acc.resolve_web_session(session, issued.secret)
    assert _login(people, password="another long passphrase").username == "ana"


def test_sign_out_ends_the_session(people):
    principal = _login(people)
    with people.transaction() as session:
        issued = acc.start_web_session(session, principal)
        acc.end_web_session(session, issued.secret)
    with pytest.raises(AuthenticationError), people.transaction() as session:
        acc.resolve_web_session(session, issued.secret)


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"username": "x"}, InvalidInputError, "username"),
        ({"password": "short"}, InvalidInputError, "10 characters"),
        ({"roles": ["chief"]}, InvalidInputError, "unknown role 'chief'"),
        ({"roles": []}, InvalidInputError, "at least one role"),
        ({"agency_code": "NOPE"}, NotFoundError, "no agency"),
        ({"username": "ana"}, ConflictError, "taken"),
    ],
    ids=["short-username", "weak-password", "unknown-role", "no-role", "no-agency", "taken"],
)
def test_bad_users_are_refused_with_a_reason(people, changes, error, match):
    values = {"username": "carla", "password": PASSWORD, "roles": ["viewer"]} | changes
    with pytest.raises(error, match=match), people.transaction() as session:
        acc.create_user(session, acc.SYSTEM, **values)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"code": "bad code!", "name": "x", "country": "ITA"}, "agency code"),
        ({"code": "X", "name": "x", "country": "Italy"}, "alpha-3"),
        ({"code": "X", "name": " ", "country": "ITA"}, "name"),
    ],
    ids=["code", "country", "name"],
)
def test_bad_agencies_are_refused(people, values, match):
    with pytest.raises(InvalidInputError, match=match), people.transaction() as session:
        acc.create_agency(session, acc.SYSTEM, **values)


def test_duplicate_agency_is_a_conflict(people):
    with pytest.raises(ConflictError), people.transaction() as session:
        acc.create_agency(session, acc.SYSTEM, code="AMO-IT", name="x", country="ITA")


def test_set_roles_replaces_roles_and_is_audited(people):
    with people.transaction() as session:
        user = acc.set_roles(session, acc.SYSTEM, "ana", ["auditor"])
        assert user.roles == {Role.AUDITOR}
        assert verify_audit_chain(session).records == 3
