"""The home page: what crimeprev does and for whom."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from crimeprev.web.templating import render

router = APIRouter(include_in_schema=False)

#: The mission areas shown on the home page: (title, who it serves, what it does).
AREAS: tuple[tuple[str, str, str], ...] = (
    (
        "Crime statistics on the ICCS",
        "statistics offices, ministries, police",
        "Import police records, code them to the ICCS, compute rates, trends and SDG indicators, "
        "check quality and exchange SDMX.",
    ),
    (
        "Victimisation surveys",
        "survey analysts",
        "Design-based estimates, reporting rates and the dark figure of crime never reported.",
    ),
    (
        "Hidden crime",
        "researchers",
        "Multiple systems estimation of populations no single list sees, "
        "such as trafficking victims.",
    ),
    (
        "Where and when",
        "city safety coordinators, police analysts",
        "Hot spots, kernel density, near-repeat patterns, forecast accuracy and maps.",
    ),
    (
        "What works",
        "city safety coordinators, researchers",
        "Evaluated programmes, meta-analysis, interrupted time series, difference-in-differences "
        "and cost-benefit analysis.",
    ),
    (
        "Asset recovery",
        "asset recovery and management offices",
        "A registry of frozen, seized and confiscated assets through management and disposal, "
        "with the fund's ledger.",
    ),
    (
        "Follow-up of the Kyoto Declaration",
        "the Commission secretariat, Member States' focal points",
        "Track implementation and share good practices.",
    ),
    (
        "Gender, children and youth",
        "everyone above",
        "Disaggregation by sex and age, gender-related killings and juvenile justice indicators "
        "across every area.",
    ),
)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """Render the home page."""
    return render(request, "home.html", {"areas": AREAS})
