"""The tracker's history and worklist: a submission's versions, what waits for whom, the audit log.

Every saved version of a submission is kept (:mod:`crimeprev.tracker.submissions`);
this module reads them back. Editors of the State and the secretariat read
every version and what changed from the one before; the public reads the
published version only.

The worklist answers "what is waiting for me": for the secretariat, the
submissions and practices under review and every draft; for a focal point,
their States' drafts and what they sent for review.

The audit log of the tracker (every save, step, upload, role change, with
who and when) is open to the secretariat, with the verification of the
log's hash chain.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crimeprev.db.audit import verify_audit_chain
from crimeprev.db.models import AuditRecord
from crimeprev.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from crimeprev.tracker.access import TrackerActor, require_secretariat
from crimeprev.tracker.member_states import member_state
from crimeprev.tracker.models import (
    Discussion,
    Practice,
    Status,
    Submission,
    SubmissionVersion,
)
from crimeprev.tracker.submissions import get_submission

__all__ = [
    "AuditRow",
    "TrackerAudit",
    "VersionAnswer",
    "VersionRow",
    "WorkItem",
    "submission_versions",
    "tracker_audit",
    "version_answers",
    "worklist",
]

#: The audit-log entities the tracker writes.
TRACKER_ENTITIES = (
    "tracker_submission",
    "tracker_practice",
    "tracker_document",
    "tracker_membership",
)


@dataclass(frozen=True)
class VersionRow:
    """One saved version of a submission.

    Attributes
    ----------
    version : int
    saved_at : datetime
    saved_by : str
        The user who saved it.
    focal_point, note : str
        As given with the version.
    answers : int
        Questions answered in it.
    changed_questions : tuple of int
        Question numbers whose answer, paragraphs or groups differ from the
        version before (every answered question for version 1; a question
        answered before and left blank now counts as changed).
    public : bool
        Whether this is the version the public reads now.
    current : bool
        Whether this is the working copy.
    """

    version: int
    saved_at: datetime
    saved_by: str
    focal_point: str
    note: str
    answers: int
    changed_questions: tuple[int, ...]
    public: bool
    current: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "saved_at": self.saved_at.isoformat()}


@dataclass(frozen=True)
class VersionAnswer:
    """An answer as saved in one version."""

    question: int
    question_text: str
    text: str
    paragraphs: tuple[int, ...]
    population_groups: tuple[str, ...]


def _content(version: SubmissionVersion) -> dict[int, tuple[str, tuple[int, ...], tuple[str, ...]]]:
    return {
        answer.question.number: (answer.text, answer.paragraphs, answer.groups)
        for answer in version.answers
    }


def _readable(
    session: Session, actor: TrackerActor, submission_id: int
) -> tuple[Submission, list[SubmissionVersion]]:
    """The submission and the versions the actor may read, oldest first."""
    submission = get_submission(session, actor, submission_id)
    versions = list(
        session.execute(
            select(SubmissionVersion)
            .where(SubmissionVersion.submission_id == submission.id)
            .order_by(SubmissionVersion.version)
        ).scalars()
    )
    if not actor.may_see_unpublished(submission.state_iso3):
        versions = [v for v in versions if v.version == submission.published_version]
    return submission, versions


def submission_versions(
    session: Session, actor: TrackerActor, submission_id: int
) -> tuple[VersionRow, ...]:
    """Return the versions of a submission the actor may read, oldest first.

    Raises
    ------
    NotFoundError
        If there is no such submission, or the actor may not see it.
    """
    submission, versions = _readable(session, actor, submission_id)
    everything = actor.may_see_unpublished(submission.state_iso3)
    rows = []
    previous: dict[int, tuple[str, tuple[int, ...], tuple[str, ...]]] = {}
    for version in versions:
        content = _content(version)
        changed = sorted(
            number
            for number in set(content) | set(previous)
            if content.get(number) != previous.get(number)
        )
        rows.append(
            VersionRow(
                version=version.version,
                saved_at=version.created_at,
                saved_by=version.created_by if everything else "",
                focal_point=version.focal_point if everything else "",
                note=version.note if everything else "",
                answers=len(content),
                changed_questions=tuple(changed) if everything else (),
                public=version.version == submission.published_version,
                current=version.version == submission.current_version,
            )
        )
        previous = content
    return tuple(rows)


def version_answers(
    session: Session, actor: TrackerActor, submission_id: int, version: int
) -> tuple[VersionAnswer, ...]:
    """Return the answers of one version, in question order.

    Raises
    ------
    NotFoundError
        If the submission or that version does not exist, or the actor may
        read only the published version and asked for another one.
    """
    submission, versions = _readable(session, actor, submission_id)
    for found in versions:
        if found.version == version:
            return tuple(
                VersionAnswer(
                    question=answer.question.number,
                    question_text=answer.question.text,
                    text=answer.text,
                    paragraphs=answer.paragraphs,
                    population_groups=answer.groups,
                )
                for answer in sorted(found.answers, key=lambda a: a.question.number)
            )
    readable = ", ".join(str(v.version) for v in versions) or "none"
    raise NotFoundError(
        f"submission {submission.id} has no version {version} you may read "
        f"(versions you may read: {readable})",
        received=version,
    )


@dataclass(frozen=True)
class WorkItem:
    """A submission or practice that waits for someone.

    ``waiting_for`` is ``"secretariat"`` (submitted for review) or
    ``"focal point"`` (a draft, new or returned).
    """

    kind: str
    record_id: int
    state_iso3: str
    state_name: str
    title: str
    status: str
    waiting_for: str
    updated_at: datetime
    is_fictional: bool

    @property
    def url(self) -> str:
        """The record's page."""
        return f"/tracker/{self.kind}s/{self.record_id}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "updated_at": self.updated_at.isoformat(), "url": self.url}


