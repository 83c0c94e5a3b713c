"""Cases: open, list, update (with optimistic locking), share with agencies, court orders.

Every change writes an audit record in the same transaction (see
:func:`crimeprev.db.audit.record_audit`). Service functions take the caller's
session and a :class:`~crimeprev.db.accounts.Principal`; the caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from crimeprev.assets.access import CASE_WRITERS, check_can_see, require, visible_cases
from crimeprev.assets.models import Case, CaseOffence, CaseShare, CourtOrder
from crimeprev.db.accounts import Principal, get_agency
from crimeprev.db.audit import record_audit
from crimeprev.db.base import utcnow
from crimeprev.errors import ConflictError, InvalidInputError, NotFoundError
from crimeprev.standards import iccs

_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,63}$")
_COUNTRY = re.compile(r"^[A-Z]{3}$")

#: Kinds of court or competent-authority orders.
ORDER_KINDS = ("freezing", "seizure", "interim_sale", "confiscation", "release", "other")


def check_reference(value: str, what: str) -> str:
    """Return a trimmed reference, refusing empty or odd ones.

    Examples
    --------
    >>> check_reference(" AR-2026/001 ", "case reference")
    'AR-2026/001'
    """
    value = value.strip()
    if not _REFERENCE.match(value):
        raise InvalidInputError(
            f"{what} {value!r} is not valid; use 1-64 letters, digits, '/', '.', '_' or '-'"
        )
    return value


def check_country(value: str, field: str = "country") -> str:
    """Return an upper-case ISO 3166-1 alpha-3 code, refusing other shapes."""
    code = value.strip().upper()
    if not _COUNTRY.match(code):
        raise InvalidInputError(
            f"{field} {value!r} is not an ISO 3166-1 alpha-3 code (e.g. ITA, KEN)", field=field
        )
    return code


def check_past_date(value: date, field: str) -> date:
    """Refuse dates in the future (registries record what happened)."""
    if value > utcnow().date():
        raise InvalidInputError(f"{field} {value.isoformat()} is in the future", field=field)
    return value


def case_snapshot(case: Case) -> dict[str, Any]:
    """The case as JSON-ready data (used for audit records and the API)."""
    return {
        "id": case.id,
        "reference": case.reference,
        "title": case.title,
        "agency": case.agency.code if case.agency else None,
        "jurisdiction": case.jurisdiction,
        "description": case.description,
        "opened_on": case.opened_on.isoformat(),
        "offences": [offence.iccs_code for offence in case.offences],
        "shared_with": sorted(share.agency_id for share in case.shares),
        "version": case.version,
    }


def _offences(codes: Iterable[str]) -> list[CaseOffence]:
    seen: dict[str, CaseOffence] = {}
    for code in codes:
        if code.strip():
            canonical = iccs.validate(code)
            seen.setdefault(canonical, CaseOffence(iccs_code=canonical))
    return [seen[code] for code in sorted(seen)]


def create_case(
    session: Session,
    principal: Principal,
    *,
    reference: str,
    title: str,
    jurisdiction: str,
    opened_on: date,
    offences: Iterable[str] = (),
    description: str = "",
    agency_code: str | None = None,
) -> Case:
    """Open a case led by the principal's agency (administrators may name another).

    Raises
    ------
    PermissionDeniedError
        Without an investigator, prosecutor or asset manager role.
    InvalidInputError, UnknownCodeError
        For a bad reference, country, date or ICCS code.
    ConflictError
        If the reference exists.
    """
    require(principal, CASE_WRITERS, "opening a case")
    reference = check_reference(reference, "case reference")
    if not title.strip() or len(title.strip()) > 200:
        raise InvalidInputError("a case needs a title of 1-200 characters", field="title")
    if agency_code and principal.is_admin:
        agency = get_agency(session, agency_code)
    elif principal.agency_id is not None:
        agency = get_agency(session, principal.agency_code or "")
    else:
        raise InvalidInputError(
            f"{principal.username} belongs to no agency; give the user one "
            "(crimeprev db create-user --agency) or, as administrator, name the agency"
        )
    if session.execute(select(Case.id).where(Case.reference == reference)).first():
        raise ConflictError(f"a case with reference {reference!r} exists", reference=reference)
    now = utcnow()
    case = Case(
        reference=reference,
        title=title.strip(),
        agency=agency,
        jurisdiction=check_country(jurisdiction, "jurisdiction"),
        description=description.strip(),
        opened_on=check_past_date(opened_on, "opened_on"),
        offences=_offences(offences),
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    record_audit(session, principal, "create", "case", case.id, None, case_snapshot(case))
    return case


def get_case(session: Session, principal: Principal, case_id: int) -> Case:
    """Return a case the principal may see, or raise :class:`NotFoundError`."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"no case with id {case_id}")
    check_can_see(principal, case, f"case with id {case_id}")
    return case


