"""Pages of the asset recovery registry: dashboard, cases, assets with their timeline,
the fund, pre-seizure planning and the public transparency view.

Each page has a JSON twin in :mod:`crimeprev.web.api.assets`; ``/assets/admin``
(agencies, users, roles, API tokens) is for administrators only. Forms post
back here with the session's CSRF token; a refused step (409), a missing role
(403) or bad input (422) re-renders the page with the message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from crimeprev.assets import (
    admin,
    bulk_import,
    cases,
    cooperation,
    ledger,
    planning,
    registry,
    reports,
    social_reuse,
    transparency,
)
from crimeprev.assets.lifecycle import ConfiscationType, Disposal, State, parse_state
from crimeprev.assets.money import Money
from crimeprev.config import Settings
from crimeprev.db.accounts import Principal
from crimeprev.errors import CrimeprevError, InvalidInputError, NotFoundError
from crimeprev.web.api.assets import asset_json, case_json, fund_json, plan_json
from crimeprev.web.auth import db_session, page_csrf_token, page_principal
from crimeprev.web.deps import get_app_settings
from crimeprev.web.templating import render

router = APIRouter(prefix="/assets", include_in_schema=False)


def _context(request: Request, principal: Principal | None, **values: Any) -> dict[str, Any]:
    return {
        "principal": principal,
        "csrf_token": page_csrf_token(request),
        "states": [s.value for s in State],
        "categories": [c.value for c in registry.Category],
        **values,
    }


def _optional_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(
            f"{field} {value!r} is not a date; use YYYY-MM-DD", field=field
        ) from None


def _money(amount: str, currency: str) -> Money | None:
    return Money.of(amount, currency) if amount.strip() else None


def _act(
    session: Session,
    action: Callable[[], str],
    on_error: Callable[[str, int], HTMLResponse],
) -> Response:
    """Run a form action in one transaction; redirect on success, re-render on refusal."""
    try:
        with session.begin():
            target = action()
    except CrimeprevError as error:
        return on_error(error.message, error.status)
    return RedirectResponse(target, status_code=303)


def _rerender(
    page: Callable[..., HTMLResponse],
    request: Request,
    session: Session,
    principal: Principal,
    *ids: int,
) -> Callable[[str, int], HTMLResponse]:
    """The ``on_error`` of :func:`_act`: the form's own page again, with the refusal.

    ``page`` is one of the ``_*_page`` builders and ``ids`` the record it shows
    (a case or asset id, none for the fund and admin pages).
    """
    return lambda message, status: page(
        request, session, principal, *ids, error=message, status_code=status
    )


@router.get("", response_class=HTMLResponse)
def dashboard(
    request: Request,
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> HTMLResponse:
    """Assets per lifecycle state and the latest cases."""
    with session.begin():
        counts = registry.state_counts(session, principal)
        recent = [case_json(c) for c in cases.list_cases(session, principal, limit=10)]
    return render(
        request, "assets/dashboard.html", _context(request, principal, counts=counts, recent=recent)
    )


def _cases_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    search: str = "",
    offence: str = "",
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    with session.begin():
        try:
            found = [
                case_json(c)
                for c in cases.list_cases(session, principal, search=search, offence=offence)
            ]
        except CrimeprevError as problem:
            found, error, status_code = [], problem.message, problem.status
    return render(
        request,
        "assets/cases.html",
        _context(request, principal, cases=found, search=search, offence=offence, error=error),
        status_code=status_code,
    )


@router.get("/cases", response_class=HTMLResponse)
def list_cases(
    request: Request,
    search: str = Query("", max_length=200),
    offence: str = Query("", max_length=10),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> HTMLResponse:
    """Cases with search and an ICCS filter, and the form to open one."""
    return _cases_page(request, session, principal, search=search, offence=offence)


@router.post("/cases")
def create_case(
    request: Request,
    reference: str = Form(..., max_length=64),
    title: str = Form(..., max_length=200),
    jurisdiction: str = Form(..., max_length=3),
    opened_on: str = Form(..., max_length=10),
    offences: str = Form("", max_length=500),
    description: str = Form("", max_length=5000),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Open a case, then show it."""

    def action() -> str:
        case = cases.create_case(
            session,
            principal,
            reference=reference,
            title=title,
            jurisdiction=jurisdiction,
            opened_on=_optional_date(opened_on, "opened_on"),
            offences=[code for code in offences.replace(";", ",").split(",") if code.strip()],
            description=description,
        )
        return f"/assets/cases/{case.id}"

    return _act(session, action, _rerender(_cases_page, request, session, principal))


