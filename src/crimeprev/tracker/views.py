"""Read-only views: per paragraph, per State, the coverage table and two States side by side.

Each view shows what the actor may see: the public reads published versions
and published practices; a focal point also reads their own States' working
copies and drafts; the secretariat reads every working copy.

The results are frozen dataclasses with an ``as_dict()`` for the JSON twins.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from crimeprev.db.audit import audit_trail
from crimeprev.errors import NotFoundError
from crimeprev.standards import kyoto
from crimeprev.tracker.access import TrackerActor
from crimeprev.tracker.indicators import (
    IndicatorSeries,
    available_series,
    country_series,
    warehouse_series,
)
from crimeprev.tracker.member_states import member_state
from crimeprev.tracker.models import (
    Answer,
    AnswerParagraph,
    Discussion,
    Indicator,
    Practice,
    PracticeParagraph,
    Question,
    Status,
    Submission,
    SubmissionVersion,
)

if TYPE_CHECKING:
    from crimeprev.store.warehouse import Warehouse

__all__ = [
    "AnswerRow",
    "ComparisonRow",
    "HistoryRow",
    "CoverageTable",
    "IndicatorValue",
    "ParagraphView",
    "PracticeRow",
    "StateView",
    "SubmissionRow",
    "compare_states",
    "coverage",
    "paragraph_view",
    "review_history",
    "state_view",
    "visible_answers",
    "visible_practices",
]


@dataclass(frozen=True)
class AnswerRow:
    """One answer as a view shows it."""

    submission_id: int
    state_iso3: str
    state_name: str
    discussion: int
    question: int
    question_text: str
    text: str
    paragraphs: tuple[int, ...]
    population_groups: tuple[str, ...]
    version: int
    published: bool
    is_fictional: bool


@dataclass(frozen=True)
class PracticeRow:
    """One good practice as a view shows it."""

    practice_id: int
    title: str
    summary: str
    state_iso3: str
    state_name: str
    level: str
    locality: str
    year: int | None
    status: str
    paragraphs: tuple[int, ...]
    is_fictional: bool


@dataclass(frozen=True)
class SubmissionRow:
    """A submission in a State's list."""

    submission_id: int
    discussion: int
    discussion_title: str
    status: str
    current_version: int
    published_version: int | None
    is_fictional: bool


def _as_dict(value: Any) -> Any:
    return asdict(value)


def _visibility(actor: TrackerActor) -> Any:
    published = SubmissionVersion.version == Submission.published_version
    if actor.secretariat:
        return SubmissionVersion.version == Submission.current_version
    if actor.states:
        own = and_(
            Submission.state_iso3.in_(sorted(actor.states)),
            SubmissionVersion.version == Submission.current_version,
        )
        others = and_(Submission.state_iso3.not_in(sorted(actor.states)), published)
        return or_(own, others)
    return published


def visible_answers(
    session: Session,
    actor: TrackerActor,
    *,
    state: str | None = None,
    paragraph: int | None = None,
    discussion: int | None = None,
) -> list[AnswerRow]:
    """Return the answers the actor may read, optionally of one State, paragraph or discussion.

    Ordered by discussion, State name and question.
    """
    statement = (
        select(Answer, Submission, SubmissionVersion, Question, Discussion)
        .join(SubmissionVersion, SubmissionVersion.id == Answer.version_id)
        .join(Submission, Submission.id == SubmissionVersion.submission_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Discussion, Discussion.id == Submission.discussion_id)
        .where(_visibility(actor))
    )
    if state is not None:
        statement = statement.where(Submission.state_iso3 == member_state(state).iso3)
    if discussion is not None:
        statement = statement.where(Discussion.number == discussion)
    if paragraph is not None:
        statement = statement.where(
            Answer.id.in_(
                select(AnswerParagraph.answer_id).where(
                    AnswerParagraph.commitment_number == paragraph
                )
            )
        )
    rows = []
    for answer, submission, version, question, found in session.execute(statement).all():
        rows.append(
            AnswerRow(
                submission_id=submission.id,
                state_iso3=submission.state_iso3,
                state_name=member_state(submission.state_iso3).name,
                discussion=found.number,
                question=question.number,
                question_text=question.text,
                text=answer.text,
                paragraphs=answer.paragraphs,
                population_groups=answer.groups,
                version=version.version,
                published=version.version == submission.published_version,
                is_fictional=submission.is_fictional,
            )
        )
    return sorted(rows, key=lambda row: (row.discussion, row.state_name, row.question))


