"""Asset recovery: social-reuse projects and their monitoring reports.

Revision ID: assets_0003
Revises: assets_0002
Created: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "assets_0003"
down_revision = "assets_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asset_reuse_project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("beneficiary", sa.String(200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name="fk_asset_reuse_project_asset_id_asset"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asset_reuse_project"),
        sa.UniqueConstraint("name", name="uq_asset_reuse_project_name"),
    )
    op.create_index("ix_asset_reuse_project_asset_id", "asset_reuse_project", ["asset_id"])
    op.create_table(
        "asset_reuse_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["asset_reuse_project.id"],
            name="fk_asset_reuse_report_project_id_asset_reuse_project",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asset_reuse_report"),
    )
    op.create_index("ix_asset_reuse_report_project_id", "asset_reuse_report", ["project_id"])


def downgrade() -> None:
    op.drop_index("ix_asset_reuse_report_project_id", table_name="asset_reuse_report")
    op.drop_table("asset_reuse_report")
    op.drop_index("ix_asset_reuse_project_asset_id", table_name="asset_reuse_project")
    op.drop_table("asset_reuse_project")
