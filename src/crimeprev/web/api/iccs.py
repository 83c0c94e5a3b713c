"""JSON endpoints of the ICCS browser."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query

from crimeprev.standards import iccs

router = APIRouter(prefix="/api/iccs", tags=["ICCS"])


def code_summary(item: iccs.IccsCode) -> dict[str, Any]:
    """Return the short JSON form of a code."""
    return {"code": item.code, "level": item.level, "label": item.label}


def code_detail(code: str) -> dict[str, Any]:
    """Return everything the code page shows, as JSON."""
    item = iccs.get(code)
    parent = iccs.parent(item.code)
    return {
        **asdict(item),
        "parent": code_summary(parent) if parent else None,
        "ancestors": [code_summary(a) for a in iccs.ancestors(item.code)],
        "children": [code_summary(c) for c in iccs.children(item.code)],
        "index_terms": [asdict(t) for t in iccs.index_terms(item.code)],
    }


@router.get("")
def sections() -> dict[str, Any]:
    """The 11 sections with their level-2 children."""
    return {
        "sections": [
            {**code_summary(s), "children": [code_summary(c) for c in iccs.children(s.code)]}
            for s in iccs.sections()
        ]
    }


@router.get("/search")
def search(
    q: str = Query(..., min_length=1, description="Words, a phrase or a code"),
    limit: int = Query(10, ge=1, le=100),
    level: int | None = Query(None, ge=1, le=4),
) -> dict[str, Any]:
    """Ranked search over codes, labels and index terms."""
    return {
        "query": q,
        "results": [asdict(hit) for hit in iccs.search(q, limit=limit, level=level)],
    }


@router.get("/tags")
def tags() -> dict[str, Any]:
    """The disaggregating variables (tags) of ICCS Tables II-V."""
    return {"tags": [asdict(t) for t in iccs.tags()]}


@router.get("/{code}")
def code(code: str) -> dict[str, Any]:
    """One code with its parent, ancestors, children and index terms."""
    return code_detail(code)
