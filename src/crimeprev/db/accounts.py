"""Agencies, users, roles, API tokens, sign-in sessions and login throttling.

These service functions work inside the caller's transaction and write an
audit record for every change. They return plain frozen :class:`Principal`
values for "who is acting", so the faces and domain services never depend on
an ORM object staying attached to a session.

Examples
--------
>>> from crimeprev.db import Database, Role
>>> from crimeprev.db.base import Base
>>> database = Database("sqlite://")
>>> Base.metadata.create_all(database.engine)
>>> with database.transaction() as session:
...     agency = create_agency(session, "system", code="AMO", name="Asset Office", country="XKX")
...     user = create_user(session, "system", username="ana", password="a long passphrase",
...                        roles=[Role.ASSET_MANAGER], agency_code="AMO")
>>> with database.transaction() as session:
...     principal = authenticate(session, "ana", "a long passphrase", client="test")
>>> principal.username, sorted(r.value for r in principal.roles), principal.agency_code
('ana', ['asset_manager'], 'AMO')
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crimeprev.db.audit import record_audit
from crimeprev.db.base import utcnow
from crimeprev.db.models import (
    Agency,
    ApiToken,
    LoginAttempt,
    Role,
    User,
    UserRole,
    WebSession,
)
from crimeprev.db.passwords import (
    check_password_strength,
    dummy_verify,
    hash_password,
    needs_rehash,
    verify_password,
)
from crimeprev.errors import (
    AuthenticationError,
    ConflictError,
    CrimeprevError,
    InvalidInputError,
    NotFoundError,
)

#: API tokens start with this, so leaked ones are easy to recognise and scan for.
TOKEN_PREFIX = "cpv_"

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_AGENCY_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
_COUNTRY = re.compile(r"^[A-Z]{3}$")


class TooManyAttemptsError(CrimeprevError):
    """Sign-in is throttled after repeated failures."""

    status = 429
    code = "too_many_attempts"


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in user (or a named system actor) and their roles.

    Attributes
    ----------
    user_id : int or None
        The user's id; ``None`` for system actors (migrations, imports, demo).
    username : str
    roles : frozenset of Role
    agency_id, agency_code : int or None, str or None
        The user's agency, which scopes what they see.
    via : str
        How they authenticated: ``session``, ``token``, ``cli`` or ``system``.
    """

    user_id: int | None
    username: str
    roles: frozenset[Role]
    agency_id: int | None = None
    agency_code: str | None = None
    via: str = "session"

    def has_any(self, *roles: Role) -> bool:
        """Return whether the principal holds one of `roles` (administrators hold all).

        Examples
        --------
        >>> Principal(1, "ana", frozenset({Role.VIEWER})).has_any(Role.VIEWER, Role.AUDITOR)
        True
        >>> Principal(2, "root", frozenset({Role.ADMINISTRATOR})).has_any(Role.PROSECUTOR)
        True
        """
        return Role.ADMINISTRATOR in self.roles or any(role in self.roles for role in roles)

    @property
    def is_admin(self) -> bool:
        """Whether the principal is an administrator."""
        return Role.ADMINISTRATOR in self.roles


#: The actor used by set-up code (migrations, demo data, imports run by an operator).
SYSTEM = Principal(None, "system", frozenset({Role.ADMINISTRATOR}), via="system")


