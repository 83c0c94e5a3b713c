"""Submissions and good practices: their workflow, versions, permissions and audit trail.

Every function works inside the caller's transaction, checks the actor's
rights (:mod:`crimeprev.tracker.access`), writes one audit record per change
and keeps the search index in step. Nothing is stored when a check fails: the
caller's transaction rolls back.

Workflow of a submission (a State's answers to one discussion's questions)::

    draft --submit--> submitted --publish--> published
      ^                   |                      |
      +-------return------+        (a new save starts a new draft version;
                                    the published version stays public)

Every save makes a new version; earlier versions are never changed. Good
practices follow the same three states without versions (the audit log keeps
each change's before and after).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
from crimeprev.tracker.access import TrackerActor, require_secretariat, require_state_editor
from crimeprev.tracker.documents import DEFAULT_MAX_BYTES, extract_text
from crimeprev.tracker.member_states import member_state, member_states
from crimeprev.tracker.models import (
    Answer,
    AnswerParagraph,
    Commitment,
    Discussion,
    DiscussionParagraph,
    Document,
    Indicator,
    Level,
    MemberStateRow,
    Practice,
    PracticeParagraph,
    PracticeTag,
    Question,
    Status,
    Submission,
    SubmissionVersion,
)
from crimeprev.tracker.questionnaire import read_questionnaire
from crimeprev.tracker.search import index_document, remove_document
from crimeprev.tracker.tagging import POPULATION_GROUPS

__all__ = [
    "DEFAULT_INDICATORS",
    "AnswerInput",
    "PracticeInput",
    "add_document",
    "create_practice",
    "get_discussion",
    "get_practice",
    "get_submission",
    "import_questionnaire",
    "publish_practice",
    "publish_submission",
    "return_practice",
    "return_submission",
    "save_submission",
    "submit_practice",
    "submit_submission",
    "sync_reference",
    "unpublish_practice",
    "unpublish_submission",
    "update_practice",
    "validate_paragraphs",
]

#: Progress indicators linked to paragraphs when the reference data are loaded:
#: (paragraph, series, label, unit).
DEFAULT_INDICATORS: tuple[tuple[int, str, str, str], ...] = (
    (21, "16.1.1", "Victims of intentional homicide", "per 100,000 population"),
    (23, "16.1.1", "Victims of intentional homicide", "per 100,000 population"),
)


@dataclass(frozen=True)
class AnswerInput:
    """An answer as entered: the question number, text, paragraphs and population groups."""

    question_number: int
    text: str
    paragraphs: tuple[int, ...] = ()
    population_groups: tuple[str, ...] = ()


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


# --------------------------------------------------------------------------- reference data


def sync_reference(session: Session) -> dict[str, int]:
    """Load Member States, paragraphs, discussions, questions and indicators (idempotent).

    Returns
    -------
    dict
        How many rows of each kind are now present.
    """
    known_states = set(session.execute(select(MemberStateRow.iso3)).scalars())
    for state in member_states():
        if state.iso3 not in known_states:
            session.add(
                MemberStateRow(
                    iso3=state.iso3,
                    iso2=state.iso2,
                    m49=state.m49,
                    name=state.name,
                    region=state.region,
                    subregion=state.subregion,
                    intermediate_region=state.intermediate_region,
                )
            )
    known_paragraphs = set(session.execute(select(Commitment.number)).scalars())
    for item in kyoto.paragraphs():
        if item.number not in known_paragraphs:
            session.add(
                Commitment(
                    number=item.number,
                    pillar=item.pillar.number if item.pillar else None,
                    title=item.title,
                    summary=item.summary,
                )
            )
    session.flush()
    for held in kyoto.sessions():
        discussion = session.execute(
            select(Discussion).where(Discussion.number == held.number)
        ).scalar_one_or_none()
        if discussion is None:
            discussion = Discussion(number=held.number, title=held.title, held_on=held.date)
            session.add(discussion)
            session.flush()
            for question in held.questions:
                session.add(
                    Question(
                        discussion_id=discussion.id, number=question.number, text=question.summary
                    )
                )
            for topic in held.topics:
                for number in topic.paragraph_numbers:
                    session.add(
                        DiscussionParagraph(
                            discussion_id=discussion.id, commitment_number=number, topic=topic.title
                        )
                    )
    session.flush()
    existing = {
        (number, series)
        for number, series in session.execute(select(Indicator.commitment_number, Indicator.series))
    }
    for number, series, label, unit in DEFAULT_INDICATORS:
        if (number, series) not in existing:
            session.add(Indicator(commitment_number=number, series=series, label=label, unit=unit))
    session.flush()
    counts = {}
    for name, model in (
        ("member_states", MemberStateRow),
        ("paragraphs", Commitment),
        ("discussions", Discussion),
        ("questions", Question),
        ("indicators", Indicator),
    ):
        counts[name] = len(session.execute(select(model)).scalars().all())
    return counts


def get_discussion(session: Session, number: int) -> Discussion:
    """Return a thematic discussion by its number.

    Raises
    ------
    NotFoundError
        If there is none (load the reference data with :func:`sync_reference`).
    """
    found = session.execute(
        select(Discussion).where(Discussion.number == number)
    ).scalar_one_or_none()
    if found is None:
        numbers = sorted(session.execute(select(Discussion.number)).scalars())
        raise NotFoundError(
            f"no thematic discussion {number}; known: {numbers or 'none (run sync first)'}",
            received=number,
        )
    return found


def validate_paragraphs(
    values: Iterable[int | str], *, where: str = "paragraphs"
) -> tuple[int, ...]:
    """Return paragraph numbers as sorted unique integers, each checked against 21-96.

    Examples
    --------
    >>> validate_paragraphs(["26", 21, 21])
    (21, 26)
    """
    declaration = kyoto.declaration()
    found: set[int] = set()
    for value in values:
        try:
            number = int(str(value).strip())
        except ValueError:
            number = -1
        if number not in declaration.paragraph_numbers:
            raise InvalidInputError(
                f"{where}: {value!r} is not a Kyoto Declaration paragraph; expected a number "
                f"from {declaration.first_paragraph} to {declaration.follow_up_paragraph}",
                field=where,
                value=value,
            )
        found.add(number)
    return tuple(sorted(found))


def _validate_groups(values: Iterable[str], where: str = "population_groups") -> tuple[str, ...]:
    keys = [group.key for group in POPULATION_GROUPS]
    found: list[str] = []
    for value in values:
        key = str(value).strip().lower()
        if not key:
            continue
        if key not in keys:
            raise InvalidInputError(
                f"{where}: unknown population group {value!r}; expected one of {', '.join(keys)}",
                field=where,
                value=value,
            )
        if key not in found:
            found.append(key)
    return tuple(found)


def _state(value: str) -> str:
    return member_state(value).iso3


# --------------------------------------------------------------------------- submissions


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
    iso3 = _state(state)
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
                _validate_groups(item.population_groups, where=f"{where} population groups"),
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


def _reason(reason: str, what: str) -> str:
    cleaned = " ".join(reason.split())
    if not cleaned:
        raise InvalidInputError(
            f"give a reason for unpublishing the {what}; it is kept in the audit log "
            "and shown to the State"
        )
    return cleaned[:1000]


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
    cleaned = _reason(reason, "submission")
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


# --------------------------------------------------------------------------- practices


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
    iso3 = _state(data.state)
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
    tags.extend(("group", key) for key in _validate_groups(data.population_groups))
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
    cleaned = _reason(reason, "good practice")
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
