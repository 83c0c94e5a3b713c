"""Service endpoints: health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from crimeprev import __version__

router = APIRouter(prefix="/api", tags=["service"])


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Report that the app is up, with its version."""
    return {"status": "ok", "version": __version__, "domains": list(request.app.state.navigation)}
