"""JSON API of the Kyoto tracker: search, views, submissions, practices, exports.

Reading is open to everyone and returns what the caller may see (the public:
published content only). Writing needs a signed-in focal point or the
secretariat (``Authorization: Bearer <token>``, or the sign-in cookie with
the CSRF token). Every route calls one library function.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from crimeprev.db.accounts import Principal
from crimeprev.errors import DataFileError, InvalidInputError, NotFoundError
from crimeprev.store.warehouse import Warehouse
from crimeprev.tracker import exports, review, service, views
from crimeprev.tracker.access import (
    TrackerActor,
    actor_for,
    grant_membership,
    list_memberships,
    require_secretariat,
    revoke_membership,
)
from crimeprev.tracker.indicators import existing_warehouse
from crimeprev.tracker.member_states import member_states
from crimeprev.tracker.models import Discussion, Practice, Submission
from crimeprev.tracker.questionnaire import questionnaire_template
from crimeprev.tracker.search import FACETS, SearchResult, search
from crimeprev.tracker.tagging import suggest_tags
from crimeprev.web.auth import db_session, optional_principal

router = APIRouter(prefix="/api/tracker", tags=["Kyoto tracker"])

_reference_lock = threading.Lock()


def _ensure_reference(request: Request, session: Session) -> None:
    # The reference tables (States, paragraphs, discussions) are filled once per app.
    if getattr(request.app.state, "tracker_reference_ready", False):
        return
    with _reference_lock:
        if not getattr(request.app.state, "tracker_reference_ready", False):
            with session.begin():
                service.sync_reference(session)
            request.app.state.tracker_reference_ready = True


def tracker_session(request: Request, session: Session = Depends(db_session)) -> Iterator[Session]:
    """A database session with the reference data loaded."""
    _ensure_reference(request, session)
    yield session


def tracker_actor(
    session: Session = Depends(tracker_session),
    principal: Principal | None = Depends(optional_principal),
) -> TrackerActor:
    """Who is asking, with tracker rights resolved (the public when signed out)."""
    with session.begin():
        return actor_for(session, principal)


def upload_limit(request: Request) -> int:
    """Largest upload accepted (bytes), from the settings."""
    return int(request.app.state.settings.tracker_upload_max_bytes)


@contextmanager
def optional_warehouse(request: Request) -> Iterator[Warehouse | None]:
    """The app's warehouse when it exists and opens, else None (see ``existing_warehouse``)."""
    with existing_warehouse(str(request.app.state.settings.warehouse_url)) as warehouse:
        yield warehouse


def _in_mib(size: int) -> str:
    """`` (10.0 MiB)`` for sizes of a mebibyte or more, else nothing.

    Examples
    --------
    >>> _in_mib(10 * 2**20), _in_mib(200)
    (' (10.0 MiB)', '')
    """
    return f" ({size / 2**20:.1f} MiB)" if size >= 2**20 else ""


async def read_upload(upload: UploadFile, limit: int) -> bytes:
    """Read an upload, refusing it as soon as it passes `limit` (+1 byte to detect it).

    Raises
    ------
    DataFileError
        If the upload is larger than `limit` bytes; its true size is not known
        (the rest is never read), so the message gives the limit only.
    """
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise DataFileError(
            f"the file is over the limit of {limit} bytes{_in_mib(limit)}; "
            "split it or upload a smaller version",
            file=upload.filename or "upload",
        )
    return content


class AnswerBody(BaseModel):
    """An answer in a submission."""

    question: int = Field(description="Question number within the discussion")
    text: str = Field(description="The answer; empty leaves the question unanswered")
    paragraphs: list[int] = Field(default_factory=list, description="Kyoto paragraphs (21-96)")
    population_groups: list[str] = Field(default_factory=list)


class SubmissionBody(BaseModel):
    """A State's answers to one discussion (saved as a new draft version)."""

    discussion: int
    state: str = Field(description="ISO 3166-1 alpha-3 code or name")
    answers: list[AnswerBody]
    focal_point: str = ""
    email: str = ""
    note: str = ""


class NoteBody(BaseModel):
    """A note sent with a workflow step."""

    note: str = ""


