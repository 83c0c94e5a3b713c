"""The operational database: engine, sessions, migrations, users, roles, audit log.

A small, reusable layer for every registry (asset recovery, Kyoto tracker):

* :func:`make_engine`, :func:`make_session_factory` and :class:`Database`
  (engine + sessions + ``transaction()``), for SQLite or PostgreSQL URLs;
* :class:`Base`, the declarative base every table derives from, with
  :class:`UTCDateTime` and :func:`utcnow` for timestamps;
* :mod:`crimeprev.db.migrate`: Alembic migrations packaged in
  ``db/migrations`` (``upgrade(engine)``; ``crimeprev db upgrade``);
* :mod:`crimeprev.db.accounts`: agencies, users, :class:`Role`, API tokens,
  browser sessions, login throttling and :class:`Principal` (who is acting);
* :mod:`crimeprev.db.audit`: :func:`record_audit` appends a SHA-256 chained,
  append-only audit record in the caller's transaction;
  :func:`verify_audit_chain` detects any change, deletion or reordering.

The FastAPI side (current user, role checks, CSRF) is in
:mod:`crimeprev.web.auth`.
"""

from crimeprev.db.accounts import SYSTEM, Principal
from crimeprev.db.audit import AuditVerification, record_audit, verify_audit_chain
from crimeprev.db.base import Base, UTCDateTime, utcnow
from crimeprev.db.engine import Database, make_engine, make_session_factory
from crimeprev.db.models import Agency, ApiToken, AuditRecord, Role, User

__all__ = [
    "SYSTEM",
    "Agency",
    "ApiToken",
    "AuditRecord",
    "AuditVerification",
    "Base",
    "Database",
    "Principal",
    "Role",
    "UTCDateTime",
    "User",
    "make_engine",
    "make_session_factory",
    "record_audit",
    "utcnow",
    "verify_audit_chain",
]
