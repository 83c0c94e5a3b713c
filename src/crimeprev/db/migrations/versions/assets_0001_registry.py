"""Asset recovery registry: cases, court orders, assets, parties, lifecycle events,
valuations, management costs, exchange rates and the fund ledger.

Revision ID: assets_0001
Revises: 0001_core
Created: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "assets_0001"
down_revision = "0001_core"
branch_labels = ("assets",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("rate", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_rate"),
        sa.UniqueConstraint("currency", "base", "on_date", name="uq_exchange_rate_currency"),
    )
    op.create_index(
        "ix_exchange_rate_lookup", "exchange_rate", ["currency", "base", "on_date"], unique=False
    )
    op.create_table(
        "asset_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=3), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name="fk_asset_case_agency_id_agency"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asset_case"),
        sa.UniqueConstraint("reference", name="uq_asset_case_reference"),
    )
    op.create_index("ix_asset_case_agency_id", "asset_case", ["agency_id"], unique=False)
    op.create_table(
        "asset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.Column("identifier_type", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("custodian", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("state_since", sa.Date(), nullable=False),
        sa.Column("confiscation_type", sa.String(length=32), nullable=True),
        sa.Column("confiscation_basis", sa.String(length=32), nullable=True),
        sa.Column("disposal", sa.String(length=40), nullable=True),
        sa.Column("realised_minor", sa.BigInteger(), nullable=True),
        sa.Column("realised_currency", sa.String(length=3), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["asset_case.id"], name="fk_asset_case_id_asset_case"),
        sa.PrimaryKeyConstraint("id", name="pk_asset"),
        sa.UniqueConstraint("reference", name="uq_asset_reference"),
    )
    op.create_index("ix_asset_case_id", "asset", ["case_id"], unique=False)
    op.create_index("ix_asset_state", "asset", ["state"], unique=False)
    op.create_table(
        "asset_case_offence",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("iccs_code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["asset_case.id"], name="fk_asset_case_offence_case_id_asset_case"
        ),
        sa.PrimaryKeyConstraint("case_id", "iccs_code", name="pk_asset_case_offence"),
    )
    op.create_table(
        "asset_case_share",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name="fk_asset_case_share_agency_id_agency"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["asset_case.id"], name="fk_asset_case_share_case_id_asset_case"
        ),
        sa.PrimaryKeyConstraint("case_id", "agency_id", name="pk_asset_case_share"),
    )
    op.create_table(
        "asset_court_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("legal_basis", sa.String(length=300), nullable=False),
        sa.Column("foreign_request", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["asset_case.id"], name="fk_asset_court_order_case_id_asset_case"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asset_court_order"),
        sa.UniqueConstraint("case_id", "reference", name="uq_asset_court_order_case_id"),
    )
    op.create_index("ix_asset_court_order_case_id", "asset_court_order", ["case_id"], unique=False)
    op.create_table(
        "asset_cost",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["asset.id"], name="fk_asset_cost_asset_id_asset"),
        sa.PrimaryKeyConstraint("id", name="pk_asset_cost"),
    )
    op.create_index("ix_asset_cost_asset_id", "asset_cost", ["asset_id"], unique=False)
    op.create_table(
        "asset_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("legal_basis", sa.String(length=300), nullable=False),
        sa.Column("court_order", sa.String(length=100), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("details_json", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["app_user.id"], name="fk_asset_event_actor_id_app_user"
        ),
        sa.ForeignKeyConstraint(["asset_id"], ["asset.id"], name="fk_asset_event_asset_id_asset"),
        sa.PrimaryKeyConstraint("id", name="pk_asset_event"),
    )
    op.create_index("ix_asset_event_asset_id", "asset_event", ["asset_id"], unique=False)
    op.create_table(
        "asset_party",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("claim_minor", sa.BigInteger(), nullable=True),
        sa.Column("claim_currency", sa.String(length=3), nullable=True),
        sa.Column("claim_status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["asset.id"], name="fk_asset_party_asset_id_asset"),
        sa.PrimaryKeyConstraint("id", name="pk_asset_party"),
    )
    op.create_index("ix_asset_party_asset_id", "asset_party", ["asset_id"], unique=False)
    op.create_table(
        "asset_valuation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("valued_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valuer", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name="fk_asset_valuation_asset_id_asset"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asset_valuation"),
    )
    op.create_index("ix_asset_valuation_asset_id", "asset_valuation", ["asset_id"], unique=False)
    op.create_table(
        "fund_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("project", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["asset.id"], name="fk_fund_entry_asset_id_asset"),
        sa.PrimaryKeyConstraint("id", name="pk_fund_entry"),
    )
    op.create_table(
        "fund_posting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["fund_entry.id"], name="fk_fund_posting_entry_id_fund_entry"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_fund_posting"),
    )
    op.create_index("ix_fund_posting_account", "fund_posting", ["account"], unique=False)
    op.create_index("ix_fund_posting_entry_id", "fund_posting", ["entry_id"], unique=False)


def downgrade() -> None:

    op.drop_index("ix_fund_posting_entry_id", table_name="fund_posting")
    op.drop_index("ix_fund_posting_account", table_name="fund_posting")
    op.drop_table("fund_posting")
    op.drop_table("fund_entry")
    op.drop_index("ix_asset_valuation_asset_id", table_name="asset_valuation")
    op.drop_table("asset_valuation")
    op.drop_index("ix_asset_party_asset_id", table_name="asset_party")
    op.drop_table("asset_party")
    op.drop_index("ix_asset_event_asset_id", table_name="asset_event")
    op.drop_table("asset_event")
    op.drop_index("ix_asset_cost_asset_id", table_name="asset_cost")
    op.drop_table("asset_cost")
    op.drop_index("ix_asset_court_order_case_id", table_name="asset_court_order")
    op.drop_table("asset_court_order")
    op.drop_table("asset_case_share")
    op.drop_table("asset_case_offence")
    op.drop_index("ix_asset_state", table_name="asset")
    op.drop_index("ix_asset_case_id", table_name="asset")
    op.drop_table("asset")
    op.drop_index("ix_asset_case_agency_id", table_name="asset_case")
    op.drop_table("asset_case")
    op.drop_index("ix_exchange_rate_lookup", table_name="exchange_rate")
    op.drop_table("exchange_rate")
