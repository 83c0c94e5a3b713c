"""Kyoto tracker: each search document carries its facets, so one pass counts them.

Revision ID: tracker_0002
Revises: tracker_0001
Created: 2026-11-29

``tracker_search_document.facet_key`` holds the document's facets as
"facet<TAB>value" lines; search counts facets while it ranks the matches
instead of looking up every match's rows in ``tracker_search_facet`` (which
stays, for filtering). Existing documents are filled from that table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "tracker_0002"
down_revision = "tracker_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "tracker_search_document",
        sa.Column("facet_key", sa.Text(), nullable=False, server_default=""),
    )
    if op.get_context().dialect.name == "postgresql":
        aggregate = "string_agg(f.facet || E'\\t' || f.value, E'\\n' order by f.facet, f.value)"
    else:
        aggregate = "group_concat(f.facet || char(9) || f.value, char(10))"
    op.execute(
        "update tracker_search_document set facet_key = coalesce((select "
        f"{aggregate} from tracker_search_facet f "
        "where f.document_id = tracker_search_document.id), '')"
    )


def downgrade() -> None:
    with op.batch_alter_table("tracker_search_document") as batch:
        batch.drop_column("facet_key")