def visible_practices(
    session: Session,
    actor: TrackerActor,
    *,
    state: str | None = None,
    paragraph: int | None = None,
) -> list[PracticeRow]:
    """Return the good practices the actor may read, newest first."""
    statement = select(Practice)
    if not actor.secretariat:
        condition = Practice.status == Status.PUBLISHED.value
        if actor.states:
            condition = or_(condition, Practice.state_iso3.in_(sorted(actor.states)))
        statement = statement.where(condition)
    if state is not None:
        statement = statement.where(Practice.state_iso3 == member_state(state).iso3)
    if paragraph is not None:
        statement = statement.where(
            Practice.id.in_(
                select(PracticeParagraph.practice_id).where(
                    PracticeParagraph.commitment_number == paragraph
                )
            )
        )
    practices = session.execute(statement.order_by(Practice.id.desc())).scalars().all()
    return [
        PracticeRow(
            practice_id=practice.id,
            title=practice.title,
            summary=practice.summary,
            state_iso3=practice.state_iso3,
            state_name=member_state(practice.state_iso3).name,
            level=practice.level,
            locality=practice.locality,
            year=practice.year,
            status=practice.status,
            paragraphs=practice.paragraphs,
            is_fictional=practice.is_fictional,
        )
        for practice in practices
    ]


@dataclass(frozen=True)
class IndicatorValue:
    """The latest value of a paragraph's indicator for one State that reported on it.

    ``year`` and ``value`` are None when the State has no value of the series;
    ``ci_low``/``ci_high`` are None when the interval cannot be computed
    (``interval_note`` says why); ``breaks`` counts the series' breaks (the
    State's page lists them).
    """

    series: str
    iso3: str
    state_name: str
    year: int | None
    value: float | None
    ci_low: float | None
    ci_high: float | None
    unit: str
    source: str
    interval_note: str
    breaks: int


