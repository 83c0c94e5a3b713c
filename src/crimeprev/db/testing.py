"""Helpers for testing registries on SQLite and PostgreSQL side by side.

Registry tests (assets, tracker) run every test on both databases. These
helpers give each test run its own PostgreSQL schema, named uniquely, so runs
by several engineers on one server never collide, and drop it afterwards; and
they reset a migrated database between tests faster than migrating again.

Typical ``conftest.py``::

    @pytest.fixture(scope="session")
    def postgres_schema_url(postgres_engine):
        with temporary_schema(postgres_engine) as schema:
            yield url_with_schema(postgres_url(), schema)

Examples
--------
>>> url_with_schema("postgresql+psycopg://postgres@127.0.0.1/test", "t_1")
'postgresql+psycopg://postgres@127.0.0.1/test?options=-csearch_path%3Dt_1'
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from argon2 import PasswordHasher, profiles
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from crimeprev.db.audit import GENESIS_HASH
from crimeprev.db.passwords import password_hasher


@contextmanager
def fast_password_hashing() -> Iterator[None]:
    """Hash passwords with argon2's CHEAPEST profile inside the block (tests only).

    Production parameters take about half a second per hash on a busy two-core
    machine; tests create many users.
    """
    with password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST)):
        yield


def url_with_schema(url: str, schema: str) -> str:
    """Return a PostgreSQL URL whose connections put `schema` first on the search path."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}', safe='-')}"


@contextmanager
def temporary_schema(engine: Engine, prefix: str = "crimeprev_test") -> Iterator[str]:
    """Create a uniquely named PostgreSQL schema, yield its name, then drop it with its tables."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with engine.begin() as connection:
        connection.execute(text(f'create schema "{name}"'))
    try:
        yield name
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'drop schema if exists "{name}" cascade'))


def reset_database(engine: Engine) -> None:
    """Empty every table of a migrated database (keeping the schema) and restart the audit chain.

    PostgreSQL: ``DELETE`` with triggers and foreign-key checks off
    (``session_replication_role = replica``, a superuser setting; test databases
    run as one), which is much faster than ``TRUNCATE`` on many small tables;
    without superuser rights, one ``TRUNCATE ... CASCADE`` (row triggers such
    as the audit log's append-only guard do not fire on TRUNCATE). Identity
    counters keep counting up. SQLite: delete with
    the append-only triggers dropped and recreated, and reset the id counters.
    """
    tables = [name for name in inspect(engine).get_table_names() if name != "alembic_version"]
    if not tables:
        return
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            _empty_postgres(connection, tables)
        else:
            triggers = connection.execute(
                text("select name, sql from sqlite_master where type = 'trigger'")
            ).all()
            for name, _ in triggers:
                connection.exec_driver_sql(f'drop trigger "{name}"')
            connection.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            for name in tables:
                connection.exec_driver_sql(f'delete from "{name}"')
            has_sequence = connection.exec_driver_sql(
                "select 1 from sqlite_master where name = 'sqlite_sequence'"
            ).first()
            if has_sequence:
                connection.exec_driver_sql("delete from sqlite_sequence")
            for _, sql in triggers:
                connection.exec_driver_sql(sql)
        if "audit_head" in tables:
            connection.execute(
                text("insert into audit_head (id, sequence, record_hash) values (1, 0, :h)"),
                {"h": GENESIS_HASH},
            )


def _empty_postgres(connection: Connection, tables: list[str]) -> None:
    savepoint = connection.begin_nested()
    try:
        connection.execute(text("set local session_replication_role = replica"))
    except DBAPIError:
        savepoint.rollback()
        listed = ", ".join(f'"{name}"' for name in tables)
        connection.execute(text(f"truncate {listed} cascade"))
        return
    savepoint.commit()
    for name in tables:
        connection.execute(text(f'delete from "{name}"'))
    connection.execute(text("set local session_replication_role = origin"))
