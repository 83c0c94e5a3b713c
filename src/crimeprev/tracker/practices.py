"""Good practices and their source documents.

A practice follows the submissions' states (draft, submitted, published)
without versions: the audit log keeps each change's before and after. Its
documents (PDF, DOCX, text) have their text extracted at upload so search
covers them. Each function works in the caller's transaction, checks the
actor's rights, writes one audit record per change and keeps the search index
in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crimeprev.db.audit import record_audit
from crimeprev.db.base import utcnow
from crimeprev.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnknownCodeError,
)
from crimeprev.standards import iccs, kyoto, sdg
from crimeprev.tracker._checks import reason_given, state_code, validate_groups
from crimeprev.tracker.access import TrackerActor, require_secretariat, require_state_editor
from crimeprev.tracker.documents import DEFAULT_MAX_BYTES, extract_text
from crimeprev.tracker.member_states import member_state
from crimeprev.tracker.models import (
    Document,
    Level,
    Practice,
    PracticeParagraph,
    PracticeTag,
    Status,
)
from crimeprev.tracker.reference import validate_paragraphs
from crimeprev.tracker.search import index_document, remove_document

__all__ = [
    "PracticeInput",
    "add_document",
    "create_practice",
    "delete_practice_documents",
    "get_document",
    "get_practice",
    "publish_practice",
    "return_practice",
    "submit_practice",
    "unpublish_practice",
    "update_practice",
]


@dataclass(frozen=True)
class PracticeInput:
    """A good practice as entered.

    Attributes
    ----------
    title, summary : str
    state : str
        ISO3 code or name of the Member State.
    level : {"national", "local"}
    locality : str
        The city or region, for local practices.
    evaluation : str
        What evaluation evidence there is (design, results, where published).
    contact : str
    year : int or None
        The year the practice started.
    paragraphs : tuple of int
        Kyoto paragraphs addressed (21-96).
    iccs_codes : tuple of str
        ICCS categories concerned.
    sdg : tuple of str
        SDG indicators ("16.1.1") or targets ("16.1").
    population_groups : tuple of str
        Keys from :data:`crimeprev.tracker.tagging.POPULATION_GROUPS`.
    """

    title: str
    summary: str
    state: str
    level: str = Level.NATIONAL.value
    locality: str = ""
    evaluation: str = ""
    contact: str = ""
    year: int | None = None
    paragraphs: tuple[int, ...] = ()
    iccs_codes: tuple[str, ...] = ()
    sdg: tuple[str, ...] = ()
    population_groups: tuple[str, ...] = field(default_factory=tuple)


def _validate_practice(data: PracticeInput) -> tuple[str, tuple[int, ...], list[tuple[str, str]]]:
    title = data.title.strip()
    if not title or len(title) > 300:
        raise InvalidInputError(
            f"title must have 1 to 300 characters, got {len(title)}", field="title"
        )
    if not data.summary.strip():
        raise InvalidInputError("summary is required", field="summary")
    if data.level not in {level.value for level in Level}:
        raise InvalidInputError(
            f"level must be national or local, got {data.level!r}", field="level", value=data.level
        )
    if data.year is not None and not 1945 <= data.year <= date.today().year + 1:
        raise InvalidInputError(
            f"year must be from 1945 to {date.today().year + 1}, got {data.year}",
            field="year",
            value=data.year,
        )
    iso3 = state_code(data.state)
    paragraphs = validate_paragraphs(data.paragraphs)
    tags: list[tuple[str, str]] = []
    for code in data.iccs_codes:
        try:
            tags.append(("iccs", iccs.validate(str(code))))
        except UnknownCodeError as error:
            raise InvalidInputError(
                f"iccs_codes: {error.message}", field="iccs_codes", value=code
            ) from error
    targets = {item.indicator for item in sdg.indicators()}
    targets |= {item.indicator.rsplit(".", 1)[0] for item in sdg.indicators()}
    for value in data.sdg:
        cleaned = str(value).strip().upper().removeprefix("SDG").strip().lower()
        if cleaned not in targets:
            raise InvalidInputError(
                f"sdg: {value!r} is not an SDG target or indicator crimeprev knows; "
                f"expected one of {', '.join(sorted(targets))}",
                field="sdg",
                value=value,
            )
        tags.append(("sdg", cleaned))
    tags.extend(("group", key) for key in validate_groups(data.population_groups))
    return iso3, paragraphs, sorted(set(tags))


def _practice_snapshot(practice: Practice) -> dict[str, object]:
    return {
        "title": practice.title,
        "summary": practice.summary,
        "state": practice.state_iso3,
        "level": practice.level,
        "locality": practice.locality,
        "evaluation": practice.evaluation,
        "contact": practice.contact,
        "year": practice.year,
        "status": practice.status,
        "paragraphs": list(practice.paragraphs),
        "tags": [[tag.kind, tag.value] for tag in practice.tags],
        "documents": [document.filename for document in practice.documents],
    }


def _practice(session: Session, practice_id: int) -> Practice:
    found = session.get(Practice, practice_id)
    if found is None:
        raise NotFoundError(f"no good practice {practice_id}", received=practice_id)
    return found


def _index_practice(session: Session, practice: Practice) -> None:
    state = member_state(practice.state_iso3)
    published = practice.status == Status.PUBLISHED.value
    topics = sorted(
        {
            topic
            for number in practice.paragraphs
            if (topic := kyoto.paragraph(number).topic) is not None
        }
    )
    facets = {
        "country": [state.iso3],
        "region": [state.region],
        "paragraph": [str(number) for number in practice.paragraphs],
        "topic": topics,
        "group": list(practice.tag_values("group")),
        "year": [str(practice.year)] if practice.year else [],
    }
    body = "\n".join(
        part
        for part in (practice.summary, practice.evaluation, practice.locality)
        if part and part.strip()
    )
    index_document(
        session,
        kind="practice",
        ref_id=practice.id,
        state_iso3=state.iso3,
        published=published,
        title=practice.title,
        body=body,
        link=f"/tracker/practices/{practice.id}",
        facets=facets,
    )
    for document in practice.documents:
        index_document(
            session,
            kind="document",
            ref_id=document.id,
            state_iso3=state.iso3,
            published=published,
            title=f"{document.filename} ({practice.title})",
            body=document.text,
            link=f"/tracker/practices/{practice.id}#document-{document.id}",
            facets=facets,
        )


def _apply_practice(
    practice: Practice,
    data: PracticeInput,
    iso3: str,
    paragraphs: tuple[int, ...],
    tags: list[tuple[str, str]],
) -> None:
    practice.title = data.title.strip()
    practice.summary = data.summary.strip()
    practice.state_iso3 = iso3
    practice.level = data.level
    practice.locality = data.locality.strip()
    practice.evaluation = data.evaluation.strip()
    practice.contact = data.contact.strip()
    practice.year = data.year
    practice.paragraph_links = [
        PracticeParagraph(commitment_number=number) for number in paragraphs
    ]
    practice.tags = [PracticeTag(kind=kind, value=value) for kind, value in tags]


def create_practice(
    session: Session, actor: TrackerActor, data: PracticeInput, *, is_fictional: bool = False
) -> Practice:
    """Record a new good practice as a draft.

    Raises
    ------
    PermissionDeniedError
        Unless the actor is a focal point of the practice's State or the secretariat.
    InvalidInputError
        For a missing title or summary, an unknown level, year, paragraph,
        ICCS code, SDG target or population group.
    """
    iso3, paragraphs, tags = _validate_practice(data)
    require_state_editor(actor, iso3, "record a good practice")
    practice = Practice(
        status=Status.DRAFT.value, is_fictional=is_fictional, created_by=actor.username
    )
    _apply_practice(practice, data, iso3, paragraphs, tags)
    session.add(practice)
    session.flush()
    _index_practice(session, practice)
    record_audit(
        session,
        actor.audit_actor,
        "create",
        "tracker_practice",
        practice.id,
        None,
        _practice_snapshot(practice),
    )
    return practice


def update_practice(
    session: Session, actor: TrackerActor, practice_id: int, data: PracticeInput
) -> Practice:
    """Change a practice. A focal point's change to a published practice makes it a draft again.

    Raises
    ------
    ConflictError
        While the practice is under review and the actor is not the secretariat.
    """
    practice = _practice(session, practice_id)
    require_state_editor(actor, practice.state_iso3, "change this good practice")
    iso3, paragraphs, tags = _validate_practice(data)
    require_state_editor(actor, iso3, "move a good practice to that State")
    if practice.status == Status.SUBMITTED.value and not actor.secretariat:
        raise ConflictError(
            f"good practice {practice_id} is under review; the secretariat must return it first",
            status=practice.status,
        )
    before = _practice_snapshot(practice)
    _apply_practice(practice, data, iso3, paragraphs, tags)
    if practice.status == Status.PUBLISHED.value and not actor.secretariat:
        practice.status = Status.DRAFT.value
        practice.published_at = None
    practice.updated_at = utcnow()
    session.flush()
    _index_practice(session, practice)
    record_audit(
        session,
        actor.audit_actor,
        "update",
        "tracker_practice",
        practice.id,
        before,
        _practice_snapshot(practice),
    )
    return practice


def _practice_transition(
    session: Session,
    actor: TrackerActor,
    practice: Practice,
    *,
    allowed_from: Status,
    to: Status,
    action: str,
    note: str = "",
) -> Practice:
    if practice.status != allowed_from.value:
        raise ConflictError(
            f"cannot {action} good practice {practice.id}: it is {practice.status}, "
            f"expected {allowed_from.value}",
            status=practice.status,
        )
    before = {"status": practice.status}
    practice.status = to.value
    practice.updated_at = utcnow()
    if to is Status.SUBMITTED:
        practice.submitted_at = utcnow()
    if to is Status.PUBLISHED:
        practice.published_at = utcnow()
    session.flush()
    _index_practice(session, practice)
    after: dict[str, object] = {"status": practice.status}
    if note:
        after["note"] = note
    record_audit(session, actor.audit_actor, action, "tracker_practice", practice.id, before, after)
    return practice


def submit_practice(session: Session, actor: TrackerActor, practice_id: int) -> Practice:
    """Send a draft practice for review."""
    practice = _practice(session, practice_id)
    require_state_editor(actor, practice.state_iso3, "submit")
    return _practice_transition(
        session, actor, practice, allowed_from=Status.DRAFT, to=Status.SUBMITTED, action="submit"
    )


def return_practice(
    session: Session, actor: TrackerActor, practice_id: int, note: str = ""
) -> Practice:
    """Send a practice under review back as a draft (secretariat only)."""
    require_secretariat(actor, "return good practices")
    practice = _practice(session, practice_id)
    return _practice_transition(
        session,
        actor,
        practice,
        allowed_from=Status.SUBMITTED,
        to=Status.DRAFT,
        action="return",
        note=note,
    )


def publish_practice(session: Session, actor: TrackerActor, practice_id: int) -> Practice:
    """Publish a practice under review (secretariat only)."""
    require_secretariat(actor, "publish good practices")
    practice = _practice(session, practice_id)
    return _practice_transition(
        session,
        actor,
        practice,
        allowed_from=Status.SUBMITTED,
        to=Status.PUBLISHED,
        action="publish",
    )


def unpublish_practice(
    session: Session, actor: TrackerActor, practice_id: int, reason: str
) -> Practice:
    """Withdraw a published practice (secretariat only): it becomes a draft of its State.

    Its text, tags and documents are kept; the public no longer finds it. The
    reason goes to the audit log.
    """
    require_secretariat(actor, "unpublish good practices")
    practice = _practice(session, practice_id)
    cleaned = reason_given(reason, "good practice")
    _practice_transition(
        session,
        actor,
        practice,
        allowed_from=Status.PUBLISHED,
        to=Status.DRAFT,
        action="unpublish",
        note=cleaned,
    )
    practice.published_at = None
    session.flush()
    return practice


def get_practice(session: Session, actor: TrackerActor, practice_id: int) -> Practice:
    """Return a practice the actor may see (the public: published ones only)."""
    practice = _practice(session, practice_id)
    if practice.status != Status.PUBLISHED.value and not actor.may_see_unpublished(
        practice.state_iso3
    ):
        raise NotFoundError(f"no good practice {practice_id}", received=practice_id)
    return practice


def add_document(
    session: Session,
    actor: TrackerActor,
    practice_id: int,
    content: bytes,
    filename: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Document:
    """Attach a source document (PDF, DOCX or text) to a practice and index its text.

    A focal point's document added to a published practice makes the practice a
    draft again, as any other change of theirs does: the public reads reviewed
    content only, so the practice and its documents wait for the secretariat.

    Raises
    ------
    DataFileError
        For a wrong type, an oversized, empty or damaged file, or a PDF
        without text (nothing is stored).
    ConflictError
        If the same file is already attached, or the practice is under review.
    PermissionDeniedError
        Unless the actor may edit the practice's State.
    """
    practice = _practice(session, practice_id)
    require_state_editor(actor, practice.state_iso3, "upload documents")
    if practice.status == Status.SUBMITTED.value and not actor.secretariat:
        raise ConflictError(
            f"good practice {practice_id} is under review; documents can be added after the "
            "secretariat returns or publishes it"
        )
    extracted = extract_text(content, filename, max_bytes=max_bytes)
    duplicate = session.execute(
        select(Document).where(
            Document.practice_id == practice.id, Document.sha256 == extracted.sha256
        )
    ).scalar_one_or_none()
    if duplicate is not None:
        raise ConflictError(
            f"this file is already attached to good practice {practice_id} as "
            f"{duplicate.filename!r}",
            document=duplicate.id,
        )
    document = Document(
        practice_id=practice.id,
        filename=extracted.filename,
        kind=extracted.kind,
        media_type=extracted.media_type,
        size=extracted.size,
        sha256=extracted.sha256,
        pages=extracted.pages,
        text=extracted.text,
        content=content,
        uploaded_by=actor.username,
    )
    session.add(document)
    if practice.status == Status.PUBLISHED.value and not actor.secretariat:
        before = _practice_snapshot(practice)
        practice.status = Status.DRAFT.value
        practice.published_at = None
        practice.updated_at = utcnow()
        record_audit(
            session,
            actor.audit_actor,
            "update",
            "tracker_practice",
            practice.id,
            before,
            {
                **_practice_snapshot(practice),
                "note": f"document {extracted.filename} added: a draft again, for review",
            },
        )
    session.flush()
    session.refresh(practice)
    _index_practice(session, practice)
    record_audit(
        session,
        actor.audit_actor,
        "upload",
        "tracker_document",
        document.id,
        None,
        {
            "practice": practice.id,
            "filename": document.filename,
            "kind": document.kind,
            "size": document.size,
            "sha256": document.sha256,
        },
    )
    return document


def get_document(session: Session, actor: TrackerActor, document_id: int) -> Document:
    """Return a document whose practice the actor may see."""
    document = session.get(Document, document_id)
    if document is None:
        raise NotFoundError(f"no document {document_id}", received=document_id)
    get_practice(session, actor, document.practice_id)
    return document


def delete_practice_documents(session: Session, actor: TrackerActor, practice_id: int) -> int:
    """Remove every document of a draft practice; return how many were removed."""
    practice = _practice(session, practice_id)
    require_state_editor(actor, practice.state_iso3, "remove documents")
    if practice.status != Status.DRAFT.value:
        raise PermissionDeniedError("documents can be removed from drafts only")
    removed = 0
    for document in list(practice.documents):
        remove_document(session, "document", document.id)
        record_audit(
            session,
            actor.audit_actor,
            "delete",
            "tracker_document",
            document.id,
            {"practice": practice.id, "filename": document.filename, "sha256": document.sha256},
            None,
        )
        removed += 1
    session.execute(delete(Document).where(Document.practice_id == practice.id))
    session.expire(practice, ["documents"])
    return removed
