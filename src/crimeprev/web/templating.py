"""Jinja2 templates shared by every page router."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from crimeprev import __version__

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["version"] = __version__


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a template with the navigation and the request in its context."""
    values: dict[str, Any] = {
        "navigation": getattr(request.app.state, "navigation", ()),
    }
    values.update(context or {})
    return templates.TemplateResponse(request, name, values, status_code=status_code)
