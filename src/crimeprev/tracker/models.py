"""Tables of the Kyoto tracker in the operational database.

Reference tables are filled from the packaged standards by
:func:`crimeprev.tracker.service.sync_reference`: Member States, the
Declaration's paragraphs (commitments) and the thematic discussions with their
questions. Registry tables hold what people enter: who speaks for which State
(memberships), submissions and every version of their answers, good practices
with their tags and source documents, and progress indicators.

The schema is created by the Alembic revision ``tracker_0001`` (branch
``tracker``); the full-text index on top of ``tracker_search_document`` is
built by :mod:`crimeprev.tracker.search`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crimeprev.db import models as _core_models  # noqa: F401 - app_user must be in the metadata
from crimeprev.db.base import Base, UTCDateTime, utcnow

__all__ = [
    "Answer",
    "AnswerParagraph",
    "Commitment",
    "Discussion",
    "DiscussionParagraph",
    "Document",
    "Indicator",
    "Level",
    "Membership",
    "MemberStateRow",
    "Practice",
    "PracticeParagraph",
    "PracticeTag",
    "Question",
    "SearchDocument",
    "SearchFacet",
    "Status",
    "Submission",
    "SubmissionVersion",
    "TrackerRole",
]


class Status(StrEnum):
    """Where a submission or practice is in its workflow."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"


class TrackerRole(StrEnum):
    """Roles in the tracker, held per user (a focal point also names a State)."""

    FOCAL_POINT = "focal_point"
    SECRETARIAT = "secretariat"


class Level(StrEnum):
    """Where a good practice operates."""

    NATIONAL = "national"
    LOCAL = "local"


class MemberStateRow(Base):
    """A UN Member State (from ``tracker/data/member_states.csv``)."""

    __tablename__ = "tracker_member_state"

    iso3: Mapped[str] = mapped_column(String(3), primary_key=True)
    iso2: Mapped[str] = mapped_column(String(2), unique=True)
    m49: Mapped[str] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(40))
    subregion: Mapped[str] = mapped_column(String(60))
    intermediate_region: Mapped[str | None] = mapped_column(String(60), nullable=True)


class Commitment(Base):
    """A paragraph of the Kyoto Declaration (21-96)."""

    __tablename__ = "tracker_commitment"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pillar: Mapped[int | None] = mapped_column(Integer, nullable=True)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)


class Discussion(Base):
    """A thematic discussion of the Commission (one session, on one day)."""

    __tablename__ = "tracker_discussion"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)

    questions: Mapped[list[Question]] = relationship(
        back_populates="discussion", order_by="Question.number", lazy="selectin"
    )
    paragraph_links: Mapped[list[DiscussionParagraph]] = relationship(
        order_by="DiscussionParagraph.commitment_number", lazy="selectin"
    )


class DiscussionParagraph(Base):
    """A paragraph a discussion covered, under one of its topics."""

    __tablename__ = "tracker_discussion_paragraph"

    # Explicit names: the conventional ones exceed PostgreSQL's 63 characters.
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("tracker_discussion.id", name="fk_tracker_discussion_paragraph_discussion_id"),
        primary_key=True,
    )
    commitment_number: Mapped[int] = mapped_column(
        ForeignKey(
            "tracker_commitment.number", name="fk_tracker_discussion_paragraph_commitment_number"
        ),
        primary_key=True,
    )
    topic: Mapped[str] = mapped_column(String(200))


class Question(Base):
    """A discussion question, numbered within its discussion."""

    __tablename__ = "tracker_question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("tracker_discussion.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)

    discussion: Mapped[Discussion] = relationship(back_populates="questions")

    __table_args__ = (UniqueConstraint("discussion_id", "number"),)


class Membership(Base):
    """A user's tracker role: focal point of one State, or member of the secretariat."""

    __tablename__ = "tracker_membership"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    state_iso3: Mapped[str | None] = mapped_column(
        ForeignKey("tracker_member_state.iso3"), nullable=True
    )

    __table_args__ = (
        UniqueConstraint("user_id", "role", "state_iso3"),
        CheckConstraint("role in ('focal_point','secretariat')", name="known_role"),
        CheckConstraint(
            "(role = 'focal_point') = (state_iso3 is not null)", name="focal_point_has_state"
        ),
    )


