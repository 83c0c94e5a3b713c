"""The web app factory: one FastAPI app with JSON endpoints under ``/api/`` and pages.

Each domain contributes two routers, ``crimeprev.web.api.<domain>.router``
(JSON) and ``crimeprev.web.pages.<domain>.router`` (HTML), listed once in
:data:`DOMAINS`. Navigation entries come from :data:`NAVIGATION`. Nothing
connects at import time: :func:`create_app` receives the settings and keeps
them on ``app.state.settings``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from crimeprev import __version__
from crimeprev.config import Settings, get_settings
from crimeprev.web.errors import install_error_handlers

STATIC_DIR = Path(__file__).parent / "static"

#: Domains whose ``api`` and ``pages`` modules are mounted, in navigation order.
DOMAINS: tuple[str, ...] = (
    "home",
    "iccs",
    "kyoto",
    "stats",
    "tracker",
    "auth",
    "assets",
    "spatial",
    "survey",
)

#: (label, path) pairs of the top navigation bar.
NAVIGATION: tuple[tuple[str, str], ...] = (
    ("ICCS", "/iccs"),
    ("Kyoto Declaration", "/kyoto"),
    ("Crime statistics", "/stats"),
    ("Kyoto follow-up", "/tracker"),
    ("Where and when", "/spatial"),
    ("Surveys", "/survey"),
    ("Asset recovery", "/assets"),
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web app for ``settings`` (read from the environment when omitted)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="crimeprev",
        version=__version__,
        description="Crime data into evidence for crime prevention.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.navigation = NAVIGATION
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)

    @app.get("/api/docs", include_in_schema=False)
    def openapi_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="crimeprev API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    for domain in DOMAINS:
        for face in ("api", "pages"):
            try:
                module = importlib.import_module(f"crimeprev.web.{face}.{domain}")
            except ModuleNotFoundError as error:
                if error.name != f"crimeprev.web.{face}.{domain}":
                    raise
                continue
            app.include_router(module.router)
    return app