def principal_for(user: User, *, via: str) -> Principal:
    """Return the :class:`Principal` of `user`."""
    return Principal(
        user_id=user.id,
        username=user.username,
        roles=user.roles,
        agency_id=user.agency_id,
        agency_code=user.agency.code if user.agency else None,
        via=via,
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_roles(values: Iterable[str | Role]) -> frozenset[Role]:
    """Return the roles named by `values`, refusing unknown names.

    Examples
    --------
    >>> sorted(role.value for role in parse_roles(["viewer", "Asset-Manager"]))
    ['asset_manager', 'viewer']
    """
    roles = set()
    for value in values:
        name = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        try:
            roles.add(Role(name))
        except ValueError:
            known = ", ".join(role.value for role in Role)
            raise InvalidInputError(f"unknown role {value!r}; expected one of {known}") from None
    return frozenset(roles)


def create_agency(
    session: Session, actor: Principal | str, *, code: str, name: str, country: str
) -> Agency:
    """Create an agency; `code` is upper-case letters, digits, ``-`` or ``_``."""
    code = code.strip().upper()
    country = country.strip().upper()
    if not _AGENCY_CODE.match(code):
        raise InvalidInputError(
            f"agency code {code!r} is not valid; use 1-32 letters, digits, '-' or '_'"
        )
    if not _COUNTRY.match(country):
        raise InvalidInputError(
            f"country {country!r} is not an ISO 3166-1 alpha-3 code (e.g. 'ITA', 'KEN')"
        )
    if not name.strip() or len(name.strip()) > 200:
        raise InvalidInputError("agency name must have 1-200 characters")
    if session.execute(select(Agency.id).where(Agency.code == code)).first():
        raise ConflictError(f"agency {code!r} already exists", code=code)
    agency = Agency(code=code, name=name.strip(), country=country, created_at=utcnow())
    session.add(agency)
    session.flush()
    record_audit(
        session,
        actor,
        "create",
        "agency",
        agency.id,
        None,
        {"code": code, "name": agency.name, "country": country},
    )
    return agency


def get_agency(session: Session, code: str) -> Agency:
    """Return the agency with `code` or raise :class:`NotFoundError`."""
    agency = session.execute(select(Agency).where(Agency.code == code.upper())).scalar()
    if agency is None:
        raise NotFoundError(f"no agency with code {code!r}; list them with `crimeprev db agencies`")
    return agency


def list_agencies(session: Session) -> list[Agency]:
    """Return every agency, by code."""
    return list(session.execute(select(Agency).order_by(Agency.code)).scalars())


def _user_snapshot(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "agency_id": user.agency_id,
        "is_active": user.is_active,
        "roles": sorted(role.value for role in user.roles),
    }


def create_user(
    session: Session,
    actor: Principal | str,
    *,
    username: str,
    password: str,
    roles: Iterable[str | Role] = (Role.VIEWER,),
    agency_code: str | None = None,
    full_name: str = "",
    email: str = "",
) -> User:
    """Create a user with an argon2id-hashed password and the given roles.

    Raises
    ------
    InvalidInputError
        For a malformed username, a weak password or an unknown role.
    ConflictError
        If the username is taken.
    NotFoundError
        If `agency_code` names no agency.
    """
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInputError(
            f"username {username!r} is not valid; use 2-64 lower-case letters, digits, '.', "
            "'_' or '-', starting with a letter or digit"
        )
    check_password_strength(password)
    if len(full_name.strip()) > 200 or len(email.strip()) > 254:
        raise InvalidInputError("full_name is limited to 200 characters and email to 254")
    role_set = parse_roles(roles)
    if not role_set:
        raise InvalidInputError("a user needs at least one role")
    if session.execute(select(User.id).where(User.username == username)).first():
        raise ConflictError(f"username {username!r} is taken", username=username)
    agency = get_agency(session, agency_code) if agency_code else None
    now = utcnow()
    user = User(
        username=username,
        full_name=full_name.strip(),
        email=email.strip(),
        password_hash=hash_password(password),
        agency=agency,
        is_active=True,
        created_at=now,
        password_changed_at=now,
        role_links=[UserRole(role=role.value) for role in sorted(role_set)],
    )
    session.add(user)
    session.flush()
    record_audit(session, actor, "create", "user", user.id, None, _user_snapshot(user))
    return user


def get_user(session: Session, username: str) -> User:
    """Return the user named `username` or raise :class:`NotFoundError`."""
    user = session.execute(select(User).where(User.username == username.lower())).scalar()
    if user is None:
        raise NotFoundError(f"no user named {username!r}")
    return user


def list_users(session: Session) -> list[User]:
    """Return every user, by username."""
    return list(session.execute(select(User).order_by(User.username)).scalars())


def set_roles(
    session: Session, actor: Principal | str, username: str, roles: Iterable[str | Role]
) -> User:
    """Replace a user's roles."""
    user = get_user(session, username)
    role_set = parse_roles(roles)
    if not role_set:
        raise InvalidInputError("a user needs at least one role")
    before = _user_snapshot(user)
    user.role_links = [UserRole(role=role.value) for role in sorted(role_set)]
    session.flush()
    record_audit(session, actor, "update", "user", user.id, before, _user_snapshot(user))
    return user


def set_password(session: Session, actor: Principal | str, username: str, password: str) -> None:
    """Set a new password and end the user's sign-in sessions."""
    user = get_user(session, username)
    check_password_strength(password)
    now = utcnow()
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    for web_session in session.execute(
        select(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
    ).scalars():
        web_session.ended_at = now
    record_audit(session, actor, "password_change", "user", user.id, None, None)


def set_active(session: Session, actor: Principal | str, username: str, active: bool) -> User:
    """Enable or disable a user (disabled users cannot sign in or use tokens)."""
    user = get_user(session, username)
    before = _user_snapshot(user)
    user.is_active = active
    session.flush()
    record_audit(session, actor, "update", "user", user.id, before, _user_snapshot(user))
    return user


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failed sign-ins are allowed per username and per client within a window.

    Examples
    --------
    >>> ThrottlePolicy(max_failures=5, window=timedelta(minutes=15)).max_failures
    5
    """

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)


def _recent_failures(session: Session, column: object, value: str, since: datetime) -> int:
    statement = select(func.count(LoginAttempt.id)).where(
        column == value,  # type: ignore[arg-type]
        LoginAttempt.succeeded.is_(False),
        LoginAttempt.at >= since,
    )
    return int(session.execute(statement).scalar_one())


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    client: str = "",
    policy: ThrottlePolicy | None = None,
    now: datetime | None = None,
) -> Principal:
    """Check a username and password, recording the attempt; return the principal.

    After ``policy.max_failures`` failures within ``policy.window`` for the
    same username, or from the same client address, further attempts are
    refused without checking the password until the window has passed.
    The attempt is recorded in the caller's transaction: commit it even when
    this raises (the faces do), or the throttle would never see failures.

    Raises
    ------
    TooManyAttemptsError
        When throttled (HTTP 429).
    AuthenticationError
        For an unknown user, a wrong password or a disabled account (one
        message for all three, so the answer does not reveal which).
    """
    policy = policy or ThrottlePolicy()
    now = now or utcnow()
    username = username.strip().lower()[:64]
    client = client[:64]
    since = now - policy.window
    if policy.max_failures > 0 and (
        _recent_failures(session, LoginAttempt.username, username, since) >= policy.max_failures
        or (
            client
            and _recent_failures(session, LoginAttempt.client, client, since)
            >= policy.max_failures * 4
        )
    ):
        minutes = int(policy.window.total_seconds() // 60)
        raise TooManyAttemptsError(
            f"too many failed sign-ins for {username!r}; wait {minutes} minutes and try again, "
            "or ask an administrator to reset the password",
            retry_after_seconds=int(policy.window.total_seconds()),
        )
    user = session.execute(select(User).where(User.username == username)).scalar()
    if user is None:
        dummy_verify(password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password) and user.is_active
    session.add(LoginAttempt(username=username, client=client, succeeded=ok, at=now))
    session.flush()
    if not ok or user is None:
        raise AuthenticationError("wrong username or password, or the account is disabled")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return principal_for(user, via="session")


@dataclass(frozen=True)
class IssuedToken:
    """A new API token. `secret` is shown once and never stored."""

    id: int
    name: str
    secret: str
    expires_at: datetime | None


def create_api_token(
    session: Session,
    actor: Principal | str,
    username: str,
    *,
    name: str,
    lifetime: timedelta | None = None,
) -> IssuedToken:
    """Issue an API token for `username`; only its SHA-256 digest is kept."""
    user = get_user(session, username)
    if not name.strip():
        raise InvalidInputError("give the token a name saying what it is for")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        name=name.strip()[:100],
        prefix=secret[:12],
        token_hash=_digest(secret),
        created_at=now,
        expires_at=now + lifetime if lifetime else None,
    )
    session.add(token)
    session.flush()
    record_audit(
        session,
        actor,
        "create",
        "api_token",
        token.id,
        None,
        {"user_id": user.id, "name": token.name, "prefix": token.prefix},
    )
    return IssuedToken(token.id, token.name, secret, token.expires_at)


def list_api_tokens(session: Session, username: str) -> list[ApiToken]:
    """Return a user's API tokens (digests only), newest first."""
    user = get_user(session, username)
    statement = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return list(session.execute(statement).scalars())


def revoke_api_token(session: Session, actor: Principal | str, token_id: int) -> None:
    """Revoke a token; later requests with it get 401.

    A principal may revoke their own tokens; administrators may revoke any.
    """
    token = session.get(ApiToken, token_id)
    if token is None or (
        isinstance(actor, Principal) and not actor.is_admin and token.user_id != actor.user_id
    ):
        raise NotFoundError(f"no API token with id {token_id} among yours")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_audit(session, actor, "revoke", "api_token", token.id, None, None)


def resolve_api_token(session: Session, secret: str) -> Principal:
    """Return the principal of a bearer token, or raise :class:`AuthenticationError`."""
    token = session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(secret))).scalar()
    now = utcnow()
    if (
        token is None
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
        or not token.user.is_active
    ):
        raise AuthenticationError(
            "the API token is unknown, revoked or expired; create one with "
            "`crimeprev db create-token`"
        )
    token.last_used_at = now
    return principal_for(token.user, via="token")