class PracticeBody(BaseModel):
    """A good practice."""

    title: str
    summary: str
    state: str
    level: str = "national"
    locality: str = ""
    evaluation: str = ""
    contact: str = ""
    year: int | None = None
    paragraphs: list[int] = Field(default_factory=list)
    iccs_codes: list[str] = Field(default_factory=list)
    sdg: list[str] = Field(default_factory=list)
    population_groups: list[str] = Field(default_factory=list)

    def to_input(self) -> service.PracticeInput:
        """The library's input type."""
        return service.PracticeInput(
            title=self.title,
            summary=self.summary,
            state=self.state,
            level=self.level,
            locality=self.locality,
            evaluation=self.evaluation,
            contact=self.contact,
            year=self.year,
            paragraphs=tuple(self.paragraphs),
            iccs_codes=tuple(self.iccs_codes),
            sdg=tuple(self.sdg),
            population_groups=tuple(self.population_groups),
        )


class SuggestBody(BaseModel):
    """A text to suggest tags for."""

    text: str = Field(max_length=200_000)
    limit: int = 5


class MembershipBody(BaseModel):
    """A tracker role for a user."""

    username: str
    role: str = Field(description="focal_point or secretariat")
    state: str | None = None


def submission_json(
    session: Session, actor: TrackerActor, submission: Submission
) -> dict[str, Any]:
    """A submission with the answers of the version the actor reads."""
    answers = views.submission_answers(session, actor, submission)
    version = service.visible_version(session, actor, submission)
    return {
        "id": submission.id,
        "discussion": submission.discussion.number,
        "state": submission.state_iso3,
        "status": submission.status,
        "current_version": submission.current_version,
        "published_version": submission.published_version,
        "version_shown": version.version if version else None,
        "fictional": submission.is_fictional,
        "focal_point": version.focal_point
        if version and actor.may_edit(submission.state_iso3)
        else None,
        "answers": [asdict(row) for row in answers],
        "history": [
            {**asdict(row), "at": row.at.isoformat()}
            for row in views.review_history(
                session, actor, "tracker_submission", submission.id, submission.state_iso3
            )
        ],
    }


def practice_json(practice: Practice) -> dict[str, Any]:
    """A practice with its tags and documents (without file contents)."""
    return {
        "id": practice.id,
        "title": practice.title,
        "summary": practice.summary,
        "state": practice.state_iso3,
        "level": practice.level,
        "locality": practice.locality,
        "evaluation": practice.evaluation,
        "contact": practice.contact,
        "year": practice.year,
        "status": practice.status,
        "fictional": practice.is_fictional,
        "paragraphs": list(practice.paragraphs),
        "iccs_codes": list(practice.tag_values("iccs")),
        "sdg": list(practice.tag_values("sdg")),
        "population_groups": list(practice.tag_values("group")),
        "documents": [
            {
                "id": document.id,
                "filename": document.filename,
                "kind": document.kind,
                "size": document.size,
                "pages": document.pages,
                "sha256": document.sha256,
                "url": f"/api/tracker/documents/{document.id}/content",
            }
            for document in practice.documents
        ],
    }


def search_json(result: SearchResult) -> dict[str, Any]:
    """A search result as JSON.

    Every match is counted and ranked: ``exact`` is always true and ``counted``
    equals ``total`` (both kept for clients of the earlier, bounded search).
    """
    return {
        "query": result.query,
        "total": result.total,
        "exact": result.exact,
        "counted": result.counted,
        "page": result.page,
        "per_page": result.per_page,
        "pages": result.pages,
        "backend": result.backend,
        "hits": [asdict(hit) for hit in result.hits],
        "facets": {name: [asdict(item) for item in items] for name, items in result.facets.items()},
    }


def search_filters(request: Request) -> dict[str, list[str]]:
    """Facet filters from the query string (each facet may repeat)."""
    return {
        name: values
        for name in FACETS
        if (values := [value for value in request.query_params.getlist(name) if value])
    }


def _topics(discussion: Discussion) -> list[dict[str, Any]]:
    """A discussion's topics with the paragraphs each covered, in paragraph order."""
    topics: dict[str, list[int]] = {}
    for link in discussion.paragraph_links:
        topics.setdefault(link.topic, []).append(link.commitment_number)
    return [{"topic": topic, "paragraphs": numbers} for topic, numbers in topics.items()]


