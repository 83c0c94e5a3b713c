"""JSON API of the asset recovery registry (the pages' twins).

Every endpoint but ``/api/assets/transparency`` and ``/api/assets/planning``
needs a signed-in user or ``Authorization: Bearer <token>``; what each role may
do is decided by the services in :mod:`crimeprev.assets`. Refused lifecycle
steps and stale versions answer 409 in the one error shape.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, object_session

from crimeprev.assets import (
    admin,
    bulk_import,
    cases,
    cooperation,
    ledger,
    planning,
    rates,
    registry,
    reports,
    social_reuse,
    transparency,
)
from crimeprev.assets.access import SEE_ALL, require
from crimeprev.assets.lifecycle import State, allowed_next, parse_state
from crimeprev.assets.models import Asset, Case
from crimeprev.assets.money import Money
from crimeprev.config import Settings
from crimeprev.db.accounts import Principal
from crimeprev.db.audit import verify_audit_chain
from crimeprev.web.auth import current_principal, db_session
from crimeprev.web.deps import get_app_settings
from crimeprev.web.errors import IsoDate, IsoDateQuery

router = APIRouter(prefix="/api/assets", tags=["Asset recovery"])
#: Media type of the XLSX downloads.
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class MoneyIn(BaseModel):
    """An amount as a decimal string (exact) and an ISO 4217 code."""

    amount: str = Field(max_length=40, examples=["41250.00"])
    currency: str = Field(min_length=3, max_length=3, examples=["EUR"])

    def money(self) -> Money:
        return Money.of(self.amount, self.currency)


def case_json(case: Case, *, full: bool = False) -> dict[str, Any]:
    """A case as JSON (with assets, orders, cooperation requests and agreements when `full`)."""
    body = cases.case_snapshot(case)
    if full:
        session = object_session(case)
        if session is not None:
            body |= cooperation.case_cooperation(session, case.id)
        body["assets"] = [asset_json(asset) for asset in case.assets]
        body["orders"] = [
            {
                "reference": order.reference,
                "kind": order.kind,
                "authority": order.authority,
                "issued_on": order.issued_on.isoformat(),
                "legal_basis": order.legal_basis,
                "foreign_request": order.foreign_request,
            }
            for order in case.orders
        ]
    return body


def asset_json(asset: Asset, *, full: bool = False) -> dict[str, Any]:
    """An asset as JSON (with timeline, parties, valuations and costs when `full`)."""
    body = registry.asset_snapshot(asset)
    latest = registry.latest_valuation(asset)
    body["latest_valuation"] = (
        {
            "valued_on": latest.valued_on.isoformat(),
            "method": latest.method,
            **Money.from_minor(latest.amount_minor, latest.currency).to_json(),
        }
        if latest
        else None
    )
    body["allowed_next_states"] = [s.value for s in allowed_next(State(asset.state))]
    if full:
        body["timeline"] = registry.events(asset)
        body["parties"] = [
            {
                "name": party.name,
                "role": party.role,
                "claim": party.claim,
                "claim_amount": (
                    money.to_json()
                    if (money := registry.money_or_none(party.claim_minor, party.claim_currency))
                    else None
                ),
                "claim_status": party.claim_status,
            }
            for party in asset.parties
        ]
        body["valuations"] = [
            {
                "valued_on": v.valued_on.isoformat(),
                "method": v.method,
                "valuer": v.valuer,
                **Money.from_minor(v.amount_minor, v.currency).to_json(),
            }
            for v in asset.valuations
        ]
        body["costs"] = [
            {
                "incurred_on": c.incurred_on.isoformat(),
                "kind": c.kind,
                "description": c.description,
                **Money.from_minor(c.amount_minor, c.currency).to_json(),
            }
            for c in asset.costs
        ]
        session = object_session(asset)
        if session is not None:
            body["social_reuse_projects"] = social_reuse.asset_projects(session, asset)
    return body


@router.get("")
def dashboard(
    principal: Principal = Depends(current_principal), session: Session = Depends(db_session)
) -> dict[str, Any]:
    """Visible assets per lifecycle state and the most recent cases."""
    with session.begin():
        return {
            "states": registry.state_counts(session, principal),
            "recent_cases": [case_json(c) for c in cases.list_cases(session, principal, limit=10)],
        }


class NewCase(BaseModel):
    """A case to open."""

    reference: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    jurisdiction: str = Field(min_length=3, max_length=3, description="ISO 3166-1 alpha-3")
    opened_on: IsoDate
    offences: list[str] = Field(default_factory=list, max_length=50, description="ICCS codes")
    description: str = Field(default="", max_length=5000)
    agency: str | None = Field(default=None, max_length=32, description="administrators only")


@router.get("/cases")
def list_cases(
    search: str = Query("", max_length=200),
    offence: str = Query("", max_length=10, description="ICCS code; includes sub-codes"),
    limit: int = Query(200, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Cases you may see, newest first."""
    with session.begin():
        found = cases.list_cases(
            session, principal, search=search, offence=offence, limit=limit, offset=offset
        )
        return {"cases": [case_json(c) for c in found]}