def worklist(session: Session, actor: TrackerActor) -> tuple[WorkItem, ...]:
    """Return what waits for review or completion, as far as the actor may act on it.

    The secretariat sees every State's; a focal point their own States'.
    Items under review come first (oldest first: they have waited longest),
    then drafts (most recently changed first).

    Raises
    ------
    PermissionDeniedError
        For the public and for users with no tracker role.
    """
    if not actor.secretariat and not actor.states:
        raise PermissionDeniedError(
            "the review worklist is for the secretariat and focal points; "
            + ("sign in" if not actor.signed_in else f"{actor.username} holds no tracker role")
        )
    open_states = (Status.DRAFT.value, Status.SUBMITTED.value)
    submissions = select(Submission, Discussion).join(
        Discussion, Discussion.id == Submission.discussion_id
    )
    # A published submission with a revision in progress is open too.
    submissions = submissions.where(
        or_(
            Submission.status.in_(open_states),
            Submission.current_version != Submission.published_version,
        )
    )
    practices = select(Practice).where(Practice.status.in_(open_states))
    if not actor.secretariat:
        submissions = submissions.where(Submission.state_iso3.in_(sorted(actor.states)))
        practices = practices.where(Practice.state_iso3.in_(sorted(actor.states)))
    items = []
    for submission, discussion in session.execute(submissions).all():
        items.append(
            WorkItem(
                kind="submission",
                record_id=submission.id,
                state_iso3=submission.state_iso3,
                state_name=member_state(submission.state_iso3).name,
                title=f"Session {discussion.number}: {discussion.title} "
                f"(version {submission.current_version})",
                status=submission.status,
                waiting_for=_waiting_for(submission.status),
                updated_at=submission.submitted_at
                if submission.status == Status.SUBMITTED.value and submission.submitted_at
                else submission.updated_at,
                is_fictional=submission.is_fictional,
            )
        )
    for practice in session.execute(practices).scalars():
        items.append(
            WorkItem(
                kind="practice",
                record_id=practice.id,
                state_iso3=practice.state_iso3,
                state_name=member_state(practice.state_iso3).name,
                title=practice.title,
                status=practice.status,
                waiting_for=_waiting_for(practice.status),
                updated_at=practice.submitted_at
                if practice.status == Status.SUBMITTED.value and practice.submitted_at
                else practice.updated_at,
                is_fictional=practice.is_fictional,
            )
        )
    review = sorted(
        (i for i in items if i.waiting_for == "secretariat"),
        key=lambda i: (i.updated_at, i.kind, i.record_id),
    )
    drafts = sorted(
        (i for i in items if i.waiting_for != "secretariat"),
        key=lambda i: (i.updated_at, i.kind, i.record_id),
        reverse=True,
    )
    return tuple(review + drafts)


def _waiting_for(status: str) -> str:
    return "secretariat" if status == Status.SUBMITTED.value else "focal point"


@dataclass(frozen=True)
class AuditRow:
    """One audit-log record of the tracker."""

    sequence: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "at": self.at.isoformat()}


@dataclass(frozen=True)
class TrackerAudit:
    """The newest audit records of the tracker and whether the whole chain verifies."""

    rows: tuple[AuditRow, ...]
    chain_valid: bool
    chain_records: int
    chain_problem: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "chain": {
                "valid": self.chain_valid,
                "records": self.chain_records,
                "problem": self.chain_problem,
            },
            "records": [row.as_dict() for row in self.rows],
        }


def tracker_audit(
    session: Session,
    actor: TrackerActor,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: int = 200,
) -> TrackerAudit:
    """Return the tracker's audit records, newest first, for the secretariat.

    Parameters
    ----------
    entity : str, optional
        One of :data:`TRACKER_ENTITIES`, or its short form (``submission``,
        ``practice``, ``document``, ``membership``).
    entity_id : str, optional
        Only this record's history (needs `entity`).
    limit : int, default=200
        At most this many records (1 to 10,000).

    Raises
    ------
    PermissionDeniedError
        Unless the actor is the secretariat.
    InvalidInputError
        For an unknown entity, an id without an entity, or a bad limit.
    """
    require_secretariat(actor, "read the tracker's audit log")
    if not 1 <= limit <= 10_000:
        raise InvalidInputError(f"limit must be from 1 to 10,000, got {limit}")
    entities: tuple[str, ...] = TRACKER_ENTITIES
    if entity:
        name = entity if entity.startswith("tracker_") else f"tracker_{entity}"
        if name not in TRACKER_ENTITIES:
            short = ", ".join(item.removeprefix("tracker_") for item in TRACKER_ENTITIES)
            raise InvalidInputError(f"unknown entity {entity!r}; expected one of {short}")
        entities = (name,)
    elif entity_id:
        raise InvalidInputError("give the entity (e.g. submission) with a record id")
    statement = select(AuditRecord).where(AuditRecord.entity.in_(entities))
    if entity_id:
        statement = statement.where(AuditRecord.entity_id == str(entity_id))
    statement = statement.order_by(AuditRecord.sequence.desc()).limit(limit)
    rows = tuple(
        AuditRow(
            sequence=record.sequence,
            at=record.at,
            actor=record.actor,
            action=record.action,
            entity=record.entity,
            entity_id=record.entity_id,
            before=json.loads(record.before_json) if record.before_json else None,
            after=json.loads(record.after_json) if record.after_json else None,
        )
        for record in session.execute(statement).scalars()
    )
    check = verify_audit_chain(session)
    return TrackerAudit(
        rows=rows,
        chain_valid=check.valid,
        chain_records=check.records,
        chain_problem=check.problem or "",
    )