@router.get("")
def overview(
    session: Session = Depends(tracker_session), actor: TrackerActor = Depends(tracker_actor)
) -> dict[str, Any]:
    """The discussions, the caller's rights and what there is to read."""
    with session.begin():
        discussions = session.execute(select(Discussion).order_by(Discussion.number)).scalars()
        table = views.coverage(session, actor)
        return {
            "you": {
                "username": actor.username,
                "secretariat": actor.secretariat,
                "focal_point_for": sorted(actor.states),
            },
            "discussions": [
                {
                    "number": item.number,
                    "title": item.title,
                    "held_on": item.held_on.isoformat(),
                    "topics": _topics(item),
                    "questions": [q.text for q in item.questions],
                }
                for item in discussions
            ],
            "states_reporting": len(table.rows),
            "paragraphs_covered": list(table.paragraphs),
        }


@router.get("/search")
def search_endpoint(
    request: Request,
    q: str = Query("", max_length=500, description="Words to find"),
    page: int = Query(1, ge=1),
    per_page: int = Query(20, ge=1, le=100),
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Full-text search with facets (country, region, paragraph, topic, group, year, kind)."""
    with session.begin():
        result = search(
            session,
            q,
            filters=search_filters(request),
            unpublished=actor.unpublished_scope,
            page=page,
            per_page=per_page,
        )
    return search_json(result)


@router.post("/suggest")
def suggest(body: SuggestBody) -> dict[str, Any]:
    """Suggest paragraphs, ICCS categories and population groups for a text."""
    return suggest_tags(body.text, limit=body.limit).as_dict()


@router.get("/paragraphs/{number}")
def paragraph(
    request: Request,
    number: int,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Which States reported what on a paragraph; its practices and indicators."""
    with session.begin(), optional_warehouse(request) as warehouse:
        return views.paragraph_view(session, actor, number, warehouse).as_dict()


@router.get("/states")
def state_list(
    region: str | None = Query(None, description="An M49 region or sub-region"),
) -> dict[str, Any]:
    """The UN Member States with ISO 3166-1 codes, M49 codes and regions (twin of the page)."""
    found = member_states(region)
    return {
        "count": len(found),
        "states": [
            {
                "iso3": item.iso3,
                "iso2": item.iso2,
                "m49": item.m49,
                "name": item.name,
                "iso_name": item.iso_name,
                "region": item.region,
                "subregion": item.subregion,
                "intermediate_region": item.intermediate_region,
                "url": f"/tracker/states/{item.iso3}",
            }
            for item in found
        ],
    }


@router.get("/review")
def review_worklist(
    session: Session = Depends(tracker_session), actor: TrackerActor = Depends(tracker_actor)
) -> dict[str, Any]:
    """What waits for the secretariat's review or a focal point's completion."""
    with session.begin():
        items = review.worklist(session, actor)
    return {"items": [item.as_dict() for item in items]}


@router.get("/audit")
def audit_log(
    entity: str | None = Query(None, description="submission, practice, document or membership"),
    record: str | None = Query(None, alias="id", description="One record's id (with entity)"),
    limit: int = Query(200, ge=1, le=10_000),
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """The tracker's audit log, newest first, and the hash chain's check (secretariat)."""
    with session.begin():
        found = review.tracker_audit(session, actor, entity=entity, entity_id=record, limit=limit)
    return found.as_dict()


@router.get("/states/{code}")
def state(
    code: str,
    request: Request,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """A Member State's submissions, answers, practices and indicator series.

    The series come from the warehouse when it holds data for the State
    (``series_from``: ``warehouse``), else from the bundled 16.1.1 data.
    """
    with session.begin(), optional_warehouse(request) as warehouse:
        return views.state_view(session, actor, code, warehouse).as_dict()


@router.get("/coverage")
def coverage(
    session: Session = Depends(tracker_session), actor: TrackerActor = Depends(tracker_actor)
) -> dict[str, Any]:
    """Which States reported on which paragraphs, and reporting by region."""
    with session.begin():
        return views.coverage(session, actor).as_dict()


@router.get("/compare")
def compare(
    first: str,
    second: str,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Two States side by side, paragraph by paragraph."""
    with session.begin():
        a, b, rows = views.compare_states(session, actor, first, second)
    return {"first": a, "second": b, "paragraphs": [asdict(row) for row in rows]}


@router.get("/discussions/{number}/questionnaire.xlsx")
def questionnaire(number: int) -> Response:
    """The XLSX questionnaire template for a discussion."""
    return Response(
        questionnaire_template(number),
        media_type=exports.FORMATS["xlsx"],
        headers={
            "Content-Disposition": (
                f'attachment; filename="kyoto-questionnaire-session-{number}.xlsx"'
            )
        },
    )


@router.get("/discussions/{number}/report", response_model=None)
def report(
    number: int,
    format: str = Query("json", pattern="^(json|html|pdf)$"),  # noqa: A002 - the query name
    session: Session = Depends(tracker_session),
) -> Response | dict[str, Any]:
    """The session summary report: published answers by question (JSON, HTML or PDF)."""
    with session.begin():
        compiled = exports.session_report(session, number)
    if format == "html":
        return HTMLResponse(exports.report_html(compiled))
    if format == "pdf":
        return Response(
            exports.report_pdf(compiled),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="kyoto-session-{number}.pdf"'},
        )
    body = asdict(compiled)
    body["answer_count"] = compiled.answer_count
    return body


@router.get("/export")
def export(
    what: str = Query("answers", pattern="^(answers|practices|all)$"),
    format: str = Query("csv", pattern="^(csv|json|xlsx)$"),  # noqa: A002 - the query name
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> Response:
    """Answers and/or practices the caller may read, as CSV, JSON or XLSX."""
    with session.begin():
        content, media_type, filename = exports.export(session, actor, what, format)
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/submissions/{submission_id}")
def get_submission(
    submission_id: int,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """A submission: the published version, or the working copy for its editors."""
    with session.begin():
        found = service.get_submission(session, actor, submission_id)
        return submission_json(session, actor, found)


@router.get("/submissions/{submission_id}/versions")
def list_versions(
    submission_id: int,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Every version of a submission for its editors and the secretariat; the public one else."""
    with session.begin():
        rows = review.submission_versions(session, actor, submission_id)
    return {"submission": submission_id, "versions": [row.as_dict() for row in rows]}


@router.get("/submissions/{submission_id}/versions/{version}")
def get_version(
    submission_id: int,
    version: int,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """The answers of one version of a submission."""
    with session.begin():
        answers = review.version_answers(session, actor, submission_id, version)
    return {
        "submission": submission_id,
        "version": version,
        "answers": [asdict(answer) for answer in answers],
    }


@router.post("/submissions", status_code=201)
def save_submission(
    body: SubmissionBody,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Save a State's answers as a new draft version."""
    with session.begin():
        found = service.save_submission(
            session,
            actor,
            discussion=body.discussion,
            state=body.state,
            answers=[
                service.AnswerInput(
                    question_number=item.question,
                    text=item.text,
                    paragraphs=tuple(item.paragraphs),
                    population_groups=tuple(item.population_groups),
                )
                for item in body.answers
            ],
            focal_point=body.focal_point,
            email=body.email,
            note=body.note,
        )
        return submission_json(session, actor, found)


@router.post("/submissions/import", status_code=201)
async def import_submission(
    request: Request,
    file: UploadFile = File(...),
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Import a filled XLSX questionnaire (validated row by row; nothing stored on error)."""
    content = await read_upload(file, upload_limit(request))
    with session.begin():
        found = service.import_questionnaire(
            session, actor, content, file.filename or "upload.xlsx"
        )
        return submission_json(session, actor, found)


@router.post("/submissions/{submission_id}/{step}")
def submission_step(
    submission_id: int,
    step: str,
    body: NoteBody | None = None,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Move a submission: ``submit`` (focal point); ``return``, ``publish`` or ``unpublish``
    (secretariat; unpublishing needs a ``note`` giving the reason)."""
    note = body.note if body else ""
    with session.begin():
        if step == "submit":
            found = service.submit_submission(session, actor, submission_id)
        elif step == "return":
            found = service.return_submission(session, actor, submission_id, note)
        elif step == "publish":
            found = service.publish_submission(session, actor, submission_id)
        elif step == "unpublish":
            found = service.unpublish_submission(session, actor, submission_id, note)
        else:
            raise InvalidInputError(
                f"unknown step {step!r}; expected submit, return, publish or unpublish"
            )
        return submission_json(session, actor, found)


@router.get("/practices")
def list_practices(
    state: str | None = None,
    paragraph: int | None = None,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Good practices the caller may read, newest first."""
    with session.begin():
        rows = views.visible_practices(session, actor, state=state, paragraph=paragraph)
    return {"practices": [asdict(row) for row in rows]}


@router.get("/practices/{practice_id}")
def get_practice(
    practice_id: int,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """One good practice, with its review history for its State's editors and the secretariat."""
    with session.begin():
        found = service.get_practice(session, actor, practice_id)
        history = views.review_history(
            session, actor, "tracker_practice", found.id, found.state_iso3
        )
        return practice_json(found) | {
            "history": [{**asdict(row), "at": row.at.isoformat()} for row in history]
        }


@router.post("/practices", status_code=201)
def create_practice(
    body: PracticeBody,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Record a good practice as a draft."""
    with session.begin():
        return practice_json(service.create_practice(session, actor, body.to_input()))


@router.put("/practices/{practice_id}")
def update_practice(
    practice_id: int,
    body: PracticeBody,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Change a good practice."""
    with session.begin():
        return practice_json(service.update_practice(session, actor, practice_id, body.to_input()))


@router.post("/practices/{practice_id}/documents", status_code=201)
async def upload_document(
    request: Request,
    practice_id: int,
    file: UploadFile = File(...),
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Attach a PDF, DOCX or text document; its text is extracted and indexed."""
    limit = upload_limit(request)
    content = await read_upload(file, limit)
    with session.begin():
        document = service.add_document(
            session, actor, practice_id, content, file.filename or "upload", max_bytes=limit
        )
        return {
            "id": document.id,
            "filename": document.filename,
            "kind": document.kind,
            "size": document.size,
            "pages": document.pages,
            "characters": len(document.text),
        }


@router.post("/practices/{practice_id}/{step}")
def practice_step(
    practice_id: int,
    step: str,
    body: NoteBody | None = None,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Move a practice: ``submit`` (focal point); ``return``, ``publish`` or ``unpublish``
    (secretariat; unpublishing needs a ``note`` giving the reason)."""
    note = body.note if body else ""
    with session.begin():
        if step == "submit":
            found = service.submit_practice(session, actor, practice_id)
        elif step == "return":
            found = service.return_practice(session, actor, practice_id, note)
        elif step == "publish":
            found = service.publish_practice(session, actor, practice_id)
        elif step == "unpublish":
            found = service.unpublish_practice(session, actor, practice_id, note)
        else:
            raise InvalidInputError(
                f"unknown step {step!r}; expected submit, return, publish or unpublish"
            )
        return practice_json(found)


@router.get("/documents/{document_id}/content")
def document_content(
    document_id: int,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> Response:
    """The document as uploaded."""
    with session.begin():
        document = service.get_document(session, actor, document_id)
        return Response(
            document.content,
            media_type=document.media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{document.filename}"',
                "X-Content-Type-Options": "nosniff",
            },
        )


@router.get("/memberships")
def memberships(
    session: Session = Depends(tracker_session), actor: TrackerActor = Depends(tracker_actor)
) -> dict[str, Any]:
    """Who holds which tracker role (secretariat and administrators)."""
    require_secretariat(actor, "list tracker roles")
    with session.begin():
        rows = list_memberships(session)
    return {"memberships": [{"username": u, "role": r, "state": s} for u, r, s in rows]}


@router.post("/memberships/revoke")
def remove_membership(
    body: MembershipBody,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Take a tracker role from a user (administrators only)."""
    with session.begin():
        removed = revoke_membership(
            session, actor, username=body.username, role=body.role, state=body.state
        )
    if not removed:
        raise NotFoundError(
            f"{body.username} does not hold the role {body.role}"
            + (f" for {body.state}" if body.state else ""),
            received=body.username,
        )
    return {"removed": removed, "username": body.username, "role": body.role, "state": body.state}


@router.post("/memberships", status_code=201)
def add_membership(
    body: MembershipBody,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> dict[str, Any]:
    """Make a user a focal point for a State, or a member of the secretariat (administrators)."""
    with session.begin():
        found = grant_membership(
            session, actor, username=body.username, role=body.role, state=body.state
        )
        return {
            "id": found.id,
            "username": body.username,
            "role": found.role,
            "state": found.state_iso3,
        }
