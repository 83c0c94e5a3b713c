"""Registry fixtures, shared by every domain: a test that takes `database` runs on SQLite and on
PostgreSQL (loaded as a pytest plugin by tests/conftest.py).

SQLite: a migrated template file is made once per session and copied for each
test. PostgreSQL: one uniquely named schema per session (dropped at the end),
migrated once and emptied before each test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crimeprev.config import Settings
from crimeprev.db import Database
from crimeprev.db.testing import (
    fast_password_hashing,
    reset_database,
    temporary_schema,
    url_with_schema,
)
from crimeprev.web.app import create_app


@pytest.fixture(autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    with fast_password_hashing():
        yield


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("registry-template") / "template.sqlite"
    database = Database(f"sqlite:///{path.as_posix()}")
    database.upgrade()
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_registry_url(postgres_engine) -> Iterator[str]:
    with temporary_schema(postgres_engine) as schema:
        url = url_with_schema(postgres_engine.url.render_as_string(hide_password=False), schema)
        database = Database(url)
        database.upgrade()
        database.dispose()
        yield url


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path) -> Iterator[Database]:
    """A migrated, empty registry database: SQLite file or PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "registry.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path.as_posix()}")
    else:
        database = Database(request.getfixturevalue("postgres_registry_url"))
        reset_database(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def registry_settings(database: Database, tmp_path: Path) -> Settings:
    """Settings whose database is the `database` fixture's."""
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-key",
        database_url=database.url,
        login_max_failures=3,
    )


@pytest.fixture
def registry_client(registry_settings: Settings) -> Iterator[TestClient]:
    """A test client of an app on the `database` fixture's database."""
    with TestClient(create_app(registry_settings), raise_server_exceptions=False) as client:
        yield client