class Submission(Base):
    """A State's answers to one discussion's questions; every version is kept.

    ``current_version`` is the latest version (the working copy);
    ``published_version`` is what the public sees (it stays visible while a
    revision is drafted and reviewed).
    """

    __tablename__ = "tracker_submission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("tracker_discussion.id"), index=True)
    state_iso3: Mapped[str] = mapped_column(ForeignKey("tracker_member_state.iso3"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=Status.DRAFT.value)
    current_version: Mapped[int] = mapped_column(Integer, default=0)
    published_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_fictional: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    discussion: Mapped[Discussion] = relationship()
    state: Mapped[MemberStateRow] = relationship()
    versions: Mapped[list[SubmissionVersion]] = relationship(
        back_populates="submission", order_by="SubmissionVersion.version"
    )

    __table_args__ = (
        UniqueConstraint("discussion_id", "state_iso3"),
        CheckConstraint("status in ('draft','submitted','published')", name="known_status"),
    )


class SubmissionVersion(Base):
    """One saved version of a submission's answers (never changed afterwards)."""

    __tablename__ = "tracker_submission_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("tracker_submission.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    focal_point: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    note: Mapped[str] = mapped_column(Text, default="")

    submission: Mapped[Submission] = relationship(back_populates="versions")
    answers: Mapped[list[Answer]] = relationship(
        back_populates="version", lazy="selectin", order_by="Answer.question_id"
    )

    __table_args__ = (UniqueConstraint("submission_id", "version"),)


class Answer(Base):
    """The answer to one question in one version."""

    __tablename__ = "tracker_answer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("tracker_submission_version.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("tracker_question.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    population_groups: Mapped[str] = mapped_column(String(400), default="")

    version: Mapped[SubmissionVersion] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship(lazy="joined")
    paragraph_links: Mapped[list[AnswerParagraph]] = relationship(
        lazy="selectin", order_by="AnswerParagraph.commitment_number"
    )

    @property
    def paragraphs(self) -> tuple[int, ...]:
        """The paragraph numbers the answer addresses."""
        return tuple(link.commitment_number for link in self.paragraph_links)

    @property
    def groups(self) -> tuple[str, ...]:
        """The population-group keys the answer concerns."""
        return tuple(key for key in self.population_groups.split(",") if key)


class AnswerParagraph(Base):
    """A paragraph an answer addresses."""

    __tablename__ = "tracker_answer_paragraph"

    answer_id: Mapped[int] = mapped_column(ForeignKey("tracker_answer.id"), primary_key=True)
    commitment_number: Mapped[int] = mapped_column(
        ForeignKey(
            "tracker_commitment.number", name="fk_tracker_answer_paragraph_commitment_number"
        ),
        primary_key=True,
        index=True,
    )


class Practice(Base):
    """A good practice shared by a State."""

    __tablename__ = "tracker_practice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    state_iso3: Mapped[str] = mapped_column(ForeignKey("tracker_member_state.iso3"), index=True)
    level: Mapped[str] = mapped_column(String(10))
    locality: Mapped[str] = mapped_column(String(200), default="")
    evaluation: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(300), default="")
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(12), default=Status.DRAFT.value)
    is_fictional: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    state: Mapped[MemberStateRow] = relationship()
    paragraph_links: Mapped[list[PracticeParagraph]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="PracticeParagraph.commitment_number",
    )
    tags: Mapped[list[PracticeTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PracticeTag.value"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="practice", order_by="Document.id", lazy="selectin"
    )

    __table_args__ = (
        CheckConstraint("status in ('draft','submitted','published')", name="known_status"),
        CheckConstraint("level in ('national','local')", name="known_level"),
    )

    @property
    def paragraphs(self) -> tuple[int, ...]:
        """The paragraph numbers the practice addresses."""
        return tuple(link.commitment_number for link in self.paragraph_links)

    def tag_values(self, kind: str) -> tuple[str, ...]:
        """The practice's tags of one kind (``iccs``, ``sdg`` or ``group``)."""
        return tuple(tag.value for tag in self.tags if tag.kind == kind)


class PracticeParagraph(Base):
    """A paragraph a practice addresses."""

    __tablename__ = "tracker_practice_paragraph"

    practice_id: Mapped[int] = mapped_column(ForeignKey("tracker_practice.id"), primary_key=True)
    commitment_number: Mapped[int] = mapped_column(
        ForeignKey(
            "tracker_commitment.number", name="fk_tracker_practice_paragraph_commitment_number"
        ),
        primary_key=True,
        index=True,
    )


class PracticeTag(Base):
    """An ICCS category, SDG target or population group a practice concerns."""

    __tablename__ = "tracker_practice_tag"

    practice_id: Mapped[int] = mapped_column(ForeignKey("tracker_practice.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(60), primary_key=True)

    __table_args__ = (CheckConstraint("kind in ('iccs','sdg','group')", name="known_kind"),)


class Document(Base):
    """A source document of a practice: the file as uploaded and its extracted text."""

    __tablename__ = "tracker_document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("tracker_practice.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))
    media_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    practice: Mapped[Practice] = relationship(back_populates="documents")

    __table_args__ = (UniqueConstraint("practice_id", "sha256"),)


class Indicator(Base):
    """A progress indicator of a paragraph, linked to a warehouse series (e.g. SDG 16.1.1)."""

    __tablename__ = "tracker_indicator"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_number: Mapped[int] = mapped_column(
        ForeignKey("tracker_commitment.number"), index=True
    )
    series: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(60), default="")

    __table_args__ = (UniqueConstraint("commitment_number", "series"),)


class SearchDocument(Base):
    """One searchable text: a published or draft answer, practice or document.

    The full-text index (SQLite FTS5 table or PostgreSQL tsvector) is kept in
    step with this table by :mod:`crimeprev.tracker.search`.
    """

    __tablename__ = "tracker_search_document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    ref_id: Mapped[int] = mapped_column(Integer)
    state_iso3: Mapped[str] = mapped_column(String(3), index=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(200))
    facet_key: Mapped[str] = mapped_column(
        Text, default="", server_default="", doc="the facets as 'facet<TAB>value' lines"
    )

    facets: Mapped[list[SearchFacet]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("kind", "ref_id"),
        CheckConstraint("kind in ('answer','practice','document')", name="known_kind"),
    )


class SearchFacet(Base):
    """One facet value of a search document (country, region, paragraph, topic, group, year)."""

    __tablename__ = "tracker_search_facet"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("tracker_search_document.id", ondelete="CASCADE"), primary_key=True
    )
    facet: Mapped[str] = mapped_column(String(12), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)

    __table_args__ = (Index("ix_tracker_search_facet_facet_value", "facet", "value"),)
