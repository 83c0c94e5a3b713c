"""The Kyoto Declaration pages: pillars, paragraphs, thematic sessions and questions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from crimeprev.standards import kyoto
from crimeprev.web.templating import render

router = APIRouter(prefix="/kyoto", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    """Pillars with their paragraphs; pillar I in full."""
    groups = [(pillar, kyoto.paragraphs(pillar.number)) for pillar in kyoto.pillars()]
    follow_up = kyoto.paragraph(kyoto.declaration().follow_up_paragraph)
    context = {
        "declaration": kyoto.declaration(),
        "groups": groups,
        "follow_up": follow_up,
        "sessions": kyoto.sessions(),
    }
    return render(request, "kyoto/overview.html", context)


@router.get("/paragraphs/{number}", response_class=HTMLResponse)
def paragraph(request: Request, number: int) -> HTMLResponse:
    """One paragraph, with the sessions that discussed it."""
    item = kyoto.paragraph(number)
    discussed = [kyoto.session(n) for n in item.session_numbers]
    return render(request, "kyoto/paragraph.html", {"item": item, "sessions": discussed})


@router.get("/sessions", response_class=HTMLResponse)
def sessions(request: Request) -> HTMLResponse:
    """The three thematic sessions of November 2021 with their questions."""
    return render(request, "kyoto/sessions.html", {"sessions": kyoto.sessions()})
