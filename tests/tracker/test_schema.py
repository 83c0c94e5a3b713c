"""The tracker's migration builds the tables its models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import crimeprev.tracker.models  # noqa: F401 - the tracker's tables join Base.metadata
from crimeprev.db import Base
from crimeprev.tracker.search import ensure_search_index
from crimeprev.tracker.search_index import DERIVED_TABLES


def _tracker_only(name, type_, parent_names) -> bool:
    # Compare the tracker's own tables; the derived search index is not in the models.
    if type_ == "table":
        if not (name and name.startswith("tracker_")):
            return False
        return not any(name == table or name.startswith(f"{table}_") for table in DERIVED_TABLES)
    if type_ == "column":
        return name != "search_vector"
    if type_ == "index":
        return name != "ix_tracker_search_document_search_vector"
    return True


def test_migrated_schema_matches_the_models(tracker_db):
    with tracker_db.transaction() as session:
        ensure_search_index(session)
    with tracker_db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _tracker_only}
        )
        differences = compare_metadata(context, Base.metadata)
    tracker_differences = [item for item in differences if "tracker_" in repr(item)]
    assert tracker_differences == []


def test_reference_data_loaded(tracker_db):
    from sqlalchemy import func, select

    from crimeprev.tracker.models import Commitment, Discussion, MemberStateRow, Question

    with tracker_db.transaction() as session:
        counts = [
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (MemberStateRow, Commitment, Discussion, Question)
        ]
    assert counts == [193, 76, 3, 9 + 8 + 13]


def test_tracker_0002_fills_facet_key_from_the_facet_table(tmp_path):
    from sqlalchemy import text

    from crimeprev.db import make_engine
    from crimeprev.db.migrate import upgrade

    engine = make_engine(f"sqlite:///{(tmp_path / 'old.sqlite').as_posix()}")
    upgrade(engine, "tracker_0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "insert into tracker_search_document (id, kind, ref_id, state_iso3, published, "
                "title, body, link) values (1, 'practice', 7, 'KEN', 1, 't', 'b', '/x')"
            )
        )
        connection.execute(
            text(
                "insert into tracker_search_facet (document_id, facet, value) values "
                "(1, 'country', 'KEN'), (1, 'paragraph', '21'), (1, 'kind', 'practice')"
            )
        )
    upgrade(engine)
    with engine.connect() as connection:
        key = connection.execute(text("select facet_key from tracker_search_document")).scalar()
    engine.dispose()
    assert sorted(key.split("\n")) == ["country\tKEN", "kind\tpractice", "paragraph\t21"]
