"""The ICCS browser pages: tree, search with live results, a page per code."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from crimeprev.standards import iccs
from crimeprev.web.templating import render

router = APIRouter(prefix="/iccs", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def browser(request: Request) -> HTMLResponse:
    """The tree of sections and level-2 codes, with a search box."""
    tree = [(section, iccs.children(section.code)) for section in iccs.sections()]
    return render(request, "iccs/browser.html", {"tree": tree})


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, q: str = Query("", description="search text")) -> HTMLResponse:
    """Search results: a fragment for htmx requests, a full page otherwise."""
    hits = iccs.search(q, limit=25) if q.strip() else []
    partial = request.headers.get("HX-Request") == "true"
    template = "iccs/_results.html" if partial else "iccs/search.html"
    return render(request, template, {"query": q, "hits": hits})


@router.get("/tags", response_class=HTMLResponse)
def tags(request: Request) -> HTMLResponse:
    """The disaggregating variables."""
    return render(request, "iccs/tags.html", {"tags": iccs.tags()})


@router.get("/{code}", response_class=HTMLResponse)
def code_page(request: Request, code: str) -> HTMLResponse:
    """One code with its parent, children and index terms."""
    item = iccs.get(code)
    context = {
        "item": item,
        "ancestors": iccs.ancestors(item.code),
        "children": iccs.children(item.code),
        "terms": iccs.index_terms(item.code),
        "tags": iccs.tags(),
    }
    return render(request, "iccs/code.html", context)
