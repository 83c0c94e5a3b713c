"""Assets: register, describe, link parties, move through the lifecycle, value and cost.

Every change is one transaction with its audit record; a lifecycle transition
that realises money (an interim sale, a sale or transfer to the fund at
disposal) books the receipt in the fund ledger in the same transaction, so a
failure anywhere leaves neither the transition nor the posting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crimeprev.assets import ledger
from crimeprev.assets.access import CASE_WRITERS, VALUE_WRITERS, require, visible_cases
from crimeprev.assets.cases import (
    check_country,
    check_past_date,
    check_reference,
    check_version,
    flush_or_conflict,
    get_case,
)
from crimeprev.assets.lifecycle import (
    MAY_ENTER,
    NEEDS_ORDER,
    ConfiscationBasis,
    ConfiscationType,
    Disposal,
    State,
    check_transition,
    parse_state,
)
from crimeprev.assets.models import (
    Asset,
    AssetEvent,
    AssetParty,
    Case,
    ManagementCost,
    Valuation,
)
from crimeprev.assets.money import Money
from crimeprev.db.accounts import Principal
from crimeprev.db.audit import record_audit
from crimeprev.db.base import utcnow
from crimeprev.errors import ConflictError, InvalidInputError, NotFoundError


class Category(StrEnum):
    """Kinds of asset."""

    REAL_ESTATE = "real_estate"
    VEHICLE = "vehicle"
    VESSEL_OR_AIRCRAFT = "vessel_or_aircraft"
    BANK_ACCOUNT = "bank_account"
    CASH = "cash"
    SECURITIES = "securities"
    VIRTUAL_ASSETS = "virtual_assets"
    BUSINESS = "business"
    VALUABLES_AND_ART = "valuables_and_art"
    OTHER = "other"


#: Party roles.
PARTY_ROLES = ("owner", "suspect", "third_party", "claimant", "victim", "beneficiary")
#: Status of a party's claim.
CLAIM_STATUSES = ("none", "pending", "accepted", "rejected")
#: Valuation methods.
VALUATION_METHODS = ("market", "expert", "book", "declared", "auction_result", "index")
#: Kinds of management cost.
COST_KINDS = ("storage", "maintenance", "insurance", "fees", "security", "other")


def _enum(kind: type[StrEnum], value: str, field: str) -> Any:
    name = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return kind(name)
    except ValueError:
        known = ", ".join(item.value for item in kind)
        raise InvalidInputError(
            f"{field} {value!r} is unknown; expected one of {known}", field=field
        ) from None


def _choice(value: str, choices: tuple[str, ...], field: str) -> str:
    name = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if name not in choices:
        raise InvalidInputError(
            f"{field} {value!r} is unknown; expected one of {', '.join(choices)}", field=field
        )
    return name


def parse_category(value: str) -> Category:
    """Return the category named `value`.

    Examples
    --------
    >>> parse_category("Real estate").value
    'real_estate'
    """
    result: Category = _enum(Category, value, "category")
    return result


def money_or_none(minor: int | None, currency: str | None) -> Money | None:
    """A stored amount as :class:`Money` (``None`` when absent)."""
    if minor is None or currency is None:
        return None
    return Money.from_minor(minor, currency)


def asset_snapshot(asset: Asset) -> dict[str, Any]:
    """The asset as JSON-ready data (audit records and the API)."""
    realised = money_or_none(asset.realised_minor, asset.realised_currency)
    return {
        "id": asset.id,
        "reference": asset.reference,
        "case_id": asset.case_id,
        "case": asset.case.reference if asset.case else None,
        "category": asset.category,
        "description": asset.description,
        "identifier": asset.identifier,
        "identifier_type": asset.identifier_type,
        "location": asset.location,
        "country": asset.country,
        "custodian": asset.custodian,
        "state": asset.state,
        "state_since": asset.state_since.isoformat(),
        "confiscation_type": asset.confiscation_type,
        "confiscation_basis": asset.confiscation_basis,
        "disposal": asset.disposal,
        "realised": realised.to_json() if realised else None,
        "version": asset.version,
    }


def create_asset(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    reference: str,
    category: str,
    description: str,
    country: str,
    identified_on: date,
    identifier: str = "",
    identifier_type: str = "",
    location: str = "",
    custodian: str = "",
) -> Asset:
    """Register an asset in a case; it starts in state ``identified``."""
    require(principal, CASE_WRITERS, "registering an asset")
    case = get_case(session, principal, case_id)
    reference = check_reference(reference, "asset reference")
    if not description.strip():
        raise InvalidInputError("describe the asset", field="description")
    if session.execute(select(Asset.id).where(Asset.reference == reference)).first():
        raise ConflictError(f"an asset with reference {reference!r} exists")
    now = utcnow()
    asset = Asset(
        case=case,
        reference=reference,
        category=parse_category(category).value,
        description=description.strip(),
        identifier=identifier.strip()[:200],
        identifier_type=identifier_type.strip()[:64],
        location=location.strip()[:200],
        country=check_country(country),
        custodian=custodian.strip()[:200],
        state=State.IDENTIFIED.value,
        state_since=check_past_date(identified_on, "identified_on"),
        created_at=now,
        updated_at=now,
    )
    session.add(asset)
    session.flush()
    session.add(
        AssetEvent(
            asset_id=asset.id,
            from_state=None,
            to_state=State.IDENTIFIED.value,
            occurred_on=asset.state_since,
            actor_id=principal.user_id,
            actor=principal.username,
            note="registered",
            recorded_at=now,
        )
    )
    record_audit(session, principal, "create", "asset", asset.id, None, asset_snapshot(asset))
    return asset


def get_asset(session: Session, principal: Principal, asset_id: int) -> Asset:
    """Return an asset whose case the principal may see, or raise :class:`NotFoundError`."""
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFoundError(f"no asset with id {asset_id}")
    get_case(session, principal, asset.case_id)
    return asset


def list_assets(
    session: Session,
    principal: Principal,
    *,
    state: str = "",
    category: str = "",
    case_id: int | None = None,
    search: str = "",
    limit: int = 200,
    offset: int = 0,
) -> list[Asset]:
    """Assets the principal may see, filtered by state, category, case or text."""
    statement = select(Asset).join(Case, Asset.case_id == Case.id).where(visible_cases(principal))
    if state.strip():
        statement = statement.where(Asset.state == parse_state(state).value)
    if category.strip():
        statement = statement.where(Asset.category == parse_category(category).value)
    if case_id is not None:
        statement = statement.where(Asset.case_id == case_id)
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(Asset.reference).like(pattern),
                func.lower(Asset.description).like(pattern),
                func.lower(Asset.identifier).like(pattern),
            )
        )
    statement = statement.order_by(Asset.id.desc()).limit(limit).offset(offset)
    return list(session.execute(statement).unique().scalars())


def update_asset(
    session: Session,
    principal: Principal,
    asset_id: int,
    *,
    expected_version: int | None,
    **changes: str,
) -> Asset:
    """Change descriptive fields (description, identifier, identifier_type, location, custodian).

    Refused with 409 when `expected_version` is stale; the lifecycle state
    changes only through :func:`transition_asset`.
    """
    require(principal, CASE_WRITERS, "changing an asset")
    allowed = {"description", "identifier", "identifier_type", "location", "custodian"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInputError(
            f"cannot change {', '.join(sorted(unknown))}; changeable fields: "
            f"{', '.join(sorted(allowed))} (the state changes through transitions)"
        )
    asset = get_asset(session, principal, asset_id)
    check_version("asset", asset.version, expected_version)
    before = asset_snapshot(asset)
    for field, value in changes.items():
        if field == "description" and not str(value).strip():
            raise InvalidInputError("describe the asset", field="description")
        setattr(asset, field, str(value).strip())
    asset.updated_at = utcnow()
    flush_or_conflict(session, "asset")
    record_audit(session, principal, "update", "asset", asset.id, before, asset_snapshot(asset))
    return asset


@dataclass(frozen=True)
class TransitionRequest:
    """A requested lifecycle step with the facts it must record.

    Attributes
    ----------
    to_state : State
    occurred_on : date
        When the order or event took effect.
    legal_basis, court_order : str
        Statute article and/or order reference; steps in
        :data:`~crimeprev.assets.lifecycle.NEEDS_ORDER` need at least one.
    expected_version : int or None
        The asset version the user saw (optimistic locking).
    confiscation_type, confiscation_basis : str
        For ``confiscated``.
    owner_consent : bool or None
        For ``interim_sold``: whether the owner agreed to the early sale.
    disposal : str
        For ``disposed``: how (see :class:`~crimeprev.assets.lifecycle.Disposal`).
    realised : Money or None
        Money obtained: required for an interim sale and for a disposal by
        sale or transfer to the fund; booked in the fund ledger.
    note : str
    """

    to_state: State
    occurred_on: date
    legal_basis: str = ""
    court_order: str = ""
    expected_version: int | None = None
    confiscation_type: str = ""
    confiscation_basis: str = ""
    owner_consent: bool | None = None
    disposal: str = ""
    realised: Money | None = None
    note: str = ""


#: Disposals that bring money into the fund.
_FUND_DISPOSALS = {Disposal.SOLD, Disposal.TRANSFERRED_TO_FUND}


def transition_asset(
    session: Session, principal: Principal, asset_id: int, request: TransitionRequest
) -> Asset:
    """Move an asset to the next lifecycle state, recording date, legal basis and actor.

    Raises
    ------
    ConflictError
        If the lifecycle does not allow the step (names the current state and the
        allowed next ones) or `expected_version` is stale (HTTP 409).
    PermissionDeniedError
        If the principal's roles may not take this step.
    InvalidInputError
        If a required fact is missing (order, confiscation type, disposal, amount).
    """
    asset = get_asset(session, principal, asset_id)
    current = State(asset.state)
    target = request.to_state
    check_transition(current, target)
    require(principal, MAY_ENTER[target], f"moving an asset to {target.value!r}")
    check_version("asset", asset.version, request.expected_version)
    occurred = check_past_date(request.occurred_on, "occurred_on")
    if occurred < asset.state_since:
        raise InvalidInputError(
            f"occurred_on {occurred.isoformat()} is before the asset entered "
            f"{current.value!r} on {asset.state_since.isoformat()}"
        )
    legal_basis = request.legal_basis.strip()[:300]
    court_order = request.court_order.strip()[:100]
    if target in NEEDS_ORDER and not (legal_basis or court_order):
        raise InvalidInputError(
            f"moving an asset to {target.value!r} needs the legal basis or the court order "
            "reference that authorises it"
        )
    before = asset_snapshot(asset)
    details: dict[str, Any] = {}
    receipt_source: str | None = None
    if target is State.CONFISCATED:
        kind: ConfiscationType = _enum(
            ConfiscationType, request.confiscation_type or "", "confiscation_type"
        )
        basis: ConfiscationBasis = _enum(
            ConfiscationBasis, request.confiscation_basis or "conviction", "confiscation_basis"
        )
        asset.confiscation_type = kind.value
        asset.confiscation_basis = basis.value
        details |= {"confiscation_type": kind.value, "confiscation_basis": basis.value}
    if target is State.INTERIM_SOLD:
        if request.owner_consent is None:
            raise InvalidInputError(
                "an interim sale must say whether the owner consented (owner_consent)"
            )
        if request.realised is None:
            raise InvalidInputError("an interim sale must record the sale proceeds (realised)")
        details["owner_consent"] = request.owner_consent
        receipt_source = "sale"
    if target is State.DISPOSED:
        disposal: Disposal = _enum(Disposal, request.disposal or "", "disposal")
        asset.disposal = disposal.value
        details["disposal"] = disposal.value
        if disposal in _FUND_DISPOSALS:
            if request.realised is None and asset.realised_minor is None:
                raise InvalidInputError(
                    f"a disposal by {disposal.value} must record the amount realised (realised)"
                )
            if request.realised is not None:
                receipt_source = (
                    "confiscated_cash" if asset.category in {"cash", "bank_account"} else "sale"
                )
    if request.realised is not None:
        if request.realised.minor < 0:
            raise InvalidInputError(f"realised amount must not be negative, got {request.realised}")
        asset.realised_minor = request.realised.minor
        asset.realised_currency = request.realised.currency
        details["realised"] = request.realised.to_json()
    asset.state = target.value
    asset.state_since = occurred
    asset.updated_at = utcnow()
    flush_or_conflict(session, "asset")
    event = AssetEvent(
        asset_id=asset.id,
        from_state=current.value,
        to_state=target.value,
        occurred_on=occurred,
        legal_basis=legal_basis,
        court_order=court_order,
        actor_id=principal.user_id,
        actor=principal.username,
        note=request.note.strip(),
        details_json=json.dumps(details, sort_keys=True) if details else None,
        recorded_at=utcnow(),
    )
    session.add(event)
    session.flush()
    record_audit(session, principal, "transition", "asset", asset.id, before, asset_snapshot(asset))
    if receipt_source is not None and request.realised is not None and request.realised.minor > 0:
        ledger.record_receipt(
            session,
            principal,
            amount=request.realised,
            source=receipt_source,
            posted_on=occurred,
            description=f"{target.value.replace('_', ' ')} of asset {asset.reference}",
            asset_id=asset.id,
            check_role=False,  # the transition's own role check applies
        )
    return asset


def add_party(
    session: Session,
    principal: Principal,
    asset_id: int,
    *,
    name: str,
    role: str,
    claim: str = "",
    claim_amount: Money | None = None,
    claim_status: str = "none",
) -> AssetParty:
    """Link an owner, suspect, third party or claimant (with their claim) to an asset."""
    require(principal, CASE_WRITERS, "linking a party")
    asset = get_asset(session, principal, asset_id)
    if not name.strip():
        raise InvalidInputError("a party needs a name", field="name")
    party = AssetParty(
        asset_id=asset.id,
        name=name.strip()[:200],
        role=_choice(role, PARTY_ROLES, "role"),
        claim=claim.strip(),
        claim_minor=claim_amount.minor if claim_amount else None,
        claim_currency=claim_amount.currency if claim_amount else None,
        claim_status=_choice(claim_status, CLAIM_STATUSES, "claim_status"),
    )
    session.add(party)
    session.flush()
    record_audit(
        session,
        principal,
        "create",
        "asset_party",
        party.id,
        None,
        {
            "asset_id": asset.id,
            "name": party.name,
            "role": party.role,
            "claim": party.claim,
            "claim_amount": claim_amount.to_json() if claim_amount else None,
            "claim_status": party.claim_status,
        },
    )
    return party


def add_valuation(
    session: Session,
    principal: Principal,
    asset_id: int,
    *,
    valued_on: date,
    amount: Money,
    method: str,
    valuer: str = "",
    note: str = "",
) -> Valuation:
    """Record a valuation of the asset on a date."""
    require(principal, VALUE_WRITERS | CASE_WRITERS, "recording a valuation")
    asset = get_asset(session, principal, asset_id)
    if amount.minor < 0:
        raise InvalidInputError(f"a valuation must not be negative, got {amount}")
    valuation = Valuation(
        asset_id=asset.id,
        valued_on=check_past_date(valued_on, "valued_on"),
        method=_choice(method, VALUATION_METHODS, "method"),
        amount_minor=amount.minor,
        currency=amount.currency,
        valuer=valuer.strip()[:200],
        note=note.strip(),
    )
    session.add(valuation)
    session.flush()
    record_audit(
        session,
        principal,
        "create",
        "valuation",
        valuation.id,
        None,
        {
            "asset_id": asset.id,
            "valued_on": valuation.valued_on.isoformat(),
            "method": valuation.method,
            **amount.to_json(),
            "valuer": valuation.valuer,
        },
    )
    return valuation


def add_cost(
    session: Session,
    principal: Principal,
    asset_id: int,
    *,
    incurred_on: date,
    amount: Money,
    kind: str,
    description: str = "",
) -> ManagementCost:
    """Record a cost of managing the asset (storage, maintenance, insurance, fees...)."""
    require(principal, VALUE_WRITERS, "recording a management cost")
    asset = get_asset(session, principal, asset_id)
    if amount.minor <= 0:
        raise InvalidInputError(f"a cost must be positive, got {amount}")
    cost = ManagementCost(
        asset_id=asset.id,
        incurred_on=check_past_date(incurred_on, "incurred_on"),
        kind=_choice(kind, COST_KINDS, "kind"),
        amount_minor=amount.minor,
        currency=amount.currency,
        description=description.strip(),
    )
    session.add(cost)
    session.flush()
    record_audit(
        session,
        principal,
        "create",
        "management_cost",
        cost.id,
        None,
        {
            "asset_id": asset.id,
            "incurred_on": cost.incurred_on.isoformat(),
            "kind": cost.kind,
            **amount.to_json(),
            "description": cost.description,
        },
    )
    return cost


def latest_valuation(asset: Asset) -> Valuation | None:
    """The most recent valuation of the asset."""
    return asset.valuations[-1] if asset.valuations else None


def events(asset: Asset) -> list[dict[str, Any]]:
    """The asset's lifecycle timeline as JSON-ready data."""
    return [
        {
            "from_state": event.from_state,
            "to_state": event.to_state,
            "occurred_on": event.occurred_on.isoformat(),
            "legal_basis": event.legal_basis,
            "court_order": event.court_order,
            "actor": event.actor,
            "note": event.note,
            "details": json.loads(event.details_json) if event.details_json else {},
            "recorded_at": event.recorded_at.isoformat(),
        }
        for event in asset.events
    ]


def state_counts(session: Session, principal: Principal) -> dict[str, int]:
    """How many visible assets are in each lifecycle state (every state listed)."""
    rows = session.execute(
        select(Asset.state, func.count(Asset.id))
        .join(Case, Asset.case_id == Case.id)
        .where(visible_cases(principal))
        .group_by(Asset.state)
    ).all()
    found = {state: int(count) for state, count in rows}
    return {state.value: found.get(state.value, 0) for state in State}
