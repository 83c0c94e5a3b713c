"""Submissions: a State's answers to one discussion's questions, versioned.

Workflow::

    draft --submit--> submitted --publish--> published
      ^                   |                      |
      +-------return------+        (a new save starts a new draft version;
                                    the published version stays public)

Every save makes a new version; earlier versions are never changed. The
secretariat may unpublish: the public version is withdrawn, every version kept.
Each function works in the caller's transaction, checks the actor's rights,
writes one audit record per change and keeps the search index in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crimeprev.db.audit import record_audit
from crimeprev.db.base import utcnow
from crimeprev.errors import ConflictError, InvalidInputError, NotFoundError
from crimeprev.tracker._checks import reason_given, state_code, validate_groups
from crimeprev.tracker.access import TrackerActor, require_secretariat, require_state_editor
from crimeprev.tracker.member_states import member_state
from crimeprev.tracker.models import (
    Answer,
    AnswerParagraph,
    Question,
    Status,
    Submission,
    SubmissionVersion,
)
from crimeprev.tracker.questionnaire import read_questionnaire
from crimeprev.tracker.reference import get_discussion, validate_paragraphs
from crimeprev.tracker.search import index_document, remove_document

__all__ = [
    "AnswerInput",
    "get_submission",
    "import_questionnaire",
    "publish_submission",
    "return_submission",
    "save_submission",
    "submit_submission",
    "unpublish_submission",
    "visible_version",
]


@dataclass(frozen=True)
class AnswerInput:
    """An answer as entered: the question number, text, paragraphs and population groups."""

    question_number: int
    text: str
    paragraphs: tuple[int, ...] = ()
    population_groups: tuple[str, ...] = ()


def _submission(session: Session, submission_id: int) -> Submission:
    found = session.get(Submission, submission_id)
    if found is None:
        raise NotFoundError(f"no submission {submission_id}", received=submission_id)
    return found


def _version(
    session: Session, submission: Submission, number: int | None
) -> SubmissionVersion | None:
    if not number:
        return None
    return session.execute(
        select(SubmissionVersion).where(
            SubmissionVersion.submission_id == submission.id, SubmissionVersion.version == number
        )
    ).scalar_one()


def _snapshot(submission: Submission) -> dict[str, object]:
    return {
        "discussion": submission.discussion.number,
        "state": submission.state_iso3,
        "status": submission.status,
        "current_version": submission.current_version,
        "published_version": submission.published_version,
    }


def _index_version(
    session: Session, submission: Submission, version: SubmissionVersion, *, published: bool
) -> None:
    state = member_state(submission.state_iso3)
    discussion = submission.discussion
    topics = {link.commitment_number: link.topic for link in discussion.paragraph_links}
    for answer in version.answers:
        paragraphs = answer.paragraphs
        index_document(
            session,
            kind="answer",
            ref_id=answer.id,
            state_iso3=state.iso3,
            published=published,
            title=f"{state.name}: session {discussion.number}, question {answer.question.number}",
            body=f"{answer.question.text}\n{answer.text}",
            link=f"/tracker/submissions/{submission.id}#question-{answer.question.number}",
            facets={
                "country": [state.iso3],
                "region": [state.region],
                "paragraph": [str(number) for number in paragraphs],
                "topic": sorted({topics[number] for number in paragraphs if number in topics})
                or sorted(set(topics.values())),
                "group": list(answer.groups),
                "year": [str(discussion.held_on.year)],
            },
        )


def _unindex_version(session: Session, version: SubmissionVersion | None) -> None:
    if version is None:
        return
    for answer in version.answers:
        remove_document(session, "answer", answer.id)


def save_submission(
    session: Session,
    actor: TrackerActor,
    *,
    discussion: int,
    state: str,
    answers: Sequence[AnswerInput],
    focal_point: str = "",
    email: str = "",
    note: str = "",
    is_fictional: bool = False,
) -> Submission:
    """Save a State's answers to a discussion as a new draft version.

    Parameters
    ----------
    session : Session
    actor : TrackerActor
        A focal point of `state`, or the secretariat.
    discussion : int
        The thematic discussion's number.
    state : str
        ISO3 code or name.
    answers : sequence of AnswerInput
        At least one answer with text; questions not listed are unanswered.
    focal_point, email, note : str
        Who answered, a contact address, and a note on this version.
    is_fictional : bool, default=False
        Marks demo data, which pages label as fictional.

    Returns
    -------
    Submission
        With ``current_version`` raised by one and status ``draft``.

    Raises
    ------
    PermissionDeniedError
        If the actor may not edit the State's records.
    ConflictError
        While the submission is under review (status ``submitted``).
    InvalidInputError
        For an unknown question, a duplicate question, an empty answer list,
        a paragraph outside 21-96 or an unknown population group.
    """
    iso3 = state_code(state)
    require_state_editor(actor, iso3, "save a submission")
    found_discussion = get_discussion(session, discussion)
    questions = {question.number: question for question in found_discussion.questions}
    cleaned: list[tuple[Question, str, tuple[int, ...], tuple[str, ...]]] = []
    seen: set[int] = set()
    for position, item in enumerate(answers, start=1):
        where = f"answer {position} (question {item.question_number})"
        if item.question_number not in questions:
            raise InvalidInputError(
                f"{where}: discussion {discussion} has questions 1-{len(questions)}",
                field="question_number",
                value=item.question_number,
            )
        if item.question_number in seen:
            raise InvalidInputError(f"{where}: question {item.question_number} is answered twice")
        seen.add(item.question_number)
        text = item.text.strip()
        if not text:
            continue
        cleaned.append(
            (
                questions[item.question_number],
                text,
                validate_paragraphs(item.paragraphs, where=f"{where} paragraphs"),
                validate_groups(item.population_groups, where=f"{where} population groups"),
            )
        )
    if not cleaned:
        raise InvalidInputError("a submission needs at least one answer with text")

    submission = session.execute(
        select(Submission).where(
            Submission.discussion_id == found_discussion.id, Submission.state_iso3 == iso3
        )
    ).scalar_one_or_none()
    before = None
    if submission is None:
        submission = Submission(
            discussion_id=found_discussion.id,
            state_iso3=iso3,
            status=Status.DRAFT.value,
            current_version=0,
            is_fictional=is_fictional,
        )
        session.add(submission)
        session.flush()
    else:
        before = _snapshot(submission)
        if submission.status == Status.SUBMITTED.value:
            raise ConflictError(
                f"submission {submission.id} ({iso3}, session {discussion}) is under review; "
                "the secretariat must return it before it can be changed",
                status=submission.status,
            )
        # The previous working copy leaves the index unless it is the published one.
        if submission.current_version != submission.published_version:
            _unindex_version(session, _version(session, submission, submission.current_version))
    version = SubmissionVersion(
        submission_id=submission.id,
        version=submission.current_version + 1,
        created_by=actor.username,
        focal_point=focal_point.strip(),
        email=email.strip(),
        note=note.strip(),
    )
    session.add(version)
    session.flush()
    for question, text, paragraphs, groups in cleaned:
        answer = Answer(
            version_id=version.id,
            question_id=question.id,
            text=text,
            population_groups=",".join(groups),
        )
        session.add(answer)
        session.flush()
        session.add_all(
            AnswerParagraph(answer_id=answer.id, commitment_number=number) for number in paragraphs
        )
    session.flush()
    session.refresh(version)
    submission.current_version = version.version
    submission.status = Status.DRAFT.value
    submission.updated_at = utcnow()
    session.flush()
    _index_version(session, submission, version, published=False)
    record_audit(
        session,
        actor.audit_actor,
        "save",
        "tracker_submission",
        submission.id,
        before,
        _snapshot(submission) | {"answers": len(cleaned)},
    )
    return submission


def _transition(
    session: Session,
    actor: TrackerActor,
    submission: Submission,
    *,
    allowed_from: tuple[Status, ...],
    to: Status,
    action: str,
    note: str = "",
) -> Submission:
    if submission.status not in {status.value for status in allowed_from}:
        raise ConflictError(
            f"cannot {action} submission {submission.id}: it is {submission.status}, "
            f"expected {' or '.join(status.value for status in allowed_from)}",
            status=submission.status,
        )
    before = _snapshot(submission)
    submission.status = to.value
    submission.updated_at = utcnow()
    session.flush()
    after = _snapshot(submission) | ({"note": note} if note else {})
    record_audit(
        session, actor.audit_actor, action, "tracker_submission", submission.id, before, after
    )
    return submission


def submit_submission(session: Session, actor: TrackerActor, submission_id: int) -> Submission:
    """Send a draft to the secretariat for review (focal point of the State, or secretariat)."""
    submission = _submission(session, submission_id)
    require_state_editor(actor, submission.state_iso3, "submit")
    submission.submitted_at = utcnow()
    return _transition(
        session,
        actor,
        submission,
        allowed_from=(Status.DRAFT,),
        to=Status.SUBMITTED,
        action="submit",
    )


def return_submission(
    session: Session, actor: TrackerActor, submission_id: int, note: str = ""
) -> Submission:
    """Send a submission under review back to its State as a draft (secretariat only)."""
    require_secretariat(actor, "return submissions")
    submission = _submission(session, submission_id)
    return _transition(
        session,
        actor,
        submission,
        allowed_from=(Status.SUBMITTED,),
        to=Status.DRAFT,
        action="return",
        note=note,
    )


def publish_submission(session: Session, actor: TrackerActor, submission_id: int) -> Submission:
    """Publish the version under review (secretariat only); it replaces any earlier one."""
    require_secretariat(actor, "publish submissions")
    submission = _submission(session, submission_id)
    if submission.status != Status.SUBMITTED.value:
        raise ConflictError(
            f"cannot publish submission {submission.id}: it is {submission.status}, "
            "expected submitted (a focal point submits it first)",
            status=submission.status,
        )
    if submission.published_version and submission.published_version != submission.current_version:
        _unindex_version(session, _version(session, submission, submission.published_version))
    submission.published_version = submission.current_version
    submission.published_at = utcnow()
    _transition(
        session,
        actor,
        submission,
        allowed_from=(Status.SUBMITTED,),
        to=Status.PUBLISHED,
        action="publish",
    )
    current = _version(session, submission, submission.current_version)
    assert current is not None  # a submitted submission has at least one version
    _index_version(session, submission, current, published=True)
    return submission


def unpublish_submission(
    session: Session, actor: TrackerActor, submission_id: int, reason: str
) -> Submission:
    """Withdraw a submission's public version (secretariat only); every version is kept.

    The public no longer sees the submission. A submission that was published as
    it stands goes back to its State as a draft; one whose revision is already in
    draft or under review keeps that status. The reason goes to the audit log.

    Raises
    ------
    PermissionDeniedError
        Unless the actor is the secretariat.
    InvalidInputError
        Without a reason.
    ConflictError
        If the submission has no public version.
    """
    require_secretariat(actor, "unpublish submissions")
    submission = _submission(session, submission_id)
    cleaned = reason_given(reason, "submission")
    if submission.published_version is None:
        raise ConflictError(
            f"cannot unpublish submission {submission.id}: it has no public version",
            status=submission.status,
        )
    before = _snapshot(submission)
    withdrawn = _version(session, submission, submission.published_version)
    if submission.published_version == submission.current_version:
        assert withdrawn is not None
        _index_version(session, submission, withdrawn, published=False)
    else:
        _unindex_version(session, withdrawn)
    submission.published_version = None
    submission.published_at = None
    if submission.status == Status.PUBLISHED.value:
        submission.status = Status.DRAFT.value
    submission.updated_at = utcnow()
    session.flush()
    record_audit(
        session,
        actor.audit_actor,
        "unpublish",
        "tracker_submission",
        submission.id,
        before,
        _snapshot(submission) | {"note": cleaned, "withdrawn_version": before["published_version"]},
    )
    return submission


def get_submission(session: Session, actor: TrackerActor, submission_id: int) -> Submission:
    """Return a submission the actor may see (the public: published ones only)."""
    submission = _submission(session, submission_id)
    if submission.published_version is None and not actor.may_see_unpublished(
        submission.state_iso3
    ):
        raise NotFoundError(f"no submission {submission_id}", received=submission_id)
    return submission


def visible_version(
    session: Session, actor: TrackerActor, submission: Submission
) -> SubmissionVersion | None:
    """The version the actor should read: the working copy for editors, else the published one."""
    if actor.may_see_unpublished(submission.state_iso3):
        return _version(session, submission, submission.current_version)
    return _version(session, submission, submission.published_version)


def import_questionnaire(
    session: Session,
    actor: TrackerActor,
    content: bytes,
    filename: str,
    *,
    is_fictional: bool = False,
) -> Submission:
    """Import a filled XLSX questionnaire as a new draft version.

    Raises
    ------
    DataFileError, QuestionnaireError
        If the workbook is malformed or any row fails a check (nothing is stored).
    PermissionDeniedError, ConflictError
        As for :func:`save_submission`.
    """
    parsed = read_questionnaire(content, filename)
    return save_submission(
        session,
        actor,
        discussion=parsed.session_number,
        state=parsed.state_iso3,
        answers=[
            AnswerInput(
                question_number=answer.question_number,
                text=answer.answer,
                paragraphs=answer.paragraphs,
                population_groups=answer.population_groups,
            )
            for answer in parsed.answers
        ],
        focal_point=parsed.focal_point,
        email=parsed.email or "",
        note=f"imported from {filename}",
        is_fictional=is_fictional,
    )
