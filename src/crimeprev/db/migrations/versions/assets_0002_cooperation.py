"""Asset recovery: international cooperation requests and asset-sharing agreements.

Revision ID: assets_0002
Revises: assets_0001
Created: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "assets_0002"
down_revision = "assets_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asset_cooperation_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("counterpart_state", sa.String(3), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("legal_basis", sa.String(300), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["asset_case.id"], name="fk_asset_cooperation_request_case_id_asset_case"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asset_cooperation_request"),
        sa.UniqueConstraint("case_id", "reference", name="uq_asset_cooperation_request_case_id"),
    )
    op.create_index(
        "ix_asset_cooperation_request_case_id", "asset_cooperation_request", ["case_id"]
    )
    op.create_table(
        "asset_sharing_agreement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("counterpart_state", sa.String(3), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("share_percent", sa.String(16), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("legal_basis", sa.String(300), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["asset_case.id"], name="fk_asset_sharing_agreement_case_id_asset_case"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asset_sharing_agreement"),
    )
    op.create_index("ix_asset_sharing_agreement_case_id", "asset_sharing_agreement", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_asset_sharing_agreement_case_id", table_name="asset_sharing_agreement")
    op.drop_table("asset_sharing_agreement")
    op.drop_index("ix_asset_cooperation_request_case_id", table_name="asset_cooperation_request")
    op.drop_table("asset_cooperation_request")
