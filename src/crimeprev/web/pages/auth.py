"""Sign-in pages: /login, /logout and /account (API tokens).

The sign-in form is protected against CSRF by a double-submit cookie (there is
no session yet); every later form carries the session's CSRF token. This router
also carries the app's database lifespan: the database is created or upgraded
when the app starts (see :mod:`crimeprev.web.auth`).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from crimeprev.config import Settings
from crimeprev.db.accounts import (
    Principal,
    TooManyAttemptsError,
    authenticate,
    create_api_token,
    end_web_session,
    list_api_tokens,
    revoke_api_token,
    start_web_session,
)
from crimeprev.errors import AuthenticationError
from crimeprev.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    client_address,
    csrf_matches,
    database_lifespan,
    db_session,
    is_local_path,
    new_login_csrf,
    optional_principal,
    page_csrf_token,
    page_principal,
    session_lifetime,
    throttle_policy,
)
from crimeprev.web.deps import get_app_settings
from crimeprev.web.templating import render

router = APIRouter(include_in_schema=False, lifespan=database_lifespan)


def _login_form(
    request: Request, next_path: str, *, message: str = "", status_code: int = 200
) -> HTMLResponse:
    token = new_login_csrf()
    response = render(
        request,
        "auth/login.html",
        {"csrf_token": token, "next": next_path, "message": message},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=3600,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    next_path: str = Query("/", alias="next", max_length=2000),
    principal: Principal | None = Depends(optional_principal),
) -> Response:
    """The sign-in form (signed-in users go straight on)."""
    target = next_path if is_local_path(next_path) else "/"
    if principal is not None:
        return RedirectResponse(target, status_code=303)
    return _login_form(request, target)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: str = Form(..., max_length=200),
    password: str = Form(..., max_length=1000),
    csrf_token: str = Form(""),
    next_path: str = Form("/", alias="next", max_length=2000),
    session: Session = Depends(db_session),
    settings: Settings = Depends(get_app_settings),
) -> Response:
    """Check the credentials, open a session and go on to `next`."""
    target = next_path if is_local_path(next_path) else "/"
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        return _login_form(
            request,
            target,
            message="The form expired or was not sent from this site; please sign in again.",
            status_code=403,
        )
    session.begin()
    try:
        principal = authenticate(
            session,
            username,
            password,
            client=client_address(request),
            policy=throttle_policy(settings),
        )
    except TooManyAttemptsError as error:
        session.rollback()
        refused = _login_form(request, target, message=error.message, status_code=429)
        refused.headers["Retry-After"] = str(error.details.get("retry_after_seconds", 60))
        return refused
    except AuthenticationError as error:
        session.commit()  # keep the failed attempt: the throttle counts it
        return _login_form(request, target, message=error.message, status_code=401)
    issued = start_web_session(session, principal, lifetime=session_lifetime(settings))
    session.commit()
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.secret,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=int(session_lifetime(settings).total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request,
    principal: Principal = Depends(page_principal),  # checks the CSRF token
    session: Session = Depends(db_session),
) -> Response:
    """End the session and go to the home page."""
    del principal
    with session.begin():
        end_web_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _account(
    request: Request, session: Session, principal: Principal, new_secret: str = ""
) -> HTMLResponse:
    with session.begin():
        tokens = list_api_tokens(session, principal.username)
    return render(
        request,
        "auth/account.html",
        {
            "principal": principal,
            "tokens": tokens,
            "new_secret": new_secret,
            "csrf_token": page_csrf_token(request),
        },
    )


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request,
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> HTMLResponse:
    """Who you are, your roles and your API tokens."""
    return _account(request, session, principal)


@router.post("/account/tokens", response_class=HTMLResponse)
def account_new_token(
    request: Request,
    name: str = Form(..., min_length=1, max_length=100),
    lifetime_days: int = Form(90, ge=1, le=3650),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> HTMLResponse:
    """Create an API token and show its secret once."""
    with session.begin():
        issued = create_api_token(
            session,
            principal,
            principal.username,
            name=name,
            lifetime=timedelta(days=lifetime_days),
        )
    return _account(request, session, principal, new_secret=issued.secret)


@router.post("/account/tokens/{token_id}/revoke")
def account_revoke_token(
    token_id: int,
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Revoke one of your API tokens."""
    with session.begin():
        revoke_api_token(session, principal, token_id)
    return RedirectResponse("/account", status_code=303)
