"""Social-reuse projects and their monitoring: rules, audit, funding from the ledger, and the
faces (API, CLI, asset page, reports page and XLSX). Both databases."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from crimeprev.assets import cases, ledger, registry, social_reuse
from crimeprev.assets.lifecycle import State
from crimeprev.assets.money import Money
from crimeprev.cli.main import app
from crimeprev.db import accounts as acc
from crimeprev.db.models import AuditRecord
from crimeprev.errors import ConflictError, InvalidInputError, PermissionDeniedError

PASSWORD = "correct horse battery"  # as in conftest.py


def _walk(session, admin, asset_id, disposal):
    for state, day, extra in (
        (State.SEIZED, date(2024, 1, 5), {}),
        (State.CONFISCATED, date(2024, 3, 1), {"confiscation_type": "object_based"}),
        (State.DISPOSED, date(2024, 4, 1), {"disposal": disposal}),
    ):
        registry.transition_asset(
            session,
            admin,
            asset_id,
            registry.TransitionRequest(state, day, court_order="ORD-9", **extra),
        )


@pytest.fixture
def reused(database, people):
    """A fictional villa disposed of for social reuse and a car destroyed, in an AMO case."""
    admin = people["admin"]
    with database.transaction() as session:
        case = cases.create_case(
            session,
            admin,
            reference="AR-S",
            title="Fictional",
            jurisdiction="ITA",
            opened_on=date(2024, 1, 1),
            agency_code="AMO",
        )
        made = {}
        for reference, category, disposal in (
            ("S-VILLA", "real_estate", "social_reuse"),
            ("S-CAR", "vehicle", "destroyed"),
        ):
            asset = registry.create_asset(
                session,
                admin,
                case.id,
                reference=reference,
                category=category,
                description="Fictional",
                country="ITA",
                identified_on=date(2024, 1, 2),
            )
            _walk(session, admin, asset.id, disposal)
            made[reference] = asset.id
    return made


def test_project_rules_monitoring_and_funding(database, people, reused):
    manager = people["manager"]
    with (
        database.transaction() as session,
        pytest.raises(ConflictError, match=r"S-CAR is disposed \(destroyed\)"),
    ):
        social_reuse.create_project(
            session,
            manager,
            reused["S-CAR"],
            name="x",
            beneficiary="y",
            purpose="z",
            started_on=date(2024, 5, 1),
        )
    with database.transaction() as session, pytest.raises(PermissionDeniedError):
        social_reuse.create_project(
            session,
            people["investigator"],
            reused["S-VILLA"],
            name="x",
            beneficiary="y",
            purpose="z",
            started_on=date(2024, 5, 1),
        )
    with database.transaction() as session:
        project = social_reuse.create_project(
            session,
            manager,
            reused["S-VILLA"],
            name="Villa Libera youth centre",
            beneficiary="Fictional cooperative",
            purpose="After-school centre for local youth",
            started_on=date(2024, 5, 1),
        )
        project_id = project.id
        ledger.record_receipt(
            session,
            manager,
            amount=Money.of("50000", "EUR"),
            source="sale",
            posted_on=date(2024, 4, 2),
            description="Fictional sale",
        )
        for amount in ("12000", "3000.50"):
            ledger.allocate(
                session,
                manager,
                amount=Money.of(amount, "EUR"),
                purpose="social_reuse",
                posted_on=date(2024, 6, 1),
                description="Refurbishment",
                project="Villa Libera youth centre",
            )
    with database.transaction() as session:
        view = social_reuse.project_view(session, people["viewer"], project_id)
        assert view["status"] == "not_yet_reported" and view["monitoring_overdue"]  # > 1 year
        assert view["allocated"] == [{"amount": "15000.50", "currency": "EUR"}]
        assert view["asset"] == "S-VILLA" and view["agency"] == "AMO"
        with pytest.raises(InvalidInputError, match="before the project started"):
            social_reuse.add_report(
                session,
                manager,
                project_id,
                reported_on=date(2024, 4, 1),
                status="on_track",
                finding="x",
            )
        with pytest.raises(InvalidInputError, match="status 'fine' is unknown"):
            social_reuse.add_report(
                session,
                manager,
                project_id,
                reported_on=date(2024, 9, 1),
                status="fine",
                finding="x",
            )
    recent = date.today() - timedelta(days=30)
    with database.transaction() as session:
        social_reuse.add_report(
            session,
            manager,
            project_id,
            reported_on=date(2024, 11, 1),
            status="concerns",
            finding="Rooms used as storage",
        )
        social_reuse.add_report(
            session, manager, project_id, reported_on=recent, status="on-track", finding="In use"
        )
    with database.transaction() as session:
        view = social_reuse.project_view(session, people["manager"], project_id)
        assert [r["status"] for r in view["reports"]] == ["concerns", "on_track"]
        assert view["status"] == "on_track" and not view["monitoring_overdue"]
        assert view["last_report_on"] == recent.isoformat()
        social_reuse.add_report(
            session, manager, project_id, reported_on=recent, status="completed", finding="Ended"
        )
    with database.transaction() as session, pytest.raises(ConflictError, match="was closed"):
        social_reuse.add_report(
            session, manager, project_id, reported_on=recent, status="breach", finding="x"
        )
    with database.transaction() as session:
        assert social_reuse.list_projects(session, people["other"]) == []  # POL sees no AMO case
        audited = session.execute(
            select(AuditRecord.entity, AuditRecord.actor).where(
                AuditRecord.entity.in_(["reuse_project", "reuse_report"])
            )
        ).all()
        assert sorted(audited) == [("reuse_project", "manager")] + [("reuse_report", "manager")] * 3


def test_api_cli_and_pages(registry_client, database, people, reused, monkeypatch, tmp_path):
    with database.transaction() as session:
        token = acc.create_api_token(session, acc.SYSTEM, "manager", name="t").secret
    headers = {"Authorization": f"Bearer {token}"}
    villa = reused["S-VILLA"]
    made = registry_client.post(
        f"/api/assets/items/{villa}/projects",
        headers=headers,
        json={
            "name": "Orto sociale",
            "beneficiary": "Fictional association",
            "purpose": "Community garden",
            "started_on": "2024-06-01",
        },
    )
    assert made.status_code == 201, made.text
    project = made.json()["social_reuse_projects"][0]
    assert project["name"] == "Orto sociale" and project["reports"] == []
    refused = registry_client.post(
        f"/api/assets/items/{reused['S-CAR']}/projects",
        headers=headers,
        json={"name": "n", "beneficiary": "b", "purpose": "p", "started_on": "2024-06-01"},
    )
    assert refused.status_code == 409
    report = registry_client.post(
        f"/api/assets/projects/{project['id']}/reports",
        headers=headers,
        json={"reported_on": "2024-12-01", "status": "breach", "finding": "Garden abandoned"},
    )
    assert report.status_code == 201 and report.json()["status"] == "breach"
    listed = registry_client.get("/api/assets/projects", headers=headers).json()
    assert [p["name"] for p in listed["projects"]] == ["Orto sociale"]
    annual = registry_client.get("/api/assets/reports/annual", headers=headers).json()
    assert annual["social_reuse_projects"][0]["status"] == "breach"
    xlsx = registry_client.get("/api/assets/reports/annual?format=xlsx", headers=headers)
    sheet = load_workbook(io.BytesIO(xlsx.content))["social reuse"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[1][:7] == [
        "Orto sociale",
        "S-VILLA",
        "AMO",
        "Fictional association",
        "2024-06-01",
        "2024-12-01",
        "breach",
    ]
    # CLI
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRIMEPREV_DATABASE_URL", database.url)
    runner = CliRunner()
    filed = runner.invoke(
        app,
        [
            "assets",
            "monitor",
            str(project["id"]),
            "--on",
            "2025-01-15",
            "--status",
            "on_track",
            "--finding",
            "Replanted",
            "--as",
            "manager",
        ],
    )
    assert filed.exit_code == 0, filed.output
    shown = runner.invoke(app, ["assets", "projects", "--as", "manager"])
    assert shown.exit_code == 0 and "Orto" in shown.output
    after = registry_client.get("/api/assets/projects", headers=headers).json()["projects"][0]
    assert (after["status"], after["last_report_on"]) == ("on_track", "2025-01-15")
    # pages: the asset page shows the project and takes a report through its form
    page = registry_client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    registry_client.post(
        "/login",
        data={"username": "manager", "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    asset_page = registry_client.get(f"/assets/items/{villa}")
    assert "Orto sociale" in asset_page.text and "Garden abandoned" in asset_page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', asset_page.text).group(1)
    posted = registry_client.post(
        f"/assets/items/{villa}/projects/{project['id']}/reports",
        data={
            "reported_on": "2025-02-01",
            "status": "concerns",
            "finding": "Fence broken",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert posted.status_code == 303
    bad = registry_client.post(
        f"/assets/items/{villa}/projects",
        data={
            "name": "Orto sociale",
            "beneficiary": "b",
            "purpose": "p",
            "started_on": "2024-06-01",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert bad.status_code == 409 and "exists" in bad.text
    reports_page = registry_client.get("/assets/reports")
    row = re.search(r"<tr><td>Orto sociale</td>.*?</tr>", reports_page.text, re.S).group(0)
    assert "2025-02-01" in row and "concerns" in row
