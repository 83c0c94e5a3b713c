"""Backup and restore of the whole operational database as one JSON document.

A backup holds every row of every table (the registry, users and agencies,
the audit log and its chain head, and any other domain sharing the database),
the schema revisions it was taken at, row counts per table, the state of the
audit chain, and a SHA-256 digest of the table contents. It is meant for an
operator with access to the database: it contains password hashes and API
token digests (never the secrets themselves), so keep it as safe as the
database.

A restore goes into an *empty*, migrated database (SQLite or PostgreSQL; a
backup taken on one may be restored on the other) in one transaction, and
before committing checks that

* the file's digest matches its content (no corruption or editing),
* every table holds as many rows as the backup says,
* the audit chain verifies and ends at the same record and hash as when the
  backup was taken.

Any failure rolls everything back. A target that already holds data is
refused unless the caller asks to replace it. The restore then appends one
audit record saying who restored which backup.

Tables are read by reflection rather than from the ORM models, so a backup
carries whatever the migrations created, including tables of other domains.
Derived full-text structures (SQLite FTS tables, PostgreSQL generated
``tsvector`` columns) are left out: the database rebuilds them from the rows.
So are the tables registered in :mod:`crimeprev.db.derived` (the tracker's
search index): a restore skips them if an older backup carries them, and marks
them missing, so the next search (or ``crimeprev tracker reindex``) rebuilds them.

Examples
--------
>>> encode_value(date(2025, 1, 2)), encode_value(Decimal("1.50")), encode_value(True)
('2025-01-02', '1.50', True)
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, Table, func, select, text
from sqlalchemy.orm import Session

from crimeprev.db.accounts import Principal
from crimeprev.db.audit import GENESIS_HASH, record_audit, verify_audit_chain
from crimeprev.db.base import utcnow
from crimeprev.db.derived import derived_table_names, reset_derived
from crimeprev.errors import ConflictError, DataFileError

#: Format name written into every backup and checked on restore.
FORMAT = "crimeprev-backup/1"
#: Tables that are not data: Alembic's revision marker.
_SKIPPED = {"alembic_version"}


def encode_value(value: Any) -> Any:
    """A column value as JSON: dates and times as ISO text, decimals as text, bytes as base64."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _python_type(column: Any) -> type | None:
    try:
        result: type = column.type.python_type
    except Exception:  # noqa: BLE001 - SQLAlchemy types without a Python type raise here
        return None
    return result


def decode_value(value: Any, kind: type | None) -> Any:
    """Turn a JSON value back into what the column holds (inverse of :func:`encode_value`)."""
    if value is None or kind is None:
        return value
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is Decimal:
        return Decimal(value)
    if kind is bytes:
        return base64.b64decode(value)
    if kind is bool:
        return bool(value)
    return value


def _derived_tables(connection: Connection) -> set[str]:
    """SQLite virtual tables (full-text indexes) and their shadow tables: derived data.

    They are rebuilt from their source tables (and kept in step by triggers),
    so a backup leaves them out rather than writing into an index directly.
    """
    if connection.dialect.name != "sqlite":
        return set()
    rows = connection.execute(
        text("select name from sqlite_master where type = 'table' and sql like 'CREATE VIRTUAL%'")
    ).scalars()
    virtual = set(rows)
    every = connection.execute(
        text("select name from sqlite_master where type = 'table'")
    ).scalars()
    return {
        name for name in every if name in virtual or any(name.startswith(v + "_") for v in virtual)
    }


def _data_tables(connection: Connection) -> list[Table]:
    skipped = _SKIPPED | _derived_tables(connection) | derived_table_names()
    metadata = MetaData()
    metadata.reflect(bind=connection, only=lambda name, _: name not in skipped)
    return list(metadata.sorted_tables)


def _stored_columns(table: Table) -> list[Any]:
    """The columns a backup carries: not generated ones (e.g. a tsvector), which recompute."""
    return [column for column in table.columns if column.computed is None]


def _revisions(connection: Connection) -> list[str]:
    """The schema revisions, read on the transaction's own connection (SQLite allows one writer)."""
    return sorted(MigrationContext.configure(connection).get_current_heads())


