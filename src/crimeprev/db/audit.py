"""The append-only audit log, chained by SHA-256.

Every create, update and transition in a registry calls :func:`record_audit`
inside the same transaction as the change, so either both are written or
neither. Each record's hash covers its content and the previous record's
hash; :func:`verify_audit_chain` recomputes the chain and reports the first
record that was changed, deleted or reordered.

We hand-write the chain (rather than use a library) because it is twenty lines
and must hash exactly what the database stores: the canonical JSON below.

Examples
--------
>>> from crimeprev.db import Database
>>> from crimeprev.db.base import Base
>>> database = Database("sqlite://")
>>> Base.metadata.create_all(database.engine)
>>> with database.transaction() as session:
...     record = record_audit(session, "system", "create", "agency", 1, None, {"code": "AMO"})
>>> record.sequence
1
>>> with database.transaction() as session:
...     verify_audit_chain(session).valid
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crimeprev.db.base import utcnow
from crimeprev.db.models import AuditHead, AuditRecord
from crimeprev.errors import InvalidInputError

#: previous_hash of the first record.
GENESIS_HASH = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot put {type(value).__name__} into an audit record: {value!r}")


def canonical_json(value: Any) -> str | None:
    """Serialise `value` with sorted keys and no spaces; ``None`` stays ``None``.

    Examples
    --------
    >>> from decimal import Decimal
    >>> canonical_json({"b": Decimal("1.50"), "a": 1})
    '{"a":1,"b":"1.50"}'
    """
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_default)


def _actor_fields(actor: Any) -> tuple[int | None, str]:
    if isinstance(actor, str):
        return None, actor
    user_id = getattr(actor, "user_id", None)
    if user_id is None:
        user_id = getattr(actor, "id", None)
    name = getattr(actor, "username", None)
    if not name:
        raise InvalidInputError(f"audit actor must be a username or have .username, got {actor!r}")
    return user_id, str(name)


def _hash(previous_hash: str, payload: dict[str, Any]) -> str:
    text = previous_hash + canonical_json(payload)  # type: ignore[operator]
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _payload(record: AuditRecord) -> dict[str, Any]:
    return {
        "sequence": record.sequence,
        "at": record.at.isoformat(),
        "actor_id": record.actor_id,
        "actor": record.actor,
        "action": record.action,
        "entity": record.entity,
        "entity_id": record.entity_id,
        "before": record.before_json,
        "after": record.after_json,
    }


def record_audit(
    session: Session,
    actor: Any,
    action: str,
    entity: str,
    entity_id: Any,
    before: Any,
    after: Any,
) -> AuditRecord:
    """Append one audit record in the caller's transaction.

    Parameters
    ----------
    session : Session
        The session whose transaction makes the change being audited.
    actor : str or object with ``username`` (and ``user_id`` or ``id``)
        Who did it: a :class:`~crimeprev.db.accounts.Principal`, a
        :class:`~crimeprev.db.models.User` or a name such as ``"system"``.
    action : str
        What was done: ``create``, ``update``, ``transition``, ``delete``...
    entity : str
        Kind of record (``asset``, ``case``, ``user``...).
    entity_id : object
        Its identifier (stored as text).
    before, after : JSON-serialisable or None
        The record before and after the change (``None`` for create / delete).

    Returns
    -------
    AuditRecord
        The new record, flushed (it has its sequence number and hash).
    """
    actor_id, actor_name = _actor_fields(actor)
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        head = AuditHead(id=1, sequence=0, record_hash=GENESIS_HASH)
        session.add(head)
    record = AuditRecord(
        sequence=head.sequence + 1,
        at=utcnow(),
        actor_id=actor_id,
        actor=actor_name,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before_json=canonical_json(before),
        after_json=canonical_json(after),
        previous_hash=head.record_hash,
    )
    record.record_hash = _hash(head.record_hash, _payload(record))
    head.sequence = record.sequence
    head.record_hash = record.record_hash
    session.add(record)
    session.flush()
    return record


def lock_audit_chain(session: Session) -> None:
    """Take the audit chain's lock now, for the rest of the transaction.

    Every audited write takes this lock when it appends its record; a service
    that must read-then-write consistently (e.g. check a fund balance before
    allocating from it) takes it first, so such transactions run one at a time
    on PostgreSQL too. SQLite serialises writers anyway.
    """
    session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()


@dataclass(frozen=True)
class AuditVerification:
    """Outcome of :func:`verify_audit_chain`.

    Attributes
    ----------
    valid : bool
        Whether every record is intact and in order.
    records : int
        Records checked.
    first_bad_sequence : int or None
        Sequence number where the chain first breaks.
    problem : str
        What is wrong there (empty when valid).
    """

    valid: bool
    records: int
    first_bad_sequence: int | None = None
    problem: str = ""


def verify_audit_chain(session: Session) -> AuditVerification:
    """Recompute the chain and report the first changed, deleted or reordered record."""
    previous = GENESIS_HASH
    expected_sequence = 1
    count = 0
    rows = session.execute(select(AuditRecord).order_by(AuditRecord.id)).scalars()
    for record in rows:
        count += 1
        if record.sequence != expected_sequence:
            return AuditVerification(
                False,
                count,
                record.sequence,
                f"expected sequence {expected_sequence} but found {record.sequence}: "
                "records were deleted or reordered",
            )
        if record.previous_hash != previous:
            return AuditVerification(
                False, count, record.sequence, "previous_hash does not match the record before"
            )
        if _hash(previous, _payload(record)) != record.record_hash:
            return AuditVerification(
                False, count, record.sequence, "content was changed after it was written"
            )
        previous = record.record_hash
        expected_sequence += 1
    head = session.get(AuditHead, 1)
    last = expected_sequence - 1
    if head is not None and (head.sequence != last or head.record_hash != previous):
        return AuditVerification(
            False,
            count,
            last + 1 if head.sequence > last else last,
            f"the chain head says {head.sequence} records but {last} remain: "
            "records at the end were deleted",
        )
    return AuditVerification(True, count)


def audit_trail(session: Session, entity: str, entity_id: Any) -> list[AuditRecord]:
    """Return the audit records of one entity, oldest first."""
    statement = (
        select(AuditRecord)
        .where(AuditRecord.entity == entity, AuditRecord.entity_id == str(entity_id))
        .order_by(AuditRecord.sequence)
    )
    return list(session.execute(statement).scalars())
