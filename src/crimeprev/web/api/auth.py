"""JSON endpoints for who is signed in and their API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from crimeprev.db.accounts import (
    Principal,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
)
from crimeprev.web.auth import current_principal, db_session

router = APIRouter(prefix="/api/auth", tags=["Sign-in and API tokens"])


def principal_json(principal: Principal) -> dict[str, Any]:
    """A principal as JSON."""
    return {
        "user_id": principal.user_id,
        "username": principal.username,
        "roles": sorted(role.value for role in principal.roles),
        "agency": principal.agency_code,
        "via": principal.via,
    }


@router.get("/me")
def me(principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Who is asking, with roles and agency (JSON twin of /account)."""
    return principal_json(principal)


@router.get("/tokens")
def tokens(
    principal: Principal = Depends(current_principal), session: Session = Depends(db_session)
) -> dict[str, Any]:
    """Your API tokens (never their secrets)."""
    with session.begin():
        rows = list_api_tokens(session, principal.username)
        return {
            "tokens": [
                {
                    "id": row.id,
                    "name": row.name,
                    "prefix": row.prefix,
                    "created_at": row.created_at.isoformat(),
                    "expires_at": row.expires_at.isoformat() if row.expires_at else None,
                    "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
                    "revoked": row.revoked_at is not None,
                }
                for row in rows
            ]
        }


class NewToken(BaseModel):
    """A request for a new API token."""

    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    lifetime_days: int = Field(default=90, ge=1, le=3650, description="Days until it expires.")


@router.post("/tokens", status_code=201)
def new_token(
    body: NewToken,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Create an API token for yourself; the secret is in this answer only."""
    with session.begin():
        issued = create_api_token(
            session,
            principal,
            principal.username,
            name=body.name,
            lifetime=timedelta(days=body.lifetime_days),
        )
    return {
        "id": issued.id,
        "name": issued.name,
        "token": issued.secret,
        "expires_at": issued.expires_at.isoformat() if issued.expires_at else None,
    }


@router.delete("/tokens/{token_id}", status_code=204)
def delete_token(
    token_id: int,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> None:
    """Revoke one of your tokens (administrators: anyone's)."""
    with session.begin():
        revoke_api_token(session, principal, token_id)