@dataclass(frozen=True)
class IssuedSession:
    """A new sign-in session: the cookie secret (never stored) and the CSRF token."""

    secret: str
    csrf_token: str
    expires_at: datetime


def start_web_session(
    session: Session, principal: Principal, *, lifetime: timedelta = timedelta(hours=8)
) -> IssuedSession:
    """Open a browser session for a signed-in principal."""
    if principal.user_id is None:
        raise InvalidInputError("only users can have browser sessions")
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            user_id=principal.user_id,
            token_hash=_digest(secret),
            csrf_token=csrf,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    record_audit(session, principal, "sign_in", "user", principal.user_id, None, None)
    return IssuedSession(secret, csrf, now + lifetime)


@dataclass(frozen=True)
class ActiveSession:
    """A valid browser session: who, and the CSRF token their forms must carry."""

    principal: Principal
    csrf_token: str


def resolve_web_session(session: Session, secret: str) -> ActiveSession:
    """Return the active session for a cookie secret, or raise :class:`AuthenticationError`."""
    row = session.execute(
        select(WebSession).where(WebSession.token_hash == _digest(secret))
    ).scalar()
    if (
        row is None
        or row.ended_at is not None
        or row.expires_at <= utcnow()
        or not row.user.is_active
    ):
        raise AuthenticationError("your session has ended; sign in again")
    return ActiveSession(principal_for(row.user, via="session"), row.csrf_token)


def end_web_session(session: Session, secret: str) -> None:
    """Sign out: end the session of this cookie secret (unknown secrets are ignored)."""
    row = session.execute(
        select(WebSession).where(WebSession.token_hash == _digest(secret))
    ).scalar()
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        record_audit(session, row.user, "sign_out", "user", row.user_id, None, None)
