"""Kyoto tracker: Member States, commitments, discussions, submissions, practices, search.

Revision ID: tracker_0001
Revises: 0001_core
Created: 2026-11-29

The full-text index over ``tracker_search_document`` (an FTS5 table on SQLite,
a tsvector column with a GIN index on PostgreSQL) is not created here: it is
derived data that ``crimeprev.tracker.search.ensure_search_index`` builds and
can rebuild at any time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "tracker_0001"
down_revision = "0001_core"
branch_labels = ("tracker",)
depends_on = None

_STATUS = "status in ('draft','submitted','published')"


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "tracker_member_state",
        sa.Column("iso3", sa.String(3), nullable=False),
        sa.Column("iso2", sa.String(2), nullable=False),
        sa.Column("m49", sa.String(3), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("region", sa.String(40), nullable=False),
        sa.Column("subregion", sa.String(60), nullable=False),
        sa.Column("intermediate_region", sa.String(60), nullable=True),
        sa.PrimaryKeyConstraint("iso3", name="pk_tracker_member_state"),
        sa.UniqueConstraint("iso2", name="uq_tracker_member_state_iso2"),
    )
    op.create_table(
        "tracker_commitment",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pillar", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("number", name="pk_tracker_commitment"),
    )
    op.create_table(
        "tracker_discussion",
        _id(),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_discussion"),
        sa.UniqueConstraint("number", name="uq_tracker_discussion_number"),
    )
    op.create_table(
        "tracker_discussion_paragraph",
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("commitment_number", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["tracker_discussion.id"],
            name="fk_tracker_discussion_paragraph_discussion_id",
        ),
        sa.ForeignKeyConstraint(
            ["commitment_number"],
            ["tracker_commitment.number"],
            name="fk_tracker_discussion_paragraph_commitment_number",
        ),
        sa.PrimaryKeyConstraint(
            "discussion_id", "commitment_number", name="pk_tracker_discussion_paragraph"
        ),
    )
    op.create_table(
        "tracker_question",
        _id(),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["tracker_discussion.id"],
            name="fk_tracker_question_discussion_id_tracker_discussion",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_question"),
        sa.UniqueConstraint("discussion_id", "number", name="uq_tracker_question_discussion_id"),
    )
    op.create_index("ix_tracker_question_discussion_id", "tracker_question", ["discussion_id"])
    op.create_table(
        "tracker_membership",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("state_iso3", sa.String(3), nullable=True),
        sa.CheckConstraint(
            "role in ('focal_point','secretariat')", name="ck_tracker_membership_known_role"
        ),
        sa.CheckConstraint(
            "(role = 'focal_point') = (state_iso3 is not null)",
            name="ck_tracker_membership_focal_point_has_state",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name="fk_tracker_membership_user_id_app_user"
        ),
        sa.ForeignKeyConstraint(
            ["state_iso3"],
            ["tracker_member_state.iso3"],
            name="fk_tracker_membership_state_iso3_tracker_member_state",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_membership"),
        sa.UniqueConstraint("user_id", "role", "state_iso3", name="uq_tracker_membership_user_id"),
    )
    op.create_index("ix_tracker_membership_user_id", "tracker_membership", ["user_id"])
    op.create_table(
        "tracker_submission",
        _id(),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("state_iso3", sa.String(3), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("is_fictional", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(_STATUS, name="ck_tracker_submission_known_status"),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["tracker_discussion.id"],
            name="fk_tracker_submission_discussion_id_tracker_discussion",
        ),
        sa.ForeignKeyConstraint(
            ["state_iso3"],
            ["tracker_member_state.iso3"],
            name="fk_tracker_submission_state_iso3_tracker_member_state",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_submission"),
        sa.UniqueConstraint(
            "discussion_id", "state_iso3", name="uq_tracker_submission_discussion_id"
        ),
    )
    op.create_index("ix_tracker_submission_discussion_id", "tracker_submission", ["discussion_id"])
    op.create_index("ix_tracker_submission_state_iso3", "tracker_submission", ["state_iso3"])
    op.create_table(
        "tracker_submission_version",
        _id(),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("focal_point", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["tracker_submission.id"],
            name="fk_tracker_submission_version_submission_id_tracker_submission",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_submission_version"),
        sa.UniqueConstraint(
            "submission_id", "version", name="uq_tracker_submission_version_submission_id"
        ),
    )
    op.create_index(
        "ix_tracker_submission_version_submission_id",
        "tracker_submission_version",
        ["submission_id"],
    )
    op.create_table(
        "tracker_answer",
        _id(),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("population_groups", sa.String(400), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["tracker_submission_version.id"],
            name="fk_tracker_answer_version_id_tracker_submission_version",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["tracker_question.id"],
            name="fk_tracker_answer_question_id_tracker_question",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_answer"),
    )
    op.create_index("ix_tracker_answer_version_id", "tracker_answer", ["version_id"])
    op.create_index("ix_tracker_answer_question_id", "tracker_answer", ["question_id"])
    op.create_table(
        "tracker_answer_paragraph",
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("commitment_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["tracker_answer.id"],
            name="fk_tracker_answer_paragraph_answer_id_tracker_answer",
        ),
        sa.ForeignKeyConstraint(
            ["commitment_number"],
            ["tracker_commitment.number"],
            name="fk_tracker_answer_paragraph_commitment_number",
        ),
        sa.PrimaryKeyConstraint(
            "answer_id", "commitment_number", name="pk_tracker_answer_paragraph"
        ),
    )
    op.create_index(
        "ix_tracker_answer_paragraph_commitment_number",
        "tracker_answer_paragraph",
        ["commitment_number"],
    )
    op.create_table(
        "tracker_practice",
        _id(),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("state_iso3", sa.String(3), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("locality", sa.String(200), nullable=False),
        sa.Column("evaluation", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(300), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("is_fictional", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(_STATUS, name="ck_tracker_practice_known_status"),
        sa.CheckConstraint("level in ('national','local')", name="ck_tracker_practice_known_level"),
        sa.ForeignKeyConstraint(
            ["state_iso3"],
            ["tracker_member_state.iso3"],
            name="fk_tracker_practice_state_iso3_tracker_member_state",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_practice"),
    )
    op.create_index("ix_tracker_practice_state_iso3", "tracker_practice", ["state_iso3"])
    op.create_table(
        "tracker_practice_paragraph",
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("commitment_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["tracker_practice.id"],
            name="fk_tracker_practice_paragraph_practice_id_tracker_practice",
        ),
        sa.ForeignKeyConstraint(
            ["commitment_number"],
            ["tracker_commitment.number"],
            name="fk_tracker_practice_paragraph_commitment_number",
        ),
        sa.PrimaryKeyConstraint(
            "practice_id", "commitment_number", name="pk_tracker_practice_paragraph"
        ),
    )
    op.create_index(
        "ix_tracker_practice_paragraph_commitment_number",
        "tracker_practice_paragraph",
        ["commitment_number"],
    )
    op.create_table(
        "tracker_practice_tag",
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("value", sa.String(60), nullable=False),
        sa.CheckConstraint(
            "kind in ('iccs','sdg','group')", name="ck_tracker_practice_tag_known_kind"
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["tracker_practice.id"],
            name="fk_tracker_practice_tag_practice_id_tracker_practice",
        ),
        sa.PrimaryKeyConstraint("practice_id", "kind", "value", name="pk_tracker_practice_tag"),
    )
    op.create_table(
        "tracker_document",
        _id(),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("media_type", sa.String(120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["tracker_practice.id"],
            name="fk_tracker_document_practice_id_tracker_practice",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_document"),
        sa.UniqueConstraint("practice_id", "sha256", name="uq_tracker_document_practice_id"),
    )
    op.create_index("ix_tracker_document_practice_id", "tracker_document", ["practice_id"])
    op.create_table(
        "tracker_indicator",
        _id(),
        sa.Column("commitment_number", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(40), nullable=False),
        sa.Column("label", sa.String(300), nullable=False),
        sa.Column("unit", sa.String(60), nullable=False),
        sa.ForeignKeyConstraint(
            ["commitment_number"],
            ["tracker_commitment.number"],
            name="fk_tracker_indicator_commitment_number_tracker_commitment",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_indicator"),
        sa.UniqueConstraint(
            "commitment_number", "series", name="uq_tracker_indicator_commitment_number"
        ),
    )
    op.create_index(
        "ix_tracker_indicator_commitment_number", "tracker_indicator", ["commitment_number"]
    )
    op.create_table(
        "tracker_search_document",
        _id(),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("state_iso3", sa.String(3), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(200), nullable=False),
        sa.CheckConstraint(
            "kind in ('answer','practice','document')",
            name="ck_tracker_search_document_known_kind",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_search_document"),
        sa.UniqueConstraint("kind", "ref_id", name="uq_tracker_search_document_kind"),
    )
    op.create_index(
        "ix_tracker_search_document_state_iso3", "tracker_search_document", ["state_iso3"]
    )
    op.create_table(
        "tracker_search_facet",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("facet", sa.String(12), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["tracker_search_document.id"],
            name="fk_tracker_search_facet_document_id_tracker_search_document",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", "facet", "value", name="pk_tracker_search_facet"),
    )
    op.create_index(
        "ix_tracker_search_facet_facet_value", "tracker_search_facet", ["facet", "value"]
    )


def downgrade() -> None:
    # The derived full-text index, if it was built, goes first.
    if op.get_context().dialect.name == "sqlite":
        op.execute("drop table if exists tracker_search_fts")
        for suffix in ("insert", "delete", "update"):
            op.execute(f"drop trigger if exists tracker_search_fts_{suffix}")
    for table in (
        "tracker_search_facet",
        "tracker_search_document",
        "tracker_indicator",
        "tracker_document",
        "tracker_practice_tag",
        "tracker_practice_paragraph",
        "tracker_practice",
        "tracker_answer_paragraph",
        "tracker_answer",
        "tracker_submission_version",
        "tracker_submission",
        "tracker_membership",
        "tracker_question",
        "tracker_discussion_paragraph",
        "tracker_discussion",
        "tracker_commitment",
        "tracker_member_state",
    ):
        op.drop_table(table)
