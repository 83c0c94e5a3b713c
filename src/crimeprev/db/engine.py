"""Engines, sessions and transactions for the operational database.

The database URL chooses the backend: ``sqlite:///path`` (the default, one file
in the data directory) or ``postgresql+psycopg://user@host/db`` (multi-user
deployments). Nothing connects at import time: :func:`make_engine` and
:class:`Database` are factories.

SQLite needs two adjustments to behave like a server database here:

* foreign keys are off by default; we switch them on for every connection;
* Python's ``sqlite3`` module begins transactions lazily and lets a reader
  upgrade to a writer later, which fails with "database is locked" when two
  writers interleave. We take over transaction control and open every
  transaction with ``BEGIN IMMEDIATE``, so writers queue on the busy timeout
  instead of failing midway (the recipe in SQLAlchemy's SQLite dialect notes,
  "Serializable isolation / Savepoints / Transactional DDL").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from crimeprev.errors import ConfigurationError

#: Seconds a SQLite writer waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT = 30


def make_engine(url: str, *, schema: str | None = None, echo: bool = False) -> Engine:
    """Create an engine for a SQLite or PostgreSQL URL.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///file.sqlite``, ``sqlite://`` (in memory)
        or ``postgresql+psycopg://...``.
    schema : str, optional
        PostgreSQL only: put this schema first on the ``search_path``, so one
        database can hold several independent registries (tests use a fresh
        schema per run). The schema must exist.
    echo : bool, default=False
        Log every SQL statement.

    Returns
    -------
    sqlalchemy.Engine

    Raises
    ------
    ConfigurationError
        If the URL is neither SQLite nor PostgreSQL, or `schema` is given for SQLite.

    Examples
    --------
    >>> engine = make_engine("sqlite://")
    >>> engine.dialect.name
    'sqlite'
    >>> with engine.connect() as connection:
    ...     connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    1
    """
    try:
        parsed = make_url(url)
    except Exception as error:
        raise ConfigurationError(
            f"database_url {url!r} is not a SQLAlchemy URL ({error}); "
            "use sqlite:///path/to/file.sqlite or postgresql+psycopg://user@host/db"
        ) from error
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if schema:
            raise ConfigurationError("schema= applies to PostgreSQL only; SQLite has one schema")
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT},
        )
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        connect_args: dict[str, Any] = {}
        if schema:
            connect_args["options"] = f"-csearch_path={schema}"
        return create_engine(parsed, echo=echo, pool_pre_ping=True, connect_args=connect_args)
    raise ConfigurationError(
        f"database_url uses {backend!r}; crimeprev supports sqlite and postgresql "
        "(e.g. postgresql+psycopg://user@host/db)"
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:  # noqa: ARG001
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to `engine`.

    Objects stay readable after commit (``expire_on_commit=False``), so a face
    can render what a service returned without another round trip.

    Examples
    --------
    >>> factory = make_session_factory(make_engine("sqlite://"))
    >>> with factory() as session:
    ...     session.bind.dialect.name
    'sqlite'
    """
    return sessionmaker(bind=engine, expire_on_commit=False)


class Database:
    """An engine and its session factory: what a face needs to reach the database.

    Parameters
    ----------
    url : str
        Database URL (see :func:`make_engine`).
    schema : str, optional
        PostgreSQL schema to work in (see :func:`make_engine`).

    Examples
    --------
    >>> database = Database("sqlite://")
    >>> with database.transaction() as session:
    ...     session.connection().exec_driver_sql("select 1").scalar()
    1
    >>> database.dispose()
    """

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        self.engine = make_engine(url, schema=schema)
        self.sessions = make_session_factory(self.engine)

    def session(self) -> Session:
        """Open a session (use it as a context manager; it does not commit by itself)."""
        return self.sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Open a session in one transaction: commit at the end, roll back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def upgrade(self) -> str:
        """Bring the schema to the newest revision; return it (see :mod:`crimeprev.db.migrate`)."""
        from crimeprev.db.migrate import upgrade

        return upgrade(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
