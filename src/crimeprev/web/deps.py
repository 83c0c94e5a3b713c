"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from fastapi import Request

from crimeprev.config import Settings


def get_app_settings(request: Request) -> Settings:
    """Return the settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings
