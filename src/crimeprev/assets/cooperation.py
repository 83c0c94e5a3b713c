"""International cooperation: requests, asset-sharing agreements and returns.

Requests (mutual legal assistance for tracing, freezing, seizure,
confiscation or return; UNCAC art. 46, 54-55; UNTOC art. 13, 18) are incoming
or outgoing, with the counterpart State; a pending request is answered once
(executed, partially executed, refused or withdrawn). Sharing agreements record
the share of proceeds agreed with another State (UNTOC art. 14(3)(b)); a return
to another State is paid out of the fund (allocation ``foreign_states``),
checked against the agreement's share of what the case realised.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crimeprev.assets import ledger
from crimeprev.assets.access import CASE_WRITERS, require
from crimeprev.assets.cases import (
    check_country,
    check_past_date,
    check_version,
    flush_or_conflict,
    get_case,
)
from crimeprev.assets.models import (
    Asset,
    CooperationRequest,
    LedgerEntry,
    LedgerPosting,
    SharingAgreement,
)
from crimeprev.assets.money import Money, parse_decimal
from crimeprev.db.accounts import Principal
from crimeprev.db.audit import record_audit
from crimeprev.errors import ConflictError, InvalidInputError, NotFoundError

DIRECTIONS = ("incoming", "outgoing")
REQUEST_KINDS = ("tracing", "freezing", "seizure", "confiscation", "return", "information")
#: Final answers to a pending request.
ANSWERS = ("executed", "partially_executed", "refused", "withdrawn")


def _choice(value: str, choices: tuple[str, ...], field: str) -> str:
    name = value.strip().lower().replace("-", "_").replace(" ", "_")
    if name not in choices:
        raise InvalidInputError(
            f"{field} {value!r} is unknown; expected one of {', '.join(choices)}", field=field
        )
    return name


def request_json(item: CooperationRequest) -> dict[str, Any]:
    """A request as JSON."""
    return {
        "id": item.id,
        "case_id": item.case_id,
        "direction": item.direction,
        "kind": item.kind,
        "counterpart_state": item.counterpart_state,
        "reference": item.reference,
        "legal_basis": item.legal_basis,
        "sent_on": item.sent_on.isoformat(),
        "status": item.status,
        "answered_on": item.answered_on.isoformat() if item.answered_on else None,
        "note": item.note,
        "version": item.version,
    }


def agreement_json(item: SharingAgreement) -> dict[str, Any]:
    """An agreement as JSON."""
    return {
        "id": item.id,
        "case_id": item.case_id,
        "counterpart_state": item.counterpart_state,
        "reference": item.reference,
        "share_percent": item.share_percent,
        "signed_on": item.signed_on.isoformat(),
        "legal_basis": item.legal_basis,
    }


def add_request(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    direction: str,
    kind: str,
    counterpart_state: str,
    reference: str,
    sent_on: date,
    legal_basis: str = "",
    note: str = "",
) -> CooperationRequest:
    """Record an incoming or outgoing request in a case; it starts as ``pending``."""
    require(principal, CASE_WRITERS, "recording a cooperation request")
    case = get_case(session, principal, case_id)
    if not reference.strip():
        raise InvalidInputError("a request needs its reference", field="reference")
    duplicate = session.execute(
        select(CooperationRequest.id).where(
            CooperationRequest.case_id == case.id,
            CooperationRequest.reference == reference.strip(),
        )
    ).first()
    if duplicate:
        raise ConflictError(f"request {reference.strip()!r} is already recorded in this case")
    item = CooperationRequest(
        case_id=case.id,
        direction=_choice(direction, DIRECTIONS, "direction"),
        kind=_choice(kind, REQUEST_KINDS, "kind"),
        counterpart_state=check_country(counterpart_state, "counterpart_state"),
        reference=reference.strip()[:100],
        legal_basis=legal_basis.strip()[:300],
        sent_on=check_past_date(sent_on, "sent_on"),
        status="pending",
        note=note.strip(),
    )
    session.add(item)
    session.flush()
    record_audit(
        session, principal, "create", "cooperation_request", item.id, None, request_json(item)
    )
    return item


def answer_request(
    session: Session,
    principal: Principal,
    request_id: int,
    *,
    status: str,
    answered_on: date,
    expected_version: int | None = None,
    note: str = "",
) -> CooperationRequest:
    """Record the answer to a pending request (once; a second answer is a 409)."""
    require(principal, CASE_WRITERS, "answering a cooperation request")
    item = session.get(CooperationRequest, request_id)
    if item is None:
        raise NotFoundError(f"no cooperation request with id {request_id}")
    get_case(session, principal, item.case_id)
    check_version("request", item.version, expected_version)
    if item.status != "pending":
        raise ConflictError(
            f"request {item.reference!r} was already answered ({item.status}); "
            "record a new request instead",
            current_status=item.status,
        )
    answered = check_past_date(answered_on, "answered_on")
    if answered < item.sent_on:
        raise InvalidInputError(
            f"answered_on {answered.isoformat()} is before the request was sent "
            f"({item.sent_on.isoformat()})"
        )
    before = request_json(item)
    item.status = _choice(status, ANSWERS, "status")
    item.answered_on = answered
    if note.strip():
        item.note = (item.note + "\n" + note.strip()).strip()
    flush_or_conflict(session, "request")
    record_audit(
        session, principal, "update", "cooperation_request", item.id, before, request_json(item)
    )
    return item


def add_agreement(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    counterpart_state: str,
    reference: str,
    share_percent: Decimal | str,
    signed_on: date,
    legal_basis: str = "",
) -> SharingAgreement:
    """Record an asset-sharing agreement: the counterpart's share (0-100 %) of the proceeds."""
    require(principal, CASE_WRITERS, "recording a sharing agreement")
    case = get_case(session, principal, case_id)
    share = parse_decimal(share_percent, field="share_percent")
    if not Decimal(0) < share <= Decimal(100):
        raise InvalidInputError(f"share_percent must be in (0, 100], got {share}")
    if not reference.strip():
        raise InvalidInputError("an agreement needs its reference", field="reference")
    item = SharingAgreement(
        case_id=case.id,
        counterpart_state=check_country(counterpart_state, "counterpart_state"),
        reference=reference.strip()[:100],
        share_percent=str(share),
        signed_on=check_past_date(signed_on, "signed_on"),
        legal_basis=legal_basis.strip()[:300],
    )
    session.add(item)
    session.flush()
    record_audit(
        session, principal, "create", "sharing_agreement", item.id, None, agreement_json(item)
    )
    return item


def realised_in_case(session: Session, case_id: int, currency: str) -> Money:
    """What the case's assets realised in `currency` (receipts booked for them)."""
    total = session.execute(
        select(func.coalesce(func.sum(Asset.realised_minor), 0)).where(
            Asset.case_id == case_id, Asset.realised_currency == currency
        )
    ).scalar_one()
    return Money.from_minor(int(total or 0), currency)


def returned_under(session: Session, agreement: SharingAgreement, currency: str) -> Money:
    """What was already paid to the counterpart under `agreement`."""
    total = session.execute(
        select(func.coalesce(func.sum(LedgerPosting.amount_minor), 0))
        .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
        .where(
            LedgerEntry.project == f"agreement {agreement.id}",
            LedgerPosting.account == ledger.Account.ALLOCATION_FOREIGN_STATES.value,
            LedgerPosting.currency == currency,
        )
    ).scalar_one()
    return Money.from_minor(int(total or 0), currency)


def record_return(
    session: Session,
    principal: Principal,
    agreement_id: int,
    *,
    amount: Money,
    posted_on: date,
) -> LedgerEntry:
    """Pay the counterpart State its share: a fund allocation, capped by the agreement.

    Raises
    ------
    ConflictError
        If the payment would exceed the agreed share of what the case realised,
        or the fund holds too little.
    """
    agreement = session.get(SharingAgreement, agreement_id)
    if agreement is None:
        raise NotFoundError(f"no sharing agreement with id {agreement_id}")
    case = get_case(session, principal, agreement.case_id)
    share = Decimal(agreement.share_percent) / Decimal(100)
    cap = realised_in_case(session, case.id, amount.currency).convert(share, amount.currency)
    already = returned_under(session, agreement, amount.currency)
    if already.minor + amount.minor > cap.minor:
        raise ConflictError(
            f"agreement {agreement.reference} gives {agreement.counterpart_state} "
            f"{agreement.share_percent}% of {realised_in_case(session, case.id, amount.currency)} "
            f"= {cap}; {already} was already paid, so at most {cap - already} remains",
            cap=str(cap.amount),
            already_paid=str(already.amount),
        )
    return ledger.allocate(
        session,
        principal,
        amount=amount,
        purpose="foreign_states",
        posted_on=posted_on,
        description=(
            f"return to {agreement.counterpart_state} under agreement {agreement.reference} "
            f"(case {case.reference})"
        ),
        project=f"agreement {agreement.id}",
    )


def case_cooperation(session: Session, case_id: int) -> dict[str, list[dict[str, Any]]]:
    """Requests and agreements of a case (the caller checked access)."""
    requests = session.execute(
        select(CooperationRequest)
        .where(CooperationRequest.case_id == case_id)
        .order_by(CooperationRequest.sent_on, CooperationRequest.id)
    ).scalars()
    agreements = session.execute(
        select(SharingAgreement)
        .where(SharingAgreement.case_id == case_id)
        .order_by(SharingAgreement.signed_on, SharingAgreement.id)
    ).scalars()
    return {
        "requests": [request_json(r) for r in requests],
        "agreements": [agreement_json(a) for a in agreements],
    }
