"""The survey pages: NCVS 2021 estimates with intervals, ad-hoc estimates, the dark figure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from crimeprev.errors import CrimeprevError
from crimeprev.survey.io import NEEDS_FILE, PROFILES
from crimeprev.survey.report import STATISTICS
from crimeprev.web.api.survey import (
    dark_figure_data,
    overview_data,
    parse_police_text,
    run_estimate,
)
from crimeprev.web.templating import render

router = APIRouter(prefix="/survey", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    """NCVS 2021: victimisations, reporting rates, household indicators, forms."""
    context = {
        "data": overview_data(),
        "profiles": [name for name in PROFILES if name not in NEEDS_FILE],
        "statistics": STATISTICS,
    }
    return render(request, "survey/overview.html", context)


@router.get("/estimate", response_class=HTMLResponse)
def estimate_partial(
    request: Request,
    variables: str = "property",
    profile: str = "ncvs_2021_households",
    statistic: str = "mean",
    denominators: str = "",
    by: str = "",
    level: float = 0.95,
    interval: str = "logit",
) -> HTMLResponse:
    """Estimates as a table and chart (an htmx fragment, or a page on its own)."""
    names = [v.strip() for v in variables.replace(",", " ").split() if v.strip()]
    try:
        result = run_estimate(
            profile,
            statistic,
            names,
            [d.strip() for d in denominators.replace(",", " ").split() if d.strip()],
            [b.strip() for b in by.replace(",", " ").split() if b.strip()],
            level,
            interval,
            [0.5],
        )
        context: dict[str, Any] = {"result": result, "error": None}
    except CrimeprevError as error:
        context = {"result": None, "error": error.message}
    return render(request, "survey/_estimates.html", context)


@router.post("/dark-figure", response_class=HTMLResponse)
def dark_figure_partial(
    request: Request,
    police: str = Form(...),
    method: str = Form("log-delta"),
) -> HTMLResponse:
    """Dark figure table and chart from police counts typed into the form."""
    try:
        context: dict[str, Any] = {
            "result": dark_figure_data(parse_police_text(police), method, 0.95),
            "error": None,
        }
    except CrimeprevError as error:
        context = {"result": None, "error": error.message}
    return render(request, "survey/_dark_figure.html", context)
