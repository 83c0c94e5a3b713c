"""Social reuse of confiscated assets: the project an asset serves, and its monitoring.

Giving a confiscated house to a cooperative or a car to a school is a
disposal (``disposed`` with disposal ``social_reuse`` or
``institutional_reuse``), but the registry's job does not end there: the
State must be able to show that the asset still serves the purpose it was
given for. A :class:`~crimeprev.assets.models.SocialReuseProject` names the
beneficiary organisation, the purpose and the start date; periodic
monitoring reports record the date, a conclusion (:data:`REPORT_STATUSES`)
and what was found. A project whose last report (or start, if none) is older
than :data:`MONITORING_INTERVAL_DAYS` is flagged as overdue.

Fund allocations to a project (purpose ``social_reuse``) carry the project's
name, so the project's funding is read from the ledger, not copied.

Projects are seen by whoever sees the asset's case; asset managers (and
administrators) create them and file reports. Every write is audited.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crimeprev.assets.access import VALUE_WRITERS, require, visible_cases
from crimeprev.assets.cases import check_past_date
from crimeprev.assets.ledger import Account
from crimeprev.assets.lifecycle import Disposal, State
from crimeprev.assets.models import (
    Asset,
    Case,
    LedgerEntry,
    LedgerPosting,
    SocialReuseProject,
    SocialReuseReport,
)
from crimeprev.assets.money import Money
from crimeprev.assets.registry import get_asset
from crimeprev.db.accounts import Principal
from crimeprev.db.audit import record_audit
from crimeprev.db.base import utcnow
from crimeprev.errors import ConflictError, InvalidInputError, NotFoundError

#: Conclusions a monitoring report may reach.
REPORT_STATUSES = ("on_track", "concerns", "breach", "completed", "withdrawn")
#: Disposals that hand an asset to a reuse project.
REUSE_DISPOSALS = frozenset({Disposal.SOCIAL_REUSE.value, Disposal.INSTITUTIONAL_REUSE.value})
#: A project is overdue for monitoring when its last report is older than this.
MONITORING_INTERVAL_DAYS = 365


def create_project(
    session: Session,
    principal: Principal,
    asset_id: int,
    *,
    name: str,
    beneficiary: str,
    purpose: str,
    started_on: date,
) -> SocialReuseProject:
    """Record the reuse project of an asset disposed of for social or institutional reuse.

    Raises
    ------
    ConflictError
        If the asset was not disposed of for reuse (names its state and disposal),
        or a project with this name exists.
    InvalidInputError
        For a missing name, beneficiary or purpose, or a future start date.
    """
    require(principal, VALUE_WRITERS, "recording a social-reuse project")
    asset = get_asset(session, principal, asset_id)
    if asset.state != State.DISPOSED.value or asset.disposal not in REUSE_DISPOSALS:
        raise ConflictError(
            f"asset {asset.reference} is {asset.state}"
            + (f" ({asset.disposal})" if asset.disposal else "")
            + "; a reuse project needs an asset disposed of for "
            + " or ".join(sorted(REUSE_DISPOSALS))
        )
    fields = {"name": name, "beneficiary": beneficiary, "purpose": purpose}
    for field, value in fields.items():
        if not value.strip():
            raise InvalidInputError(f"a reuse project needs its {field}", field=field)
    if len(name.strip()) > 200 or len(beneficiary.strip()) > 200:
        raise InvalidInputError("name and beneficiary are limited to 200 characters")
    if session.execute(
        select(SocialReuseProject.id).where(SocialReuseProject.name == name.strip())
    ).first():
        raise ConflictError(f"a reuse project named {name.strip()!r} exists")
    project = SocialReuseProject(
        asset_id=asset.id,
        name=name.strip(),
        beneficiary=beneficiary.strip(),
        purpose=purpose.strip(),
        started_on=check_past_date(started_on, "started_on"),
        actor=principal.username,
        created_at=utcnow(),
    )
    session.add(project)
    session.flush()
    record_audit(
        session, principal, "create", "reuse_project", project.id, None, project_snapshot(project)
    )
    return project


def get_project(session: Session, principal: Principal, project_id: int) -> SocialReuseProject:
    """Return a project whose asset the principal may see, or raise :class:`NotFoundError`."""
    project = session.get(SocialReuseProject, project_id)
    if project is None:
        raise NotFoundError(f"no reuse project with id {project_id}")
    get_asset(session, principal, project.asset_id)
    return project


def add_report(
    session: Session,
    principal: Principal,
    project_id: int,
    *,
    reported_on: date,
    status: str,
    finding: str,
) -> SocialReuseReport:
    """File a monitoring report on a project (audited).

    Raises
    ------
    InvalidInputError
        For an unknown status, an empty finding, or a date in the future or
        before the project started.
    ConflictError
        If the project was already closed by a ``completed`` or ``withdrawn`` report.
    """
    require(principal, VALUE_WRITERS, "filing a monitoring report")
    project = get_project(session, principal, project_id)
    code = status.strip().lower().replace(" ", "_").replace("-", "_")
    if code not in REPORT_STATUSES:
        raise InvalidInputError(
            f"status {status!r} is unknown; expected one of {', '.join(REPORT_STATUSES)}",
            field="status",
        )
    if not finding.strip():
        raise InvalidInputError("say what the monitoring found", field="finding")
    check_past_date(reported_on, "reported_on")
    if reported_on < project.started_on:
        raise InvalidInputError(
            f"reported_on {reported_on.isoformat()} is before the project started on "
            f"{project.started_on.isoformat()}",
            field="reported_on",
        )
    closing = [r for r in project.reports if r.status in {"completed", "withdrawn"}]
    if closing:
        raise ConflictError(
            f"project {project.name!r} was closed ({closing[-1].status}) on "
            f"{closing[-1].reported_on.isoformat()}; no further reports"
        )
    report = SocialReuseReport(
        project_id=project.id,
        reported_on=reported_on,
        status=code,
        finding=finding.strip(),
        actor=principal.username,
        recorded_at=utcnow(),
    )
    project.reports.append(report)
    session.flush()
    record_audit(
        session,
        principal,
        "create",
        "reuse_report",
        report.id,
        None,
        {
            "project_id": project.id,
            "reported_on": reported_on.isoformat(),
            "status": code,
            "finding": report.finding,
        },
    )
    return report


def project_snapshot(project: SocialReuseProject) -> dict[str, Any]:
    """The project's own fields as JSON-ready data (audit records)."""
    return {
        "id": project.id,
        "asset_id": project.asset_id,
        "name": project.name,
        "beneficiary": project.beneficiary,
        "purpose": project.purpose,
        "started_on": project.started_on.isoformat(),
    }