@dataclass(frozen=True)
class ParagraphView:
    """Which States reported what on one paragraph, the practices, and its indicators."""

    number: int
    title: str | None
    summary: str | None
    pillar: str | None
    topic: str | None
    answers: tuple[AnswerRow, ...]
    practices: tuple[PracticeRow, ...]
    indicators: tuple[tuple[str, str, str], ...]
    indicator_values: tuple[IndicatorValue, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return _as_dict(self)


def paragraph_view(
    session: Session, actor: TrackerActor, number: int, warehouse: Warehouse | None = None
) -> ParagraphView:
    """Return the view of one paragraph.

    The paragraph's progress indicators are given for each State that
    reported on it (answers or practices the actor may read): the latest value
    with its interval, from the warehouse when it holds the State's series,
    else from the bundled data.

    Raises
    ------
    NotFoundError
        If `number` is not a paragraph of the Declaration.
    """
    found = kyoto.paragraph(number)
    indicators = session.execute(
        select(Indicator.series, Indicator.label, Indicator.unit)
        .where(Indicator.commitment_number == number)
        .order_by(Indicator.series)
    ).all()
    answers = tuple(visible_answers(session, actor, paragraph=number))
    practices = tuple(visible_practices(session, actor, paragraph=number))
    reporting = sorted(
        {row.state_iso3 for row in answers} | {row.state_iso3 for row in practices},
        key=lambda code: member_state(code).name,
    )
    return ParagraphView(
        number=found.number,
        title=found.title,
        summary=found.summary,
        pillar=found.pillar.roman if found.pillar else None,
        topic=found.topic,
        answers=answers,
        practices=practices,
        indicators=tuple((series, label, unit) for series, label, unit in indicators),
        indicator_values=_indicator_values(
            [(series, unit) for series, _, unit in indicators], reporting, warehouse
        ),
    )


def _indicator_values(
    names: list[tuple[str, str]], states: list[str], warehouse: Warehouse | None
) -> tuple[IndicatorValue, ...]:
    """Each State's latest value of each (series, unit) (warehouse first, then bundled).

    A State without a value of a series gets a row with no value and a note
    saying where the value would come from.
    """
    if not names or not states:
        return ()
    out = []
    for iso3 in states:
        wanted = {name for name, _ in names}
        held = (
            {s.series: s for s in warehouse_series(warehouse, iso3, names=wanted)}
            if warehouse
            else {}
        )
        for name, unit in names:
            series = held.get(name)
            if series is None and name in available_series():
                series = country_series(name, iso3)
            if series is None or not series.points:
                where = (
                    "the warehouse holds" if warehouse is not None else "no warehouse is loaded;"
                )
                out.append(
                    IndicatorValue(
                        series=name, iso3=iso3, state_name=member_state(iso3).name, year=None,
                        value=None, ci_low=None, ci_high=None, unit=unit, source="",
                        interval_note=f"{where} no value of {name} for {iso3}", breaks=0,
                    )
                )  # fmt: skip
                continue
            index = len(series.points) - 1
            year, value = series.points[index]
            out.append(
                IndicatorValue(
                    series=name,
                    iso3=iso3,
                    state_name=member_state(iso3).name,
                    year=year,
                    value=value,
                    ci_low=series.ci_low[index] if series.ci_low else None,
                    ci_high=series.ci_high[index] if series.ci_high else None,
                    unit=series.unit,
                    source=series.source,
                    interval_note="; ".join(series.interval_notes),
                    breaks=len(series.breaks),
                )
            )
    return tuple(out)


@dataclass(frozen=True)
class StateView:
    """A State's submissions, answers, practices and indicator series."""

    iso3: str
    name: str
    region: str
    subregion: str
    submissions: tuple[SubmissionRow, ...]
    answers: tuple[AnswerRow, ...]
    practices: tuple[PracticeRow, ...]
    series: tuple[IndicatorSeries, ...]
    series_from: str = "bundled"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return _as_dict(self)


def state_view(
    session: Session, actor: TrackerActor, state: str, warehouse: Warehouse | None = None
) -> StateView:
    """Return the view of one Member State.

    Its indicator series come from the warehouse when one is given and holds
    data for the State (``series_from`` is then ``"warehouse"``); otherwise the
    bundled series of the indicators linked to paragraphs are used.
    """
    found = member_state(state)
    statement = (
        select(Submission, Discussion)
        .join(Discussion, Discussion.id == Submission.discussion_id)
        .where(Submission.state_iso3 == found.iso3)
        .order_by(Discussion.number)
    )
    submissions = []
    for submission, discussion in session.execute(statement).all():
        if submission.published_version is None and not actor.may_see_unpublished(found.iso3):
            continue
        submissions.append(
            SubmissionRow(
                submission_id=submission.id,
                discussion=discussion.number,
                discussion_title=discussion.title,
                status=submission.status,
                current_version=submission.current_version,
                published_version=submission.published_version,
                is_fictional=submission.is_fictional,
            )
        )
    series = warehouse_series(warehouse, found.iso3) if warehouse is not None else ()
    series_from = "warehouse" if series else "bundled"
    if not series:
        linked = set(session.execute(select(Indicator.series)).scalars())
        series = tuple(
            country_series(name, found.iso3) for name in available_series() if name in linked
        )
    return StateView(
        iso3=found.iso3,
        name=found.name,
        region=found.region,
        subregion=found.subregion,
        submissions=tuple(submissions),
        answers=tuple(visible_answers(session, actor, state=found.iso3)),
        practices=tuple(visible_practices(session, actor, state=found.iso3)),
        series=series,
        series_from=series_from,
    )


@dataclass(frozen=True)
class CoverageTable:
    """Which States reported on which paragraphs.

    Attributes
    ----------
    paragraphs : tuple of int
        The columns: every paragraph any visible answer or practice addresses.
    rows : tuple of (iso3, name, region, counts)
        One row per State with content; ``counts[i]`` is the number of answers
        and practices addressing ``paragraphs[i]``.
    regions : tuple of (region, states reporting, Member States in region)
    """

    paragraphs: tuple[int, ...]
    rows: tuple[tuple[str, str, str, tuple[int, ...]], ...]
    regions: tuple[tuple[str, int, int], ...]

    def by_state(self) -> list[dict[str, Any]]:
        """One record per reporting State, keyed for a map.

        ``m49`` is the State's three-digit ISO 3166-1 numeric code (equal to its
        UN M49 code), the key that world maps such as Natural Earth's use;
        ``paragraphs`` counts the paragraphs it reported on and ``reports`` its
        answers and practices summed over the paragraphs.
        """
        return [
            {
                "iso3": iso3,
                "m49": member_state(iso3).m49,
                "name": name,
                "region": region,
                "paragraphs": sum(1 for count in counts if count),
                "reports": sum(counts),
            }
            for iso3, name, region, counts in self.rows
        ]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "states": self.by_state(),
            "paragraphs": list(self.paragraphs),
            "rows": [
                {"iso3": iso3, "name": name, "region": region, "counts": list(counts)}
                for iso3, name, region, counts in self.rows
            ],
            "regions": [
                {"region": region, "reporting": reporting, "member_states": total}
                for region, reporting, total in self.regions
            ],
        }


