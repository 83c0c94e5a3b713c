"""Web authentication shared by every registry: the database, who is asking, roles, CSRF.

FastAPI dependencies that domain routers reuse:

* :func:`get_database` / :func:`db_session`: the app's :class:`~crimeprev.db.Database`
  (created and upgraded to the newest migration when the app starts) and one
  SQLAlchemy session per request;
* :func:`optional_principal`, :func:`current_principal`: who is asking, from an
  ``Authorization: Bearer <token>`` header (API tokens) or the sign-in cookie
  (pages); unsafe requests made with the cookie must carry the session's CSRF
  token (form field ``csrf_token`` or header ``X-CSRF-Token``);
* :func:`require_roles`: a dependency factory refusing other roles with 403;
* :func:`page_principal`: like :func:`current_principal` but sends browsers to
  ``/login`` instead of answering 401.

Cookies are ``HttpOnly`` and ``SameSite=Lax``; the cookie holds a random secret
whose SHA-256 digest is looked up in ``web_session``, so signing out or
disabling a user ends the session at once.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from sqlalchemy.orm import Session

from crimeprev.config import Settings
from crimeprev.db.accounts import (
    ActiveSession,
    Principal,
    ThrottlePolicy,
    resolve_api_token,
    resolve_web_session,
)
from crimeprev.db.engine import Database
from crimeprev.db.models import Role
from crimeprev.errors import AuthenticationError, PermissionDeniedError

#: Cookie holding the sign-in session secret.
SESSION_COOKIE = "crimeprev_session"
#: Cookie holding the CSRF token of the sign-in form (before there is a session).
LOGIN_CSRF_COOKIE = "crimeprev_login_csrf"
#: Header that carries the CSRF token on htmx / fetch requests.
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_database_lock = threading.Lock()


def open_app_database(app: FastAPI) -> Database:
    """Return the app's database, creating it and applying migrations on first use."""
    database: Database | None = getattr(app.state, "database", None)
    if database is not None:
        return database
    with _database_lock:
        database = getattr(app.state, "database", None)
        if database is None:
            settings: Settings = app.state.settings
            if settings.database_url.startswith("sqlite"):
                settings.ensure_data_dir()
            database = Database(settings.database_url)
            database.upgrade()
            app.state.database = database
    return database


@asynccontextmanager
async def database_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Upgrade the database when the app starts; close its connections when it stops."""
    open_app_database(app)
    try:
        yield
    finally:
        database: Database | None = getattr(app.state, "database", None)
        if database is not None:
            database.dispose()
            app.state.database = None


def get_database(request: Request) -> Database:
    """FastAPI dependency: the app's database."""
    return open_app_database(request.app)


def db_session(database: Database = Depends(get_database)) -> Iterator[Session]:
    """FastAPI dependency: a session for this request, closed afterwards.

    Routes open their own transactions (``with session.begin(): ...``); the
    principal dependencies below commit theirs before the route runs.
    """
    with database.session() as session:
        yield session


def throttle_policy(settings: Settings) -> ThrottlePolicy:
    """The login throttle configured in `settings`."""
    return ThrottlePolicy(
        max_failures=settings.login_max_failures,
        window=timedelta(minutes=settings.login_window_minutes),
    )


def session_lifetime(settings: Settings) -> timedelta:
    """How long a sign-in session lasts."""
    return timedelta(hours=settings.session_lifetime_hours)


def client_address(request: Request) -> str:
    """The client's address, used to throttle sign-in attempts."""
    return request.client.host if request.client else ""


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def _submitted_csrf(request: Request) -> str:
    token = request.headers.get(CSRF_HEADER, "")
    if token:
        return token
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


def csrf_matches(expected: str, submitted: str) -> bool:
    """Compare CSRF tokens in constant time.

    Examples
    --------
    >>> csrf_matches("abc", "abc"), csrf_matches("abc", "abd"), csrf_matches("abc", "")
    (True, False, False)
    """
    return bool(submitted) and hmac.compare_digest(expected.encode(), submitted.encode())


async def optional_principal(
    request: Request, session: Session = Depends(db_session)
) -> Principal | None:
    """FastAPI dependency: who is asking, or ``None`` for an anonymous request.

    Raises
    ------
    AuthenticationError
        For an unknown, revoked or expired API token (401).
    PermissionDeniedError
        For an unsafe request made with the sign-in cookie but without the
        session's CSRF token (403).
    """
    token = _bearer(request)
    if token is not None:
        with session.begin():
            principal = resolve_api_token(session, token)
        request.state.principal = principal
        return principal
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    try:
        with session.begin():
            active: ActiveSession = resolve_web_session(session, secret)
    except AuthenticationError:
        return None
    request.state.csrf_token = active.csrf_token
    request.state.principal = active.principal
    if request.method not in SAFE_METHODS and not csrf_matches(
        active.csrf_token, await _submitted_csrf(request)
    ):
        raise PermissionDeniedError(
            "the form's security token (CSRF) is missing or does not match your session; "
            "reload the page and submit again"
        )
    return active.principal


async def current_principal(
    principal: Principal | None = Depends(optional_principal),
) -> Principal:
    """FastAPI dependency: who is asking; 401 when nobody signed in."""
    if principal is None:
        raise AuthenticationError(
            "sign in first: send 'Authorization: Bearer <token>' (create one with "
            "`crimeprev db create-token`) or sign in at /login"
        )
    return principal


def require_roles(*roles: Role) -> Callable[..., Any]:
    """Return a dependency admitting principals with any of `roles` (administrators always).

    Examples
    --------
    >>> dependency = require_roles(Role.AUDITOR)
    >>> callable(dependency)
    True
    """
    names = ", ".join(role.value for role in roles)

    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.has_any(*roles):
            raise PermissionDeniedError(
                f"this needs one of the roles {names}; {principal.username} has "
                f"{', '.join(sorted(r.value for r in principal.roles)) or 'none'}",
                required=sorted(role.value for role in roles),
            )
        return principal

    return dependency


async def page_principal(
    request: Request, principal: Principal | None = Depends(optional_principal)
) -> Principal:
    """FastAPI dependency for pages: the signed-in user, or a redirect to ``/login``."""
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            status_code=303,
            detail="sign in to see this page",
            headers={"Location": f"/login?next={quote(target, safe='')}"},
        )
    return principal


def page_csrf_token(request: Request) -> str:
    """The CSRF token that forms on this page must carry (empty when signed out)."""
    return str(getattr(request.state, "csrf_token", ""))


def new_login_csrf() -> str:
    """A fresh token for the sign-in form's double-submit cookie."""
    return secrets.token_urlsafe(32)


def is_local_path(target: str) -> bool:
    """Whether `target` is a path on this site (so redirecting there after sign-in is safe).

    Examples
    --------
    >>> is_local_path("/assets/3"), is_local_path("//evil.example"), is_local_path("http://x")
    (True, False, False)
    """
    return target.startswith("/") and not target.startswith("//") and "\\" not in target
