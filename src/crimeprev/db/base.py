"""Declarative base, naming convention and column types shared by every registry.

Every table of the operational database derives from :class:`Base`. The
constraint naming convention gives each index and constraint a stable name, so
Alembic migrations can refer to them on SQLite and PostgreSQL alike.

Timestamps are stored as naive UTC (``timestamp without time zone``) and come
back as timezone-aware UTC datetimes: SQLite has no time-zone type, and storing
one convention on both databases keeps comparisons and the audit hash identical.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from crimeprev.errors import InvalidInputError

#: Names for indexes and constraints (see the SQLAlchemy docs on constraint naming conventions).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every operational-database table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime, to the microsecond.

    Examples
    --------
    >>> utcnow().tzinfo is UTC
    True
    """
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and returned as aware UTC.

    Naive datetimes are refused on the way in: their time zone is unknown.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise InvalidInputError(
                f"timestamps must be timezone-aware datetimes, got {value!r}; "
                "use crimeprev.db.utcnow() or datetime.now(UTC)"
            )
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        result: datetime = value
        return result.replace(tzinfo=UTC) if result.tzinfo is None else result.astimezone(UTC)
