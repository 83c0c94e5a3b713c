"""Migrations: they build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from crimeprev.db import Base, Database, make_engine
from crimeprev.db.derived import derived_table_names
from crimeprev.db.migrate import current_revisions, downgrade, head_revisions, upgrade
from crimeprev.db.testing import temporary_schema, url_with_schema
from crimeprev.errors import ConfigurationError

CORE_TABLES = {
    "agency",
    "app_user",
    "user_role",
    "api_token",
    "web_session",
    "login_attempt",
    "audit_log",
    "audit_head",
}


def _all_models() -> None:
    # Import every module that declares tables, so Base.metadata is complete.
    import crimeprev.assets.models  # noqa: F401
    import crimeprev.db.models  # noqa: F401
    import crimeprev.tracker.models  # noqa: F401
    import crimeprev.tracker.search_index  # noqa: F401  (registers its derived tables)


def _not_derived(name: str | None, type_: str, parent_names: object) -> bool:
    # Derived tables (the tracker's search index) are built at run time, outside
    # the migrations, by the code that reads them; an earlier test in the same
    # database may have built them.
    return not (type_ == "table" and name in derived_table_names())


def test_migrated_schema_matches_the_models(database):
    _all_models()
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _not_derived}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    assert set(inspect(database.engine).get_table_names()) >= CORE_TABLES
    assert current_revisions(database.engine) == head_revisions()


def test_upgrade_twice_is_a_no_op(database):
    before = current_revisions(database.engine)
    upgrade(database.engine)
    assert current_revisions(database.engine) == before


def test_downgrade_to_base_and_up_again_on_sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    upgrade(engine)
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= CORE_TABLES
    with engine.connect() as connection:
        head = connection.execute(text("select sequence from audit_head")).scalar_one()
    assert head == 0
    engine.dispose()


@pytest.mark.postgres
def test_downgrade_to_base_and_up_again_on_postgres(postgres_engine):
    with temporary_schema(postgres_engine, prefix="crimeprev_mig") as schema:
        url = url_with_schema(postgres_engine.url.render_as_string(hide_password=False), schema)
        database = Database(url)
        database.upgrade()
        downgrade(database.engine, "base")
        assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
        database.upgrade()
        assert set(inspect(database.engine).get_table_names()) >= CORE_TABLES
        database.dispose()


def test_unsupported_url_is_refused_with_advice():
    with pytest.raises(ConfigurationError, match="supports sqlite and postgresql"):
        make_engine("mysql://root@localhost/db")
    with pytest.raises(ConfigurationError, match="not a SQLAlchemy URL"):
        make_engine("not a url")


def test_sqlite_enforces_foreign_keys(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'fk.sqlite'}")
    database.upgrade()
    with pytest.raises(Exception, match="FOREIGN KEY"), database.transaction() as session:
        session.execute(
            text(
                "insert into app_user (username, full_name, email, password_hash, agency_id,"
                " is_active, created_at, password_changed_at) values"
                " ('x', '', '', 'h', 999, 1, '2026-01-01', '2026-01-01')"
            )
        )
    database.dispose()
