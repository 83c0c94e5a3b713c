"""Annual report, CSV export, base-currency values and the self-funding ratio (both DBs)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from crimeprev.assets import cases, rates, registry, reports
from crimeprev.assets.lifecycle import State
from crimeprev.assets.money import Money
from crimeprev.db import accounts as acc
from crimeprev.errors import NotFoundError


@pytest.fixture
def history(database, people):
    """Two vehicles seized in 2024 (valued 10,000 EUR and 20,000 USD), one sold in 2025."""
    admin, manager = people["admin"], people["manager"]
    with database.transaction() as session:
        case = cases.create_case(
            session,
            admin,
            reference="AR-R",
            title="Fictional",
            jurisdiction="ITA",
            opened_on=date(2024, 1, 1),
            agency_code="AMO",
        )
        made = []
        for number, value in enumerate((Money.of("10000", "EUR"), Money.of("20000", "USD"))):
            asset = registry.create_asset(
                session,
                admin,
                case.id,
                reference=f"R-{number}",
                category="vehicle",
                description="Fictional",
                country="ITA",
                identified_on=date(2024, 1, 2),
            )
            registry.add_valuation(
                session,
                manager,
                asset.id,
                valued_on=date(2024, 1, 3),
                amount=value,
                method="expert",
            )
            registry.transition_asset(
                session,
                admin,
                asset.id,
                registry.TransitionRequest(State.SEIZED, date(2024, 2, 1), court_order="o"),
            )
            made.append(asset.id)
        registry.add_cost(
            session,
            manager,
            made[0],
            incurred_on=date(2024, 3, 1),
            amount=Money.of("2000", "EUR"),
            kind="storage",
        )
        for state, day, extra in (
            (State.CONFISCATED, date(2025, 1, 10), {"confiscation_type": "object_based"}),
            (
                State.DISPOSED,
                date(2025, 2, 1),
                {"disposal": "sold", "realised": Money.of("9000", "EUR")},
            ),
        ):
            registry.transition_asset(
                session,
                admin,
                made[0],
                registry.TransitionRequest(state, day, court_order="o", **extra),
            )
        rates.add_rate(
            session, manager, currency="USD", base="EUR", on_date=date(2024, 1, 31), rate="0.9"
        )
    return made


def test_counts_values_and_base_currency(database, people, history):
    with database.transaction() as session:
        rows = reports.annual_report(session, people["auditor"])
        cells = {(r.year, r.stage): r for r in rows}
        assert cells[(2024, "seized")].count == 2
        assert cells[(2024, "seized")].value == (Money.of("10000", "EUR"), Money.of("20000", "USD"))
        assert cells[(2025, "disposed")].value == (Money.of("9000", "EUR"),)
        in_eur = reports.annual_report(session, people["auditor"], base_currency="EUR")
        seized = next(r for r in in_eur if (r.year, r.stage) == (2024, "seized"))
        assert seized.value == (Money.of("28000", "EUR"),)  # 10,000 + 20,000 x 0.9
        funding = reports.self_funding(session, people["auditor"])
        assert [(f.currency, f.ratio) for f in funding] == [("EUR", 4.5)]
        assert reports.annual_report(session, people["other"]) == []
        held = reports.held_longer_than(
            session, people["auditor"], days=365, today=date(2025, 6, 1)
        )
        assert [a.id for a in held] == [history[1]]


def test_missing_rate_is_named(database, people, history):
    with (
        pytest.raises(NotFoundError, match="no EUR->GBP exchange rate"),
        database.transaction() as session,
    ):
        reports.annual_report(session, people["auditor"], base_currency="GBP")


def test_csv_export_through_the_api(registry_client, database, history):
    with database.transaction() as session:
        token = acc.create_api_token(session, acc.SYSTEM, "auditor", name="t").secret
    response = registry_client.get(
        "/api/assets/reports/annual",
        params={"format": "csv", "base_currency": "EUR"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    seized = next(line for line in lines if line["stage"] == "seized")
    assert seized == {
        "year": "2024",
        "agency": "AMO",
        "category": "vehicle",
        "stage": "seized",
        "count": "2",
        "value": "28000.00",
        "currency": "EUR",
    }


def test_xlsx_export_api_cli_and_charts_on_the_page(
    registry_client, database, history, monkeypatch, tmp_path
):
    from openpyxl import load_workbook
    from typer.testing import CliRunner

    from crimeprev.cli.main import app

    with database.transaction() as session:
        token = acc.create_api_token(session, acc.SYSTEM, "auditor", name="t").secret
    response = registry_client.get(
        "/api/assets/reports/annual",
        params={"format": "xlsx", "base_currency": "EUR"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert "spreadsheetml" in response.headers["content-type"]
    book = load_workbook(io.BytesIO(response.content))
    annual = [[c.value for c in row] for row in book["annual"].iter_rows()]
    assert annual[0] == ["year", "agency", "category", "stage", "count", "value", "currency"]
    assert [2024, "AMO", "vehicle", "seized", 2, 28000, "EUR"] in annual  # 10,000 + 20,000 x 0.9
    assert [2025, "AMO", "vehicle", "disposed", 1, 9000, "EUR"] in annual
    funding = [[c.value for c in row] for row in book["self-funding"].iter_rows()]
    assert funding[1] == ["EUR", 9000, 2000, 4.5]  # 9,000 realised / 2,000 storage
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRIMEPREV_DATABASE_URL", database.url)
    path = tmp_path / "report.xlsx"
    made = CliRunner().invoke(app, ["assets", "report", "--xlsx", str(path), "--as", "auditor"])
    assert made.exit_code == 0, made.output
    rows = [[c.value for c in r] for r in load_workbook(path)["annual"].iter_rows()]
    assert [2024, "AMO", "vehicle", "seized", 2, 10000, "EUR"] in rows  # no base currency
    assert [2024, "AMO", "vehicle", "seized", 2, 20000, "USD"] in rows
    page = registry_client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    signed = registry_client.post(
        "/login",
        data={"username": "auditor", "password": "correct horse battery", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    mixed = registry_client.get("/assets/reports")
    assert mixed.text.count("data-vega-spec=") == 1  # EUR and USD: counts only
    assert "choose a base currency" in mixed.text
    single = registry_client.get("/assets/reports?base_currency=EUR")
    assert single.text.count("data-vega-spec=") == 2
    assert "Value entering each stage, per year (EUR)" in single.text
    assert "format=xlsx&amp;base_currency=EUR" in single.text