def _case_page(
    request: Request,
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    with session.begin():
        case = case_json(cases.get_case(session, principal, case_id), full=True)
    return render(
        request,
        "assets/case.html",
        _context(
            request,
            principal,
            case=case,
            error=error,
            order_kinds=cases.ORDER_KINDS,
            request_kinds=cooperation.REQUEST_KINDS,
        ),
        status_code=status_code,
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request,
    case_id: int,
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> HTMLResponse:
    """A case: its assets, court orders and forms to add to them."""
    return _case_page(request, session, principal, case_id)


@router.post("/cases/{case_id}/assets")
def case_add_asset(
    request: Request,
    case_id: int,
    reference: str = Form(..., max_length=64),
    category: str = Form(..., max_length=32),
    description: str = Form(..., max_length=5000),
    country: str = Form(..., max_length=3),
    identified_on: str = Form(..., max_length=10),
    identifier: str = Form("", max_length=200),
    identifier_type: str = Form("", max_length=64),
    location: str = Form("", max_length=200),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Register an asset in the case, then show it."""

    def action() -> str:
        asset = registry.create_asset(
            session,
            principal,
            case_id,
            reference=reference,
            category=category,
            description=description,
            country=country,
            identified_on=_optional_date(identified_on, "identified_on"),
            identifier=identifier,
            identifier_type=identifier_type,
            location=location,
        )
        return f"/assets/items/{asset.id}"

    return _act(session, action, _rerender(_case_page, request, session, principal, case_id))


@router.post("/cases/{case_id}/orders")
def case_add_order(
    request: Request,
    case_id: int,
    reference: str = Form(..., max_length=100),
    kind: str = Form(..., max_length=32),
    authority: str = Form(..., max_length=200),
    issued_on: str = Form(..., max_length=10),
    legal_basis: str = Form("", max_length=300),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Record a court order in the case."""

    def action() -> str:
        cases.add_court_order(
            session,
            principal,
            case_id,
            reference=reference,
            kind=kind,
            authority=authority,
            issued_on=_optional_date(issued_on, "issued_on"),
            legal_basis=legal_basis,
        )
        return f"/assets/cases/{case_id}"

    return _act(session, action, _rerender(_case_page, request, session, principal, case_id))


@router.post("/cases/{case_id}/requests")
def case_add_request(
    request: Request,
    case_id: int,
    reference: str = Form(..., max_length=100),
    direction: str = Form(..., max_length=8),
    kind: str = Form(..., max_length=32),
    counterpart_state: str = Form(..., max_length=3),
    sent_on: str = Form(..., max_length=10),
    legal_basis: str = Form("", max_length=300),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Record an international cooperation request in the case."""

    def action() -> str:
        cooperation.add_request(
            session,
            principal,
            case_id,
            direction=direction,
            kind=kind,
            counterpart_state=counterpart_state,
            reference=reference,
            sent_on=_optional_date(sent_on, "sent_on"),
            legal_basis=legal_basis,
        )
        return f"/assets/cases/{case_id}"

    return _act(session, action, _rerender(_case_page, request, session, principal, case_id))


def _import_page(
    request: Request,
    principal: Principal,
    *,
    issues: list[dict[str, Any]] | None = None,
    message: str = "",
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context = _context(
        request,
        principal,
        columns=bulk_import.COLUMNS,
        issues=issues or [],
        message=message,
        error=error,
    )
    return render(request, "assets/import.html", context, status_code=status_code)


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, principal: Principal = Depends(page_principal)) -> HTMLResponse:
    """Bulk import of cases and assets: the templates to download and the upload form."""
    return _import_page(request, principal)


@router.post("/import", response_class=HTMLResponse)
def import_upload(
    request: Request,
    file: UploadFile = File(...),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Import a file all or nothing; on problems, list every one next to the form."""
    content = file.file.read(bulk_import.MAX_BYTES + 1)
    name = file.filename or "upload"
    try:
        with session.begin():
            result = bulk_import.import_file(session, principal, name, content)
    except bulk_import.ImportRowsError as problem:
        return _import_page(
            request,
            principal,
            issues=[issue.as_dict() for issue in problem.issues],
            error=f"{name}: {len(problem.issues)} problem(s); nothing was imported.",
            status_code=problem.status,
        )
    except CrimeprevError as problem:
        return _import_page(request, principal, error=problem.message, status_code=problem.status)
    return _import_page(
        request,
        principal,
        message=f"Imported {len(result.cases)} cases and {len(result.assets)} assets from {name}.",
    )


@router.get("/items", response_class=HTMLResponse)
def list_assets(
    request: Request,
    state: str = Query("", max_length=32),
    category: str = Query("", max_length=32),
    search: str = Query("", max_length=200),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> HTMLResponse:
    """Assets with filters by state, category and text."""
    error, status_code = "", 200
    with session.begin():
        try:
            found = [
                asset_json(a)
                for a in registry.list_assets(
                    session, principal, state=state, category=category, search=search
                )
            ]
        except CrimeprevError as problem:
            found, error, status_code = [], problem.message, problem.status
    context = _context(
        request,
        principal,
        assets=found,
        state=state,
        category=category,
        search=search,
        error=error,
    )
    return render(request, "assets/items.html", context, status_code=status_code)


def _asset_page(
    request: Request,
    session: Session,
    principal: Principal,
    asset_id: int,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    with session.begin():
        asset = asset_json(registry.get_asset(session, principal, asset_id), full=True)
    context = _context(
        request,
        principal,
        asset=asset,
        error=error,
        disposals=[d.value for d in Disposal],
        confiscation_types=[c.value for c in ConfiscationType],
        valuation_methods=registry.VALUATION_METHODS,
        cost_kinds=registry.COST_KINDS,
        party_roles=registry.PARTY_ROLES,
        report_statuses=social_reuse.REPORT_STATUSES,
        reuse_disposals=social_reuse.REUSE_DISPOSALS,
    )
    return render(request, "assets/item.html", context, status_code=status_code)


@router.get("/items/{asset_id}", response_class=HTMLResponse)
def asset_page(
    request: Request,
    asset_id: int,
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> HTMLResponse:
    """An asset: description, lifecycle timeline, parties, values, costs and forms."""
    return _asset_page(request, session, principal, asset_id)


@router.post("/items/{asset_id}/transitions")
def asset_transition(
    request: Request,
    asset_id: int,
    to_state: str = Form(..., max_length=32),
    occurred_on: str = Form(..., max_length=10),
    expected_version: int = Form(...),
    legal_basis: str = Form("", max_length=300),
    court_order: str = Form("", max_length=100),
    confiscation_type: str = Form("", max_length=32),
    confiscation_basis: str = Form("", max_length=32),
    owner_consent: str = Form("", max_length=5),
    disposal: str = Form("", max_length=40),
    realised_amount: str = Form("", max_length=40),
    realised_currency: str = Form("EUR", max_length=3),
    note: str = Form("", max_length=2000),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Take a lifecycle step; refusals re-render the page with the reason."""

    def action() -> str:
        request_ = registry.TransitionRequest(
            to_state=parse_state(to_state),
            occurred_on=_optional_date(occurred_on, "occurred_on"),
            legal_basis=legal_basis,
            court_order=court_order,
            expected_version=expected_version,
            confiscation_type=confiscation_type,
            confiscation_basis=confiscation_basis,
            owner_consent={"yes": True, "no": False}.get(owner_consent),
            disposal=disposal,
            realised=_money(realised_amount, realised_currency),
            note=note,
        )
        registry.transition_asset(session, principal, asset_id, request_)
        return f"/assets/items/{asset_id}"

    return _act(session, action, _rerender(_asset_page, request, session, principal, asset_id))


@router.post("/items/{asset_id}/valuations")
def asset_valuation(
    request: Request,
    asset_id: int,
    valued_on: str = Form(..., max_length=10),
    amount: str = Form(..., max_length=40),
    currency: str = Form(..., max_length=3),
    method: str = Form(..., max_length=32),
    valuer: str = Form("", max_length=200),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Record a valuation."""

    def action() -> str:
        registry.add_valuation(
            session,
            principal,
            asset_id,
            valued_on=_optional_date(valued_on, "valued_on"),
            amount=Money.of(amount, currency),
            method=method,
            valuer=valuer,
        )
        return f"/assets/items/{asset_id}"

    return _act(session, action, _rerender(_asset_page, request, session, principal, asset_id))


@router.post("/items/{asset_id}/costs")
def asset_cost(
    request: Request,
    asset_id: int,
    incurred_on: str = Form(..., max_length=10),
    amount: str = Form(..., max_length=40),
    currency: str = Form(..., max_length=3),
    kind: str = Form(..., max_length=32),
    description: str = Form("", max_length=2000),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Record a management cost."""

    def action() -> str:
        registry.add_cost(
            session,
            principal,
            asset_id,
            incurred_on=_optional_date(incurred_on, "incurred_on"),
            amount=Money.of(amount, currency),
            kind=kind,
            description=description,
        )
        return f"/assets/items/{asset_id}"

    return _act(session, action, _rerender(_asset_page, request, session, principal, asset_id))


@router.post("/items/{asset_id}/parties")
def asset_party(
    request: Request,
    asset_id: int,
    name: str = Form(..., max_length=200),
    role: str = Form(..., max_length=32),
    claim: str = Form("", max_length=2000),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Link a party to the asset."""

    def action() -> str:
        registry.add_party(session, principal, asset_id, name=name, role=role, claim=claim)
        return f"/assets/items/{asset_id}"

    return _act(session, action, _rerender(_asset_page, request, session, principal, asset_id))


@router.post("/items/{asset_id}/projects")
def asset_project(
    request: Request,
    asset_id: int,
    name: str = Form(..., max_length=200),
    beneficiary: str = Form(..., max_length=200),
    purpose: str = Form(..., max_length=5000),
    started_on: str = Form(..., max_length=10),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Record the social-reuse project the asset now serves."""

    def action() -> str:
        social_reuse.create_project(
            session,
            principal,
            asset_id,
            name=name,
            beneficiary=beneficiary,
            purpose=purpose,
            started_on=_optional_date(started_on, "started_on"),
        )
        return f"/assets/items/{asset_id}"

    return _act(session, action, _rerender(_asset_page, request, session, principal, asset_id))


@router.post("/items/{asset_id}/projects/{project_id}/reports")
def asset_project_report(
    request: Request,
    asset_id: int,
    project_id: int,
    reported_on: str = Form(..., max_length=10),
    status: str = Form(..., max_length=16),
    finding: str = Form(..., max_length=5000),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """File a monitoring report on one of the asset's reuse projects."""

    def action() -> str:
        project = social_reuse.get_project(session, principal, project_id)
        if project.asset_id != asset_id:
            raise NotFoundError(f"asset {asset_id} has no reuse project {project_id}")
        social_reuse.add_report(
            session,
            principal,
            project_id,
            reported_on=_optional_date(reported_on, "reported_on"),
            status=status,
            finding=finding,
        )
        return f"/assets/items/{asset_id}"

    return _act(session, action, _rerender(_asset_page, request, session, principal, asset_id))


def _fund_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    with session.begin():
        fund = fund_json(session, principal)
    context = _context(
        request, principal, fund=fund, error=error, purposes=list(ledger.ALLOCATIONS)
    )
    return render(request, "assets/fund.html", context, status_code=status_code)


@router.get("/fund", response_class=HTMLResponse)
def fund(
    request: Request,
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> HTMLResponse:
    """The fund ledger: balances, reconciliation and entries."""
    return _fund_page(request, session, principal)


@router.post("/fund/allocations")
def fund_allocation(
    request: Request,
    amount: str = Form(..., max_length=40),
    currency: str = Form(..., max_length=3),
    purpose: str = Form(..., max_length=32),
    posted_on: str = Form(..., max_length=10),
    description: str = Form(..., max_length=300),
    project: str = Form("", max_length=200),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Allocate money from the fund."""

    def action() -> str:
        ledger.allocate(
            session,
            principal,
            amount=Money.of(amount, currency),
            purpose=purpose,
            posted_on=_optional_date(posted_on, "posted_on"),
            description=description,
            project=project,
        )
        return "/assets/fund"

    return _act(session, action, _rerender(_fund_page, request, session, principal))


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    base_currency: str = Query("", max_length=3),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> HTMLResponse:
    """Assets per year, agency, category and stage, with values and the self-funding ratio."""
    error, status_code, rows, funding = "", 200, [], []
    with session.begin():
        try:
            rows = reports.annual_report(
                session, principal, base_currency=base_currency.strip() or None
            )
            funding = reports.self_funding(session, principal)
        except CrimeprevError as problem:
            error, status_code = problem.message, problem.status
        projects = social_reuse.list_projects(session, principal)
        timing = reports.time_to_disposal(session, principal)
        returned = reports.returns(session, principal)
        offences = reports.by_offence(session, principal)
    context = _context(
        request,
        principal,
        rows=rows,
        funding=funding,
        base_currency=base_currency,
        error=error,
        charts=reports.charts(rows) if rows else [],
        projects=projects,
        monitoring_days=social_reuse.MONITORING_INTERVAL_DAYS,
        timing=timing,
        returned=returned,
        offences=offences,
    )
    return render(request, "assets/reports.html", context, status_code=status_code)


@router.get("/planning", response_class=HTMLResponse)
def planning_page(
    request: Request,
    value: str = Query("", max_length=40),
    currency: str = Query("EUR", max_length=3),
    annual_depreciation: str = Query("0.15", max_length=10),
    monthly_cost: str = Query("", max_length=40),
    months_to_judgment: int = Query(24, gt=0, le=600),
    sale_cost_rate: str = Query("0.10", max_length=10),
    dissipation_risk: str = Query("0.25", max_length=10),
) -> HTMLResponse:
    """Pre-seizure planning: compare seizing, freezing with restrictions and selling early."""
    result, error = None, ""
    form = {
        "value": value,
        "currency": currency,
        "annual_depreciation": annual_depreciation,
        "monthly_cost": monthly_cost,
        "months_to_judgment": months_to_judgment,
        "sale_cost_rate": sale_cost_rate,
        "dissipation_risk": dissipation_risk,
    }
    if value.strip() and monthly_cost.strip():
        try:
            result = plan_json(
                planning.plan_seizure(
                    value=Money.of(value, currency),
                    annual_depreciation=Decimal(annual_depreciation),
                    monthly_cost=Money.of(monthly_cost, currency),
                    months_to_judgment=months_to_judgment,
                    sale_cost_rate=Decimal(sale_cost_rate),
                    dissipation_risk=Decimal(dissipation_risk),
                )
            )
        except CrimeprevError as problem:
            error = problem.message
        except ArithmeticError:
            error = "rates must be decimal numbers between 0 and 1, e.g. 0.15"
    context = _context(request, None, form=form, result=result, error=error)
    return render(request, "assets/planning.html", context)


@router.get("/transparency", response_class=HTMLResponse)
def transparency_page(
    request: Request,
    session: Session = Depends(db_session),
    settings: Settings = Depends(get_app_settings),
) -> HTMLResponse:
    """Public aggregates with small counts suppressed."""
    threshold = settings.small_count_threshold
    with session.begin():
        flows = [transparency.cell_json(c) for c in transparency.asset_flows(session, threshold)]
        allocations = [
            transparency.cell_json(c) for c in transparency.fund_allocations(session, threshold)
        ]
    context = _context(request, None, flows=flows, allocations=allocations, threshold=threshold)
    return render(request, "assets/transparency.html", context)


def _admin_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    error: str = "",
    issued: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with session.begin():
        body = admin.overview(session, principal)
    context = _context(request, principal, admin=body, error=error, issued=issued)
    return render(request, "assets/admin.html", context, status_code=status_code)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(
    request: Request,
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> HTMLResponse:
    """Agencies, users, roles and API tokens, with the forms to change them (administrators)."""
    return _admin_page(request, session, principal)


@router.post("/admin/agencies")
def admin_create_agency(
    request: Request,
    code: str = Form(..., max_length=32),
    name: str = Form(..., max_length=200),
    country: str = Form(..., max_length=3),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Create an agency."""

    def action() -> str:
        admin.create_agency(session, principal, code=code, name=name, country=country)
        return "/assets/admin"

    return _act(session, action, _rerender(_admin_page, request, session, principal))


@router.post("/admin/users")
def admin_create_user(
    request: Request,
    username: str = Form(..., max_length=64),
    password: str = Form(..., max_length=1024),
    roles: list[str] = Form([]),
    agency: str = Form("", max_length=32),
    full_name: str = Form("", max_length=200),
    email: str = Form("", max_length=254),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Create a user with roles and an agency."""

    def action() -> str:
        admin.create_user(
            session,
            principal,
            username=username,
            password=password,
            roles=roles,
            agency=agency,
            full_name=full_name,
            email=email,
        )
        return "/assets/admin"

    return _act(session, action, _rerender(_admin_page, request, session, principal))


@router.post("/admin/users/{username}/active")
def admin_set_active(
    request: Request,
    username: str,
    active: str = Form(..., pattern="^(yes|no)$"),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Deactivate or reactivate a user."""

    def action() -> str:
        admin.set_active(session, principal, username, active=active == "yes")
        return "/assets/admin"

    return _act(session, action, _rerender(_admin_page, request, session, principal))


@router.post("/admin/users/{username}/roles")
def admin_set_roles(
    request: Request,
    username: str,
    roles: list[str] = Form([]),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Replace a user's roles."""

    def action() -> str:
        admin.set_roles(session, principal, username, roles)
        return "/assets/admin"

    return _act(session, action, _rerender(_admin_page, request, session, principal))


@router.post("/admin/users/{username}/tokens", response_class=HTMLResponse)
def admin_issue_token(
    request: Request,
    username: str,
    name: str = Form(..., max_length=100),
    days: str = Form("", max_length=12),
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> HTMLResponse:
    """Issue an API token and show its secret once."""
    try:
        with session.begin():
            if days.strip() and not days.strip().isdigit():
                raise InvalidInputError(f"days {days!r} is not a whole number of days")
            issued = admin.issue_token(
                session, principal, username, name=name, days=int(days) if days.strip() else None
            )
    except CrimeprevError as problem:
        return _admin_page(
            request, session, principal, error=problem.message, status_code=problem.status
        )
    shown = {"username": username, "name": issued.name, "secret": issued.secret}
    return _admin_page(request, session, principal, issued=shown)


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke_token(
    request: Request,
    token_id: int,
    principal: Principal = Depends(page_principal),
    session: Session = Depends(db_session),
) -> Response:
    """Revoke an API token."""

    def action() -> str:
        admin.revoke_token(session, principal, token_id)
        return "/assets/admin"

    return _act(session, action, _rerender(_admin_page, request, session, principal))
