"""User and agency administration for the registry's faces (administrators only).

Thin rules around :mod:`crimeprev.db.accounts`, which does the work and
writes the audit records: every function here first checks that the acting
principal is an administrator, so the API, the page and any future face share
one authorisation rule. An administrator may not deactivate their own account
(the last one would lock everybody out of administration).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from crimeprev.assets.access import require
from crimeprev.db import accounts
from crimeprev.db.accounts import IssuedToken, Principal
from crimeprev.db.models import Agency, ApiToken, Role, User
from crimeprev.errors import ConflictError, InvalidInputError

#: No role but the administrator's: :func:`require` always admits administrators.
_ADMIN_ONLY: frozenset[Role] = frozenset()
#: Longest API token lifetime an administrator may set, in days.
MAX_TOKEN_DAYS = 3660


def check_admin(principal: Principal, action: str) -> None:
    """Raise :class:`~crimeprev.errors.PermissionDeniedError` unless `principal` administers."""
    require(principal, _ADMIN_ONLY, action)


def agency_json(agency: Agency) -> dict[str, Any]:
    """An agency as JSON-ready data."""
    return {"id": agency.id, "code": agency.code, "name": agency.name, "country": agency.country}


def token_json(token: ApiToken) -> dict[str, Any]:
    """An API token's public facts (never its digest)."""
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked": token.revoked_at is not None,
    }


def user_json(session: Session, user: User) -> dict[str, Any]:
    """A user as JSON-ready data with roles and API tokens (no password hash)."""
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "agency": user.agency.code if user.agency else None,
        "roles": sorted(role.value for role in user.roles),
        "active": user.is_active,
        "tokens": [token_json(t) for t in accounts.list_api_tokens(session, user.username)],
    }


def overview(session: Session, principal: Principal) -> dict[str, Any]:
    """Every agency and user, for the administration page and its JSON twin."""
    check_admin(principal, "listing users and agencies")
    return {
        "agencies": [agency_json(a) for a in accounts.list_agencies(session)],
        "users": [user_json(session, u) for u in accounts.list_users(session)],
        "roles": [role.value for role in Role],
    }


def create_agency(
    session: Session, principal: Principal, *, code: str, name: str, country: str
) -> Agency:
    """Create an agency (audited)."""
    check_admin(principal, "creating an agency")
    return accounts.create_agency(session, principal, code=code, name=name, country=country)


def create_user(
    session: Session,
    principal: Principal,
    *,
    username: str,
    password: str,
    roles: Iterable[str],
    agency: str = "",
    full_name: str = "",
    email: str = "",
) -> User:
    """Create a user with roles and an agency (audited; the password is argon2-hashed)."""
    check_admin(principal, "creating a user")
    return accounts.create_user(
        session,
        principal,
        username=username,
        password=password,
        roles=list(roles),
        agency_code=agency.strip() or None,
        full_name=full_name,
        email=email,
    )


def set_active(session: Session, principal: Principal, username: str, *, active: bool) -> User:
    """Deactivate (or reactivate) a user: a deactivated user can neither sign in nor use tokens."""
    check_admin(principal, "activating or deactivating a user")
    if not active and username.strip().lower() == principal.username:
        raise ConflictError(
            "you cannot deactivate your own account; ask another administrator to do it"
        )
    return accounts.set_active(session, principal, username, active)


def set_roles(session: Session, principal: Principal, username: str, roles: Iterable[str]) -> User:
    """Replace a user's roles (audited); an administrator may not drop their own administration."""
    check_admin(principal, "changing a user's roles")
    wanted = accounts.parse_roles(roles)
    if username.strip().lower() == principal.username and Role.ADMINISTRATOR not in wanted:
        raise ConflictError(
            "you cannot remove your own administrator role; ask another administrator to do it"
        )
    return accounts.set_roles(session, principal, username, wanted)


def issue_token(
    session: Session, principal: Principal, username: str, *, name: str, days: int | None = None
) -> IssuedToken:
    """Issue an API token for a user; the secret is in the result and is never shown again."""
    check_admin(principal, "issuing an API token")
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInputError(
            f"token lifetime {days} days is out of range; expected 1-{MAX_TOKEN_DAYS} days "
            "or none for no expiry",
            field="days",
        )
    lifetime = timedelta(days=days) if days else None
    return accounts.create_api_token(session, principal, username, name=name, lifetime=lifetime)


def revoke_token(session: Session, principal: Principal, token_id: int) -> None:
    """Revoke an API token of any user (audited); later requests with it get 401."""
    check_admin(principal, "revoking an API token")
    accounts.revoke_api_token(session, principal, token_id)