def find_case(session: Session, principal: Principal, reference: str) -> Case:
    """Return the visible case with `reference`."""
    case_id = session.execute(select(Case.id).where(Case.reference == reference.strip())).scalar()
    if case_id is None:
        raise NotFoundError(f"no case with reference {reference!r}")
    return get_case(session, principal, case_id)


def list_cases(
    session: Session,
    principal: Principal,
    *,
    search: str = "",
    offence: str = "",
    limit: int = 200,
    offset: int = 0,
) -> list[Case]:
    """Cases the principal may see, newest first, filtered by text or ICCS code (and below)."""
    statement = select(Case).where(visible_cases(principal))
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        statement = statement.where(
            or_(func.lower(Case.reference).like(pattern), func.lower(Case.title).like(pattern))
        )
    if offence.strip():
        code = iccs.validate(offence)
        statement = statement.where(Case.offences.any(CaseOffence.iccs_code.like(f"{code}%")))
    statement = (
        statement.order_by(Case.opened_on.desc(), Case.id.desc()).limit(limit).offset(offset)
    )
    return list(session.execute(statement).unique().scalars())


def check_version(kind: str, current: int, expected: int | None) -> None:
    """Refuse an update made against a stale version (optimistic locking)."""
    if expected is not None and expected != current:
        raise ConflictError(
            f"the {kind} changed since you loaded it (your version {expected}, current "
            f"{current}); reload it and apply your change again",
            current_version=current,
            your_version=expected,
        )


def flush_or_conflict(session: Session, kind: str) -> None:
    """Flush, turning a concurrent update of the same row into :class:`ConflictError`."""
    try:
        session.flush()
    except StaleDataError as error:
        raise ConflictError(
            f"the {kind} was changed by someone else at the same time; reload it and try again"
        ) from error


def update_case(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    expected_version: int | None,
    title: str | None = None,
    description: str | None = None,
    offences: Iterable[str] | None = None,
) -> Case:
    """Change a case's title, description or offences (refused if `expected_version` is stale)."""
    require(principal, CASE_WRITERS, "changing a case")
    case = get_case(session, principal, case_id)
    check_version("case", case.version, expected_version)
    before = case_snapshot(case)
    if title is not None:
        if not title.strip() or len(title.strip()) > 200:
            raise InvalidInputError("a case needs a title of 1-200 characters", field="title")
        case.title = title.strip()
    if description is not None:
        case.description = description.strip()
    if offences is not None:
        case.offences = _offences(offences)
    case.updated_at = utcnow()
    flush_or_conflict(session, "case")
    record_audit(session, principal, "update", "case", case.id, before, case_snapshot(case))
    return case


def share_case(session: Session, principal: Principal, case_id: int, agency_code: str) -> Case:
    """Let another agency see and work on the case."""
    require(principal, CASE_WRITERS, "sharing a case")
    case = get_case(session, principal, case_id)
    agency = get_agency(session, agency_code)
    if agency.id != case.agency_id and all(s.agency_id != agency.id for s in case.shares):
        before = case_snapshot(case)
        case.shares.append(CaseShare(agency_id=agency.id))
        case.updated_at = utcnow()
        flush_or_conflict(session, "case")
        record_audit(session, principal, "share", "case", case.id, before, case_snapshot(case))
    return case


def add_court_order(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    reference: str,
    kind: str,
    authority: str,
    issued_on: date,
    legal_basis: str = "",
    foreign_request: bool = False,
) -> CourtOrder:
    """Record a court or competent-authority order in the case."""
    require(principal, CASE_WRITERS, "recording a court order")
    case = get_case(session, principal, case_id)
    if kind not in ORDER_KINDS:
        raise InvalidInputError(
            f"order kind {kind!r} is unknown; expected one of {', '.join(ORDER_KINDS)}"
        )
    if not authority.strip():
        raise InvalidInputError("name the court or authority that issued the order")
    reference = reference.strip()
    if not reference:
        raise InvalidInputError("an order needs its reference")
    if any(order.reference == reference for order in case.orders):
        raise ConflictError(f"order {reference!r} is already recorded in case {case.reference}")
    order = CourtOrder(
        case_id=case.id,
        reference=reference[:100],
        kind=kind,
        authority=authority.strip()[:200],
        issued_on=check_past_date(issued_on, "issued_on"),
        legal_basis=legal_basis.strip()[:300],
        foreign_request=foreign_request,
    )
    session.add(order)
    session.flush()
    record_audit(
        session,
        principal,
        "create",
        "court_order",
        order.id,
        None,
        {
            "case": case.reference,
            "reference": order.reference,
            "kind": kind,
            "authority": order.authority,
            "issued_on": order.issued_on.isoformat(),
            "legal_basis": order.legal_basis,
            "foreign_request": foreign_request,
        },
    )
    return order
