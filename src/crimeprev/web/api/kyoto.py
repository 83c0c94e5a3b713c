"""JSON endpoints of the Kyoto Declaration pages."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from crimeprev.standards import kyoto

router = APIRouter(prefix="/api/kyoto", tags=["Kyoto Declaration"])


def paragraph_json(item: kyoto.Paragraph) -> dict[str, Any]:
    """Return a paragraph as JSON, with its pillar's number."""
    body = asdict(item)
    body["pillar"] = item.pillar.number if item.pillar else None
    return body


@router.get("")
def overview() -> dict[str, Any]:
    """The declaration with its pillars."""
    return {
        "declaration": asdict(kyoto.declaration()),
        "pillars": [asdict(p) for p in kyoto.pillars()],
    }


@router.get("/paragraphs")
def paragraphs(pillar: str | None = None) -> dict[str, Any]:
    """Paragraphs, optionally of one pillar (1-4 or I-IV)."""
    chosen = int(pillar) if pillar and pillar.isdigit() else pillar
    return {"paragraphs": [paragraph_json(p) for p in kyoto.paragraphs(chosen)]}


@router.get("/paragraphs/{number}")
def paragraph(number: int) -> dict[str, Any]:
    """One paragraph."""
    return paragraph_json(kyoto.paragraph(number))


@router.get("/sessions")
def sessions() -> dict[str, Any]:
    """The thematic sessions of November 2021 with topics and questions."""
    return {"sessions": [asdict(s) for s in kyoto.sessions()]}


@router.get("/sessions/{number}")
def session(number: int) -> dict[str, Any]:
    """One thematic session."""
    return asdict(kyoto.session(number))