@dataclass(frozen=True)
class Monitoring:
    """Where a project's monitoring stands on a day."""

    last_report_on: date | None
    status: str
    overdue: bool


def monitoring(project: SocialReuseProject, today: date) -> Monitoring:
    """The latest conclusion, and whether a report is overdue (closed projects never are).

    Examples
    --------
    >>> project = SocialReuseProject(started_on=date(2024, 1, 1), reports=[])
    >>> monitoring(project, date(2025, 6, 1))
    Monitoring(last_report_on=None, status='not_yet_reported', overdue=True)
    >>> project.reports.append(SocialReuseReport(reported_on=date(2025, 3, 1), status="concerns"))
    >>> monitoring(project, date(2025, 6, 1)).overdue
    False
    """
    last = project.reports[-1] if project.reports else None
    status = last.status if last else "not_yet_reported"
    since = last.reported_on if last else project.started_on
    closed = status in {"completed", "withdrawn"}
    overdue = not closed and (today - since).days > MONITORING_INTERVAL_DAYS
    return Monitoring(last.reported_on if last else None, status, overdue)


def _allocated(session: Session, names: list[str]) -> dict[str, list[Money]]:
    """Fund allocations to each named project, per currency (from the ledger)."""
    if not names:
        return {}
    rows = session.execute(
        select(LedgerEntry.project, LedgerPosting.currency, LedgerPosting.amount_minor)
        .join(LedgerPosting, LedgerPosting.entry_id == LedgerEntry.id)
        .where(
            LedgerEntry.project.in_(names),
            LedgerPosting.account == Account.ALLOCATION_SOCIAL_REUSE.value,
        )
    ).all()
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for name, currency, minor in rows:
        totals[name][currency] += int(minor)
    return {
        name: [Money.from_minor(minor, c) for c, minor in sorted(by_currency.items())]
        for name, by_currency in totals.items()
    }


def project_json(
    project: SocialReuseProject,
    *,
    today: date,
    allocated: list[Money] | None = None,
    asset: Asset | None = None,
) -> dict[str, Any]:
    """A project with its reports, monitoring status and funding, as JSON-ready data."""
    state = monitoring(project, today)
    body = project_snapshot(project)
    if asset is not None:
        body["asset"] = asset.reference
        body["agency"] = asset.case.agency.code if asset.case and asset.case.agency else None
    return body | {
        "status": state.status,
        "last_report_on": state.last_report_on.isoformat() if state.last_report_on else None,
        "monitoring_overdue": state.overdue,
        "allocated": [m.to_json() for m in allocated or []],
        "reports": [
            {
                "reported_on": r.reported_on.isoformat(),
                "status": r.status,
                "finding": r.finding,
                "actor": r.actor,
            }
            for r in project.reports
        ],
    }


def asset_projects(session: Session, asset: Asset) -> list[dict[str, Any]]:
    """The reuse projects of one (already visible) asset, as JSON-ready data."""
    funding = _allocated(session, [p.name for p in asset.reuse_projects])
    today = utcnow().date()
    return [
        project_json(p, today=today, allocated=funding.get(p.name)) for p in asset.reuse_projects
    ]


def list_projects(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Every reuse project the principal may see (by the asset's case), oldest first."""
    rows = session.execute(
        select(SocialReuseProject, Asset)
        .join(Asset, Asset.id == SocialReuseProject.asset_id)
        .join(Case, Case.id == Asset.case_id)
        .where(visible_cases(principal))
        .order_by(SocialReuseProject.started_on, SocialReuseProject.id)
    ).all()
    funding = _allocated(session, [project.name for project, _ in rows])
    today = utcnow().date()
    return [
        project_json(project, today=today, allocated=funding.get(project.name), asset=asset)
        for project, asset in rows
    ]


def project_view(session: Session, principal: Principal, project_id: int) -> dict[str, Any]:
    """One visible project with its asset, reports, monitoring status and funding."""
    project = get_project(session, principal, project_id)
    asset = get_asset(session, principal, project.asset_id)
    funding = _allocated(session, [project.name])
    return project_json(
        project, today=utcnow().date(), allocated=funding.get(project.name), asset=asset
    )