def _digest(tables: dict[str, Any]) -> str:
    canonical = json.dumps(tables, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _head(session: Session) -> tuple[int, str]:
    row = session.execute(text("select sequence, record_hash from audit_head where id = 1")).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def create_backup(session: Session) -> dict[str, Any]:
    """Read every table into a backup document (run it in one transaction for a consistent copy).

    The document records whether the audit chain verified when it was taken;
    a broken chain is backed up as it is (the backup is evidence too).

    On PostgreSQL every table is read in one ``REPEATABLE READ, READ ONLY``
    transaction of its own, so the copy is one snapshot of committed data even
    while others write (the caller's own uncommitted changes are not in it); on
    SQLite the caller's transaction (``BEGIN IMMEDIATE``) already holds writers off.
    """
    with _snapshot(session) as reading:
        return _read_everything(reading)


@contextmanager
def _snapshot(session: Session) -> Iterator[Session]:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        yield session
        return
    engine = bind.engine
    with engine.connect() as connection:
        connection.exec_driver_sql("set transaction isolation level repeatable read, read only")
        with Session(bind=connection) as reading:
            yield reading
        connection.rollback()


def _read_everything(session: Session) -> dict[str, Any]:
    connection = session.connection()
    tables: dict[str, Any] = {}
    for table in _data_tables(connection):
        columns = _stored_columns(table)
        order = list(table.primary_key.columns) or columns
        rows = connection.execute(select(*columns).order_by(*order)).all()
        tables[table.name] = {
            "columns": [column.name for column in columns],
            "rows": [[encode_value(value) for value in row] for row in rows],
        }
    verification = verify_audit_chain(session)
    sequence, head_hash = _head(session)
    return {
        "format": FORMAT,
        "created_at": utcnow().isoformat(),
        "backend": connection.dialect.name,
        "schema_revisions": _revisions(connection),
        "counts": {name: len(body["rows"]) for name, body in tables.items()},
        "audit": {
            "valid": verification.valid,
            "records": verification.records,
            "head_sequence": sequence,
            "head_hash": head_hash,
        },
        "tables_sha256": _digest(tables),
        "tables": tables,
    }


@dataclass(frozen=True)
class RestoreResult:
    """What a restore wrote and what it checked."""

    counts: dict[str, int]
    audit_records: int
    replaced: bool


def _check_document(document: Any, source: str) -> dict[str, Any]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise DataFileError(
            "not a crimeprev backup", file=source, field="format", value=found, expected=FORMAT
        )
    for key in ("tables", "counts", "audit", "tables_sha256", "schema_revisions"):
        if key not in document:
            raise DataFileError("the backup is incomplete", file=source, field=key)
    digest = _digest(document["tables"])
    if digest != document["tables_sha256"]:
        raise DataFileError(
            "the backup's contents do not match its digest: the file was changed or damaged",
            file=source,
            field="tables_sha256",
            value=digest,
            expected=document["tables_sha256"],
        )
    return document


def _is_empty(session: Session, tables: list[Table]) -> list[str]:
    """Names of the tables that hold data (the audit chain head at genesis counts as empty)."""
    holding = []
    for table in tables:
        if table.name == "audit_head":
            if _head(session)[0] != 0:
                holding.append(table.name)
            continue
        if session.execute(select(func.count()).select_from(table)).scalar_one():
            holding.append(table.name)
    return holding


def _empty(session: Session, tables: list[Table]) -> None:
    """Delete every row, working around the audit log's append-only triggers."""
    connection = session.connection()
    names = [table.name for table in tables]
    if connection.dialect.name == "postgresql":
        # TRUNCATE does not fire row triggers, so the append-only guard stays in place.
        listed = ", ".join(f'"{name}"' for name in names)
        connection.execute(text(f"truncate {listed} cascade"))
        return
    triggers = connection.execute(
        text(
            "select name, sql from sqlite_master where type = 'trigger' and tbl_name = 'audit_log'"
        )
    ).all()
    for name, _ in triggers:
        connection.exec_driver_sql(f'drop trigger "{name}"')
    for table in reversed(tables):
        connection.execute(table.delete())
    for _, sql in triggers:
        connection.exec_driver_sql(sql)


def _reset_sequences(session: Session, tables: list[Table]) -> None:
    """PostgreSQL: move each id sequence past the restored ids (SQLite needs nothing)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or _python_type(keys[0]) is not int:
            continue
        name, column = table.name, keys[0].name
        connection.execute(
            text(
                f"select setval(pg_get_serial_sequence(:table, :column), "
                f'coalesce(max("{column}"), 1), max("{column}") is not null) from "{name}"'
            ),
            {"table": f'"{name}"', "column": column},
        )


def restore_backup(
    session: Session,
    actor: Principal | str,
    document: Any,
    *,
    source: str = "backup",
    replace: bool = False,
) -> RestoreResult:
    """Write a backup into the (empty) database of `session`, checking it before the caller commits.

    Raises
    ------
    DataFileError
        If the document is not a backup, is damaged, was taken at other schema
        revisions, or names tables or columns the database does not have.
    ConflictError
        If the database holds data and `replace` is false, or if the restored
        counts or audit chain do not match the backup (nothing is kept: the
        caller's transaction must roll back, as the faces do).
    """
    backup = _check_document(document, source)
    connection = session.connection()
    here = _revisions(connection)
    if here != sorted(backup["schema_revisions"]):
        raise DataFileError(
            "the backup was taken at other schema revisions; upgrade the database it came from "
            "or restore with the crimeprev version that made it",
            file=source,
            field="schema_revisions",
            value=", ".join(backup["schema_revisions"]),
            expected=", ".join(here),
        )
    tables = _data_tables(connection)
    by_name = {table.name: table for table in tables}
    unknown = sorted(set(backup["tables"]) - set(by_name) - derived_table_names())
    if unknown:
        raise DataFileError(
            "the backup has tables this database lacks", file=source, value=", ".join(unknown)
        )
    holding = _is_empty(session, tables)
    if holding and not replace:
        raise ConflictError(
            f"the target database is not empty ({', '.join(holding)} hold data); restore into "
            "an empty database, or ask to replace its contents (--replace)",
            tables=holding,
        )
    if holding:
        _empty(session, tables)
    for table in tables:
        body = backup["tables"].get(table.name)
        if body is None:
            continue
        _insert(session, table, body, source)
    _reset_sequences(session, tables)
    reset_derived(connection)
    counts = _verify(session, tables, backup, source)
    record_audit(
        session,
        actor,
        "restore",
        "database",
        "backup",
        None,
        {
            "source": source[:200],
            "backup_created_at": backup.get("created_at"),
            "tables_sha256": backup["tables_sha256"],
            "replaced": bool(holding),
        },
    )
    return RestoreResult(counts, backup["audit"]["records"], bool(holding))


def _insert(session: Session, table: Table, body: dict[str, Any], source: str) -> None:
    names = list(body["columns"])
    stored = {column.name for column in _stored_columns(table)}
    missing = [name for name in names if name not in stored]
    if missing:
        raise DataFileError(
            f"table {table.name} in the backup has columns this database lacks",
            file=source,
            value=", ".join(missing),
        )
    kinds = [_python_type(table.columns[name]) for name in names]
    rows = [
        {
            name: decode_value(value, kind)
            for name, value, kind in zip(names, row, kinds, strict=True)
        }
        for row in body["rows"]
    ]
    if table.name == "audit_head":
        session.execute(table.delete())
    if rows:
        session.execute(table.insert(), rows)


def _verify(
    session: Session, tables: list[Table], backup: dict[str, Any], source: str
) -> dict[str, int]:
    counts = {
        table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
        for table in tables
        if table.name in backup["counts"]
    }
    derived = derived_table_names()
    wrong = {
        name: (counts.get(name), expected)
        for name, expected in backup["counts"].items()
        if counts.get(name) != expected and name not in derived
    }
    if wrong:
        listed = ", ".join(
            f"{n}: {got} rows, backup says {want}" for n, (got, want) in wrong.items()
        )
        raise ConflictError(f"restored row counts differ from {source}: {listed}")
    verification = verify_audit_chain(session)
    expected = backup["audit"]
    if not verification.valid or verification.records != expected["records"]:
        raise ConflictError(
            f"the restored audit chain does not verify ({verification.problem or 'record count'}"
            f", {verification.records} records, backup says {expected['records']}); "
            "nothing was restored"
        )
    if _head(session) != (expected["head_sequence"], expected["head_hash"]):
        raise ConflictError("the restored audit chain head differs from the backup's")
    return counts