def coverage(session: Session, actor: TrackerActor) -> CoverageTable:
    """Return the coverage table of States by paragraphs, and reporting by region."""
    from crimeprev.tracker.member_states import member_states, regions

    counts: dict[str, dict[int, int]] = {}
    for answer in visible_answers(session, actor):
        for number in answer.paragraphs:
            row = counts.setdefault(answer.state_iso3, {})
            row[number] = row.get(number, 0) + 1
    for practice in visible_practices(session, actor):
        for number in practice.paragraphs:
            row = counts.setdefault(practice.state_iso3, {})
            row[number] = row.get(number, 0) + 1
    paragraphs = tuple(sorted({number for row in counts.values() for number in row}))
    rows = []
    for iso3 in sorted(counts, key=lambda code: member_state(code).name):
        state = member_state(iso3)
        rows.append(
            (iso3, state.name, state.region, tuple(counts[iso3].get(n, 0) for n in paragraphs))
        )
    region_rows = tuple(
        (
            region,
            sum(1 for iso3 in counts if member_state(iso3).region == region),
            len(member_states(region)),
        )
        for region in regions()
    )
    return CoverageTable(paragraphs=paragraphs, rows=tuple(rows), regions=region_rows)


@dataclass(frozen=True)
class ComparisonRow:
    """One paragraph: what each of two States reported."""

    paragraph: int
    title: str | None
    first: tuple[str, ...]
    second: tuple[str, ...]


def compare_states(
    session: Session, actor: TrackerActor, first: str, second: str
) -> tuple[str, str, tuple[ComparisonRow, ...]]:
    """Put two States side by side, paragraph by paragraph.

    Returns
    -------
    tuple
        The two ISO3 codes and one row per paragraph either State addressed,
        each listing the answers' and practices' texts (practices as
        "Practice: title").

    Raises
    ------
    InvalidInputError
        If both are the same State.
    """
    from crimeprev.errors import InvalidInputError

    a, b = member_state(first).iso3, member_state(second).iso3
    if a == b:
        raise InvalidInputError(f"compare two different States, got {a} twice")
    texts: dict[tuple[str, int], list[str]] = {}
    for iso3 in (a, b):
        for answer in visible_answers(session, actor, state=iso3):
            for number in answer.paragraphs:
                texts.setdefault((iso3, number), []).append(answer.text)
        for practice in visible_practices(session, actor, state=iso3):
            for number in practice.paragraphs:
                texts.setdefault((iso3, number), []).append(f"Practice: {practice.title}")
    numbers = sorted({number for _, number in texts})
    rows = tuple(
        ComparisonRow(
            paragraph=number,
            title=kyoto.paragraph(number).title,
            first=tuple(texts.get((a, number), ())),
            second=tuple(texts.get((b, number), ())),
        )
        for number in numbers
    )
    return a, b, rows


def submission_answers(
    session: Session, actor: TrackerActor, submission: Submission
) -> Sequence[AnswerRow]:
    """The answers of the version of `submission` the actor should read."""
    from crimeprev.tracker.service import visible_version

    version = visible_version(session, actor, submission)
    if version is None:
        raise NotFoundError(f"no submission {submission.id}")
    rows = [
        row
        for row in visible_answers(session, actor, state=submission.state_iso3)
        if row.submission_id == submission.id
    ]
    return rows


@dataclass(frozen=True)
class HistoryRow:
    """One step of a record's review: who did what, when, and the note given."""

    at: datetime
    actor: str
    action: str
    note: str


def review_history(
    session: Session, actor: TrackerActor, entity: str, record_id: int, state_iso3: str
) -> tuple[HistoryRow, ...]:
    """The audit trail of a submission or practice, for its State's editors and the secretariat.

    A focal point learns here why their text was returned or unpublished (the
    secretariat's note); the public gets nothing.

    Parameters
    ----------
    entity : {"tracker_submission", "tracker_practice"}
    record_id : int
    state_iso3 : str
        The record's State, which decides who may read the history.
    """
    if not actor.may_edit(state_iso3):
        return ()
    rows = []
    for record in audit_trail(session, entity, record_id):
        after = json.loads(record.after_json) if record.after_json else {}
        note = after.get("note", "") if isinstance(after, dict) else ""
        rows.append(HistoryRow(at=record.at, actor=record.actor, action=record.action, note=note))
    if entity == "tracker_practice":
        rows += _document_history(session, record_id)
    return tuple(sorted(rows, key=lambda row: row.at))


def _document_history(session: Session, practice_id: int) -> list[HistoryRow]:
    """Uploads and removals of a practice's documents (audited as ``tracker_document``)."""
    from crimeprev.db.models import AuditRecord

    rows = []
    records = session.execute(
        select(AuditRecord)
        .where(AuditRecord.entity == "tracker_document")
        .order_by(AuditRecord.sequence)
    ).scalars()
    for record in records:
        values = json.loads(record.after_json or record.before_json or "{}")
        if isinstance(values, dict) and values.get("practice") == practice_id:
            note = str(values.get("filename", ""))
            rows.append(
                HistoryRow(
                    at=record.at,
                    actor=record.actor,
                    action=f"{record.action} document",
                    note=note,
                )
            )
    return rows
