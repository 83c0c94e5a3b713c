"""Tracker fixtures: every test that takes `tracker_db` runs on SQLite and on PostgreSQL.

Follows tests/db/conftest.py: SQLite gets a migrated template file per session,
copied for each test; PostgreSQL gets one uniquely named schema per session,
migrated once and emptied before each test. Each database also holds the
reference data (Member States, paragraphs, discussions), loaded by
``sync_reference`` as the app does.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crimeprev.config import Settings
from crimeprev.db import SYSTEM, Database, Role
from crimeprev.db.accounts import create_api_token, create_user, get_user, principal_for
from crimeprev.db.audit import GENESIS_HASH
from crimeprev.db.testing import temporary_schema, url_with_schema
from crimeprev.tracker.access import TrackerActor, actor_for, grant_membership
from crimeprev.tracker.service import sync_reference
from crimeprev.web.app import create_app

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PASSWORD = "correct horse battery staple"


USERS = ("kenya", "ghana", "secretary", "viewer")


def _seed(database: Database) -> None:
    """Reference data, and users: focal points for Kenya and Ghana, the secretariat, a viewer."""
    with database.transaction() as session:
        sync_reference(session)
        secretariat = TrackerActor(principal=SYSTEM, secretariat=True, states=frozenset())
        for username in USERS:
            create_user(session, SYSTEM, username=username, password=PASSWORD, roles=[Role.VIEWER])
        grant_membership(session, secretariat, username="kenya", role="focal_point", state="KEN")
        grant_membership(session, secretariat, username="ghana", role="focal_point", state="GHA")
        grant_membership(session, secretariat, username="secretary", role="secretariat")


def _prepare(database: Database) -> None:
    database.upgrade()
    _seed(database)


#: Tables emptied between PostgreSQL tests; reference data, users and roles stay.
REGISTRY_TABLES = (
    "tracker_answer_paragraph",
    "tracker_answer",
    "tracker_submission_version",
    "tracker_submission",
    "tracker_practice_tag",
    "tracker_practice_paragraph",
    "tracker_document",
    "tracker_practice",
    "tracker_search_facet",
    "tracker_search_document",
    "audit_log",
)


def _empty_registry(database: Database) -> None:
    # TRUNCATE does not fire the audit log's append-only row triggers; the chain
    # restarts from the genesis hash, as in a new database.
    with database.engine.begin() as connection:
        connection.exec_driver_sql(f"truncate {', '.join(REGISTRY_TABLES)} restart identity")
        connection.exec_driver_sql(
            "update audit_head set sequence = 0, record_hash = %(hash)s where id = 1",
            {"hash": GENESIS_HASH},
        )


@pytest.fixture(scope="session")
def tracker_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tracker-template") / "template.sqlite"
    database = Database(f"sqlite:///{path.as_posix()}")
    _prepare(database)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def tracker_postgres_url(postgres_engine) -> Iterator[str]:
    with temporary_schema(postgres_engine, prefix="crimeprev_tracker") as schema:
        url = url_with_schema(postgres_engine.url.render_as_string(hide_password=False), schema)
        database = Database(url)
        _prepare(database)
        database.dispose()
        yield url


@pytest.fixture(params=BACKENDS)
def tracker_db(request, tmp_path) -> Iterator[Database]:
    """A migrated tracker database with the reference data: SQLite file or PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "tracker.sqlite"
        shutil.copy(request.getfixturevalue("tracker_sqlite_template"), path)
        database = Database(f"sqlite:///{path.as_posix()}")
    else:
        database = Database(request.getfixturevalue("tracker_postgres_url"))
        _empty_registry(database)
    yield database
    database.dispose()


@pytest.fixture
def people(tracker_db: Database) -> dict[str, TrackerActor]:
    """Actors: the public, focal points for KEN and GHA, the secretariat, a plain viewer."""
    actors = {"public": TrackerActor(principal=None, secretariat=False, states=frozenset())}
    with tracker_db.transaction() as session:
        for username in USERS:
            principal = principal_for(get_user(session, username), via="cli")
            actors[username] = actor_for(session, principal)
    return actors


@pytest.fixture
def tracker_client(tracker_db: Database, tmp_path: Path) -> Iterator[TestClient]:
    """A test client of an app on the `tracker_db` database."""
    settings = Settings(
        data_dir=tmp_path / "data", secret_key="test-secret-key", database_url=tracker_db.url
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def tokens(tracker_db: Database) -> dict[str, dict[str, str]]:
    """Authorization headers (API tokens) for each seeded user."""
    headers = {}
    with tracker_db.transaction() as session:
        for username in USERS:
            issued = create_api_token(session, SYSTEM, username, name="tests")
            headers[username] = {"Authorization": f"Bearer {issued.secret}"}
    return headers


@pytest.fixture(scope="session")
def warehouse_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A DuckDB warehouse holding the bundled WDI homicide rates and UN-CTS offences."""
    from crimeprev.store import open_warehouse
    from crimeprev.store.ingest import import_file
    from crimeprev.store.profiles import load_profile

    path = tmp_path_factory.mktemp("tracker-warehouse") / "warehouse.duckdb"
    warehouse = open_warehouse(f"duckdb://{path.as_posix()}")
    for name in ("wdi_homicide", "unodc_cts"):
        profile = load_profile(name)
        for file in profile.bundled_paths():
            import_file(warehouse, profile, file)
    warehouse.close()
    return f"duckdb://{path.as_posix()}"