@router.post("/cases", status_code=201)
def create_case(
    body: NewCase,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Open a case."""
    with session.begin():
        case = cases.create_case(
            session,
            principal,
            reference=body.reference,
            title=body.title,
            jurisdiction=body.jurisdiction,
            opened_on=body.opened_on,
            offences=body.offences,
            description=body.description,
            agency_code=body.agency,
        )
        return case_json(case, full=True)


@router.get("/cases/{case_id}")
def get_case(
    case_id: int,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """One case with its assets and court orders."""
    with session.begin():
        return case_json(cases.get_case(session, principal, case_id), full=True)


class CaseChange(BaseModel):
    """Changes to a case; `expected_version` is the version you loaded."""

    expected_version: int
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    offences: list[str] | None = Field(default=None, max_length=50)


@router.patch("/cases/{case_id}")
def update_case(
    case_id: int,
    body: CaseChange,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Change a case (409 if someone changed it since you loaded it)."""
    with session.begin():
        case = cases.update_case(
            session,
            principal,
            case_id,
            expected_version=body.expected_version,
            title=body.title,
            description=body.description,
            offences=body.offences,
        )
        return case_json(case, full=True)


class Share(BaseModel):
    """An agency to share the case with."""

    agency: str = Field(min_length=1, max_length=32)


@router.post("/cases/{case_id}/shares")
def share_case(
    case_id: int,
    body: Share,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Let another agency see and work on the case."""
    with session.begin():
        return case_json(cases.share_case(session, principal, case_id, body.agency))


class NewOrder(BaseModel):
    """A court or competent-authority order."""

    reference: str = Field(min_length=1, max_length=100)
    kind: str = Field(max_length=32, examples=list(cases.ORDER_KINDS))
    authority: str = Field(min_length=1, max_length=200)
    issued_on: IsoDate
    legal_basis: str = Field(default="", max_length=300)
    foreign_request: bool = False


@router.post("/cases/{case_id}/orders", status_code=201)
def add_order(
    case_id: int,
    body: NewOrder,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Record a court order in the case."""
    with session.begin():
        cases.add_court_order(session, principal, case_id, **body.model_dump())
        return case_json(cases.get_case(session, principal, case_id), full=True)


class RequestIn(BaseModel):
    """An incoming or outgoing international cooperation request."""

    direction: str = Field(max_length=8, examples=list(cooperation.DIRECTIONS))
    kind: str = Field(max_length=32, examples=list(cooperation.REQUEST_KINDS))
    counterpart_state: str = Field(min_length=3, max_length=3)
    reference: str = Field(min_length=1, max_length=100)
    sent_on: IsoDate
    legal_basis: str = Field(default="", max_length=300)
    note: str = Field(default="", max_length=2000)


@router.post("/cases/{case_id}/requests", status_code=201)
def add_request(
    case_id: int,
    body: RequestIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Record a cooperation request in the case (it starts pending)."""
    with session.begin():
        item = cooperation.add_request(session, principal, case_id, **body.model_dump())
        return cooperation.request_json(item)


class AnswerIn(BaseModel):
    """The answer to a pending request."""

    status: str = Field(max_length=20, examples=list(cooperation.ANSWERS))
    answered_on: IsoDate
    expected_version: int | None = None
    note: str = Field(default="", max_length=2000)


@router.post("/requests/{request_id}/answer")
def answer_request(
    request_id: int,
    body: AnswerIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Record the answer to a request (409 if it was already answered)."""
    with session.begin():
        item = cooperation.answer_request(session, principal, request_id, **body.model_dump())
        return cooperation.request_json(item)


class AgreementIn(BaseModel):
    """An asset-sharing agreement with another State."""

    counterpart_state: str = Field(min_length=3, max_length=3)
    reference: str = Field(min_length=1, max_length=100)
    share_percent: str = Field(max_length=16, examples=["50"])
    signed_on: IsoDate
    legal_basis: str = Field(default="", max_length=300)


@router.post("/cases/{case_id}/agreements", status_code=201)
def add_agreement(
    case_id: int,
    body: AgreementIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Record a sharing agreement in the case."""
    with session.begin():
        item = cooperation.add_agreement(session, principal, case_id, **body.model_dump())
        return cooperation.agreement_json(item)


class ReturnIn(BaseModel):
    """A payment to the counterpart State under an agreement."""

    amount: MoneyIn
    posted_on: IsoDate


@router.post("/agreements/{agreement_id}/returns", status_code=201)
def add_return(
    agreement_id: int,
    body: ReturnIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Pay a share to the counterpart State from the fund (409 beyond the agreed share)."""
    with session.begin():
        entry = cooperation.record_return(
            session, principal, agreement_id, amount=body.amount.money(), posted_on=body.posted_on
        )
        return ledger.entry_json(entry)


class NewAsset(BaseModel):
    """An asset to register in a case (it starts as 'identified')."""

    case_id: int
    reference: str = Field(min_length=1, max_length=64)
    category: str = Field(max_length=32, examples=[c.value for c in registry.Category])
    description: str = Field(min_length=1, max_length=5000)
    country: str = Field(min_length=3, max_length=3)
    identified_on: IsoDate
    identifier: str = Field(default="", max_length=200)
    identifier_type: str = Field(default="", max_length=64)
    location: str = Field(default="", max_length=200)
    custodian: str = Field(default="", max_length=200)


@router.get("/items")
def list_assets(
    state: str = Query("", max_length=32),
    category: str = Query("", max_length=32),
    case_id: int | None = Query(None, ge=1),
    search: str = Query("", max_length=200),
    limit: int = Query(200, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Assets you may see, filtered by state, category, case or text."""
    with session.begin():
        found = registry.list_assets(
            session,
            principal,
            state=state,
            category=category,
            case_id=case_id,
            search=search,
            limit=limit,
            offset=offset,
        )
        return {"assets": [asset_json(a) for a in found]}


@router.post("/items", status_code=201)
def create_asset(
    body: NewAsset,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Register an asset."""
    values = body.model_dump()
    case_id = values.pop("case_id")
    with session.begin():
        return asset_json(registry.create_asset(session, principal, case_id, **values), full=True)


@router.get("/items/{asset_id}")
def get_asset(
    asset_id: int,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """One asset with its timeline, parties, valuations and costs."""
    with session.begin():
        return asset_json(registry.get_asset(session, principal, asset_id), full=True)


class AssetChange(BaseModel):
    """Descriptive changes; `expected_version` is the version you loaded."""

    expected_version: int
    description: str | None = Field(default=None, max_length=5000)
    identifier: str | None = Field(default=None, max_length=200)
    identifier_type: str | None = Field(default=None, max_length=64)
    location: str | None = Field(default=None, max_length=200)
    custodian: str | None = Field(default=None, max_length=200)


@router.patch("/items/{asset_id}")
def update_asset(
    asset_id: int,
    body: AssetChange,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Change an asset's description or custody (409 on a stale version)."""
    changes = body.model_dump(exclude_none=True)
    expected = changes.pop("expected_version")
    with session.begin():
        asset = registry.update_asset(
            session, principal, asset_id, expected_version=expected, **changes
        )
        return asset_json(asset, full=True)


class TransitionIn(BaseModel):
    """A lifecycle step (see GET /api/assets/items/{id} for the allowed next states)."""

    to_state: str = Field(max_length=32, examples=[s.value for s in State])
    occurred_on: IsoDate
    legal_basis: str = Field(default="", max_length=300)
    court_order: str = Field(default="", max_length=100)
    expected_version: int | None = None
    confiscation_type: str = Field(default="", max_length=32)
    confiscation_basis: str = Field(default="", max_length=32)
    owner_consent: bool | None = None
    disposal: str = Field(default="", max_length=40)
    realised: MoneyIn | None = None
    note: str = Field(default="", max_length=2000)


def transition_request(body: TransitionIn) -> registry.TransitionRequest:
    """The service request for a transition body."""
    values = body.model_dump(exclude={"to_state", "realised"})
    return registry.TransitionRequest(
        to_state=parse_state(body.to_state),
        realised=body.realised.money() if body.realised else None,
        **values,
    )


@router.post("/items/{asset_id}/transitions")
def transition(
    asset_id: int,
    body: TransitionIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Move the asset to its next state; 409 names the current and allowed states."""
    request = transition_request(body)
    with session.begin():
        return asset_json(
            registry.transition_asset(session, principal, asset_id, request), full=True
        )


class PartyIn(BaseModel):
    """An owner, suspect, third party or claimant."""

    name: str = Field(min_length=1, max_length=200)
    role: str = Field(max_length=32, examples=list(registry.PARTY_ROLES))
    claim: str = Field(default="", max_length=2000)
    claim_amount: MoneyIn | None = None
    claim_status: str = Field(default="none", max_length=16)


@router.post("/items/{asset_id}/parties", status_code=201)
def add_party(
    asset_id: int,
    body: PartyIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Link a party (and their claim) to the asset."""
    with session.begin():
        registry.add_party(
            session,
            principal,
            asset_id,
            name=body.name,
            role=body.role,
            claim=body.claim,
            claim_amount=body.claim_amount.money() if body.claim_amount else None,
            claim_status=body.claim_status,
        )
        return asset_json(registry.get_asset(session, principal, asset_id), full=True)


class ValuationIn(BaseModel):
    """A valuation on a date."""

    valued_on: IsoDate
    amount: MoneyIn
    method: str = Field(max_length=32, examples=list(registry.VALUATION_METHODS))
    valuer: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=2000)


@router.post("/items/{asset_id}/valuations", status_code=201)
def add_valuation(
    asset_id: int,
    body: ValuationIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Record a valuation."""
    with session.begin():
        registry.add_valuation(
            session,
            principal,
            asset_id,
            valued_on=body.valued_on,
            amount=body.amount.money(),
            method=body.method,
            valuer=body.valuer,
            note=body.note,
        )
        return asset_json(registry.get_asset(session, principal, asset_id), full=True)


class CostIn(BaseModel):
    """A management cost."""

    incurred_on: IsoDate
    amount: MoneyIn
    kind: str = Field(max_length=32, examples=list(registry.COST_KINDS))
    description: str = Field(default="", max_length=2000)


@router.post("/items/{asset_id}/costs", status_code=201)
def add_cost(
    asset_id: int,
    body: CostIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Record a management cost."""
    with session.begin():
        registry.add_cost(
            session,
            principal,
            asset_id,
            incurred_on=body.incurred_on,
            amount=body.amount.money(),
            kind=body.kind,
            description=body.description,
        )
        return asset_json(registry.get_asset(session, principal, asset_id), full=True)


def fund_json(session: Session, principal: Principal) -> dict[str, Any]:
    """The fund's trial balance, reconciliation and recent entries."""
    result = ledger.reconcile(session, principal)
    return {
        "balanced": result.balanced,
        "cash_matches": result.cash_matches,
        "totals": {c: m.to_json() for c, m in result.totals.items()},
        "balances": [{"account": b.account, **b.balance.to_json()} for b in result.balances],
        "entries": [ledger.entry_json(e) for e in ledger.list_entries(session, limit=100)],
    }


@router.get("/fund")
def fund(
    principal: Principal = Depends(current_principal), session: Session = Depends(db_session)
) -> dict[str, Any]:
    """The fund ledger: balances per account, whether it reconciles, recent entries."""
    with session.begin():
        return fund_json(session, principal)


class ReceiptIn(BaseModel):
    """Money received into the fund."""

    amount: MoneyIn
    source: str = Field(max_length=32, examples=list(ledger.RECEIPTS))
    posted_on: IsoDate
    description: str = Field(min_length=1, max_length=300)
    asset_id: int | None = None


@router.post("/fund/receipts", status_code=201)
def receipt(
    body: ReceiptIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Book a receipt (debit cash, credit receipts)."""
    with session.begin():
        if body.asset_id is not None:
            registry.get_asset(session, principal, body.asset_id)
        entry = ledger.record_receipt(
            session,
            principal,
            amount=body.amount.money(),
            source=body.source,
            posted_on=body.posted_on,
            description=body.description,
            asset_id=body.asset_id,
        )
        return ledger.entry_json(entry)


class AllocationIn(BaseModel):
    """Money paid out of the fund."""

    amount: MoneyIn
    purpose: str = Field(max_length=32, examples=list(ledger.ALLOCATIONS))
    posted_on: IsoDate
    description: str = Field(min_length=1, max_length=300)
    project: str = Field(default="", max_length=200)


@router.post("/fund/allocations", status_code=201)
def allocation(
    body: AllocationIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Allocate from the fund (409 when the fund holds too little)."""
    with session.begin():
        entry = ledger.allocate(
            session,
            principal,
            amount=body.amount.money(),
            purpose=body.purpose,
            posted_on=body.posted_on,
            description=body.description,
            project=body.project,
        )
        return ledger.entry_json(entry)


class RateIn(BaseModel):
    """An exchange rate: units of `base` per unit of `currency` on a date."""

    currency: str = Field(min_length=3, max_length=3)
    base: str = Field(min_length=3, max_length=3)
    on_date: IsoDate
    rate: str = Field(max_length=40, examples=["0.9215"])
    source: str = Field(default="", max_length=200)


@router.get("/rates")
def list_rates(
    principal: Principal = Depends(current_principal), session: Session = Depends(db_session)
) -> dict[str, Any]:
    """Exchange rates, newest first."""
    del principal
    with session.begin():
        return {
            "rates": [
                {
                    "currency": r.currency,
                    "base": r.base,
                    "on_date": r.on_date.isoformat(),
                    "rate": r.rate,
                    "source": r.source,
                }
                for r in rates.list_rates(session)
            ]
        }


@router.post("/rates", status_code=201)
def add_rate(
    body: RateIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Record an exchange rate."""
    with session.begin():
        row = rates.add_rate(session, principal, **body.model_dump())
        return {
            "currency": row.currency,
            "base": row.base,
            "on_date": row.on_date.isoformat(),
            "rate": row.rate,
        }


@router.get("/convert")
def convert(
    *,
    amount: str = Query(..., max_length=40),
    currency: str = Query(..., min_length=3, max_length=3),
    base: str = Query(..., min_length=3, max_length=3),
    on_date: IsoDateQuery,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Convert an amount to a base currency at the latest rate on or before a date."""
    del principal
    with session.begin():
        result = rates.convert(session, Money.of(amount, currency), base, on_date)
    return {
        "original": result.original.to_json(),
        "converted": result.converted.to_json(),
        "rate": str(result.rate),
        "rate_date": result.rate_date.isoformat() if result.rate_date else None,
    }


class PlanIn(BaseModel):
    """Pre-seizure planning inputs (see crimeprev.assets.planning)."""

    value: MoneyIn
    annual_depreciation: Decimal = Field(ge=0, le=1)
    monthly_cost: MoneyIn
    months_to_judgment: int = Field(gt=0, le=600)
    sale_cost_rate: Decimal = Field(default=Decimal("0.10"), ge=0, le=1)
    dissipation_risk: Decimal = Field(default=Decimal("0.25"), ge=0, le=1)
    interest_rate: Decimal = Field(default=Decimal(0), ge=0, le=1)


def plan_json(plan: planning.SeizurePlan) -> dict[str, Any]:
    """A plan as JSON."""

    def course(item: planning.Course) -> dict[str, Any]:
        return {
            "value_at_judgment": item.value_at_judgment.to_json(),
            "costs": item.costs.to_json(),
            "sale_costs": item.sale_costs.to_json(),
            "net": item.net.to_json(),
        }

    return {
        "recommendation": plan.recommendation,
        "worth_pursuing": plan.worth_pursuing,
        "reason": plan.reason,
        "courses": {
            "seize": course(plan.seize),
            "freeze_with_restrictions": course(plan.freeze),
            "sell_early": course(plan.sell_early),
        },
    }


@router.post("/planning")
def plan(body: PlanIn) -> dict[str, Any]:
    """Pre-seizure planning: seize, freeze with restrictions or sell early, with figures."""
    values = body.model_dump(exclude={"value", "monthly_cost"})
    result = planning.plan_seizure(
        value=body.value.money(), monthly_cost=body.monthly_cost.money(), **values
    )
    return plan_json(result)


@router.get("/transparency")
def public_view(
    session: Session = Depends(db_session), settings: Settings = Depends(get_app_settings)
) -> dict[str, Any]:
    """Public aggregates: assets frozen, seized, confiscated and disposed per year and
    category, and fund allocations; counts below the threshold are suppressed."""
    threshold = settings.small_count_threshold
    with session.begin():
        return {
            "small_count_threshold": threshold,
            "asset_flows": [
                transparency.cell_json(c) for c in transparency.asset_flows(session, threshold)
            ],
            "fund_allocations": [
                transparency.cell_json(c) for c in transparency.fund_allocations(session, threshold)
            ],
        }


@router.get("/reports/annual", response_model=None)
def annual_report(
    base_currency: str | None = Query(None, min_length=3, max_length=3),
    format: str = Query("json", pattern="^(json|csv|xlsx)$"),  # noqa: A002 - the query name
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any] | Response:
    """Assets frozen, seized, confiscated and disposed per year, agency and category, with
    values (in `base_currency` at each event's rate when given); `format=csv` or `xlsx`
    downloads it (the XLSX adds the self-funding table and notes)."""
    with session.begin():
        rows = reports.annual_report(session, principal, base_currency=base_currency)
        funding = reports.self_funding(session, principal)
        projects = social_reuse.list_projects(session, principal)
        timing = reports.time_to_disposal(session, principal)
        returned = reports.returns(session, principal)
        offences = reports.by_offence(session, principal)
    if format == "xlsx":
        return Response(
            reports.to_xlsx(
                rows,
                funding,
                base_currency=base_currency,
                prepared_for=principal.username,
                projects=projects,
                timing=timing,
                returned=returned,
                offences=offences,
            ),
            media_type=XLSX_TYPE,
            headers={"Content-Disposition": 'attachment; filename="asset-report.xlsx"'},
        )
    if format == "csv":
        return Response(
            reports.to_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="asset-report.csv"'},
        )
    return {
        "rows": [
            {
                "year": r.year,
                "agency": r.agency,
                "category": r.category,
                "stage": r.stage,
                "count": r.count,
                "value": [m.to_json() for m in r.value],
            }
            for r in rows
        ],
        "self_funding": [
            {
                "currency": f.currency,
                "costs": f.costs.to_json(),
                "proceeds": f.proceeds.to_json(),
                "ratio": str(f.ratio) if f.ratio is not None else None,
            }
            for f in funding
        ],
        "social_reuse_projects": projects,
        "time_to_disposal": [
            {
                "year": t.year,
                "category": t.category,
                "count": t.count,
                "median_days": str(t.median_days),
                "max_days": t.max_days,
            }
            for t in timing
        ],
        "returns": [
            {
                "year": r.year,
                "disposal": r.disposal,
                "count": r.count,
                "realised": [m.to_json() for m in r.realised],
            }
            for r in returned
        ],
        "by_offence": [
            {"year": o.year, "iccs_section": o.iccs_section, "stage": o.stage, "count": o.count}
            for o in offences
        ],
    }


@router.get("/import/template", response_model=None)
def import_template(
    format: str = Query("xlsx", pattern="^(xlsx|csv)$"),  # noqa: A002 - the query name
    table: str = Query("cases", pattern="^(cases|assets)$", description="CSV only"),
    principal: Principal = Depends(current_principal),
) -> Response:
    """The bulk-import template: an XLSX workbook (cases and assets sheets) or one CSV table."""
    del principal
    if format == "csv":
        return Response(
            bulk_import.template_csv(table),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{table}-import.csv"'},
        )
    return Response(
        bulk_import.template_xlsx(),
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": 'attachment; filename="assets-import.xlsx"'},
    )


@router.post("/import", status_code=201)
def import_upload(
    file: UploadFile = File(..., description="CSV or XLSX made from the import template"),
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Import cases and assets, all or nothing: 422 lists every bad row, column and value."""
    content = file.file.read(bulk_import.MAX_BYTES + 1)
    with session.begin():
        result = bulk_import.import_file(session, principal, file.filename or "upload", content)
        return result.as_dict()


def export_json(session: Session, principal: Principal) -> dict[str, Any]:
    """Every case the principal may see, with its assets in full, and the fund's entries."""
    everything = cases.list_cases(session, principal, limit=1_000_000)
    exported = []
    for case in everything:
        body = case_json(case, full=True)
        body["assets"] = [asset_json(asset, full=True) for asset in case.assets]
        exported.append(body)
    fund_entries: list[dict[str, Any]] = []
    if principal.has_any(*ledger.FUND_WRITERS, *SEE_ALL):
        fund_entries = [ledger.entry_json(e) for e in ledger.list_entries(session, limit=1_000_000)]
    return {
        "format": "crimeprev-assets-export/1",
        "exported_by": principal.username,
        "cases": exported,
        "fund_entries": fund_entries,
    }


@router.get("/export")
def export(
    principal: Principal = Depends(current_principal), session: Session = Depends(db_session)
) -> dict[str, Any]:
    """Full JSON export of what you may see: cases, assets with timelines, fund entries."""
    with session.begin():
        return export_json(session, principal)


@router.get("/audit/verify")
def audit_verify(
    principal: Principal = Depends(current_principal), session: Session = Depends(db_session)
) -> dict[str, Any]:
    """Recompute the audit chain (auditors and administrators)."""
    require(principal, SEE_ALL, "verifying the audit chain")
    with session.begin():
        result = verify_audit_chain(session)
    return {
        "valid": result.valid,
        "records": result.records,
        "first_bad_sequence": result.first_bad_sequence,
        "problem": result.problem,
    }


@router.get("/admin")
def admin_overview(
    principal: Principal = Depends(current_principal), session: Session = Depends(db_session)
) -> dict[str, Any]:
    """Agencies and users with their roles and API tokens (administrators only)."""
    with session.begin():
        return admin.overview(session, principal)


class AgencyIn(BaseModel):
    """A new agency."""

    code: str = Field(min_length=1, max_length=32, examples=["AMO-IT"])
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=3, max_length=3, description="ISO 3166-1 alpha-3")


@router.post("/admin/agencies", status_code=201)
def admin_create_agency(
    body: AgencyIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Create an agency (administrators only; audited)."""
    with session.begin():
        return admin.agency_json(admin.create_agency(session, principal, **body.model_dump()))


class UserIn(BaseModel):
    """A new user with roles and an agency."""

    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    roles: list[str] = Field(min_length=1, max_length=6, examples=[["investigator"]])
    agency: str = Field(default="", max_length=32)
    full_name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)


@router.post("/admin/users", status_code=201)
def admin_create_user(
    body: UserIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Create a user (administrators only; audited; the password is stored argon2-hashed)."""
    with session.begin():
        user = admin.create_user(session, principal, **body.model_dump())
        return admin.user_json(session, user)


class ActiveIn(BaseModel):
    """Whether the user may sign in and use tokens."""

    active: bool


@router.post("/admin/users/{username}/active")
def admin_set_active(
    username: str,
    body: ActiveIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Deactivate or reactivate a user (administrators only; not yourself)."""
    with session.begin():
        user = admin.set_active(session, principal, username, active=body.active)
        return admin.user_json(session, user)


class RolesIn(BaseModel):
    """The roles a user should hold from now on (replacing the current ones)."""

    roles: list[str] = Field(min_length=1, max_length=6, examples=[["viewer", "auditor"]])


@router.post("/admin/users/{username}/roles")
def admin_set_roles(
    username: str,
    body: RolesIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Replace a user's roles (administrators only; audited)."""
    with session.begin():
        user = admin.set_roles(session, principal, username, body.roles)
        return admin.user_json(session, user)


class TokenIn(BaseModel):
    """A token to issue: what it is for and, optionally, how many days it lasts."""

    name: str = Field(min_length=1, max_length=100)
    days: int | None = Field(default=None, ge=1, le=admin.MAX_TOKEN_DAYS)


@router.post("/admin/users/{username}/tokens", status_code=201)
def admin_issue_token(
    username: str,
    body: TokenIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Issue an API token; the secret is in this answer only (administrators only)."""
    with session.begin():
        issued = admin.issue_token(session, principal, username, name=body.name, days=body.days)
    return {
        "id": issued.id,
        "name": issued.name,
        "secret": issued.secret,
        "expires_at": issued.expires_at.isoformat() if issued.expires_at else None,
    }


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke_token(
    token_id: int,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Revoke an API token (administrators only); requests with it then get 401."""
    with session.begin():
        admin.revoke_token(session, principal, token_id)
    return {"id": token_id, "revoked": True}


class ProjectIn(BaseModel):
    """The social-reuse project an asset (disposed of for reuse) now serves."""

    name: str = Field(min_length=1, max_length=200)
    beneficiary: str = Field(min_length=1, max_length=200, description="organisation using it")
    purpose: str = Field(min_length=1, max_length=5000)
    started_on: IsoDate


@router.post("/items/{asset_id}/projects", status_code=201)
def add_project(
    asset_id: int,
    body: ProjectIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Record the reuse project of an asset disposed of for social or institutional reuse."""
    with session.begin():
        social_reuse.create_project(session, principal, asset_id, **body.model_dump())
        return asset_json(registry.get_asset(session, principal, asset_id), full=True)


class ReportIn(BaseModel):
    """A monitoring report on a reuse project."""

    reported_on: IsoDate
    status: str = Field(max_length=16, examples=list(social_reuse.REPORT_STATUSES))
    finding: str = Field(min_length=1, max_length=5000)


@router.post("/projects/{project_id}/reports", status_code=201)
def add_project_report(
    project_id: int,
    body: ReportIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """File a monitoring report (date, conclusion, finding) on a reuse project."""
    with session.begin():
        social_reuse.add_report(session, principal, project_id, **body.model_dump())
        return social_reuse.project_view(session, principal, project_id)


@router.get("/projects")
def list_projects(
    principal: Principal = Depends(current_principal), session: Session = Depends(db_session)
) -> dict[str, Any]:
    """Social-reuse projects you may see, with their monitoring status and fund allocations."""
    with session.begin():
        return {
            "monitoring_interval_days": social_reuse.MONITORING_INTERVAL_DAYS,
            "projects": social_reuse.list_projects(session, principal),
        }
